//! Label selector rules, one table row per rule, through the public API:
//! a role allows login `u` on the desktops its selector matches.

mod common;

use common::{linux, roles};
use oriel_rbac::{
    ClusterPolicy, DesktopKind, LabelSelector, Role, RoleSet, SessionMfa, Template, Traits,
};
use proptest::prelude::*;

/// Whether a role with this `linux_desktop_labels` (YAML flow mapping, or
/// nothing) lets `u` onto a desktop with these labels.
fn matches(selector: Option<&str>, traits: &Traits, labels: &[(&str, &str)]) -> bool {
    let labels_line = selector.map_or(String::new(), |s| {
        format!("    linux_desktop_labels: {s}\n")
    });
    let yaml = format!(
        "kind: role\nversion: v7\nmetadata: {{name: r}}\nspec:\n  allow:\n    linux_desktop_logins: [u]\n{labels_line}"
    );
    let set = RoleSet::new(&roles(&yaml), traits);
    let d = linux("d", labels);
    let listed = set.allowed_logins(&d) == ["u"];
    let checked = set
        .check(&d, "u", &ClusterPolicy::default(), SessionMfa::Verified)
        .is_allowed();
    assert_eq!(
        listed, checked,
        "listing and check disagree for {selector:?} on {labels:?}"
    );
    checked
}

#[test]
fn selector_rules() {
    let none = Traits::new();
    let traits = Traits::new()
        .with("envs", ["dev", "stage"])
        .with("teamkey", ["team"])
        .with("globs", ["web-*"]);
    /// Name, selector, traits, desktop labels, whether `u` gets in.
    type Row<'a> = (
        &'a str,
        Option<&'a str>,
        &'a Traits,
        &'a [(&'a str, &'a str)],
        bool,
    );
    #[rustfmt::skip]
    let table: &[Row] = &[
        ("no selector matches nothing", None, &none, &[("env", "dev")], false),
        ("empty selector matches nothing", Some("{}"), &none, &[("env", "dev")], false),
        ("empty selector matches nothing, even unlabelled", Some("{}"), &none, &[], false),
        ("'*': '*' matches an unlabelled desktop", Some("{'*': '*'}"), &none, &[], true),
        ("'*': ['*'] matches anything", Some("{'*': ['*']}"), &none, &[("env", "prod")], true),
        ("'*': '*' wins over other keys", Some("{'*': '*', env: prod}"), &none, &[("env", "dev")], true),
        ("exact value", Some("{env: dev}"), &none, &[("env", "dev")], true),
        ("other value", Some("{env: dev}"), &none, &[("env", "prod")], false),
        ("key must exist", Some("{env: dev}"), &none, &[("team", "dev")], false),
        ("every key must match", Some("{env: dev, team: a}"), &none, &[("env", "dev"), ("team", "b")], false),
        ("every key matches", Some("{env: dev, team: a}"), &none, &[("env", "dev"), ("team", "a"), ("x", "y")], true),
        ("one of the listed values", Some("{env: [dev, stage]}"), &none, &[("env", "stage")], true),
        ("empty value list matches nothing", Some("{env: []}"), &none, &[("env", "dev")], false),
        ("value * matches any value", Some("{env: '*'}"), &none, &[("env", "anything")], true),
        ("value * still needs the key", Some("{env: '*'}"), &none, &[("team", "a")], false),
        ("* among other values", Some("{env: [dev, '*']}"), &none, &[("env", "prod")], true),
        ("glob prefix", Some("{host: 'web-*'}"), &none, &[("host", "web-12")], true),
        ("glob matches the empty run", Some("{host: 'web-*'}"), &none, &[("host", "web-")], true),
        ("glob is anchored at the start", Some("{host: 'web-*'}"), &none, &[("host", "old-web-1")], false),
        ("glob is anchored at the end", Some("{host: '*-db'}"), &none, &[("host", "x-db-2")], false),
        ("glob in the middle", Some("{host: 'a*z'}"), &none, &[("host", "a-to-z")], true),
        ("glob dots are literal", Some("{host: 'a.b*'}"), &none, &[("host", "axb1")], false),
        ("glob brackets are literal", Some("{host: '[ab]*'}"), &none, &[("host", "[ab]1")], true),
        ("values are case-sensitive", Some("{env: dev}"), &none, &[("env", "Dev")], false),
        ("^…$ is a regex", Some("{host: '^web-[0-9]+$'}"), &none, &[("host", "web-42")], true),
        ("regex refuses", Some("{host: '^web-[0-9]+$'}"), &none, &[("host", "web-x")], false),
        ("regex alternation", Some("{env: '^(dev|stage)$'}"), &none, &[("env", "stage")], true),
        ("^ without $ is a glob, taken literally", Some("{host: '^web'}"), &none, &[("host", "^web")], true),
        ("^ without $ is not a regex", Some("{host: '^web'}"), &none, &[("host", "web")], false),
        ("LDAP-style key", Some("{ldap/location: Oakland}"), &none, &[("ldap/location", "Oakland")], true),
        ("value template", Some("{env: '{{external.envs}}'}"), &traits, &[("env", "stage")], true),
        ("value template, other value", Some("{env: '{{external.envs}}'}"), &traits, &[("env", "prod")], false),
        ("value template, missing trait", Some("{env: '{{external.envs}}'}"), &none, &[("env", "dev")], false),
        ("value template expanding to a glob", Some("{host: '{{external.globs}}'}"), &traits, &[("host", "web-3")], true),
        ("key template", Some("{'{{external.teamkey}}': a}"), &traits, &[("team", "a")], true),
        ("key template, missing trait", Some("{'{{external.teamkey}}': a}"), &none, &[("team", "a")], false),
        ("wildcard wins over a dead key template", Some("{'{{external.nope}}': a, '*': '*'}"), &none, &[], true),
    ];
    for (name, selector, traits, labels, want) in table {
        assert_eq!(matches(*selector, traits, labels), *want, "{name}");
    }
}

