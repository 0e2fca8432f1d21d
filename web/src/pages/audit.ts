// The audit log: events newest first, filtered by time range, type, user and
// session, a page at a time; each row opens to the event's JSON. Only for
// users whose roles may read events; others get a page that says what it takes.
import { ApiError, listEvents, me, type Me } from '../api';
import { EVENT_TYPES } from '../audit-event';
import { EMPTY_FILTER, queryOf, type AuditFilter, type EventQuery } from '../audit-filter';
import { find, mount, say } from '../dom';
import { auditRows } from '../ui/audit-row';
import { offerLogout } from '../ui/logout';
import { TimeRangeFields } from '../ui/time-range-fields';
import { fillTopbar } from '../ui/topbar';

/**
 * Events asked for at once. The server would send 1000; a smaller first page
 * shows sooner, and Load more fetches the next.
 */
const PAGE_SIZE = 200;

export async function showAudit(app: HTMLElement): Promise<void> {
  document.title = 'Audit log · Oriel';
  const page = mount(app, 'audit-page');
  offerLogout(find(page, '#logout', HTMLButtonElement));
  const form = find(page, '#audit-filter', HTMLFormElement);
  const time = new TimeRangeFields(
    form,
    find(form, '#audit-range', HTMLSelectElement),
    find(form, '#audit-from', HTMLInputElement),
    find(form, '#audit-to', HTMLInputElement),
  );
  const type = find(form, '#audit-type', HTMLSelectElement);
  const user = find(form, '#audit-user', HTMLInputElement);
  const session = find(form, '#audit-session', HTMLInputElement);
  const message = find(page, '.audit-message', HTMLElement);
  const error = find(page, '#audit-error', HTMLElement);
  const results = find(page, '.audit-results', HTMLElement);
  const table = find(page, '.audit-table', HTMLTableElement);
  const body = find(table, 'tbody', HTMLTableSectionElement);
  const more = find(page, '#audit-more', HTMLButtonElement);

  let who: Me;
  try {
    who = await me();
  } catch (reason) {
    if (!(reason instanceof ApiError)) throw reason;
    message.textContent = '';
    say(error, `Cannot open the audit log: ${reason.message}`);
    return;
  }
  fillTopbar(page, who);
  if (!who.canReadEvents) return refused(page, null);
  form.hidden = false;

  type.replaceChildren(new Option('All events', ''), ...typeGroups());
  const fill = (filter: AuditFilter): void => {
    time.fill(filter);
    type.value = filter.type;
    user.value = filter.user;
    session.value = filter.session;
  };

  // Each search has a number; an answer to an older one is dropped, so a slow
  // page cannot land in the table of a newer search.
  let searches = 0;
  let query: EventQuery = {};
  let nextPage: string | null = null;
  let shown = 0;

  const search = (): void => {
    time.blame(null);
    const halfTyped = time.halfTyped();
    const built = halfTyped === null ? queryOf(readFilter()) : { ok: false as const, problem: halfTyped };
    if (!built.ok) {
      say(error, built.problem.message);
      time.blame(built.problem);
      return;
    }
    query = built.query;
    const mine = ++searches;
    body.replaceChildren();
    shown = 0;
    nextPage = null;
    table.hidden = true;
    more.hidden = true;
    void load(mine);
  };

  const load = async (mine: number): Promise<void> => {
    say(error, null);
    message.textContent = shown === 0 ? 'Loading events…' : 'Loading more events…';
    results.setAttribute('aria-busy', 'true');
    // Disabling the focused button moves the focus to the body; it is put back below.
    const moreHadFocus = document.activeElement === more;
    more.disabled = true;
    const first = shown;
    let answer;
    try {
      answer = await listEvents({ ...query, limit: PAGE_SIZE, ...(nextPage === null ? {} : { page: nextPage }) });
    } catch (reason) {
      if (mine !== searches) return;
      if (!(reason instanceof ApiError)) throw reason;
      results.setAttribute('aria-busy', 'false');
      more.disabled = false;
      if (moreHadFocus && document.activeElement === document.body) more.focus();
      if (reason.status === 403) return refused(page, reason.message);
      // Before any event, "no events match" would be wrong: the search did not run.
      message.textContent = shown === 0 ? '' : counted(shown, nextPage);
      // A 400 is the server's word on the filter, shown as is.
      say(error, reason.status === 400 ? reason.message : `Cannot list events: ${reason.message}`);
      return;
    }
    if (mine !== searches) return;
    results.setAttribute('aria-busy', 'false');
    more.disabled = false;
    body.append(...answer.events.flatMap((event) => auditRows(event, { filterBySession })));
    shown += answer.events.length;
    nextPage = answer.nextPage;
    table.hidden = shown === 0;
    more.hidden = nextPage === null;
    message.textContent = counted(shown, nextPage);
    if (moreHadFocus && (document.activeElement === document.body || document.activeElement === null)) {
      // Load more goes away with the last page: then the focus goes to the first new event.
      const target = more.hidden ? body.rows[first * 2]?.querySelector<HTMLButtonElement>('[data-details]') : more;
      target?.focus();
    }
  };

  const readFilter = (): AuditFilter => ({
    ...time.read(),
    type: type.value,
    user: user.value,
    session: session.value,
  });

  const filterBySession = (sid: string): void => {
    session.value = sid;
    search();
    session.focus();
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    search();
  });
  form.addEventListener('reset', (event) => {
    event.preventDefault();
    fill(EMPTY_FILTER);
    search();
  });
  time.onChange(search);
  type.addEventListener('change', search);
  more.addEventListener('click', () => void load(searches));

  fill(EMPTY_FILTER);
  search();
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

function counted(shown: number, nextPage: string | null): string {
  if (shown === 0) {
    return nextPage === null ? 'No events match these filters.' : 'No matching events so far; Load more searches further back.';
  }
  const events = shown === 1 ? '1 event' : `${shown} events`;
  return nextPage === null ? `${events}, newest first.` : `${events} so far, newest first; Load more shows older ones.`;
}

/** The page for roles without the rules: what it takes, and the server's own words when it refused. */
function refused(page: HTMLElement, reason: string | null): void {
  for (const element of page.querySelectorAll<HTMLElement>('#audit-filter, .audit-results, #audit-error')) element.hidden = true;
  find(page, '.audit-refused', HTMLElement).hidden = false;
  say(find(page, '.audit-refused-reason', HTMLElement), reason);
}
