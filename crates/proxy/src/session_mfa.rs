//! Per-session MFA over the desktop websocket (TDPB `Mfa`, message 14), as
//! Teleport's proxy does it for desktops. Before it dials, the proxy asks
//! the control plane whether the session needs a fresh check
//! (`require_session_mfa` in a role that allows the login, or in the
//! cluster's `cluster_auth_preference`). If so it sends a WebAuthn
//! challenge for the user's keys, holds what the browser sends meanwhile
//! (its ClientHello), and waits for one `Mfa` answer. A verified answer is
//! traded for a certificate good for starting this one session within a
//! minute; the held frames then go to the desktop first. A missing, wrong,
//! late or replayed answer ends the session here with an alert: nothing is
//! dialled, nothing starts on the desktop.

use std::net::IpAddr;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use oriel_auth::control_plane::SessionTarget;
use oriel_auth::session_mfa::MfaRequirement;
use oriel_auth::webauthn::{RelyingParty, WebauthnError};
use oriel_rbac::DesktopKind;
use oriel_tdpb::pb;
use oriel_tdpb::{Limits, Payload, PayloadKind, decode_frame, encode_frame, frame_body, peek_kind};

use crate::web::{AppState, DesktopRequest};

/// How long a person has to answer the prompt.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// What the browser may send before its answer, at most: a hello, a screen
/// size, a clipboard text, a directory announcement, a few inputs.
const MAX_HELD_FRAMES: usize = 64;
const MAX_HELD_BYTES: usize = 4 << 20;

/// Why the check did not let the session go on.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The browser went away; nobody to tell.
    BrowserLeft,
    /// Said to the browser in an alert.
    Refused(String),
}

/// What the session starts with after the check.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// A per-session MFA certificate to dial with instead of the login's.
    pub certificate: Option<Vec<u8>>,
    /// What the browser sent while the check ran, in order.
    pub held: Vec<Vec<u8>>,
}

