//! The cluster's certificate authorities, as in Teleport: a user CA that
//! signs short-lived certificates for people (issued at login), and a host
//! CA that signs certificates for the cluster's own services (auth, proxy,
//! desktop services). Keeping them apart means a stolen host certificate
//! never passes as a person, and the other way round.
//!
//! Both are ECDSA P-256 keys with self-signed certificates, made on first
//! use and kept in the control plane's store (`/cert_authorities/<kind>`).
//! Certificates are X.509 so that the same ones later serve as mutual TLS
//! identities between services (issue 4). Who a certificate speaks for is
//! in its common name; what it is (user or host) and its roles, traits or
//! host role are in the Oriel identity extension (see `extension`).
//!
//! Pure apart from [`CertAuthority::load_or_create`]: time is a parameter.

mod authority;
mod extension;
mod identity;
mod issue;
mod verify;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};
use authority::Authority;

pub use authority::{CA_VALIDITY, CLOCK_SKEW};

/// The name the auth service's certificate carries and its clients (admin
/// and services) check, whatever address they dial.
pub const AUTH_SERVER_NAME: &str = "auth.oriel.cluster.local";
/// The name a proxy's certificate carries and desktop services check when
/// they dial its reverse tunnel, whatever address they dial.
pub const PROXY_SERVER_NAME: &str = "proxy.oriel.cluster.local";

/// The pin of a host CA certificate (PEM): `sha256:` and the hex SHA-256
/// of its DER. A joining host given the pin (`ca_pin` in oriel.yaml)
/// refuses an auth server whose CA differs, instead of trusting the first
/// one it meets. `None` if the PEM holds no certificate.
pub fn ca_pin(host_ca_pem: &str) -> Option<String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(host_ca_pem.as_bytes()).ok()?;
    Some(ca_pin_of_der(&pem.contents))
}

/// [`ca_pin`] of a CA certificate's DER.
pub fn ca_pin_of_der(host_ca_der: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(host_ca_der)))
}

/// The name a desktop service's certificate carries, which a proxy checks
/// when it dials the service directly.
pub fn desktop_server_name(host_id: &str) -> String {
    format!("{host_id}.desktop.oriel.cluster.local")
}
pub use extension::IDENTITY_OID;
pub use identity::{HostIdentity, HostRole, SessionMfaScope, UserIdentity, VerifiedUser};
pub use verify::{CertError, not_after, unverified_name, verify_host_with_root, verify_user_with_root};

/// Which of the cluster's two CAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaKind {
    /// Signs certificates of people.
    User,
    /// Signs certificates of the cluster's services.
    Host,
}

impl CaKind {
    /// `user` or `host`: the storage key and the word in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Host => "host",
        }
    }
}

impl std::fmt::Display for CaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a CA could not be loaded or a certificate not issued.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored CA cannot be used: never expected, reported loudly.
    #[error("the stored {kind} certificate authority is unusable: {detail}")]
    Corrupt {
        /// Which CA.
        kind: CaKind,
        /// What is wrong.
        detail: String,
    },
    /// Making a key or a certificate failed.
    #[error("cannot make a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// The operating system's random source failed.
    #[error("cannot make a serial number: {0}")]
    Random(#[source] std::io::Error),
    /// The identity cannot go into a certificate (e.g. an empty name).
    #[error("cannot issue a certificate: {0}")]
    InvalidIdentity(String),
}

/// A freshly issued certificate and its private key. The key is a secret
/// like a session cookie: it stays with the web session in the store and
/// with the proxy, is never logged, and `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// Its PKCS#8 private key, PEM.
    pub key_pem: String,
    /// The certificate, DER: what a service is shown.
    pub cert_der: Vec<u8>,
    /// When it stops being valid (whole seconds, as X.509 keeps time).
    pub expires: SystemTime,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert").field("expires", &self.expires).field("cert_pem", &self.cert_pem).finish_non_exhaustive()
    }
}

/// The cluster's user and host CAs, loaded.
#[derive(Debug)]
pub struct CertAuthority {
    user: Authority,
    host: Authority,
}

impl CertAuthority {
    /// Loads both CAs from `store`, creating either on first use (valid from
    /// `now`). Race-safe: a new CA is written with create, and when another
    /// process created one first, that one is read and used instead, so every
    /// process signs with the same key.
    pub async fn load_or_create(store: &Store, now: SystemTime) -> Result<Self, CaError> {
        Ok(Self { user: load_or_create_one(store, CaKind::User, now).await?, host: load_or_create_one(store, CaKind::Host, now).await? })
    }

    /// The user CA's certificate, PEM: the trust root for user certificates.
    pub fn user_ca_pem(&self) -> &str {
        &self.user.cert_pem
    }

    /// The host CA's certificate, PEM: the trust root for host certificates.
    pub fn host_ca_pem(&self) -> &str {
        &self.host.cert_pem
    }

    fn authority(&self, kind: CaKind) -> &Authority {
        match kind {
            CaKind::User => &self.user,
            CaKind::Host => &self.host,
        }
    }
}

async fn load_or_create_one(store: &Store, kind: CaKind, now: SystemTime) -> Result<Authority, CaError> {
    match store.cert_authority(kind).await {
        Ok(record) => return Authority::from_record(&record),
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let (authority, record) = Authority::generate(kind, now)?;
    match store.create_cert_authority(&record).await {
        Ok(()) => {
            tracing::info!(ca = %kind, "created the cluster's certificate authority");
            Ok(authority)
        }
        // Another process made it meanwhile: theirs is the cluster's CA.
        Err(StoreError::AlreadyExists { .. }) => Authority::from_record(&store.cert_authority(kind).await?),
        Err(e) => Err(e.into()),
    }
}

/// A random positive 128-bit serial number (RFC 5280 allows up to 20 bytes).
fn random_serial() -> Result<rcgen::SerialNumber, CaError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| CaError::Random(std::io::Error::other(e)))?;
    bytes[0] &= 0x7f;
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

/// `at` to the whole second, as X.509 keeps time.
fn whole_seconds(at: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

fn x509_time(at: SystemTime) -> time::OffsetDateTime {
    time::OffsetDateTime::from(whole_seconds(at))
}

/// `at` as RFC 3339 UTC, for messages.
pub(crate) fn rfc3339(at: SystemTime) -> String {
    time::OffsetDateTime::from(whole_seconds(at)).format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| format!("{at:?}"))
}
