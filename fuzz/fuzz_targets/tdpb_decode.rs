//! Arbitrary bytes as a TDPB stream and as single frames, in both
//! directions' limits: framing, protobuf decoding, field limits and the
//! proxy's peek. Crashes go to `crates/tdpb/testdata/fuzz_regression/`,
//! which `cargo test -p oriel-tdpb` replays.
#![no_main]

use oriel_tdpb::{FrameReader, Limits, decode_frame, encode_frame, peek_kind};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = peek_kind(data);
    for limits in [Limits::FROM_CLIENT, Limits::FROM_SERVER] {
        if let Ok(Some(payload)) = decode_frame(data, limits) {
            // Whatever decodes re-encodes to a frame that decodes the same.
            let again = encode_frame(payload.clone());
            assert_eq!(decode_frame(&again, limits).unwrap(), Some(payload));
        }
        // The same bytes cut at every eighth byte, as a transport might.
        let mut reader = FrameReader::new(limits.max_frame_len);
        for chunk in data.chunks(8) {
            reader.push(chunk);
            while let Ok(Some(frame)) = reader.next_frame() {
                let _ = decode_frame(frame, limits);
            }
        }
    }
});
