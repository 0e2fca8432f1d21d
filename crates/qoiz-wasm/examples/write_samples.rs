//! Writes QOIZ samples for `check.mjs`: rectangles encoded natively from
//! the qoiz fixtures, and a manifest with the FNV-1a hash of the RGBA each
//! must decode to.
//!
//! ```text
//! cargo run -p oriel-qoiz-wasm --example write_samples -- OUT_DIR
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use oriel_qoiz::{
    BgrxView, Codec, Decoder, FrameEncoder, SessionDecoder, SessionEncoder, StreamEncoder,
    decode_qoi,
};

type Error = Box<dyn std::error::Error>;

/// 32-bit FNV-1a, easy to compute in JavaScript too.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// BGRX pixels and size of a QOI image.
fn bgrx(qoi: &[u8]) -> Result<(Vec<u8>, u32, u32), Error> {
    let width = u32::from_be_bytes(qoi[4..8].try_into()?);
    let height = u32::from_be_bytes(qoi[8..12].try_into()?);
    let mut rgba = vec![0; width as usize * height as usize * 4];
    decode_qoi(qoi, width, height, &mut rgba)?;
    Ok((
        rgba.chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0], 0])
            .collect(),
        width,
        height,
    ))
}

struct Manifest {
    dir: PathBuf,
    json: String,
    count: usize,
}

impl Manifest {
    /// Records one rectangle; `expect` is the RGBA it decodes to, or None
    /// when the decoder must refuse it.
    fn push(
        &mut self,
        codec: Codec,
        reset: bool,
        data: &[u8],
        w: u32,
        h: u32,
        expect: Option<&[u8]>,
    ) -> Result<(), Error> {
        let file = format!("rect{:02}.bin", self.count);
        std::fs::write(self.dir.join(&file), data)?;
        let sep = if self.count == 0 { "" } else { ",\n" };
        let expect = expect.map_or("null".to_owned(), |rgba| fnv1a(rgba).to_string());
        write!(
            self.json,
            "{sep}  {{\"file\": \"{file}\", \"codec\": {}, \"reset\": {}, \"width\": {w}, \"height\": {h}, \"fnv\": {expect}}}",
            codec as u32,
            u32::from(reset)
        )?;
        self.count += 1;
        Ok(())
    }
}

fn main() -> Result<(), Error> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: write_samples OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../qoiz/testdata/fixtures");
    let mut manifest = Manifest {
        dir: out.clone(),
        json: String::from("[\n"),
        count: 0,
    };
    // The reference output is what the native decoder produces.
    let mut native = Decoder::new();
    let mut rgba = Vec::new();
    let mut data = Vec::new();

    // A whole terminal screen, then a sub-rectangle of it, as independent frames.
    let (pixels, width, height) = bgrx(&std::fs::read(fixtures.join("terminal_1280x720.qoi"))?)?;
    let mut frames = FrameEncoder::new()?;
    for (x, y, w, h) in [(0, 0, width, height), (13, 101, 333, 77)] {
        let start = y as usize * width as usize * 4 + x as usize * 4;
        let view = BgrxView::new(&pixels[start..], width as usize * 4, w, h)?;
        frames.encode(&view, &mut data)?;
        native.decode(Codec::Qoiz, false, &data, w, h, &mut rgba)?;
        manifest.push(Codec::Qoiz, false, &data, w, h, Some(&rgba))?;
    }

    // Scrolling shots through the stream codec, with a keyframe in the middle.
    let records =
        zstd::decode_all(&std::fs::read(fixtures.join("xterm_scroll_1280x720.seq.zst"))?[..])?;
    let mut rest = &records[..];
    let mut stream = StreamEncoder::new()?;
    let mut shot = 0;
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let (qoi, tail) = tail.split_at(u32::from_le_bytes(*len) as usize);
        rest = tail;
        shot += 1;
        if shot % 3 != 0 {
            continue;
        }
        if shot == 12 {
            stream.reset();
        }
        let (pixels, w, h) = bgrx(qoi)?;
        let reset = stream.encode(&BgrxView::new(&pixels, w as usize * 4, w, h)?, &mut data)?;
        native.decode(Codec::QoizStream, reset, &data, w, h, &mut rgba)?;
        manifest.push(Codec::QoizStream, reset, &data, w, h, Some(&rgba))?;
    }

    // The same shots through the session stream: each a frame of two paints
    // (top and bottom half) and a copy, a keyframe in the middle, then a
    // message cut short (refused; it closes the stream) and a keyframe that
    // opens it again. The expected hash is of the operations buffer.
    let mut session = SessionEncoder::new()?;
    let mut native_session = SessionDecoder::new();
    let mut rest = &records[..];
    let mut shot = 0;
    let mut message = Vec::new();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let (qoi, tail) = tail.split_at(u32::from_le_bytes(*len) as usize);
        rest = tail;
        shot += 1;
        if shot % 4 != 0 {
            continue;
        }
        if shot == 12 {
            session.reset();
        }
        let (pixels, w, h) = bgrx(qoi)?;
        let half = h / 2;
        for (y, rows) in [(0, half), (half, h - half)] {
            let start = y as usize * w as usize * 4;
            session.paint(
                0,
                y,
                &BgrxView::new(&pixels[start..], w as usize * 4, w, rows)?,
            )?;
        }
        session.copy(0, 0, w, 16, 0, 16)?;
        let reset = session.finish(&mut message)?;
        let ops = native_session.decode(reset, &message)?;
        manifest.push(
            Codec::QoizSession,
            reset,
            &message,
            0,
            0,
            Some(ops.as_bytes()),
        )?;
    }
    let cut = &message[..message.len() / 2];
    manifest.push(Codec::QoizSession, false, cut, 0, 0, None)?;
    manifest.push(Codec::QoizSession, false, &message, 0, 0, None)?;
    session.reset();
    let (pixels, w, h) = bgrx(&std::fs::read(fixtures.join("terminal_1280x720.qoi"))?)?;
    session.paint(0, 0, &BgrxView::new(&pixels, w as usize * 4, w, h)?)?;
    let reset = session.finish(&mut message)?;
    let ops = native_session.decode(reset, &message)?;
    manifest.push(
        Codec::QoizSession,
        reset,
        &message,
        0,
        0,
        Some(ops.as_bytes()),
    )?;

    // Refusals: garbage, and the last stream rectangle replayed with a size
    // the stream cannot match (which also closes the stream).
    manifest.push(Codec::Qoiz, false, b"not qoiz at all", 4, 4, None)?;
    manifest.push(Codec::QoizStream, false, &data, 640, 360, None)?;
    manifest.push(Codec::QoizStream, false, &data, 1280, 720, None)?;

    manifest.json.push_str("\n]\n");
    std::fs::write(out.join("manifest.json"), &manifest.json)?;
    println!("wrote {} samples to {}", manifest.count, out.display());
    Ok(())
}
