//! The proxy's TLS identity. Until a cluster CA exists, the first start
//! makes a self-signed certificate and keeps it in the data directory, so
//! browsers see the same certificate across restarts.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS identity could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing the files failed.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        error: std::io::Error,
    },
    /// The files hold no usable certificate or key.
    #[error("{path}: {detail}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Generating a certificate failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate and key.
    #[error("unusable certificate: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A certificate chain and its key.
pub struct Identity {
    /// Leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// Where the leaf certificate is stored (clients may pin it).
    pub cert_path: PathBuf,
}

/// Loads `dir/cert.pem` and `dir/key.pem`, creating a self-signed pair for
/// `hosts` (DNS names or IP addresses) when they do not exist yet.
pub fn load_or_create(dir: &Path, hosts: &[String]) -> Result<Identity, TlsError> {
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    if !cert_path.exists() || !key_path.exists() {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| TlsError::Io { path, error }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let certified = rcgen::generate_simple_self_signed(hosts.to_vec())?;
        write_private(&key_path, certified.signing_key.serialize_pem().as_bytes()).map_err(io(&key_path))?;
        std::fs::write(&cert_path, certified.cert.pem()).map_err(io(&cert_path))?;
        tracing::info!(cert = %cert_path.display(), "created a self-signed TLS certificate");
    }
    let chain = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Pem { path: cert_path.clone(), detail: e.to_string() })?;
    if chain.is_empty() {
        return Err(TlsError::Pem { path: cert_path, detail: "no certificate in the file".into() });
    }
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| TlsError::Pem { path: key_path, detail: e.to_string() })?;
    Ok(Identity { chain, key, cert_path })
}

/// A rustls server configuration for `identity` (TLS 1.2 and 1.3, ring).
pub fn server_config(identity: Identity) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)?;
    // HTTP/1.1 only: websockets then upgrade the classic way on every browser.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
