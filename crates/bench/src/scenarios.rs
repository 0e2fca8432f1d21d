//! `scenarios`: what a real session sends and costs while a person uses it:
//! idle, typing, `seq 1 1000000` in a full-screen xterm, dragging a window.
//! The real service, the real Xvfb, openbox and xterm; the bench is the
//! browser, decoding and acknowledging every frame.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use oriel_tdpb::pb::{Codec, MouseButtonType};
use tokio::runtime::Runtime;

use crate::browser::Counters;
use crate::cpu::{CpuMeter, CpuShare};
use crate::desktop::{self, Session};
use crate::keys;
use crate::report::{Table, kb, num};
use crate::teleport_style::{TeleportStyle, Totals};
use crate::xclients::{self, Clients};

const TYPED: &str = "echo the quick brown fox jumps over the lazy dog\n";
/// A slow client's ack delay, for the pacing check.
const SLOW_ACK: Duration = Duration::from_millis(100);

/// One measured scenario.
pub struct Outcome {
    pub name: String,
    pub wall: Duration,
    pub counters: Counters,
    pub cpu: CpuShare,
    pub note: String,
    /// What a Teleport-style encoder watching the same screen would have sent.
    pub teleport_style: Option<Totals>,
}

/// A measured stretch of a session: counters and CPU from here on, and a
/// Teleport-style encoder watching the same screen.
struct Window {
    started: Instant,
    meter: CpuMeter,
    teleport_style: Option<TeleportStyle>,
}

impl Window {
    fn open(session: &mut Session) -> anyhow::Result<Self> {
        let teleport_style = if session.beside_teleport_style { Some(TeleportStyle::watch(&session.display)?) } else { None };
        session.browser.take_counters();
        Ok(Self { started: Instant::now(), meter: CpuMeter::start(session.xvfb_pid), teleport_style })
    }

    fn close(self, session: &mut Session, name: &str, note: String) -> anyhow::Result<Outcome> {
        // The meter reads the encoder's thread while it still runs.
        let cpu = self.meter.stop();
        let wall = self.started.elapsed();
        let counters = session.browser.take_counters();
        let teleport_style = self.teleport_style.map(TeleportStyle::stop).transpose()?;
        Ok(Outcome { name: name.to_owned(), wall, counters, cpu, note, teleport_style })
    }
}

pub async fn run(service_runtime: &Runtime, seconds: f64) -> anyhow::Result<String> {
    xclients::require()?;
    let length = Duration::from_secs_f64(seconds);
    let mut outcomes = Vec::new();
    // The web client's codec, then the same motion with the older codecs for comparison.
    let mut session = Session::start(service_runtime, 1920, 1080, Codec::QoizSession).await?;
    session.beside_teleport_style = true;
    let result = async {
        outcomes.push(idle(&mut session, length).await?);
        outcomes.push(typing(&mut session, length).await?);
        outcomes.push(drag(&mut session, length).await?);
        outcomes.push(seq(&mut session, length, Duration::ZERO).await?);
        outcomes.push(seq(&mut session, length / 2, SLOW_ACK).await?);
        anyhow::Ok(())
    }
    .await;
    let closed = session.close().await;
    result?;
    closed?;
    for (codec, label) in [(Codec::QoizStream, "CODEC_QOIZ_STREAM"), (Codec::Qoiz, "CODEC_QOIZ")] {
        let mut session = Session::start(service_runtime, 1920, 1080, codec).await?;
        let result = async {
            let mut o = drag(&mut session, length / 2).await?;
            o.name = format!("{}, {label}", o.name);
            outcomes.push(o);
            let mut o = seq(&mut session, length / 2, Duration::ZERO).await?;
            o.name = format!("{}, {label}", o.name);
            outcomes.push(o);
            anyhow::Ok(())
        }
        .await;
        let closed = session.close().await;
        result?;
        closed?;
    }
    Ok(render(&outcomes, seconds))
}

pub async fn idle(session: &mut Session, length: Duration) -> anyhow::Result<Outcome> {
    let window = Window::open(session)?;
    session.browser.pump(Instant::now() + length, |_| false).await?;
    window.close(session, "(a) idle desktop", "openbox, one xterm, nothing moving".into())
}

