//! Why an RDP connection could not be made or ended.

/// An RDP connection's failure, worded for the user and the log.
#[derive(Debug, thiserror::Error)]
pub enum RdpError {
    /// The host could not be reached.
    #[error("cannot reach the RDP host {addr}: {source}")]
    Unreachable {
        /// Where.
        addr: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The host did not complete the RDP connection sequence (not an RDP
    /// server, wrong credentials, a security mode it does not offer).
    #[error("the RDP host refused or broke the connection: {0}")]
    Connection(String),
    /// The host refused the sign-in (NLA): a wrong password, or an account
    /// that may not sign in there. Hosts mostly just close the connection,
    /// so the detail says what was seen.
    #[error("the RDP host did not accept the sign-in as {username:?} (a wrong password for this desktop, or an account that may not sign in there): {detail}")]
    SignIn {
        /// The account.
        username: String,
        /// What the host did.
        detail: String,
    },
    /// TLS to the host failed: most often a certificate that is not the
    /// one configured for it.
    #[error("TLS to the RDP host failed: {0}")]
    Tls(#[source] std::io::Error),
    /// The host sent what the session cannot process.
    #[error("the RDP session failed: {0}")]
    Session(String),
    /// The connection to the host dropped.
    #[error("the connection to the RDP host dropped: {0}")]
    Transport(#[source] std::io::Error),
    /// The host ended the session.
    #[error("the RDP host ended the session: {0}")]
    Ended(String),
}
