// What the audit page asks the server for: a time range (time-range.ts), an
// event type, a user, a session; and the query string GET /api/audit/events
// takes. Pure, so it is easy to test.
import { queryString, type PageQuery, type QueryResult } from './list-query';
import { boundsOf, type RangeName, type TimeFilter } from './time-range';

export const DEFAULT_RANGE: RangeName = '24h';

/** The filter form, as typed. */
export interface AuditFilter extends TimeFilter {
  /** An event type name (`user.login`), or '' for every type. */
  type: string;
  user: string;
  session: string;
}

export const EMPTY_FILTER: AuditFilter = { range: DEFAULT_RANGE, from: '', to: '', type: '', user: '', session: '' };

/** The parameters of GET /api/audit/events; an absent one is the server's default. */
export interface EventQuery extends PageQuery {
  /** RFC 3339, or a duration back from now (`24h`). */
  since?: string;
  until?: string;
  types?: readonly string[];
  user?: string;
  session?: string;
  /** 1..1000; the server's default is 1000. */
  limit?: number;
  /** The server's default is newest first. */
  order?: 'asc' | 'desc';
}

/** The query a filter means; the From/To times go out in UTC. */
export function queryOf(filter: AuditFilter): QueryResult<EventQuery> {
  const time = boundsOf(filter);
  if (!time.ok) return time;
  const query: EventQuery = { ...time.bounds };
  const type = filter.type.trim();
  if (type !== '') query.types = [type];
  const user = filter.user.trim();
  if (user !== '') query.user = user;
  const session = filter.session.trim();
  if (session !== '') query.session = session;
  return { ok: true, query };
}

/** The query string for GET /api/audit/events, without the `?`; empty parameters left out. */
export function searchParams(query: EventQuery): string {
  return queryString({
    since: query.since,
    until: query.until,
    types: query.types?.join(','),
    user: query.user,
    session: query.session,
    limit: query.limit?.toString(),
    order: query.order,
    page: query.page,
  });
}
