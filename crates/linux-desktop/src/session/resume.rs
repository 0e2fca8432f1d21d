//! The start of a resumed connection, which the daemon answers itself: the
//! session process speaks to one browser from its first hello on, and has
//! long answered it.

use oriel_tdpb::pb::ClientHello;
use tokio::sync::mpsc;

use super::SessionError;
use super::live::ViewerStream;

/// The browser's `ClientHello`, pings answered meanwhile; `None` when it
/// left first.
pub(super) async fn read_hello(client: &mut ViewerStream, out: &mpsc::Sender<Vec<u8>>) -> Result<Option<ClientHello>, SessionError> {
    crate::client_stream::read_hello(client, out).await
}
