// What the recordings page asks the server for: a time range (time-range.ts),
// a user, a desktop; and the query string GET /api/recordings takes. Pure,
// so it is easy to test.
import { queryString, type PageQuery, type QueryResult } from './list-query';
import { boundsOf, type RangeName, type TimeFilter } from './time-range';

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
export interface RecordingQuery extends PageQuery {
  /** RFC 3339, or a duration back from now (`168h`). */
  since?: string;
  until?: string;
  user?: string;
  desktop?: string;
}

/** The query a filter means; the From/To times go out in UTC. */
export function queryOf(filter: RecordingFilter): QueryResult<RecordingQuery> {
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
  return queryString({
    since: query.since,
    until: query.until,
    user: query.user,
    desktop: query.desktop,
    limit: query.limit?.toString(),
    page: query.page,
  });
}
