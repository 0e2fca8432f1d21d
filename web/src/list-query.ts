// What the audit log's and the recordings list's filters have in common: a
// filter form either means a query or names the input at fault, and the query
// goes out as a query string without empty parameters. Pure, so it is easy to test.
import type { FilterProblem } from './time-range';

/** The paging parameters both lists take. */
export interface PageQuery {
  limit?: number;
  /** The previous answer's `next_page`. */
  page?: string;
}

/** The query a filter form means, or why the form cannot send it. */
export type QueryResult<Query> = { ok: true; query: Query } | { ok: false; problem: FilterProblem };

/**
 * A query string without the `?`, the parameters in the order given. Empty
 * ones are left out: an absent parameter is the server's default.
 */
export function queryString(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(name, value);
  }
  return search.toString();
}
