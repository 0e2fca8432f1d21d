//! `capture-encode`: one full-screen update of a busy 1920x1080 desktop,
//! captured with MIT-SHM through the service's own `Capture` and encoded
//! with both QOIZ designs, on one pinned core.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use memmap2::MmapMut;
use oriel_linux_desktop::encoder::RectEncoder;
use oriel_linux_desktop::ipc_namespace::PrivateIpc;
use oriel_linux_desktop::x11::X11Connection;
use oriel_linux_desktop::x11::capture::{Capture, Rect};
use oriel_linux_desktop::x11::framebuffer::Framebuffer;
use oriel_linux_desktop::x11::screen::{Screen, ScreenSize};
use oriel_linux_desktop::xvfb::Xvfb;
use oriel_qoiz::{BgrxView, FrameEncoder, STREAM_HISTORY_MAX, StreamEncoder, encode_qoi};
use oriel_tdpb::pb::Codec;
use x11rb::connection::Connection as _;
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto;

use crate::cpu;
use crate::report::{Samples, Table, kb, num};
use crate::xclients::{self, Clients, Display};

const WIDTH: u16 = 1920;
const HEIGHT: u16 = 1080;
const WARMUP: usize = 5;
/// Between iterations, so the scrolling xterm and the clock move a little
/// and the steady-state stream sees a desktop that changes, as a real one does.
const PAUSE: Duration = Duration::from_millis(30);

