//! How a session process ends its exchange, whatever the session ran on (an
//! X server, an RDP host): the browser is told why unless it left itself,
//! the frames still queued go out, and then the daemon hears why in the
//! `Ended` event and the control stream closes.

use oriel_tdpb::pb::AlertSeverity;
use tokio::io::AsyncWriteExt as _;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{pb, wire};
use crate::client_stream::alert;
use crate::session::{SessionEnd, SessionError};

/// Reports `result` to the browser (through `out`, whose writer task is
/// `writer`) and then to the daemon on `control`.
pub async fn report_end(result: &Result<SessionEnd, SessionError>, out: mpsc::Sender<Vec<u8>>, writer: JoinHandle<()>, control: &mut tokio::net::UnixStream) {
    let told = async |message: String, reason: pb::ended::Reason| {
        let alerted = out.send(alert(&message, AlertSeverity::Error)).await.is_ok();
        pb::Ended { reason: reason.into(), message, alerted }
    };
    let ended = match result {
        Ok(SessionEnd::ClientLeft | SessionEnd::Detached | SessionEnd::NotResumed(_)) => {
            pb::Ended { reason: pb::ended::Reason::ClientLeft.into(), message: String::new(), alerted: false }
        }
        Ok(SessionEnd::DesktopExited(status)) => told(format!("the desktop session ended ({status})"), pb::ended::Reason::DesktopExited).await,
        Err(SessionError::Transport(error)) => pb::Ended { reason: pb::ended::Reason::ClientLeft.into(), message: error.to_string(), alerted: false },
        Err(error) => {
            tracing::warn!(%error, "the session ended");
            let reason = if error.is_client_fault() { pb::ended::Reason::ClientError } else { pb::ended::Reason::DesktopError };
            told(error.to_string(), reason).await
        }
    };
    drop(out);
    // The writer ends once every other sender (a frame loop's) is gone too:
    // the alert is out before the daemon hears why.
    let _ = writer.await;
    let _ = control.write_all(&wire::encode(&pb::Event { event: Some(pb::event::Event::Ended(ended)) })).await;
    let _ = control.shutdown().await;
}
