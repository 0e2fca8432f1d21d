//! TLS to an RDP host: its certificate pinned, or issued by a CA.
//!
//! RDP hosts outside a domain present self-signed certificates, so a CA
//! proves nothing about them; the certificate configured for the host
//! does. The handshake's signatures are still checked against it. Hosts
//! found in a directory have certificates from the domain's CA, for their
//! DNS names: those are checked as a browser checks a web server's.

/// What a host's certificate is checked against.
#[derive(Debug, Clone)]
pub enum HostTrust {
    /// Exactly this certificate.
    Pinned(PinnedCertificate),
    /// A chain to one of these CA certificates (DER), naming the host.
    Authority(Vec<Vec<u8>>),
}

impl HostTrust {
    /// Whether TLS can be set up with it (a CA webpki takes, say): checked
    /// at start, so a bad file is not found at each session.
    pub fn check(&self) -> Result<(), String> {
        connector(self.clone()).map(drop).map_err(|e| e.to_string())
    }

    /// The CA certificates of a PEM text; `None` when it has none.
    pub fn authority_from_pem(pem: &str) -> Option<Self> {
        let cas: Vec<Vec<u8>> = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
            .filter_map(Result::ok)
            .filter(|block| block.label == "CERTIFICATE")
            .map(|block| block.contents)
            .collect();
        (!cas.is_empty()).then_some(Self::Authority(cas))
    }
}

/// The host key CredSSP binds the credentials to: the public key bits of
/// the certificate (DER) the host presented (the BIT STRING of its
/// SubjectPublicKeyInfo).
pub(crate) fn public_key(certificate: &[u8]) -> Option<Vec<u8>> {
    let (_, certificate) = x509_parser::parse_x509_certificate(certificate).ok()?;
    Some(certificate.public_key().subject_public_key.data.to_vec())
}

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// The one certificate (DER) a host must present.
#[derive(Clone, PartialEq, Eq)]
pub struct PinnedCertificate(pub Vec<u8>);

impl std::fmt::Debug for PinnedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PinnedCertificate({} bytes)", self.0.len())
    }
}

impl PinnedCertificate {
    /// The first certificate of a PEM file's text.
    pub fn from_pem(pem: &str) -> Option<Self> {
        let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
        (parsed.label == "CERTIFICATE").then_some(Self(parsed.contents))
    }
}

#[derive(Debug)]
struct Pinned {
    certificate: PinnedCertificate,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.certificate.0.as_slice() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("the host's certificate is not the one configured for it".into()))
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The client side of TLS to a host whose certificate `trust` checks.
pub(crate) fn connector(trust: HostTrust) -> Result<tokio_rustls::TlsConnector, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match trust {
        HostTrust::Pinned(certificate) => Arc::new(Pinned { certificate, algorithms }),
        HostTrust::Authority(cas) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in cas {
                roots.add(CertificateDer::from(ca))?;
            }
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(format!("the hosts' CA: {e}")))?
        }
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // CredSSP binds to this very connection's key: no resumed sessions.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
