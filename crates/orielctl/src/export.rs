//! `recordings export`: a recording as a standard video. The recording is
//! checked whole first, then painted in Rust (`oriel_recording::Screen`)
//! at a constant frame rate and piped as raw RGBA to Debian's `ffmpeg`,
//! which encodes H.264 in MP4 or VP9 in WebM, as the file's name says.
//! Idle stretches cost little: unchanged frames encode to almost nothing.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, bail};
use oriel_recording::{Index, Scanned, Scanner, Screen, parse_header, parse_record};

/// Bytes read from the recording at a time.
const CHUNK: usize = 1 << 20;

/// The video formats, from the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Mp4,
    Webm,
}

impl Container {
    fn of(out: &Path) -> anyhow::Result<Container> {
        match out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("mp4") => Ok(Container::Mp4),
            Some("webm") => Ok(Container::Webm),
            _ => bail!("name the video FILE.mp4 or FILE.webm: {} is neither", out.display()),
        }
    }

    /// ffmpeg's encoder settings: a screen's text stays sharp, colours
    /// 4:2:0 so every player plays it.
    fn codec_args(self) -> &'static [&'static str] {
        match self {
            Container::Mp4 => {
                &["-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-crf", "20", "-pix_fmt", "yuv420p", "-movflags", "+faststart"]
            }
            Container::Webm => {
                &["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-b:v", "0", "-crf", "32", "-pix_fmt", "yuv420p"]
            }
        }
    }
}

/// Whether `out` and `fps` name a video this can write.
pub fn check_output(out: &Path, fps: u32) -> anyhow::Result<()> {
    Container::of(out)?;
    if !(1..=60).contains(&fps) {
        bail!("--fps is 1 to 60");
    }
    Ok(())
}

/// Exports the recording at `file` to the video `out` at `fps` frames a
/// second. A recording that is not whole and valid exports nothing.
pub fn export(file: &Path, out: &Path, fps: u32) -> anyhow::Result<()> {
    check_output(out, fps)?;
    let container = Container::of(out)?;
    let scanned = check(file)?;
    let (width, height) = largest_screen(file, scanned.index.records_end)?;
    if width == 0 {
        bail!("the recording shows no screen: nothing to export");
    }
    // 4:2:0 video needs even sides; the picture is padded with black.
    let (video_width, video_height) = (width + width % 2, height + height % 2);
    let partial = out.with_extension(format!("{}.part", out.extension().and_then(|e| e.to_str()).unwrap_or("video")));
    let mut ffmpeg = start_ffmpeg(container, video_width, video_height, fps, &partial)?;
    let painted = paint(file, &scanned, fps, (video_width, video_height), ffmpeg.stdin.take().expect("piped"));
    let status = ffmpeg.wait().context("waiting for ffmpeg")?;
    if let Err(error) = painted {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    if !status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!("ffmpeg failed ({status}); see its message above");
    }
    std::fs::rename(&partial, out).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("exported {} ({} of {}x{} at {fps} fps)", out.display(), clock(scanned.index.duration_ms), video_width, video_height);
    Ok(())
}

/// The recording read whole and checked: its index.
fn check(file: &Path) -> anyhow::Result<Scanned> {
    let mut reader = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut scanner = Scanner::new();
    let mut chunk = vec![0; CHUNK];
    loop {
        let read = reader.read(&mut chunk).with_context(|| format!("reading {}", file.display()))?;
        if read == 0 {
            break;
        }
        scanner.feed(&chunk[..read]).with_context(|| format!("{} cannot be exported", file.display()))?;
    }
    scanner.finish().with_context(|| format!("{} cannot be exported", file.display()))
}

/// The largest screen the recording shows, so every moment fits the video.
fn largest_screen(file: &Path, records_end: u64) -> anyhow::Result<(u32, u32)> {
    let mut screen = Screen::new();
    let mut largest = (0, 0);
    each_record(file, records_end, |offset, record| {
        // Only sizes matter here: frames are left for the painting pass.
        if oriel_recording::is_screen_size(record) {
            screen.apply(offset, record)?;
            let (w, h) = screen.size();
            largest = (largest.0.max(w), largest.1.max(h));
        }
        Ok(())
    })?;
    Ok(largest)
}

