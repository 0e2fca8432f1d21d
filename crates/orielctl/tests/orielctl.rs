//! `orielctl` as an administrator uses it, on a real data directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use oriel_auth::resources::desktop_service::DesktopService;
use oriel_auth::store::{DesktopRecord, Store};
use oriel_backend::{Options, SqliteBackend};
use oriel_rbac::DesktopKind;

mod support;
use support::{colour_recording, near, video_duration, video_pixel};

fn orielctl(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_orielctl")).arg("--data-dir").arg(dir).args(args).output().unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = orielctl(dir, args);
    assert!(out.status.success(), "orielctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str], code: i32) -> String {
    let out = orielctl(dir, args);
    assert_eq!(out.status.code(), Some(code), "orielctl {args:?}: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).unwrap() + &String::from_utf8(out.stdout).unwrap()
}

/// A data directory as `oriel start` leaves it, with one registered desktop.
fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options::default()).await.unwrap();
        let store = Store::new(Arc::new(backend));
        store
            .put_desktop(&DesktopRecord {
                kind: DesktopKind::Linux,
                name: "d-dev".into(),
                hostname: "build-1".into(),
                addr: "127.0.0.1:3029".into(),
                labels: BTreeMap::from([("env".to_owned(), "dev".to_owned())]),
                expires: None,
                host_id: None,
            })
            .await
            .unwrap();
        store
            .put_desktop_service(&DesktopService {
                kind: DesktopKind::Linux,
                name: "d-dev".into(),
                hostname: "build-1".into(),
                addr: "127.0.0.1:3029".into(),
                version: "0.1.0".into(),
                expires: Some(std::time::SystemTime::now() + std::time::Duration::from_secs(300)),
            })
            .await
            .unwrap();
    });
    dir
}

const ROLE: &str = "kind: role
version: v7
metadata:
  name: dev
spec:
  allow:
    linux_desktop_logins: ['{{internal.linux_logins}}']
    linux_desktop_labels:
      env: dev
  deny:
    linux_desktop_logins: [root]
";

