//! Revoking host certificates and admin identities (`orielctl auth
//! revoke`), and the check every mutual-TLS hop makes: the admin API, the
//! cluster API and the proxy's tunnel listener have the control plane
//! verify the peer's certificate (`verify_host_cert`), which refuses a
//! revoked one.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::ca::{CertError, HostIdentity};
use crate::control_plane::{AccessDenied, ControlError, ControlPlane};
use crate::store::{Revocation, RevokedTarget};

/// How long a revocation is kept: longer than any certificate Oriel issues
/// lives (the auth service's own, a year), so it outlasts what it matches.
pub const REVOCATION_TTL: Duration = Duration::from_secs(366 * 24 * 3600);

/// A serial number as revocations store it: lowercase hex without
/// separators or leading zeros. `None` if it is not hex.
pub fn normalize_serial(serial: &str) -> Option<String> {
    let digits: String = serial.chars().filter(|c| *c != ':' && !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let trimmed = digits.trim_start_matches('0');
    Some(if trimmed.is_empty() { "0".into() } else { trimmed.to_owned() })
}

/// The serial number and start of validity of a certificate, unverified.
pub fn serial_and_start(cert_der: &[u8]) -> Option<(String, SystemTime)> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    let serial = normalize_serial(&hex::encode(cert.raw_serial()))?;
    let start = u64::try_from(cert.validity().not_before.timestamp()).ok()?;
    Some((serial, UNIX_EPOCH + Duration::from_secs(start)))
}

impl ControlPlane {
    /// Revokes `target` from now on. Every mutual-TLS hop refuses a
    /// matching certificate from its next call or connection, and closes
    /// the connections it already has. A host revocation matches every
    /// certificate whose validity starts before it: as certificates start
    /// [`crate::ca::CLOCK_SKEW`] before they are issued, the host can join
    /// again only once that much time has passed.
    pub async fn revoke(&self, target: RevokedTarget, reason: Option<String>) -> Result<Revocation, ControlError> {
        let target = match target {
            RevokedTarget::Serial(serial) => {
                RevokedTarget::Serial(normalize_serial(&serial).ok_or_else(|| ControlError::Invalid(format!("{serial:?} is not a serial number in hex")))?)
            }
            RevokedTarget::Host(host) if host.is_empty() => return Err(ControlError::Invalid("name a host id or admin identity to revoke".into())),
            host => host,
        };
        let now = self.clock.now();
        let revocation = Revocation { target, revoked_at: now, expires: now + REVOCATION_TTL, reason };
        self.store.put_revocation(&revocation).await?;
        if let RevokedTarget::Host(host) = &revocation.target {
            // The host's id is free again only through a new join, whose
            // certificate is issued after the revocation.
            match self.store.release_host_id(host).await {
                Ok(()) | Err(crate::store::StoreError::NotFound { .. } | crate::store::StoreError::InvalidName { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(revocation)
    }

    /// `Err(CertError::Revoked)` if `cert_der` (already verified as
    /// `host`'s) was revoked by serial, or by its host's name before it was
    /// issued.
    pub(crate) async fn check_not_revoked(&self, cert_der: &[u8], host: &HostIdentity) -> Result<(), AccessDenied> {
        let Some((serial, issued)) = serial_and_start(cert_der) else {
            return Err(AccessDenied::Certificate(CertError::Malformed("no readable serial number".into())));
        };
        let unavailable = |e: crate::store::StoreError| AccessDenied::Unavailable(e.to_string());
        if let Some(revocation) = self.store.revocation(&RevokedTarget::Serial(serial.clone())).await.map_err(unavailable)? {
            return Err(revoked(&revocation, format!("serial {serial}")));
        }
        if let Some(revocation) = self.store.revocation(&RevokedTarget::Host(host.host_id.clone())).await.map_err(unavailable)?
            && issued <= revocation.revoked_at
        {
            return Err(revoked(&revocation, format!("every certificate of {:?} issued before the revocation", host.host_id)));
        }
        Ok(())
    }
}

fn revoked(revocation: &Revocation, what: String) -> AccessDenied {
    let reason = revocation.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    AccessDenied::Certificate(CertError::Revoked(format!("{what}{reason}")))
}
