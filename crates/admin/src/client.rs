//! The admin API's client: dials the auth service over mutual TLS with an
//! admin identity, trusting only the host CA the identity file carries and
//! checking the service's name ([`AUTH_SERVER_NAME`]), whatever address
//! it dials.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::identity::AdminIdentity;
use crate::proto::admin_client;
use crate::proto::{Command, Name, Outcome};
use crate::{AUTH_SERVER_NAME, Failure, FailureKind};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to the auth service's admin API.
#[derive(Debug, Clone)]
pub struct AdminClient {
    inner: admin_client::AdminClient<Channel>,
    addr: String,
}

impl AdminClient {
    /// Dials `addr` (`HOST:PORT`) as `identity`.
    pub async fn connect(addr: &str, identity: &AdminIdentity) -> Result<Self, Failure> {
        Self::connect_with(addr, &identity.host_ca_pem, Some((&identity.cert_pem, &identity.key_pem))).await
    }

    /// Dials `addr` trusting `host_ca_pem`, presenting `client` (certificate
    /// and key, PEM) if given. [`AdminClient::connect`] is the way in;
    /// this one skips the identity file's checks, so tests can show that
    /// the server refuses what the file checks would have caught.
    pub async fn connect_with(addr: &str, host_ca_pem: &str, client: Option<(&str, &str)>) -> Result<Self, Failure> {
        let mut tls = ClientTlsConfig::new().domain_name(AUTH_SERVER_NAME).ca_certificate(Certificate::from_pem(host_ca_pem));
        if let Some((cert, key)) = client {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        let unreachable = |e: tonic::transport::Error| transport_failure(addr, &e);
        let endpoint = Endpoint::from_shared(format!("https://{addr}"))
            .map_err(|e| Failure::invalid(format!("invalid auth server address {addr:?}: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .tls_config(tls)
            .map_err(unreachable)?;
        let channel = endpoint.connect().await.map_err(unreachable)?;
        Ok(Self { inner: admin_client::AdminClient::new(channel), addr: addr.to_owned() })
    }

    /// Recording `id`'s bytes, chunk by chunk to `sink` with the whole size
    /// (known from the first chunk).
    pub async fn download_recording(&mut self, id: &str, mut sink: impl FnMut(&[u8], u64) -> std::io::Result<()>) -> Result<(), Failure> {
        let addr = self.addr.clone();
        let failed = |status: tonic::Status| status_failure(&addr, &status);
        let mut chunks = self.inner.download_recording(Name { name: id.to_owned() }).await.map_err(failed)?.into_inner();
        let mut size = 0;
        while let Some(chunk) = chunks.message().await.map_err(failed)? {
            if chunk.size > 0 {
                size = chunk.size;
            }
            sink(&chunk.data, size).map_err(|e| Failure::new(FailureKind::Internal, format!("cannot write the recording: {e}")))?;
        }
        Ok(())
    }

    /// Runs one command on the auth service.
    pub async fn run(&mut self, command: Command) -> Result<Outcome, Failure> {
        match self.inner.run(command).await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => Err(status_failure(&self.addr, &status)),
        }
    }
}

/// A status the server sent keeps its message; one made from a transport
/// error (no server answer) says what failed on the way.
fn status_failure(addr: &str, status: &tonic::Status) -> Failure {
    if let Some(source) = std::error::Error::source(status) {
        return transport_failure(addr, source);
    }
    let kind = match status.code() {
        tonic::Code::InvalidArgument => FailureKind::InvalidArgument,
        tonic::Code::NotFound => FailureKind::NotFound,
        tonic::Code::AlreadyExists => FailureKind::AlreadyExists,
        tonic::Code::Aborted => FailureKind::Conflict,
        tonic::Code::PermissionDenied | tonic::Code::Unauthenticated => FailureKind::PermissionDenied,
        _ => FailureKind::Internal,
    };
    Failure::new(kind, status.message())
}

fn transport_failure(addr: &str, error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.contains(&text) {
            chain = format!("{chain}: {text}");
        }
        source = cause.source();
    }
    const REFUSED: &str = "it accepts only admin identities signed by its host CA (`orielctl auth sign` on the auth host)";
    let closed = ["connection closed", "broken pipe", "connection reset", "operation was canceled"].iter().any(|c| chain.contains(c));
    let message = if chain.contains("received fatal alert") {
        format!("the auth server at {addr} refused this identity during the TLS handshake ({chain}); {REFUSED}")
    } else if chain.contains("invalid peer certificate") {
        format!("the server at {addr} is not the auth service this identity trusts ({chain}): the identity belongs to another cluster, or the address is wrong")
    } else if closed {
        // With TLS 1.3 the server checks the client's certificate after the
        // client thinks the handshake is done, so its refusal can arrive as
        // a closed connection rather than an alert.
        format!("the auth server at {addr} closed the connection before answering ({chain}); {REFUSED}, so it most likely refused this one")
    } else {
        format!("cannot reach the auth server at {addr}: {chain}")
    };
    Failure::new(FailureKind::Internal, message)
}
