// Asking the browser for a security key or passkey: to register a new one
// (navigator.credentials.create) or to sign a challenge (.get). The answers
// go back to the server as JSON (webauthn.ts); a failure is a
// SecurityKeyError whose message the page shows as is.
import { assertionAnswer, registrationAnswer, whyKeyFailed, type AssertionAnswer, type RegistrationAnswer } from './webauthn';

export class SecurityKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecurityKeyError';
  }
}

/** A new credential for `publicKey`'s relying party and user; `signal` withdraws the request. */
export async function registerKey(publicKey: PublicKeyCredentialCreationOptions, signal: AbortSignal): Promise<RegistrationAnswer> {
  const credential = await ask(() => navigator.credentials.create({ publicKey, signal }), 'register');
  const response = credential.response;
  if (!(response instanceof AuthenticatorAttestationResponse)) throw new SecurityKeyError(whyKeyFailed('NotAllowedError', 'register'));
  return registrationAnswer({
    id: credential.id,
    rawId: credential.rawId,
    type: credential.type,
    response: {
      attestationObject: response.attestationObject,
      clientDataJSON: response.clientDataJSON,
      ...(typeof response.getTransports === 'function' && { getTransports: () => response.getTransports() }),
    },
    getClientExtensionResults: () => credential.getClientExtensionResults(),
  });
}

/** The challenge of `publicKey` signed by one of the allowed credentials (any passkey when none is named). */
export async function signWithKey(publicKey: PublicKeyCredentialRequestOptions, signal: AbortSignal): Promise<AssertionAnswer> {
  const credential = await ask(() => navigator.credentials.get({ publicKey, signal }), 'sign');
  const response = credential.response;
  if (!(response instanceof AuthenticatorAssertionResponse)) throw new SecurityKeyError(whyKeyFailed('NotAllowedError', 'sign'));
  return assertionAnswer({
    id: credential.id,
    rawId: credential.rawId,
    type: credential.type,
    response: {
      authenticatorData: response.authenticatorData,
      clientDataJSON: response.clientDataJSON,
      signature: response.signature,
      userHandle: response.userHandle,
    },
    getClientExtensionResults: () => credential.getClientExtensionResults(),
  });
}

async function ask(request: () => Promise<Credential | null>, purpose: 'register' | 'sign'): Promise<PublicKeyCredential> {
  // Missing outside a secure context (plain HTTP) and in old browsers.
  if (typeof PublicKeyCredential === 'undefined' || navigator.credentials === undefined) {
    throw new SecurityKeyError('this browser cannot use security keys on this page (it takes HTTPS and a browser that supports WebAuthn)');
  }
  let credential: Credential | null;
  try {
    credential = await request();
  } catch (error) {
    if (error instanceof DOMException) throw new SecurityKeyError(whyKeyFailed(error.name, purpose));
    if (error instanceof TypeError) throw new SecurityKeyError(`the browser refused the server's request for a security key: ${error.message}`);
    throw error;
  }
  if (!(credential instanceof PublicKeyCredential)) throw new SecurityKeyError(whyKeyFailed('NotAllowedError', purpose));
  return credential;
}
