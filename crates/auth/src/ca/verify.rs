//! Checking a presented certificate: signed by this cluster's CA of the
//! right kind, of that kind itself, for the right use, and valid now. Each
//! refusal says which check failed, in words a person can act on.

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::authority::Authority;
use super::extension::{self, Claims};
use super::identity::{HostIdentity, SessionMfaScope, UserIdentity, VerifiedUser};
use super::{CaKind, CertAuthority, rfc3339};

/// Why a presented certificate is refused. `Display` is shown to the person
/// whose session it ends, and recorded with the denied decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not a certificate, or not one Oriel issues.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// Signed by its own key.
    #[error("the certificate is self-signed, not signed by this cluster's {expected} CA")]
    SelfSigned {
        /// The CA that should have signed it.
        expected: CaKind,
    },
    /// Signed by some other CA (another cluster's, or a forged one).
    #[error("the certificate was signed by another authority ({issuer}), not by this cluster's {expected} CA")]
    OtherAuthority {
        /// The issuer the certificate names (unverified, shortened).
        issuer: String,
        /// The CA that should have signed it.
        expected: CaKind,
    },
    /// A certificate of the other kind (a host's presented as a user's,
    /// or a CA's own certificate).
    #[error("a {found} certificate is not a {expected} certificate")]
    WrongKind {
        /// What was asked for.
        expected: CaKind,
        /// What it is.
        found: &'static str,
    },
    /// Not issued for this use.
    #[error("the certificate is not for {0}")]
    Usage(&'static str),
    /// Past its validity.
    #[error("the certificate expired at {}", rfc3339(*.at))]
    Expired {
        /// Its end of validity.
        at: SystemTime,
    },
    /// Revoked by an administrator (`orielctl auth revoke`).
    #[error("the certificate was revoked: {0}")]
    Revoked(String),
    /// Before its validity (or the clocks disagree).
    #[error("the certificate is not valid before {} (check the clocks)", rfc3339(*.from))]
    NotYetValid {
        /// Its start of validity.
        from: SystemTime,
    },
}

impl CertAuthority {
    /// The user a certificate speaks for, if this cluster's user CA signed
    /// it, it is a user certificate for client authentication, and it is
    /// valid at `now`.
    pub fn verify_user(&self, cert_der: &[u8], now: SystemTime) -> Result<VerifiedUser, CertError> {
        let (cert, claims) = verify(|cert| check_signer(self, CaKind::User, cert), CaKind::User, cert_der, now)?;
        verified_user(&cert, claims, cert_der)
    }

    /// The host a certificate speaks for, if this cluster's host CA signed
    /// it, it is a host certificate for TLS servers and clients, and it is
    /// valid at `now`.
    pub fn verify_host(&self, cert_der: &[u8], now: SystemTime) -> Result<HostIdentity, CertError> {
        let (cert, claims) = verify(|cert| check_signer(self, CaKind::Host, cert), CaKind::Host, cert_der, now)?;
        host_identity(&cert, claims)
    }
}

/// When a certificate stops being valid, read without verifying it: call
/// only on a certificate that passed [`CertAuthority::verify_user`] or
/// [`CertAuthority::verify_host`].
pub fn not_after(cert_der: &[u8]) -> Option<SystemTime> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    let seconds = u64::try_from(cert.validity().not_after.timestamp()).ok()?;
    Some(UNIX_EPOCH + std::time::Duration::from_secs(seconds))
}

/// The host a certificate speaks for, checked against the host CA's
/// certificate alone (a trust root, without the CA's key): how a tool that
/// holds only an identity file checks it before using it. The same checks
/// as [`CertAuthority::verify_host`].
pub fn verify_host_with_root(host_ca_der: &[u8], cert_der: &[u8], now: SystemTime) -> Result<HostIdentity, CertError> {
    let (cert, claims) = verify_with_root(CaKind::Host, host_ca_der, cert_der, now)?;
    host_identity(&cert, claims)
}

/// The user a certificate speaks for, checked against the user CA's
/// certificate alone: how a desktop service on its own host checks the
/// certificate it is shown. The same checks as [`CertAuthority::verify_user`].
pub fn verify_user_with_root(user_ca_der: &[u8], cert_der: &[u8], now: SystemTime) -> Result<VerifiedUser, CertError> {
    let (cert, claims) = verify_with_root(CaKind::User, user_ca_der, cert_der, now)?;
    verified_user(&cert, claims, cert_der)
}

/// The proof for a certificate `verify` accepted as a user's.
fn verified_user(cert: &X509Certificate<'_>, claims: Claims, der: &[u8]) -> Result<VerifiedUser, CertError> {
    let Claims::User { roles, traits, user_id, web_session, session_mfa } = claims else { unreachable!("verify checks the kind") };
    if !client_auth(cert)? {
        return Err(CertError::Usage("client authentication"));
    }
    let session_mfa = match session_mfa {
        None => None,
        Some(claim) => Some(SessionMfaScope {
            kind: oriel_rbac::DesktopKind::ALL
                .into_iter()
                .find(|kind| kind.as_str() == claim.kind)
                .ok_or_else(|| CertError::Malformed(format!("session_mfa names the desktop kind {:?}", claim.kind)))?,
            desktop: claim.desktop,
            login: claim.login,
            start_by: UNIX_EPOCH + Duration::from_secs(claim.start_by),
        }),
    };
    let expires = from_timestamp(cert.validity().not_after.timestamp());
    Ok(VerifiedUser::new(UserIdentity { user: common_name(cert)?, roles, traits, user_id, web_session, session_mfa }, expires, der))
}

