//! Option combination over the roles that allow a session, and the
//! cluster's part.

mod common;

use std::time::Duration;

use common::{linux, roles};
use oriel_rbac::{
    ClusterPolicy, Decision, RecordingMode, RoleSet, SessionMfa, Traits, combine_options,
};

/// A role that allows `alice` everywhere, with these option lines (YAML,
/// indented under `options:`).
fn role_with(name: &str, options: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: {name}}}\nspec:\n  options:\n{options}  allow:\n    linux_desktop_logins: [alice]\n    linux_desktop_labels: {{'*': '*'}}\n---\n"
    )
}

/// The options of a session `roles` allow (with MFA done).
fn granted(
    roles: &[oriel_rbac::Role],
    cluster: &ClusterPolicy,
    desktop: &oriel_rbac::Desktop,
) -> oriel_rbac::SessionOptions {
    match RoleSet::new(roles, &Traits::new()).check(desktop, "alice", cluster, SessionMfa::Verified)
    {
        Decision::Allowed(allowed) => allowed.options().clone(),
        Decision::Denied(denied) => panic!("{denied}"),
    }
}

fn combined(option_sets: &[&str], cluster: &ClusterPolicy) -> oriel_rbac::SessionOptions {
    let yaml: String = option_sets
        .iter()
        .enumerate()
        .map(|(i, o)| role_with(&format!("r{i}"), o))
        .collect();
    let r = roles(&yaml);
    let mut via_set = granted(&r, cluster, &linux("d", &[]));
    let direct = combine_options(&r, cluster);
    via_set.session_mfa = false;
    assert_eq!(via_set, direct);
    direct
}

const NONE: &str = "    {}\n";

#[test]
fn option_table() {
    let node = ClusterPolicy::default();
    let off = ClusterPolicy {
        recording_mode: RecordingMode::Off,
        ..ClusterPolicy::default()
    };
    let ten_min = ClusterPolicy {
        client_idle_timeout: Some(Duration::from_secs(600)),
        ..ClusterPolicy::default()
    };
    let exact = ClusterPolicy {
        forbid_lossy: true,
        ..ClusterPolicy::default()
    };
    type Check = fn(&oriel_rbac::SessionOptions) -> bool;
    #[rustfmt::skip]
    let table: &[(&str, &[&str], &ClusterPolicy, Check)] = &[
        ("clipboard defaults on", &[NONE, NONE], &node, |o| o.clipboard),
        ("clipboard off if any role turns it off", &[NONE, "    desktop_clipboard: false\n"], &node, |o| !o.clipboard),
        ("clipboard accepts Teleport's words", &["    desktop_clipboard: 'no'\n"], &node, |o| !o.clipboard),
        ("directory sharing defaults on", &[NONE], &node, |o| o.directory_sharing),
        ("directory sharing off if any role turns it off", &["    desktop_directory_sharing: true\n", "    desktop_directory_sharing: false\n"], &node, |o| !o.directory_sharing),
        ("lossy video defaults on", &[NONE, NONE], &node, |o| o.lossy),
        ("lossy video off if any role turns it off", &["    desktop_lossy: true\n", "    desktop_lossy: false\n"], &node, |o| !o.lossy),
        ("a cluster that forbids lossy video overrides roles", &["    desktop_lossy: true\n"], &exact, |o| !o.lossy),
        ("lossy video forbidden by the cluster, with no role saying", &[NONE], &exact, |o| !o.lossy),
        ("forbidding lossy video leaves the clipboard alone", &[NONE], &exact, |o| o.clipboard && o.directory_sharing),
        ("recording defaults on", &[NONE], &node, |o| o.record),
        ("recording on if any role turns it on", &["    record_session: {desktop: false}\n", NONE], &node, |o| o.record),
        ("recording off when every role turns it off", &["    record_session: {desktop: false}\n", "    record_session: {desktop: false, default: best_effort}\n"], &node, |o| !o.record),
        ("cluster mode off overrides roles", &["    record_session: {desktop: true}\n"], &off, |o| !o.record),
        ("RFD 33's record_desktop_session is honoured", &["    record_desktop_session: false\n"], &node, |o| !o.record),
        ("record_session.desktop wins over the RFD name", &["    record_desktop_session: false\n    record_session: {desktop: true}\n"], &node, |o| o.record),
        ("host user creation defaults off", &[NONE], &node, |o| !o.create_host_user),
        ("host user creation on when a role turns it on", &[NONE, "    create_desktop_user: true\n"], &node, |o| o.create_host_user),
        ("host user creation off if any role turns it off", &["    create_desktop_user: true\n", "    create_desktop_user: false\n"], &node, |o| !o.create_host_user),
        ("no idle timeout by default", &[NONE], &node, |o| o.idle_timeout.is_none()),
        ("smallest idle timeout wins", &["    client_idle_timeout: 1h\n", "    client_idle_timeout: 30m\n"], &node, |o| o.idle_timeout == Some(Duration::from_secs(1800))),
        ("zero idle timeout is ignored", &["    client_idle_timeout: '0'\n", "    client_idle_timeout: 1h30m\n"], &node, |o| o.idle_timeout == Some(Duration::from_secs(5400))),
        ("never idle timeout is ignored", &["    client_idle_timeout: never\n"], &node, |o| o.idle_timeout.is_none()),
        ("cluster idle timeout counts", &["    client_idle_timeout: 30m\n"], &ten_min, |o| o.idle_timeout == Some(Duration::from_secs(600))),
        ("role idle timeout below the cluster's", &["    client_idle_timeout: 5m\n"], &ten_min, |o| o.idle_timeout == Some(Duration::from_secs(300))),
        ("cluster timeout alone", &[NONE], &ten_min, |o| o.idle_timeout == Some(Duration::from_secs(600))),
        ("listing MFA is never set here", &["    require_session_mfa: true\n"], &node, |o| !o.session_mfa),
    ];
    for (name, sets, cluster, ok) in table {
        let got = combined(sets, cluster);
        assert!(ok(&got), "{name}: {got:?}");
    }
}

