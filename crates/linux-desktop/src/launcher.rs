//! Forking children that must die with Oriel.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked a child exits, not
//! the process. Forking from a thread pool that retires idle threads (tokio's
//! blocking pool does after 10 s) would kill the child mid-session. Every
//! such child is therefore forked from one thread that lives as long as the
//! process.

use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};

type Job = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `command` from the process-lifetime launcher thread.
pub fn spawn(command: Command) -> std::io::Result<Child> {
    static LAUNCHER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let launcher = LAUNCHER.get_or_init(|| {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("child-launcher".into())
            .spawn(move || {
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("start the child launcher thread");
        Mutex::new(jobs)
    });
    let (reply, result) = mpsc::channel();
    launcher
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send((command, reply))
        .map_err(|_| std::io::Error::other("child launcher thread is gone"))?;
    result.recv().map_err(|_| std::io::Error::other("child launcher thread is gone"))?
}
