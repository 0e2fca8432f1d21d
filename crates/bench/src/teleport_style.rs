//! A Teleport-style encoder beside Oriel's, on the same screen at the same
//! time: what the design notes say Teleport's Linux desktop service does
//! (`../shared/design/performance.md`): core GetImage on a fixed 40 ms
//! tick, each changed rectangle its own zstd frame, no back-pressure. It
//! is given DAMAGE's rectangles, the kindest reading of "changed": without
//! them it would send the whole screen every tick.
//!
//! It runs on a thread of its own ([`THREAD`]), so its CPU time is told
//! apart from the service's, and it only counts: nothing is sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use x11rb::connection::{Connection as _, RequestConnection as _};
use x11rb::protocol::damage::{self, ConnectionExt as _};
use x11rb::protocol::xfixes::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::rust_connection::{DefaultStream, RustConnection};
use x11rb::wrapper::ConnectionExt as _;

use crate::cpu;
use crate::xclients::Display;

/// The thread's name, for [`crate::cpu::CpuMeter`] to leave it out of the service.
pub const THREAD: &str = "teleport-style";
/// Teleport's fixed capture tick.
const TICK: Duration = Duration::from_millis(40);
/// zstd's default level, as a plain `zstd.Encoder` uses.
const LEVEL: i32 = 3;
/// Per rectangle on the wire: a TDPB-like header and its position and size.
const RECT_HEADER: u64 = 5 + 16;

/// What the encoder would have sent while it watched.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    /// Bytes of zstd frames plus their headers.
    pub bytes: u64,
    /// Rectangles sent.
    pub rects: u64,
    /// Ticks that had something to send.
    pub frames: u64,
    /// CPU time of the encoder's thread (capture requests and zstd).
    pub cpu: Duration,
    /// How long it watched.
    pub wall: Duration,
}

impl Totals {
    /// Share of one core.
    pub fn cpu_share(&self) -> f64 {
        self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

/// The encoder, watching until [`stop`](Self::stop).
pub struct TeleportStyle {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<anyhow::Result<Totals>>,
}

impl TeleportStyle {
    /// Connects to `display` and starts the 40 ms tick; damage from before
    /// this call is not counted.
    pub fn watch(display: &Display) -> anyhow::Result<Self> {
        let conn = connect(display)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new().name(THREAD.into()).spawn(move || run(conn, &stopping, ready_tx))?;
        ready_rx.recv().context("the Teleport-style encoder did not start")?;
        Ok(Self { stop, thread })
    }

    /// Stops the tick and says what it sent.
    pub fn stop(self) -> anyhow::Result<Totals> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| anyhow::anyhow!("the Teleport-style encoder panicked"))?
    }
}

fn connect(display: &Display) -> anyhow::Result<RustConnection> {
    let number = display.name.trim_start_matches(':');
    let file = std::fs::read(&display.xauthority).with_context(|| format!("read {}", display.xauthority.display()))?;
    // Oriel's Xauthority holds one entry that ends with the 16-byte cookie.
    let cookie = file.get(file.len().saturating_sub(16)..).context("empty Xauthority")?.to_vec();
    let socket = std::os::unix::net::UnixStream::connect(format!("/tmp/.X11-unix/X{number}"))?;
    let (stream, _) = DefaultStream::from_unix_stream(socket)?;
    let conn = RustConnection::connect_to_stream_with_auth_info(stream, 0, b"MIT-MAGIC-COOKIE-1".to_vec(), cookie)?;
    conn.prefetch_extension_information(damage::X11_EXTENSION_NAME)?;
    conn.prefetch_extension_information(xfixes::X11_EXTENSION_NAME)?;
    conn.damage_query_version(1, 1)?.reply()?;
    conn.xfixes_query_version(5, 0)?.reply()?;
    Ok(conn)
}

fn run(conn: RustConnection, stop: &AtomicBool, ready: std::sync::mpsc::SyncSender<()>) -> anyhow::Result<Totals> {
    let root = conn.setup().roots[0].root;
    let damage_id = conn.generate_id()?;
    conn.damage_create(damage_id, root, damage::ReportLevel::NON_EMPTY)?;
    let region = conn.generate_id()?;
    conn.xfixes_create_region(region, &[])?;
    // What was damaged before watching started is not this encoder's.
    conn.damage_subtract(damage_id, x11rb::NONE, x11rb::NONE)?;
    conn.sync()?;
    let _ = ready.send(());
    let started = Instant::now();
    let cpu_before = cpu::this_thread();
    let mut totals = Totals::default();
    let mut compressor = zstd::bulk::Compressor::new(LEVEL)?;
    let mut next = Instant::now() + TICK;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += TICK;
        conn.damage_subtract(damage_id, x11rb::NONE, region)?;
        let rects = conn.xfixes_fetch_region(region)?.reply()?.rectangles;
        let mut sent = false;
        for rect in rects.iter().filter(|r| r.width > 0 && r.height > 0) {
            let image = conn.get_image(xproto::ImageFormat::Z_PIXMAP, root, rect.x, rect.y, rect.width, rect.height, !0)?.reply()?;
            totals.bytes += compressor.compress(&image.data)?.len() as u64 + RECT_HEADER;
            totals.rects += 1;
            sent = true;
        }
        totals.frames += u64::from(sent);
        // Drain DAMAGE's notify events: nothing reads them otherwise.
        while conn.poll_for_event()?.is_some() {}
    }
    totals.cpu = cpu::this_thread().saturating_sub(cpu_before);
    totals.wall = started.elapsed();
    Ok(totals)
}