#[test]
fn an_administrator_session() {
    let dir = data_dir();
    let d = dir.path();
    let role_file = d.join("dev.yaml");
    std::fs::write(&role_file, ROLE).unwrap();
    let role = role_file.to_str().unwrap();

    assert!(ok(d, &["create", "-f", role]).contains("role \"dev\" has been created"));
    let duplicate = fails(d, &["create", "-f", role], 2);
    assert!(duplicate.contains("role \"dev\" already exists (use --force to overwrite)"), "{duplicate}");
    ok(d, &["create", "-f", role, "--force"]);
    assert!(ok(d, &["get", "role/dev", "--format", "yaml"]).contains("name: dev"));

    let unknown_role = fails(d, &["users", "add", "bob", "--roles=admin"], 2);
    assert!(unknown_role.contains("role \"admin\" not found"), "{unknown_role}");
    let added = ok(d, &["users", "add", "alice", "--roles=dev", "--linux-logins=alice,root"]);
    assert!(added.contains("https://127.0.0.1:3080/web/invite/"), "{added}");
    let users = ok(d, &["users", "ls"]);
    assert!(users.contains("alice") && users.contains("invited"), "{users}");
    let json: serde_json::Value = serde_json::from_str(&ok(d, &["users", "ls", "--format", "json"])).unwrap();
    assert_eq!(json[0]["traits"]["linux_logins"], serde_json::json!(["alice", "root"]));

    let listing = ok(d, &["desktops", "ls"]);
    assert!(listing.contains("linux") && listing.contains("d-dev") && listing.contains("env=dev"), "{listing}");

    let allowed = ok(d, &["access", "check", "--user", "alice", "--linux-desktop", "d-dev", "--login", "alice"]);
    assert!(allowed.starts_with("allowed"), "{allowed}");
    assert!(allowed.contains("allowed by role \"dev\""), "{allowed}");
    let denied = fails(d, &["access", "check", "--user", "alice", "--linux-desktop", "d-dev", "--login", "root"], 1);
    assert!(denied.contains("denied by role \"dev\": deny.linux_desktop_logins"), "{denied}");

    let locked = ok(d, &["lock", "--user", "alice", "--message", "incident 7", "--ttl", "1h"]);
    let lock_name = locked.split('"').nth(1).unwrap().to_owned();
    let refused = fails(d, &["access", "check", "--user", "alice", "--linux-desktop", "d-dev", "--login", "alice"], 1);
    assert!(refused.contains("is in force: incident 7"), "{refused}");
    assert!(ok(d, &["locks", "ls"]).contains("user=alice"));
    ok(d, &["unlock", &lock_name]);
    ok(d, &["access", "check", "--user", "alice", "--linux-desktop", "d-dev", "--login", "alice"]);

    let token_out = ok(d, &["tokens", "add", "--type=linux_desktop", "--ttl=1h"]);
    let secret = token_out.lines().find(|l| l.len() == 64).expect("the token is printed once").to_owned();
    let tokens = ok(d, &["tokens", "ls"]);
    assert!(tokens.contains("linux_desktop") && !tokens.contains(&secret), "only the hash is listed: {tokens}");
    ok(d, &["tokens", "rm", &secret]);
    assert!(!ok(d, &["tokens", "ls"]).contains("linux_desktop"));

    assert!(fails(d, &["get", "gadget/x"], 2).contains("unknown resource kind \"gadget\""));
    assert!(fails(d, &["get", "decisions"], 2).contains("orielctl events ls"));
    assert!(fails(d, &["get", "role/nope"], 2).contains("role \"nope\" not found"));
    ok(d, &["rm", "user/alice"]);
    assert!(fails(d, &["rm", "user/alice"], 2).contains("not found"));

    // Every change above is in the audit log, by the OS user who ran orielctl.
    let lines = ok(d, &["events", "ls", "--oldest-first", "--format", "json"]);
    let events: Vec<serde_json::Value> = lines.lines().map(|line| serde_json::from_str(line).expect("one JSON event a line")).collect();
    let seen: Vec<(&str, &str)> = events.iter().map(|e| (e["event"].as_str().unwrap(), e["name"].as_str().unwrap_or_default())).collect();
    for expected in [
        ("role.created", "dev"),
        ("user.create", "alice"),
        ("lock.created", lock_name.as_str()),
        ("lock.deleted", lock_name.as_str()),
        ("join_token.create", &secret_hash_prefix(&secret)),
        ("user.delete", "alice"),
    ] {
        assert!(seen.contains(&expected), "{expected:?} in {seen:?}");
    }
    assert!(events.iter().all(|e| e["user"].as_str().unwrap().ends_with("@orielctl") && e["uid"].is_string() && e["code"].is_string()));
    assert!(!lines.contains(&secret), "the token's secret is in no event");
    let table = ok(d, &["events", "ls", "--type", "user.create,user.delete", "--limit", "1"]);
    assert!(table.contains("Time (UTC)") && table.contains("user.delete") && !table.contains("user.create"), "newest first, one: {table}");
    let bad = fails(d, &["events", "ls", "--type", "user.logn"], 2);
    assert!(bad.contains("unknown event type \"user.logn\""), "{bad}");
    let yaml = ok(d, &["events", "ls", "--user", "nobody", "--format", "yaml"]);
    assert!(yaml.trim().is_empty(), "nobody's events: none, {yaml}");
}

/// The first 16 hex digits of a token's hash, which is how events and
/// `tokens ls` name it.
fn secret_hash_prefix(secret: &str) -> String {
    oriel_auth::bearer::hash(secret)[..16].to_owned()
}

#[test]
fn bad_yaml_names_the_line_and_field_and_changes_nothing() {
    let dir = data_dir();
    let d = dir.path();
    let file = d.join("bad.yaml");
    std::fs::write(&file, "kind: role\nversion: v7\nmetadata:\n  name: ok\n---\nkind: role\nversion: v7\nmetadata:\n  name: broken\nspec:\n  allow:\n    linux_desktop_labels:\n      env: 5\n").unwrap();
    let err = fails(d, &["create", "-f", file.to_str().unwrap()], 2);
    assert!(err.contains("bad.yaml:13:12: document 2: spec.allow.linux_desktop_labels.env"), "{err}");
    assert!(!ok(d, &["get", "roles"]).contains("ok"), "the valid first document was not written either");
}

