//! The parse-and-validate boundary: Teleport role files load unchanged,
//! mistakes are named by line, column and field, and roles round-trip.

use oriel_rbac::{Role, RoleVersion, parse_role, parse_roles, roles_to_yaml};

/// A role as Teleport users write them: most of it is not about desktops.
const FULL_TELEPORT_ROLE: &str = r#"
kind: role
version: v7
metadata:
  name: everything
  description: "a role that uses much more than desktops"
  labels:
    team: infra
  namespace: default
  revision: 2f1c8a3e-0000-4000-8000-000000000000
  expires: 2030-01-01T00:00:00Z
spec:
  options:
    max_session_ttl: 8h0m0s
    forward_agent: true
    port_forwarding: false
    cert_format: standard
    enhanced_recording: [command, network]
    record_session:
      default: best_effort
      ssh: strict
      desktop: false
    desktop_clipboard: false
    desktop_directory_sharing: true
    desktop_lossy: false
    create_desktop_user: true
    client_idle_timeout: 15m
    require_session_mfa: hardware_key_touch
    ssh_file_copy: true
    idp: {saml: {enabled: true}}
  allow:
    logins: ['{{internal.logins}}', ubuntu]
    node_labels: {'*': '*'}
    kubernetes_groups: [viewers]
    kubernetes_labels: {env: dev}
    kubernetes_resources: [{kind: pod, namespace: '*', name: '*', verbs: ['*']}]
    db_labels: {'*': '*'}
    db_names: ['*']
    app_labels: {'*': '*'}
    rules:
      - resources: [session]
        verbs: [list, read]
        where: contains(session.participants, user.metadata.name)
    request: {roles: [admin]}
    desktop_groups: [Administrators]
    windows_desktop_labels: {env: [dev, stage]}
    windows_desktop_logins: ["{{internal.windows_logins}}", Administrator]
    linux_desktop_labels: {env: '^(dev|stage)$', team: 'infra-*'}
    linux_desktop_logins: ["{{internal.linux_logins}}"]
  deny:
    logins: [root]
    node_labels: {env: prod}
    windows_desktop_labels: {env: prod}
    linux_desktop_logins: [root]
"#;

#[test]
fn teleport_role_loads_unchanged() {
    let role = parse_role("everything.yaml", FULL_TELEPORT_ROLE).unwrap();
    assert_eq!(role.name, "everything");
    assert_eq!(role.version, RoleVersion::V7);
    assert_eq!(
        role.description.as_deref(),
        Some("a role that uses much more than desktops")
    );
    assert_eq!(role.labels.get("team").map(String::as_str), Some("infra"));
    let o = &role.options;
    assert_eq!(
        (
            o.clipboard(),
            o.directory_sharing(),
            o.lossy(),
            o.record_desktop()
        ),
        (false, true, false, false)
    );
    assert_eq!(o.idle_timeout(), Some(std::time::Duration::from_secs(900)));
    assert!(o.requires_session_mfa());
    let logins: Vec<&str> = role
        .allow
        .windows_desktop_logins
        .iter()
        .map(|t| t.as_str())
        .collect();
    assert_eq!(logins, ["{{internal.windows_logins}}", "Administrator"]);
    let labels: Vec<(&str, Vec<&str>)> = role.allow.linux_desktop_labels.entries().collect();
    assert_eq!(
        labels,
        [("env", vec!["^(dev|stage)$"]), ("team", vec!["infra-*"])]
    );
    assert_eq!(role.deny.linux_desktop_logins[0].as_str(), "root");
    assert!(role.deny.linux_desktop_labels.is_empty());
    // Rules are kept, `where` included (tests/rules.rs has the rest).
    assert_eq!(role.allow.rules.len(), 1);
    assert_eq!(role.allow.rules[0].resources, ["session"]);
    assert_eq!(
        role.allow.rules[0].where_clause.as_deref(),
        Some("contains(session.participants, user.metadata.name)")
    );
    assert!(role.deny.rules.is_empty());
}