pub fn run(iterations: usize) -> anyhow::Result<String> {
    xclients::require()?;
    // Xvfb shares its framebuffer only inside a namespace of its own, as
    // in a session (this thread and what it starts; needs root).
    let private_ipc = if rustix::process::geteuid().is_root() { Some(PrivateIpc::enter()?) } else { None };
    let private_ipc = private_ipc.as_ref();
    let runtime_dir = tempfile::Builder::new().prefix("oriel-bench-").tempdir()?;
    let xvfb = Xvfb::start(
        runtime_dir.path(),
        None,
        oriel_linux_desktop::x11::screen::MaxScreen::default(),
        ScreenSize::fit(WIDTH.into(), HEIGHT.into(), 100),
        oriel_linux_desktop::xvfb::XServer::Xvfb,
        private_ipc,
    )?;
    let conn = oriel_linux_desktop::x11::connect(&xvfb.socket_path(), xvfb.cookie())?;
    Screen::default().resize(&conn, ScreenSize::fit(WIDTH.into(), HEIGHT.into(), 100))?;
    let framebuffer = xvfb.shared_framebuffer().map(Framebuffer::attach).transpose()?;
    anyhow::ensure!(framebuffer.is_some() || private_ipc.is_none(), "Xvfb did not share its framebuffer");
    let mut capture = Capture::new(&conn, WIDTH.into(), HEIGHT.into(), framebuffer)?;
    // The same capture through GetImage, as with Xvnc.
    let mut capture_getimage = Capture::new(&conn, WIDTH.into(), HEIGHT.into(), None)?;
    let display = Display { name: xvfb.display_name(), xauthority: xvfb.xauthority().to_owned() };
    let mut scene = Clients::default();
    busy_desktop(&display, &mut scene)?;

    // The whole pipeline on one core: this thread and the X server, which
    // does the ShmGetImage copy while this thread waits for the reply.
    let xvfb_pid = cpu::find_child("Xvfb").context("cannot find the Xvfb process")?;
    cpu::pin(0, 0)?;
    cpu::pin(xvfb_pid, 0)?;

    let probe = ShmProbe::attach(&conn, usize::from(WIDTH) * usize::from(HEIGHT) * 4)?;
    let mut frame_encoder = FrameEncoder::new()?;
    let mut frame_encoder_l3 = FrameEncoder::with_level(oriel_qoiz::DEFAULT_STREAM_LEVEL)?;
    let mut keyframes = StreamEncoder::new()?;
    let mut steady = StreamEncoder::new()?;
    let mut steady_1mib = StreamEncoder::with_params(oriel_qoiz::DEFAULT_STREAM_LEVEL, STREAM_HISTORY_MAX)?;
    let mut session_keyframes = RectEncoder::new(Codec::QoizSession)?.context("the session codec")?;
    let mut session_steady = RectEncoder::new(Codec::QoizSession)?.context("the session codec")?;
    let mut t = Timings::default();
    let mut rect_count = 0;
    let mut frame_id = 0;
    for i in 0..WARMUP + iterations {
        std::thread::sleep(PAUSE);
        let measured = i >= WARMUP;
        let started = Instant::now();
        let changes = capture.changes(&conn, true, &[])?;
        let capture_time = started.elapsed();
        let started = Instant::now();
        capture_getimage.changes(&conn, true, &[])?;
        let getimage_time = started.elapsed();
        frame_id += 1;
        let started = Instant::now();
        let key_messages = session_keyframes.encode_frame(frame_id, &changes, capture.shadow(), true)?;
        let session_key_time = started.elapsed();
        let started = Instant::now();
        let steady_messages = session_steady.encode_frame(frame_id, &changes, capture.shadow(), i == 0)?;
        let session_steady_time = started.elapsed();
        let rects = changes.rects;
        let server_copy = probe.grab(&conn)?;
        let shadow = capture.shadow();
        let views: Vec<BgrxView<'_>> = rects.iter().map(|r| view(&shadow.pixels, shadow.stride(), r)).collect();
        let (qoi_time, qoi_bytes) = timed(&views, |v, out| Ok(encode_qoi(v, out)?))?;
        let (frame_time, frame_bytes) = timed(&views, |v, out| Ok(frame_encoder.encode(v, out)?))?;
        let (frame_l3_time, frame_l3_bytes) = timed(&views, |v, out| Ok(frame_encoder_l3.encode(v, out)?))?;
        keyframes.reset();
        let (key_time, key_bytes) = timed(&views, |v, out| Ok(keyframes.encode(v, out).map(drop)?))?;
        let (steady_time, steady_bytes) = timed(&views, |v, out| Ok(steady.encode(v, out).map(drop)?))?;
        let (steady_1mib_time, steady_1mib_bytes) = timed(&views, |v, out| Ok(steady_1mib.encode(v, out).map(drop)?))?;
        if !measured {
            continue;
        }
        rect_count = rects.len();
        t.capture.push(capture_time);
        t.capture_getimage.push(getimage_time);
        t.server_copy.push(server_copy);
        t.qoi.push(qoi_time);
        t.frame.push(frame_time);
        t.frame_l3.push(frame_l3_time);
        t.keyframe.push(key_time);
        t.steady.push(steady_time);
        t.steady_1mib.push(steady_1mib_time);
        t.total_frame.push(capture_time + frame_time);
        t.total_keyframe.push(capture_time + key_time);
        t.total_steady.push(capture_time + steady_time);
        t.session_key.push(session_key_time);
        t.session_steady.push(session_steady_time);
        t.total_session_key.push(capture_time + session_key_time);
        t.total_session_steady.push(capture_time + session_steady_time);
        t.session_key_bytes.push_value(data_len(&key_messages) as f64);
        t.session_steady_bytes.push_value(data_len(&steady_messages) as f64);
        t.qoi_bytes.push_value(qoi_bytes as f64);
        t.frame_bytes.push_value(frame_bytes as f64);
        t.frame_l3_bytes.push_value(frame_l3_bytes as f64);
        t.key_bytes.push_value(key_bytes as f64);
        t.steady_bytes.push_value(steady_bytes as f64);
        t.steady_1mib_bytes.push_value(steady_1mib_bytes as f64);
    }
    // The same capture and session keyframe with both cores, as the service
    // runs: the frame's paints on two threads, Xvfb anywhere.
    cpu::unpin(0)?;
    cpu::unpin(xvfb_pid)?;
    for i in 0..WARMUP + iterations {
        std::thread::sleep(PAUSE);
        let started = Instant::now();
        let changes = capture.changes(&conn, true, &[])?;
        frame_id += 1;
        session_keyframes.encode_frame(frame_id, &changes, capture.shadow(), true)?;
        if i >= WARMUP {
            t.total_session_key_2cores.push(started.elapsed());
        }
    }
    scene.check_alive()?;
    scene.stop();
    Ok(t.render(iterations, rect_count))
}

/// Bytes of the frame data in `messages`.
fn data_len(messages: &[oriel_tdpb::pb::FrameRect]) -> usize {
    messages.iter().map(|m| m.data.len()).sum()
}

