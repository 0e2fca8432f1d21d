//! Resource rules (`spec.allow.rules`, `spec.deny.rules`): they load from
//! Teleport roles, are written back, refuse wrong shapes with line:column,
//! and decide deny first, with `where` never granting more than written.

mod common;

use common::roles;
use oriel_rbac::{
    Role, RoleSet, Rule, RuleDecision, Traits, parse_role, parse_roles, roles_to_yaml,
};

const PRESETS: &str = include_str!("testdata/teleport_presets.yaml");

fn set(yaml: &str) -> RoleSet {
    RoleSet::new(&roles(yaml), &Traits::new())
}

/// A role with these `spec` lines, indented under `spec:`.
fn role_with(name: &str, spec: &str) -> String {
    format!("kind: role\nversion: v7\nmetadata: {{name: {name}}}\nspec:\n{spec}")
}

fn allowed(role: &str) -> RuleDecision {
    RuleDecision::Allowed { role: role.into() }
}

#[test]
fn rules_load_with_where_and_actions_and_are_written_back() {
    let text = role_with(
        "ops",
        r#"  allow:
    rules:
      - resources: [event, session]
        verbs: [list, read]
      - resources: [session]
        verbs: [delete]
        where: 'contains(session.participants, user.metadata.name)'
        actions: ['log("info", "deleted a session")']
  deny:
    rules:
      - {resources: ['*'], verbs: [delete], where: ''}
"#,
    );
    let role = parse_role("ops.yaml", &text).unwrap();
    assert_eq!(
        role.allow.rules,
        [
            Rule::new(["event", "session"], ["list", "read"]),
            Rule {
                where_clause: Some("contains(session.participants, user.metadata.name)".into()),
                actions: vec![r#"log("info", "deleted a session")"#.into()],
                ..Rule::new(["session"], ["delete"])
            },
        ]
    );
    // An empty `where` is how Teleport writes "no condition".
    assert_eq!(role.deny.rules, [Rule::new(["*"], ["delete"])]);

    // The writer behind `Role::to_yaml` (stored roles) and `to_document`
    // (`orielctl get role --format yaml`) keeps them.
    let yaml = role.to_yaml();
    assert_eq!(parse_role("again.yaml", &yaml).unwrap(), role, "{yaml}");
    assert!(yaml.contains("where: "), "{yaml}");
    assert!(yaml.contains("actions:"), "{yaml}");
    let doc = role.to_document();
    let written = doc
        .get("spec")
        .and_then(|s| s.get("deny"))
        .and_then(|d| d.get("rules"));
    assert!(written.is_some(), "{doc:?}");
    assert_eq!(Role::from_document("doc", &doc).unwrap(), role);

    let json = serde_json::to_string(&role).unwrap();
    assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role, "{json}");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["spec"]["allow"]["rules"][1]["where"],
        "contains(session.participants, user.metadata.name)"
    );
    assert_eq!(value["spec"]["deny"]["rules"][0]["verbs"][0], "delete");
    assert!(
        value["spec"]["deny"]["rules"][0].get("where").is_none(),
        "{json}"
    );
}

#[test]
fn rules_built_in_code_round_trip() {
    let mut role = Role::new("built");
    role.allow.rules = vec![Rule::new(["event"], ["list", "read"])];
    role.deny.rules = vec![Rule {
        where_clause: Some(r#"equals(resource.metadata.labels["env"], "prod")"#.into()),
        ..Rule::new(["lock"], ["*"])
    }];
    assert_eq!(parse_role("built.yaml", &role.to_yaml()).unwrap(), role);
    assert_eq!(
        role.deny.rules[0].to_string(),
        r#"{resources: [lock], verbs: ["*"], where: "equals(resource.metadata.labels[\"env\"], \"prod\")"}"#
    );
}

#[test]
fn teleport_presets_load_and_round_trip() {
    let presets = parse_roles("presets.yaml", PRESETS).unwrap();
    let names: Vec<&str> = presets.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["editor", "auditor", "access"]);
    let rules: Vec<usize> = presets.iter().map(|r| r.allow.rules.len()).collect();
    assert_eq!(rules, [7, 7, 4]);
    assert!(presets.iter().all(|r| r.deny.rules.is_empty()));
    let out = roles_to_yaml(&presets);
    assert_eq!(parse_roles("again.yaml", &out).unwrap(), presets, "{out}");
}

