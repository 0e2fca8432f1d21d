//! Single sign-on through OIDC connectors (`oriel_auth::sso`):
//!
//! - `GET /api/sso/connectors`: `{connectors: [{kind, name, display}],
//!   local}`, for the login page's buttons (`local`: password logins are
//!   open);
//! - `GET /api/sso/oidc/{name}/login`: 303 to the identity provider, with
//!   the login's binding secret in the `__Host-oriel_sso` cookie;
//! - `GET /api/sso/oidc/callback?state&code` (the connector's
//!   `redirect_url`): with that cookie, the login finishes: the session
//!   cookie and 303 to `/web`. Any failure: 303 to
//!   `/web/login?sso_error=<why>`, which the login page shows.
//!
//! The binding cookie is `SameSite=Lax` (the provider's redirect back is a
//! cross-site navigation, which Lax still sends), lives as long as a login
//! may wait, and is cleared by the callback either way.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oriel_auth::sso::{SSO_LOGIN_TTL, SsoError};
use serde::Deserialize;
use serde_json::json;

use crate::api::{cookie, error, set_session_cookie};
use crate::web::AppState;

/// The binding cookie of a login in progress.
const SSO_COOKIE: &str = "__Host-oriel_sso";

/// The connectors, for the login page (the cluster's default first), and
/// whether password logins are open (`local`).
pub(crate) async fn connectors(State(state): State<AppState>) -> Response {
    let listed = async { Ok::<_, SsoError>((state.plane.sso_connectors().await?, state.plane.store().auth_preference().await?.allow_local_auth)) };
    match listed.await {
        Ok((connectors, local)) => {
            let list: Vec<_> = connectors.iter().map(|c| json!({ "kind": c.kind, "name": c.name, "display": c.display })).collect();
            Json(json!({ "connectors": list, "local": local })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot list the single sign-on connectors");
            error(StatusCode::SERVICE_UNAVAILABLE, "the login service is unavailable, try again")
        }
    }
}

/// Sends the browser to the connector's identity provider.
pub(crate) async fn begin(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<SocketAddr>, Path(name): Path<String>) -> Response {
    match state.plane.begin_oidc_login(&name, peer.ip()).await {
        Ok(redirect) => {
            let mut response = see_other(&redirect.url);
            let binding = format!("{SSO_COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age={}", redirect.binding, SSO_LOGIN_TTL.as_secs());
            response.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&binding).expect("hex cookie"));
            response
        }
        Err(e) => failed(&e),
    }
}

#[derive(Deserialize)]
pub(crate) struct Callback {
    #[serde(default)]
    state: String,
    #[serde(default)]
    code: String,
    /// Set instead of `code` when the provider refused.
    error: Option<String>,
    error_description: Option<String>,
}

/// The identity provider's redirect back.
pub(crate) async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(answer): Query<Callback>,
) -> Response {
    let outcome = match &answer.error {
        Some(refused) => Err(state.plane.refused_oidc_login(&answer.state, answer.error_description.as_deref().unwrap_or(refused), peer.ip()).await),
        None => state.plane.finish_oidc_login(&answer.state, &answer.code, cookie(&headers, SSO_COOKIE).as_deref(), peer.ip()).await,
    };
    let mut response = match outcome {
        Ok(session) => {
            tracing::info!(user = %session.user, "logged in through single sign-on");
            let mut response = see_other("/web");
            response.headers_mut().append(header::SET_COOKIE, set_session_cookie(&session));
            response
        }
        Err(e) => failed(&e),
    };
    let clear = format!("{SSO_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0");
    response.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&clear).expect("ascii cookie"));
    response
}

/// Back to the login page, which shows why.
fn failed(e: &SsoError) -> Response {
    tracing::info!(error = %e, "single sign-on login refused");
    let why: String = url::form_urlencoded::byte_serialize(e.to_string().as_bytes()).collect();
    see_other(&format!("/web/login?sso_error={why}"))
}

fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => error(StatusCode::BAD_GATEWAY, "the identity provider's address cannot be sent to the browser"),
    }
}
