//! Recording at the proxy, for the cluster modes `proxy` and `proxy-sync`
//! (`docs/recording.md`): the proxy decides with the same grant the
//! desktop service will (the session's certificate, desktop and login),
//! and records the frames it relays; the desktop service then records
//! nothing itself but still sends keyframes. `proxy` writes to the proxy's
//! spool (`<data_dir>/proxy-recording-spool`) and delivers the file when
//! the session ends; `proxy-sync` streams it to the control plane as it
//! goes. Either way, a recording that cannot be written ends the session.

use oriel_auth::control_plane::ControlPlane;
use oriel_rbac::DesktopKind;
use oriel_recorder::{RecordingSpool, SessionRecorder};
use oriel_recording::{Meta, Source};

use crate::web::DesktopRequest;

/// A session the proxy records: its recorder, and where a closed file goes.
pub(crate) struct ProxyRecording {
    recorder: SessionRecorder,
    spool: RecordingSpool,
}

/// Why the session may not start: its roles require a recording the proxy
/// cannot write.
#[derive(Debug, thiserror::Error)]
#[error("the session cannot be recorded ({0}), and the roles require recording")]
pub(crate) struct CannotRecord(String);

impl ProxyRecording {
    /// Starts recording `request` when the cluster records at the proxy and
    /// its grant says to record. No recording when it is not granted at
    /// all: the desktop service refuses it and says why.
    pub(crate) async fn start(plane: &ControlPlane, spool: &RecordingSpool, request: &DesktopRequest) -> Result<Option<ProxyRecording>, CannotRecord> {
        let mode = match plane.cluster_policy().await {
            Ok(policy) => policy.recording_mode,
            // Unknown mode: only a recording can be sure to follow it.
            Err(error) => return Err(CannotRecord(format!("the cluster's recording mode cannot be read: {error}"))),
        };
        if !mode.at_proxy() {
            return Ok(None);
        }
        let kind = match request.kind.as_str() {
            "windows" => DesktopKind::Windows,
            _ => DesktopKind::Linux,
        };
        let Ok(grant) = plane.authorize_certificate(&request.certificate, kind, &request.desktop, &request.login).await else { return Ok(None) };
        if !grant.options().record || !grant.recording_mode().at_proxy() {
            return Ok(None);
        }
        let meta = Meta {
            // A resumed session's connection is a recording of its own:
            // the proxy sees connections, not sessions.
            session_id: match request.resume || request.join.is_some() {
                true => oriel_auth::audit::new_session_id(),
                false => request.session_id.clone(),
            },
            user: grant.user().to_owned(),
            login: request.login.clone(),
            desktop: request.desktop.clone(),
            desktop_kind: kind.as_str().into(),
            start: oriel_auth::audit::rfc3339(std::time::SystemTime::now()),
        };
        let recorder = match grant.recording_mode().is_sync() {
            true => SessionRecorder::to_auth_service(plane, &meta).await,
            false => SessionRecorder::to_spool(spool.dir(), &meta).await,
        };
        let recorder = recorder.map_err(CannotRecord)?;
        tracing::info!(mode = %grant.recording_mode(), "the proxy records this session");
        Ok(Some(ProxyRecording { recorder, spool: spool.clone() }))
    }

    /// Records `frame` (one whole TDPB frame) if recordings keep it.
    pub(crate) fn record(&self, frame: &[u8], source: Source) {
        self.recorder.record(frame, source);
    }

    /// Hands what was recorded to the writer, waiting while it is behind.
    pub(crate) async fn flush(&self) {
        self.recorder.flush().await;
    }

    /// Resolves, with why, when the recording cannot be written.
    pub(crate) async fn failed(&self) -> String {
        self.recorder.failed().await
    }

    /// Closes the recording and delivers it; one of a session that never
    /// started (the desktop service refused it) is dropped instead.
    pub(crate) async fn finish(self, started: bool) {
        if !started {
            self.recorder.discard().await;
            return;
        }
        match self.recorder.finish().await {
            Ok(Some(path)) => self.spool.upload(path),
            Ok(None) => {}
            // A .part file stays: the spool closes it at the next start.
            Err(error) => tracing::error!(%error, "the session's recording could not be closed"),
        }
    }
}

/// Resolves when `recording` cannot be written; never without one.
pub(crate) async fn recording_failed(recording: Option<&ProxyRecording>) -> String {
    match recording {
        Some(recording) => recording.failed().await,
        None => std::future::pending().await,
    }
}
