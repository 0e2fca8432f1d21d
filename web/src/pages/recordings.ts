// Session recordings: newest first, filtered by time range, user and
// desktop, a page at a time; each row opens its player. Only for users
// whose roles may list sessions; others get a page that says what it takes.
import { ApiError, listRecordings, me, type Me } from '../api';
import { find, mount, say } from '../dom';
import { EMPTY_FILTER, queryOf, type RecordingFilter, type RecordingQuery } from '../recording-filter';
import { offerLogout } from '../ui/logout';
import { recordingRow } from '../ui/recording-row';
import { TimeRangeFields } from '../ui/time-range-fields';
import { fillTopbar } from '../ui/topbar';

/** Recordings asked for at once; Load more fetches the next. */
const PAGE_SIZE = 100;

export async function showRecordings(app: HTMLElement): Promise<void> {
  document.title = 'Recordings · Oriel';
  const page = mount(app, 'recordings-page');
  offerLogout(find(page, '#logout', HTMLButtonElement));
  const form = find(page, '#recordings-filter', HTMLFormElement);
  const time = new TimeRangeFields(
    form,
    find(form, '#recordings-range', HTMLSelectElement),
    find(form, '#recordings-from', HTMLInputElement),
    find(form, '#recordings-to', HTMLInputElement),
  );
  const user = find(form, '#recordings-user', HTMLInputElement);
  const desktop = find(form, '#recordings-desktop', HTMLInputElement);
  const message = find(page, '.recordings-message', HTMLElement);
  const error = find(page, '#recordings-error', HTMLElement);
  const results = find(page, '.recordings-results', HTMLElement);
  const table = find(page, '.recordings-table', HTMLTableElement);
  const body = find(table, 'tbody', HTMLTableSectionElement);
  const more = find(page, '#recordings-more', HTMLButtonElement);

  let who: Me;
  try {
    who = await me();
  } catch (reason) {
    if (!(reason instanceof ApiError)) throw reason;
    message.textContent = '';
    say(error, `Cannot open the recordings: ${reason.message}`);
    return;
  }
  fillTopbar(page, who);
  if (!who.canListRecordings) return refused(page, null);
  form.hidden = false;

  const fill = (filter: RecordingFilter): void => {
    time.fill(filter);
    user.value = filter.user;
    desktop.value = filter.desktop;
  };

  // Each search has a number; an answer to an older one is dropped, so a slow
  // page cannot land in the table of a newer search.
  let searches = 0;
  let query: RecordingQuery = {};
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
    message.textContent = shown === 0 ? 'Loading recordings…' : 'Loading more recordings…';
    results.setAttribute('aria-busy', 'true');
    // Disabling the focused button moves the focus to the body; it is put back below.
    const moreHadFocus = document.activeElement === more;
    more.disabled = true;
    const first = shown;
    let answer;
    try {
      answer = await listRecordings({ ...query, limit: PAGE_SIZE, ...(nextPage === null ? {} : { page: nextPage }) });
    } catch (reason) {
      if (mine !== searches) return;
      if (!(reason instanceof ApiError)) throw reason;
      results.setAttribute('aria-busy', 'false');
      more.disabled = false;
      if (moreHadFocus && document.activeElement === document.body) more.focus();
      if (reason.status === 403) return refused(page, reason.message);
      // Before any recording, "no recordings match" would be wrong: the search did not run.
      message.textContent = shown === 0 ? '' : counted(shown, nextPage);
      // A 400 is the server's word on the filter, shown as is.
      say(error, reason.status === 400 ? reason.message : `Cannot list recordings: ${reason.message}`);
      return;
    }
    if (mine !== searches) return;
    results.setAttribute('aria-busy', 'false');
    more.disabled = false;
    body.append(...answer.recordings.map(recordingRow));
    shown += answer.recordings.length;
    nextPage = answer.nextPage;
    table.hidden = shown === 0;
    more.hidden = nextPage === null;
    message.textContent = counted(shown, nextPage);
    if (moreHadFocus && (document.activeElement === document.body || document.activeElement === null)) {
      // Load more goes away with the last page: then the focus goes to the first new recording.
      const target = more.hidden ? body.rows[first]?.querySelector<HTMLAnchorElement>('[data-play]') : more;
      target?.focus();
    }
  };

  const readFilter = (): RecordingFilter => ({ ...time.read(), user: user.value, desktop: desktop.value });

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
  more.addEventListener('click', () => void load(searches));

  fill(EMPTY_FILTER);
  search();
}

function counted(shown: number, nextPage: string | null): string {
  if (shown === 0) {
    return nextPage === null
      ? 'No recordings match these filters.'
      : 'No matching recordings so far; Load more searches further back.';
  }
  const recordings = shown === 1 ? '1 recording' : `${shown} recordings`;
  return nextPage === null ? `${recordings}, newest first.` : `${recordings} so far, newest first; Load more shows older ones.`;
}

/** The page for roles without the rules: what it takes, and the server's own words when it refused. */
function refused(page: HTMLElement, reason: string | null): void {
  for (const element of page.querySelectorAll<HTMLElement>('#recordings-filter, .recordings-results, #recordings-error')) {
    element.hidden = true;
  }
  find(page, '.recordings-refused', HTMLElement).hidden = false;
  say(find(page, '.recordings-refused-reason', HTMLElement), reason);
}
