//! TLS to an RDP host whose certificate is pinned.
//!
//! RDP hosts outside a domain present self-signed certificates, so a CA
//! proves nothing about them; the certificate configured for the host
//! does. The handshake's signatures are still checked against it.

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

    /// The host key CredSSP binds the credentials to: the certificate's
    /// public key bits (the BIT STRING of its SubjectPublicKeyInfo).
    pub(crate) fn public_key(&self) -> Option<Vec<u8>> {
        let (_, certificate) = x509_parser::parse_x509_certificate(&self.0).ok()?;
        Some(certificate.public_key().subject_public_key.data.to_vec())
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

/// The client side of TLS to a host that must present `certificate`.
pub(crate) fn connector(certificate: PinnedCertificate) -> Result<tokio_rustls::TlsConnector, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned { certificate, algorithms }))
        .with_no_client_auth();
    // CredSSP binds to this very connection's key: no resumed sessions.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}
