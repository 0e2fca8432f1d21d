// The server's JSON API. Answers are parsed into plain types here, so pages
// never see raw JSON. The session is an HttpOnly cookie the client never reads.
import { searchParams, type EventQuery } from './audit-filter';
import type { RecordingIndex } from './recording-format';
import { searchParams as recordingSearchParams, type RecordingQuery } from './recording-filter';
import { loginAddress, type DesktopKind } from './route';
import { localLoginsOpen, ssoConnectors, type SsoConnector } from './sso';
import { creationOptions, requestOptions, WebauthnFormatError, type AssertionAnswer, type RegistrationAnswer } from './webauthn';

/** A refused or failed request; `message` is the server's, fit to show as is. */
export class ApiError extends Error {
  /** The HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  /** Seconds to wait before trying again, when the server said (429). */
  readonly retryAfter: number | null;

  constructor(status: number, message: string, retryAfter: number | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export interface Me {
  user: string;
  roles: string[];
  cluster: string;
  /** Whether the user's roles allow reading the audit log (`rules` with list and read on `event`). */
  canReadEvents: boolean;
  /** Whether the user's roles allow listing session recordings (`rules` with list and read on `session`). */
  canListRecordings: boolean;
}

export interface Invite {
  user: string;
  /** otpauth://totp/… for the QR code. */
  totpUrl: string;
  /** The same secret in base32, for typing in by hand. */
  totpSecret: string;
}

/** A security key or passkey ceremony the server began: its id, and the options for the browser. */
export interface Ceremony<Options> {
  id: string;
  publicKey: Options;
}

/** A security key or passkey of the logged-in user. */
export interface Device {
  id: string;
  name: string;
  added: Date;
  /** Null until it has answered a login. */
  lastUsed: Date | null;
}

export interface Devices {
  devices: Device[];
  /** Whether the user also has a TOTP authenticator. */
  totp: boolean;
}

export interface Desktop {
  kind: DesktopKind;
  name: string;
  hostname: string;
  addr: string;
  labels: Record<string, string>;
  /** The logins this user's roles allow on this desktop. */
  logins: string[];
}

export interface DesktopList {
  cluster: string;
  desktops: Desktop[];
}

/** A session of the user's that runs on a desktop: it can be resumed. */
export interface RunningSessionView {
  sessionId: string;
  xsession: string;
  started: Date;
  /** A browser window shows it now; resuming moves it here. */
  attached: boolean;
  /** Its screen when its owner's window left, small (at most 160 pixels a side). */
  thumbnail: { width: number; height: number; rgba: Uint8ClampedArray<ArrayBuffer> } | null;
}

/** One audit event, in Teleport's shape. */
export interface AuditEventView {
  /** Unique. */
  uid: string;
  time: Date;
  /** The type (`user.login`, `linux.desktop.session.start`…). */
  event: string;
  /** Teleport's code (`T1000I`); the last letter is I, W or E. */
  code: string;
  /** False for a refusal or failure (a wrong password, a refused session). */
  success: boolean;
  /** Who acted; empty for the system. */
  user: string;
  /** The desktop session it belongs to. */
  sid: string | null;
  clusterName: string | null;
  /** Every other field, as the server sent it (`linux_user`, `desktop_name`, `error`…). */
  fields: Record<string, unknown>;
}

/** One session recording, as the list shows it. */
export interface RecordingSummary {
  /** The session's id. */
  id: string;
  /** Who started the session. */
  user: string;
  login: string;
  desktop: string;
  start: Date;
  /** Null while the server does not know it (a recording still being written). */
  end: Date | null;
  durationMs: number;
  /** The recording's file, in bytes. */
  size: number;
  participants: string[];
}

/** One recording with its index, what the player needs before any byte of the file. */
export interface Recording extends RecordingSummary {
  index: RecordingIndex;
}

export interface RecordingPage {
  /** Newest first. */
  recordings: RecordingSummary[];
  /** Pass as `page` for the recordings after these; null when there are none. */
  nextPage: string | null;
}

/** Bytes of a recording's file, with where they lie in it. */
export interface RecordingBytes {
  bytes: Uint8Array;
  /** The file's size, when the server said it (Content-Range). */
  total: number | null;
}

export interface EventPage {
  /** In the order asked for; newest first by default. */
  events: AuditEventView[];
  /** Pass as `page` for the events after these; null when there are none. */
  nextPage: string | null;
}

/** What a 401 means: "log in first", or an answer the caller shows (wrong credentials). */
export type Unauthorized = 'log in' | 'refused';

export async function logIn(user: string, password: string, totpCode: string): Promise<string> {
  const body = await request('POST', '/api/login', { user, password, totp_code: totpCode }, 'refused');
  return text(asObject(body)['user']);
}

/** Begins a password and security key login of `user`; 429 while logins of this user are throttled. */
export async function beginKeyLogin(user: string): Promise<Ceremony<PublicKeyCredentialRequestOptions>> {
  return loginCeremony(await request('POST', '/api/login/webauthn/begin', { user }, 'refused'));
}

/** The password and the key's answer, one attempt: 401 when either is wrong, with one sentence for both. */
export async function finishKeyLogin(user: string, password: string, ceremony: string, answer: AssertionAnswer): Promise<string> {
  const body = await request('POST', '/api/login/webauthn', { user, password, ceremony, answer }, 'refused');
  return text(asObject(body)['user']);
}

/** Begins a login with a passkey alone; 403 where the cluster turns passwordless logins off. */
export async function beginPasswordless(): Promise<Ceremony<PublicKeyCredentialRequestOptions>> {
  return loginCeremony(await request('POST', '/api/login/passwordless/begin', {}, 'refused'));
}

/** The passkey names its user; 401 when its answer is refused. */
export async function finishPasswordless(ceremony: string, answer: AssertionAnswer): Promise<string> {
  const body = await request('POST', '/api/login/passwordless', { ceremony, answer }, 'refused');
  return text(asObject(body)['user']);
}

/** The identity providers the login page offers (no login needed); none when the cluster has no connector. */
/** The ways in the login page offers besides its own form, and whether that form is open. */
export interface SignInOffer {
  connectors: SsoConnector[];
  /** False when the cluster turned password logins off. */
  local: boolean;
}

export async function listSsoConnectors(): Promise<SignInOffer> {
  const body = await request('GET', '/api/sso/connectors', undefined, 'refused');
  return { connectors: ssoConnectors(body), local: localLoginsOpen(body) };
}

export async function logOut(): Promise<void> {
  await request('POST', '/api/logout', undefined, 'refused');
}

export async function me(onUnauthorized: Unauthorized = 'log in'): Promise<Me> {
  const body = asObject(await request('GET', '/api/me', undefined, onUnauthorized));
  return {
    user: text(body['user']),
    roles: texts(body['roles']),
    cluster: text(body['cluster']),
    // A server that predates the audit page does not say: then it has none to show.
    canReadEvents: flag(body['can_read_events'] ?? false),
    canListRecordings: flag(body['can_list_recordings'] ?? false),
  };
}

export async function readInvite(secret: string): Promise<Invite> {
  const body = asObject(await request('GET', invitePath(secret), undefined, 'refused'));
  return { user: text(body['user']), totpUrl: text(body['totp_url']), totpSecret: text(body['totp_secret']) };
}

/** Sets the password and enrolls TOTP; the server logs the user in. */
export async function acceptInvite(secret: string, password: string, totpCode: string): Promise<void> {
  await request('POST', invitePath(secret), { password, totp_code: totpCode }, 'refused');
}

/** Begins registering a security key or passkey instead of TOTP at the invite. */
export async function beginInviteKey(secret: string): Promise<Ceremony<PublicKeyCredentialCreationOptions>> {
  return registrationCeremony(await request('POST', `${invitePath(secret)}/webauthn/begin`, {}, 'refused'));
}

/** Sets the password and keeps the key as `name`; the server logs the user in. */
export async function acceptInviteWithKey(secret: string, password: string, ceremony: string, name: string, answer: RegistrationAnswer): Promise<void> {
  await request('POST', `${invitePath(secret)}/webauthn`, { password, ceremony, name, answer }, 'refused');
}

/** The logged-in user's security keys and passkeys, and whether they have TOTP too. */
export async function listDevices(): Promise<Devices> {
  const body = asObject(await request('GET', '/api/me/devices'));
  const devices = Array.isArray(body['devices']) ? body['devices'].map(device) : unexpected();
  return { devices, totp: flag(body['totp']) };
}

export async function beginAddDevice(): Promise<Ceremony<PublicKeyCredentialCreationOptions>> {
  return registrationCeremony(await request('POST', '/api/me/devices/begin', {}));
}

/**
 * Keeps the new key as `name`. The server answers a refused answer with 401,
 * as it does an ended session, so a 401 is the caller's to tell apart (`me()`).
 */
export async function addDevice(ceremony: string, name: string, answer: RegistrationAnswer): Promise<Device> {
  const body = asObject(await request('POST', '/api/me/devices', { ceremony, name, answer }, 'refused'));
  return device({ ...body, last_used: null });
}

/** 409 when it is the user's last second factor. */
export async function removeDevice(id: string): Promise<void> {
  await request('DELETE', `/api/me/devices/${encodeURIComponent(id)}`);
}

export async function listDesktops(): Promise<DesktopList> {
  const body = asObject(await request('GET', '/api/desktops'));
  const desktops = Array.isArray(body['desktops']) ? body['desktops'].map(desktop) : unexpected();
  return { cluster: text(body['cluster']), desktops };
}

/** The user's sessions running on `desktop` as `login`, oldest first. */
export async function listRunningSessions(kind: DesktopKind, desktop: string, login: string): Promise<RunningSessionView[]> {
  const query = new URLSearchParams({ login });
  const path = `/api/desktops/${encodeURIComponent(kind)}/${encodeURIComponent(desktop)}/sessions?${query.toString()}`;
  const body = asObject(await request('GET', path));
  if (!Array.isArray(body['sessions'])) return unexpected();
  return body['sessions'].map((value: unknown) => {
    const session = asObject(value);
    return {
      sessionId: text(session['session_id']),
      xsession: text(session['xsession']),
      started: instant(session['started']),
      attached: session['attached'] === true,
      thumbnail: thumbnail(session['thumbnail']),
    };
  });
}

/** A running session's thumbnail: RGBA, base64 in the JSON; null when absent or not the size it says. */
function thumbnail(value: unknown): RunningSessionView['thumbnail'] {
  if (value === null || value === undefined) return null;
  const body = asObject(value);
  const width = body['width'];
  const height = body['height'];
  if (typeof width !== 'number' || typeof height !== 'number' || typeof body['rgba'] !== 'string') return null;
  let bytes: string;
  try {
    bytes = atob(body['rgba']);
  } catch {
    return null;
  }
  if (bytes.length !== width * height * 4 || width < 1 || height < 1) return null;
  const rgba = new Uint8ClampedArray(bytes.length);
  for (let i = 0; i < bytes.length; i++) rgba[i] = bytes.charCodeAt(i);
  return { width, height, rgba };
}

/** One page of the audit log; a 403 (roles without the rules) and a 400 (a bad filter) carry the server's sentence. */
export async function listEvents(query: EventQuery): Promise<EventPage> {
  const search = searchParams(query);
  const body = asObject(await request('GET', search === '' ? '/api/audit/events' : `/api/audit/events?${search}`));
  const events = Array.isArray(body['events']) ? body['events'].map(auditEvent) : unexpected();
  // An empty token would ask for the first page again.
  return { events, nextPage: optionalText(body['next_page']) };
}

/** One page of recordings; a 403 (roles without the rules) and a 400 (a bad filter) carry the server's sentence. */
export async function listRecordings(query: RecordingQuery): Promise<RecordingPage> {
  const search = recordingSearchParams(query);
  const body = asObject(await request('GET', search === '' ? '/api/recordings' : `/api/recordings?${search}`));
  const recordings = Array.isArray(body['recordings']) ? body['recordings'].map(recordingSummary) : unexpected();
  return { recordings, nextPage: optionalText(body['next_page']) };
}

/** A recording's metadata and index; 404 for one that does not exist or that the user may not see. */
export async function readRecording(id: string): Promise<Recording> {
  const body = asObject(await request('GET', recordingApiPath(id)));
  // Loaded only here: every page shares this module, and only the player reads recordings.
  const { readIndex, RecordingFormatError } = await import('./recording-format');
  let index: RecordingIndex;
  try {
    index = readIndex(body['index']);
  } catch (error) {
    if (!(error instanceof RecordingFormatError)) throw error;
    throw new ApiError(502, `the server sent a recording index this page cannot use: ${error.message}`);
  }
  return { ...recordingSummary(body), index };
}

/**
 * Bytes `start` to `end` (exclusive) of a recording's file: at most that, fewer
 * where the file ends. A Range request, so a player never downloads what it
 * does not play; `signal` cancels it (a newer seek).
 */
export async function readRecordingBytes(id: string, start: number, end: number, signal: AbortSignal): Promise<RecordingBytes> {
  let response: Response;
  try {
    response = await fetch(`${recordingApiPath(id)}/data`, {
      credentials: 'same-origin',
      headers: { Range: `bytes=${start}-${end - 1}` },
      signal,
    });
  } catch {
    if (signal.aborted) throw signal.reason;
    throw new ApiError(0, 'cannot reach the Oriel server; check the connection and try again');
  }
  if (response.status === 401) {
    location.assign(loginAddress(location));
    return new Promise(() => {});
  }
  if (response.status === 416) {
    // Nothing at `start`: the file ends before it, which the reader tells as a file cut short.
    return { bytes: new Uint8Array(0), total: completeLength(response.headers.get('Content-Range')) };
  }
  if (response.status !== 206) {
    if (!response.ok) throw await failure(response);
    // A 200 is the whole file: reading it to play a part would not stay bounded.
    throw new ApiError(502, `the server answered a Range request with ${response.status}, not 206 Partial Content`);
  }
  const range = contentRange(response.headers.get('Content-Range'));
  if (range === null || range.start !== start) {
    throw new ApiError(502, `the server sent bytes other than those asked for (${start}-${end - 1}): ${response.headers.get('Content-Range') ?? 'no Content-Range'}`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length !== range.length || bytes.length > end - start) {
    throw new ApiError(502, `the server sent ${bytes.length} bytes for the range ${range.start}-${range.start + range.length - 1}`);
  }
  return { bytes, total: range.total };
}

function recordingApiPath(id: string): string {
  return `/api/recordings/${encodeURIComponent(id)}`;
}

/** `bytes 0-99/1234` (the total may be `*`, unknown). */
function contentRange(header: string | null): { start: number; length: number; total: number | null } | null {
  const match = header === null ? null : /^bytes (\d+)-(\d+)\/(?:\d+|\*)$/.exec(header.trim());
  if (match === null) return null;
  const [first, last] = [Number(match[1]), Number(match[2])];
  if (last < first) return null;
  return { start: first, length: last - first + 1, total: completeLength(header) };
}

/** The file's size a Content-Range ends with (`…/1234`); null for `*` or none. */
function completeLength(header: string | null): number | null {
  const match = header === null ? null : /\/(\d+)$/.exec(header.trim());
  return match === null ? null : Number(match[1]);
}

function invitePath(secret: string): string {
  return `/api/invite/${encodeURIComponent(secret)}`;
}

/**
 * One API call. With `onUnauthorized` = 'log in' a 401 sends the browser to
 * the login page (coming back here afterwards) and the returned promise never
 * settles, so the page does not flash an error while it leaves.
 */
async function request(
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  onUnauthorized: Unauthorized = 'log in',
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'cannot reach the Oriel server; check the connection and try again');
  }
  if (response.status === 401 && onUnauthorized === 'log in') {
    location.assign(loginAddress(location));
    return new Promise(() => {});
  }
  if (response.status === 204) return null;
  if (!response.ok) throw await failure(response);
  return response.json().catch(() => null);
}

/** A refusal or failure, in the server's words when its body says (`{"error": …}`). */
async function failure(response: Response): Promise<ApiError> {
  const json: unknown = await response.json().catch(() => null);
  const error = json !== null && typeof json === 'object' ? (json as Record<string, unknown>)['error'] : undefined;
  const message = typeof error === 'string' && error !== '' ? error : `the server answered ${response.status}`;
  return new ApiError(response.status, message, retryAfter(response));
}

function retryAfter(response: Response): number | null {
  const header = response.headers.get('Retry-After');
  const seconds = header === null ? NaN : Number(header);
  return Number.isInteger(seconds) && seconds >= 0 ? seconds : null;
}

function loginCeremony(value: unknown): Ceremony<PublicKeyCredentialRequestOptions> {
  const body = asObject(value);
  return { id: text(body['ceremony']), publicKey: webauthnOptions(() => requestOptions(body['options'])) };
}

function registrationCeremony(value: unknown): Ceremony<PublicKeyCredentialCreationOptions> {
  const body = asObject(value);
  return { id: text(body['ceremony']), publicKey: webauthnOptions(() => creationOptions(body['options'])) };
}

function webauthnOptions<Options>(parse: () => Options): Options {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof WebauthnFormatError)) throw error;
    throw new ApiError(502, `the server sent security key options this page cannot use: ${error.message}`);
  }
}

