// A list page's time filter: a preset range, or dates typed in the browser's
// local time; and the `since`/`until` the server takes for it. The audit log
// and the recordings list share it. Pure, so it is easy to test.

/** The time ranges offered; `custom` is the From/To inputs. */
export type RangeName = '1h' | '24h' | '7d' | '30d' | 'all' | 'custom';

export interface Range {
  name: RangeName;
  label: string;
  /**
   * `since` as the server takes it: a Go duration back from the server's
   * now, so a client clock that is off does not move the range; null for none.
   * Go durations have no days, hence 168h and 720h.
   */
  since: string | null;
}

export const RANGES: readonly Range[] = [
  { name: '1h', label: 'Last hour', since: '1h' },
  { name: '24h', label: 'Last 24 hours', since: '24h' },
  { name: '7d', label: 'Last 7 days', since: '168h' },
  { name: '30d', label: 'Last 30 days', since: '720h' },
  { name: 'all', label: 'All time', since: null },
  { name: 'custom', label: 'Between dates…', since: null },
];

/** The time fields of a filter form, as typed. */
export interface TimeFilter {
  range: RangeName;
  /** With `custom`: a datetime-local value (`2026-12-06T10:00`, local time), or '' for no start. */
  from: string;
  /** With `custom`: a datetime-local value, or '' for up to now. The minute typed is included. */
  to: string;
}

/** `since` and `until` as the server takes them; an absent one is no bound. */
export interface TimeBounds {
  /** RFC 3339, or a duration back from now (`24h`). */
  since?: string;
  until?: string;
}

/** A filter the form cannot send, naming the input at fault. */
export interface FilterProblem {
  field: 'from' | 'to';
  message: string;
}

export type BoundsResult = { ok: true; bounds: TimeBounds } | { ok: false; problem: FilterProblem };

/** The bounds a time filter means; the From/To times go out in UTC. */
export function boundsOf(filter: TimeFilter): BoundsResult {
  const bounds: TimeBounds = {};
  if (filter.range === 'custom') {
    const from = filter.from === '' ? null : localTime(filter.from, 'start');
    const to = filter.to === '' ? null : localTime(filter.to, 'end');
    if (from === undefined) return problem('from', 'From is not a date and time.');
    if (to === undefined) return problem('to', 'To is not a date and time.');
    if (from !== null && to !== null && from.getTime() > to.getTime()) return problem('to', 'To is before From.');
    if (from !== null) bounds.since = from.toISOString();
    if (to !== null) bounds.until = to.toISOString();
  } else {
    const since = RANGES.find((range) => range.name === filter.range)?.since ?? null;
    if (since !== null) bounds.since = since;
  }
  return { ok: true, bounds };
}

const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/**
 * A datetime-local value as an instant in the browser's time zone, or
 * undefined when it is not one. An `end` given to the minute reaches the
 * minute's last millisecond, so "To 10:00" includes 10:00:30.
 */
function localTime(value: string, edge: 'start' | 'end'): Date | undefined {
  const match = LOCAL_TIME.exec(value);
  if (match === null) return undefined;
  const [year, month, day, hour, minute] = match.slice(1, 6).map(Number) as [number, number, number, number, number];
  const second = match[6] === undefined ? null : Number(match[6]);
  const millisecond = match[7] === undefined ? 0 : Number(match[7].padEnd(3, '0'));
  if (hour > 23 || minute > 59 || (second ?? 0) > 59) return undefined;
  const at = new Date(year, month - 1, day, hour, minute, second ?? 0, millisecond);
  // new Date() rolls 2026-02-30 over into March; a day that does not exist is refused.
  if (at.getFullYear() !== year || at.getMonth() !== month - 1 || at.getDate() !== day) return undefined;
  if (edge === 'end' && second === null) at.setSeconds(59, 999);
  return at;
}

function problem(field: FilterProblem['field'], message: string): BoundsResult {
  return { ok: false, problem: { field, message } };
}
