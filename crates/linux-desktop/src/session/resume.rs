//! The start of a resumed connection, which the daemon answers itself: the
//! session process speaks to one browser from its first hello on, and has
//! long answered it.

use std::time::Duration;

use oriel_tdpb::Payload;
use oriel_tdpb::pb::ClientHello;
use tokio::sync::mpsc;

use super::SessionError;
use super::live::ViewerStream;
use crate::client_stream::send;

/// How long a client may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// The browser's `ClientHello`, pings answered meanwhile; `None` when it
/// left first.
pub(super) async fn read_hello(client: &mut ViewerStream, out: &mpsc::Sender<Vec<u8>>) -> Result<Option<ClientHello>, SessionError> {
    let wait = async {
        loop {
            match client.next().await? {
                None => return Ok(None),
                Some(Payload::ClientHello(hello)) => return Ok(Some(hello)),
                // The proxy measures latency from the first moment on.
                Some(Payload::Ping(ping)) => send(out, Payload::Ping(ping)).await?,
                Some(other) => return Err(SessionError::Protocol(format!("expected ClientHello, got {}", other.name()))),
            }
        }
    };
    tokio::time::timeout(HELLO_TIMEOUT, wait).await.unwrap_or(Err(SessionError::Timeout("ClientHello")))
}
