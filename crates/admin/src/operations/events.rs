//! `events ls`: a page of the audit log as a table (the common fields and
//! a short summary of the rest), JSON lines (one event per line, as a SIEM
//! reads them) or YAML documents.

use std::time::SystemTime;

use oriel_auth::audit::{AuditEvent, EventType, parse_types, rfc3339, time_bound};
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::store::{EventQuery, MAX_PAGE};

use crate::Failure;
use crate::outcome::{table, yaml};
use crate::proto::{self, Outcome};

pub(super) async fn list(plane: &ControlPlane, request: proto::ListEvents) -> Result<Outcome, Failure> {
    let now = SystemTime::now();
    let types = parse_types(&request.types).map_err(Failure::invalid)?;
    if request.limit as usize > MAX_PAGE {
        return Err(Failure::invalid(format!("--limit is at most {MAX_PAGE} a page")));
    }
    let query = EventQuery {
        since: time_bound("--since", &request.since, now).map_err(Failure::invalid)?,
        until: time_bound("--until", &request.until, now).map_err(Failure::invalid)?,
        types,
        user: Some(request.user).filter(|u| !u.is_empty()),
        session: Some(request.session).filter(|s| !s.is_empty()),
        limit: request.limit as usize,
        oldest_first: request.oldest_first,
        page: Some(request.page).filter(|p| !p.is_empty()),
    };
    let page = plane.events(&query).await?.map_err(|bad| Failure::invalid(bad.to_string()))?;
    Ok(render(&page.events, page.next_page.unwrap_or_default()))
}

/// A listing of `events`.
pub(crate) fn render(events: &[AuditEvent], next_page: String) -> Outcome {
    let rows = events
        .iter()
        .map(|e| vec![rfc3339(e.time), e.event.name().to_owned(), e.code().to_owned(), e.user.clone(), e.sid.clone().unwrap_or_default(), summary(e)])
        .collect();
    let json: Vec<serde_json::Value> = events.iter().map(AuditEvent::to_json).collect();
    Outcome {
        table: Some(table(&["Time (UTC)", "Event", "Code", "User", "Session", "Details"], rows)),
        json: json.iter().map(serde_json::Value::to_string).collect::<Vec<_>>().join("\n"),
        yaml: json.iter().map(|event| yaml(event, 0)).collect::<Vec<_>>().join("---\n"),
        next_page,
        ..Outcome::default()
    }
}

/// The fields worth a glance, by type.
fn summary(event: &AuditEvent) -> String {
    let fields: &[&str] = match event.event {
        EventType::LinuxSessionStart => &["linux_user", "desktop_name", "error"],
        EventType::LinuxSessionEnd => &["linux_user", "desktop_name", "reason"],
        EventType::ClipboardSend | EventType::ClipboardReceive => &["desktop_name", "length"],
        EventType::DirectoryShare => &["directory_name", "error"],
        EventType::DirectoryRead | EventType::DirectoryWrite => &["directory_name", "file_path", "offset", "length", "error"],
        EventType::ClientDisconnect => &["linux_user", "desktop_name", "reason"],
        EventType::UserLogin => &["method", "remote_addr", "error"],
        EventType::InstanceJoin => &["host_id", "role", "error"],
        _ => &["name", "change"],
    };
    fields
        .iter()
        .filter_map(|name| {
            let value = event.fields.get(*name)?;
            let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            Some(format!("{name}={text}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}
