//! `GET /api/desktops/{kind}/{name}/sessions?login=L`: the logged-in
//! user's sessions running on one desktop as one login, which the session
//! page offers to resume next to a new session. The desktop service
//! answers from the user's certificate, as it decides a session.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use crate::api::{self, authenticated};
use crate::web::{AppState, DesktopRequest};

#[derive(serde::Deserialize)]
pub(crate) struct SessionsQuery {
    login: String,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
    Query(query): Query<SessionsQuery>,
    headers: HeaderMap,
) -> Response {
    let logged_in = match authenticated(&state, &headers).await {
        Ok(logged_in) => logged_in,
        Err(response) => return response,
    };
    let Some(certificate) = logged_in.session.certificate else {
        return api::error(StatusCode::UNAUTHORIZED, "your session has no certificate; log in again");
    };
    let request = DesktopRequest {
        user: logged_in.user.name.to_string(),
        certificate: certificate.cert_der,
        kind,
        desktop: name,
        login: query.login,
        session_id: String::new(),
        resume: false,
        join: None,
    };
    match state.dialer.running_sessions(request).await {
        Ok(sessions) => {
            let sessions: Vec<_> = sessions
                .iter()
                .map(|s| {
                    json!({
                        "session_id": s.session_id,
                        "xsession": s.xsession,
                        "started": oriel_auth::audit::rfc3339(s.started),
                        "attached": s.attached,
                        "thumbnail": s.thumbnail.as_ref().map(|(width, height, rgba)| json!({
                            "width": width,
                            "height": height,
                            "rgba": base64::engine::general_purpose::STANDARD.encode(rgba),
                        })),
                    })
                })
                .collect();
            Json(json!({ "sessions": sessions })).into_response()
        }
        Err(error) => {
            // Nothing to resume is no reason to keep anyone from a new session.
            tracing::info!(%error, "cannot list running sessions");
            api::error(StatusCode::SERVICE_UNAVAILABLE, format!("the desktop's running sessions cannot be listed: {error}"))
        }
    }
}
