//! The JSON API for security keys and passkeys (`oriel_auth::webauthn`).
//! Each ceremony begins with a POST that answers `{ceremony, options}`,
//! the options for `navigator.credentials.create` or `.get` (binary fields
//! in base64url); the browser finishes it with the authenticator's answer.
//! The relying party is the page's origin, which must be the proxy's own
//! (`OriginPolicy`), so a ceremony begun for another site never verifies.
//!
//! - `POST /api/login/webauthn/begin {user}`, then
//!   `POST /api/login/webauthn {user, password, ceremony, answer}`;
//! - `POST /api/login/passwordless/begin`, then
//!   `POST /api/login/passwordless {ceremony, answer}`;
//! - `POST /api/invite/{secret}/webauthn/begin`, then
//!   `POST /api/invite/{secret}/webauthn {password, ceremony, name, answer}`;
//! - `GET /api/me/devices`, `POST /api/me/devices/begin`,
//!   `POST /api/me/devices {ceremony, name, answer}`,
//!   `DELETE /api/me/devices/{id}`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oriel_auth::webauthn::{RelyingParty, WebauthnError};
use serde::Deserialize;
use serde_json::json;

use crate::api::{authenticated, error, login_error, with_cookie};
use crate::web::AppState;

/// The relying party of the page that sent `headers`, or the refusal.
async fn relying_party(state: &AppState, headers: &HeaderMap) -> Result<RelyingParty, Response> {
    if let Err(refused) = state.origins.check(headers) {
        return Err(error(StatusCode::FORBIDDEN, refused));
    }
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or_default();
    let preference = state.plane.store().auth_preference().await.map_err(|e| {
        tracing::error!(error = %e, "cannot read the authentication preference");
        error(StatusCode::SERVICE_UNAVAILABLE, "the login service is unavailable, try again")
    })?;
    RelyingParty::for_origin(&preference, origin).map_err(webauthn_error)
}

fn webauthn_error(e: WebauthnError) -> Response {
    let status = match e {
        WebauthnError::Login(login) => return login_error(login),
        WebauthnError::UnknownChallenge | WebauthnError::BadName(_) => StatusCode::BAD_REQUEST,
        WebauthnError::Refused(ref reason) => {
            tracing::info!(%reason, "a security key's answer was refused");
            StatusCode::UNAUTHORIZED
        }
        WebauthnError::Origin(_) | WebauthnError::PasswordlessOff => StatusCode::FORBIDDEN,
        WebauthnError::NoDevices | WebauthnError::NoDevicesForSession | WebauthnError::LastFactor => StatusCode::CONFLICT,
        WebauthnError::NoSuchDevice => StatusCode::NOT_FOUND,
        WebauthnError::Busy => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, &e);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(60u64));
            return response;
        }
    };
    error(status, e)
}

/// A refused registration is a bad request, not a lost login: 401 would
/// send the page to the login form.
fn registration_error(e: WebauthnError) -> Response {
    match e {
        WebauthnError::Refused(reason) => {
            tracing::info!(%reason, "a security key's registration was refused");
            error(StatusCode::BAD_REQUEST, format!("the security key could not be registered: {reason}"))
        }
        other => webauthn_error(other),
    }
}

fn ceremony(begun: Result<(String, serde_json::Value), WebauthnError>) -> Response {
    match begun {
        Ok((ceremony, options)) => Json(json!({ "ceremony": ceremony, "options": options })).into_response(),
        Err(e) => webauthn_error(e),
    }
}

#[derive(Deserialize)]
pub struct BeginLogin {
    user: String,
}

