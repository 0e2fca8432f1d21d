//! Codec benchmark on the Xvfb fixtures: prints Markdown tables for
//! `docs/codec.md`. Measures, never asserts.
//!
//! ```text
//! cargo bench -p oriel-qoiz --bench codec
//! ```
//!
//! Times are the fastest of 15 runs, single-threaded. "MB/s" is raw
//! 32-bit pixels (width * height * 4 bytes) per second of QOI + zstd.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oriel_qoiz::{BgrxView, Codec, Decoder, FrameEncoder, StreamEncoder, decode_qoi, encode_qoi};
use zstd::zstd_safe::{self, CCtx, CParameter, DCtx, InBuffer, OutBuffer};

const RUNS: usize = 15;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fixtures")
        .join(name)
}

/// A screen as the X server hands it over.
struct Screen {
    bgrx: Vec<u8>,
    width: u32,
    height: u32,
}

impl Screen {
    fn from_qoi(qoi: &[u8]) -> Self {
        let width = u32::from_be_bytes(qoi[4..8].try_into().unwrap());
        let height = u32::from_be_bytes(qoi[8..12].try_into().unwrap());
        let mut rgba = vec![0; width as usize * height as usize * 4];
        decode_qoi(qoi, width, height, &mut rgba).unwrap();
        let bgrx = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0], 0])
            .collect();
        Self {
            bgrx,
            width,
            height,
        }
    }

    /// Rows `y0..y1`, full width: the damage of one shot.
    fn rows(&self, y0: u32, y1: u32) -> BgrxView<'_> {
        let stride = self.width as usize * 4;
        BgrxView::new(
            &self.bgrx[y0 as usize * stride..],
            stride,
            self.width,
            y1 - y0,
        )
        .unwrap()
    }

    fn view(&self) -> BgrxView<'_> {
        self.rows(0, self.height)
    }
}

/// Fastest wall time of `RUNS` calls: the work is deterministic, so the
/// minimum is the run least disturbed by other processes.
fn fastest(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn mbps(bytes: usize, d: Duration) -> String {
    format!("{:.0}", bytes as f64 / d.as_secs_f64() / 1e6)
}

/// One design applied to a list of rectangles: bytes and times.
struct Run {
    bytes: usize,
    encode: Duration,
    decode: Duration,
}

/// One rectangle of a session: the damage of a shot.
struct Rect<'a> {
    view: BgrxView<'a>,
}

