//! Writes valid sessions for the `qoiz_decode` fuzz target to start from,
//! in the record format of `oriel_qoiz::fuzzing::decode_records`, and each
//! cut short (`_truncated`: the last record's data ends early). The same
//! files are kept in `crates/qoiz/testdata/fuzz_regression/`, which
//! `cargo test` replays.
//!
//! ```text
//! cargo run -p oriel-qoiz --example fuzz_seeds -- fuzz/corpus/qoiz_decode
//! cargo run -p oriel-qoiz --example fuzz_seeds -- crates/qoiz/testdata/fuzz_regression
//! ```

use oriel_qoiz::{BgrxView, FrameEncoder, SessionEncoder, StreamEncoder};

/// Flag bits of a record: see `oriel_qoiz::fuzzing`.
const STREAM: u8 = 1;
const RESET: u8 = 2;
const SESSION: u8 = 4;

fn record(out: &mut Vec<u8>, flags: u8, w: u32, h: u32, data: &[u8]) {
    out.push(flags);
    out.push((w - 1) as u8);
    out.push((h - 1) as u8);
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: fuzz_seeds DIR")?;
    std::fs::create_dir_all(&dir)?;
    let mut frames = FrameEncoder::new()?;
    let mut data = Vec::new();
    for (n, (w, h)) in [(1u32, 1u32), (7, 3), (32, 16), (64, 64)]
        .into_iter()
        .enumerate()
    {
        // Stripes and a gradient: runs, index hits, DIFF and LUMA ops.
        let pixels: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let v = if (x / 3 + y) % 4 == 0 {
                    200
                } else {
                    (x * 4 + y) as u8
                };
                [v, v / 2, 255 - v, 0]
            })
            .collect();
        let view = BgrxView::new(&pixels, w as usize * 4, w, h)?;
        let mut session = Vec::new();
        frames.encode(&view, &mut data)?;
        record(&mut session, 0, w, h, &data);
        let mut stream = StreamEncoder::new()?;
        for i in 0..3 {
            if i == 2 {
                stream.reset();
            }
            let reset = stream.encode(&view, &mut data)?;
            record(
                &mut session,
                STREAM | if reset { RESET } else { 0 },
                w,
                h,
                &data,
            );
        }
        // The session stream: a paint and a copy, a paint, then a new stream.
        let mut encoder = SessionEncoder::new()?;
        for i in 0..3 {
            if i == 2 {
                encoder.reset();
            }
            encoder.paint(i, i, &view)?;
            if i == 0 {
                encoder.copy(0, 0, w, h, 1, 1)?;
            }
            let reset = encoder.finish(&mut data)?;
            record(
                &mut session,
                SESSION | if reset { RESET } else { 0 },
                1,
                1,
                &data,
            );
        }
        std::fs::write(
            format!("{dir}/seed_{n}_truncated"),
            &session[..session.len() * 2 / 3],
        )?;
        std::fs::write(format!("{dir}/seed_{n}"), session)?;
    }
    Ok(())
}
