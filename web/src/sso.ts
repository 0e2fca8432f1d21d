// Single sign-on on the login page: the identity providers the server
// offers, where a sign-in with one begins, and the error a failed one comes
// back with. The flow itself is the server's: the browser only navigates to
// the login path, and the provider and the server's callback redirect it
// onwards, to `/web` or back to `/web/login?sso_error=…`.

/** A way to sign in through an identity provider (an OIDC connector). */
export interface SsoConnector {
  kind: 'oidc';
  /** The connector's resource name: what the login path names. */
  name: string;
  /** What the button says after "Sign in with". */
  display: string;
}

/** The login page's query parameter with a failed sign-in's reason, set by the server's callback. */
export const SSO_ERROR_PARAM = 'sso_error';

/**
 * The connectors of `GET /api/sso/connectors`'s answer this page can offer,
 * in its order. Entries of an unknown kind or without a name are left out:
 * an offer the page cannot make should not hide the others.
 */
export function ssoConnectors(body: unknown): SsoConnector[] {
  const list = isRecord(body) ? body['connectors'] : undefined;
  if (!Array.isArray(list)) return [];
  const connectors: SsoConnector[] = [];
  for (const entry of list) {
    if (!isRecord(entry)) continue;
    const { kind, name, display } = entry;
    if (kind !== 'oidc' || typeof name !== 'string' || name === '') continue;
    const shown = typeof display === 'string' ? display.trim() : '';
    connectors.push({ kind, name, display: shown === '' ? name : shown });
  }
  return connectors;
}

/**
 * Whether `GET /api/sso/connectors`'s answer leaves password logins open:
 * only an explicit `local: false` (the cluster's `allow_local_auth: false`)
 * closes them, so an older server's answer keeps the form.
 */
export function localLoginsOpen(body: unknown): boolean {
  return !(isRecord(body) && body['local'] === false);
}

/** Where a sign-in with `connector` begins: the server redirects the browser to the provider. */
export function ssoLoginPath(connector: SsoConnector): string {
  return `/api/sso/${connector.kind}/${encodeURIComponent(connector.name)}/login`;
}

/** The login page's address split into a failed sign-in's reason (or null) and the address without it. */
export interface SsoOutcome {
  error: string | null;
  /** The path, query and fragment with `sso_error` removed; for history.replaceState. */
  address: string;
}

/** Reads a failed sign-in's reason off the login page's address, and the address to show instead. */
export function ssoOutcome(address: Pick<Location, 'pathname' | 'search' | 'hash'>): SsoOutcome {
  const query = new URLSearchParams(address.search);
  const raw = query.get(SSO_ERROR_PARAM);
  query.delete(SSO_ERROR_PARAM);
  const rest = query.toString();
  const error = raw === null ? null : raw.trim() === '' ? 'single sign-on failed' : raw.trim();
  return { error, address: address.pathname + (rest === '' ? '' : `?${rest}`) + address.hash };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
