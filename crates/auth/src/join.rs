//! Joining: a new proxy or desktop service shows a join token (from
//! `orielctl tokens add`) and gets a host certificate from the host CA,
//! which is its identity from then on. It renews that certificate with the
//! certificate itself before it expires; the token is not needed again.

use std::net::IpAddr;
use std::time::Duration;

use crate::ca::{CaError, CertError, HostIdentity, HostRole, IssuedCert};
use crate::control_plane::ControlPlane;
use crate::resources::join_token::{JoinRole, TokenError};
use crate::store::StoreError;

/// How long a host certificate lasts. Hosts renew at two thirds of it, so
/// an auth service down for most of a day strands nobody.
pub const HOST_CERT_TTL: Duration = Duration::from_secs(24 * 3600);

/// A host asking to join.
#[derive(Clone)]
pub struct JoinRequest {
    /// The token's secret, as `orielctl tokens add` printed it.
    pub token: String,
    /// What the host runs.
    pub role: JoinRole,
    /// Its persistent id (the desktop service's UUID).
    pub host_id: String,
    /// Names and addresses its certificate should carry.
    pub dns_names: Vec<String>,
    /// Addresses its certificate should carry.
    pub ips: Vec<IpAddr>,
}

impl std::fmt::Debug for JoinRequest {
    // The token is a secret: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinRequest").field("role", &self.role).field("host_id", &self.host_id).finish_non_exhaustive()
    }
}

/// Why a join or a renewal was refused. Messages are safe to send to the
/// joining host: they never repeat the token.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The token does not allow this join.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The host id cannot name a host.
    #[error("invalid host id {0:?}: use letters, digits, '-', '_' and '.'")]
    HostId(String),
    /// A role Oriel has no service for.
    #[error("Oriel has no {0} service to join as")]
    NoSuchService(&'static str),
    /// A renewal with a certificate that is not a valid host certificate.
    #[error("cannot renew: {0}")]
    Certificate(#[from] CertError),
    /// Admin identities are not renewed: each is signed on purpose, from
    /// the auth host's data dir, and ends when it expires.
    #[error("cannot renew an admin identity: sign a new one on the auth host with `orielctl auth sign`")]
    AdminIdentity,
    /// The CA or the store failed: try again later.
    #[error("the auth service cannot issue certificates now: {0}")]
    Unavailable(String),
}

impl From<CaError> for JoinError {
    fn from(error: CaError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl From<StoreError> for JoinError {
    fn from(error: StoreError) -> Self {
        Self::Unavailable(error.to_string())
    }
}

impl ControlPlane {
    /// Checks the token (known, not expired, of this type, a one-time token
    /// not used yet, which it then uses up) and issues a host certificate.
    pub async fn join(&self, request: &JoinRequest) -> Result<IssuedCert, JoinError> {
        let role = match request.role {
            JoinRole::LinuxDesktop => HostRole::LinuxDesktop,
            JoinRole::Proxy => HostRole::Proxy,
            JoinRole::WindowsDesktop => return Err(JoinError::NoSuchService("windows_desktop")),
        };
        if !valid_host_id(&request.host_id) {
            return Err(JoinError::HostId(request.host_id.clone()));
        }
        let now = self.clock.now();
        let hash = crate::bearer::hash(&request.token);
        let token = match self.store.token(&hash).await {
            Ok(token) => token,
            Err(StoreError::NotFound { .. }) => return Err(TokenError::Unknown.into()),
            Err(e) => return Err(e.into()),
        };
        token.value.check(request.role, now)?;
        if token.value.one_time {
            // Compare-and-swap: of two hosts racing with one token, one wins.
            match self.store.use_token(&token.value, token.revision).await {
                Ok(()) => {}
                Err(StoreError::Conflict { .. } | StoreError::NotFound { .. }) => return Err(TokenError::Used.into()),
                Err(e) => return Err(e.into()),
            }
        }
        let identity = HostIdentity { host_id: request.host_id.clone(), role, dns_names: request.dns_names.clone(), ips: request.ips.clone() };
        let issued = self.cert_authority().await?.issue_host(&identity, HOST_CERT_TTL, now)?;
        tracing::info!(host_id = %identity.host_id, role = %role, "host joined");
        Ok(issued)
    }

    /// A fresh certificate for the host that `current` (its valid host
    /// certificate) names, with the same identity.
    pub async fn renew_host(&self, current: &[u8]) -> Result<IssuedCert, JoinError> {
        let now = self.clock.now();
        let ca = self.cert_authority().await?;
        let identity = ca.verify_host(current, now)?;
        if identity.role == HostRole::Admin {
            return Err(JoinError::AdminIdentity);
        }
        Ok(ca.issue_host(&identity, HOST_CERT_TTL, now)?)
    }
}

fn valid_host_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}
