//! Replays every input the fuzzer ever crashed on, and the seeds it starts
//! from (`testdata/fuzz_regression/`): none may panic, and the corpus must
//! not be empty (a test that replays nothing proves nothing).

use std::path::Path;

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz_regression");
    let (mut replayed, mut seeds) = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let decoded = oriel_qoiz::fuzzing::decode_records(&std::fs::read(&path).unwrap());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // A whole seed (from examples/fuzz_seeds.rs) is a valid session:
        // one frame, three stream rectangles and three session stream
        // messages, all of which decode.
        if name.starts_with("seed_") && !name.ends_with("_truncated") {
            assert_eq!(
                decoded, 7,
                "{name}: every rectangle of a valid seed decodes"
            );
            seeds += 1;
        }
        replayed += 1;
    }
    assert!(
        replayed > 0,
        "the regression corpus in {} is empty",
        dir.display()
    );
    assert!(seeds > 0, "no valid seeds in {}", dir.display());
}
