// The invite page, a user's first login: enroll the authenticator (QR code
// or the key by hand), choose a password, and prove the app works with a
// code. The server logs the user in when it accepts all three.
import { ApiError, acceptInvite, readInvite } from '../api';
import { busy, find, mount, say } from '../dom';
import { DESKTOPS_PATH } from '../route';
import { totpCode } from '../totp-code';
import { qrCodeSvg } from '../ui/qr';

/** The server's rule too; checked here so the user hears it before sending. */
const MIN_PASSWORD_LENGTH = 12;

export async function showInvite(app: HTMLElement, secret: string): Promise<void> {
  document.title = 'Welcome · Oriel';
  const page = mount(app, 'invite-page');
  const form = find(page, '#invite-form', HTMLFormElement);
  const password = find(page, '#invite-password', HTMLInputElement);
  const confirm = find(page, '#invite-password-confirm', HTMLInputElement);
  const code = find(page, '#invite-code', HTMLInputElement);
  const error = find(page, '#invite-error', HTMLElement);
  const loading = find(page, '.invite-loading', HTMLElement);

  let invite;
  try {
    invite = await readInvite(secret);
  } catch (reason) {
    loading.hidden = true;
    if (!(reason instanceof ApiError)) throw reason;
    say(error, reason.message);
    return;
  }
  loading.hidden = true;

  find(page, '.invite-user', HTMLElement).textContent = invite.user;
  find(page, '.invite-username', HTMLInputElement).value = invite.user;
  find(page, '.invite-link', HTMLAnchorElement).href = invite.totpUrl;
  find(page, '#invite-secret', HTMLElement).textContent = invite.totpSecret;
  const qr = qrCodeSvg(invite.totpUrl, `QR code to add ${invite.user} at Oriel to an authenticator app`);
  qr.id = 'invite-qr';
  find(page, '#invite-qr-box', HTMLElement).append(qr);
  form.hidden = false;

  const fail = (message: string, field: HTMLInputElement): void => {
    say(error, message);
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const field of [password, confirm, code]) field.removeAttribute('aria-invalid');
    if (password.value.length < MIN_PASSWORD_LENGTH) {
      return fail(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`, password);
    }
    if (confirm.value !== password.value) return fail('the two passwords differ', confirm);
    const digits = totpCode(code.value);
    if (digits === null) return fail('enter the 6 digits your authenticator app shows', code);
    say(error, null);
    busy(form, true);
    acceptInvite(secret, password.value, digits).then(
      () => {
        password.value = confirm.value = '';
        location.assign(DESKTOPS_PATH);
      },
      (reason: unknown) => {
        busy(form, false);
        if (!(reason instanceof ApiError)) throw reason;
        if (reason.status === 404) {
          // Used or expired meanwhile: nothing on this page can succeed now.
          form.hidden = true;
          say(error, reason.message);
          return;
        }
        const field = /password/i.test(reason.message) ? password : code;
        if (field === code) code.value = '';
        fail(reason.message, field);
      },
    );
  });

  password.focus();
}
