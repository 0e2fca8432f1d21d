//! Oriel under a supervisor that went away: started with its output on
//! pipes whose reader has exited (a shell closed, a script that started it
//! and left), SIGTERM still stops it. A log line it can no longer write
//! once panicked the task that wrote it, and the shutdown with it.

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{PATIENCE, start_command};

#[test]
fn sigterm_stops_oriel_whose_output_nobody_reads_any_more() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = start_command(dir.path()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("Oriel is ready at https://") {
        line.clear();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "oriel exited before it was ready");
    }
    // The reader goes away: both pipes lose their only reader.
    drop(stdout);
    drop(child.stderr.take());

    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("oriel ignored SIGTERM with nobody reading its output");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "oriel stopped with {status}");
}
