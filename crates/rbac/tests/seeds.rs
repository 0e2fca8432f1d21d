//! The examples of the seed documents (RFD 33 and the desktop RBAC guide),
//! as written there, and what they must mean.

mod common;

use common::{check, roles, windows};
use oriel_rbac::{ClusterPolicy, RecordingMode, RoleSet, SessionMfa, Traits, parse_role};

/// RFD 33's example, verbatim (comments included).
const WINDOWS_DB_ADMIN: &str = r#"
kind: role
version: v3
metadata:
  name: windows_db_admin
spec:
  options:
    desktop_clipboard: true
    record_desktop_session: true
  allow:
    # Allow windows sessions as user DBAdmin in test and staging environments.
    windows_desktop_logins: ['DBAdmin']
    windows_desktop_labels:
      'env': ['staging', 'test']
  deny:
    # Prevent logins to prod environment or as Administrator.
    windows_desktop_logins: ['Administrator']
    windows_desktop_labels:
      'env': ['prod']
"#;

#[test]
fn rfd33_windows_db_admin() {
    let r = vec![parse_role("windows_db_admin.yaml", WINDOWS_DB_ADMIN).unwrap()];
    assert_eq!(r[0].name, "windows_db_admin");
    let t = Traits::new();
    let staging = windows("sql-staging", &[("env", "staging")]);
    let test = windows("sql-test", &[("env", "test")]);
    let prod = windows("sql-prod", &[("env", "prod")]);
    let other = windows("sql-dev", &[("env", "dev")]);

    assert!(check(&r, &t, &staging, "DBAdmin").is_allowed());
    assert!(check(&r, &t, &test, "DBAdmin").is_allowed());
    assert_eq!(
        check(&r, &t, &prod, "DBAdmin").to_string(),
        r#"denied by role "windows_db_admin": deny.windows_desktop_labels matches env=prod"#
    );
    assert_eq!(
        check(&r, &t, &staging, "Administrator").to_string(),
        r#"denied by role "windows_db_admin": deny.windows_desktop_logins lists "Administrator""#
    );
    assert!(!check(&r, &t, &other, "DBAdmin").is_allowed());

    let set = RoleSet::new(&r, &t);
    let all = [staging.clone(), test.clone(), prod.clone(), other.clone()];
    let visible: Vec<(&str, Vec<String>)> = set
        .visible_desktops(&all)
        .into_iter()
        .map(|v| (v.desktop.name.as_str(), v.logins))
        .collect();
    assert_eq!(
        visible,
        [
            ("sql-staging", vec!["DBAdmin".to_owned()]),
            ("sql-test", vec!["DBAdmin".to_owned()])
        ]
    );

    let options = check(&r, &t, &staging, "DBAdmin")
        .into_result()
        .unwrap()
        .options()
        .clone();
    assert!(options.clipboard && options.record && options.directory_sharing);
    assert_eq!(options.idle_timeout, None);
}

/// The guide's `developer` role, with the structure its excerpt leaves out
/// filled back in.
const DEVELOPER: &str = r#"
kind: role
version: v4
metadata:
  name: developer
spec:
  options:
    # Specify whether or not to record the user's desktop sessions.
    record_session:
      desktop: true
    # Specify whether clipboard sharing should be allowed with the
    # remote desktop (requires a supported browser).
    desktop_clipboard: true
  allow:
    # Label selectors for desktops this role has access to.
    windows_desktop_labels:
      environment: ["dev", "stage"]
    # Windows user accounts this role can connect as.
    windows_desktop_logins: ["Administrator", "{{internal.windows_logins}}"]
"#;

