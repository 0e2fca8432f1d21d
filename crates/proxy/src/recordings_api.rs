//! Session recordings for the web UI (`docs/recording.md`):
//! `GET /api/recordings` lists them, `GET /api/recordings/{id}` gives one's
//! entry and keyframe index, `GET /api/recordings/{id}/data` its bytes, by
//! `Range` for the player. Who sees which is the roles' `session` rules:
//! 403 with the reason when they allow nothing, 404 for a recording that is
//! not there or not the caller's to see (the same answer: ids cannot be
//! probed).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oriel_auth::audit::time_bound;
use oriel_auth::recordings::{OpenRecording, RecordingAccess, RecordingError};
use oriel_auth::store::{MAX_RECORDING_PAGE, RecordingQuery};
use serde::Deserialize;
use serde_json::json;

use crate::api::{authenticated, error};
use crate::byte_range::{ByteRange, RangeAnswer};
use crate::web::AppState;

/// The most bytes one answer carries: the player reads 1 MiB at a time,
/// and an answer without `Range` is sent in pieces of this size.
const MAX_READ: u64 = 8 << 20;

/// The list's query string: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    since: String,
    until: String,
    user: String,
    desktop: String,
    limit: usize,
    page: String,
}

/// The caller's access, or the answer that ends the request.
async fn access(state: &AppState, headers: &HeaderMap) -> Result<RecordingAccess, Response> {
    let user = authenticated(state, headers).await?.user;
    match state.plane.recording_access(user.name.as_str()).await {
        Ok(Ok(access)) => Ok(access),
        Ok(Err(reason)) => Err(error(StatusCode::FORBIDDEN, reason)),
        Err(e) => {
            tracing::error!(error = %e, "cannot check who may watch recordings");
            Err(error(StatusCode::SERVICE_UNAVAILABLE, "recordings are unavailable, try again"))
        }
    }
}

fn recording_error(e: RecordingError) -> Response {
    match e {
        RecordingError::NotFound => error(StatusCode::NOT_FOUND, "recording not found"),
        RecordingError::Invalid(reason) => error(StatusCode::UNPROCESSABLE_ENTITY, format!("the recording is damaged: {reason}")),
        other => {
            tracing::error!(error = %other, "cannot read a recording");
            error(StatusCode::SERVICE_UNAVAILABLE, "recordings are unavailable, try again")
        }
    }
}

pub async fn list(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<ListQuery>) -> Response {
    let access = match access(&state, &headers).await {
        Ok(access) => access,
        Err(response) => return response,
    };
    let now = std::time::SystemTime::now();
    let parsed = (|| {
        Ok::<_, String>(RecordingQuery {
            since: time_bound("since", &query.since, now)?,
            until: time_bound("until", &query.until, now)?,
            user: Some(query.user.clone()).filter(|u| !u.is_empty()),
            desktop: Some(query.desktop.clone()).filter(|d| !d.is_empty()),
            limit: query.limit.min(MAX_RECORDING_PAGE),
            page: Some(query.page.clone()).filter(|p| !p.is_empty()),
        })
    })();
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    match state.plane.recordings(&access, &parsed).await {
        Ok(page) => Json(json!({ "recordings": page.recordings, "next_page": page.next_page })).into_response(),
        Err(e) => recording_error(e),
    }
}

async fn open(state: &AppState, headers: &HeaderMap, id: &str) -> Result<OpenRecording, Response> {
    let access = access(state, headers).await?;
    state.plane.open_recording(&access, id).await.map_err(recording_error)
}

pub async fn describe(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    match open(&state, &headers, &id).await {
        Ok(recording) => {
            let mut body = serde_json::to_value(&recording.record).expect("plain fields serialize");
            body["index"] = serde_json::to_value(&recording.index).expect("numbers serialize");
            Json(body).into_response()
        }
        Err(response) => response,
    }
}

pub async fn data(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let recording = match open(&state, &headers, &id).await {
        Ok(recording) => recording,
        Err(response) => return response,
    };
    let asked = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match ByteRange::answer(asked, recording.len, MAX_READ) {
        RangeAnswer::Whole => return whole(recording),
        RangeAnswer::Part(range) => range,
        RangeAnswer::Unsatisfiable => {
            let mut response = error(StatusCode::RANGE_NOT_SATISFIABLE, "the range is outside the recording");
            response.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{}", recording.len)).expect("ASCII"));
            return response;
        }
    };
    match recording.read(range.start..range.end).await {
        Ok(bytes) => {
            let content_range = format!("bytes {}-{}/{}", range.start, range.end - 1, recording.len);
            let mut response = (StatusCode::PARTIAL_CONTENT, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            headers.insert(header::CONTENT_RANGE, HeaderValue::from_str(&content_range).expect("ASCII"));
            headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            response
        }
        Err(e) => recording_error(e),
    }
}

/// The whole file, read and sent a piece at a time.
fn whole(recording: OpenRecording) -> Response {
    let len = recording.len;
    let pieces = futures_util::stream::unfold((recording, 0u64), |(recording, at)| async move {
        if at >= recording.len {
            return None;
        }
        let end = (at + MAX_READ).min(recording.len);
        let piece = recording.read(at..end).await.map_err(std::io::Error::other);
        Some((piece, (recording, end)))
    });
    let mut response = Body::from_stream(pieces).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response
}
