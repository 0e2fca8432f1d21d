//! `recordings ls`: the session recordings an administrator may watch (all
//! of them), newest first, with who, where, when, how long and how big.

use std::time::SystemTime;

use oriel_auth::audit::time_bound;
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::store::{MAX_RECORDING_PAGE, RecordingQuery};

use crate::Failure;
use crate::outcome::{table, yaml};
use crate::proto::{self, Outcome};

pub(super) async fn list(plane: &ControlPlane, request: proto::ListRecordings) -> Result<Outcome, Failure> {
    let now = SystemTime::now();
    if request.limit as usize > MAX_RECORDING_PAGE {
        return Err(Failure::invalid(format!("--limit is at most {MAX_RECORDING_PAGE}")));
    }
    let query = RecordingQuery {
        since: time_bound("--since", &request.since, now).map_err(Failure::invalid)?,
        until: time_bound("--until", &request.until, now).map_err(Failure::invalid)?,
        user: Some(request.user).filter(|u| !u.is_empty()),
        desktop: Some(request.desktop).filter(|d| !d.is_empty()),
        limit: request.limit as usize,
        page: None,
    };
    let page = plane.store().recordings(&query, |_| true).await?;
    let rows = page
        .recordings
        .iter()
        .map(|r| {
            let duration = clock(r.duration_ms);
            vec![r.id.clone(), r.start.clone(), duration, r.user.clone(), r.login.clone(), r.desktop.clone(), r.size.to_string()]
        })
        .collect();
    let json: Vec<serde_json::Value> = page.recordings.iter().map(|r| serde_json::to_value(r).expect("plain fields serialize")).collect();
    Ok(Outcome {
        table: Some(table(&["ID", "Start (UTC)", "Duration", "User", "Login", "Desktop", "Bytes"], rows)),
        json: json.iter().map(serde_json::Value::to_string).collect::<Vec<_>>().join("\n"),
        yaml: json.iter().map(|r| yaml(r, 0)).collect::<Vec<_>>().join("---\n"),
        ..Outcome::default()
    })
}

/// A duration as a player shows it: `m:ss`, or `h:mm:ss` from an hour.
fn clock(ms: u64) -> String {
    let seconds = ms / 1000;
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    match hours {
        0 => format!("{minutes}:{seconds:02}"),
        _ => format!("{hours}:{minutes:02}:{seconds:02}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_on_a_player() {
        assert_eq!(super::clock(30_999), "0:30");
        assert_eq!(super::clock(62_000), "1:02");
        assert_eq!(super::clock(3_723_000), "1:02:03");
    }
}