#[test]
fn a_missing_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(&dir.path().join("nowhere"), &["users", "ls"], 2);
    assert!(err.contains("no Oriel data in"), "{err}");
}

const SECRET: &str = "join-me-0123456789abcdef";

/// One document of every kind `create -f` takes; the user names the role.
fn everything() -> String {
    format!(
        "kind: user
version: v2
metadata:
  name: carol
spec:
  roles: [ops]
  traits:
    linux_logins: [carol]
    windows_logins: [Administrator]
---
kind: role
version: v7
metadata:
  name: ops
spec:
  allow:
    linux_desktop_logins: ['{{{{internal.linux_logins}}}}']
    linux_desktop_labels: {{'*': '*'}}
---
kind: lock
version: v2
metadata:
  name: freeze
spec:
  target:
    login: root
  message: change freeze
  expires: 2099-01-01T00:00:00Z
---
kind: token
version: v2
metadata:
  name: {SECRET}
  expires: 2099-01-01T00:00:00Z
spec:
  roles: [LinuxDesktop]
  join_method: token
---
kind: linux_desktop
version: v1
metadata:
  name: lab-1
  labels:
    env: lab
spec:
  addr: 10.0.0.7:3029
  hostname: lab-1.example.com
---
kind: windows_desktop
version: v3
metadata:
  name: dc1
  labels:
    env: prod
spec:
  addr: 10.0.0.5:3389
  domain: example.com
---
kind: session_recording_config
version: v2
metadata:
  name: session-recording-config
spec:
  mode: proxy-sync
---
kind: cluster_networking_config
version: v2
metadata:
  name: cluster-networking-config
spec:
  client_idle_timeout: 1h30m
  desktop_lossy: false
---
kind: cluster_auth_preference
version: v2
metadata:
  name: cluster-auth-preference
spec:
  type: local
  second_factor: otp
  webauthn:
    rp_id: desktops.example.com
"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn every_kind_loads_from_one_file_and_gets_back_as_yaml_that_loads_again() {
    let dir = data_dir();
    let d = dir.path();
    let file = write(d, "all.yaml", &everything());
    let out = ok(d, &["create", "-f", &file]);
    let hash = oriel_auth::bearer::hash(SECRET);
    for line in [
        "User \"carol\" has been created but has no password yet.",
        "role \"ops\" has been created.",
        "lock \"freeze\" has been created.",
        &format!("token \"{}\" has been created.", &hash[..16]),
        "linux_desktop \"lab-1\" has been created.",
        "windows_desktop \"dc1\" has been created.",
        "session_recording_config has been set.",
        "cluster_networking_config has been set.",
        "cluster_auth_preference has been set.",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    assert!(out.contains("/web/invite/"), "a user from a file is invited: {out}");
    assert!(!out.contains(SECRET), "the token's secret is not printed back");

    let token = format!("token/sha256:{hash}");
    let names = [
        "user/carol",
        "role/ops",
        "lock/freeze",
        token.as_str(),
        "linux_desktop/lab-1",
        "windows_desktop/dc1",
        "session_recording_config",
        "cluster_networking_config",
        "cluster_auth_preference",
    ];
    for name in names {
        let yaml = ok(d, &["get", name, "--format", "yaml"]);
        let again = write(d, "again.yaml", &yaml);
        let duplicate = orielctl(d, &["create", "-f", &again]);
        if name.contains('/') {
            assert_eq!(duplicate.status.code(), Some(2), "{name} exists already");
            assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists (use --force to overwrite)"));
        } else {
            assert!(duplicate.status.success(), "cluster settings are replaced without --force");
        }
        ok(d, &["create", "-f", &again, "--force"]);
        assert_eq!(ok(d, &["get", name, "--format", "yaml"]), yaml, "{name} round trips unchanged");
        let json: serde_json::Value = serde_json::from_str(&ok(d, &["get", name, "--format", "json"])).unwrap();
        assert_eq!(json[0]["kind"].as_str(), Some(name.split('/').next().unwrap()), "{name}");
    }
    // The token works by its secret too, and `get token/…` never shows the secret.
    assert!(ok(d, &["get", &format!("token/{SECRET}")]).contains(&hash[..16]));
    assert!(ok(d, &["users", "ls"]).contains("invited"), "replacing carol kept her an invited user");

    // `cap` is the short name, as in Teleport's tctl.
    let cap = ok(d, &["get", "cap"]);
    assert!(cap.contains("otp") && cap.contains("desktops.example.com"), "{cap}");

    // Every kind is also one document of a stream.
    let all = ok(d, &["get", "users", "--format", "yaml"]) + &ok(d, &["get", "locks", "--format", "yaml"]);
    ok(d, &["create", "-f", &write(d, "stream.yaml", &all), "--force"]);
}

#[test]
fn cluster_settings_show_defaults_are_set_and_reset() {
    let dir = data_dir();
    let d = dir.path();
    let recording = ok(d, &["get", "session_recording_config"]);
    assert!(recording.contains("node") && recording.contains("recorded if any of the user's roles records"), "{recording}");
    let networking = ok(d, &["get", "cluster_networking_config"]);
    assert!(networking.contains("none") && networking.contains("allowed"), "{networking}");
    assert!(ok(d, &["get", "cluster_networking_config", "--format", "yaml"]).contains("kind: cluster_networking_config"));

    let file = write(
        d,
        "c.yaml",
        "kind: session_recording_config\nversion: v2\nspec:\n  mode: 'off'\n---\nkind: cluster_networking_config\nversion: v2\nspec:\n  client_idle_timeout: 30m\n  desktop_lossy: false\n",
    );
    ok(d, &["create", "-f", &file]);
    assert!(ok(d, &["get", "session_recording_config"]).contains("not recorded"));
    let networking = ok(d, &["get", "cluster_networking_config"]);
    assert!(networking.contains("30m") && networking.contains("forbidden"), "{networking}");
    assert!(ok(d, &["get", "cluster_networking_config", "--format", "yaml"]).contains("desktop_lossy: false"));

    assert!(ok(d, &["rm", "session_recording_config"]).contains("session_recording_config has been reset to its defaults"));
    ok(d, &["rm", "cluster_networking_config/cluster-networking-config"]);
    assert!(ok(d, &["get", "session_recording_config", "--format", "yaml"]).contains("mode: node"));
    let networking = ok(d, &["get", "cluster_networking_config"]);
    assert!(networking.contains("none") && networking.contains("allowed"), "{networking}");
}

#[test]
fn desktop_services_are_listed_and_removed() {
    let dir = data_dir();
    let d = dir.path();
    for kind in ["desktop_services", "linux_desktop_services"] {
        let listing = ok(d, &["get", kind]);
        assert!(listing.contains("d-dev") && listing.contains("build-1") && listing.contains("0.1.0"), "{listing}");
    }
    assert!(!ok(d, &["get", "windows_desktop_services"]).contains("d-dev"));
    let yaml = ok(d, &["get", "linux_desktop_service/d-dev", "--format", "yaml"]);
    assert!(yaml.contains("kind: linux_desktop_service") && yaml.contains("hostname: build-1"), "{yaml}");
    let refused = fails(d, &["create", "-f", &write(d, "svc.yaml", &yaml)], 2);
    assert!(refused.contains("registers itself with its heartbeat and cannot be created"), "{refused}");
    ok(d, &["rm", "desktop_service/d-dev"]);
    assert!(!ok(d, &["get", "desktop_services"]).contains("d-dev"));
    assert!(fails(d, &["rm", "linux_desktop_service/d-dev"], 2).contains("not found"));
    assert!(ok(d, &["get", "desktops"]).contains("d-dev"), "the desktop itself stays");
}

#[test]
fn a_bad_document_names_its_place_and_nothing_is_written() {
    let dir = data_dir();
    let d = dir.path();
    let cases = [
        (
            "kind: role\nversion: v7\nmetadata:\n  name: ok\n---\nkind: user\nversion: v2\nmetadata:\n  name: dave\nspec:\n  roles: [ok]\n  traits:\n    linux_logins: dave\n",
            "bad.yaml:13:19: document 2: spec.traits.linux_logins: expected a list of strings, found a string",
        ),
        (
            "kind: role\nversion: v7\nmetadata:\n  name: ok\n---\nkind: gadget\nmetadata:\n  name: g\n",
            "bad.yaml:6:7: document 2: kind: unsupported kind \"gadget\"; orielctl create accepts role, user, lock, token, linux_desktop, windows_desktop, oidc, session_recording_config, cluster_networking_config",
        ),
        (
            "kind: role\nversion: v7\nmetadata:\n  name: ok\n---\nkind: lock\nversion: v2\nmetadata:\n  name: l\nspec:\n  target:\n    node_label: x\n",
            "bad.yaml:12:17: document 2: spec.target.node_label: Oriel cannot lock by \"node_label\"",
        ),
        (
            "kind: role\nversion: v7\nmetadata:\n  name: ok\n---\nkind: user\nmetadata:\n  name: dave\nspec:\n  roles: [nope]\n",
            "document 2: role \"nope\" not found",
        ),
        ("kind: role\nversion: v7\nmetadata:\n  name: ok\n---\nkind: user\nmetadata: {name: dave\n", "bad.yaml:8:1: "),
    ];
    for (text, expected) in cases {
        let file = write(d, "bad.yaml", text);
        let err = fails(d, &["create", "-f", &file], 2);
        assert!(err.contains(expected), "expected {expected:?} in {err}");
        assert!(!ok(d, &["get", "roles"]).contains("ok"), "the valid first document was not written either: {text}");
        assert!(!ok(d, &["users", "ls"]).contains("dave"));
    }
    let empty = fails(d, &["create", "-f", &write(d, "empty.yaml", "# nothing\n")], 2);
    assert!(empty.contains("holds no resources"), "{empty}");
}

#[test]
fn force_replaces_and_its_absence_writes_nothing() {
    let dir = data_dir();
    let d = dir.path();
    let lock = "kind: lock\nversion: v2\nmetadata:\n  name: l1\nspec:\n  target:\n    user: alice\n  message: first\n";
    ok(d, &["create", "-f", &write(d, "lock.yaml", lock)]);
    let both = format!("kind: lock\nversion: v2\nmetadata:\n  name: l2\nspec:\n  target:\n    user: bob\n---\n{}", lock.replace("first", "second"));
    let file = write(d, "both.yaml", &both);
    let err = fails(d, &["create", "-f", &file], 2);
    assert!(err.contains("document 2: lock \"l1\" already exists (use --force to overwrite)"), "{err}");
    let locks = ok(d, &["get", "locks"]);
    assert!(!locks.contains("l2") && locks.contains("first"), "nothing written: {locks}");
    let out = ok(d, &["create", "-f", &file, "--force"]);
    assert!(out.contains("lock \"l2\" has been created.") && out.contains("lock \"l1\" has been replaced."), "{out}");
    assert!(ok(d, &["get", "lock/l1"]).contains("second"));
    ok(d, &["rm", "lock/l2"]);
    assert!(fails(d, &["get", "lock/l2"], 2).contains("lock \"l2\" not found"));
}

const OIDC_SECRET: &str = "oidc-client-secret-7f3a";

fn oidc_connector(name: &str, secret: &str) -> String {
    format!(
        "kind: oidc
version: v3
metadata:
  name: {name}
spec:
  display: Corp SSO
  issuer_url: https://idp.example.com
  client_id: oriel-web
  client_secret: {secret}
  redirect_url: https://oriel.example.com/api/sso/oidc/callback
  scope: [email, groups]
  prompt: select_account
  claims_to_roles:
    - {{claim: groups, value: admins, roles: [access, editor]}}
    - {{claim: groups, value: '^env-(.*)$', roles: ['$1-access']}}
"
    )
}

#[test]
fn oidc_connectors_are_created_listed_without_their_secret_and_removed() {
    let dir = data_dir();
    let d = dir.path();
    let file = write(d, "corp.yaml", &oidc_connector("corp", OIDC_SECRET));
    assert!(ok(d, &["create", "-f", &file]).contains("oidc \"corp\" has been created."));
    ok(d, &["create", "-f", &write(d, "backup.yaml", &oidc_connector("backup", "another-secret"))]);

    let table = ok(d, &["get", "oidc"]);
    for column in ["Name", "Display", "Issuer", "Client ID", "Redirect URL", "Mappings"] {
        assert!(table.contains(column), "{column} in {table}");
    }
    let corp = table.lines().find(|l| l.starts_with("corp")).unwrap_or_else(|| panic!("{table}"));
    for cell in ["Corp SSO", "https://idp.example.com", "oriel-web", "https://oriel.example.com/api/sso/oidc/callback", "2"] {
        assert!(corp.contains(cell), "{cell} in {corp}");
    }
    assert!(table.find("backup").unwrap() < table.find("corp").unwrap(), "listed by name: {table}");

    // The secret is in no form of `get`; the YAML holds a placeholder
    // that `create -f` refuses.
    let yaml = ok(d, &["get", "oidc/corp", "--format", "yaml"]);
    let json = ok(d, &["get", "oidc", "--format", "json"]);
    for shown in [&table, &yaml, &json, &ok(d, &["get", "oidc/corp"])] {
        assert!(!shown.contains(OIDC_SECRET) && !shown.contains("another-secret"), "{shown}");
    }
    assert!(yaml.contains("client_secret: \"********\"") && yaml.contains("value: ^env-(.*)$"), "{yaml}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((json[1]["metadata"]["name"].as_str(), json[1]["spec"]["client_secret"].as_str()), (Some("corp"), Some("********")));
    let again = write(d, "again.yaml", &yaml);
    let refused = fails(d, &["create", "-f", &again, "--force"], 2);
    assert!(
        refused.contains("again.yaml:10:18: document 1: spec.client_secret: the placeholder `get` prints is not a secret; write the real one"),
        "{refused}"
    );

    // Without --force an existing connector stays; with it, it is replaced.
    let rotated = write(d, "rotated.yaml", &yaml.replace("\"********\"", "rotated-secret"));
    assert!(fails(d, &["create", "-f", &rotated], 2).contains("oidc \"corp\" already exists (use --force to overwrite)"));
    assert!(ok(d, &["create", "-f", &rotated, "--force"]).contains("oidc \"corp\" has been replaced."));
    assert_eq!(ok(d, &["get", "oidc/corp", "--format", "yaml"]), yaml, "all but the secret round trips unchanged");

    // A connector Oriel cannot honour is refused with its place.
    let acr = write(d, "acr.yaml", &oidc_connector("strict", "s").replace("  prompt: select_account\n", "  acr_values: phr\n"));
    let refused = fails(d, &["create", "-f", &acr], 2);
    assert!(refused.contains("acr.yaml:12:3: document 1: spec.acr_values: Oriel does not check the acr claim"), "{refused}");

    assert!(ok(d, &["rm", "oidc/corp"]).contains("oidc \"corp\" has been deleted."));
    assert!(fails(d, &["get", "oidc/corp"], 2).contains("oidc \"corp\" not found"));
    assert!(fails(d, &["rm", "oidc/corp"], 2).contains("oidc \"corp\" not found"));
    assert!(fails(d, &["rm", "oidc"], 2).contains("name the resource to remove: oidc/NAME"));
    let left = ok(d, &["get", "oidc"]);
    assert!(left.contains("backup") && !left.contains("corp\n"), "{left}");
    let events = ok(d, &["events", "ls", "--format", "json"]);
    for (event, code) in [("oidc.created", "T8100I"), ("oidc.deleted", "T8101I")] {
        assert!(events.contains(&format!("\"event\":\"{event}\"")) && events.contains(code), "{event} in {events}");
    }
}

#[test]
fn recordings_are_listed_newest_first_and_filtered() {
    let dir = data_dir();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options::default()).await.unwrap();
        let store = Store::new(Arc::new(backend));
        for (n, user) in [(1, "alice"), (2, "bob")] {
            let record = oriel_auth::store::RecordingRecord {
                id: format!("0190f0c4-7d2a-7000-8000-00000000000{n}"),
                user: user.into(),
                login: user.into(),
                desktop: "d-dev".into(),
                desktop_kind: "linux".into(),
                start: format!("2026-12-06T09:0{n}:00.000Z"),
                end: format!("2026-12-06T09:0{n}:30.000Z"),
                duration_ms: 30_000,
                size: 1234 * n,
                participants: vec![user.into()],
            };
            store.add_recording(&record).await.unwrap();
        }
    });
    let d = dir.path();
    let lines = ok(d, &["recordings", "ls", "--format", "json"]);
    let listed: Vec<serde_json::Value> = lines.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let users: Vec<&str> = listed.iter().map(|r| r["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["bob", "alice"]);
    assert_eq!(listed[1]["duration_ms"], 30_000);
    let table = ok(d, &["recordings", "ls", "--user", "alice"]);
    assert!(table.contains("Duration") && table.contains("0:30") && table.contains("alice") && !table.contains("bob"), "{table}");
    assert!(ok(d, &["recordings", "ls", "--since", "2026-12-06T09:02:00Z", "--format", "json"]).lines().count() == 1);
    assert!(fails(d, &["recordings", "ls", "--limit", "501"], 2).contains("at most 500"));
}

#[test]
fn a_recording_exports_to_mp4_and_webm_with_its_duration_and_pictures() {
    let dir = data_dir();
    let d = dir.path();
    let id = "0190f0c4-7d2a-7000-8000-0000000000aa";
    std::fs::create_dir_all(d.join("recordings")).unwrap();
    std::fs::write(d.join("recordings").join(format!("{id}.orec")), colour_recording(id)).unwrap();
    let mp4 = d.join("colours.mp4");
    ok(d, &["recordings", "export", id, "--out", mp4.to_str().unwrap()]);
    let webm = d.join("colours.webm");
    let file = d.join("recordings").join(format!("{id}.orec"));
    ok(d, &["recordings", "export", "--from", file.to_str().unwrap(), "--out", webm.to_str().unwrap(), "--fps", "10"]);
    for video in [&mp4, &webm] {
        let duration = video_duration(video);
        assert!((duration - 3.0).abs() <= 0.15, "{}: {duration} s", video.display());
        for (at, colour) in [(0.5, [0xaa, 0x33, 0x33]), (1.5, [0x33, 0xaa, 0x33]), (2.5, [0x33, 0x33, 0xaa])] {
            let got = video_pixel(video, at);
            assert!(near(got, colour), "{} at {at} s: {got:?}, not {colour:?}", video.display());
        }
    }

    // A damaged recording exports nothing, and says where it is damaged.
    let mut damaged = colour_recording(id);
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x10;
    let bad = d.join("damaged.orec");
    std::fs::write(&bad, damaged).unwrap();
    let out = d.join("damaged.mp4");
    let refused = fails(d, &["recordings", "export", "--from", bad.to_str().unwrap(), "--out", out.to_str().unwrap()], 2);
    assert!(refused.contains("cannot be exported") && refused.contains("offset"), "{refused}");
    assert!(!out.exists() && !d.join("damaged.mp4.part").exists());
    assert!(fails(d, &["recordings", "export", "../etc", "--out", out.to_str().unwrap()], 2).contains("not a recording id"));
    assert!(fails(d, &["recordings", "export", id, "--out", d.join("x.avi").to_str().unwrap()], 2).contains(".mp4 or FILE.webm"));
}
