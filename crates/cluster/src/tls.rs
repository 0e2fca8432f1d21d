//! Mutual TLS on the cluster's host CA, built on rustls directly (not
//! tonic's TLS) because a tunnel turns roles around: the desktop service is
//! the TLS client and the gRPC server. Every side presents a host
//! certificate and trusts only the host CA; after the handshake the peer's
//! host role is checked too, so a desktop service's certificate cannot pass
//! for a proxy's.

use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use oriel_auth::ca::{HostIdentity, HostRole};
use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::credentials::HostCredentials;

/// Why TLS cannot be set up or a peer is refused.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key does not parse.
    #[error("invalid {what}: {detail}")]
    Pem {
        /// What it is.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
    /// The peer's certificate is not acceptable.
    #[error("{0}")]
    Peer(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The first certificate of a PEM text.
pub fn cert_der(pem: &str, what: &'static str) -> Result<CertificateDer<'static>, TlsError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::Pem { what, detail: e.to_string() })
}

fn roots(host_ca_pem: &str) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.add(cert_der(host_ca_pem, "host CA certificate")?).map_err(|e| TlsError::Pem { what: "host CA certificate", detail: e.to_string() })?;
    Ok(roots)
}

fn certified_key(credentials: &HostCredentials) -> Result<Arc<CertifiedKey>, TlsError> {
    let cert = cert_der(&credentials.cert_pem, "host certificate")?;
    let key = PrivateKeyDer::from_pem_slice(credentials.key_pem.as_bytes()).map_err(|e| TlsError::Pem { what: "host key", detail: e.to_string() })?;
    let key = provider().key_provider.load_private_key(key).map_err(|e| TlsError::Pem { what: "host key", detail: e.to_string() })?;
    Ok(Arc::new(CertifiedKey::new(vec![cert], key)))
}

/// This host's current certificate, which a renewal swaps. TLS configs ask
/// it at every handshake, so new connections use the renewed one.
pub struct LiveIdentity {
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for LiveIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveIdentity")
    }
}

impl LiveIdentity {
    /// Holds `credentials`' certificate and key.
    pub fn new(credentials: &HostCredentials) -> Result<Arc<Self>, TlsError> {
        Ok(Arc::new(Self { current: RwLock::new(certified_key(credentials)?) }))
    }

    /// Uses `credentials` from now on.
    pub fn replace(&self, credentials: &HostCredentials) -> Result<(), TlsError> {
        let key = certified_key(credentials)?;
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = key;
        Ok(())
    }

    fn get(&self) -> Arc<CertifiedKey> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl ResolvesClientCert for LiveIdentity {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl ResolvesServerCert for LiveIdentity {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// A client config trusting only `host_ca_pem`, presenting `identity`.
pub fn client_config(host_ca_pem: &str, identity: Arc<LiveIdentity>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots(host_ca_pem)?)
        .with_client_cert_resolver(identity);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// A server config presenting `identity` and requiring a client
/// certificate from the host CA.
pub fn server_config(host_ca_pem: &str, identity: Arc<dyn ResolvesServerCert>) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(host_ca_pem)?), provider()).build().map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(identity);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// The peer's host identity, from the certificate it presented (which
/// rustls has already chained to the host CA), if it has `role`.
pub fn peer_host(peer: Option<&[CertificateDer<'_>]>, host_ca_pem: &str, roles: &[HostRole]) -> Result<HostIdentity, TlsError> {
    let Some(cert) = peer.and_then(<[_]>::first) else {
        return Err(TlsError::Peer("the peer presented no certificate".into()));
    };
    let ca = cert_der(host_ca_pem, "host CA certificate")?;
    let host = oriel_auth::ca::verify_host_with_root(&ca, cert, SystemTime::now()).map_err(|e| TlsError::Peer(e.to_string()))?;
    if !roles.contains(&host.role) {
        let expected = roles.iter().map(|role| role.as_str()).collect::<Vec<_>>().join(" or ");
        return Err(TlsError::Peer(format!("expected a {expected} certificate, got the certificate of {} host {:?}", host.role, host.host_id)));
    }
    Ok(host)
}
