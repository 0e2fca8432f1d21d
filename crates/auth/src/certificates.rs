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
    pub async fn verify_host_cert(&self, cert_der: &[u8]) -> Result<HostIdentity, AccessDenied> {
        let ca = self.cert_authority().await.map_err(|e| AccessDenied::Unavailable(e.to_string()))?;
        Ok(ca.verify_host(cert_der, self.clock.now())?)
    }
}
