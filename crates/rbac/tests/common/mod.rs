//! Helpers shared by the integration tests.

#![allow(dead_code)]

use oriel_rbac::{
    ClusterPolicy, Decision, Desktop, DesktopKind, Role, RoleSet, SessionMfa, Traits, parse_roles,
};

/// Parses roles that the test knows to be valid.
pub fn roles(yaml: &str) -> Vec<Role> {
    parse_roles("test.yaml", yaml).unwrap_or_else(|e| panic!("{e}"))
}

/// A desktop from `key=value` pairs.
pub fn desktop(kind: DesktopKind, name: &str, labels: &[(&str, &str)]) -> Desktop {
    labels
        .iter()
        .fold(Desktop::new(kind, name), |d, (k, v)| d.with_label(*k, *v))
}

pub fn linux(name: &str, labels: &[(&str, &str)]) -> Desktop {
    desktop(DesktopKind::Linux, name, labels)
}

pub fn windows(name: &str, labels: &[(&str, &str)]) -> Desktop {
    desktop(DesktopKind::Windows, name, labels)
}

/// `check` with MFA done and the default cluster, so only roles decide.
pub fn check(roles: &[Role], traits: &Traits, desktop: &Desktop, login: &str) -> Decision {
    RoleSet::new(roles, traits).check(
        desktop,
        login,
        &ClusterPolicy::default(),
        SessionMfa::Verified,
    )
}
