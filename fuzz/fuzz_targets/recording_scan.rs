//! Arbitrary bytes as a recording: checked whole, then recovered. Crashes
//! go to `crates/recording/testdata/fuzz_regression/`, which `cargo test`
//! replays.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut whole = oriel_recording::Scanner::new();
    if whole.feed(data).is_ok() {
        let _ = whole.finish();
    }
    let mut cut = oriel_recording::Scanner::new();
    if cut.feed(data).is_ok() {
        let _ = cut.recover();
    }
});
