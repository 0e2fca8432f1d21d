//! `viewers`: sessions that outlive their connection and are shared.
//! (a) The time from a dropped connection to the picture back: the owner's
//! browser goes, a new one resumes the session (a fresh grant, the hello
//! the daemon answers, a keyframe), timed to the last rectangle of that
//! keyframe. (b) Frames and CPU with 1, 2 and 5 viewers on one session
//! (the owner and observers who joined), while `seq` scrolls a full-screen
//! xterm: each viewer decodes and acknowledges every frame it gets, on the
//! bench's thread, and only the owner's acknowledgements pace the session.

use std::time::{Duration, Instant};

use oriel_linux_desktop::SessionRequest;
use oriel_rbac::JoinMode;
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, Codec, ParticipantMode};
use tokio::runtime::Runtime;

use crate::browser::{Browser, Transport};
use crate::cpu::CpuMeter;
use crate::desktop::{self, Desktop, HELPER, Session, SessionTask};
use crate::report::{Samples, Table, kb, num};
use crate::xclients::{self, Clients};

const WIDTH: u32 = 1600;
const HEIGHT: u32 = 900;

pub async fn run(service_runtime: &Runtime, rounds: usize, seconds: f64) -> anyhow::Result<String> {
    xclients::require()?;
    let desktop = Desktop::with_grace(service_runtime, Duration::from_secs(600)).await?;
    let (pipe, task) = desktop.pipe(service_runtime);
    let mut session = Session::open(&desktop, Transport::Stream(Box::pin(pipe)), SessionTask::Handle(task), WIDTH, HEIGHT, Codec::QoizSession).await?;
    let resumes = resume_times(service_runtime, &desktop, &mut session, rounds).await?;
    let mut rows = Vec::new();
    for count in [1, 2, 5] {
        rows.push(shared(service_runtime, &desktop, &mut session, count, Duration::from_secs_f64(seconds)).await?);
    }
    session.browser.send(Payload::EndSession(pb::EndSession {})).await?;
    session.close().await?;
    Ok(render(&resumes, rounds, &rows, seconds))
}

/// The owner's connection drops and comes back `rounds` times: from the
/// new connection to the whole screen painted again.
async fn resume_times(service_runtime: &Runtime, desktop: &Desktop, session: &mut Session, rounds: usize) -> anyhow::Result<Samples> {
    let mut samples = Samples::default();
    for _ in 0..rounds {
        let request = SessionRequest {
            certificate: desktop.certificate.clone(),
            login: desktop.user().into(),
            session_id: Some(session.session_id.clone()),
            resume: true,
            join: None,
        };
        let started = Instant::now();
        // The old connection goes as the new one comes: a dropped network.
        let (pipe, _task) = desktop.serve(service_runtime, request);
        session.browser = Browser::new(Transport::Stream(Box::pin(pipe)));
        let hello = session.browser.hello(WIDTH, HEIGHT, Codec::QoizSession).await?;
        anyhow::ensure!(!hello.resumed_xsession.is_empty(), "the session was not resumed");
        let mut keyframe = false;
        session
            .browser
            .pump(Instant::now() + Duration::from_secs(30), |payload| {
                if let Payload::FrameRect(rect) = payload {
                    keyframe |= rect.keyframe;
                    return keyframe && rect.end_of_frame;
                }
                false
            })
            .await?;
        samples.push(started.elapsed());
        session.browser.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;
    }
    Ok(samples)
}

struct Shared {
    viewers: usize,
    owner_frames: u64,
    observer_frames: Vec<u64>,
    bytes_per_viewer: f64,
    service: f64,
    client: f64,
}

