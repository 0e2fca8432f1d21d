//! Joining from a new host: trade a join token for host credentials over
//! TLS. The host has no CA yet, so it cannot check the auth server the
//! usual way. The auth server sends its host CA in its certificate chain;
//! during the handshake, before the token goes anywhere, the host checks
//! that the server's certificate is that CA's auth service certificate
//! (and the server proves it holds its key), and with `ca_pin` (printed by
//! `orielctl tokens add`) that the CA is the pinned one. Without a pin it
//! trusts that CA on first use and logs its pin to check. The credentials
//! it gets must name the same CA.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use oriel_auth::ca::{AUTH_SERVER_NAME, HostRole};
use oriel_auth::resources::join_token::JoinRole;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::credentials::HostCredentials;
use crate::proto::auth_client::AuthClient;

/// Why a join failed: each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum JoinFailure {
    /// The auth server could not be reached.
    #[error("cannot reach the auth server at {addr}: {detail}")]
    Unreachable {
        /// Where.
        addr: String,
        /// Why.
        detail: String,
    },
    /// The auth server refused the token (its words).
    #[error("the auth server refused to join this host: {0}")]
    Refused(String),
    /// The auth server is not the one the pin names, or its certificate
    /// does not belong to the CA it sent.
    #[error("the auth server at {addr} is not trusted: {detail}")]
    Untrusted {
        /// Where.
        addr: String,
        /// Why.
        detail: String,
    },
}

/// How a joining host trusts the auth server's CA before it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaTrust {
    /// Only the CA with this pin (`sha256:…`, as `orielctl tokens add`
    /// prints it).
    Pinned(String),
    /// Whatever CA the server shows, on first use: someone between the host
    /// and the auth server could pose as it and be given the join token.
    /// Only when asked for with `--insecure-no-ca-pin`; logged.
    InsecureFirstUse,
}

/// Joins the cluster of the auth server at `addr` as the Linux desktop
/// service `host_id`.
pub async fn join(addr: &str, token: &str, host_id: &str, trust: &CaTrust) -> Result<HostCredentials, JoinFailure> {
    join_as(addr, token, host_id, JoinRole::LinuxDesktop, trust).await
}

/// Joins the cluster of the auth server at `addr` as the `role` service
/// `host_id` (a Linux or Windows desktop service).
pub async fn join_as(addr: &str, token: &str, host_id: &str, role: JoinRole, trust: &CaTrust) -> Result<HostCredentials, JoinFailure> {
    let unreachable = |detail: String| JoinFailure::Unreachable { addr: addr.to_owned(), detail };
    let untrusted = |detail: String| JoinFailure::Untrusted { addr: addr.to_owned(), detail };
    let ca_pin = match trust {
        CaTrust::Pinned(pin) => Some(pin.trim().to_owned()),
        CaTrust::InsecureFirstUse => None,
    };
    let check = Arc::new(FirstUse { pin: ca_pin.clone(), outcome: Mutex::default() });
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| unreachable(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(check.clone())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = ServerName::try_from(AUTH_SERVER_NAME).map_err(|e| unreachable(e.to_string()))?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await
    };
    let handshake = tokio::time::timeout(crate::connect::CONNECT_TIMEOUT, connect).await.map_err(|_| unreachable("timed out".into()))?;
    let tls = match (handshake, check.outcome()) {
        (_, Some(Err(refusal))) => return Err(untrusted(refusal)),
        (Ok(tls), Some(Ok(_))) => tls,
        (Ok(_), None) => return Err(untrusted("it showed no certificate".into())),
        (Err(error), _) => return Err(unreachable(error.to_string())),
    };
    let ca_pin_seen = check.outcome().and_then(Result::ok).unwrap_or_default();
    if ca_pin.is_none() {
        tracing::warn!(pin = %ca_pin_seen, "insecure: joining without ca_pin (--insecure-no-ca-pin): trusting the auth server's CA on first use; check the pin against `orielctl tokens add` and set ca_pin");
    }
    let channel = crate::connect::channel_over(tls).await.map_err(|e| unreachable(e.to_string()))?;
    let request = crate::proto::JoinRequest { token: token.to_owned(), role: role.as_str().into(), host_id: host_id.to_owned() };
    let credentials: HostCredentials = match AuthClient::new(channel).join(request).await {
        Ok(response) => response.into_inner().into(),
        Err(status) if std::error::Error::source(&status).is_some() => return Err(unreachable(status_chain(&status))),
        Err(status) => return Err(JoinFailure::Refused(status.message().to_owned())),
    };
    match oriel_auth::ca::ca_pin(&credentials.host_ca_pem) {
        Some(pin) if pin == ca_pin_seen => Ok(credentials),
        Some(pin) => Err(untrusted(format!("it sent credentials of the CA {pin}, not of the CA {ca_pin_seen} it showed"))),
        None => Err(untrusted("it sent no CA certificate".into())),
    }
}

/// A status that failed on the way to the server, as one line: what
/// failed and every cause under it. (A status's own `Display` is a debug
/// dump of its code, message and source, not a sentence.)
pub fn status_chain(status: &tonic::Status) -> String {
    let message = status.message();
    match std::error::Error::source(status) {
        Some(source) => {
            let chain = error_chain(source);
            if message.is_empty() || chain.contains(message) { chain } else { format!("{message}: {chain}") }
        }
        None => message.to_owned(),
    }
}

/// An error and every cause under it, in one line.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.contains(&text) {
            chain = format!("{chain}: {text}");
        }
        source = cause.source();
    }
    chain
}

/// Checks the auth server's certificate before anything is sent: the chain
/// must hold a CA that signed it as the auth service's, the pinned CA when
/// there is a pin. Handshake signatures are verified as usual, so the
/// server must hold the certificate's key. Keeps the CA's pin, or why the
/// server was refused.
#[derive(Debug)]
struct FirstUse {
    pin: Option<String>,
    outcome: Mutex<Option<Result<String, String>>>,
}

impl FirstUse {
    fn outcome(&self) -> Option<Result<String, String>> {
        self.outcome.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn check(&self, end_entity: &[u8], chain: &[CertificateDer<'_>]) -> Result<String, String> {
        let Some(ca) = chain.last() else {
            return Err("it sent no CA certificate with its own (is it an Oriel auth service?)".into());
        };
        let pin = oriel_auth::ca::ca_pin_of_der(ca);
        if let Some(wanted) = &self.pin
            && *wanted != pin
        {
            return Err(format!("its CA's pin is {pin}, not the ca_pin {wanted}: this is another cluster, or something is in the way"));
        }
        match oriel_auth::ca::verify_host_with_root(ca, end_entity, SystemTime::now()) {
            Ok(host) if host.role == HostRole::Auth => Ok(pin),
            Ok(host) => Err(format!("its certificate is a {} certificate, not the auth service's", host.role)),
            Err(error) => Err(format!("its certificate does not belong to the CA it sent: {error}")),
        }
    }
}

impl ServerCertVerifier for FirstUse {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let outcome = self.check(end_entity, intermediates);
        *self.outcome.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outcome.clone());
        match outcome {
            Ok(_) => Ok(ServerCertVerified::assertion()),
            Err(refusal) => Err(rustls::Error::General(refusal)),
        }
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &rustls::crypto::ring::default_provider().signature_verification_algorithms)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &rustls::crypto::ring::default_provider().signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}
