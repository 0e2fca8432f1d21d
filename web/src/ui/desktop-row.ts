// One row of the desktop list: hostname (and resource name), kind, labels (each a button
// that filters by it), the login to connect as, and Connect.
// Test hooks: [data-desktop=NAME], select[data-login-select] or [data-login], [data-connect].
import type { Desktop } from '../api';
import { labelsOf, type Label } from '../desktop-filter';

const KIND_NAMES = { linux: 'Linux', windows: 'Windows' } as const;

export interface RowActions {
  filterBy(label: Label): void;
  connect(desktop: Desktop, login: string): void;
}

export function desktopRow(desktop: Desktop, actions: RowActions): HTMLTableRowElement {
  const row = document.createElement('tr');
  row.dataset['desktop'] = desktop.name;

  // People know hosts by hostname; the resource name (a Linux desktop's
  // UUID) is shown under it, for orielctl and bookmarks.
  const name = document.createElement('th');
  name.scope = 'row';
  const hostname = document.createElement('span');
  hostname.className = 'hostname';
  hostname.textContent = desktop.hostname || desktop.name;
  name.append(hostname);
  if (desktop.hostname && desktop.hostname !== desktop.name) {
    const id = document.createElement('small');
    id.className = 'desktop-id';
    id.textContent = desktop.name;
    name.append(id);
  }

  const kind = cell(KIND_NAMES[desktop.kind]);
  kind.className = 'kind';

  const labels = cell();
  labels.className = 'labels';
  for (const label of labelsOf(desktop)) {
    const chip = labelChip(label);
    chip.title = `Show only desktops labelled ${label.key}: ${label.value}`;
    chip.addEventListener('click', () => actions.filterBy(label));
    labels.append(chip);
  }

  const connect = document.createElement('button');
  connect.type = 'button';
  connect.dataset['connect'] = '';
  connect.textContent = 'Connect';
  connect.setAttribute('aria-label', `Connect to ${desktop.hostname || desktop.name}`);
  const login = loginChoice(desktop, connect);
  connect.addEventListener('click', () => {
    const chosen = login.value();
    if (chosen !== null) actions.connect(desktop, chosen);
  });

  row.append(name, kind, labels, login.cell, cell(connect));
  return row;
}

/** A label as a small chip button; the list uses the same look for active filters. */
export function labelChip(label: Label): HTMLButtonElement {
  const chip = document.createElement('button');
  chip.type = 'button';
  chip.className = 'label';
  chip.textContent = `${label.key}: ${label.value}`;
  return chip;
}

/** A select when there is a choice, the login as text when there is one, a note when there is none. */
function loginChoice(desktop: Desktop, connect: HTMLButtonElement): { cell: HTMLTableCellElement; value(): string | null } {
  const [only] = desktop.logins;
  if (only === undefined) {
    connect.disabled = true;
    const note = cell('no login allowed');
    note.className = 'muted';
    return { cell: note, value: () => null };
  }
  if (desktop.logins.length === 1) {
    const text = document.createElement('span');
    text.dataset['login'] = only;
    text.textContent = only;
    return { cell: cell(text), value: () => only };
  }
  const select = document.createElement('select');
  select.dataset['loginSelect'] = '';
  select.setAttribute('aria-label', `Login on ${desktop.hostname || desktop.name}`);
  for (const login of desktop.logins) select.append(new Option(login, login));
  return { cell: cell(select), value: () => select.value };
}

function cell(content?: string | Node): HTMLTableCellElement {
  const td = document.createElement('td');
  if (content !== undefined) td.append(content);
  return td;
}
