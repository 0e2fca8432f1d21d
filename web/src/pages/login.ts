// The login page: user name and password, then the authenticator code. The
// three go to the server together, in one request after the second step; the
// password stays in its form field, in memory, and nowhere else.
import { ApiError, logIn } from '../api';
import { busy, find, mount, say } from '../dom';
import { totpCode } from '../totp-code';

export function showLogin(app: HTMLElement, redirect: string): void {
  document.title = 'Log in · Oriel';
  const page = mount(app, 'login-page');
  const credentials = find(page, '#login-credentials', HTMLFormElement);
  const secondFactor = find(page, '#login-second-factor', HTMLFormElement);
  const user = find(page, '#login-user', HTMLInputElement);
  const password = find(page, '#login-password', HTMLInputElement);
  const code = find(page, '#login-code', HTMLInputElement);
  const codeSubmit = find(page, '#login-code-submit', HTMLButtonElement);
  const error = find(page, '#login-error', HTMLElement);
  /** While the server refuses logins (429), the code step cannot be sent. */
  let waitUntil = 0;

  const fail = (message: string, field: HTMLInputElement | null): void => {
    say(error, message);
    field?.focus();
  };

  credentials.addEventListener('submit', (event) => {
    event.preventDefault();
    if (user.value.trim() === '') return fail('enter your user name', user);
    if (password.value === '') return fail('enter your password', password);
    say(error, null);
    find(page, '.login-who', HTMLElement).textContent = user.value.trim();
    credentials.hidden = true;
    secondFactor.hidden = false;
    code.value = '';
    code.focus();
  });

  find(page, '.login-back', HTMLButtonElement).addEventListener('click', () => {
    say(error, null);
    secondFactor.hidden = true;
    credentials.hidden = false;
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
        fail(reason.message, code);
        if (reason.status === 429) {
          const seconds = reason.retryAfter ?? secondsIn(reason.message) ?? 0;
          waitUntil = Date.now() + seconds * 1000;
          codeSubmit.disabled = true;
          setTimeout(() => (codeSubmit.disabled = false), seconds * 1000);
        }
      },
    );
  });

  user.focus();
}

/** "…try again in 30 seconds" → 30: the wait, when the server gave no Retry-After header. */
function secondsIn(message: string): number | null {
  const match = /(\d+) seconds?/.exec(message);
  return match === null ? null : Number(match[1]);
}
