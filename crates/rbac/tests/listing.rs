//! The desktop list and login picker: the same answers as `check`, for many
//! desktops at once.

mod common;

use common::{linux, roles, windows};
use oriel_rbac::{
    ClusterPolicy, Desktop, DesktopKind, LabelSelector, Role, RoleSet, SessionMfa, Template,
    Traits, parse_role,
};
use proptest::prelude::*;

#[test]
fn visible_desktops_and_their_logins() {
    let r = roles(
        r#"
kind: role
version: v7
metadata: {name: dev}
spec:
  allow:
    linux_desktop_labels: {env: dev}
    linux_desktop_logins: [alice, "{{internal.linux_logins}}"]
---
kind: role
version: v7
metadata: {name: ops}
spec:
  allow:
    linux_desktop_labels: {env: '*', team: 'ops-*'}
    linux_desktop_logins: [ops, root]
  deny:
    linux_desktop_logins: [root]
    linux_desktop_labels: {secret: 'yes'}
"#,
    );
    let set = RoleSet::new(&r, &Traits::new().with("linux_logins", ["bob", "alice"]));
    let desktops = [
        linux("a", &[("env", "dev")]),
        linux("b", &[("env", "dev"), ("team", "ops-1")]),
        linux("c", &[("env", "prod"), ("team", "ops-2")]),
        linux("d", &[("env", "prod")]),
        linux("e", &[("env", "dev"), ("secret", "yes")]),
        windows("f", &[("env", "dev")]),
    ];
    let got: Vec<(&str, Vec<String>)> = set
        .visible_desktops(&desktops)
        .into_iter()
        .map(|v| (v.desktop.name.as_str(), v.logins))
        .collect();
    let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            ("a", owned(&["alice", "bob"])),
            ("b", owned(&["alice", "bob", "ops"])),
            ("c", owned(&["ops"])),
        ]
    );
}

// Small pools so that random roles and desktops often meet.
const KEYS: [&str; 3] = ["env", "team", "os"];
const VALUES: [&str; 4] = ["dev", "prod", "web-1", "web-2"];
const PATTERNS: [&str; 9] = [
    "dev",
    "prod",
    "web-1",
    "web-*",
    "w*",
    "*-2",
    "*",
    "^web-[12]$",
    "^(dev|prod)$",
];
const LOGINS: [&str; 4] = ["alice", "bob", "root", "{{internal.linux_logins}}"];

fn selector() -> impl Strategy<Value = LabelSelector> {
    prop_oneof![
        1 => Just(LabelSelector::default()),
        1 => Just(LabelSelector::wildcard()),
        6 => prop::collection::btree_map(
            prop::sample::select(&KEYS[..]),
            prop::collection::vec(prop::sample::select(&PATTERNS[..]), 0..3),
            1..3,
        )
        .prop_map(|m| LabelSelector::new(m).unwrap()),
    ]
}

fn logins() -> impl Strategy<Value = Vec<Template>> {
    prop::collection::vec(prop::sample::select(&LOGINS[..]), 0..3)
        .prop_map(|v| v.into_iter().map(|l| Template::parse(l).unwrap()).collect())
}

fn role() -> impl Strategy<Value = Role> {
    (selector(), logins(), selector(), logins(), any::<bool>()).prop_map(
        |(al, alog, dl, dlog, deny)| {
            let mut role = Role::new("r");
            for kind in DesktopKind::ALL {
                let (labels, logins) = match kind {
                    DesktopKind::Linux => (
                        &mut role.allow.linux_desktop_labels,
                        &mut role.allow.linux_desktop_logins,
                    ),
                    DesktopKind::Windows => (
                        &mut role.allow.windows_desktop_labels,
                        &mut role.allow.windows_desktop_logins,
                    ),
                };
                *labels = al.clone();
                *logins = alog.clone();
            }
            if deny {
                role.deny.linux_desktop_labels = dl;
                role.deny.linux_desktop_logins = dlog;
            }
            role
        },
    )
}

fn desktop() -> impl Strategy<Value = Desktop> {
    (
        any::<bool>(),
        prop::collection::btree_map(
            prop::sample::select(&KEYS[..]),
            prop::sample::select(&VALUES[..]),
            0..3,
        ),
    )
        .prop_map(|(linux, labels)| {
            let kind = if linux {
                DesktopKind::Linux
            } else {
                DesktopKind::Windows
            };
            labels
                .into_iter()
                .fold(Desktop::new(kind, "d"), |d, (k, v)| d.with_label(k, v))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A login is listed exactly when `check` allows it.
    #[test]
    fn listing_agrees_with_check(
        mut roles in prop::collection::vec(role(), 0..6),
        desktops in prop::collection::vec(desktop(), 1..6),
    ) {
        for (i, r) in roles.iter_mut().enumerate() {
            r.name = format!("r{i}");
            // Every generated role also survives YAML and JSON.
            prop_assert_eq!(&parse_role("gen.yaml", &r.to_yaml()).unwrap(), &*r);
            let json = serde_json::to_string(&*r).unwrap();
            prop_assert_eq!(&serde_json::from_str::<Role>(&json).unwrap(), &*r);
        }
        let traits = Traits::new().with("linux_logins", ["carol", "root"]);
        let set = RoleSet::new(&roles, &traits);
        let cluster = ClusterPolicy::default();
        for d in &desktops {
            let listed = set.allowed_logins(d);
            for login in ["alice", "bob", "carol", "root", "dave"] {
                let allowed = set.check(d, login, &cluster, SessionMfa::Verified).is_allowed();
                prop_assert_eq!(
                    listed.iter().any(|l| l == login), allowed,
                    "login {} on {:?}: listed {:?}", login, d, listed
                );
            }
        }
        let visible = set.visible_desktops(&desktops);
        prop_assert_eq!(visible.len(), desktops.iter().filter(|d| !set.allowed_logins(d).is_empty()).count());
    }
}