/// openbox over a plaid root, four xterms full of coloured text (one of
/// them scrolling a few lines every 200 ms) and a clock.
fn busy_desktop(display: &Display, scene: &mut Clients) -> anyhow::Result<()> {
    display.run("xsetroot", &["-mod", "16", "16", "-fg", "#4c566a", "-bg", "#2e3440"])?;
    scene.spawn(display, "openbox", &[])?;
    display.wait_window_manager()?;
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../linux-desktop/src/session.rs");
    let terminals: [(&str, &str, (&str, &str), String); 4] = [
        ("bench-ls", "110x45+10+10", ("#002b36", "#93a1a1"), "ls -l --color=always /usr/bin | head -n 44".into()),
        ("bench-source", "100x50+700+30", ("#fdf6e3", "#073642"), format!("cat -n {source} | head -n 49")),
        ("bench-ps", "120x25+60+560", ("#1d1f21", "#c5c8c6"), "ps -eo pid,user,rss,args --sort=-rss | head -n 24".into()),
        ("bench-scroll", "90x30+1050+480", ("#282a36", "#f8f8f2"), "while :; do date; ls -l --color=always /etc | shuf -n 3; sleep 0.2; done".into()),
    ];
    for (name, geometry, colours, command) in &terminals {
        let shell = format!("{command}; exec sleep 3600");
        let mut args = xclients::xterm_args(name, geometry, *colours);
        args.extend(["-e", "sh", "-c", &shell]);
        scene.spawn(display, "xterm", &args)?;
    }
    scene.spawn(display, "xclock", &["-update", "1", "-geometry", "160x160+1740+10"])?;
    for (name, ..) in &terminals {
        display.wait_window(name)?;
    }
    // Let the xterms draw their text and openbox its decorations.
    std::thread::sleep(Duration::from_millis(1500));
    scene.check_alive()
}

fn view<'a>(pixels: &'a [u8], stride: usize, rect: &Rect) -> BgrxView<'a> {
    let start = rect.y as usize * stride + rect.x as usize * 4;
    BgrxView { pixels: &pixels[start..], stride, width: rect.width, height: rect.height }
}

/// Runs `encode` over every rectangle of one frame; time and bytes out.
fn timed(views: &[BgrxView<'_>], mut encode: impl FnMut(&BgrxView<'_>, &mut Vec<u8>) -> anyhow::Result<()>) -> anyhow::Result<(Duration, usize)> {
    let mut out = Vec::new();
    let mut bytes = 0;
    let started = Instant::now();
    for v in views {
        encode(v, &mut out)?;
        bytes += out.len();
    }
    Ok((started.elapsed(), bytes))
}

/// A bare ShmGetImage of the whole screen into a segment of our own: what
/// the X server's copy costs, without the shadow update `Capture` adds.
struct ShmProbe {
    id: shm::Seg,
    root: xproto::Window,
    _map: MmapMut,
}

impl ShmProbe {
    fn attach(conn: &X11Connection, len: usize) -> anyhow::Result<Self> {
        let fd: OwnedFd = rustix::fs::memfd_create("oriel-bench", rustix::fs::MemfdFlags::CLOEXEC)?;
        rustix::fs::ftruncate(&fd, len as u64)?;
        let file = std::fs::File::from(fd);
        // SAFETY: the memfd is ours; only the X server writes into it, while we wait for its reply.
        let map = unsafe { MmapMut::map_mut(&file)? };
        let id = conn.generate_id()?;
        conn.shm_attach_fd(id, OwnedFd::from(file.try_clone()?), false)?.check()?;
        Ok(Self { id, root: conn.setup().roots[0].root, _map: map })
    }

    fn grab(&self, conn: &X11Connection) -> anyhow::Result<Duration> {
        let started = Instant::now();
        conn.shm_get_image(self.root, 0, 0, WIDTH, HEIGHT, !0, xproto::ImageFormat::Z_PIXMAP.into(), self.id, 0)?.reply()?;
        Ok(started.elapsed())
    }
}

