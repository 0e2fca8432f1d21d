//! `orielctl` as an administrator uses it, on a real data directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use oriel_auth::store::{DesktopRecord, Store};
use oriel_backend::{Options, SqliteBackend};
use oriel_rbac::DesktopKind;

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
    assert!(fails(d, &["rm", "decisions/x"], 2).contains("cannot be removed"));
    assert!(fails(d, &["get", "role/nope"], 2).contains("role \"nope\" not found"));
    ok(d, &["rm", "user/alice"]);
    assert!(fails(d, &["rm", "user/alice"], 2).contains("not found"));
}

#[test]
fn bad_yaml_names_the_line_and_field_and_changes_nothing() {
    let dir = data_dir();
    let d = dir.path();
    let file = d.join("bad.yaml");
    std::fs::write(&file, "kind: role\nversion: v7\nmetadata:\n  name: ok\n---\nkind: role\nversion: v7\nmetadata:\n  name: broken\nspec:\n  allow:\n    linux_desktop_labels:\n      env: 5\n").unwrap();
    let err = fails(d, &["create", "-f", file.to_str().unwrap()], 2);
    assert!(err.contains("bad.yaml:13:12: spec.allow.linux_desktop_labels.env"), "{err}");
    assert!(!ok(d, &["get", "roles"]).contains("ok"), "the valid first document was not written either");
}

#[test]
fn a_missing_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(&dir.path().join("nowhere"), &["users", "ls"], 2);
    assert!(err.contains("no Oriel data in"), "{err}");
}
