//! The JSON API of the web UI: login, invites, the user and their desktops.
//! A logged-in browser holds the `__Host-oriel_session` cookie (HttpOnly,
//! Secure, SameSite=Strict, Path=/, no Domain); nothing else authenticates
//! it. The `__Host-` prefix makes browsers refuse the cookie unless it is
//! Secure, host-only and for the whole site, so a neighbouring subdomain or
//! a plain-HTTP page cannot set or shadow it.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oriel_auth::login::{LoginError, SessionCookie, SessionUser};
use serde::Deserialize;
use serde_json::json;

use crate::web::AppState;

/// The session cookie's name.
pub const COOKIE: &str = "__Host-oriel_session";

/// A JSON error the web UI shows as is.
pub fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

pub(crate) fn login_error(e: LoginError) -> Response {
    let (status, retry_after) = match &e {
        LoginError::Rejected => (StatusCode::UNAUTHORIZED, None),
        LoginError::Throttled(t) => (StatusCode::TOO_MANY_REQUESTS, Some(t.retry_after)),
        LoginError::Busy(b) => (StatusCode::TOO_MANY_REQUESTS, Some(b.retry_after)),
        LoginError::BadInvite => (StatusCode::NOT_FOUND, None),
        LoginError::Password(_) | LoginError::Code(_) | LoginError::StaleChallenge => (StatusCode::BAD_REQUEST, None),
        LoginError::MethodNotAllowed(_) | LoginError::LocalLoginsOff => (StatusCode::FORBIDDEN, None),
        LoginError::Unavailable(_) | LoginError::Certificate(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
    };
    if status == StatusCode::SERVICE_UNAVAILABLE {
        tracing::error!(error = %e, "login failed on our side");
    }
    let mut response = error(status, e);
    if let Some(wait) = retry_after {
        // Whole seconds, rounded up: a client that honours it is not refused again at once.
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

pub(crate) fn with_cookie(cookie: &SessionCookie) -> Response {
    let mut response = Json(json!({ "user": cookie.user })).into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_session_cookie(cookie));
    response
}

/// The `Set-Cookie` value of a new web session.
pub(crate) fn set_session_cookie(cookie: &SessionCookie) -> HeaderValue {
    let max_age = cookie.expires.duration_since(std::time::SystemTime::now()).map_or(0, |d| d.as_secs());
    let value = format!("{COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}", cookie.secret);
    HeaderValue::from_str(&value).expect("hex cookie")
}

/// The session cookie's value, if the request carries one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of the cookie `name`, if the request carries it.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        .map(str::to_owned)
}

/// The logged-in user and their web session, or a 401 response.
pub async fn authenticated(state: &AppState, headers: &HeaderMap) -> Result<SessionUser, Response> {
    let Some(secret) = session_cookie(headers) else {
        return Err(error(StatusCode::UNAUTHORIZED, "log in first"));
    };
    state.plane.session_user(&secret).await.ok_or_else(|| error(StatusCode::UNAUTHORIZED, "your session has ended; log in again"))
}

#[derive(Deserialize)]
pub struct LoginBody {
    user: String,
    password: String,
    totp_code: String,
}

pub async fn login(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Json(body): Json<LoginBody>) -> Response {
    match state.plane.login(&body.user, &body.password, &body.totp_code, peer.ip()).await {
        Ok(cookie) => {
            tracing::info!(user = %cookie.user, "logged in");
            with_cookie(&cookie)
        }
        // Refusals before any check are only debug: a flood must not flood the log too.
        Err(e @ (LoginError::Throttled(_) | LoginError::Busy(_))) => {
            tracing::debug!(user = %body.user, peer = %peer.ip(), error = %e, "login refused unchecked");
            login_error(e)
        }
        Err(e) => {
            tracing::info!(user = %body.user, peer = %peer.ip(), error = %e, "login refused");
            login_error(e)
        }
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    if let Some(secret) = session_cookie(&headers)
        && let Err(error) = state.plane.logout(&secret).await
    {
        // The session may still be live: say so instead of a logout.
        tracing::warn!(%error, "logout failed");
        let body = Json(json!({ "error": "the logout could not be recorded; try again" }));
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::SET_COOKIE, clear)], body).into_response();
    }
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response()
}

pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match authenticated(&state, &headers).await {
        Ok(SessionUser { user, .. }) => {
            // What the web UI offers: the audit log only to those it would show it to.
            let can_read_events = matches!(state.plane.check_rules(user.name.as_str(), crate::audit_api::RESOURCE, &crate::audit_api::VERBS).await, Ok(Ok(())));
            let can_list_recordings = matches!(state.plane.recording_access(user.name.as_str()).await, Ok(Ok(_)));
            Json(json!({
                "user": user.name.as_str(),
                "roles": user.roles,
                "cluster": state.cluster,
                "can_read_events": can_read_events,
                "can_list_recordings": can_list_recordings,
            }))
            .into_response()
        }
        Err(response) => response,
    }
}

pub async fn enrollment(State(state): State<AppState>, Path(secret): Path<String>) -> Response {
    match state.plane.enrollment(&secret).await {
        Ok(e) => Json(json!({ "user": e.user, "totp_url": e.totp_url, "totp_secret": e.totp_secret })).into_response(),
        Err(e) => login_error(e),
    }
}

#[derive(Deserialize)]
pub struct AcceptBody {
    password: String,
    totp_code: String,
}

pub async fn accept_invite(State(state): State<AppState>, Path(secret): Path<String>, Json(body): Json<AcceptBody>) -> Response {
    match state.plane.accept_invite(&secret, &body.password, &body.totp_code).await {
        Ok(cookie) => {
            tracing::info!(user = %cookie.user, "invite accepted");
            with_cookie(&cookie)
        }
        Err(e) => login_error(e),
    }
}

pub async fn desktops(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match authenticated(&state, &headers).await {
        Ok(logged_in) => logged_in.user,
        Err(response) => return response,
    };
    match state.plane.visible_desktops(user.name.as_str()).await {
        Ok(list) => {
            let desktops: Vec<_> = list
                .iter()
                .map(|(d, logins)| {
                    json!({ "kind": d.kind.as_str(), "name": d.name, "hostname": d.hostname, "addr": d.addr, "labels": d.labels, "logins": logins })
                })
                .collect();
            Json(json!({ "cluster": state.cluster, "desktops": desktops })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot list desktops");
            error(StatusCode::SERVICE_UNAVAILABLE, "the desktop list is unavailable, try again")
        }
    }
}
