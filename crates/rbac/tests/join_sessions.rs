//! `join_sessions`: who may join whose running sessions, and how. Policies
//! load from Teleport roles, are written back, refuse wrong shapes with
//! line:column, and grant only what one of the joiner's roles says.

mod common;

use common::roles;
use oriel_rbac::{
    DESKTOP_SESSIONS, JoinDecision, JoinMode, RoleSet, Traits, parse_role, roles_to_yaml,
};

fn set(yaml: &str) -> RoleSet {
    RoleSet::new(&roles(yaml), &Traits::new())
}

const HELPDESK: &str = r#"kind: role
version: v7
metadata: {name: helpdesk}
spec:
  allow:
    join_sessions:
      - name: Watch and help staff desktops
        roles: [staff]
        kinds: [desktop]
        modes: [observer, peer]
      - name: Watch contractors
        roles: ['*']
        kinds: ['*']
        modes: [observer, moderator]
"#;

#[test]
fn policies_load_and_are_written_back() {
    let role = parse_role("helpdesk.yaml", HELPDESK).unwrap();
    assert_eq!(role.allow.join_sessions.len(), 2);
    assert_eq!(
        role.allow.join_sessions[0].modes,
        [JoinMode::Observer, JoinMode::Peer]
    );
    let again = parse_role("again.yaml", &roles_to_yaml(std::slice::from_ref(&role))).unwrap();
    assert_eq!(again.allow.join_sessions, role.allow.join_sessions);
}

#[test]
fn a_policy_grants_the_modes_it_names_on_sessions_of_the_roles_it_names() {
    let helpdesk = set(HELPDESK);
    let staff = vec!["staff".to_owned()];
    let other = vec!["access".to_owned()];
    assert_eq!(
        helpdesk.check_join(&staff, DESKTOP_SESSIONS, JoinMode::Peer),
        JoinDecision::Allowed {
            role: "helpdesk".into(),
            policy: "Watch and help staff desktops".into()
        }
    );
    // Anyone's sessions, but only to watch.
    assert!(matches!(
        helpdesk.check_join(&other, DESKTOP_SESSIONS, JoinMode::Observer),
        JoinDecision::Allowed { .. }
    ));
    let JoinDecision::Denied { reason } =
        helpdesk.check_join(&other, DESKTOP_SESSIONS, JoinMode::Peer)
    else {
        panic!("a peer of anyone")
    };
    assert!(
        reason.contains("as peer") && reason.contains("join_sessions"),
        "{reason}"
    );
    // Moderated sessions do not exist here, whatever a role says.
    assert!(matches!(
        helpdesk.check_join(&staff, DESKTOP_SESSIONS, JoinMode::Moderator),
        JoinDecision::Denied { .. }
    ));
    // A role without policies grants nothing.
    let plain = set(
        "kind: role\nversion: v7\nmetadata: {name: access}\nspec:\n  allow:\n    linux_desktop_logins: [alice]\n",
    );
    assert!(matches!(
        plain.check_join(&staff, DESKTOP_SESSIONS, JoinMode::Observer),
        JoinDecision::Denied { .. }
    ));
}

#[test]
fn wrong_shapes_are_refused_with_their_place() {
    let bad_mode = parse_role("r.yaml", "kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  allow:\n    join_sessions:\n      - name: x\n        roles: [a]\n        kinds: [desktop]\n        modes: [watcher]\n").unwrap_err().to_string();
    assert!(
        bad_mode.contains("r.yaml:10:") && bad_mode.contains("\"watcher\" is not a mode"),
        "{bad_mode}"
    );
    let unknown = parse_role("r.yaml", "kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  allow:\n    join_sessions:\n      - name: x\n        mode: [peer]\n").unwrap_err().to_string();
    assert!(
        unknown.contains("unknown field, expected name, roles, kinds or modes"),
        "{unknown}"
    );
    let denied = parse_role(
        "r.yaml",
        "kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  deny:\n    join_sessions: []\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        denied.contains("join_sessions only has a meaning under allow"),
        "{denied}"
    );
}