#[test]
fn teleport_presets_decide_as_in_teleport() {
    let presets = parse_roles("presets.yaml", PRESETS).unwrap();
    let with = |names: &[&str]| {
        let chosen: Vec<Role> = presets
            .iter()
            .filter(|r| names.contains(&r.name.as_str()))
            .cloned()
            .collect();
        RoleSet::new(&chosen, &Traits::new())
    };
    let editor = with(&["editor"]);
    let auditor = with(&["auditor"]);
    let access = with(&["access"]);

    assert_eq!(
        editor.check_rules("role", &["create", "update"]),
        allowed("editor")
    );
    assert_eq!(editor.check_rule("lock", "delete"), allowed("editor"));
    assert_eq!(
        auditor.check_rules("event", &["list", "read"]),
        allowed("auditor")
    );
    assert_eq!(auditor.check_rule("session", "read"), allowed("auditor"));
    assert_eq!(
        access.check_rules("event", &["list", "read"]),
        allowed("access")
    );

    assert_eq!(
        editor.check_rules("event", &["list", "read"]).to_string(),
        r#"your roles do not allow "list" on "event" (a role needs rules: [{resources: [event], verbs: [list, read]}])"#
    );
    assert_eq!(
        auditor.check_rule("role", "update").to_string(),
        r#"your roles do not allow "update" on "role" (a role needs rules: [{resources: [role], verbs: [update]}])"#
    );
    // The access role's session rule has a `where`, so it grants nothing
    // here, and the refusal says why.
    assert_eq!(
        access.check_rule("session", "read").to_string(),
        r#"your roles do not allow "read" on "session": role "access" allows it only where contains(session.participants, user.metadata.name), and where conditions are not evaluated yet (a role needs rules: [{resources: [session], verbs: [read]}])"#
    );
    assert_eq!(
        with(&["access", "auditor"]).check_rule("session", "read"),
        allowed("auditor")
    );
}

#[test]
fn deny_comes_first_whichever_role_holds_it() {
    let set = set(&format!(
        "{}---\n{}",
        role_with(
            "admin",
            "  allow:\n    rules: [{resources: ['*'], verbs: ['*']}]\n"
        ),
        role_with(
            "no-lock-removal",
            "  deny:\n    rules:\n      - resources: [lock]\n        verbs: [delete, update]\n"
        ),
    ));
    assert_eq!(set.check_rule("lock", "create"), allowed("admin"));
    assert_eq!(set.check_rule("role", "delete"), allowed("admin"));
    assert_eq!(
        set.check_rule("lock", "delete"),
        RuleDecision::Denied {
            reason: r#"denied by role "no-lock-removal": its deny rule {resources: [lock], verbs: [delete, update]} forbids "delete" on "lock""#.into()
        }
    );
    // One denied verb refuses the whole operation, and is the one named.
    assert_eq!(
        set.check_rules("lock", &["read", "update"]).to_string(),
        r#"denied by role "no-lock-removal": its deny rule {resources: [lock], verbs: [delete, update]} forbids "update" on "lock""#
    );
    assert!(!set.check_rules("lock", &["read", "update"]).is_allowed());
}

