// Security keys in Chromium for the e2e tests: the CDP WebAuthn domain's
// virtual authenticators, and the host name a relying party needs (browsers
// refuse an IP address as one, so pages open at https://localhost:PORT, not
// at the 127.0.0.1 address oriel prints; the proxy takes its own Host as
// its origin).

/** `url` with its host replaced by localhost, without a trailing slash. */
export function atLocalhost(url) {
  const address = new URL(url);
  address.hostname = 'localhost';
  return address.href.replace(/\/$/, '');
}

/** The virtual authenticators of one page's CDP session (WebAuthn enabled on it). */
export class VirtualKeys {
  #cdp;

  constructor(cdp) {
    this.#cdp = cdp;
  }

  /** A virtual authenticator that answers at once, verifying its user; its id. */
  async add(transport) {
    const { authenticatorId } = await this.#cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport, hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return authenticatorId;
  }

  /** The credentials `authenticatorId` holds. */
  async credentials(authenticatorId) {
    return (await this.#cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  }

  /** Takes `authenticatorId` away, as if the key were unplugged. */
  async remove(authenticatorId) {
    await this.#cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  }
}