pub async fn typing(session: &mut Session, length: Duration) -> anyhow::Result<Outcome> {
    session.focus_terminal().await?;
    let window = Window::open(session)?;
    let end = Instant::now() + length;
    let mut typed = 0;
    for c in TYPED.chars().cycle() {
        if Instant::now() >= end {
            break;
        }
        let scancode = keys::scancode(c).context("untypeable character")?;
        session.browser.key(scancode, true).await?;
        session.browser.pump(Instant::now() + Duration::from_millis(50), |_| false).await?;
        session.browser.key(scancode, false).await?;
        session.browser.pump(Instant::now() + Duration::from_millis(50), |_| false).await?;
        typed += 1;
    }
    let note = format!("{typed} keys at 10/s into the xterm's bash (echo lines)");
    let outcome = window.close(session, "(b) typing in an xterm", note)?;
    session.browser.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;
    Ok(outcome)
}

/// Drags the session's xterm by its title bar with the left button held,
/// in a slow ellipse, as a person would; openbox moves the window.
pub async fn drag(session: &mut Session, length: Duration) -> anyhow::Result<Outcome> {
    let (x, y, width, _) = session.display.geometry(&session.terminal)?;
    // The client area starts below openbox's title bar.
    let (grab_x, grab_y) = (x + width / 2, y - 8);
    session.browser.mouse_move(grab_x, grab_y).await?;
    session.browser.wait_quiet(Duration::from_millis(200), Duration::from_secs(10)).await?;
    let window = Window::open(session)?;
    session.browser.mouse_button(MouseButtonType::MouseButtonLeft, true).await?;
    let started = Instant::now();
    let mut moved_to = (x, y);
    while started.elapsed() < length {
        let t = started.elapsed().as_secs_f64();
        let dx = (300.0 * (1.0 - (t * std::f64::consts::TAU / 2.0).cos())) as i32;
        let dy = (150.0 * (t * std::f64::consts::TAU / 3.0).sin()) as i32;
        session.browser.mouse_move(grab_x + dx, grab_y + dy).await?;
        session.browser.pump(Instant::now() + Duration::from_micros(16_667), |_| false).await?;
        if (t * 10.0) as u32 % 25 == 12 && moved_to == (x, y) {
            let (nx, ny, ..) = session.display.geometry(&session.terminal)?;
            moved_to = (nx, ny);
        }
    }
    if moved_to == (x, y) {
        let (nx, ny, ..) = session.display.geometry(&session.terminal)?;
        moved_to = (nx, ny);
    }
    session.browser.mouse_button(MouseButtonType::MouseButtonLeft, false).await?;
    let note = if moved_to == (x, y) {
        "WARNING: openbox did not move the window (drag not recognised)".to_owned()
    } else {
        format!("TDPB MouseMove at 60/s with the left button held on the title bar; openbox moved the window (seen at {moved_to:?})")
    };
    let outcome = window.close(session, "(d) dragging a window", note)?;
    session.browser.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;
    Ok(outcome)
}

/// `seq 1 1000000` in a maximised xterm, started once the xterm has settled.
pub async fn seq(session: &mut Session, length: Duration, ack_delay: Duration) -> anyhow::Result<Outcome> {
    let (mut outcome, finished) = flood(session, "seq 1 1000000", length, ack_delay).await?;
    let progress = match finished {
        Some(at) => format!("seq finished after {:.1} s", at.as_secs_f64()),
        None => "seq still running at the end".into(),
    };
    if ack_delay.is_zero() {
        outcome.name = "(c) `seq 1 1000000`, full-screen xterm".into();
        outcome.note = progress;
    } else {
        outcome.name = format!("(c') the same, client acks {} ms late", ack_delay.as_millis());
        outcome.note = format!("{progress}; at most {} frames decoded and unacknowledged at once", outcome.counters.max_unacked);
    }
    Ok(outcome)
}

/// The shell `command` in a maximised xterm, started once the xterm has
/// settled, measured for `length` with every ack held back `ack_delay`.
/// Returns when the command finished, if it did within `length`. The
/// outcome has no name or note yet.
pub async fn flood(session: &mut Session, command: &str, length: Duration, ack_delay: Duration) -> anyhow::Result<(Outcome, Option<Duration>)> {
    let dir = tempfile::tempdir()?;
    let go = dir.path().join("go");
    let done = dir.path().join("done");
    let shell = format!("while [ ! -e '{go}' ]; do sleep 0.02; done; {command}; touch '{done}'; exec sleep 3600", go = go.display(), done = done.display());
    let mut clients = Clients::default();
    let mut args = xclients::xterm_args("bench-seq", "80x24+0+0", ("#1d1f21", "#c5c8c6"));
    args.extend(["-maximized", "-e", "sh", "-c", &shell]);
    clients.spawn(&session.display, "xterm", &args)?;
    desktop::wait_window(&mut session.browser, &session.display, "bench-seq").await?;
    session.browser.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;

    session.browser.ack_delay = ack_delay;
    let window = Window::open(session)?;
    std::fs::write(&go, b"")?;
    let started = Instant::now();
    let mut finished = None;
    while started.elapsed() < length {
        session.browser.pump(Instant::now() + Duration::from_millis(50), |_| false).await?;
        if finished.is_none() && done.exists() {
            finished = Some(started.elapsed());
        }
    }
    let outcome = window.close(session, "", String::new())?;
    session.browser.ack_delay = Duration::ZERO;
    clients.stop();
    session.browser.wait_quiet(Duration::from_millis(300), Duration::from_secs(10)).await?;
    Ok((outcome, finished))
}