#[test]
fn every_version_from_v3_to_v7() {
    for v in ["v3", "v4", "v5", "v6", "v7"] {
        let role = parse_role(
            "r.yaml",
            &format!("kind: role\nversion: {v}\nmetadata: {{name: r}}\n"),
        )
        .unwrap();
        assert_eq!(role.version.as_str(), v);
    }
}

#[test]
fn several_documents() {
    let text = "---\nkind: role\nversion: v7\nmetadata: {name: a}\n---\n---\nkind: role\nversion: v5\nmetadata: {name: b}\nspec: ~\n...\n";
    let names: Vec<String> = parse_roles("two.yaml", text)
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert!(parse_roles("empty.yaml", "").unwrap().is_empty());
    let err = parse_role("two.yaml", text).unwrap_err();
    assert_eq!(err.to_string(), "two.yaml: expected one role, found 2");
}

#[test]
fn json_is_accepted_too() {
    let text = r#"{"kind": "role", "version": "v6", "metadata": {"name": "j"},
        "spec": {"allow": {"linux_desktop_labels": {"env": "dev"}, "linux_desktop_logins": ["u"]}}}"#;
    let role = parse_role("role.json", text).unwrap();
    assert_eq!(
        role.allow.linux_desktop_labels.entries().next(),
        Some(("env", vec!["dev"]))
    );
}

