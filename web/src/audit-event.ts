// How the audit page shows one event: the known types by name, a one-line
// summary per type from its fields, and the event's whole JSON for its
// details. Pure, so it is easy to test.
import type { AuditEventView } from './api';

export interface EventType {
  /** The name the server uses and the filter sends (`user.login`). */
  name: string;
  label: string;
  group: string;
}

/** Every type the server records (crates/auth/src/audit/event.rs), grouped for the filter. */
export const EVENT_TYPES: readonly EventType[] = [
  { name: 'linux.desktop.session.start', label: 'Desktop session started', group: 'Desktop sessions' },
  { name: 'linux.desktop.session.end', label: 'Desktop session ended', group: 'Desktop sessions' },
  { name: 'windows.desktop.session.start', label: 'Windows desktop session started', group: 'Desktop sessions' },
  { name: 'windows.desktop.session.end', label: 'Windows desktop session ended', group: 'Desktop sessions' },
  { name: 'client.disconnect', label: 'Session disconnected', group: 'Desktop sessions' },
  { name: 'desktop.clipboard.send', label: 'Clipboard sent to desktop', group: 'Desktop sessions' },
  { name: 'desktop.clipboard.receive', label: 'Clipboard received from desktop', group: 'Desktop sessions' },
  { name: 'desktop.directory.share', label: 'Directory shared', group: 'Desktop sessions' },
  { name: 'desktop.directory.read', label: 'Shared file read', group: 'Desktop sessions' },
  { name: 'desktop.directory.write', label: 'Shared file written', group: 'Desktop sessions' },
  { name: 'user.login', label: 'Login', group: 'Users' },
  { name: 'user.create', label: 'User created', group: 'Users' },
  { name: 'user.update', label: 'User updated', group: 'Users' },
  { name: 'user.delete', label: 'User deleted', group: 'Users' },
  { name: 'role.created', label: 'Role created', group: 'Cluster' },
  { name: 'role.deleted', label: 'Role deleted', group: 'Cluster' },
  { name: 'lock.created', label: 'Lock created', group: 'Cluster' },
  { name: 'lock.deleted', label: 'Lock deleted', group: 'Cluster' },
  { name: 'join_token.create', label: 'Join token created', group: 'Cluster' },
  { name: 'instance.join', label: 'Host joined', group: 'Cluster' },
];

/** A type's label; a type this page does not know (a newer server's) shows as its name. */
export function eventLabel(name: string): string {
  return EVENT_TYPES.find((type) => type.name === name)?.label ?? name;
}

/** The longest summary shown; the details have the rest. */
export const MAX_SUMMARY = 160;

type Fields = Record<string, unknown>;
type Parts = (string | null)[];

const SUMMARIES: Record<string, (fields: Fields) => Parts> = {
  'linux.desktop.session.start': (f) => [onDesktop(f), text(f['error'])],
  'linux.desktop.session.end': (f) => [onDesktop(f), text(f['reason'])],
  'windows.desktop.session.start': (f) => [onDesktop(f), text(f['error'])],
  'windows.desktop.session.end': (f) => [onDesktop(f), text(f['reason'])],
  'client.disconnect': (f) => [onDesktop(f), text(f['reason'])],
  'desktop.clipboard.send': (f) => [joined(bytes(f['length']), 'to', desktop(f))],
  'desktop.clipboard.receive': (f) => [joined(bytes(f['length']), 'from', desktop(f))],
  'desktop.directory.share': (f) => [text(f['directory_name']), text(f['error'])],
  'desktop.directory.read': (f) => [text(f['file_path']), bytes(f['length']), text(f['error'])],
  'desktop.directory.write': (f) => [text(f['file_path']), bytes(f['length']), text(f['error'])],
  'user.login': (f) => [joined(text(f['method']), 'from', text(f['remote_addr'])), text(f['error'])],
  'user.create': (f) => [text(f['name']), labelled('roles', f['roles'])],
  'user.update': (f) => [text(f['name']), labelled('roles', f['roles']), text(f['change'])],
  'lock.created': (f) => [text(f['target']) ?? text(f['name']), text(f['message'])],
  'join_token.create': (f) => [labelled('roles', f['roles']), f['one_time'] === true ? 'one-time' : null],
  'instance.join': (f) => [joined(text(f['host_id']), 'as', text(f['role'])), text(f['error'])],
};

/** For the types without their own summary (and those this page does not know). */
const GENERIC: (fields: Fields) => Parts = (f) => [text(f['name']), text(f['error']), text(f['reason'])];

/**
 * One line about an event, from the fields its type has: who logged in to
 * which desktop, why a session ended, how much text crossed the clipboard.
 * Empty when the event has nothing more to say than its type and user.
 */
export function summary(event: Pick<AuditEventView, 'event' | 'fields'>): string {
  const parts = (SUMMARIES[event.event] ?? GENERIC)(event.fields);
  const line = parts.filter((part) => part !== null).join(' · ');
  return line.length <= MAX_SUMMARY ? line : `${line.slice(0, MAX_SUMMARY - 1)}…`;
}

/** The event as JSON, two-space indented: the common fields first, then the rest by name. */
export function eventJson(event: AuditEventView): string {
  const common: Fields = {
    uid: event.uid,
    time: event.time.toISOString(),
    event: event.event,
    code: event.code,
    success: event.success,
    user: event.user,
  };
  if (event.sid !== null) common['sid'] = event.sid;
  if (event.clusterName !== null) common['cluster_name'] = event.clusterName;
  const rest = Object.keys(event.fields)
    .sort()
    .map((name) => [name, event.fields[name]] as const);
  return JSON.stringify({ ...common, ...Object.fromEntries(rest) }, null, 2);
}

/** `login@desktop`, or whichever of the two the event has. */
function onDesktop(fields: Fields): string | null {
  const login = text(fields['linux_user']) ?? text(fields['windows_user']);
  const name = desktop(fields);
  if (login !== null && name !== null) return `${login}@${name}`;
  return login ?? name;
}

function desktop(fields: Fields): string | null {
  return text(fields['desktop_name']) ?? text(fields['desktop_addr']);
}

function bytes(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return value === 1 ? '1 byte' : `${value} bytes`;
}

function labelled(label: string, value: unknown): string | null {
  const shown = text(value);
  return shown === null ? null : `${label}: ${shown}`;
}

/** `a word b`, or whichever of a and b there is (`a`, `word b`). */
function joined(a: string | null, word: string, b: string | null): string | null {
  if (a !== null && b !== null) return `${a} ${word} ${b}`;
  if (b !== null) return `${word} ${b}`;
  return a;
}

/** A field as short text: a list joined by commas, a map as `key=value`; null for nothing worth showing. */
function text(value: unknown): string | null {
  if (typeof value === 'string') return value.trim() === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) {
    const items = value.map(text).filter((item) => item !== null);
    return items.length === 0 ? null : items.join(', ');
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).flatMap(([key, item]) => {
      const shown = text(item);
      return shown === null ? [] : [`${key}=${shown}`];
    });
    return entries.length === 0 ? null : entries.join(', ');
  }
  return null;
}
