//! Replays every input that once crashed or hung the fuzzer, in every
//! chunking a reader may see.

use oriel_recording::Scanner;

#[test]
fn fuzz_regressions_scan_without_panicking() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/fuzz_regression");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).expect("regression dir") {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for chunk in [1, 7, bytes.len().max(1)] {
            let mut scanner = Scanner::new();
            let fed = bytes.chunks(chunk).try_for_each(|part| scanner.feed(part));
            // None of these is a whole recording.
            assert!(
                fed.is_err() || scanner.finish().is_err(),
                "{} read as a recording",
                path.display()
            );
        }
        replayed += 1;
    }
    assert!(replayed > 0, "the regression corpus must not be empty");
}
