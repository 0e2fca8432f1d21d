// Per-session MFA: a desktop whose roles require it is reached only after
// the user's security key or passkey answers a fresh challenge. The proxy
// sends it (TDPB Mfa, before anything else) as the same options a key login
// begins with; the browser sends back one Mfa: the key's assertion, or an
// empty answer that cancels, after which the proxy starts nothing. DOM-free:
// the key is asked through `sign` (security-key.ts's signWithKey in the page).
import type { Mfa } from './protocol';
import { SecurityKeyError } from './security-key';
import { requestOptions, WebauthnFormatError, type AssertionAnswer } from './webauthn';

/** The only kind of check the proxy asks for. */
export const WEBAUTHN = 'webauthn';

/** Asks the browser for a key's answer to `publicKey`'s challenge; fails with a SecurityKeyError. */
export type SignChallenge = (publicKey: PublicKeyCredentialRequestOptions) => Promise<AssertionAnswer>;

/** What goes back to the proxy, and why the check failed (null when the key answered). */
export interface MfaOutcome {
  answer: Mfa;
  failure: string | null;
}

/** The empty answer: the user gave up, or this page cannot answer; the proxy then starts nothing. */
const CANCEL: Readonly<Mfa> = Object.freeze({ type: WEBAUTHN, json: '' });

/** Answers the proxy's `challenge` with `sign`. Rejects only with what is neither the key's failure nor the server's bad options. */
export async function answerChallenge(challenge: Mfa, sign: SignChallenge): Promise<MfaOutcome> {
  if (challenge.type !== WEBAUTHN) {
    return failed(`the server asked for a check of a kind this page cannot answer (${JSON.stringify(challenge.type)})`);
  }
  let publicKey: PublicKeyCredentialRequestOptions;
  try {
    publicKey = requestOptions(JSON.parse(challenge.json));
  } catch (error) {
    if (!(error instanceof SyntaxError || error instanceof WebauthnFormatError)) throw error;
    return failed(`the server sent security key options this page cannot use: ${error.message}`);
  }
  let answer: AssertionAnswer;
  try {
    answer = await sign(publicKey);
  } catch (error) {
    if (!(error instanceof SecurityKeyError)) throw error;
    return failed(error.message);
  }
  return { answer: { type: WEBAUTHN, json: JSON.stringify(answer) }, failure: null };
}

function failed(failure: string): MfaOutcome {
  return { answer: { ...CANCEL }, failure };
}