/// Runs the check for `request` when the session needs one; `origin` is
/// the page's (the relying party), `address` the browser's.
pub(crate) async fn check(socket: &mut WebSocket, state: &AppState, request: &DesktopRequest, origin: &str, address: IpAddr) -> Result<Checked, Refusal> {
    let Some(kind) = DesktopKind::ALL.into_iter().find(|kind| kind.as_str() == request.kind) else {
        // The desktop service names the unknown kind.
        return Ok(Checked::default());
    };
    let target = SessionTarget { kind, desktop: &request.desktop, login: &request.login };
    let role = match state.plane.session_mfa_requirement(&request.certificate, target).await {
        Ok(MfaRequirement::Yes { role }) => role,
        // Not required, or refused anyway: the desktop service decides, and
        // records, with the reason.
        Ok(MfaRequirement::No) | Err(_) => return Ok(Checked::default()),
    };
    let who = match &role {
        Some(role) => format!("role {role:?}"),
        None => "the cluster".to_owned(),
    };
    tracing::info!(user = %request.user, required_by = %who, "per-session MFA required");
    let refused = |error: WebauthnError| Refusal::Refused(format!("per-session MFA (required by {who}): {error}"));
    let preference = state.plane.store().auth_preference().await.map_err(|e| Refusal::Refused(format!("per-session MFA cannot be checked right now: {e}")))?;
    let party = RelyingParty::for_origin(&preference, origin).map_err(refused)?;
    let (ceremony, options) = state.plane.begin_session_mfa(&request.user, party, address).await.map_err(refused)?;
    let challenge = Payload::Mfa(pb::Mfa { r#type: "webauthn".into(), json: options.to_string() });
    if socket.send(Message::Binary(encode_frame(challenge).into())).await.is_err() {
        return Err(Refusal::BrowserLeft);
    }
    let mut waiting = AnswerWait::default();
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, async {
        loop {
            let message = match socket.recv().await {
                None | Some(Ok(Message::Close(_))) | Some(Err(_)) => return Err(Refusal::BrowserLeft),
                Some(Ok(message)) => message,
            };
            if let Some(answer) = waiting.see(message)? {
                return Ok(answer);
            }
        }
    })
    .await
    .map_err(|_| Refusal::Refused(format!("per-session MFA (required by {who}): no answer from your security key within two minutes")))??;
    if answer.json.is_empty() {
        return Err(Refusal::Refused("per-session MFA was cancelled; nothing was started".into()));
    }
    let answer: serde_json::Value = serde_json::from_str(&answer.json).map_err(|e| refused(WebauthnError::Refused(format!("the answer is not JSON: {e}"))))?;
    let proof = state.plane.finish_session_mfa(&request.user, &ceremony, &answer).await.map_err(|error| {
        tracing::warn!(user = %request.user, %error, "per-session MFA answer refused");
        refused(error)
    })?;
    let certificate = state
        .plane
        .issue_session_mfa_certificate(&request.certificate, target, proof)
        .await
        .map_err(|e| Refusal::Refused(format!("per-session MFA passed, but {e}")))?;
    tracing::info!(user = %request.user, "per-session MFA passed");
    Ok(Checked { certificate: Some(certificate.cert_der), held: waiting.held })
}

/// The browser's messages while the challenge is open: frames to hold, and
/// the answer. Sans-IO: fed one websocket message at a time.
#[derive(Debug, Default)]
struct AnswerWait {
    held: Vec<Vec<u8>>,
    held_bytes: usize,
}

impl AnswerWait {
    /// The answer, when `message` is it; otherwise holds or skips it. A
    /// malformed frame, or more than the hold allows, refuses the session.
    fn see(&mut self, message: Message) -> Result<Option<pb::Mfa>, Refusal> {
        let bytes = match message {
            Message::Binary(bytes) => bytes,
            Message::Text(_) => return Err(Refusal::Refused("malformed frame from the browser: text message; TDPB frames are binary".into())),
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return Ok(None),
        };
        if let Err(error) = frame_body(&bytes, Limits::FROM_CLIENT.max_frame_len) {
            return Err(Refusal::Refused(format!("malformed frame from the browser: {error}")));
        }
        match peek_kind(&bytes) {
            Some(PayloadKind::Mfa) => match decode_frame(&bytes, Limits::FROM_CLIENT) {
                Ok(Some(Payload::Mfa(answer))) => Ok(Some(answer)),
                Ok(_) => Ok(None),
                Err(error) => Err(Refusal::Refused(format!("malformed frame from the browser: {error}"))),
            },
            // The proxy measures latency once the session runs.
            Some(PayloadKind::Ping) => Ok(None),
            _ => {
                self.held_bytes += bytes.len();
                if self.held.len() >= MAX_HELD_FRAMES || self.held_bytes > MAX_HELD_BYTES {
                    return Err(Refusal::Refused("the browser sent too much before answering the MFA prompt".into()));
                }
                self.held.push(bytes.to_vec());
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: Payload) -> Message {
        Message::Binary(encode_frame(payload).into())
    }

    #[test]
    fn frames_before_the_answer_are_held_in_order_and_pings_skipped() {
        let mut wait = AnswerWait::default();
        let hello = frame(Payload::ClientHello(pb::ClientHello::default()));
        let spec = frame(Payload::ClientScreenSpec(pb::ClientScreenSpec { width: 800, height: 600, scale: 100 }));
        assert!(wait.see(hello.clone()).unwrap().is_none());
        assert!(wait.see(frame(Payload::Ping(pb::Ping { id: vec![1] }))).unwrap().is_none());
        assert!(wait.see(spec.clone()).unwrap().is_none());
        let answer = wait.see(frame(Payload::Mfa(pb::Mfa { r#type: "webauthn".into(), json: "{}".into() }))).unwrap().unwrap();
        assert_eq!(answer.json, "{}");
        let expected: Vec<Vec<u8>> = [hello, spec].into_iter().map(|m| m.into_data().to_vec()).collect();
        assert_eq!(wait.held, expected);
    }

    #[test]
    fn malformed_text_or_too_many_frames_refuse_the_session() {
        let mut wait = AnswerWait::default();
        assert!(matches!(wait.see(Message::Binary(vec![0, 0, 0, 9, 1].into())), Err(Refusal::Refused(m)) if m.contains("malformed")));
        assert!(matches!(wait.see(Message::Text("hi".into())), Err(Refusal::Refused(m)) if m.contains("binary")));
        let oversized = encode_frame(Payload::Mfa(pb::Mfa { r#type: "webauthn".into(), json: "x".repeat(oriel_tdpb::limits::MAX_MFA_JSON_LEN + 1) }));
        assert!(matches!(wait.see(Message::Binary(oversized.into())), Err(Refusal::Refused(m)) if m.contains("Mfa.json")));
        let mut wait = AnswerWait::default();
        let click = frame(Payload::MouseButton(pb::MouseButton { button: 1, pressed: true }));
        for _ in 0..MAX_HELD_FRAMES {
            wait.see(click.clone()).unwrap();
        }
        assert!(matches!(wait.see(click), Err(Refusal::Refused(m)) if m.contains("too much")));
    }
}
