//! Arbitrary bytes, cut into rectangles for one session's decoder (codec,
//! reset flag and size come from a 5-byte header per record; see
//! `oriel_qoiz::fuzzing`). Crashes go to
//! `crates/qoiz/testdata/fuzz_regression/`, which `cargo test` replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = oriel_qoiz::fuzzing::decode_records(data);
});
