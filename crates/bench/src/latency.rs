//! `latency`: from a key press sent by the client to the echo of the
//! character arriving as a frame, in an idle xterm, on loopback: once
//! straight into the service over an in-process pipe, once through the real
//! `oriel` binary (TLS websocket, proxy, in-process service).
//! `ORIEL_BENCH_TRACE=1` prints every round's latency to stderr.

use std::time::{Duration, Instant};

use oriel_tdpb::Payload;
use oriel_tdpb::pb::Codec;
use tokio::runtime::Runtime;

use crate::browser::{Browser, Transport};
use crate::cpu;
use crate::desktop::{self, Session, TERMINAL};
use crate::keys;
use crate::proxy::{self, Oriel};
use crate::report::{Samples, Table, num};
use crate::xclients;

/// No message for this long: the echo is complete.
const QUIET: Duration = Duration::from_millis(60);
/// A key with no frame after this long counts as lost.
const GIVE_UP: Duration = Duration::from_secs(2);
/// How long the client stops reading in the ping check.
/// Long enough that two of the proxy's pings (every 2 s) arrive unanswered.
const STALL: Duration = Duration::from_millis(4500);
/// Characters typed before the line is cleared with Ctrl+U.
const LINE: usize = 40;

#[derive(Default)]
pub struct Latencies {
    /// Pings from the proxy per second while measuring (normally one per 2 s).
    pings_per_second: f64,
    /// Key sent to the first rectangle received.
    arrived: Samples,
    /// Key sent to that frame decoded (the web client paints and acks then).
    painted: Samples,
    lost: usize,
}

pub async fn run(service_runtime: &Runtime, rounds: usize, with_proxy: bool) -> anyhow::Result<String> {
    xclients::require()?;
    let mut table =
        Table::new(&["path", "keys", "first rect p50 ms", "p90", "p99", "max", "frame decoded p50 ms", "p90", "p99", "max", "keys with no frame", "pings/s"]);
    let mut notes = Vec::new();

    let mut session = Session::start(service_runtime, 1920, 1080, Codec::QoizSession).await?;
    let direct = async {
        session.focus_terminal().await?;
        measure(&mut session.browser, rounds).await
    }
    .await;
    let closed = session.close().await;
    row(&mut table, "in-process pipe (service only)", &direct?);
    closed?;

    if with_proxy {
        match proxy::binary() {
            None => notes.push("Through the proxy: skipped, `target/release/oriel` is not built (`cargo build --release -p oriel`).".to_owned()),
            // The binary is built separately and may lag behind this bench: report, do not fail.
            Some(binary) => match through_proxy(&binary, rounds).await {
                Ok((latencies, storm)) => {
                    row(&mut table, "`oriel` binary: TLS websocket + proxy + service", &latencies);
                    notes.push(storm);
                }
                Err(error) => notes.push(format!("Through the proxy: failed: {error:#}")),
            },
        }
    }
    Ok(format!(
        "## latency\n\nKey press to echo in an idle 1920x1080 xterm (openbox), CODEC_QOIZ_SESSION, loopback; \
         {QUIET:?} of quiet between keys.\n\n{}{}",
        table.render(),
        notes.iter().map(|n| format!("\n{n}\n")).collect::<String>()
    ))
}

fn row(table: &mut Table, name: &str, l: &Latencies) {
    let mut cells = vec![name.to_owned()];
    cells.extend(cells_of(l));
    cells.push(num(l.pings_per_second, 1));
    table.row(cells);
}

/// Keys; first rect p50, p90, p99, max; frame decoded p50, p90, p99, max;
/// keys with no frame.
pub fn cells_of(l: &Latencies) -> Vec<String> {
    let q = |s: &Samples| [s.median(), s.p90(), s.quantile(0.99), s.max()].map(|v| num(v, 2));
    let mut cells = vec![l.arrived.len().to_string()];
    cells.extend(q(&l.arrived));
    cells.extend(q(&l.painted));
    cells.push(l.lost.to_string());
    cells
}

