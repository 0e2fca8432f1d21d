//! `orielctl` off the auth host: a real `oriel start` serving the admin API
//! over mutual TLS, and `orielctl --auth-server --identity` talking to it.
//! Then every kind of wrong identity, each refused with a clear error and
//! nothing changed.
//!
//! The `oriel` binary is the one next to `orielctl` in the target
//! directory: `cargo test --workspace` (scripts/test) builds both.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_admin::client::AdminClient;
use oriel_admin::proto;
use oriel_auth::ca::{CertAuthority, HostIdentity, HostRole, UserIdentity};
use oriel_auth::store::Store;
use oriel_backend::{Options, SqliteBackend};

/// A running `oriel start` and where its admin API listens.
struct Oriel {
    child: Child,
    dir: PathBuf,
    auth_addr: String,
}

impl Drop for Oriel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Oriel {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("oriel.log")).unwrap_or_default()
    }
}

fn oriel_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_orielctl")).with_file_name("oriel");
    assert!(path.exists(), "{} is missing: build it first (cargo build --release -p oriel, or cargo test --workspace)", path.display());
    path
}

fn start(dir: &Path) -> Oriel {
    start_with(dir, None)
}

/// `oriel start` in `dir`, with `config` as its oriel.yaml if given.
fn start_with(dir: &Path, config: Option<&str>) -> Oriel {
    std::fs::create_dir_all(dir.join("web")).unwrap();
    std::fs::write(dir.join("web/index.html"), "<!doctype html><title>Oriel</title>").unwrap();
    let log = std::fs::File::create(dir.join("oriel.log")).unwrap();
    let mut child = Command::new(oriel_binary())
        .args(["start", "--listen", "127.0.0.1:0", "--auth-listen", "127.0.0.1:0", "--tunnel-listen", "127.0.0.1:0", "--xsessions-dir"])
        .arg(dir.join("xsessions"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--web-dir")
        .arg(dir.join("web"))
        .args(
            config
                .map(|text| {
                    std::fs::write(dir.join("oriel.yaml"), text).unwrap();
                    ["--config".into(), dir.join("oriel.yaml")]
                })
                .into_iter()
                .flatten(),
        )
        .env_remove("ORIEL_PROXY_URL")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut auth_addr = None;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("Auth service API at ") {
            auth_addr = rest.split(' ').next().map(str::to_owned);
        }
        if line.starts_with("Oriel is ready at") {
            break;
        }
    }
    // Keep reading: oriel stops if its stdout closes (the invite line follows).
    std::thread::spawn(move || lines.for_each(drop));
    let mut oriel = Oriel { child, dir: dir.to_owned(), auth_addr: String::new() };
    oriel.auth_addr = auth_addr.unwrap_or_else(|| panic!("oriel printed no admin API address:\n{}", oriel.log()));
    oriel
}

mod support;

/// `orielctl` with `args`, and no data dir to fall back on.
fn orielctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orielctl")).args(args).env("ORIEL_DATA_DIR", "/nonexistent/oriel").output().unwrap()
}

fn remote_args<'a>(oriel: &'a Oriel, identity: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    [&["--auth-server", oriel.auth_addr.as_str(), "--identity", identity][..], args].concat()
}

fn ok(args: &[&str]) -> String {
    let out = orielctl(args);
    assert!(out.status.success(), "orielctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], code: i32) -> String {
    let out = orielctl(args);
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(code), "orielctl {args:?}: {text}");
    text
}

const ROLE: &str = "kind: role
version: v7
metadata:
  name: dev
spec:
  allow:
    linux_desktop_logins: ['{{internal.linux_logins}}']
    linux_desktop_labels:
      '*': '*'
  deny:
    linux_desktop_logins: [root]
";

/// The store of `data`, opened next to the running oriel (SQLite allows it).
async fn store(data: &Path) -> Store {
    Store::new(Arc::new(SqliteBackend::open(data.join("oriel.db"), Options::default()).await.unwrap()))
}

