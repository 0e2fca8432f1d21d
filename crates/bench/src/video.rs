//! `video`: a 1280x720 video playing at 30 fps on a 1920x1080 desktop, the
//! session once with the browser offering VP8 (the region in motion goes as
//! video) and once without (every pixel exact, as with `desktop_lossy:
//! false` or a browser without WebCodecs). The video is FFmpeg's moving test
//! pattern with light film grain, as a camera's picture has, shown by ffplay.
//! The bench is the browser: it decodes VP8 with libvpx, as WebCodecs would.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use oriel_tdpb::pb::Codec;
use tokio::runtime::Runtime;

use crate::browser::Counters;
use crate::cpu::{CpuMeter, CpuShare};
use crate::desktop::Session;
use crate::report::{Table, num};
use crate::xclients::{self, Clients};

/// What the video is: 1280x720 at 30 fps.
const SOURCE: &str = "testsrc2=size=1280x720:rate=30,noise=alls=10:allf=t+u";
/// Time for the region to be found before measuring.
const WARM_UP: Duration = Duration::from_secs(3);

struct Played {
    label: &'static str,
    wall: Duration,
    counters: Counters,
    cpu: CpuShare,
}

pub async fn run(service_runtime: &Runtime, seconds: f64) -> anyhow::Result<String> {
    xclients::require()?;
    std::process::Command::new("ffplay").arg("-version").output().context("ffplay (package ffmpeg) is needed to play the video")?;
    let length = Duration::from_secs_f64(seconds);
    let mut played = Vec::new();
    for (label, video) in [("VP8 for the region in motion (the web client)", true), ("exact pixels only (`desktop_lossy: false`, no WebCodecs)", false)] {
        let mut session = if video {
            Session::start_offering_video(service_runtime, 1920, 1080).await?
        } else {
            Session::start(service_runtime, 1920, 1080, Codec::QoizSession).await?
        };
        let result = play(&mut session, label, length).await;
        let closed = session.close().await;
        played.push(result?);
        closed?;
    }
    Ok(render(&played))
}

async fn play(session: &mut Session, label: &'static str, length: Duration) -> anyhow::Result<Played> {
    let mut player = Clients::default();
    player.spawn(&session.display, "ffplay", &["-v", "error", "-an", "-noborder", "-left", "0", "-top", "0", "-f", "lavfi", "-i", SOURCE])?;
    session.browser.pump(Instant::now() + WARM_UP, |_| false).await?;
    player.check_alive()?;
    session.browser.take_counters();
    let meter = CpuMeter::start(session.xvfb_pid);
    let started = Instant::now();
    session.browser.pump(started + length, |_| false).await?;
    let cpu = meter.stop();
    let played = Played { label, wall: started.elapsed(), counters: session.browser.take_counters(), cpu };
    player.check_alive()?;
    player.stop();
    Ok(played)
}

fn render(played: &[Played]) -> String {
    let mut table = Table::new(&[
        "session",
        "s",
        "Mbit/s",
        "of which VP8 Mbit/s",
        "frames/s",
        "of which VP8 frames/s",
        "service CPU %",
        "of which frame loop %",
        "Xvfb CPU %",
        "client decode %",
        "machine CPU % (of 200)",
    ]);
    for p in played {
        let wall = p.wall.as_secs_f64();
        let c = &p.counters;
        table.row(vec![
            p.label.to_owned(),
            num(wall, 1),
            num(c.bytes as f64 * 8.0 / wall / 1e6, 2),
            num(c.video_bytes as f64 * 8.0 / wall / 1e6, 2),
            num(c.frames as f64 / wall, 1),
            num(c.video_frames as f64 / wall, 1),
            num(p.cpu.service * 100.0, 1),
            num(p.cpu.frame_loop * 100.0, 1),
            num(p.cpu.xvfb * 100.0, 1),
            num(c.decode.as_secs_f64() / wall * 100.0, 1),
            num(p.cpu.machine * 100.0, 0),
        ]);
    }
    let verdict = played.first().map_or_else(String::new, |p| {
        let wall = p.wall.as_secs_f64();
        let mbps = p.counters.bytes as f64 * 8.0 / wall / 1e6;
        let fps = p.counters.frames as f64 / wall;
        let cpu = p.cpu.service * 100.0;
        let met = |ok: bool| if ok { "met" } else { "missed" };
        format!(
            "Target for the video with VP8: at most 3 Mbit/s at 30 fps: {} Mbit/s at {} fps, **{}**; at most 30% of a core for the service: {} %, **{}**.\n",
            num(mbps, 2),
            num(fps, 1),
            met(mbps <= 3.0 && fps >= 28.0),
            num(cpu, 1),
            met(cpu <= 30.0)
        )
    });
    format!(
        "## video\n\nA 1280x720 video at 30 fps (`ffplay`, `{SOURCE}`) at the top left of a 1920x1080 desktop; {} s measured after {} s for the region to be found. \
         Bytes are TDPB bytes received; the bench decodes VP8 with libvpx as the browser's WebCodecs would. CPU % is of one core.\n\n{}\n{verdict}",
        played.first().map_or(0.0, |p| p.wall.as_secs_f64()).round(),
        WARM_UP.as_secs(),
        table.render()
    )
}
