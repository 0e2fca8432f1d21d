//! The decoder oracle shared by the fuzz target (`fuzz/`) and the replay of
//! `testdata/fuzz_regression/` in `cargo test`. Not a stable API.

use crate::{Codec, Decoder, FrameOp, SessionDecoder};

/// Feeds arbitrary bytes to one [`Decoder`] as a series of rectangles.
/// Each record is: flags (bit 0: stream codec, bit 1: reset_context, bit 2:
/// a session stream message for one [`SessionDecoder`], size ignored),
/// width - 1, height - 1, a little-endian u16 length, then that many bytes
/// (or what is left). Must never panic. Returns how many rectangles
/// decoded.
pub fn decode_records(mut data: &[u8]) -> usize {
    let mut decoded = 0;
    let mut decoder = Decoder::new();
    let mut session = SessionDecoder::new();
    let mut rgba = Vec::new();
    while let Some((head, rest)) = data.split_first_chunk::<5>() {
        let [flags, w, h, len0, len1] = *head;
        let codec = if flags & 1 == 0 {
            Codec::Qoiz
        } else {
            Codec::QoizStream
        };
        let reset = flags & 2 != 0;
        let (width, height) = (u32::from(w) + 1, u32::from(h) + 1);
        let len = usize::from(u16::from_le_bytes([len0, len1])).min(rest.len());
        let (chunk, rest) = rest.split_at(len);
        if flags & 4 != 0 {
            if let Ok(ops) = session.decode(reset, chunk) {
                // Walk the operations as a painter would.
                for op in ops.iter() {
                    if let FrameOp::Paint {
                        width,
                        height,
                        rgba,
                        ..
                    } = op
                    {
                        assert_eq!(rgba.len(), width as usize * height as usize * 4);
                    }
                }
                decoded += 1;
            }
            data = rest;
            continue;
        }
        if decoder
            .decode(codec, reset, chunk, width, height, &mut rgba)
            .is_ok()
        {
            assert_eq!(rgba.len(), width as usize * height as usize * 4);
            decoded += 1;
        }
        data = rest;
    }
    decoded
}
