// What the page address tells the client.
//
// The proxy serves the app at `/` and at
// /web/cluster/:cluster/linux_desktops/:uuid/:login/:xsession, with the
// session token in the fragment (#token=...), which browsers never send.

export interface Route {
  /** The desktop session token, or null when the address has none. */
  token: string | null;
  /** The last path segment, URL-decoded: the xsession to start if the desktop offers one by that name. */
  xsession: string | null;
}

export function readRoute(location: Location): Route {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  const last = location.pathname.split('/').filter((segment) => segment !== '').pop();
  return { token: token || null, xsession: last === undefined ? null : decodeSegment(last) };
}

/** Removes the fragment from the address bar, so the token stays out of history and screenshots. */
export function forgetToken(): void {
  history.replaceState(history.state, '', location.pathname + location.search);
}

export function socketUrl(location: Location, token: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/desktop/ws?token=${encodeURIComponent(token)}`;
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
