// One search through a list the server sends a page at a time, newest first
// (the audit log, the recordings): the query, how much is shown, the token for
// the next page, and what the page says about it. Pure, so it is easy to test.
import type { PageQuery } from './list-query';

/** One page of an answer. */
export interface Page<Item> {
  items: readonly Item[];
  /** Pass as `page` for the items after these; null when there are none. */
  nextPage: string | null;
}

/** What a list's messages call its items: `{ one: 'event', many: 'events' }`. */
export interface Nouns {
  one: string;
  many: string;
}

export class PagedSearch<Query extends PageQuery> {
  readonly #query: Query;
  readonly #pageSize: number;
  #shown = 0;
  #nextPage: string | null = null;

  constructor(query: Query, pageSize: number) {
    this.#query = query;
    this.#pageSize = pageSize;
  }

  /** Items shown so far. */
  get shown(): number {
    return this.#shown;
  }

  /** Whether the server has more after the pages taken: Load more is offered. */
  get hasMore(): boolean {
    return this.#nextPage !== null;
  }

  /** The query for the next page: the first until a page is taken. */
  nextRequest(): Query {
    return { ...this.#query, limit: this.#pageSize, ...(this.#nextPage === null ? {} : { page: this.#nextPage }) };
  }

  /** Counts in the answer to nextRequest(). */
  take(page: Page<unknown>): void {
    this.#shown += page.items.length;
    this.#nextPage = page.nextPage;
  }

  /** The status line while a page is asked for. */
  loading(nouns: Nouns): string {
    return this.#shown === 0 ? `Loading ${nouns.many}…` : `Loading more ${nouns.many}…`;
  }

  /** The status line once a page has come: how many, and whether Load more finds older ones. */
  counted(nouns: Nouns): string {
    if (this.#shown === 0) {
      return this.hasMore
        ? `No matching ${nouns.many} so far; Load more searches further back.`
        : `No ${nouns.many} match these filters.`;
    }
    const items = this.#shown === 1 ? `1 ${nouns.one}` : `${this.#shown} ${nouns.many}`;
    return this.hasMore ? `${items} so far, newest first; Load more shows older ones.` : `${items}, newest first.`;
  }
}
