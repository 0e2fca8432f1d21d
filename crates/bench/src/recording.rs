//! `recording`: what recording a session costs and how fast its recording
//! seeks. Each scenario of `scenarios` (idle, typing, dragging a window,
//! `seq`) runs twice on a real 1920x1080 session, with the cluster's
//! recording mode `off` and then `node`: the recording's bytes per minute
//! (the growth of its `.part` file over the scenario) and the desktop
//! service's extra CPU. Then the `seq` session's recording, repeated to
//! make one hour, is sought to moments across that hour the way a player
//! does (the last keyframe before, its context, the records up to the
//! moment, all decoded) and each seek is timed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oriel_rbac::RecordingMode;
use oriel_recording::{Index, RecordingWriter, Scanner, Screen, parse_header, parse_record};
use oriel_tdpb::pb::Codec;
use tokio::runtime::Runtime;

use crate::browser::Transport;
use crate::desktop::{Desktop, Session, SessionTask};
use crate::report::{Samples, Table, kb, num};
use crate::scenarios::{self, Outcome};
use crate::xclients;

/// The length of the recording that is sought.
const HOUR_MS: u64 = 3_600_000;
/// Moments sought in it.
const SEEKS: u64 = 24;

pub async fn run(service_runtime: &Runtime, seconds: f64) -> anyhow::Result<String> {
    xclients::require()?;
    let length = Duration::from_secs_f64(seconds);
    let desktop = Desktop::start(service_runtime).await?;
    let mut rows = Vec::new();
    let mut seq_recording = None;
    for mode in [RecordingMode::Off, RecordingMode::Node] {
        let plane = desktop.plane.clone();
        let config = oriel_auth::resources::cluster_settings::SessionRecordingConfig { mode };
        service_runtime.spawn(async move { plane.store().put_session_recording_config(&config).await }).await??;
        for scenario in ["idle", "typing", "drag", "seq"] {
            let (client_end, task) = desktop.pipe(service_runtime);
            let mut session =
                Session::open(&desktop, Transport::Stream(Box::pin(client_end)), SessionTask::Handle(task), 1920, 1080, Codec::QoizSession).await?;
            let spool = desktop.dir().join("recording-spool");
            let before = part_size(&spool);
            let outcome = match scenario {
                "idle" => scenarios::idle(&mut session, length).await?,
                "typing" => scenarios::typing(&mut session, length).await?,
                "drag" => scenarios::drag(&mut session, length).await?,
                _ => scenarios::seq(&mut session, length, Duration::ZERO).await?,
            };
            // The writer task may be a batch behind the pumps.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let recorded = part_size(&spool).saturating_sub(before);
            session.close().await?;
            if mode == RecordingMode::Node && scenario == "seq" {
                seq_recording = Some(newest_recording(&desktop.dir().join("recordings")).await?);
            }
            rows.push((mode, outcome, recorded));
        }
    }
    let mut out = render(&rows);
    let file = seq_recording.ok_or_else(|| anyhow::anyhow!("no recording of the seq scenario"))?;
    out.push_str(&seek(&file)?);
    Ok(out)
}

/// The size of the one `.part` file in `spool` (0 when none: not recording).
fn part_size(spool: &Path) -> u64 {
    std::fs::read_dir(spool)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "part"))
        .filter_map(|entry| entry.metadata().ok())
        .map(|meta| meta.len())
        .sum()
}