#[test]
fn wildcards_match_anything() {
    #[rustfmt::skip]
    let table: &[(&str, &str, &str, bool)] = &[
        // rule, resource asked, verb asked, allowed
        ("{resources: ['*'], verbs: [list]}", "event", "list", true),
        ("{resources: ['*'], verbs: [list]}", "event", "read", false),
        ("{resources: [event], verbs: ['*']}", "event", "delete", true),
        ("{resources: [event], verbs: ['*']}", "session", "read", false),
        ("{resources: ['*'], verbs: ['*']}", "anything_at_all", "whatever", true),
        // A `*` asked for is not a wildcard: only a rule's `*` allows it.
        ("{resources: [event], verbs: [list]}", "*", "list", false),
        ("{resources: [event], verbs: [list]}", "event", "*", false),
        ("{resources: ['*'], verbs: ['*']}", "*", "*", true),
        // Names are compared exactly.
        ("{resources: [event], verbs: [list]}", "Event", "list", false),
        ("{resources: [event], verbs: [list]}", "events", "list", false),
        // As in Teleport, `read` covers reading without secrets, not the other way round.
        ("{resources: [cert_authority], verbs: [read]}", "cert_authority", "readnosecrets", true),
        ("{resources: [cert_authority], verbs: [readnosecrets]}", "cert_authority", "read", false),
    ];
    for (rule, resource, verb, want) in table {
        let set = set(&role_with("r", &format!("  allow:\n    rules: [{rule}]\n")));
        let got = set.check_rule(resource, verb);
        assert_eq!(
            got.is_allowed(),
            *want,
            "{rule} {verb:?} on {resource:?}: {got}"
        );
    }
}

#[test]
fn deny_wildcards() {
    let admin = role_with(
        "admin",
        "  allow:\n    rules: [{resources: ['*'], verbs: ['*']}]\n",
    );
    #[rustfmt::skip]
    let table: &[(&str, &str, &str, bool)] = &[
        // deny rule, resource asked, verb asked, denied
        ("{resources: ['*'], verbs: [delete]}", "role", "delete", true),
        ("{resources: ['*'], verbs: [delete]}", "role", "read", false),
        ("{resources: [role], verbs: ['*']}", "role", "read", true),
        ("{resources: [role], verbs: ['*']}", "user", "read", false),
        // Asking for `*` asks for everything, so a deny on any part refuses it.
        ("{resources: [role], verbs: [delete]}", "*", "delete", true),
        ("{resources: [role], verbs: [delete]}", "role", "*", true),
        // Denying `read` also denies reading without secrets.
        ("{resources: [cert_authority], verbs: [read]}", "cert_authority", "readnosecrets", true),
    ];
    for (rule, resource, verb, want) in table {
        let set = set(&format!(
            "{admin}---\n{}",
            role_with("guard", &format!("  deny:\n    rules: [{rule}]\n"))
        ));
        let got = set.check_rule(resource, verb);
        assert_eq!(
            !got.is_allowed(),
            *want,
            "{rule} {verb:?} on {resource:?}: {got}"
        );
    }
}

#[test]
fn where_never_grants_and_always_denies() {
    let set = set(&format!(
        "{}---\n{}",
        role_with(
            "mine",
            "  allow:\n    rules:\n      - resources: [session]\n        verbs: [list, read]\n        where: contains(session.participants, user.metadata.name)\n"
        ),
        role_with(
            "prod-guard",
            "  allow:\n    rules: [{resources: [lock], verbs: [list]}]\n  deny:\n    rules:\n      - resources: [lock]\n        verbs: [delete]\n        where: equals(resource.metadata.labels.env, \"prod\")\n"
        ),
    ));
    let session = set.check_rule("session", "list");
    assert!(!session.is_allowed());
    assert!(
        session
            .to_string()
            .contains("where conditions are not evaluated yet"),
        "{session}"
    );
    assert_eq!(set.check_rule("lock", "list"), allowed("prod-guard"));
    assert_eq!(
        set.check_rule("lock", "delete").to_string(),
        r#"denied by role "prod-guard": its deny rule {resources: [lock], verbs: [delete], where: "equals(resource.metadata.labels.env, \"prod\")"} forbids "delete" on "lock" (where conditions are not evaluated yet, so a deny rule with one always applies)"#
    );
    // A `where` that would allow, next to a rule that allows outright: allowed.
    let both = self::set(&role_with(
        "both",
        "  allow:\n    rules:\n      - {resources: [session], verbs: [read], where: 'false'}\n      - {resources: [session], verbs: [read]}\n",
    ));
    assert_eq!(both.check_rule("session", "read"), allowed("both"));
}

