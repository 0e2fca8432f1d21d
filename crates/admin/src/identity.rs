//! Admin identity files, as `orielctl auth sign` writes them and
//! `orielctl --identity FILE` reads them: three PEM blocks, in order, the
//! admin certificate (a host certificate with the `admin` host role), its
//! private key, and the host CA's certificate, the only root the client
//! trusts for the auth service. The file is a secret (0600).
//!
//! Only someone who can open the auth host's data dir can sign one: the
//! host CA's key lives in the store there.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use oriel_auth::ca::{CertError, HostIdentity, HostRole, IssuedCert};
use oriel_auth::control_plane::ControlPlane;
use rustls_pki_types::pem::{PemObject as _, SectionKind};

use crate::Failure;

/// How long an identity lasts unless `--ttl` says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(12 * 3600);

/// The longest identity `auth sign` makes: it cannot be revoked.
pub const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// An admin identity read from its file and checked against the CA it
/// carries. The key is a secret: `Debug` leaves it out.
#[derive(Clone)]
pub struct AdminIdentity {
    /// The admin certificate, PEM.
    pub cert_pem: String,
    /// Its private key, PEM.
    pub key_pem: String,
    /// The host CA's certificate, PEM: the trust root for the auth service.
    pub host_ca_pem: String,
    /// Who the certificate speaks for.
    pub host: HostIdentity,
}

impl std::fmt::Debug for AdminIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminIdentity").field("host", &self.host).finish_non_exhaustive()
    }
}

/// Why an identity file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Reading it failed.
    #[error("cannot read the identity file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// Not three PEM blocks in order.
    #[error(
        "{path} is not an Oriel identity file: {detail} (expected the admin certificate, its private key and the host CA certificate, as `orielctl auth sign` writes them)"
    )]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// Past its validity.
    #[error("the identity in {path} expired at {at}; sign a new one on the auth host with `orielctl auth sign --out FILE`")]
    Expired {
        /// The file.
        path: String,
        /// When it expired, RFC 3339.
        at: String,
    },
    /// A certificate, but not an administrator's.
    #[error("{path} is not an admin identity: {detail}")]
    NotAdmin {
        /// The file.
        path: String,
        /// What it is instead.
        detail: String,
    },
}

/// Signs an admin identity for `ttl` with the cluster's host CA and
/// returns the identity file's text.
pub async fn sign(plane: &ControlPlane, ttl: Duration, now: SystemTime) -> Result<(String, IssuedCert), Failure> {
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(Failure::invalid(format!("an identity lasts between 1m and {}h", MAX_TTL.as_secs() / 3600)));
    }
    let ca = plane.cert_authority().await?;
    let host_id = format!("admin@{}", hostname());
    let identity = HostIdentity { host_id, role: HostRole::Admin, dns_names: vec![], ips: vec![] };
    let issued = ca.issue_host(&identity, ttl, now)?;
    Ok((file_text(&issued.cert_pem, &issued.key_pem, ca.host_ca_pem()), issued))
}

/// The identity file's text: certificate, key, host CA.
pub fn file_text(cert_pem: &str, key_pem: &str, host_ca_pem: &str) -> String {
    [cert_pem, key_pem, host_ca_pem].iter().map(|pem| format!("{}\n", pem.trim_end())).collect()
}

/// Writes `text` to `path`, readable by its owner only, replacing any
/// file there.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    // A file that existed keeps its mode through open: tighten it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Reads and checks the identity file at `path`.
pub fn read(path: &Path, now: SystemTime) -> Result<AdminIdentity, IdentityError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| IdentityError::Read { path: name.clone(), error })?;
    parse(&name, &text, now)
}

/// Checks an identity file's text: three blocks in order, a certificate
/// the enclosed host CA signed, with the admin role, valid at `now`.
pub fn parse(path: &str, text: &str, now: SystemTime) -> Result<AdminIdentity, IdentityError> {
    let malformed = |detail: &str| IdentityError::Malformed { path: path.to_owned(), detail: detail.to_owned() };
    let blocks = pem_blocks(text).map_err(|detail| malformed(&detail))?;
    let mut blocks = blocks.into_iter();
    let (cert_pem, cert_der) = match blocks.next() {
        Some((SectionKind::Certificate, pem, der)) => (pem, der),
        _ => return Err(malformed("the admin certificate (the first CERTIFICATE block) is missing")),
    };
    let key_pem = match blocks.next() {
        Some((SectionKind::PrivateKey | SectionKind::EcPrivateKey, pem, _)) => pem,
        _ => return Err(malformed("the private key (the PRIVATE KEY block after the certificate) is missing")),
    };
    let (host_ca_pem, ca_der) = match blocks.next() {
        Some((SectionKind::Certificate, pem, der)) => (pem, der),
        _ => return Err(malformed("the host CA certificate (the last CERTIFICATE block) is missing")),
    };
    if blocks.next().is_some() {
        return Err(malformed("it has more than three PEM blocks"));
    }
    let host = match oriel_auth::ca::verify_host_with_root(&ca_der, &cert_der, now) {
        Ok(host) => host,
        Err(CertError::Expired { at }) => return Err(IdentityError::Expired { path: path.to_owned(), at: rfc3339(at) }),
        Err(error) => return Err(IdentityError::NotAdmin { path: path.to_owned(), detail: error.to_string() }),
    };
    if host.role != HostRole::Admin {
        let detail = format!("it holds the certificate of {} host {:?}", host.role, host.host_id);
        return Err(IdentityError::NotAdmin { path: path.to_owned(), detail });
    }
    Ok(AdminIdentity { cert_pem, key_pem, host_ca_pem, host })
}

/// Each PEM block of `text`: its kind, its own text, and its DER.
fn pem_blocks(text: &str) -> Result<Vec<(SectionKind, String, Vec<u8>)>, String> {
    const END: &str = "-----END ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let end = rest[start..].find(END).ok_or("a PEM block has no END line")? + start;
        let close = rest[end + END.len()..].find("-----").ok_or("a PEM END line is cut short")? + end + END.len() + 5;
        let pem = &rest[start..close];
        let (kind, der) = <(SectionKind, Vec<u8>)>::from_pem_slice(pem.as_bytes()).map_err(|e| format!("a PEM block does not decode: {e}"))?;
        blocks.push((kind, format!("{pem}\n"), der));
        rest = &rest[close..];
    }
    Ok(blocks)
}

fn rfc3339(at: SystemTime) -> String {
    let ms = at.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    crate::operations::utc(ms)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_owned()).ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into())
}
