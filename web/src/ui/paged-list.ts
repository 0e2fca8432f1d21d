// A list page searched a page at a time, newest first: the audit log and the
// recordings. A filter form with a time range (time-range-fields.ts), the
// results table with its status line and Load more, and, for roles without
// the rules, a page that says what it takes. Both pages name their parts
// alike: `recordings` finds #recordings-filter, #recordings-range, -from, -to,
// #recordings-error, #recordings-more, and .recordings-message, -results,
// -table, -refused, -refused-reason.
import { ApiError, me, type Me } from '../api';
import { find, say } from '../dom';
import type { PageQuery, QueryResult } from '../list-query';
import { PagedSearch, type Nouns, type Page } from '../paged-search';
import type { TimeFilter } from '../time-range';
import { TimeRangeFields } from './time-range-fields';
import { fillTopbar } from './topbar';

/** What makes one list differ from the other. */
export interface PagedListOptions<Filter extends TimeFilter, Query extends PageQuery, Item> {
  /** What the page's ids and classes start with. */
  name: string;
  /** The list as named in "Cannot open the audit log: …". */
  what: string;
  nouns: Nouns;
  /** Items asked for at once; Load more fetches the next. */
  pageSize: number;
  /** Whether the user's roles may list; the others get the refusal. */
  mayList(who: Me): boolean;
  /** The filter the page opens with, and Clear goes back to. */
  emptyFilter: Filter;
  /** Puts a filter's fields other than the time range in the form. */
  fill(filter: Filter): void;
  /** The filter in the form, given its time range. */
  read(time: TimeFilter): Filter;
  queryOf(filter: Filter): QueryResult<Query>;
  list(query: Query): Promise<Page<Item>>;
  /** An item's rows in the table. */
  rows(item: Item): HTMLTableRowElement[];
  /** What takes the focus in an item's rows when Load more, which had it, goes away. */
  focusInRow: string;
}

export class PagedList<Filter extends TimeFilter, Query extends PageQuery, Item> {
  readonly #page: HTMLElement;
  readonly #options: PagedListOptions<Filter, Query, Item>;
  readonly #form: HTMLFormElement;
  readonly #time: TimeRangeFields;
  readonly #message: HTMLElement;
  readonly #error: HTMLElement;
  readonly #results: HTMLElement;
  readonly #table: HTMLTableElement;
  readonly #body: HTMLTableSectionElement;
  readonly #more: HTMLButtonElement;
  /** An answer to an older search is dropped, so a slow page cannot land in the table of a newer search. */
  #latest: PagedSearch<Query> | null = null;

  constructor(page: HTMLElement, options: PagedListOptions<Filter, Query, Item>) {
    const { name } = options;
    this.#page = page;
    this.#options = options;
    this.#form = find(page, `#${name}-filter`, HTMLFormElement);
    this.#time = new TimeRangeFields(
      this.#form,
      find(this.#form, `#${name}-range`, HTMLSelectElement),
      find(this.#form, `#${name}-from`, HTMLInputElement),
      find(this.#form, `#${name}-to`, HTMLInputElement),
    );
    this.#message = find(page, `.${name}-message`, HTMLElement);
    this.#error = find(page, `#${name}-error`, HTMLElement);
    this.#results = find(page, `.${name}-results`, HTMLElement);
    this.#table = find(page, `.${name}-table`, HTMLTableElement);
    this.#body = find(this.#table, 'tbody', HTMLTableSectionElement);
    this.#more = find(page, `#${name}-more`, HTMLButtonElement);
  }

  /** Shows the form to users whose roles may list and searches with the empty filter; the others get the refusal. */
  async show(): Promise<void> {
    let who: Me;
    try {
      who = await me();
    } catch (reason) {
      if (!(reason instanceof ApiError)) throw reason;
      this.#message.textContent = '';
      say(this.#error, `Cannot open ${this.#options.what}: ${reason.message}`);
      return;
    }
    fillTopbar(this.#page, who);
    if (!this.#options.mayList(who)) return this.#refuse(null);
    this.#form.hidden = false;

    this.#form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.search();
    });
    this.#form.addEventListener('reset', (event) => {
      event.preventDefault();
      this.#fill(this.#options.emptyFilter);
      this.search();
    });
    this.#time.onChange(() => this.search());
    this.#more.addEventListener('click', () => {
      if (this.#latest !== null) void this.#load(this.#latest);
    });

    this.#fill(this.#options.emptyFilter);
    this.search();
  }

  /** Searches anew with the filter in the form, from the first page. */
  search(): void {
    this.#time.blame(null);
    const halfTyped = this.#time.halfTyped();
    const built: QueryResult<Query> =
      halfTyped === null ? this.#options.queryOf(this.#options.read(this.#time.read())) : { ok: false, problem: halfTyped };
    if (!built.ok) {
      say(this.#error, built.problem.message);
      this.#time.blame(built.problem);
      return;
    }
    const search = new PagedSearch(built.query, this.#options.pageSize);
    this.#latest = search;
    this.#body.replaceChildren();
    this.#table.hidden = true;
    this.#more.hidden = true;
    void this.#load(search);
  }

  async #load(search: PagedSearch<Query>): Promise<void> {
    const { nouns } = this.#options;
    const more = this.#more;
    say(this.#error, null);
    this.#message.textContent = search.loading(nouns);
    this.#results.setAttribute('aria-busy', 'true');
    // Disabling the focused button moves the focus to the body; it is put back below.
    const moreHadFocus = document.activeElement === more;
    more.disabled = true;
    let answer;
    try {
      answer = await this.#options.list(search.nextRequest());
    } catch (reason) {
      if (search !== this.#latest) return;
      if (!(reason instanceof ApiError)) throw reason;
      this.#results.setAttribute('aria-busy', 'false');
      more.disabled = false;
      if (moreHadFocus && document.activeElement === document.body) more.focus();
      if (reason.status === 403) return this.#refuse(reason.message);
      // Before any item, "no items match" would be wrong: the search did not run.
      this.#message.textContent = search.shown === 0 ? '' : search.counted(nouns);
      // A 400 is the server's word on the filter, shown as is.
      say(this.#error, reason.status === 400 ? reason.message : `Cannot list ${nouns.many}: ${reason.message}`);
      return;
    }
    if (search !== this.#latest) return;
    this.#results.setAttribute('aria-busy', 'false');
    more.disabled = false;
    const firstNewRow = this.#body.rows.length;
    this.#body.append(...answer.items.flatMap((item) => this.#options.rows(item)));
    search.take(answer);
    this.#table.hidden = search.shown === 0;
    more.hidden = !search.hasMore;
    this.#message.textContent = search.counted(nouns);
    if (moreHadFocus && (document.activeElement === document.body || document.activeElement === null)) {
      // Load more goes away with the last page: then the focus goes to the first new item.
      const target = more.hidden ? this.#body.rows[firstNewRow]?.querySelector<HTMLElement>(this.#options.focusInRow) : more;
      target?.focus();
    }
  }

  #fill(filter: Filter): void {
    this.#time.fill(filter);
    this.#options.fill(filter);
  }

  /** The page for roles without the rules: what it takes, and the server's own words when it refused. */
  #refuse(reason: string | null): void {
    for (const element of [this.#form, this.#results, this.#error]) element.hidden = true;
    const { name } = this.#options;
    find(this.#page, `.${name}-refused`, HTMLElement).hidden = false;
    say(find(this.#page, `.${name}-refused-reason`, HTMLElement), reason);
  }
}