#[test]
fn every_verb_is_needed_and_roles_may_share_them() {
    let set = set(&format!(
        "{}---\n{}",
        role_with(
            "lister",
            "  allow:\n    rules: [{resources: [event], verbs: [list]}]\n"
        ),
        role_with(
            "reader",
            "  allow:\n    rules: [{resources: [event], verbs: [read]}]\n"
        ),
    ));
    // No one role has both; together they do. The first verb's role is named.
    assert_eq!(
        set.check_rules("event", &["list", "read"]),
        allowed("lister")
    );
    assert_eq!(
        set.check_rules("event", &["read", "list"]),
        allowed("reader")
    );
    assert_eq!(
        set.check_rules("event", &["list", "read", "delete", "list"])
            .to_string(),
        r#"your roles do not allow "delete" on "event" (a role needs rules: [{resources: [event], verbs: [list, read, delete]}])"#
    );
    // A role with every verb is preferred in the answer.
    let set = self::set(&format!(
        "{}---\n{}",
        role_with(
            "lister",
            "  allow:\n    rules: [{resources: [event], verbs: [list]}]\n"
        ),
        role_with(
            "auditor",
            "  allow:\n    rules: [{resources: [event], verbs: [list, read]}]\n"
        ),
    ));
    assert_eq!(
        set.check_rules("event", &["list", "read"]),
        allowed("auditor")
    );
}

#[test]
fn nothing_asked_or_no_roles_is_refused() {
    let all = set(&role_with(
        "all",
        "  allow:\n    rules: [{resources: ['*'], verbs: ['*']}]\n",
    ));
    assert!(!all.check_rules("event", &[]).is_allowed());
    assert!(!all.check_rule("", "list").is_allowed());
    assert!(!all.check_rule("event", "").is_allowed());
    let none = RoleSet::new(&[], &Traits::new());
    assert_eq!(
        none.check_rule("event", "list").to_string(),
        r#"your roles do not allow "list" on "event" (a role needs rules: [{resources: [event], verbs: [list]}])"#
    );
    // Roles for desktops only grant no rules.
    let desktops = set(&role_with(
        "desktops",
        "  allow:\n    linux_desktop_labels: {'*': '*'}\n    linux_desktop_logins: [alice]\n",
    ));
    assert!(!desktops.check_rule("event", "list").is_allowed());
}

