//! `oriel start --config oriel.yaml`: the file's addresses, store, xsession
//! filter and labels (static and from commands) take effect; a bad file, a
//! mix of services Oriel does not run in one process, and a desktop-only
//! host that cannot join are refused with the reason.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oriel_auth::storage::StorageLocation;
use oriel_auth::store::Store;
use oriel_rbac::DesktopKind;

struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn oriel(dir: &Path, config: &str) -> Command {
    std::fs::create_dir_all(dir.join("web")).unwrap();
    std::fs::write(dir.join("web/index.html"), "<!doctype html><title>Oriel</title>").unwrap();
    std::fs::write(dir.join("oriel.yaml"), config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_oriel"));
    command.arg("start").arg("--config").arg(dir.join("oriel.yaml"));
    command.arg("--web-dir").arg(dir.join("web")).arg("--xsessions-dir").arg(dir.join("xsessions"));
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_data_dir_and_labels_take_effect() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state");
    let config = format!(
        "data_dir: {}\nauth_service:\n  listen_addr: 127.0.0.1:0\nproxy_service:\n  web_listen_addr: 127.0.0.1:0\n\
         linux_desktop_service:\n  enabled: yes\n  labels:\n    environment: dev\n  commands:\n    - name: kernel\n      command: [uname, -s]\n      period: 1h\n",
        data.display()
    );
    let mut child = oriel(dir.path(), &config).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _oriel = Started(child);
    let ready = BufReader::new(stdout).lines().map(|l| l.unwrap()).find(|l| l.starts_with("Oriel is ready at"));
    assert!(ready.is_some(), "oriel started with the file");
    assert!(data.join("oriel.db").exists(), "the file's data_dir is used");

    let store = Store::new(StorageLocation::recorded(&data).unwrap().open().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let desktops = store.desktops(DesktopKind::Linux).await.unwrap();
        if let Some(desktop) = desktops.first()
            && desktop.labels.get("kernel").map(String::as_str) == Some("Linux")
        {
            assert_eq!(desktop.labels.get("environment").map(String::as_str), Some("dev"));
            break;
        }
        assert!(Instant::now() < deadline, "the desktop never got its labels: {desktops:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[test]
fn a_file_with_mistakes_or_a_role_mix_oriel_cannot_run_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let failure = |text: &str| {
        let out = oriel(dir.path(), text).arg("--data-dir").arg(dir.path().join("data")).output().unwrap();
        assert!(!out.status.success(), "oriel started with {text:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let proxy_alone = failure("proxy_service:\n  enabled: yes\n");
    assert!(proxy_alone.contains("oriel.yaml:1:1: Oriel runs auth_service and proxy_service together"), "{proxy_alone}");

    // A desktop-only host: no ca_pin; no token and never joined; then an
    // auth server that is not there. The token is never repeated.
    let pin = format!("ca_pin: sha256:{}\n", "ab".repeat(32));
    let unpinned = failure("auth_server: 127.0.0.1:1\njoin_token: s3cr3t-abc\nlinux_desktop_service:\n  enabled: yes\n  listen_addr: 127.0.0.1:0\n");
    assert!(unpinned.contains("set ca_pin") && unpinned.contains("--insecure-no-ca-pin"), "{unpinned}");
    let unjoined = failure(&format!("auth_server: 127.0.0.1:1\n{pin}linux_desktop_service:\n  enabled: yes\n  listen_addr: 127.0.0.1:0\n"));
    assert!(unjoined.contains("has not joined a cluster") && unjoined.contains("join_token"), "{unjoined}");
    let unreachable =
        failure(&format!("auth_server: 127.0.0.1:1\n{pin}join_token: s3cr3t-abc\nlinux_desktop_service:\n  enabled: yes\n  listen_addr: 127.0.0.1:0\n"));
    assert!(unreachable.contains("cannot reach the auth server at 127.0.0.1:1"), "{unreachable}");
    assert!(!unreachable.contains("s3cr3t-abc"), "the join token is not repeated: {unreachable}");
    // Told to trust on first use (the file, or the flag), it tries, and says it is insecure.
    let file =
        "auth_server: 127.0.0.1:1\ninsecure_no_ca_pin: true\njoin_token: s3cr3t-abc\nlinux_desktop_service:\n  enabled: yes\n  listen_addr: 127.0.0.1:0\n";
    let insecure = failure(file);
    assert!(insecure.contains("cannot reach the auth server at 127.0.0.1:1") && insecure.contains("insecure_no_ca_pin"), "{insecure}");
    let flag = oriel(dir.path(), &file.replace("insecure_no_ca_pin: true\n", ""))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--insecure-no-ca-pin")
        .output()
        .unwrap();
    let flagged = String::from_utf8_lossy(&flag.stderr);
    assert!(!flag.status.success() && flagged.contains("cannot reach the auth server") && flagged.contains("insecure_no_ca_pin"), "{flagged}");

    let typo = failure("auth_service:\n  listen_adr: 127.0.0.1:0\n");
    assert!(typo.contains("oriel.yaml:2:3: auth_service.listen_adr: unknown key"), "{typo}");
}