#[test]
fn selectors_apply_to_their_own_kind_only() {
    let r = roles(
        "kind: role\nversion: v7\nmetadata: {name: r}\nspec:\n  allow:\n    windows_desktop_labels: {'*': '*'}\n    windows_desktop_logins: [u]\n    linux_desktop_logins: [u]\n",
    );
    let set = RoleSet::new(&r, &Traits::new());
    assert!(set.allowed_logins(&linux("l", &[])).is_empty());
    assert_eq!(set.allowed_logins(&common::windows("w", &[])), ["u"]);
}

#[test]
fn selector_built_in_code() {
    assert!(LabelSelector::new([("env", vec!["dev"])]).is_ok());
    assert!(!LabelSelector::wildcard().is_empty());
    let (key, err) = LabelSelector::new([("*", vec!["dev"])]).unwrap_err();
    assert_eq!(key, "*");
    assert!(err.to_string().contains("wildcard key"), "{err}");
    assert!(LabelSelector::new([("host", vec!["^(web$"])]).is_err());
}

/// A simple glob matcher to compare against: `*` is any run of characters
/// except a line break (Teleport compiles it to the regex `.*`).
fn reference_glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len())
            .take_while(|&i| i == 0 || text[i - 1] != '\n')
            .any(|i| reference_glob(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && reference_glob(rest, &text[1..]),
    }
}

fn glob_allows(glob: &str, value: &str) -> bool {
    let mut role = Role::new("r");
    role.allow.linux_desktop_labels = LabelSelector::new([("k", vec![glob])]).unwrap();
    role.allow.linux_desktop_logins = vec![Template::parse("u").unwrap()];
    let d = linux("d", &[("k", value)]);
    !RoleSet::new(&[role], &Traits::new())
        .allowed_logins(&d)
        .is_empty()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn globs_match_like_the_reference(glob in "[ab.*+?()|\\\\\n]{0,6}", value in "[ab.*+?()|\\\\\n]{0,6}") {
        // A value written ^…$ is a regex, not a glob: the reference does not apply.
        prop_assume!(!(glob.len() >= 2 && glob.starts_with('^') && glob.ends_with('$')));
        let p: Vec<char> = glob.chars().collect();
        let t: Vec<char> = value.chars().collect();
        let want = glob == "*" || reference_glob(&p, &t);
        prop_assert_eq!(glob_allows(&glob, &value), want, "glob {:?} value {:?}", glob, value);
    }
}

#[test]
fn kinds_are_named_like_the_role_fields() {
    assert_eq!(DesktopKind::Linux.labels_field(), "linux_desktop_labels");
    assert_eq!(
        DesktopKind::Windows.logins_field(),
        "windows_desktop_logins"
    );
}
