// The login page's single sign-on offers: one link per identity provider,
// "Sign in with <display>". A link, not a button with a fetch: the sign-in
// is a navigation through the provider and back.
// Test hooks: a.sso-login[data-connector].
import { ssoLoginPath, type SsoConnector } from '../sso';

/** Fills `list` with one link per connector, replacing what it held. */
export function showSsoLinks(list: HTMLElement, connectors: readonly SsoConnector[]): void {
  list.replaceChildren(...connectors.map(ssoLink));
}

function ssoLink(connector: SsoConnector): HTMLAnchorElement {
  const link = document.createElement('a');
  link.className = 'sso-login';
  link.dataset['connector'] = connector.name;
  link.href = ssoLoginPath(connector);
  link.textContent = `Sign in with ${connector.display}`;
  return link;
}
