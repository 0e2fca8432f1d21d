// What the recordings page asks the server for: a time range (time-range.ts),
// a user, a desktop; and the query string GET /api/recordings takes. Pure,
// so it is easy to test.
import { boundsOf, type FilterProblem, type RangeName, type TimeFilter } from './time-range';

/** Recordings are looked for further back than events: a week by default. */
export const DEFAULT_RANGE: RangeName = '7d';

/** The filter form, as typed. */
export interface RecordingFilter extends TimeFilter {
  user: string;
  /** A desktop's name. */
  desktop: string;
}

export const EMPTY_FILTER: RecordingFilter = { range: DEFAULT_RANGE, from: '', to: '', user: '', desktop: '' };

/** The parameters of GET /api/recordings; an absent one is the server's default. */
export interface RecordingQuery {
  /** RFC 3339, or a duration back from now (`168h`). */
  since?: string;
  until?: string;
  user?: string;
  desktop?: string;
  limit?: number;
  /** The previous answer's `next_page`. */
  page?: string;
}

export type FilterResult = { ok: true; query: RecordingQuery } | { ok: false; problem: FilterProblem };

/** The query a filter means; the From/To times go out in UTC. */
export function queryOf(filter: RecordingFilter): FilterResult {
  const time = boundsOf(filter);
  if (!time.ok) return time;
  const query: RecordingQuery = { ...time.bounds };
  const user = filter.user.trim();
  if (user !== '') query.user = user;
  const desktop = filter.desktop.trim();
  if (desktop !== '') query.desktop = desktop;
  return { ok: true, query };
}

/** The query string for GET /api/recordings, without the `?`; empty parameters left out. */
export function searchParams(query: RecordingQuery): string {
  const params = new URLSearchParams();
  const set = (name: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') params.set(name, value);
  };
  set('since', query.since);
  set('until', query.until);
  set('user', query.user);
  set('desktop', query.desktop);
  set('limit', query.limit?.toString());
  set('page', query.page);
  return params.toString();
}
