// One security key or passkey on the Account page: its name, when it was
// added and last used, and Remove.
// Test hooks: tr[data-device-id], [data-remove].
import type { Device } from '../api';

const LOCAL_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function deviceRow(device: Device, remove: (device: Device) => void): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset['deviceId'] = device.id;

  const name = document.createElement('th');
  name.scope = 'row';
  name.className = 'device-name';
  name.textContent = device.name;

  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'secondary';
  button.dataset['remove'] = '';
  button.textContent = 'Remove';
  button.setAttribute('aria-label', `Remove ${device.name}`);
  button.addEventListener('click', () => remove(device));
  const action = document.createElement('td');
  action.append(button);

  row.append(name, timeCell(device.added), device.lastUsed === null ? textCell('never') : timeCell(device.lastUsed), action);
  return row;
}

function timeCell(when: Date): HTMLTableCellElement {
  const time = document.createElement('time');
  time.dateTime = when.toISOString();
  time.title = when.toISOString();
  time.textContent = LOCAL_TIME.format(when);
  const cell = document.createElement('td');
  cell.append(time);
  return cell;
}

function textCell(text: string): HTMLTableCellElement {
  const cell = document.createElement('td');
  cell.className = 'muted';
  cell.textContent = text;
  return cell;
}