fn start_ffmpeg(container: Container, width: u32, height: u32, fps: u32, out: &Path) -> anyhow::Result<Child> {
    let size = format!("{width}x{height}");
    let rate = fps.to_string();
    let mut command = Command::new("ffmpeg");
    command.args(["-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", &size, "-framerate", &rate, "-i", "-"]);
    command.args(container.codec_args()).arg("-f").arg(match container {
        Container::Mp4 => "mp4",
        Container::Webm => "webm",
    });
    command.arg(out).stdin(Stdio::piped());
    command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!("ffmpeg is not installed: install Debian's ffmpeg package (apt-get install ffmpeg)"),
        _ => anyhow::anyhow!("cannot start ffmpeg: {e}"),
    })
}

/// Paints each video frame's moment and sends it to ffmpeg.
fn paint(file: &Path, scanned: &Scanned, fps: u32, (width, height): (u32, u32), mut video: impl Write) -> anyhow::Result<()> {
    let Index { duration_ms, records_end, .. } = scanned.index;
    let frames = (u64::from(duration_ms) * u64::from(fps)).div_ceil(1000).max(1);
    let frame_time = |frame: u64| frame * 1000 / u64::from(fps);
    let mut screen = Screen::new();
    let mut padded = vec![0u8; width as usize * height as usize * 4];
    let mut frame = 0u64;
    let mut shown_percent = 0;
    let mut emit = |screen: &Screen, until_ms: u64, frame: &mut u64| -> anyhow::Result<()> {
        while *frame < frames && frame_time(*frame) < until_ms {
            video.write_all(fit(screen, &mut padded, width)).context("sending frames to ffmpeg")?;
            *frame += 1;
            let percent = *frame * 100 / frames;
            if percent >= shown_percent + 10 {
                shown_percent = percent;
                eprintln!("exporting: {percent}%");
            }
        }
        Ok(())
    };
    each_record(file, records_end, |offset, record| {
        // Frames before this record show the screen as it was.
        emit(&screen, u64::from(record.delay_ms), &mut frame)?;
        screen.apply(offset, record)?;
        Ok(())
    })?;
    emit(&screen, u64::MAX, &mut frame)?;
    Ok(())
}

/// The screen's pixels in a `width`-wide frame, black where it is smaller.
fn fit<'a>(screen: &'a Screen, padded: &'a mut [u8], width: u32) -> &'a [u8] {
    let (w, h) = screen.size();
    if w == width && (w * h * 4) as usize == padded.len() {
        return screen.rgba();
    }
    padded.fill(0);
    for (row, pixels) in screen.rgba().chunks_exact(w as usize * 4).enumerate().take(h as usize) {
        let at = row * width as usize * 4;
        padded[at..at + pixels.len()].copy_from_slice(pixels);
    }
    padded
}

/// Calls `each` with every record before `end`, in order.
fn each_record(file: &Path, end: u64, mut each: impl FnMut(u64, &oriel_recording::Record<'_>) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let mut reader = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut buffer = Vec::with_capacity(CHUNK);
    let mut buffered_at = 0u64;
    let mut chunk = vec![0; CHUNK];
    let mut header_done = false;
    loop {
        let read = reader.read(&mut chunk)?;
        buffer.extend_from_slice(&chunk[..read]);
        let mut at = 0;
        if !header_done {
            let Some((_, len)) = parse_header(&buffer)? else {
                if read == 0 {
                    bail!("{} ends inside its header", file.display());
                }
                continue;
            };
            at = len;
            header_done = true;
        }
        while buffered_at + (at as u64) < end {
            let offset = buffered_at + at as u64;
            match parse_record(&buffer[at..], offset)? {
                Some((record, len)) => {
                    each(offset, &record)?;
                    at += len;
                }
                None => break,
            }
        }
        buffer.drain(..at);
        buffered_at += at as u64;
        if read == 0 || buffered_at >= end {
            return Ok(());
        }
    }
}

fn clock(ms: u32) -> String {
    let seconds = ms / 1000;
    format!("{}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60)
}