#[test]
fn an_administrator_works_remotely_with_a_signed_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let oriel = start(tmp.path());
    let data = tmp.path().join("data");
    let identity_path = tmp.path().join("admin.pem");
    let identity = identity_path.to_str().unwrap();

    let signed = ok(&["--data-dir", data.to_str().unwrap(), "auth", "sign", "--out", identity, "--ttl", "1h"]);
    assert!(signed.contains("valid for 1h"), "{signed}");
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(std::fs::metadata(&identity_path).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&identity_path).unwrap();
    let blocks: Vec<_> = text.lines().filter(|l| l.starts_with("-----BEGIN")).collect();
    assert_eq!(blocks, ["-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----", "-----BEGIN CERTIFICATE-----"]);
    let refused = fails(&remote_args(&oriel, identity, &["auth", "sign", "--out", "x.pem"]), 2);
    assert!(refused.contains("works on the auth host's data directory"), "{refused}");
    assert!(fails(&["--auth-server", &oriel.auth_addr, "users", "ls"], 2).contains("--auth-server needs --identity"));

    let remote = |args: &[&str]| ok(&remote_args(&oriel, identity, args));
    let remote_fails = |args: &[&str], code| fails(&remote_args(&oriel, identity, args), code);

    let role_file = tmp.path().join("dev.yaml");
    std::fs::write(&role_file, ROLE).unwrap();
    assert!(remote(&["create", "-f", role_file.to_str().unwrap()]).contains("role \"dev\" has been created"));
    let duplicate = remote_fails(&["create", "-f", role_file.to_str().unwrap()], 2);
    assert!(duplicate.contains("role \"dev\" already exists (use --force to overwrite)"), "{duplicate}");
    let yaml = remote(&["get", "role/dev", "--format", "yaml"]);
    assert!(yaml.contains("kind: role") && yaml.contains("name: dev"), "{yaml}");
    assert!(remote_fails(&["get", "role/nope"], 2).contains("error: role \"nope\" not found"));

    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "kind: role\nversion: v7\nmetadata:\n  name: ok\n---\nkind: role\nversion: v7\nmetadata:\n  name: broken\nspec:\n  allow:\n    linux_desktop_labels:\n      env: 5\n").unwrap();
    let err = remote_fails(&["create", "-f", bad.to_str().unwrap()], 2);
    assert!(err.contains("bad.yaml:13:12: document 2: spec.allow.linux_desktop_labels.env"), "the server names the line and column: {err}");
    assert!(!remote(&["get", "roles"]).contains("broken"));

    let added = remote(&["users", "add", "alice", "--roles=dev", "--linux-logins=alice,root"]);
    let link = added.lines().find(|l| l.contains("/web/invite/")).expect("the invite link is printed once").trim().to_owned();
    assert!(link.starts_with("https://127.0.0.1:"), "{link}");
    let users: serde_json::Value = serde_json::from_str(&remote(&["users", "ls", "--format", "json"])).unwrap();
    assert_eq!(users.as_array().unwrap().iter().filter(|u| u["name"] == "alice").count(), 1, "{users}");

    let desktops: serde_json::Value = serde_json::from_str(&remote(&["linux_desktops", "ls", "--format", "json"])).unwrap();
    let desktop = desktops[0]["name"].as_str().expect("oriel registered this host's desktop").to_owned();
    let check = |login: &str| ["access", "check", "--user", "alice", "--linux-desktop", desktop.as_str(), "--login", login].map(str::to_owned);
    let allowed = remote(&check("alice").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(allowed.starts_with("allowed") && allowed.contains("allowed by role \"dev\""), "{allowed}");
    let denied = remote_fails(&check("root").iter().map(String::as_str).collect::<Vec<_>>(), 1);
    assert!(denied.contains("denied by role \"dev\""), "{denied}");

    let locked = remote(&["lock", "--user", "alice", "--message", "incident 7", "--ttl", "1h"]);
    assert!(locked.starts_with("Created a lock with name"), "{locked}");
    assert!(remote(&["locks", "ls"]).contains("user=alice"));
    let refused = remote_fails(&check("alice").iter().map(String::as_str).collect::<Vec<_>>(), 1);
    assert!(refused.contains("is in force: incident 7"), "{refused}");

    let token = remote(&["tokens", "add", "--type=linux_desktop", "--ttl=1h"]);
    let secret = token.lines().find(|l| l.len() == 64).expect("the token is printed once").to_owned();

    assert!(remote(&["rm", "role/dev"]).contains("role \"dev\" has been deleted."));
    assert!(remote_fails(&["get", "role/dev"], 2).contains("not found"));
    assert!(remote(&["rm", "user/alice"]).contains("user \"alice\" has been deleted."));
    assert!(!remote(&["users", "ls"]).contains("alice"));

    let log = oriel.log();
    let invite_secret = link.rsplit('/').next().unwrap();
    assert!(!log.contains(invite_secret) && !log.contains(&secret), "secrets never reach the log");
    assert!(log.contains("admin API call"), "calls are logged by name: {log}");
}