#[test]
fn bad_rules_name_line_column_and_field() {
    let base = |spec: &str| role_with("r", spec);
    #[rustfmt::skip]
    let table: Vec<(&str, String, &str)> = vec![
        ("rules must be a list",
            base("  allow:\n    rules: {resources: [event], verbs: [list]}\n"),
            "role.yaml:6:12: spec.allow.rules: expected a list of rules, found a mapping"),
        ("a rule must be a mapping",
            base("  allow:\n    rules: [event]\n"),
            "role.yaml:6:13: spec.allow.rules[0]: expected a mapping with resources and verbs, found a string"),
        ("a null rule",
            base("  deny:\n    rules:\n      - ~\n"),
            "role.yaml:7:9: spec.deny.rules[0]: expected a mapping with resources and verbs, found null"),
        ("missing resources",
            base("  allow:\n    rules:\n      - verbs: [list]\n"),
            "role.yaml:7:9: spec.allow.rules[0]: missing field resources"),
        ("missing verbs, in the second rule",
            base("  allow:\n    rules:\n      - {resources: [event], verbs: [list]}\n      - resources: [session]\n"),
            "role.yaml:8:9: spec.allow.rules[1]: missing field verbs"),
        ("no resources",
            base("  allow:\n    rules:\n      - resources: []\n        verbs: [list]\n"),
            "role.yaml:7:20: spec.allow.rules[0].resources: a rule needs at least one resource"),
        ("null verbs",
            base("  deny:\n    rules:\n      - resources: [event]\n        verbs:\n"),
            "spec.deny.rules[0].verbs: a rule needs at least one verb"),
        ("resources as a string",
            base("  allow:\n    rules:\n      - resources: event\n        verbs: [list]\n"),
            "role.yaml:7:20: spec.allow.rules[0].resources: expected a list of strings, found a string"),
        ("a resource of the wrong type",
            base("  allow:\n    rules:\n      - resources: [event, 7]\n        verbs: [list]\n"),
            "role.yaml:7:28: spec.allow.rules[0].resources[1]: expected a string, found an integer"),
        ("an empty verb",
            base("  allow:\n    rules:\n      - resources: [event]\n        verbs: [list, '']\n"),
            "role.yaml:8:23: spec.allow.rules[0].verbs[1]: a verb cannot be empty"),
        ("a blank resource",
            base("  deny:\n    rules:\n      - resources: ['  ']\n        verbs: [list]\n"),
            "role.yaml:7:21: spec.deny.rules[0].resources[0]: a resource name cannot be empty"),
        ("a misspelt key",
            base("  deny:\n    rules:\n      - resources: [event]\n        verb: [delete]\n"),
            "role.yaml:8:9: spec.deny.rules[0].verb: unknown field, expected resources, verbs, where or actions"),
        ("an unknown key in a flow mapping",
            base("  allow:\n    rules: [{resources: [event], verbs: [list], namespace: default}]\n"),
            "role.yaml:6:49: spec.allow.rules[0].namespace: unknown field"),
        ("where of the wrong type",
            base("  allow:\n    rules:\n      - resources: [event]\n        verbs: [list]\n        where: [a]\n"),
            "role.yaml:9:16: spec.allow.rules[0].where: expected an expression in a string, found a list"),
        ("a blank where",
            base("  deny:\n    rules:\n      - resources: [event]\n        verbs: [list]\n        where: '   '\n"),
            "role.yaml:9:16: spec.deny.rules[0].where: a where condition cannot be blank"),
        ("actions as a string",
            base("  allow:\n    rules:\n      - resources: [event]\n        verbs: [list]\n        actions: log\n"),
            "role.yaml:9:18: spec.allow.rules[0].actions: expected a list of strings, found a string"),
        ("an empty action",
            base("  allow:\n    rules:\n      - resources: [event]\n        verbs: [list]\n        actions: ['']\n"),
            "role.yaml:9:19: spec.allow.rules[0].actions[0]: an action cannot be empty"),
    ];
    for (name, text, want) in table {
        let err = parse_roles("role.yaml", &text).expect_err(name).to_string();
        if want.starts_with("role.yaml") {
            assert!(
                err.starts_with(want),
                "{name}:\n  got  {err}\n  want {want}"
            );
        } else {
            assert!(err.contains(want), "{name}:\n  got  {err}\n  want {want}");
        }
    }
}

#[test]
fn empty_rule_lists_are_no_rules() {
    for rules in ["rules: []", "rules: ~", "rules:"] {
        let role = parse_role(
            "r.yaml",
            &role_with(
                "r",
                &format!("  allow:\n    {rules}\n  deny:\n    {rules}\n"),
            ),
        )
        .unwrap();
        assert!(
            role.allow.rules.is_empty() && role.deny.rules.is_empty(),
            "{rules}"
        );
        assert!(!role.to_yaml().contains("rules"), "{rules}");
    }
}
