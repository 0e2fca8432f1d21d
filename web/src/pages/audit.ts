// The audit log: events newest first, filtered by time range, type, user and
// session, a page at a time; each row opens to the event's JSON. Only for
// users whose roles may read events; others get a page that says what it takes.
import { listEvents } from '../api';
import { EVENT_TYPES } from '../audit-event';
import { EMPTY_FILTER, queryOf } from '../audit-filter';
import { find, mount } from '../dom';
import { auditRows } from '../ui/audit-row';
import { offerLogout } from '../ui/logout';
import { PagedList } from '../ui/paged-list';

/**
 * Events asked for at once. The server would send 1000; a smaller first page
 * shows sooner, and Load more fetches the next.
 */
const PAGE_SIZE = 200;

export async function showAudit(app: HTMLElement): Promise<void> {
  document.title = 'Audit log · Oriel';
  const page = mount(app, 'audit-page');
  offerLogout(find(page, '#logout', HTMLButtonElement));
  const type = find(page, '#audit-type', HTMLSelectElement);
  const user = find(page, '#audit-user', HTMLInputElement);
  const session = find(page, '#audit-session', HTMLInputElement);
  type.replaceChildren(new Option('All events', ''), ...typeGroups());

  const filterBySession = (sid: string): void => {
    session.value = sid;
    events.search();
    session.focus();
  };
  const events = new PagedList(page, {
    name: 'audit',
    what: 'the audit log',
    nouns: { one: 'event', many: 'events' },
    pageSize: PAGE_SIZE,
    mayList: (who) => who.canReadEvents,
    emptyFilter: EMPTY_FILTER,
    fill: (filter) => {
      type.value = filter.type;
      user.value = filter.user;
      session.value = filter.session;
    },
    read: (time) => ({ ...time, type: type.value, user: user.value, session: session.value }),
    queryOf,
    list: async (query) => {
      const { events, nextPage } = await listEvents(query);
      return { items: events, nextPage };
    },
    rows: (event) => auditRows(event, { filterBySession }),
    focusInRow: '[data-details]',
  });
  type.addEventListener('change', () => events.search());
  await events.show();
}

/** The types as option groups, in the order of EVENT_TYPES. */
function typeGroups(): HTMLOptGroupElement[] {
  const groups = new Map<string, HTMLOptGroupElement>();
  for (const { name, label, group } of EVENT_TYPES) {
    let element = groups.get(group);
    if (element === undefined) {
      element = document.createElement('optgroup');
      element.label = group;
      groups.set(group, element);
    }
    element.append(new Option(label, name));
  }
  return [...groups.values()];
}
