// What the page address means, and the addresses the client builds.
//
// The server serves this app at `/` and at every /web/* path:
//   /web/login?redirect=PATH         log in, then go to PATH (same-origin app paths only)
//   /web/invite/:secret              first login: set a password, enroll TOTP or a security key
//   /web                             the desktops this user may reach
//   /web/audit                       the audit log, for users whose roles may read it
//   /web/recordings                  session recordings this user may watch
//   /web/recordings/:id              one recording's player (the id is the session's UUID)
//   /web/account                     the user's security keys and passkeys
//   /web/cluster/:cluster/linux_desktops/:name/:login[/:xsession]
//                                    a desktop session (windows_desktops likewise)
//   …same path…?join=:session&mode=observer|peer
//                                    joins another user's session, as invited
//                                    (`:login` is the login the owner's session runs as)
// The session cookie authenticates both the API and the desktop websocket.

export type DesktopKind = 'linux' | 'windows';

/** One desktop as one login: everything the websocket needs. */
export interface DesktopTarget {
  cluster: string;
  kind: DesktopKind;
  name: string;
  login: string;
}

/** How an invited user takes part in another's session: watching, or working in it too. */
export type JoinMode = 'observer' | 'peer';

/** Another user's session to join, as a join link names it. */
export interface Join {
  sessionId: string;
  mode: JoinMode;
}

export type Route =
  /** `/`: the desktops when logged in, else the login page. */
  | { page: 'home' }
  | { page: 'login'; redirect: string }
  | { page: 'invite'; secret: string }
  | { page: 'desktops' }
  | { page: 'audit' }
  | { page: 'recordings' }
  | { page: 'player'; recording: string }
  | { page: 'account' }
  | { page: 'session'; target: DesktopTarget; xsession: string | null; join: Join | null }
  | { page: 'unknown' };

export const DESKTOPS_PATH = '/web';
export const LOGIN_PATH = '/web/login';
export const RECORDINGS_PATH = '/web/recordings';
export const ACCOUNT_PATH = '/web/account';

/** A session id, which names its recording; anything else could only be a 404. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const KIND_SEGMENTS: Record<string, DesktopKind> = {
  linux_desktops: 'linux',
  windows_desktops: 'windows',
};

type Address = Pick<Location, 'pathname' | 'search' | 'origin'>;

export function readRoute(address: Address): Route {
  const segments = address.pathname.split('/').filter((segment) => segment !== '').map(decodeSegment);
  if (segments.length === 0) return { page: 'home' };
  if (segments[0] !== 'web' || segments.includes(null)) return { page: 'unknown' };
  const rest = segments.slice(1) as string[];
  const [first, second, third, name, login, xsession] = rest;

  if (first === undefined) return { page: 'desktops' };
  if (first === 'login' && rest.length === 1) {
    const wanted = new URLSearchParams(address.search).get('redirect');
    return { page: 'login', redirect: safeRedirect(wanted, address.origin) ?? DESKTOPS_PATH };
  }
  if (first === 'audit' && rest.length === 1) return { page: 'audit' };
  if (first === 'recordings' && rest.length === 1) return { page: 'recordings' };
  if (first === 'account' && rest.length === 1) return { page: 'account' };
  if (first === 'recordings' && second !== undefined && SESSION_ID.test(second) && rest.length === 2) {
    return { page: 'player', recording: second };
  }
  if (first === 'invite' && second !== undefined && rest.length === 2) return { page: 'invite', secret: second };
  const kind = third === undefined ? undefined : KIND_SEGMENTS[third];
  if (
    first === 'cluster' &&
    second !== undefined &&
    kind !== undefined &&
    name !== undefined &&
    login !== undefined &&
    rest.length <= 6
  ) {
    const target = { cluster: second, kind, name, login };
    return { page: 'session', target, xsession: xsession ?? null, join: readJoin(address.search) };
  }
  return { page: 'unknown' };
}

/** A join link's `?join=<session id>&mode=observer|peer`; anything else joins nothing. */
function readJoin(search: string): Join | null {
  const query = new URLSearchParams(search);
  const sessionId = query.get('join');
  const mode = query.get('mode');
  if (sessionId === null || !SESSION_ID.test(sessionId)) return null;
  if (mode !== 'observer' && mode !== 'peer') return null;
  return { sessionId, mode };
}

/** A desktop session's page; with `xsession`, the one it runs, so a bookmark opens it directly. */
export function sessionPath(target: DesktopTarget, xsession: string | null = null): string {
  const segments = ['web', 'cluster', target.cluster, `${target.kind}_desktops`, target.name, target.login];
  if (xsession !== null && xsession !== '') segments.push(xsession);
  return '/' + segments.map(encodeURIComponent).join('/');
}

export function recordingPath(id: string): string {
  return `${RECORDINGS_PATH}/${encodeURIComponent(id)}`;
}

/**
 * The link an invited user opens to join the session `sessionId` as `mode`:
 * the session's own page, with the join in its query. A path: the page
 * makes it absolute with its origin.
 */
export function joinLink(target: DesktopTarget, xsession: string | null, sessionId: string, mode: JoinMode): string {
  return `${sessionPath(target, xsession)}?${new URLSearchParams({ join: sessionId, mode }).toString()}`;
}

/**
 * The desktop websocket; with `resume`, it attaches to that running session
 * of the user's instead of starting one; with `join`, to another user's
 * session, as invited (`target.login` is the login that session runs as).
 * One or the other, never both.
 */
export function socketUrl(
  address: Pick<Location, 'protocol' | 'host'>,
  target: DesktopTarget,
  resume: string | null = null,
  join: Join | null = null,
): string {
  const scheme = address.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams({ kind: target.kind, desktop: target.name, login: target.login });
  if (resume !== null) query.set('resume', resume);
  if (join !== null) {
    query.set('join', join.sessionId);
    query.set('mode', join.mode);
  }
  return `${scheme}//${address.host}/api/desktop/ws?${query.toString()}`;
}

/** The login page, set to come back to this address afterwards. */
export function loginAddress(address: Address): string {
  const here = address.pathname + address.search;
  const back = safeRedirect(here, address.origin);
  if (back === null || back === DESKTOPS_PATH) return LOGIN_PATH;
  return `${LOGIN_PATH}?${new URLSearchParams({ redirect: back }).toString()}`;
}

/**
 * `wanted` as a path of this app on this origin, or null. A redirect that
 * could leave the origin (`//evil`, `/\evil`, `https://…`) would let a crafted
 * login link send a user somewhere that imitates Oriel.
 */
export function safeRedirect(wanted: string | null, origin: string): string | null {
  if (wanted === null || !wanted.startsWith('/')) return null;
  let url: URL;
  try {
    url = new URL(wanted, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin) return null;
  const path = url.pathname;
  const inApp = path === '/' || path === DESKTOPS_PATH || path.startsWith(`${DESKTOPS_PATH}/`);
  if (!inApp || path.startsWith(LOGIN_PATH)) return null;
  return path + url.search + url.hash;
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
