//! The decision rules: deny first and greedy, allow within one role, logins
//! from traits, default deny, MFA, and the explanations.

mod common;

use common::{check, linux, roles, windows};
use oriel_rbac::{ClusterPolicy, Decision, DenyReason, RoleSet, SessionMfa, Traits, check_access};

/// Roles used by most rows: an allow role for dev and stage, a deny role for
/// prod, a deny role for `root`, and a role that allows without labels.
const ROLES: &str = r#"
kind: role
version: v7
metadata: {name: dev}
spec:
  allow:
    linux_desktop_labels: {env: [dev, stage]}
    linux_desktop_logins: [alice, root, "{{internal.linux_logins}}"]
    windows_desktop_labels: {env: dev}
    windows_desktop_logins: ["{{internal.windows_logins}}"]
---
kind: role
version: v6
metadata: {name: no-prod}
spec:
  deny:
    linux_desktop_labels: {env: prod}
---
kind: role
version: v5
metadata: {name: no-root}
spec:
  deny:
    linux_desktop_logins: [root]
---
kind: role
version: v4
metadata: {name: logins-only}
spec:
  allow:
    linux_desktop_logins: [carol]
"#;

#[test]
fn decision_table() {
    let roles = roles(ROLES);
    let traits = Traits::new()
        .with("linux_logins", ["bob", "bad:login", ""])
        .with("windows_logins", ["Administrator", "DB*User"]);
    let dev = linux("dev-1", &[("env", "dev")]);
    let prod = linux("prod-1", &[("env", "prod")]);
    let bare = linux("bare", &[]);
    let wdev = windows("win-1", &[("env", "dev")]);
    #[rustfmt::skip]
    let table: &[(&str, &oriel_rbac::Desktop, &str, Result<&str, &str>)] = &[
        ("allowed: labels and login in one role", &dev, "alice",
            Ok(r#"allowed by role "dev": allow.linux_desktop_labels matches env=dev and allow.linux_desktop_logins lists "alice""#)),
        ("login from {{internal.linux_logins}}", &dev, "bob", Ok(r#"allowed by role "dev""#)),
        ("invalid trait values are dropped", &dev, "bad:login", Err(r#"no role allows login "bad:login""#)),
        ("deny labels win over allow", &prod, "alice", Err(r#"denied by role "no-prod": deny.linux_desktop_labels matches env=prod"#)),
        ("deny logins are greedy: no labels needed", &dev, "root", Err(r#"denied by role "no-root": deny.linux_desktop_logins lists "root""#)),
        ("labels of one role, login of another: denied", &dev, "carol",
            Err(r#"no role allows login "carol" on linux desktop "dev-1" (checked: dev [labels match, login not listed], no-prod [labels do not match, login not listed], no-root [labels do not match, login not listed], logins-only [labels do not match])"#)),
        ("default deny: no role matches", &bare, "alice", Err(r#"no role allows login "alice" on linux desktop "bare""#)),
        ("logins are exact, not globs", &dev, "ALICE", Err("no role allows login")),
        ("windows login from {{internal.windows_logins}}", &wdev, "Administrator", Ok(r#"allowed by role "dev": allow.windows_desktop_labels"#)),
        ("windows trait value with '*' is dropped", &wdev, "DB*User", Err("no role allows login")),
        ("linux deny logins do not apply to windows", &windows("w", &[("env", "dev")]), "root", Err("no role allows login")),
        ("linux deny labels do not apply to windows", &windows("w", &[("env", "prod")]), "Administrator", Err("no role allows login")),
    ];
    for (name, desktop, login, want) in table {
        let got = check(&roles, &traits, desktop, login);
        let text = got.to_string();
        match want {
            Ok(prefix) => assert!(
                got.is_allowed() && text.starts_with(prefix),
                "{name}: {text}"
            ),
            Err(prefix) => assert!(
                !got.is_allowed() && text.starts_with(prefix),
                "{name}: {text}"
            ),
        }
    }
}

#[test]
fn a_deny_in_any_role_denies() {
    // The deny rule sits in the same role as the allow rule, and in another.
    for yaml in [
        "kind: role\nversion: v7\nmetadata: {name: a}\nspec:\n  allow:\n    linux_desktop_labels: {'*': '*'}\n    linux_desktop_logins: [u]\n  deny:\n    linux_desktop_labels: {env: prod}\n",
        "kind: role\nversion: v7\nmetadata: {name: a}\nspec:\n  allow:\n    linux_desktop_labels: {'*': '*'}\n    linux_desktop_logins: [u]\n---\nkind: role\nversion: v7\nmetadata: {name: b}\nspec:\n  deny:\n    linux_desktop_labels: {env: '*'}\n    linux_desktop_logins: []\n",
    ] {
        let r = roles(yaml);
        assert!(!check(&r, &Traits::new(), &linux("p", &[("env", "prod")]), "u").is_allowed());
        assert!(check(&r, &Traits::new(), &linux("x", &[]), "u").is_allowed());
    }
}

#[test]
fn deny_everything_and_empty_deny() {
    let allow = "kind: role\nversion: v7\nmetadata: {name: a}\nspec:\n  allow:\n    linux_desktop_labels: {'*': '*'}\n    linux_desktop_logins: [u]\n";
    let deny_all = format!("{allow}  deny:\n    linux_desktop_labels: {{'*': '*'}}\n");
    let empty_deny =
        format!("{allow}  deny:\n    linux_desktop_labels: {{}}\n    linux_desktop_logins: ~\n");
    let d = linux("d", &[]);
    let got = check(&roles(&deny_all), &Traits::new(), &d, "u");
    assert_eq!(
        got.to_string(),
        r#"denied by role "a": deny.linux_desktop_labels matches every desktop ('*': '*')"#
    );
    assert!(check(&roles(&empty_deny), &Traits::new(), &d, "u").is_allowed());
}

#[test]
fn no_roles_means_no_access() {
    let got = check(&[], &Traits::new(), &linux("d", &[]), "u");
    assert_eq!(
        got.to_string(),
        r#"no role allows login "u" on linux desktop "d" (the user has no roles)"#
    );
    assert!(
        RoleSet::new(&[], &Traits::new())
            .allowed_logins(&linux("d", &[]))
            .is_empty()
    );
}

#[test]
fn missing_trait_expands_to_nothing() {
    let r = roles(ROLES);
    let set = RoleSet::new(&r, &Traits::new());
    assert_eq!(
        set.allowed_logins(&linux("d", &[("env", "dev")])),
        ["alice"]
    );
    assert!(
        set.allowed_logins(&windows("w", &[("env", "dev")]))
            .is_empty()
    );
}

#[test]
fn denied_reasons_are_typed() {
    let r = roles(ROLES);
    let Decision::Denied(d) = check(&r, &Traits::new(), &linux("p", &[("env", "prod")]), "alice")
    else {
        panic!("expected a denial");
    };
    assert_eq!(
        d.reason,
        DenyReason::DenyLabels {
            role: "no-prod".into(),
            kind: oriel_rbac::DesktopKind::Linux,
            matched: "env=prod".into()
        }
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["reason"]["rule"], "deny_labels");
}

const MFA_ROLES: &str = r#"
kind: role
version: v7
metadata: {name: mfa-dev}
spec:
  options: {require_session_mfa: true}
  allow:
    linux_desktop_labels: {env: dev}
    linux_desktop_logins: [alice]
---
kind: role
version: v7
metadata: {name: plain-stage}
spec:
  options: {require_session_mfa: false}
  allow:
    linux_desktop_labels: {env: stage}
    linux_desktop_logins: [alice]
---
kind: role
version: v7
metadata: {name: mfa-unrelated}
spec:
  options: {require_session_mfa: hardware_key_touch}
  allow:
    windows_desktop_labels: {'*': '*'}
    windows_desktop_logins: [alice]
"#;

#[test]
fn mfa_is_required_by_allowing_roles_and_the_cluster() {
    let set = RoleSet::new(&roles(MFA_ROLES), &Traits::new());
    let cluster = ClusterPolicy::default();
    let dev = linux("d", &[("env", "dev")]);
    let stage = linux("s", &[("env", "stage")]);

    let got = set.check(&dev, "alice", &cluster, SessionMfa::NotVerified);
    assert_eq!(
        got.to_string(),
        r#"per-session MFA is required by role "mfa-dev""#
    );
    let allowed = set
        .check(&dev, "alice", &cluster, SessionMfa::Verified)
        .into_result()
        .unwrap();
    assert!(allowed.options().session_mfa);

    // A role that requires MFA but does not allow this desktop does not count.
    let allowed = set
        .check(&stage, "alice", &cluster, SessionMfa::NotVerified)
        .into_result()
        .unwrap();
    assert!(!allowed.options().session_mfa);

    let strict = ClusterPolicy {
        require_session_mfa: true,
        ..ClusterPolicy::default()
    };
    let got = set.check(&stage, "alice", &strict, SessionMfa::NotVerified);
    assert_eq!(
        got.to_string(),
        "per-session MFA is required by the cluster"
    );
    assert!(
        set.check(&stage, "alice", &strict, SessionMfa::Verified)
            .is_allowed()
    );

    // Listing does not ask for MFA: the picker shows the login, connecting asks.
    assert_eq!(set.allowed_logins(&dev), ["alice"]);
}

#[test]
fn allowed_carries_the_decision() {
    let got = check_access(
        &roles(ROLES),
        &Traits::new(),
        &linux("dev-1", &[("env", "dev")]),
        "alice",
        &ClusterPolicy::default(),
        SessionMfa::NotVerified,
    );
    let allowed = got.into_result().unwrap();
    assert_eq!(allowed.role(), "dev");
    assert_eq!(allowed.login(), "alice");
    assert_eq!(allowed.desktop_name(), "dev-1");
    assert_eq!(allowed.desktop_kind(), oriel_rbac::DesktopKind::Linux);
    assert!(allowed.options().record && allowed.options().clipboard);
}

#[test]
fn long_explanations_are_cut() {
    let yaml: String = (0..25)
        .map(|i| format!("kind: role\nversion: v7\nmetadata: {{name: r{i}}}\n---\n"))
        .collect();
    let got = check(&roles(&yaml), &Traits::new(), &linux("d", &[]), "u").to_string();
    assert!(
        got.ends_with("r9 [labels do not match, login not listed] and 15 more)"),
        "{got}"
    );
}

#[test]
fn role_order_names_the_first_deciding_role() {
    let yaml = "kind: role\nversion: v7\nmetadata: {name: one}\nspec:\n  allow:\n    linux_desktop_labels: {'*': '*'}\n    linux_desktop_logins: [u]\n---\nkind: role\nversion: v7\nmetadata: {name: two}\nspec:\n  allow:\n    linux_desktop_labels: {'*': '*'}\n    linux_desktop_logins: [u]\n";
    let mut r = roles(yaml);
    assert_eq!(
        check(&r, &Traits::new(), &linux("d", &[]), "u")
            .into_result()
            .unwrap()
            .role(),
        "one"
    );
    r.reverse();
    assert_eq!(
        check(&r, &Traits::new(), &linux("d", &[]), "u")
            .into_result()
            .unwrap()
            .role(),
        "two"
    );
}