#[test]
fn recording_modes_parse() {
    for mode in ["off", "node", "node-sync", "proxy", "proxy-sync"] {
        assert_eq!(mode.parse::<RecordingMode>().unwrap().to_string(), mode);
    }
    let err = "nodes".parse::<RecordingMode>().unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"unknown session recording mode "nodes", expected off, node, node-sync, proxy or proxy-sync"#
    );
}

#[test]
fn require_session_mfa_values() {
    for (value, required) in [
        ("true", true),
        ("false", false),
        ("'yes'", true),
        ("'off'", false),
        ("hardware_key", true),
        ("hardware_key_touch", true),
        ("hardware_key_pin", true),
        ("hardware_key_touch_and_pin", true),
        ("0", false),
        ("1", true),
    ] {
        let r = roles(&role_with(
            "m",
            &format!("    require_session_mfa: {value}\n"),
        ));
        assert_eq!(r[0].options.requires_session_mfa(), required, "{value}");
    }
}

/// A role allowing `alice` on desktops labelled `env: {env}`, with
/// `desktop_groups` and option lines.
fn env_role(name: &str, env: &str, groups: &str, options: &str) -> String {
    format!(
        "kind: role\nversion: v7\nmetadata: {{name: {name}}}\nspec:\n  options:\n{options}  allow:\n    linux_desktop_logins: [alice]\n    linux_desktop_labels: {{env: {env}}}\n    desktop_groups: [{groups}]\n---\n"
    )
}

#[test]
fn desktop_groups_are_the_union_of_the_allowing_roles_lists() {
    let yaml =
        env_role("a", "dev", "video, audio", NONE) + &env_role("b", "dev", "audio, plugdev", NONE);
    let r = roles(&yaml);
    let options = granted(
        &r,
        &ClusterPolicy::default(),
        &linux("d", &[("env", "dev")]),
    );
    assert_eq!(options.host_groups, ["audio", "plugdev", "video"]);
    assert_eq!(
        combine_options(&r, &ClusterPolicy::default()).host_groups,
        options.host_groups
    );
}