fn run_frames(rects: &[Rect<'_>], level: i32) -> Run {
    let mut encoder = FrameEncoder::with_level(level).unwrap();
    let mut chunks: Vec<Vec<u8>> = rects.iter().map(|_| Vec::new()).collect();
    let encode = fastest(|| {
        for (rect, out) in rects.iter().zip(&mut chunks) {
            encoder.encode(&rect.view, out).unwrap();
        }
    });
    let mut decoder = Decoder::new();
    let mut rgba = Vec::new();
    let decode = fastest(|| {
        for (rect, data) in rects.iter().zip(&chunks) {
            decoder
                .decode(
                    Codec::Qoiz,
                    false,
                    data,
                    rect.view.width,
                    rect.view.height,
                    &mut rgba,
                )
                .unwrap();
        }
    });
    Run {
        bytes: chunks.iter().map(Vec::len).sum(),
        encode,
        decode,
    }
}

/// `keyframe_every`: reset before rectangle i when i is a multiple of it.
fn run_stream(rects: &[Rect<'_>], level: i32, history: usize, keyframe_every: usize) -> Run {
    let mut chunks: Vec<(Vec<u8>, bool)> = rects.iter().map(|_| (Vec::new(), false)).collect();
    let encode = fastest(|| {
        let mut encoder = StreamEncoder::with_params(level, history).unwrap();
        for (i, (rect, (out, reset))) in rects.iter().zip(&mut chunks).enumerate() {
            if i % keyframe_every == 0 {
                encoder.reset();
            }
            *reset = encoder.encode(&rect.view, out).unwrap();
        }
    });
    let mut rgba = Vec::new();
    let decode = fastest(|| {
        let mut decoder = Decoder::new();
        for (rect, (data, reset)) in rects.iter().zip(&chunks) {
            let (w, h) = (rect.view.width, rect.view.height);
            decoder
                .decode(Codec::QoizStream, *reset, data, w, h, &mut rgba)
                .unwrap();
        }
    });
    Run {
        bytes: chunks.iter().map(|(c, _)| c.len()).sum(),
        encode,
        decode,
    }
}

/// The design the brief first had in mind, for reference only: one zstd
/// stream flushed after each rectangle. Decoded with the zstd C library,
/// because ruzstd cannot hand out a flushed chunk before its frame ends.
fn run_flushed_stream(rects: &[Rect<'_>], level: i32) -> Run {
    let mut qoi = Vec::new();
    let mut chunks: Vec<Vec<u8>> = rects.iter().map(|_| Vec::new()).collect();
    let encode = fastest(|| {
        let mut zstd = CCtx::create();
        zstd.set_parameter(CParameter::CompressionLevel(level))
            .unwrap();
        for (rect, out) in rects.iter().zip(&mut chunks) {
            encode_qoi(&rect.view, &mut qoi).unwrap();
            out.clear();
            out.reserve(zstd_safe::compress_bound(qoi.len()));
            let mut input = InBuffer::around(&qoi);
            loop {
                let mut output = OutBuffer::around_pos(out, out.len());
                let left = zstd
                    .compress_stream2(
                        &mut output,
                        &mut input,
                        zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_flush,
                    )
                    .unwrap();
                let written = output.pos();
                if left == 0 {
                    break;
                }
                out.reserve(written + left);
            }
        }
    });
    let mut qoi_out = vec![
        0u8;
        rects
            .iter()
            .map(|r| oriel_qoiz::max_qoi_len(r.view.width, r.view.height))
            .max()
            .unwrap()
    ];
    let mut rgba = Vec::new();
    let decode = fastest(|| {
        let mut zstd = DCtx::create();
        for (rect, data) in rects.iter().zip(&chunks) {
            let mut input = InBuffer::around(data);
            let mut output = OutBuffer::around(&mut qoi_out[..]);
            while input.pos() < data.len() {
                zstd.decompress_stream(&mut output, &mut input).unwrap();
            }
            let len = output.pos();
            let (w, h) = (rect.view.width, rect.view.height);
            rgba.resize(w as usize * h as usize * 4, 0);
            decode_qoi(&qoi_out[..len], w, h, &mut rgba).unwrap();
        }
    });
    Run {
        bytes: chunks.iter().map(Vec::len).sum(),
        encode,
        decode,
    }
}

fn stills() {
    println!("### Still screens (one full-screen rectangle)\n");
    println!(
        "| fixture | raw KB | QOI ms | QOI KB | frame L1: zstd ms | KB | MB/s | decode ms | keyframe L3: zstd ms | KB | MB/s | decode ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let names = [
        "terminal_1280x720.qoi",
        "terminal_1920x1080.qoi",
        "desktop_1280x720.qoi",
        "photo_1280x720.qoiz",
    ];
    for name in names {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let qoi_file = if name.ends_with(".qoiz") {
            zstd::decode_all(&bytes[..]).unwrap()
        } else {
            bytes
        };
        let screen = Screen::from_qoi(&qoi_file);
        let raw = screen.bgrx.len();
        let mut qoi = Vec::new();
        let qoi_time = fastest(|| encode_qoi(black_box(&screen.view()), &mut qoi).unwrap());
        let rects = [Rect {
            view: screen.view(),
        }];
        let frame = run_frames(&rects, 1);
        let key = run_stream(&rects, 3, oriel_qoiz::DEFAULT_STREAM_HISTORY, 1);
        println!(
            "| {name} | {} | {} | {} | {} | {:.1} | {} | {} | {} | {:.1} | {} | {} |",
            raw / 1000,
            ms(qoi_time),
            qoi.len() / 1000,
            ms(frame.encode.saturating_sub(qoi_time)),
            frame.bytes as f64 / 1e3,
            mbps(raw, frame.encode),
            ms(frame.decode),
            ms(key.encode.saturating_sub(qoi_time)),
            key.bytes as f64 / 1e3,
            mbps(raw, key.encode),
            ms(key.decode),
        );
    }
    println!();
}

fn sequence() {
    let records =
        zstd::decode_all(&std::fs::read(fixture("xterm_scroll_1280x720.seq.zst")).unwrap()[..])
            .unwrap();
    let mut rest = &records[..];
    let mut screens = Vec::new();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let (qoi, tail) = tail.split_at(u32::from_le_bytes(*len) as usize);
        screens.push(Screen::from_qoi(qoi));
        rest = tail;
    }
    // Damage per shot: the band of rows that changed (the whole screen first).
    let mut rects = Vec::new();
    for (i, screen) in screens.iter().enumerate() {
        let (y0, y1) = if i == 0 {
            (0, screen.height)
        } else {
            let stride = screen.width as usize * 4;
            let prev = &screens[i - 1].bgrx;
            let changed: Vec<u32> = (0..screen.height)
                .filter(|&y| {
                    let row = y as usize * stride..(y as usize + 1) * stride;
                    screen.bgrx[row.clone()] != prev[row]
                })
                .collect();
            match (changed.first(), changed.last()) {
                (Some(&a), Some(&b)) => (a, b + 1),
                _ => continue,
            }
        };
        rects.push(Rect {
            view: screen.rows(y0, y1),
        });
    }
    let raw: usize = rects
        .iter()
        .map(|r| r.view.width as usize * r.view.height as usize * 4)
        .sum();
    let mut qoi = Vec::new();
    let mut qoi_bytes = 0;
    let qoi_time = fastest(|| {
        qoi_bytes = 0;
        for rect in &rects {
            encode_qoi(&rect.view, &mut qoi).unwrap();
            qoi_bytes += qoi.len();
        }
    });
    println!(
        "### Sequence: xterm typing then scrolling, {} shots 100 ms apart, {} damage rectangles\n",
        screens.len(),
        rects.len()
    );
    println!(
        "Raw damage {:.0} KB; QOI alone {:.0} KB in {} ms.\n",
        raw as f64 / 1e3,
        qoi_bytes as f64 / 1e3,
        ms(qoi_time)
    );
    println!("| design | KB sent | vs raw | zstd ms | encode MB/s | decode ms |");
    println!("|---|---|---|---|---|---|");
    let history = oriel_qoiz::DEFAULT_STREAM_HISTORY;
    let designs: Vec<(String, Run)> = vec![
        (
            "frame per rect, L1 (CODEC_QOIZ)".into(),
            run_frames(&rects, 1),
        ),
        ("frame per rect, L3".into(), run_frames(&rects, 3)),
        (
            "stream L3, 512 KiB history, one keyframe (CODEC_QOIZ_STREAM default)".into(),
            run_stream(&rects, 3, history, usize::MAX),
        ),
        (
            "stream L3, 512 KiB history, keyframe every 5 rects".into(),
            run_stream(&rects, 3, history, 5),
        ),
        (
            "stream L3, 1 MiB history, one keyframe".into(),
            run_stream(&rects, 3, 1 << 20, usize::MAX),
        ),
        (
            "stream L1, 512 KiB history, one keyframe".into(),
            run_stream(&rects, 1, history, usize::MAX),
        ),
        (
            "stream L2, 512 KiB history, one keyframe".into(),
            run_stream(&rects, 2, history, usize::MAX),
        ),
        (
            "reference: flushed zstd stream L1, C decoder".into(),
            run_flushed_stream(&rects, 1),
        ),
        (
            "reference: flushed zstd stream L3, C decoder".into(),
            run_flushed_stream(&rects, 3),
        ),
    ];
    for (name, run) in designs {
        println!(
            "| {name} | {:.1} | {:.2}% | {} | {} | {} |",
            run.bytes as f64 / 1e3,
            run.bytes as f64 * 100.0 / raw as f64,
            ms(run.encode.saturating_sub(qoi_time)),
            mbps(raw, run.encode),
            ms(run.decode),
        );
    }
    println!();
}

/// The QOI layer alone, three encoders on the same X-server pixels
/// (BGRX, 4 bytes a pixel, a stride): ours, IronRDP's `qoicoubeh` (takes
/// BGRX and a stride as they are) and the `qoi` crate (takes RGB, so the
/// conversion it needs is timed with it).
fn qoi_encoders() {
    println!("### QOI encoders (full screen, BGRX input, one thread)");
    println!();
    println!(
        "| fixture | ours ms | MP/s | KB | qoicoubeh ms | MP/s | KB | qoi crate ms (with BGRX to RGB) | MP/s | KB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for name in [
        "terminal_1920x1080.qoi",
        "desktop_1280x720.qoi",
        "terminal_1280x720.qoi",
    ] {
        let screen = Screen::from_qoi(&std::fs::read(fixture(name)).unwrap());
        let (w, h) = (screen.width, screen.height);
        let pixels = f64::from(w) * f64::from(h);
        let mp = |d: Duration| format!("{:.0}", pixels / d.as_secs_f64() / 1e6);
        let mut ours = Vec::new();
        let t_ours = fastest(|| encode_qoi(&screen.view(), &mut ours).unwrap());
        let coubeh = qoi_coubeh::EncoderBuilder::new(&screen.bgrx, w, h)
            .stride(w as usize * 4)
            .raw_channels(qoi_coubeh::RawChannels::Bgrx)
            .build()
            .unwrap();
        let mut coubeh_out = vec![0; coubeh.required_buf_len()];
        let mut coubeh_len = 0;
        let t_coubeh = fastest(|| coubeh_len = coubeh.encode_to_buf(&mut coubeh_out).unwrap());
        let mut rgb = Vec::new();
        let mut crate_len = 0;
        let t_crate = fastest(|| {
            rgb.clear();
            rgb.extend(screen.bgrx.chunks_exact(4).flat_map(|p| [p[2], p[1], p[0]]));
            crate_len = qoi::encode_to_vec(&rgb, w, h).unwrap().len();
        });
        // All three are QOI: each decodes to the same picture.
        let mut a = vec![0; w as usize * h as usize * 4];
        let mut b = a.clone();
        decode_qoi(&ours, w, h, &mut a).unwrap();
        decode_qoi(&coubeh_out[..coubeh_len], w, h, &mut b).unwrap();
        assert_eq!(a, b, "qoicoubeh's output decodes to another picture");
        let kb = |n: usize| format!("{:.1}", n as f64 / 1024.0);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            ms(t_ours),
            mp(t_ours),
            kb(ours.len()),
            ms(t_coubeh),
            mp(t_coubeh),
            kb(coubeh_len),
            ms(t_crate),
            mp(t_crate),
            kb(crate_len)
        );
    }
    println!();
}

fn main() {
    // `cargo test --benches` passes --bench too; only run when asked to bench.
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let started = Instant::now();
    if std::env::args().any(|a| a == "qoi") {
        qoi_encoders();
        return;
    }
    qoi_encoders();
    stills();
    sequence();
    println!("(bench ran in {:.0} s)", started.elapsed().as_secs_f64());
}