/// The newest recording uploaded to `dir`, once the upload is done.
async fn newest_recording(dir: &Path) -> anyhow::Result<PathBuf> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)?
            .flatten()
            .filter(|entry| entry.path().extension().is_some_and(|e| e == "orec"))
            .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
            .collect();
        files.sort();
        if let Some((_, newest)) = files.pop() {
            return Ok(newest);
        }
        anyhow::ensure!(Instant::now() < deadline, "no recording was uploaded to {}", dir.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn render(rows: &[(RecordingMode, Outcome, u64)]) -> String {
    let mut table = Table::new(&["scenario", "recording", "s", "sent KB/s", "recorded MB per minute", "service CPU %", "extra CPU % for recording"]);
    for (mode, outcome, recorded) in rows {
        let wall = outcome.wall.as_secs_f64();
        let off = rows.iter().find(|(m, o, _)| *m == RecordingMode::Off && o.name == outcome.name).map(|(_, o, _)| o.cpu.service);
        let extra = match (mode, off) {
            (RecordingMode::Node, Some(off)) => num((outcome.cpu.service - off) * 100.0, 1),
            _ => "n/a".into(),
        };
        let per_minute = match mode {
            RecordingMode::Off => "n/a".into(),
            _ => num(*recorded as f64 / wall * 60.0 / 1e6, 2),
        };
        table.row(vec![
            outcome.name.clone(),
            mode.to_string(),
            num(wall, 1),
            kb(outcome.counters.bytes as f64 / wall),
            per_minute,
            num(outcome.cpu.service * 100.0, 1),
            extra,
        ]);
    }
    table.render()
}

/// Repeats the recording at `file` to one hour and times seeks in it.
fn seek(file: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(file)?;
    let one = check(&bytes)?;
    let (meta, header_len) = parse_header(&bytes)?.ok_or_else(|| anyhow::anyhow!("no header"))?;
    let period = u64::from(one.duration_ms).max(1);
    let (mut writer, mut hour) = RecordingWriter::start(&meta);
    let mut frame = Vec::new();
    for repeat in 0..HOUR_MS.div_ceil(period) {
        let mut at = header_len as u64;
        while at < one.records_end {
            let (record, len) = parse_record(&bytes[at as usize..], at)?.ok_or_else(|| anyhow::anyhow!("a record cut short"))?;
            frame.clear();
            frame.extend_from_slice(&(record.envelope.len() as u32).to_be_bytes());
            frame.extend_from_slice(record.envelope);
            let delay = u32::try_from(repeat * period + u64::from(record.delay_ms))?;
            writer.record(delay, record.source, &frame, &mut hour);
            at += len as u64;
        }
    }
    let (_, trailer) = writer.finish(u32::try_from(HOUR_MS)?);
    hour.extend_from_slice(&trailer);
    let index = check(&hour)?;
    let mut times = Samples::default();
    let mut decoded = Samples::default();
    for n in 0..SEEKS {
        // Spread over the hour, off the keyframes' own moments.
        let target = u32::try_from((n * 2 + 1) * HOUR_MS / (SEEKS * 2) + n * 997 % 9_000)?;
        let started = Instant::now();
        let records = seek_to(&hour, &index, target)?;
        times.push(started.elapsed());
        decoded.push_value(records as f64);
    }
    let mut table = Table::new(&["recording", "size MB", "keyframes", "seeks", "median ms", "p90 ms", "max ms", "records decoded per seek (median / max)"]);
    table.row(vec![
        format!("`seq` session repeated to {} min", HOUR_MS / 60_000),
        num(hour.len() as f64 / 1e6, 1),
        index.keyframes.len().to_string(),
        times.len().to_string(),
        num(times.median(), 1),
        num(times.p90(), 1),
        num(times.max(), 1),
        format!("{} / {}", decoded.median(), decoded.max()),
    ]);
    Ok(format!("\n{}", table.render()))
}

fn check(bytes: &[u8]) -> anyhow::Result<Index> {
    let mut scanner = Scanner::new();
    scanner.feed(bytes)?;
    Ok(scanner.finish()?.index)
}

/// Paints the moment `target` as a player seeks to it; how many records it took.
fn seek_to(file: &[u8], index: &Index, target: u32) -> anyhow::Result<usize> {
    let keyframe = index.keyframe_before(target).ok_or_else(|| anyhow::anyhow!("no keyframe before {target} ms"))?;
    let mut screen = Screen::new();
    for &at in &keyframe.context {
        let (record, _) = parse_record(&file[at as usize..], at)?.ok_or_else(|| anyhow::anyhow!("a context record cut short"))?;
        screen.apply(at, &record)?;
    }
    let mut at = keyframe.offset;
    let mut applied = 0;
    while at < index.records_end {
        let (record, len) = parse_record(&file[at as usize..], at)?.ok_or_else(|| anyhow::anyhow!("a record cut short"))?;
        if record.delay_ms > target {
            break;
        }
        screen.apply(at, &record)?;
        applied += 1;
        at += len as u64;
    }
    anyhow::ensure!(screen.size() == (1920, 1080), "the seek painted a {:?} screen", screen.size());
    Ok(applied)
}
