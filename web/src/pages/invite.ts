// The invite page, a user's first login: a second factor (an authenticator
// app by QR code or the key by hand, or else a security key or passkey), a
// password, and proof that the factor works: a code from the app, or the
// key's answer. The server logs the user in when it accepts them together.
import { ApiError, acceptInvite, acceptInviteWithKey, beginInviteKey, readInvite } from '../api';
import { deviceName } from '../device-name';
import { busy, find, mount, say } from '../dom';
import { DESKTOPS_PATH } from '../route';
import { registerKey, SecurityKeyError } from '../security-key';
import { totpCode } from '../totp-code';
import { whileWaitingForKey } from '../ui/key-wait';
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
  const keyName = find(page, '#invite-key-name', HTMLInputElement);
  const keyWait = find(page, '#invite-key-wait', HTMLElement);
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

  /** Which second factor the user enrols. */
  let withKey = false;
  const choose = (key: boolean): void => {
    withKey = key;
    say(error, null);
    for (const part of form.querySelectorAll<HTMLElement>('.invite-app')) part.hidden = key;
    for (const part of form.querySelectorAll<HTMLElement>('.invite-key')) part.hidden = !key;
    (key ? keyName : code).focus();
  };
  find(page, '#invite-use-key', HTMLButtonElement).addEventListener('click', () => choose(true));
  find(page, '#invite-use-app', HTMLButtonElement).addEventListener('click', () => choose(false));

  const fail = (message: string, field: HTMLInputElement | null): void => {
    say(error, message);
    if (field === null) return;
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  };

  /** The server's refusal, shown at the field it names. */
  const refused = (reason: ApiError): void => {
    if (reason.status === 404) {
      // Used or expired meanwhile: nothing on this page can succeed now.
      form.hidden = true;
      say(error, reason.message);
      return;
    }
    const field = /password/i.test(reason.message) ? password : withKey ? (/name/i.test(reason.message) ? keyName : null) : code;
    if (field === code) code.value = '';
    fail(reason.message, field);
  };

  const acceptWithCode = (): void => {
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
        refused(reason);
      },
    );
  };

  const acceptWithKey = async (): Promise<void> => {
    const named = deviceName(keyName.value);
    if ('error' in named) return fail(named.error, keyName);
    say(error, null);
    busy(form, true);
    try {
      const ceremony = await beginInviteKey(secret);
      const answer = await whileWaitingForKey(keyWait, (signal) => registerKey(ceremony.publicKey, signal));
      await acceptInviteWithKey(secret, password.value, ceremony.id, named.name, answer);
    } catch (reason) {
      busy(form, false);
      if (reason instanceof SecurityKeyError) return fail(reason.message, null);
      if (!(reason instanceof ApiError)) throw reason;
      return refused(reason);
    }
    password.value = confirm.value = '';
    location.assign(DESKTOPS_PATH);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const field of [password, confirm, code, keyName]) field.removeAttribute('aria-invalid');
    if (password.value.length < MIN_PASSWORD_LENGTH) {
      return fail(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`, password);
    }
    if (confirm.value !== password.value) return fail('the two passwords differ', confirm);
    if (withKey) void acceptWithKey();
    else acceptWithCode();
  });

  password.focus();
}
