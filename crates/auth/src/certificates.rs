//! The control plane's certificate authority in use: loaded (or created)
//! once per process on first use, issuing user certificates at login, and
//! checking the certificates desktop services are shown.

use std::sync::Arc;

use crate::ca::{CaError, CertAuthority, HostIdentity, VerifiedUser};
use crate::control_plane::{AccessDenied, ControlPlane};

impl ControlPlane {
    /// The cluster's CAs. The first call loads them from the store, or
    /// creates them if this is the cluster's first use; later calls reuse
    /// them (a CA never changes while a process runs: rotation is not built).
    pub async fn cert_authority(&self) -> Result<Arc<CertAuthority>, CaError> {
        self.ca.get_or_try_init(|| async { CertAuthority::load_or_create(&self.store, self.clock.now()).await.map(Arc::new) }).await.cloned()
    }

    /// A user certificate for the stored user `user` (their current roles,
    /// traits and id), valid for `ttl`, not tied to a web session: for
    /// tools and tests that stand in for a login.
    pub async fn issue_user_certificate(&self, user: &str, ttl: std::time::Duration) -> Result<crate::ca::IssuedCert, crate::control_plane::ControlError> {
        let user = self.store.user(user).await?.value;
        let ca = self.cert_authority().await.map_err(|e| crate::control_plane::ControlError::Invalid(e.to_string()))?;
        ca.issue_user(&crate::ca::UserIdentity::from(&user), ttl, self.clock.now()).map_err(|e| crate::control_plane::ControlError::Invalid(e.to_string()))
    }

    /// The user a certificate speaks for, if this cluster's user CA signed
    /// it and it is valid now. This is how a desktop service learns who is
    /// connecting: never from a name it is told.
    pub async fn verify_user_cert(&self, cert_der: &[u8]) -> Result<VerifiedUser, AccessDenied> {
        let ca = self.cert_authority().await.map_err(|e| AccessDenied::Unavailable(e.to_string()))?;
        Ok(ca.verify_user(cert_der, self.clock.now())?)
    }

    /// The host a certificate speaks for, if this cluster's host CA signed
    /// it and it is valid now: how the admin API learns who calls it (the
    /// caller's TLS certificate), before it looks at the host role.
    /// A revoked certificate (`orielctl auth revoke`) is refused here, so
    /// every hop that verifies through this (the admin API, the cluster
    /// API, the proxy's tunnel listener) refuses it.
    pub async fn verify_host_cert(&self, cert_der: &[u8]) -> Result<HostIdentity, AccessDenied> {
        let ca = self.cert_authority().await.map_err(|e| AccessDenied::Unavailable(e.to_string()))?;
        let host = ca.verify_host(cert_der, self.clock.now())?;
        self.check_not_revoked(cert_der, &host).await?;
        Ok(host)
    }
}
