//! The proxy's web port under [`ConnectionLimits`]: a connection is
//! admitted or closed before TLS, and holds its place while it is open.

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub use oriel_auth::connections::{Admitted, ConnectionLimits, Counted, OpenConnections, Refused};
use tokio::net::TcpStream;

/// Logs that accepting failed (typically EMFILE), at most every 10 s.
pub(crate) fn warn_accept_error(error: &io::Error) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    if oriel_auth::connections::once_in_a_while(&LAST) {
        tracing::warn!(%error, "cannot accept connections (logged at most every 10 s)");
    }
}

/// The first step of accepting (before TLS): admit or close, and set
/// `TCP_NODELAY` (input events and acks are tiny; Nagle would hold each
/// back until the previous one is acknowledged, 40 ms with delayed ACKs).
#[derive(Debug, Clone)]
pub struct CountingAcceptor {
    connections: Arc<OpenConnections>,
}

impl CountingAcceptor {
    /// Admits connections into `connections`.
    pub fn new(connections: Arc<OpenConnections>) -> Self {
        Self { connections }
    }
}

impl<S> axum_server::accept::Accept<TcpStream, S> for CountingAcceptor {
    type Stream = Counted<TcpStream>;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Counted<TcpStream>, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = stream.peer_addr().and_then(|peer| {
            self.connections.admit(peer.ip()).map_err(|refused| {
                self.connections.log_refusal(&refused);
                io::Error::new(io::ErrorKind::ConnectionRefused, refused)
            })
        });
        // Dropping the stream on an error closes it.
        std::future::ready(admitted.and_then(|admitted| {
            stream.set_nodelay(true)?;
            Ok((Counted::new(stream, admitted), service))
        }))
    }
}
