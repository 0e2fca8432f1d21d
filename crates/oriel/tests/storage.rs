//! `oriel start --storage postgres://…`: the control plane on a real
//! PostgreSQL server, through its unix socket (peer authentication) or over
//! TCP with TLS (verify-full) and SCRAM. The data dir remembers the choice,
//! so a restart and `orielctl` find the same cluster without being told.
//! A URL over TCP without verified TLS is refused with what to write.
//!
//! The server comes from `ORIEL_TEST_POSTGRES_URL` and
//! `ORIEL_TEST_POSTGRES_TLS_URL` (scripts/test starts one);
//! ORIEL_SKIP_POSTGRES=1 skips these tests on purpose.

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::storage::StorageLocation;
use oriel_auth::store::Store;

/// A started `oriel` and what it printed before it was ready.
struct Started {
    child: Child,
    printed: Vec<String>,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, storage: Option<&str>) -> Started {
    std::fs::create_dir_all(dir.join("web")).unwrap();
    std::fs::write(dir.join("web/index.html"), "<!doctype html><title>Oriel</title>").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_oriel"));
    command
        .args(["start", "--listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--tunnel-listen", "127.0.0.1:0", "--xsessions-dir"])
        .arg(dir.join("xsessions"));
    command.arg("--data-dir").arg(dir.join("data")).arg("--web-dir").arg(dir.join("web"));
    if let Some(url) = storage {
        command.args(["--storage", url]);
    }
    let log = std::fs::File::create(dir.join("oriel.log")).unwrap();
    let mut child = command.stdout(Stdio::piped()).stderr(log).spawn().unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let ready = line.starts_with("Oriel is ready at");
        printed.push(line);
        // The invite line, when there is one, follows the ready line.
        if ready {
            break;
        }
    }
    assert!(
        printed.last().is_some_and(|l| l.starts_with("Oriel is ready at")),
        "oriel did not start: {printed:?}\n{}",
        std::fs::read_to_string(dir.join("oriel.log")).unwrap_or_default()
    );
    Started { child, printed }
}

/// The users in the store recorded in the data dir, as `orielctl` on the
/// auth host finds it.
async fn users(dir: &Path) -> Vec<String> {
    let store = StorageLocation::recorded(&dir.join("data")).unwrap().open().await.unwrap();
    Store::new(store).users().await.unwrap().iter().map(|u| u.name.to_string()).collect()
}

async fn add_user(dir: &Path, name: &str) {
    let backend = StorageLocation::recorded(&dir.join("data")).unwrap().open().await.unwrap();
    let plane = ControlPlane::new(Store::new(backend), std::sync::Arc::new(oriel_backend::SystemClock));
    let spec = UserSpec { name: name.into(), roles: vec!["access".into()], linux_logins: vec![name.into()], windows_logins: vec![] };
    plane.add_user(&spec).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_keeps_the_cluster_across_restarts() {
    let Some(url) = support::fresh_database("oriel_start").await else { return };
    let dir = tempfile::tempdir().unwrap();

    let first = start(dir.path(), Some(&url));
    drop(first);
    assert!(!dir.path().join("data/oriel.db").exists(), "no SQLite file when PostgreSQL was chosen");

    // orielctl finds the same store through the data dir.
    assert_eq!(users(dir.path()).await, ["admin"]);
    add_user(dir.path(), "alice").await;

    // A restart without --storage reopens PostgreSQL: the admin is still
    // there (it only prints the invite again, since nobody enrolled) and so is alice.
    let second = start(dir.path(), None);
    assert!(second.printed.iter().any(|l| l.starts_with("Oriel is ready at")));
    drop(second);
    assert!(!dir.path().join("data/oriel.db").exists());
    assert_eq!(users(dir.path()).await, ["admin", "alice"]);
}

/// Over TCP with TLS and SCRAM: the password never reaches the log, and
/// the recorded URL (owner-only) reopens the same store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_over_tls_with_a_password_that_is_never_logged() {
    use std::os::unix::fs::PermissionsExt as _;
    let Some(url) = support::fresh_tls_database("oriel_start_tls").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let started = start(dir.path(), Some(&url));
    drop(started);
    let password = url.split_once("://").unwrap().1.split_once('@').unwrap().0.split_once(':').unwrap().1;
    assert!(password.len() >= 16, "the test URL has a password");
    let log = std::fs::read_to_string(dir.path().join("oriel.log")).unwrap();
    assert!(!log.contains(password), "the database password is never logged");
    let recorded = dir.path().join("data/storage");
    assert_eq!(std::fs::metadata(&recorded).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(users(dir.path()).await, ["admin"]);
}

#[test]
fn tcp_without_verified_tls_is_refused_with_what_to_do() {
    for url in [
        "postgres://oriel:hunter2@db.example.com/oriel",
        "postgres://oriel:hunter2@127.0.0.1:5432/oriel",
        "postgres://oriel:hunter2@db.example.com/oriel?sslmode=require",
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("web")).unwrap();
        std::fs::write(dir.path().join("web/index.html"), "x").unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_oriel"))
            .args(["start", "--listen", "127.0.0.1:0", "--storage", url])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--web-dir")
            .arg(dir.path().join("web"))
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let host = url.split_once('@').unwrap().1.split(['/', ':']).next().unwrap();
        assert!(stderr.contains(host) && stderr.contains("TCP") && stderr.contains("sslmode=verify-full&sslrootcert="), "{stderr}");
        assert!(stderr.contains("unix socket"), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(!dir.path().join("data/storage").exists(), "nothing is recorded");
    }
}