#[test]
fn guide_developer_role_with_windows_logins_trait() {
    let r = roles(DEVELOPER);
    // tctl users add alice --windows-logins=Administrator,DBUser
    let alice = Traits::new().with("windows_logins", ["Administrator", "DBUser"]);
    let set = RoleSet::new(&r, &alice);
    let dev = windows("dev-box", &[("environment", "dev")]);
    assert_eq!(set.allowed_logins(&dev), ["Administrator", "DBUser"]);
    assert!(
        set.allowed_logins(&windows("prod-box", &[("environment", "prod")]))
            .is_empty()
    );
    // Without the trait, only the literal login is left.
    assert_eq!(
        RoleSet::new(&r, &Traits::new()).allowed_logins(&dev),
        ["Administrator"]
    );
}

/// The guide's preset `access` role: any desktop, the user's own logins.
const PRESET_ACCESS: &str = r#"
kind: role
version: v7
metadata:
  name: access
spec:
  allow:
    windows_desktop_labels:
      '*': '*'
    windows_desktop_logins: ["{{internal.windows_logins}}"]
    linux_desktop_labels:
      '*': '*'
    linux_desktop_logins: ["{{internal.linux_logins}}"]
"#;

/// The guide's `no-sharing` role.
const NO_SHARING: &str = r#"
kind: role
version: v5
metadata:
  name: "no-sharing"
spec:
  options:
    desktop_directory_sharing: false
"#;

#[test]
fn guide_preset_access_and_no_sharing() {
    let mut r = roles(PRESET_ACCESS);
    let alice = Traits::new()
        .with("windows_logins", ["alice"])
        .with("linux_logins", ["alice"]);
    let unlabelled = windows("w", &[]);
    let with_access = check(&r, &alice, &unlabelled, "alice")
        .into_result()
        .unwrap();
    assert!(with_access.options().directory_sharing);
    assert!(
        RoleSet::new(&r, &Traits::new())
            .allowed_logins(&unlabelled)
            .is_empty()
    );

    // Adding a role that only turns directory sharing off keeps access and
    // turns sharing off: options combine over all roles.
    r.extend(roles(NO_SHARING));
    let allowed = check(&r, &alice, &unlabelled, "alice")
        .into_result()
        .unwrap();
    assert_eq!(allowed.role(), "access");
    assert!(!allowed.options().directory_sharing);
    assert!(allowed.options().clipboard);
}

#[test]
fn guide_recording_combination() {
    let recorded = roles(PRESET_ACCESS);
    let unrecorded = roles(
        "kind: role\nversion: v7\nmetadata: {name: no-rec}\nspec:\n  options:\n    record_session:\n      desktop: false\n",
    );
    let alice = Traits::new().with("windows_logins", ["alice"]);
    let d = windows("w", &[]);
    let record = |roles: &[oriel_rbac::Role], mode: RecordingMode| {
        let cluster = ClusterPolicy {
            recording_mode: mode,
            ..ClusterPolicy::default()
        };
        RoleSet::new(roles, &alice)
            .check(&d, "alice", &cluster, SessionMfa::Verified)
            .into_result()
            .unwrap()
            .options()
            .record
    };
    // Recording is on by default.
    assert!(record(&recorded, RecordingMode::Node));
    // All roles must disable it: one role that leaves it on is enough.
    let mixed: Vec<_> = recorded.iter().chain(&unrecorded).cloned().collect();
    assert!(record(&mixed, RecordingMode::Proxy));
    // A role set where every role disables it is not recorded.
    let mut only_off = unrecorded.clone();
    only_off[0].allow = recorded[0].allow.clone();
    assert!(!record(&only_off, RecordingMode::Node));
    // Cluster mode off overrides every role.
    assert!(!record(&mixed, RecordingMode::Off));
}

#[test]
fn ldap_labels_from_the_guide() {
    let r = roles(
        "kind: role\nversion: v7\nmetadata: {name: oakland}\nspec:\n  allow:\n    windows_desktop_labels: {ldap/location: Oakland}\n    windows_desktop_logins: [Administrator]\n",
    );
    let d = windows(
        "dc1",
        &[
            ("ldap/location", "Oakland"),
            ("teleport.dev/ou", "OU=IT,DC=goteleport,DC=com"),
        ],
    );
    assert!(check(&r, &Traits::new(), &d, "Administrator").is_allowed());
}