#[test]
fn bad_documents_name_line_column_and_field() {
    let base = |spec: &str| format!("kind: role\nversion: v7\nmetadata:\n  name: r\nspec:\n{spec}");
    #[rustfmt::skip]
    let table: Vec<(&str, String, &str)> = vec![
        ("yaml syntax error",
            "kind: role\nversion: v7\nmetadata: {name: r\nspec: {}\n".into(),
            "role.yaml:4:5: "),
        ("tab indentation",
            "kind: role\nmetadata:\n\tname: r\n".into(),
            "role.yaml:3:2: tabs disallowed"),
        ("duplicate key",
            "kind: role\nversion: v7\nversion: v6\nmetadata: {name: r}\n".into(),
            "role.yaml:3:1: duplicated key in mapping"),
        ("label value of the wrong type",
            base("  allow:\n    linux_desktop_labels:\n      env: 7\n"),
            "role.yaml:8:12: spec.allow.linux_desktop_labels.env: expected a string or a list of strings, found an integer"),
        ("label list item of the wrong type",
            base("  allow:\n    linux_desktop_labels:\n      env: [dev, {a: b}]\n"),
            "role.yaml:8:18: spec.allow.linux_desktop_labels.env[1]: expected a string, found a mapping"),
        ("logins must be a list",
            base("  allow:\n    windows_desktop_logins: Administrator\n"),
            "role.yaml:7:29: spec.allow.windows_desktop_logins: expected a list of strings, found a string"),
        ("login of the wrong type",
            base("  deny:\n    linux_desktop_logins: [root, 0]\n"),
            "role.yaml:7:34: spec.deny.linux_desktop_logins[1]: expected a string, found an integer"),
        ("labels must be a mapping",
            base("  allow:\n    windows_desktop_labels: [env]\n"),
            "role.yaml:7:29: spec.allow.windows_desktop_labels: expected a mapping, found a list"),
        ("allow must be a mapping",
            base("  allow: yes\n"),
            "role.yaml:6:10: spec.allow: expected a mapping, found a string"),
        ("unknown version",
            "kind: role\nversion: v2\nmetadata: {name: r}\n".into(),
            r#"role.yaml:2:10: version: unsupported role version "v2", expected one of v3, v4, v5, v6, v7"#),
        ("future version",
            "kind: role\nversion: v8\nmetadata: {name: r}\n".into(),
            r#"role.yaml:2:10: version: unsupported role version "v8""#),
        ("numeric version",
            "kind: role\nversion: 7\nmetadata: {name: r}\n".into(),
            "role.yaml:2:10: version: expected a version string such as \"v7\", found an integer"),
        ("missing version",
            "kind: role\nmetadata: {name: r}\n".into(),
            "role.yaml:1:1: missing field version"),
        ("wrong kind",
            "kind: user\nversion: v2\nmetadata: {name: r}\n".into(),
            r#"role.yaml:1:7: kind: expected kind "role", found "user""#),
        ("missing name",
            "kind: role\nversion: v7\nmetadata: {description: x}\n".into(),
            "role.yaml:3:11: metadata: missing field name"),
        ("not a mapping",
            "- kind: role\n".into(),
            "role.yaml:1:1: expected a role document, found a list"),
        ("invalid regex, pointing at the item",
            base("  allow:\n    linux_desktop_labels:\n      env: [dev, '^(dev$']\n"),
            r#"role.yaml:8:18: spec.allow.linux_desktop_labels.env[1]: invalid regex "^(dev$": unclosed group"#),
        ("invalid regex as a single value",
            base("  deny:\n    windows_desktop_labels: {host: '^[a-$'}\n"),
            r#"role.yaml:7:36: spec.deny.windows_desktop_labels.host: invalid regex "^[a-$": invalid character class range"#),
        ("wildcard key with a value",
            base("  allow:\n    linux_desktop_labels: {'*': dev}\n"),
            "role.yaml:7:28: spec.allow.linux_desktop_labels.*: selector '*': [\"dev\"] is not supported"),
        // A dotted key stands plainly, as in every kind's paths.
        ("label key with dots in the path",
            base("  allow:\n    linux_desktop_labels: {teleport.dev/os: 1}\n"),
            "role.yaml:7:45: spec.allow.linux_desktop_labels.teleport.dev/os: expected a string or a list of strings"),
        ("label expressions are refused",
            base("  deny:\n    linux_desktop_labels_expression: 'labels.env == \"prod\"'\n"),
            "role.yaml:7:38: spec.deny.linux_desktop_labels_expression: label expressions are not supported, use linux_desktop_labels instead"),
        ("wildcard login",
            base("  allow:\n    linux_desktop_logins: ['*']\n"),
            "role.yaml:7:28: spec.allow.linux_desktop_logins[0]: a wildcard login is not supported"),
        ("invalid linux login",
            base("  allow:\n    linux_desktop_logins: [-rf]\n"),
            r#"spec.allow.linux_desktop_logins[0]: "-rf": a linux login cannot start with '-'"#),
        ("invalid windows login",
            base("  allow:\n    windows_desktop_logins: ['a\\b']\n"),
            r#"spec.allow.windows_desktop_logins[0]: "a\\b": a windows login cannot contain"#),
        ("unknown internal trait",
            base("  allow:\n    windows_desktop_logins: ['{{internal.windows_login}}']\n"),
            "role.yaml:7:30: spec.allow.windows_desktop_logins[0]: unsupported variable internal.windows_login"),
        ("matcher function as a value",
            base("  allow:\n    linux_desktop_logins: ['{{regexp.match(\"a\")}}']\n"),
            "spec.allow.linux_desktop_logins[0]: regexp.match is a matcher and cannot produce a value"),
        ("bad template in a label value",
            base("  allow:\n    linux_desktop_labels: {env: '{{external.env'}\n"),
            "spec.allow.linux_desktop_labels.env: \"{{external.env\" uses template brackets"),
        ("boolean option of the wrong type",
            base("  options:\n    desktop_clipboard: 1\n"),
            "role.yaml:7:24: spec.options.desktop_clipboard: expected true or false, found an integer"),
        ("lossy video option of the wrong type",
            base("  options:\n    desktop_lossy: [false]\n"),
            "role.yaml:7:20: spec.options.desktop_lossy: expected true or false, found a list"),
        ("boolean option with an unknown word",
            base("  options:\n    desktop_directory_sharing: maybe\n"),
            r#"role.yaml:7:32: spec.options.desktop_directory_sharing: expected true or false, found "maybe""#),
        ("record_session.desktop of the wrong type",
            base("  options:\n    record_session:\n      desktop: [true]\n"),
            "role.yaml:8:16: spec.options.record_session.desktop: expected true or false, found a list"),
        ("idle timeout without unit",
            base("  options:\n    client_idle_timeout: '30'\n"),
            r#"role.yaml:7:26: spec.options.client_idle_timeout: missing unit in duration "30""#),
        ("idle timeout as a number",
            base("  options:\n    client_idle_timeout: 30\n"),
            "spec.options.client_idle_timeout: expected a duration such as \"30m\" or \"1h30m\", found an integer"),
        ("negative idle timeout",
            base("  options:\n    client_idle_timeout: -5m\n"),
            r#"spec.options.client_idle_timeout: duration "-5m" is negative"#),
        ("unknown MFA mode",
            base("  options:\n    require_session_mfa: always\n"),
            "role.yaml:7:26: spec.options.require_session_mfa: expected true, false, \"hardware_key\""),
        ("role label of the wrong type",
            "kind: role\nversion: v7\nmetadata:\n  name: r\n  labels: {a: [b]}\n".into(),
            "role.yaml:5:15: metadata.labels.a: expected a string, found a list"),
    ];
    for (name, text, want) in table {
        let err = parse_roles("role.yaml", &text).expect_err(name).to_string();
        assert!(err.contains(want), "{name}:\n  got  {err}\n  want {want}");
        if want.starts_with("role.yaml") {
            assert!(
                err.starts_with(want),
                "{name}:\n  got  {err}\n  want {want}"
            );
        }
    }
}

#[test]
fn errors_are_structured() {
    let err = parse_roles("r.yaml", "kind: role\nversion: v7\nmetadata:\n  name: r\nspec:\n  allow:\n    linux_desktop_labels:\n      env: 7\n").unwrap_err();
    assert_eq!(err.source_name, "r.yaml");
    assert_eq!(
        err.position,
        Some(oriel_rbac::Position {
            line: 8,
            column: 12
        })
    );
    assert_eq!(err.path, "spec.allow.linux_desktop_labels.env");
    assert_eq!(
        err.message,
        "expected a string or a list of strings, found an integer"
    );
}

#[test]
fn round_trip_through_yaml_and_json() {
    let role = parse_role("everything.yaml", FULL_TELEPORT_ROLE).unwrap();
    let yaml = role.to_yaml();
    assert_eq!(parse_role("again.yaml", &yaml).unwrap(), role, "{yaml}");
    assert!(
        !yaml.contains("kubernetes"),
        "only desktop fields are written:\n{yaml}"
    );

    let json = serde_json::to_string(&role).unwrap();
    let back: Role = serde_json::from_str(&json).unwrap();
    assert_eq!(back, role);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value["spec"]["options"]["require_session_mfa"],
        "hardware_key_touch"
    );
    assert_eq!(value["spec"]["options"]["desktop_lossy"], false);
    assert_eq!(
        value["spec"]["allow"]["linux_desktop_labels"]["env"][0],
        "^(dev|stage)$"
    );

    let seed = parse_roles("s.yaml", "kind: role\nversion: v3\nmetadata: {name: x}\nspec:\n  options: {record_desktop_session: false, client_idle_timeout: never, require_session_mfa: true}\n").unwrap();
    let out = roles_to_yaml(&seed);
    assert_eq!(parse_roles("again.yaml", &out).unwrap(), seed, "{out}");

    let bad =
        serde_json::from_str::<Role>(r#"{"kind":"role","version":"v9","metadata":{"name":"x"}}"#);
    let msg = bad.unwrap_err().to_string();
    assert!(
        msg.contains(r#"role: version: unsupported role version "v9""#),
        "{msg}"
    );
}

#[test]
fn built_in_code() {
    let mut role = Role::new("ops");
    role.allow.linux_desktop_labels = oriel_rbac::LabelSelector::wildcard();
    role.allow.linux_desktop_logins =
        vec![oriel_rbac::Template::parse("{{internal.linux_logins}}").unwrap()];
    role.options.client_idle_timeout = Some(oriel_rbac::IdleTimeout::parse("1h").unwrap());
    assert_eq!(parse_role("ops.yaml", &role.to_yaml()).unwrap(), role);
}