/// Writes an identity file of `cert` and `key` with `ca_pem` as the root.
fn identity_file(dir: &Path, name: &str, cert: &str, key: &str, ca_pem: &str) -> String {
    let path = dir.join(name);
    oriel_admin::identity::write(&path, &oriel_admin::identity::file_text(cert, key, ca_pem)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// How the client reports a refusal at the TLS handshake, whether the
/// server's alert arrives or only the closed connection does.
const HANDSHAKE: &str = "it accepts only admin identities signed by its host CA";

#[test]
fn wrong_identities_are_refused_and_change_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let oriel = start(tmp.path());
    let data = tmp.path().join("data");
    let good = tmp.path().join("admin.pem");
    ok(&["--data-dir", data.to_str().unwrap(), "auth", "sign", "--out", good.to_str().unwrap()]);
    let good = good.to_str().unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = SystemTime::now();
    let ca = runtime.block_on(async { CertAuthority::load_or_create(&store(&data).await, now).await.unwrap() });
    let host_ca = ca.host_ca_pem().to_owned();

    // Another cluster: its own data dir, its own CAs, a genuine admin identity of its own.
    let other_data = tmp.path().join("other");
    std::fs::create_dir_all(&other_data).unwrap();
    runtime.block_on(store(&other_data));
    let other = tmp.path().join("other.pem");
    ok(&["--data-dir", other_data.to_str().unwrap(), "auth", "sign", "--out", other.to_str().unwrap()]);
    let other_identity = oriel_admin::identity::read(&other, now).unwrap();

    let admin = HostIdentity { host_id: "admin@test".into(), role: HostRole::Admin, dns_names: vec![], ips: vec![] };
    let expired = ca.issue_host(&admin, Duration::from_secs(3600), now - Duration::from_secs(3 * 3600)).unwrap();
    let desktop = HostIdentity { host_id: "d-1".into(), role: HostRole::LinuxDesktop, dns_names: vec![], ips: vec![] };
    let desktop = ca.issue_host(&desktop, Duration::from_secs(3600), now).unwrap();
    let user = UserIdentity { user: "alice".into(), roles: vec!["access".into()], ..Default::default() };
    let user = ca.issue_user(&user, Duration::from_secs(3600), now).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["admin".into()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let self_key = rcgen::KeyPair::generate().unwrap();
    let self_signed = params.self_signed(&self_key).unwrap();
    let (self_cert, self_key) = (self_signed.pem(), self_key.serialize_pem());

    // orielctl checks the file before it dials, and says what is wrong.
    let dir = tmp.path();
    let cases = [
        (identity_file(dir, "expired.pem", &expired.cert_pem, &expired.key_pem, &host_ca), "expired at"),
        (
            identity_file(dir, "desktop.pem", &desktop.cert_pem, &desktop.key_pem, &host_ca),
            "is not an admin identity: it holds the certificate of linux_desktop host \"d-1\"",
        ),
        (
            identity_file(dir, "user.pem", &user.cert_pem, &user.key_pem, &host_ca),
            "is not an admin identity: the certificate was signed by another authority (O=Oriel, OU=",
        ),
        (identity_file(dir, "self.pem", &self_cert, &self_key, &host_ca), "is not an admin identity: the certificate is self-signed"),
        (other.to_str().unwrap().to_owned(), "is not the auth service this identity trusts"),
        (identity_file(dir, "cut.pem", &expired.cert_pem, "", ""), "the private key (the PRIVATE KEY block after the certificate) is missing"),
    ];
    for (file, expected) in &cases {
        let err = fails(&remote_args(&oriel, file, &["users", "add", "mallory", "--roles=access"]), 2);
        assert!(err.contains(expected), "{file}: expected {expected:?} in {err}");
        assert!(!err.contains("/web/invite/"));
    }

    // The server refuses each on its own, without the file's checks.
    let addr = oriel.auth_addr.clone();
    type Pem<'a> = Option<(&'a str, &'a str)>;
    let attempts: [(&str, Pem, &str); 6] = [
        // The auth port lets a handshake without a certificate through, for
        // hosts that join; the admin API then refuses the call.
        ("no client certificate", None, "the admin API needs a client certificate: use an identity from `orielctl auth sign`"),
        ("a self-signed certificate", Some((&self_cert, &self_key)), HANDSHAKE),
        ("another cluster's admin", Some((&other_identity.cert_pem, &other_identity.key_pem)), HANDSHAKE),
        ("an expired identity", Some((&expired.cert_pem, &expired.key_pem)), HANDSHAKE),
        ("a user certificate", Some((&user.cert_pem, &user.key_pem)), HANDSHAKE),
        (
            "a Linux desktop's host certificate",
            Some((&desktop.cert_pem, &desktop.key_pem)),
            "the admin API accepts only admin identities, and this is the certificate of linux_desktop host \"d-1\"",
        ),
    ];
    for (what, client, expected) in attempts {
        let result = runtime.block_on(async {
            let mut admin = AdminClient::connect_with(&addr, &host_ca, client).await?;
            let spec = proto::UserSpec { name: "mallory".into(), roles: vec!["access".into()], ..Default::default() };
            admin.run(proto::Command { command: Some(proto::command::Command::AddUser(spec)) }).await
        });
        let failure = result.expect_err(what);
        assert!(failure.message.contains(expected), "{what}: expected {expected:?} in {:?}", failure.message);
    }

    let users = ok(&remote_args(&oriel, good, &["users", "ls"]));
    assert!(!users.contains("mallory"), "nothing was changed: {users}");
    let log = oriel.log();
    assert!(log.contains("admin API call refused: not an admin"), "{log}");
}

/// Where this run keeps recordings: the test S3 server's bucket under a
/// prefix of its own, or a directory outside the data dir when there is
/// none (`ORIEL_SKIP_S3=1`).
fn sessions_uri(dir: &Path) -> String {
    match std::env::var("ORIEL_TEST_S3_URI") {
        Ok(uri) if !uri.is_empty() => uri.replacen("/recordings?", &format!("/orielctl-{}?", std::process::id()), 1),
        _ if std::env::var("ORIEL_SKIP_S3").as_deref() == Ok("1") => format!("file://{}", dir.join("elsewhere").display()),
        _ => panic!("ORIEL_TEST_S3_URI is not set: start a server with `eval \"$(scripts/s3-test-server start)\"`, or set ORIEL_SKIP_S3=1"),
    }
}

#[test]
fn a_recording_exports_from_where_the_auth_service_keeps_it_on_its_host_and_remotely() {
    let tmp = tempfile::tempdir().unwrap();
    let uri = sessions_uri(tmp.path());
    let oriel = start_with(
        tmp.path(),
        Some(&format!("auth_service:\n  audit_sessions_uri: \"{uri}\"\nproxy_service:\n  enabled: yes\nlinux_desktop_service:\n  enabled: yes\n")),
    );
    let data = tmp.path().join("data");
    let identity_path = tmp.path().join("admin.pem");
    let identity = identity_path.to_str().unwrap();
    ok(&["--data-dir", data.to_str().unwrap(), "auth", "sign", "--out", identity, "--ttl", "1h"]);

    // A recording taken in as a desktop service's upload would be.
    let id = "0190f0c4-7d2a-7000-8000-0000000000bb";
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let storage = oriel_auth::recordings::RecordingStorage::from_uri(&uri).unwrap();
        let plane = oriel_auth::control_plane::ControlPlane::new(store(&data).await, Arc::new(oriel_backend::SystemClock)).with_recordings(storage);
        let recording_id = oriel_auth::recordings::RecordingId::parse(id).unwrap();
        let mut upload = plane.begin_recording_upload(recording_id, oriel_auth::recordings::Uploader::InProcess).await.unwrap();
        upload.write(&support::colour_recording(id)).await.unwrap();
        upload.finish().await.unwrap();
    });
    assert!(ok(&remote_args(&oriel, identity, &["recordings", "ls"])).contains(id));
    assert!(!data.join("recordings").join(format!("{id}.orec")).exists(), "kept at {uri}, not in the data dir");

    // Off the auth host, through the admin API; on it, from the storage the
    // auth service noted in its data dir.
    let mp4 = tmp.path().join("remote.mp4");
    ok(&remote_args(&oriel, identity, &["recordings", "export", id, "--out", mp4.to_str().unwrap()]));
    let webm = tmp.path().join("local.webm");
    ok(&["--data-dir", data.to_str().unwrap(), "recordings", "export", id, "--out", webm.to_str().unwrap(), "--fps", "10"]);
    for video in [&mp4, &webm] {
        let duration = support::video_duration(video);
        assert!((duration - 3.0).abs() <= 0.15, "{}: {duration} s", video.display());
        for (at, colour) in [(0.5, [0xaa, 0x33, 0x33]), (2.5, [0x33, 0x33, 0xaa])] {
            let got = support::video_pixel(video, at);
            assert!(support::near(got, colour), "{} at {at} s: {got:?}, not {colour:?}", video.display());
        }
        let mut part = video.file_name().unwrap().to_owned();
        part.push(".orec.part");
        assert!(!video.with_file_name(part).exists(), "the fetched recording is removed after the export");
    }

    // An id nobody recorded, either way: a clear error and no video.
    let unknown = "0190f0c4-7d2a-7000-8000-0000000000cc";
    let out = tmp.path().join("none.mp4");
    let remote = fails(&remote_args(&oriel, identity, &["recordings", "export", unknown, "--out", out.to_str().unwrap()]), 2);
    assert!(remote.contains(&format!("no recording \"{unknown}\"")), "{remote}");
    let local = fails(&["--data-dir", data.to_str().unwrap(), "recordings", "export", unknown, "--out", out.to_str().unwrap()], 2);
    assert!(local.contains(&format!("no recording {unknown} in")), "{local}");
    assert!(!out.exists() && !tmp.path().join("none.mp4.orec.part").exists());
    assert!(oriel.log().contains("recordings export"), "the download is logged as an admin API call");
}
