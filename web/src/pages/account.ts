// The Account page: the user's security keys and passkeys (add one, remove
// one) and whether an authenticator app is set up. The server refuses to
// remove the last second factor, and says so; the page shows its sentence.
import { ApiError, addDevice, beginAddDevice, listDevices, me, removeDevice, type Device, type Devices } from '../api';
import { deviceName, suggestedName } from '../device-name';
import { busy, find, mount, say } from '../dom';
import { registerKey, SecurityKeyError } from '../security-key';
import { deviceRow } from '../ui/device-row';
import { whileWaitingForKey } from '../ui/key-wait';
import { offerLogout } from '../ui/logout';
import { fillTopbar } from '../ui/topbar';

export async function showAccount(app: HTMLElement): Promise<void> {
  document.title = 'Account · Oriel';
  const page = mount(app, 'account-page');
  offerLogout(find(page, '#logout', HTMLButtonElement));
  const message = find(page, '.account-message', HTMLElement);
  const table = find(page, '#account-devices', HTMLTableElement);
  const body = find(table, 'tbody', HTMLTableSectionElement);
  const error = find(page, '#account-error', HTMLElement);
  const status = find(page, '#account-status', HTMLElement);
  const add = find(page, '#account-add', HTMLFormElement);
  const name = find(page, '#account-key-name', HTMLInputElement);
  const keyWait = find(page, '#account-key-wait', HTMLElement);
  const totp = find(page, '#account-totp', HTMLElement);
  /** Whether the user typed the new key's name: theirs stays, where a suggestion would follow the list. */
  let nameTyped = false;

  /** What an action did, in place of the last error. */
  const done = (what: string): void => {
    say(error, null);
    say(status, what);
  };
  const fail = (reason: unknown): void => {
    if (reason instanceof SecurityKeyError || reason instanceof ApiError) {
      say(status, null);
      say(error, reason.message);
      return;
    }
    throw reason;
  };

  const show = ({ devices, totp: hasTotp }: Devices): void => {
    body.replaceChildren(...devices.map((device) => deviceRow(device, remove)));
    table.hidden = devices.length === 0;
    message.textContent =
      devices.length === 0
        ? 'You have no security key or passkey yet.'
        : `${devices.length} ${devices.length === 1 ? 'security key or passkey' : 'security keys and passkeys'}`;
    totp.dataset['enrolled'] = String(hasTotp);
    totp.textContent = hasTotp
      ? 'An authenticator app (TOTP) is set up: you can log in with its code.'
      : 'No authenticator app is set up: you log in with a security key or passkey.';
    if (!nameTyped) name.value = suggestedName(devices.map((device) => device.name));
    add.hidden = false;
  };

  const reload = async (): Promise<void> => show(await listDevices());

  const remove = (device: Device): void => {
    say(status, null);
    for (const button of body.querySelectorAll('button')) button.disabled = true;
    removeDevice(device.id)
      .then(reload)
      .then(
        () => done(`Removed ${device.name}.`),
        (reason: unknown) => {
          for (const button of body.querySelectorAll('button')) button.disabled = false;
          fail(reason);
        },
      );
  };

  name.addEventListener('input', () => (nameTyped = true));
  add.addEventListener('submit', (event) => {
    event.preventDefault();
    const named = deviceName(name.value);
    if ('error' in named) {
      say(error, named.error);
      name.focus();
      return;
    }
    say(error, null);
    say(status, null);
    busy(add, true);
    void (async () => {
      try {
        const ceremony = await beginAddDevice();
        const answer = await whileWaitingForKey(keyWait, (signal) => registerKey(ceremony.publicKey, signal));
        const added = await addDevice(ceremony.id, named.name, answer);
        nameTyped = false;
        await reload();
        done(`Added ${added.name}.`);
      } catch (reason) {
        // A refused answer and an ended session are both 401: /api/me tells them apart, and goes to the login page for the second.
        if (reason instanceof ApiError && reason.status === 401) await me().catch(() => undefined);
        fail(reason);
      } finally {
        busy(add, false);
      }
    })();
  });

  try {
    const [user, devices] = await Promise.all([me(), listDevices()]);
    fillTopbar(page, user);
    show(devices);
  } catch (reason) {
    if (!(reason instanceof ApiError)) throw reason;
    message.textContent = `Cannot list your security keys: ${reason.message}`;
    message.classList.add('error');
  }
}
