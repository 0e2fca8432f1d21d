//! A joined host's credentials, kept in its data dir so a restart needs no
//! token: one owner-only file, `host_credentials.pem`, holding the host
//! certificate, its key, the host CA and the user CA, in that order. One file replaced
//! whole means a crash during a renewal leaves the old or the new pair,
//! never a certificate with another's key.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
#[cfg(test)]
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A host certificate, its key, the host CA it trusts, and the user CA
/// whose certificates it accepts from people (PEM).
#[derive(Clone, PartialEq, Eq)]
pub struct HostCredentials {
    /// The host certificate.
    pub cert_pem: String,
    /// Its private key: a secret.
    pub key_pem: String,
    /// The cluster's host CA certificate.
    pub host_ca_pem: String,
    /// The cluster's user CA certificate.
    pub user_ca_pem: String,
}

impl std::fmt::Debug for HostCredentials {
    // The key never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCredentials").field("expires", &self.expires()).finish_non_exhaustive()
    }
}

impl From<crate::proto::HostCredentials> for HostCredentials {
    fn from(c: crate::proto::HostCredentials) -> Self {
        Self { cert_pem: c.cert_pem, key_pem: c.key_pem, host_ca_pem: c.host_ca_pem, user_ca_pem: c.user_ca_pem }
    }
}

impl From<HostCredentials> for crate::proto::HostCredentials {
    fn from(c: HostCredentials) -> Self {
        Self { cert_pem: c.cert_pem, key_pem: c.key_pem, host_ca_pem: c.host_ca_pem, user_ca_pem: c.user_ca_pem }
    }
}

impl HostCredentials {
    /// The certificate's DER.
    pub fn cert_der(&self) -> Option<Vec<u8>> {
        crate::tls::cert_der(&self.cert_pem, "host certificate").ok().map(|c| c.to_vec())
    }

    /// When the certificate expires.
    pub fn expires(&self) -> Option<SystemTime> {
        oriel_auth::ca::not_after(&self.cert_der()?)
    }

    /// The credentials kept in `data_dir`, if the host has joined.
    pub fn load(data_dir: &Path) -> std::io::Result<Option<Self>> {
        let path = path(data_dir);
        let text = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        let blocks = pem_blocks(&text);
        match blocks.as_slice() {
            [cert, key, host_ca, user_ca]
                if cert.contains("CERTIFICATE") && key.contains("PRIVATE KEY") && host_ca.contains("CERTIFICATE") && user_ca.contains("CERTIFICATE") =>
            {
                Ok(Some(Self { cert_pem: cert.clone(), key_pem: key.clone(), host_ca_pem: host_ca.clone(), user_ca_pem: user_ca.clone() }))
            }
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} does not hold a certificate, a key and two CA certificates; remove it and join again", path.display()),
            )),
        }
    }

    /// Keeps the credentials in `data_dir`, replacing the file whole.
    pub fn save(&self, data_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let path = path(data_dir);
        let temporary = path.with_extension("pem.new");
        let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
        for block in [&self.cert_pem, &self.key_pem, &self.host_ca_pem, &self.user_ca_pem] {
            file.write_all(block.trim_end().as_bytes())?;
            file.write_all(b"\n")?;
        }
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    }
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("host_credentials.pem")
}

/// The PEM blocks of `text`, each from its BEGIN line to its END line.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("-----BEGIN ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
        if line.starts_with("-----END ") {
            blocks.extend(current.take());
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_credentials_load_back_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(HostCredentials::load(dir.path()).unwrap(), None);
        let credentials = HostCredentials {
            cert_pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            key_pem: "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n".into(),
            host_ca_pem: "-----BEGIN CERTIFICATE-----\nCCCC\n-----END CERTIFICATE-----\n".into(),
            user_ca_pem: "-----BEGIN CERTIFICATE-----\nDDDD\n-----END CERTIFICATE-----\n".into(),
        };
        credentials.save(dir.path()).unwrap();
        assert_eq!(HostCredentials::load(dir.path()).unwrap(), Some(credentials));
        let mode = std::fs::metadata(dir.path().join("host_credentials.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("host_credentials.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
        let error = HostCredentials::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("host_credentials.pem") && error.contains("join again"), "{error}");
    }
}
