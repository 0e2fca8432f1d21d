//! Replays every input the fuzzer ever crashed on (`testdata/fuzz_regression/`).

use std::path::Path;

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz_regression");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        oriel_qoiz::fuzzing::decode_records(&std::fs::read(&path).unwrap());
        replayed += 1;
    }
    eprintln!("replayed {replayed} inputs from {}", dir.display());
}