/// The same measurement through the `oriel` binary; then whether a client
/// that stops reading for a moment (a busy tab, a slow link) sets off
/// pings that never stop. Returns the latencies and a note on the pings.
async fn through_proxy(binary: &std::path::Path, rounds: usize) -> anyhow::Result<(Latencies, String)> {
    let oriel = Oriel::start(binary)?;
    let mut browser = Browser::new(Transport::Socket(Box::new(oriel.socket().await?)));
    browser.hello(1920, 1080, Codec::QoizSession).await?;
    let display = desktop::wait_display(oriel.dir.path(), &mut browser).await?;
    let terminal = desktop::wait_window(&mut browser, &display, TERMINAL).await?;
    browser.wait_quiet(Duration::from_millis(500), Duration::from_secs(30)).await?;
    desktop::click_into(&mut browser, &display, &terminal).await?;
    let latencies = measure(&mut browser, rounds).await?;

    // Pings per second and the oriel process's CPU share over an idle window.
    let idle_window = async |browser: &mut Browser| -> anyhow::Result<(f64, f64)> {
        let window = Duration::from_secs(4);
        browser.take_counters();
        let cpu = cpu::of_process(oriel.pid());
        browser.pump(Instant::now() + window, |_| false).await?;
        let cpu = cpu::of_process(oriel.pid()).saturating_sub(cpu);
        Ok((browser.take_counters().pings as f64 / window.as_secs_f64(), cpu.as_secs_f64() / window.as_secs_f64()))
    };
    let (before, cpu_before) = idle_window(&mut browser).await?;
    // Not reading for longer than the proxy's ping interval, as a busy tab or a slow link does.
    std::thread::sleep(STALL);
    browser.pump(Instant::now(), |_| false).await?;
    let (after, cpu_after) = idle_window(&mut browser).await?;
    let note = format!(
        "Pings from the proxy in an idle session: {} /s (oriel CPU {} %) before the client stopped reading for \
         {:.1} s, {} /s (oriel CPU {} %) after. The proxy pings every 2 s, so 0.5 /s is normal.",
        num(before, 1),
        num(cpu_before * 100.0, 0),
        STALL.as_secs_f64(),
        num(after, 1),
        num(cpu_after * 100.0, 0),
    );
    Ok((latencies, note))
}

pub async fn measure(browser: &mut Browser, rounds: usize) -> anyhow::Result<Latencies> {
    let mut out = Latencies::default();
    browser.take_counters();
    let started = Instant::now();
    let letters: Vec<u32> = ('a'..='z').filter_map(keys::scancode).collect();
    for round in 0..rounds {
        if round % LINE == LINE - 1 {
            clear_line(browser).await?;
        }
        let key = letters[round % letters.len()];
        let sent = Instant::now();
        browser.key(key, true).await?;
        let mut end_of_frame = false;
        let got = browser
            .pump(sent + GIVE_UP, |p| match p {
                Payload::FrameRect(rect) => {
                    end_of_frame = rect.end_of_frame;
                    true
                }
                _ => false,
            })
            .await?;
        if got {
            if std::env::var_os("ORIEL_BENCH_TRACE").is_some() {
                eprintln!("round {round}: {:?}", browser.arrived - sent);
            }
            out.arrived.push(browser.arrived - sent);
            if !end_of_frame {
                browser.pump(sent + GIVE_UP, |p| matches!(p, Payload::FrameRect(r) if r.end_of_frame)).await?;
            }
            out.painted.push(sent.elapsed());
        } else {
            out.lost += 1;
        }
        browser.key(key, false).await?;
        browser.wait_quiet(QUIET, Duration::from_secs(10)).await?;
    }
    out.pings_per_second = browser.counters.pings as f64 / started.elapsed().as_secs_f64();
    Ok(out)
}

/// Ctrl+U: the shell forgets the typed line, so it never wraps.
async fn clear_line(browser: &mut Browser) -> anyhow::Result<()> {
    browser.key(keys::LEFT_CTRL, true).await?;
    browser.key(keys::U, true).await?;
    browser.key(keys::U, false).await?;
    browser.key(keys::LEFT_CTRL, false).await?;
    browser.wait_quiet(QUIET, Duration::from_secs(10)).await
}