#[derive(Default)]
struct Timings {
    capture: Samples,
    capture_getimage: Samples,
    server_copy: Samples,
    qoi: Samples,
    frame: Samples,
    frame_l3: Samples,
    keyframe: Samples,
    steady: Samples,
    steady_1mib: Samples,
    total_frame: Samples,
    total_keyframe: Samples,
    total_steady: Samples,
    session_key: Samples,
    session_steady: Samples,
    total_session_key: Samples,
    total_session_steady: Samples,
    total_session_key_2cores: Samples,
    session_key_bytes: Samples,
    session_steady_bytes: Samples,
    qoi_bytes: Samples,
    frame_bytes: Samples,
    frame_l3_bytes: Samples,
    key_bytes: Samples,
    steady_bytes: Samples,
    steady_1mib_bytes: Samples,
}

impl Timings {
    fn render(&self, iterations: usize, rects: usize) -> String {
        let raw_mb = f64::from(WIDTH) * f64::from(HEIGHT) * 4.0 / 1e6;
        let mut table = Table::new(&["step (one 1920x1080 frame)", "median ms", "p90 ms", "raw MB/s at median", "KB out (median)"]);
        let mut row = |name: &str, s: &Samples, bytes: Option<&Samples>| {
            table.row(vec![
                name.to_owned(),
                num(s.median(), 2),
                num(s.p90(), 2),
                num(raw_mb / (s.median() / 1e3), 0),
                bytes.map_or_else(|| "".into(), |b| kb(b.median())),
            ]);
        };
        row("capture: `Capture::changes(conn, true)`, Xvfb's framebuffer read in place (`-shmem`) + shadow copy", &self.capture, None);
        row("capture through MIT-SHM GetImage + shadow copy (the Xvnc path)", &self.capture_getimage, None);
        row("  of which the X server's ShmGetImage alone (bare, own segment)", &self.server_copy, None);
        row("QOI alone (no zstd), all rects", &self.qoi, Some(&self.qoi_bytes));
        row("encode CODEC_QOIZ (`FrameEncoder`, zstd L1)", &self.frame, Some(&self.frame_bytes));
        row("  same at zstd L3 (the stream's level, no history)", &self.frame_l3, Some(&self.frame_l3_bytes));
        row("encode CODEC_QOIZ_STREAM keyframe (reset every frame)", &self.keyframe, Some(&self.key_bytes));
        row("encode CODEC_QOIZ_STREAM steady (no reset, 512 KiB history)", &self.steady, Some(&self.steady_bytes));
        row("  same, 1 MiB history (`STREAM_HISTORY_MAX`)", &self.steady_1mib, Some(&self.steady_1mib_bytes));
        row("**total** capture + CODEC_QOIZ", &self.total_frame, Some(&self.frame_bytes));
        row("**total** capture + stream keyframe", &self.total_keyframe, Some(&self.key_bytes));
        row("**total** capture + stream steady", &self.total_steady, Some(&self.steady_bytes));
        row(
            "encode CODEC_QOIZ_SESSION keyframe (`RectEncoder::encode_frame`: paints on 2 threads, one zstd stream L3)",
            &self.session_key,
            Some(&self.session_key_bytes),
        );
        row("encode CODEC_QOIZ_SESSION steady (the stream goes on)", &self.session_steady, Some(&self.session_steady_bytes));
        row("**total** capture + session keyframe, one core", &self.total_session_key, Some(&self.session_key_bytes));
        row("**total** capture + session steady, one core", &self.total_session_steady, Some(&self.session_steady_bytes));
        row("**total** capture + session keyframe, both cores (unpinned)", &self.total_session_key_2cores, Some(&self.session_key_bytes));
        let one_core = self.total_session_key.median();
        let two_cores = self.total_session_key_2cores.median();
        let verdict = |ms: f64, target: f64| if ms <= target { "met" } else { "missed" };
        format!(
            "## capture-encode\n\n{iterations} iterations ({WARMUP} warm-up dropped), {rects} rectangles per frame; the rows up to the last are this thread and Xvfb pinned to CPU 0.\n\n{}\n\
             Targets for a full 1920x1080 update with the web client's codec: <= 4 ms median on one core: {} ms, **{}**; <= 2.5 ms on both cores: {} ms, **{}**.\n",
            table.render(),
            num(one_core, 2),
            verdict(one_core, 4.0),
            num(two_cores, 2),
            verdict(two_cores, 2.5),
        )
    }
}
