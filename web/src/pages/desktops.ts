// The desktop list: every desktop this user's roles allow, with a search box,
// label chips to filter by, and the login to connect as.
import { ApiError, listDesktops, me, type Desktop } from '../api';
import { matches, sameLabel, type Label } from '../desktop-filter';
import { find, mount } from '../dom';
import { sessionPath } from '../route';
import { desktopRow, labelChip } from '../ui/desktop-row';
import { keyboardSetting } from '../ui/keyboard-setting';
import { offerLogout } from '../ui/logout';
import { fillTopbar } from '../ui/topbar';

export async function showDesktops(app: HTMLElement): Promise<void> {
  document.title = 'Desktops · Oriel';
  const page = mount(app, 'desktops-page');
  const search = find(page, '#desktop-search', HTMLInputElement);
  const chips = find(page, '.label-filter', HTMLUListElement);
  const message = find(page, '.desktops-message', HTMLElement);
  const table = find(page, '.desktop-table', HTMLTableElement);
  const body = find(table, 'tbody', HTMLTableSectionElement);
  offerLogout(find(page, '#logout', HTMLButtonElement));
  keyboardSetting(find(page, '#keyboard-layout', HTMLSelectElement));

  let cluster: string;
  let desktops: Desktop[];
  try {
    const [user, list] = await Promise.all([me(), listDesktops()]);
    fillTopbar(page, user);
    find(page, '.topbar-cluster', HTMLElement).textContent = list.cluster;
    cluster = list.cluster;
    desktops = list.desktops.sort((a, b) => a.name.localeCompare(b.name));
  } catch (reason) {
    if (!(reason instanceof ApiError)) throw reason;
    message.textContent = `Cannot list desktops: ${reason.message}`;
    message.classList.add('error');
    return;
  }

  let labels: Label[] = [];
  const actions = {
    filterBy(label: Label): void {
      if (!labels.some((active) => sameLabel(active, label))) labels = [...labels, label];
      render();
    },
    connect(desktop: Desktop, login: string): void {
      location.assign(sessionPath({ cluster, kind: desktop.kind, name: desktop.name, login }));
    },
  };

  // Rows are built once, so a login picked in a row survives typing in the search box.
  const rows = desktops.map((desktop) => ({ desktop, row: desktopRow(desktop, actions) }));

  const render = (): void => {
    chips.replaceChildren(
      ...labels.map((label) => {
        const chip = labelChip(label);
        chip.classList.add('active');
        chip.append(' ×');
        chip.setAttribute('aria-label', `Remove the filter ${label.key}: ${label.value}`);
        chip.addEventListener('click', () => {
          labels = labels.filter((active) => !sameLabel(active, label));
          render();
          search.focus();
        });
        const item = document.createElement('li');
        item.append(chip);
        return item;
      }),
    );
    const shown = rows.filter(({ desktop }) => matches(desktop, { search: search.value, labels }));
    body.replaceChildren(...shown.map(({ row }) => row));
    table.hidden = shown.length === 0;
    message.textContent =
      desktops.length === 0
        ? 'No desktops are available to you. Ask an administrator for a role that allows one.'
        : shown.length === 0
          ? 'No desktop matches the search and filters.'
          : shown.length === desktops.length
            ? `${desktops.length} ${desktops.length === 1 ? 'desktop' : 'desktops'}`
            : `${shown.length} of ${desktops.length} desktops`;
  };

  search.addEventListener('input', render);
  render();
  search.focus();
}