#[test]
fn what_a_role_for_other_desktops_grants_does_not_apply() {
    let dev = env_role("dev", "dev", "video", NONE);
    // For prod desktops only: its groups, user creation and MFA mean nothing on dev.
    let prod = env_role(
        "prod",
        "prod",
        "sudo",
        "    create_desktop_user: true\n    require_session_mfa: true\n",
    );
    let r = roles(&(dev + &prod));
    let cluster = ClusterPolicy::default();

    let on_dev = granted(&r, &cluster, &linux("d", &[("env", "dev")]));
    assert_eq!(on_dev.host_groups, ["video"], "not prod's sudo");
    assert!(
        !on_dev.create_host_user,
        "prod's create_desktop_user does not create accounts on dev"
    );
    let set = RoleSet::new(&r, &Traits::new());
    let mfa = set.check(
        &linux("d", &[("env", "dev")]),
        "alice",
        &cluster,
        SessionMfa::NotVerified,
    );
    assert!(mfa.is_allowed(), "prod's MFA does not apply on dev: {mfa}");

    let on_prod = granted(&r, &cluster, &linux("p", &[("env", "prod")]));
    assert_eq!(on_prod.host_groups, ["sudo"]);
    assert!(on_prod.create_host_user);
}

#[test]
fn what_any_role_restricts_applies_everywhere_as_in_teleport() {
    let dev = env_role(
        "dev",
        "dev",
        "video",
        "    create_desktop_user: true\n    client_idle_timeout: 1h\n    record_session: {desktop: false}\n",
    );
    let prod = env_role(
        "prod",
        "prod",
        "sudo",
        "    create_desktop_user: false\n    desktop_clipboard: false\n    desktop_directory_sharing: false\n    desktop_lossy: false\n    client_idle_timeout: 5m\n    record_session: {desktop: true}\n",
    );
    let r = roles(&(dev + &prod));
    let on_dev = granted(
        &r,
        &ClusterPolicy::default(),
        &linux("d", &[("env", "dev")]),
    );
    assert_eq!(on_dev.host_groups, ["video"]);
    assert!(
        !on_dev.create_host_user
            && !on_dev.clipboard
            && !on_dev.directory_sharing
            && !on_dev.lossy
            && on_dev.record
    );
    assert_eq!(on_dev.idle_timeout, Some(Duration::from_secs(300)));
}

#[test]
fn a_role_that_matches_the_desktop_but_not_the_login_does_not_apply() {
    let alice = env_role("alice", "dev", "video", NONE);
    let bob = "kind: role\nversion: v7\nmetadata: {name: bob}\nspec:\n  options:\n    create_desktop_user: true\n  allow:\n    linux_desktop_logins: [bob]\n    linux_desktop_labels: {env: dev}\n    desktop_groups: [wheel]\n";
    let r = roles(&(alice + bob));
    let options = granted(
        &r,
        &ClusterPolicy::default(),
        &linux("d", &[("env", "dev")]),
    );
    assert_eq!(
        options.host_groups,
        ["video"],
        "wheel is for bob's sessions"
    );
    assert!(!options.create_host_user, "so is creating the account");
}

#[test]
fn deny_rules_still_come_from_every_role() {
    let allow = env_role("dev", "dev", "video", NONE);
    let deny = "kind: role\nversion: v7\nmetadata: {name: no-alice}\nspec:\n  deny:\n    linux_desktop_logins: [alice]\n";
    let r = roles(&(allow + deny));
    let decision = RoleSet::new(&r, &Traits::new()).check(
        &linux("d", &[("env", "dev")]),
        "alice",
        &ClusterPolicy::default(),
        SessionMfa::Verified,
    );
    assert!(!decision.is_allowed(), "{decision}");
}

#[test]
fn desktop_groups_are_checked_names_and_only_allowed() {
    let bad = oriel_rbac::parse_roles("r.yaml", "kind: role\nversion: v7\nmetadata: {name: a}\nspec:\n  allow:\n    desktop_groups: ['wheel,root']\n").unwrap_err();
    assert!(bad.to_string().contains("is not a group name"), "{bad}");
    let deny = oriel_rbac::parse_roles("r.yaml", "kind: role\nversion: v7\nmetadata: {name: a}\nspec:\n  deny:\n    desktop_groups: [sudo]\n").unwrap_err();
    assert!(
        deny.to_string()
            .contains("desktop_groups only has a meaning under allow"),
        "{deny}"
    );
}
