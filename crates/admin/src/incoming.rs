//! The auth service's port under [`ConnectionLimits`]: a connection past
//! the caps is closed as soon as it is accepted, before TLS, and one
//! admitted holds its place until it closes.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use oriel_auth::connections::{ConnectionLimits, Counted, OpenConnections, once_in_a_while};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// An admitted connection to the auth service's API.
#[derive(Debug)]
pub struct ApiConnection(Counted<TcpStream>);

/// Tells tonic the peer's address, as a bare `TcpStream` would, so the
/// TLS layer above it can give each call the peer's certificate.
impl Connected for ApiConnection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.get_ref().connect_info()
    }
}

impl AsyncRead for ApiConnection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ApiConnection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// The connections `listener` accepts that fit under `limits`, with
/// `TCP_NODELAY` (calls are small request/response pairs: Nagle's algorithm
/// would hold a request back for a delayed ACK). Failing to accept (out of
/// file descriptors, typically) is logged now and then and retried after a
/// pause, instead of spinning.
pub fn incoming(listener: TcpListener, limits: ConnectionLimits) -> impl Stream<Item = io::Result<ApiConnection>> + Send + 'static {
    let connections = OpenConnections::new(limits);
    futures_util::stream::unfold((listener, connections), |(listener, connections)| async move {
        let connection = next_admitted(&listener, &connections).await;
        Some((Ok(connection), (listener, connections)))
    })
}

async fn next_admitted(listener: &TcpListener, connections: &Arc<OpenConnections>) -> ApiConnection {
    static LAST_ACCEPT_WARNING: AtomicU64 = AtomicU64::new(0);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                if once_in_a_while(&LAST_ACCEPT_WARNING) {
                    tracing::warn!(%error, "the auth service cannot accept connections (logged at most every 10 s)");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        match connections.admit(peer.ip()) {
            Ok(admitted) => {
                let _ = stream.set_nodelay(true);
                return ApiConnection(Counted::new(stream, admitted));
            }
            // Dropping the stream closes it.
            Err(refused) => connections.log_refusal(&refused),
        }
    }
}
