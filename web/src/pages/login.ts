// The login page: user name and password, then a second factor: the
// authenticator code, or a security key. The password and the code (or the
// key's answer) go to the server together, in one request; the password
// stays in its form field, in memory, and nowhere else. A passkey signs in
// on its own, where the cluster allows it; so does an identity provider
// (single sign-on), when the server offers one.
import { ApiError, beginKeyLogin, beginPasswordless, finishKeyLogin, finishPasswordless, listSsoConnectors, logIn } from '../api';
import { busy, find, mount, say } from '../dom';
import { SecurityKeyError, signWithKey } from '../security-key';
import { ssoOutcome } from '../sso';
import { totpCode } from '../totp-code';
import { whileWaitingForKey } from '../ui/key-wait';
import { showSsoLinks } from '../ui/sso-links';
import type { AssertionAnswer } from '../webauthn';

/** Asks the browser for a key's answer to a challenge, showing the wait meanwhile. */
type AskKey = (publicKey: PublicKeyCredentialRequestOptions) => Promise<AssertionAnswer>;

export function showLogin(app: HTMLElement, redirect: string): void {
  document.title = 'Log in · Oriel';
  const page = mount(app, 'login-page');
  const credentials = find(page, '#login-credentials', HTMLFormElement);
  const secondFactor = find(page, '#login-second-factor', HTMLFormElement);
  const user = find(page, '#login-user', HTMLInputElement);
  const password = find(page, '#login-password', HTMLInputElement);
  const code = find(page, '#login-code', HTMLInputElement);
  const codeSubmit = find(page, '#login-code-submit', HTMLButtonElement);
  const keySubmit = find(page, '#login-key', HTMLButtonElement);
  const passkey = find(page, '.login-passkey', HTMLElement);
  const passkeySubmit = find(page, '#login-passkey', HTMLButtonElement);
  const keyWait = find(page, '#login-key-wait', HTMLElement);
  const error = find(page, '#login-error', HTMLElement);
  const sso = find(page, '#login-sso', HTMLElement);
  /** Whether the server offers an identity provider, shown beside the password form. */
  let ssoOffered = false;
  /** While the server refuses logins (429), neither a code nor a key answer can be sent. */
  let waitUntil = 0;

  const fail = (message: string, field: HTMLInputElement | null): void => {
    say(error, message);
    field?.focus();
  };

  /** The server's refusal; a 429 holds the buttons that would send another attempt. */
  const refused = (reason: ApiError, field: HTMLInputElement | null): void => {
    fail(reason.message, field);
    if (reason.status !== 429) return;
    const seconds = reason.retryAfter ?? secondsIn(reason.message) ?? 0;
    waitUntil = Date.now() + seconds * 1000;
    const held = [codeSubmit, keySubmit];
    for (const button of held) button.disabled = true;
    setTimeout(() => held.forEach((button) => (button.disabled = false)), seconds * 1000);
  };

  const haveCredentials = (): boolean => {
    if (user.value.trim() === '') fail('enter your user name', user);
    else if (password.value === '') fail('enter your password', password);
    else return true;
    return false;
  };

  credentials.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!haveCredentials()) return;
    say(error, null);
    find(page, '.login-who', HTMLElement).textContent = user.value.trim();
    credentials.hidden = true;
    passkey.hidden = true;
    sso.hidden = true;
    secondFactor.hidden = false;
    code.value = '';
    code.focus();
  });

  find(page, '.login-back', HTMLButtonElement).addEventListener('click', () => {
    say(error, null);
    secondFactor.hidden = true;
    credentials.hidden = false;
    passkey.hidden = false;
    sso.hidden = !ssoOffered;
    password.focus();
  });

  secondFactor.addEventListener('submit', (event) => {
    event.preventDefault();
    const digits = totpCode(code.value);
    if (digits === null) return fail('enter the 6 digits your authenticator app shows', code);
    if (Date.now() < waitUntil) return;
    say(error, null);
    busy(secondFactor, true);
    logIn(user.value.trim(), password.value, digits).then(
      () => {
        password.value = '';
        location.assign(redirect);
      },
      (reason: unknown) => {
        busy(secondFactor, false);
        code.value = '';
        if (!(reason instanceof ApiError)) throw reason;
        refused(reason, code);
      },
    );
  });

  /** One login with a key: `attempt` begins the ceremony, asks the key and finishes it. */
  const logInWithKey = async (attempt: (ask: AskKey) => Promise<void>, field: HTMLInputElement | null): Promise<void> => {
    say(error, null);
    busy(credentials, true);
    passkeySubmit.disabled = true;
    const ask: AskKey = (publicKey) => whileWaitingForKey(keyWait, (signal) => signWithKey(publicKey, signal));
    try {
      await attempt(ask);
    } catch (reason) {
      busy(credentials, false);
      passkeySubmit.disabled = false;
      if (reason instanceof SecurityKeyError) return fail(reason.message, null);
      if (!(reason instanceof ApiError)) throw reason;
      return refused(reason, field);
    }
    password.value = '';
    location.assign(redirect);
  };

  keySubmit.addEventListener('click', () => {
    if (!haveCredentials() || Date.now() < waitUntil) return;
    const name = user.value.trim();
    void logInWithKey(async (ask) => {
      const ceremony = await beginKeyLogin(name);
      await finishKeyLogin(name, password.value, ceremony.id, await ask(ceremony.publicKey));
    }, password);
  });

  passkeySubmit.addEventListener('click', () => {
    void logInWithKey(async (ask) => {
      const ceremony = await beginPasswordless();
      await finishPasswordless(ceremony.id, await ask(ceremony.publicKey));
    }, null);
  });

  // A sign-in through an identity provider that failed comes back here with
  // its reason in the address; shown once, a reload does not show it again.
  const outcome = ssoOutcome(location);
  if (outcome.error !== null) {
    say(error, outcome.error);
    history.replaceState(history.state, '', outcome.address);
  }

  // Without the list (an older server, or it is down) the page offers the other ways in.
  listSsoConnectors().then(
    ({ connectors, local }) => {
      showSsoLinks(find(sso, '.login-sso-links', HTMLElement), connectors);
      ssoOffered = connectors.length > 0;
      sso.hidden = !ssoOffered || !secondFactor.hidden;
      // Password logins turned off: single sign-on is the only way in.
      if (!local && ssoOffered) {
        credentials.hidden = true;
        passkey.hidden = true;
      }
    },
    (reason: unknown) => console.warn('oriel: no single sign-on offers', reason),
  );

  user.focus();
}

/** "…try again in 30 seconds" → 30: the wait, when the server gave no Retry-After header. */
function secondsIn(message: string): number | null {
  const match = /(\d+) seconds?/.exec(message);
  return match === null ? null : Number(match[1]);
}
