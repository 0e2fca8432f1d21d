//! CredSSP's network client: NLA here is NTLM, which needs no network of
//! its own; only Kerberos (Active Directory with a KDC) would.

use ironrdp_connector::sspi::generator::NetworkRequest;

/// Refuses every request: Kerberos is not configured for `ad: false` hosts.
pub(crate) struct NoKerberos;

impl ironrdp_tokio::NetworkClient for NoKerberos {
    async fn send(&mut self, _request: &NetworkRequest) -> ironrdp_connector::ConnectorResult<Vec<u8>> {
        Err(ironrdp_connector::reason_err!("CredSSP", "Kerberos is not used for ad: false hosts"))
    }
}