pub async fn begin_login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<BeginLogin>,
) -> Response {
    match relying_party(&state, &headers).await {
        Ok(party) => ceremony(state.plane.begin_webauthn_login(&body.user, party, peer.ip()).await),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct FinishLogin {
    user: String,
    password: String,
    ceremony: String,
    answer: serde_json::Value,
}

pub async fn finish_login(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Json(body): Json<FinishLogin>) -> Response {
    match state.plane.finish_webauthn_login(&body.user, &body.password, &body.ceremony, &body.answer, peer.ip()).await {
        Ok(cookie) => {
            tracing::info!(user = %cookie.user, "logged in with a security key");
            with_cookie(&cookie)
        }
        Err(e) => {
            tracing::info!(user = %body.user, peer = %peer.ip(), error = %e, "security key login refused");
            login_error(e)
        }
    }
}

pub async fn begin_passwordless(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    match relying_party(&state, &headers).await {
        Ok(party) => ceremony(state.plane.begin_passwordless_login(party, peer.ip()).await),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct FinishPasswordless {
    ceremony: String,
    answer: serde_json::Value,
}

pub async fn finish_passwordless(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Json(body): Json<FinishPasswordless>) -> Response {
    match state.plane.finish_passwordless_login(&body.ceremony, &body.answer, peer.ip()).await {
        Ok(cookie) => {
            tracing::info!(user = %cookie.user, "logged in with a passkey");
            with_cookie(&cookie)
        }
        Err(e) => webauthn_error(e),
    }
}

pub async fn begin_invite(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(secret): Path<String>,
    headers: HeaderMap,
) -> Response {
    match relying_party(&state, &headers).await {
        Ok(party) => ceremony(state.plane.begin_invite_registration(&secret, party, peer.ip()).await),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct FinishInvite {
    password: String,
    ceremony: String,
    name: String,
    answer: serde_json::Value,
}

pub async fn finish_invite(State(state): State<AppState>, Path(secret): Path<String>, Json(body): Json<FinishInvite>) -> Response {
    match state.plane.accept_invite_with_device(&secret, &body.password, &body.ceremony, &body.name, &body.answer).await {
        Ok(cookie) => {
            tracing::info!(user = %cookie.user, "invite accepted with a security key");
            with_cookie(&cookie)
        }
        Err(WebauthnError::Login(oriel_auth::login::LoginError::Password(e))) => error(StatusCode::BAD_REQUEST, e),
        Err(e) => registration_error(e),
    }
}

pub async fn devices(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match authenticated(&state, &headers).await {
        Ok(logged_in) => logged_in.user,
        Err(response) => return response,
    };
    match state.plane.webauthn_devices(user.name.as_str()).await {
        Ok((devices, totp)) => {
            let devices: Vec<_> = devices
                .iter()
                .map(|d| {
                    json!({
                        "id": d.id,
                        "name": d.name,
                        "added": oriel_auth::audit::rfc3339(d.added),
                        "last_used": d.last_used.map(oriel_auth::audit::rfc3339),
                    })
                })
                .collect();
            Json(json!({ "devices": devices, "totp": totp })).into_response()
        }
        Err(e) => webauthn_error(e),
    }
}

pub async fn begin_device(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    let user = match authenticated(&state, &headers).await {
        Ok(logged_in) => logged_in.user,
        Err(response) => return response,
    };
    match relying_party(&state, &headers).await {
        Ok(party) => ceremony(state.plane.begin_device_registration(user.name.as_str(), party, peer.ip()).await),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub struct FinishDevice {
    ceremony: String,
    name: String,
    answer: serde_json::Value,
}

pub async fn finish_device(State(state): State<AppState>, headers: HeaderMap, Json(body): Json<FinishDevice>) -> Response {
    let user = match authenticated(&state, &headers).await {
        Ok(logged_in) => logged_in.user,
        Err(response) => return response,
    };
    match state.plane.finish_device_registration(user.name.as_str(), &body.ceremony, &body.name, &body.answer).await {
        Ok(device) => Json(json!({ "id": device.id, "name": device.name, "added": oriel_auth::audit::rfc3339(device.added) })).into_response(),
        Err(e) => registration_error(e),
    }
}

pub async fn remove_device(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let user = match authenticated(&state, &headers).await {
        Ok(logged_in) => logged_in.user,
        Err(response) => return response,
    };
    // A page of another site must not remove anyone's keys.
    if let Err(refused) = state.origins.check(&headers) {
        return error(StatusCode::FORBIDDEN, refused);
    }
    match state.plane.remove_device(user.name.as_str(), &id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => webauthn_error(e),
    }
}