function device(value: unknown): Device {
  const body = asObject(value);
  const lastUsed = optionalText(body['last_used']);
  return {
    id: text(body['id']),
    name: text(body['name']),
    added: instant(body['added']),
    lastUsed: lastUsed === null ? null : instant(lastUsed),
  };
}

function desktop(value: unknown): Desktop {
  const body = asObject(value);
  const kind = body['kind'];
  if (kind !== 'linux' && kind !== 'windows') unexpected();
  const labels = asObject(body['labels'] ?? {});
  return {
    kind,
    name: text(body['name']),
    hostname: text(body['hostname'] ?? ''),
    addr: text(body['addr'] ?? ''),
    labels: Object.fromEntries(Object.entries(labels).map(([key, value]) => [key, text(value)])),
    logins: texts(body['logins'] ?? []),
  };
}

/** The fields every event has, in the JSON; the rest go to `fields`. */
const COMMON_EVENT_FIELDS = new Set(['uid', 'time', 'event', 'code', 'success', 'user', 'sid', 'cluster_name']);
const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

function auditEvent(value: unknown): AuditEventView {
  const body = asObject(value);
  return {
    uid: text(body['uid']),
    time: instant(body['time']),
    event: text(body['event']),
    code: text(body['code']),
    success: flag(body['success']),
    user: text(body['user']),
    sid: optionalText(body['sid']),
    clusterName: optionalText(body['cluster_name']),
    fields: Object.fromEntries(Object.entries(body).filter(([name]) => !COMMON_EVENT_FIELDS.has(name))),
  };
}

function recordingSummary(value: unknown): RecordingSummary {
  const body = asObject(value);
  const end = optionalText(body['end']);
  return {
    id: text(body['id']),
    user: text(body['user']),
    login: text(body['login']),
    desktop: text(body['desktop']),
    start: instant(body['start']),
    end: end === null ? null : instant(end),
    durationMs: whole(body['duration_ms']),
    size: whole(body['size']),
    participants: texts(body['participants'] ?? []),
  };
}

function asObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) unexpected();
  return value as Record<string, unknown>;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : unexpected();
}

/** A text that may be absent, null or empty: null for all three. */
function optionalText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const found = text(value);
  return found === '' ? null : found;
}

/** An RFC 3339 time. */
function instant(value: unknown): Date {
  const sent = text(value);
  const time = new Date(sent);
  if (!RFC_3339.test(sent) || Number.isNaN(time.getTime())) unexpected();
  return time;
}

function whole(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : unexpected();
}

function flag(value: unknown): boolean {
  return typeof value === 'boolean' ? value : unexpected();
}

function texts(value: unknown): string[] {
  return Array.isArray(value) ? value.map(text) : unexpected();
}

function unexpected(): never {
  throw new ApiError(502, 'the server sent an answer this page does not understand; reload the page');
}