fn verify_with_root<'c>(kind: CaKind, ca_der: &[u8], cert_der: &'c [u8], now: SystemTime) -> Result<(X509Certificate<'c>, Claims), CertError> {
    let (_, root) = X509Certificate::from_der(ca_der).map_err(|e| CertError::Malformed(format!("the {kind} CA certificate: {e}")))?;
    let signer = |cert: &X509Certificate<'_>| {
        if cert.verify_signature(Some(root.public_key())).is_ok() {
            Ok(())
        } else if cert.verify_signature(None).is_ok() {
            Err(CertError::SelfSigned { expected: kind })
        } else {
            Err(CertError::OtherAuthority { issuer: printable(&cert.issuer().to_string()), expected: kind })
        }
    };
    verify(signer, kind, cert_der, now)
}

fn host_identity(cert: &X509Certificate<'_>, claims: Claims) -> Result<HostIdentity, CertError> {
    let Claims::Host { role } = claims else { unreachable!("verify checks the kind") };
    let eku = cert.extended_key_usage().map_err(|e| CertError::Malformed(e.to_string()))?;
    if !eku.is_some_and(|eku| eku.value.server_auth) {
        return Err(CertError::Usage("TLS servers"));
    }
    if !client_auth(cert)? {
        return Err(CertError::Usage("client authentication"));
    }
    let (mut dns_names, mut ips) = (Vec::new(), Vec::new());
    if let Some(san) = cert.subject_alternative_name().map_err(|e| CertError::Malformed(e.to_string()))? {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => dns_names.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => ips.extend(ip(bytes)),
                _ => {}
            }
        }
    }
    Ok(HostIdentity { host_id: common_name(cert)?, role, dns_names, ips })
}

/// The common name a certificate claims, without checking anything: for
/// recording who a refused certificate pretended to be. Never use it to
/// decide anything.
pub fn unverified_name(cert_der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    let name = cert.subject().iter_common_name().next()?.as_str().ok()?.to_owned();
    Some(printable(&name))
}

/// The checks common to both kinds, in the order that gives the most
/// useful message: who signed it, what it is, then when it is valid.
fn verify<'a>(
    signer: impl FnOnce(&X509Certificate<'_>) -> Result<(), CertError>,
    expected: CaKind,
    der: &'a [u8],
    now: SystemTime,
) -> Result<(X509Certificate<'a>, Claims), CertError> {
    if der.is_empty() {
        return Err(CertError::Malformed("no certificate was presented".into()));
    }
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| CertError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertError::Malformed("trailing bytes after the certificate".into()));
    }
    signer(&cert)?;
    for ext in cert.extensions() {
        if ext.critical && matches!(ext.parsed_extension(), ParsedExtension::UnsupportedExtension { .. }) {
            return Err(CertError::Malformed(format!("unknown critical extension {}", ext.oid)));
        }
    }
    if cert.is_ca() {
        return Err(CertError::WrongKind { expected, found: "certificate authority" });
    }
    let claims = extension::decode(&cert).map_err(CertError::Malformed)?.ok_or_else(|| CertError::Malformed("it carries no Oriel identity".into()))?;
    if claims.kind() != expected.as_str() {
        return Err(CertError::WrongKind { expected, found: claims.kind() });
    }
    let validity = cert.validity();
    let now_s = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    if now_s < validity.not_before.timestamp() {
        return Err(CertError::NotYetValid { from: from_timestamp(validity.not_before.timestamp()) });
    }
    if now_s > validity.not_after.timestamp() {
        return Err(CertError::Expired { at: from_timestamp(validity.not_after.timestamp()) });
    }
    Ok((cert, claims))
}

/// Signed by the expected CA; otherwise, say who did sign it if we can tell.
fn check_signer(ca: &CertAuthority, expected: CaKind, cert: &X509Certificate<'_>) -> Result<(), CertError> {
    if signed_by(cert, ca.authority(expected)) {
        return Ok(());
    }
    let other = match expected {
        CaKind::User => CaKind::Host,
        CaKind::Host => CaKind::User,
    };
    if signed_by(cert, ca.authority(other)) {
        // The other CA only signs certificates of its own kind.
        return Err(CertError::WrongKind { expected, found: other.as_str() });
    }
    if cert.verify_signature(None).is_ok() {
        return Err(CertError::SelfSigned { expected });
    }
    Err(CertError::OtherAuthority { issuer: printable(&cert.issuer().to_string()), expected })
}

fn signed_by(cert: &X509Certificate<'_>, authority: &Authority) -> bool {
    let ca = authority.certificate();
    cert.verify_signature(Some(ca.public_key())).is_ok()
}

fn client_auth(cert: &X509Certificate<'_>) -> Result<bool, CertError> {
    let eku = cert.extended_key_usage().map_err(|e| CertError::Malformed(e.to_string()))?;
    Ok(eku.is_some_and(|eku| eku.value.client_auth))
}

fn common_name(cert: &X509Certificate<'_>) -> Result<String, CertError> {
    let mut names = cert.subject().iter_common_name();
    let name = names.next().ok_or_else(|| CertError::Malformed("no common name".into()))?;
    if names.next().is_some() {
        return Err(CertError::Malformed("more than one common name".into()));
    }
    let name = name.as_str().map_err(|e| CertError::Malformed(format!("common name: {e}")))?;
    if name.is_empty() {
        return Err(CertError::Malformed("empty common name".into()));
    }
    Ok(name.to_owned())
}

fn ip(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?)),
        _ => None,
    }
}

fn from_timestamp(seconds: i64) -> SystemTime {
    if seconds >= 0 { UNIX_EPOCH + Duration::from_secs(seconds as u64) } else { UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs()) }
}

/// An unverified name from a certificate, safe for a message and a log
/// line: no control characters, at most 200 characters.
fn printable(text: &str) -> String {
    let mut clean: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    if text.chars().count() > 200 {
        clean.push('…');
    }
    clean
}