fn render(outcomes: &[Outcome], seconds: f64) -> String {
    let mut table = Table::new(&[
        "scenario",
        "s",
        "KB/s",
        "frames/s",
        "rects/frame",
        "KB/frame",
        "service CPU %",
        "of which frame loop %",
        "Xvfb CPU %",
        "client CPU % (decode)",
        "machine CPU % (of 200)",
        "keyframe rects",
        "notes",
    ]);
    for o in outcomes {
        let wall = o.wall.as_secs_f64();
        let c = &o.counters;
        let per_frame = |v: f64| if c.frames == 0 { f64::NAN } else { v / c.frames as f64 };
        table.row(vec![
            o.name.clone(),
            num(wall, 1),
            kb(c.bytes as f64 / wall),
            num(c.frames as f64 / wall, 1),
            num(per_frame(c.rects as f64), 1),
            kb(per_frame(c.bytes as f64)),
            num(o.cpu.service * 100.0, 1),
            num(o.cpu.frame_loop * 100.0, 1),
            num(o.cpu.xvfb * 100.0, 1),
            format!("{} ({})", num(o.cpu.client * 100.0, 1), num(c.decode.as_secs_f64() / wall * 100.0, 1)),
            num(o.cpu.machine * 100.0, 0),
            num(c.keyframe_rects as f64, 0),
            o.note.clone(),
        ]);
    }
    format!(
        "## scenarios\n\n1920x1080, CODEC_QOIZ_SESSION (what the web client asks for) unless marked, ~{seconds} s each (half for the last three); bytes are TDPB bytes received (headers included). \
         CPU % is of one core: service = this process minus the client thread; frame loop = the service's \
         capture-and-encode thread; Xvfb from /proc (10 ms ticks).\n\n{}\n{}",
        table.render(),
        against_teleport_style(outcomes)
    )
}

/// Oriel beside the Teleport-style encoder that watched the same screen.
fn against_teleport_style(outcomes: &[Outcome]) -> String {
    let mut table = Table::new(&[
        "scenario",
        "Oriel KB/s",
        "Teleport-style KB/s",
        "bytes vs Teleport-style",
        "Oriel service CPU %",
        "Teleport-style CPU %",
        "CPU vs Teleport-style",
        "Teleport-style frames/s",
        "Teleport-style rects/frame",
    ]);
    for o in outcomes {
        let Some(t) = &o.teleport_style else { continue };
        let wall = o.wall.as_secs_f64();
        let oriel_rate = o.counters.bytes as f64 / wall;
        let teleport_rate = t.bytes as f64 / t.wall.as_secs_f64();
        table.row(vec![
            o.name.clone(),
            kb(oriel_rate),
            kb(teleport_rate),
            format!("{}x", num(oriel_rate / teleport_rate, 2)),
            num(o.cpu.service * 100.0, 1),
            num(t.cpu_share() * 100.0, 1),
            format!("{}x", num(o.cpu.service / t.cpu_share(), 2)),
            num(t.frames as f64 / t.wall.as_secs_f64(), 1),
            num(if t.frames == 0 { f64::NAN } else { t.rects as f64 / t.frames as f64 }, 1),
        ]);
    }
    format!(
        "### Against a Teleport-style encoder (the same screen, at the same time)\n\n\
         Core GetImage of each DAMAGE rectangle on a fixed 40 ms tick, each rectangle its own zstd frame (level 3) \
         with a 21-byte header, no back-pressure; its thread's CPU time. It runs beside Oriel's session on the same Xvfb, \
         so both see the same drawing; its GetImage calls also load that Xvfb.\n\n{}",
        table.render()
    )
}
