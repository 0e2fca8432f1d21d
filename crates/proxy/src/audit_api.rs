//! The audit log for the web UI: `GET /api/audit/events`, for users whose
//! roles have `rules` allowing `list` and `read` on `event` (the preset
//! `auditor` role); 401 without a login, 403 otherwise, 400 for a filter
//! that makes no sense.

use std::time::SystemTime;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use oriel_auth::audit::{AuditEvent, parse_types, time_bound};
use oriel_auth::store::EventQuery;
use serde::Deserialize;
use serde_json::json;

use crate::api::{authenticated, error};
use crate::web::AppState;

/// What reading the audit log takes.
pub const RESOURCE: &str = "event";
/// The verbs it takes.
pub const VERBS: [&str; 2] = ["list", "read"];

/// The query string: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventsQuery {
    since: String,
    until: String,
    /// Comma-separated event types.
    types: String,
    user: String,
    session: String,
    limit: usize,
    page: String,
    /// `asc` for oldest first.
    order: String,
}

pub async fn events(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<EventsQuery>) -> Response {
    let user = match authenticated(&state, &headers).await {
        Ok(logged_in) => logged_in.user,
        Err(response) => return response,
    };
    match state.plane.check_rules(user.name.as_str(), RESOURCE, &VERBS).await {
        Ok(Ok(())) => {}
        Ok(Err(reason)) => return error(StatusCode::FORBIDDEN, reason),
        Err(e) => {
            tracing::error!(error = %e, "cannot check who may read the audit log");
            return error(StatusCode::SERVICE_UNAVAILABLE, "the audit log is unavailable, try again");
        }
    }
    let now = SystemTime::now();
    let parsed = (|| {
        Ok::<_, String>(EventQuery {
            since: time_bound("since", &query.since, now)?,
            until: time_bound("until", &query.until, now)?,
            types: parse_types(std::slice::from_ref(&query.types))?,
            user: Some(query.user.clone()).filter(|u| !u.is_empty()),
            session: Some(query.session.clone()).filter(|s| !s.is_empty()),
            limit: query.limit.min(oriel_auth::store::MAX_PAGE),
            oldest_first: query.order == "asc",
            page: Some(query.page.clone()).filter(|p| !p.is_empty()),
        })
    })();
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match state.plane.events(&parsed).await {
        Ok(Ok(page)) => {
            let events: Vec<_> = page.events.iter().map(AuditEvent::to_json).collect();
            Json(json!({ "events": events, "next_page": page.next_page })).into_response()
        }
        Ok(Err(bad_page)) => error(StatusCode::BAD_REQUEST, bad_page),
        Err(e) => {
            tracing::error!(error = %e, "cannot list audit events");
            error(StatusCode::SERVICE_UNAVAILABLE, "the audit log is unavailable, try again")
        }
    }
}