/// `seq` scrolling for `length` with the owner and `count - 1` observers.
async fn shared(service_runtime: &Runtime, desktop: &Desktop, session: &mut Session, count: usize, length: Duration) -> anyhow::Result<Shared> {
    session.browser.send(Payload::InviteParticipant(pb::InviteParticipant { user: HELPER.into(), mode: ParticipantMode::Observer as i32 })).await?;
    session.browser.wait_quiet(Duration::from_millis(200), Duration::from_secs(10)).await?;
    let certificate = desktop.certificate_of(service_runtime, HELPER).await?;
    let mut observers = Vec::new();
    for _ in 1..count {
        let request = SessionRequest {
            certificate: certificate.clone(),
            login: desktop.user().into(),
            session_id: Some(session.session_id.clone()),
            resume: false,
            join: Some(JoinMode::Observer),
        };
        let (pipe, _task) = desktop.serve(service_runtime, request);
        let mut observer = Browser::new(Transport::Stream(Box::pin(pipe)));
        observer.hello(WIDTH, HEIGHT, Codec::QoizSession).await?;
        observer.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;
        observers.push(observer);
    }

    let dir = tempfile::tempdir()?;
    let go = dir.path().join("go");
    let shell = format!("while [ ! -e '{go}' ]; do sleep 0.02; done; seq 1 100000000; exec sleep 3600", go = go.display());
    let mut clients = Clients::default();
    let mut args = xclients::xterm_args("bench-seq", "80x24+0+0", ("#1d1f21", "#c5c8c6"));
    args.extend(["-maximized", "-e", "sh", "-c", &shell]);
    clients.spawn(&session.display, "xterm", &args)?;
    desktop::wait_window(&mut session.browser, &session.display, "bench-seq").await?;
    session.browser.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;
    for observer in &mut observers {
        observer.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;
        observer.take_counters();
    }
    session.browser.take_counters();
    let meter = CpuMeter::start(session.xvfb_pid);
    std::fs::write(&go, b"")?;
    let started = Instant::now();
    while started.elapsed() < length {
        session.browser.pump(Instant::now() + Duration::from_millis(5), |_| false).await?;
        for observer in &mut observers {
            observer.pump(Instant::now() + Duration::from_millis(1), |_| false).await?;
        }
    }
    let cpu = meter.stop();
    let owner = session.browser.take_counters();
    let seen: Vec<_> = observers.iter_mut().map(Browser::take_counters).collect();
    clients.stop();
    drop(observers);
    session.browser.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;
    let total_bytes = owner.bytes + seen.iter().map(|c| c.bytes).sum::<u64>();
    Ok(Shared {
        viewers: count,
        owner_frames: owner.frames,
        observer_frames: seen.iter().map(|c| c.frames).collect(),
        bytes_per_viewer: total_bytes as f64 / count as f64 / started.elapsed().as_secs_f64(),
        service: cpu.service,
        client: cpu.client,
    })
}

fn render(resumes: &Samples, rounds: usize, rows: &[Shared], seconds: f64) -> String {
    let mut out = format!(
        "## viewers\n\n(a) Resume: the owner's connection drops and a new one resumes the session, {rounds} times, {WIDTH}x{HEIGHT}, \
         an idle openbox + xterm desktop. From the new connection to the last rectangle of the keyframe: \
         p50 {} ms, p95 {} ms (a fresh grant from the control plane, the daemon's hello, the whole screen encoded and decoded). \
         A browser adds its reconnect backoff (0.5 s first) and its TLS and websocket handshakes.\n\n",
        num(resumes.median(), 1),
        num(resumes.quantile(0.95), 1)
    );
    out.push_str(&format!(
        "(b) One session shared: `seq` scrolling a maximised xterm for {seconds} s at {WIDTH}x{HEIGHT}, CODEC_QOIZ_SESSION; the owner and \
         observers decode and acknowledge on the bench's thread; only the owner's acks pace the frames.\n\n"
    ));
    let mut table =
        Table::new(&["viewers", "owner frames/s", "observers' frames/s (each)", "KB/s per viewer", "service CPU (cores)", "viewers' decoding (cores)"]);
    for row in rows {
        let observers = if row.observer_frames.is_empty() {
            "—".to_owned()
        } else {
            row.observer_frames.iter().map(|f| num(*f as f64 / seconds, 1)).collect::<Vec<_>>().join(", ")
        };
        table.row(vec![
            row.viewers.to_string(),
            num(row.owner_frames as f64 / seconds, 1),
            observers,
            kb(row.bytes_per_viewer),
            num(row.service, 2),
            num(row.client, 2),
        ]);
    }
    out.push_str(&table.render());
    out
}
