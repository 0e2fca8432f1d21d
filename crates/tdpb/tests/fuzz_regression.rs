//! Replays every input that once crashed or hung the fuzzer.

use oriel_tdpb::{FrameReader, Limits, decode_frame, peek_kind};

#[test]
fn fuzz_regressions_decode_without_panicking() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fuzz_regression");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).expect("regression dir") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for limits in [Limits::FROM_CLIENT, Limits::FROM_SERVER] {
            let _ = decode_frame(&bytes, limits);
            let mut reader = FrameReader::new(limits.max_frame_len);
            reader.push(&bytes);
            while let Ok(Some(frame)) = reader.next_frame() {
                let _ = decode_frame(frame, limits);
            }
        }
        let _ = peek_kind(&bytes);
        replayed += 1;
    }
    assert!(replayed > 0, "the regression corpus must not be empty");
}
