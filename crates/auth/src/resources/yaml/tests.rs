use std::time::{Duration, UNIX_EPOCH};

use oriel_rbac::{DesktopKind, RecordingMode};

use super::*;
use crate::resources::join_token::JoinRole;
use crate::resources::lock::LockTarget;

fn one(text: &str) -> Resource {
    let mut docs = parse_resources("t.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(docs.len(), 1, "{text}");
    docs.remove(0).resource
}

fn error(text: &str) -> String {
    parse_resources("t.yaml", text).expect_err(text).to_string()
}

const SECRET: &str = "0123456789abcdef-join-me";

/// One document of each kind, as Teleport writes them (with fields Oriel
/// does not keep), and what Oriel reads.
fn teleport_documents() -> Vec<(&'static str, String, Resource)> {
    let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
    vec![
        (
            "user",
            "kind: user
version: v2
metadata:
  name: alice
  revision: 5b8a
spec:
  roles: [access, auditor]
  traits:
    logins: [alice, root]
    windows_logins: [Administrator]
    kubernetes_groups: null
  created_by: {time: '2024-01-01T00:00:00Z', user: {name: admin}}
status: {is_locked: false}
"
            .into(),
            Resource::User(User {
                name: crate::resources::user::UserName::parse("alice").unwrap(),
                roles: vec!["access".into(), "auditor".into()],
                traits: crate::resources::user::Traits::new().with("logins", ["alice", "root"]).with("windows_logins", ["Administrator"]),
                credentials: None,
                id: String::new(),
                sso: None,
            }),
        ),
        (
            "lock",
            "kind: lock
version: v2
metadata:
  name: incident-7
spec:
  target:
    user: alice
    node: 6f1c
  message: incident 7
  expires: '2026-11-23T01:53:01Z'
  created_by: admin
"
            .into(),
            Resource::Lock(Lock {
                name: "incident-7".into(),
                target: LockTarget { user: Some("alice".into()), server_id: Some("6f1c".into()), ..Default::default() },
                message: Some("incident 7".into()),
                expires: Some(at(1_795_398_781)),
            }),
        ),
        (
            "token",
            format!(
                "kind: token
version: v2
metadata:
  name: {SECRET}
  expires: 2026-11-23T01:53:01Z
spec:
  roles: [LinuxDesktop, windowsdesktop, linux_desktop]
  join_method: token
"
            ),
            Resource::Token(TokenSpec {
                secret_hash: crate::bearer::hash(SECRET),
                roles: vec![JoinRole::LinuxDesktop, JoinRole::WindowsDesktop],
                expires: Some(at(1_795_398_781)),
                one_time: false,
            }),
        ),
        (
            "windows_desktop",
            "kind: windows_desktop
version: v3
metadata:
  name: dc1
  labels: {env: prod, 'teleport.dev/origin': config}
spec:
  addr: 10.0.0.5:3389
  domain: example.com
  host_id: 3b2c
  non_ad: false
"
            .into(),
            Resource::Desktop(DesktopRecord {
                kind: DesktopKind::Windows,
                name: "dc1".into(),
                hostname: String::new(),
                addr: "10.0.0.5:3389".into(),
                labels: BTreeMap::from([("env".into(), "prod".into()), ("teleport.dev/origin".into(), "config".into())]),
                expires: None,
                // Teleport's host_id: the service that serves it, which a lock's server_id names.
                host_id: Some("3b2c".into()),
            }),
        ),
        (
            "linux_desktop",
            "kind: linux_desktop
version: v1
metadata:
  name: 1f0e8a52-0d1c-4a43-9f44-1c1a4f0e0b6e
  expires: 2026-11-23T03:53:01+02:00
spec: {addr: 'in-process', hostname: build-1}
"
            .into(),
            Resource::Desktop(DesktopRecord {
                kind: DesktopKind::Linux,
                name: "1f0e8a52-0d1c-4a43-9f44-1c1a4f0e0b6e".into(),
                hostname: "build-1".into(),
                addr: "in-process".into(),
                labels: BTreeMap::new(),
                expires: Some(at(1_795_398_781)),
                host_id: None,
            }),
        ),
        (
            "session_recording_config",
            "kind: session_recording_config
version: v2
metadata:
  name: session-recording-config
  labels: {teleport.dev/origin: dynamic}
spec:
  mode: proxy-sync
  proxy_checks_host_keys: true
"
            .into(),
            Resource::SessionRecordingConfig(SessionRecordingConfig { mode: RecordingMode::ProxySync }),
        ),
        (
            "cluster_networking_config",
            "kind: cluster_networking_config
version: v2
spec:
  client_idle_timeout: 1h30m
  keep_alive_interval: 5m0s
  keep_alive_count_max: 3
"
            .into(),
            Resource::ClusterNetworkingConfig(ClusterNetworkingConfig {
                client_idle_timeout: Some(oriel_rbac::IdleTimeout::parse("1h30m").unwrap()),
                desktop_lossy: None,
            }),
        ),
    ]
}

#[test]
fn teleport_documents_load_and_round_trip() {
    let mut stream = String::new();
    for (kind, text, expected) in teleport_documents() {
        let resource = one(&text);
        assert_eq!(resource, expected, "{kind}");
        assert_eq!(resource.kind(), kind);
        // What `get --format yaml` writes reads back the same.
        let written = to_yaml(&[resource.to_document()]);
        assert_eq!(one(&written), expected, "{kind} as written:\n{written}");
        stream += "---\n";
        stream += &text;
    }
    let docs = parse_resources("all.yaml", &stream).unwrap();
    assert_eq!(docs.iter().map(|d| d.index).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(docs[2].position.map(|p| p.line), Some(28), "the token document starts after the user and the lock");
}

#[test]
fn written_documents_have_teleport_shape() {
    let token = one(&teleport_documents()[2].1);
    let hash = crate::bearer::hash(SECRET);
    assert_eq!(
        to_yaml(&[token.to_document()]),
        format!(
            "---\nkind: token\nversion: v2\nmetadata:\n  name: \"sha256:{hash}\"\n  expires: \"2026-11-23T01:53:01Z\"\nspec:\n  roles:\n    - LinuxDesktop\n    - WindowsDesktop\n  join_method: token\n"
        )
    );
    assert!(!format!("{token:?}").contains(&hash[16..]), "debug output holds only a prefix of the hash");
    // The hashed form restores the same token without the secret.
    assert_eq!(one(&to_yaml(&[token.to_document()])), token);
    let networking = to_yaml(&[ClusterNetworkingConfig::default().to_document()]);
    assert_eq!(networking, "---\nkind: cluster_networking_config\nversion: v2\nmetadata:\n  name: cluster-networking-config\nspec: {}\n");
}

#[test]
fn singletons_need_no_name_and_default_their_fields() {
    assert_eq!(one("kind: session_recording_config\nversion: v2\n"), Resource::SessionRecordingConfig(SessionRecordingConfig::default()));
    for (spec, timeout) in [("client_idle_timeout: 0", Some("0")), ("client_idle_timeout: never", Some("never")), ("{}", None)] {
        let text = format!("kind: cluster_networking_config\nspec:\n  {spec}\n");
        let Resource::ClusterNetworkingConfig(config) = one(&text) else { panic!() };
        assert_eq!(config.client_idle_timeout.as_ref().map(|t| t.as_str()), timeout, "{spec}");
        assert_eq!(config.idle_timeout(), None);
    }
    for mode in ["off", "node", "node-sync", "proxy", "proxy-sync"] {
        let Resource::SessionRecordingConfig(config) = one(&format!("kind: session_recording_config\nspec: {{mode: {mode}}}\n")) else { panic!() };
        assert_eq!(config.mode.as_str(), mode);
    }
}

#[test]
fn desktop_lossy_false_round_trips_and_forbids_lossy_video() {
    let text = "kind: cluster_networking_config\nversion: v2\nspec:\n  client_idle_timeout: 30m\n  desktop_lossy: false\n";
    let Resource::ClusterNetworkingConfig(config) = one(text) else { panic!() };
    assert_eq!(config.desktop_lossy, Some(false));
    let written = to_yaml(&[config.to_document()]);
    assert!(written.ends_with("spec:\n  client_idle_timeout: 30m\n  desktop_lossy: false\n"), "{written}");
    assert_eq!(one(&written), Resource::ClusterNetworkingConfig(config.clone()));
    let policy = crate::resources::cluster_settings::policy(&SessionRecordingConfig::default(), &config, &Default::default());
    assert!(policy.forbid_lossy);
    // A Teleport boolean word is read as the flag and written back as one.
    let Resource::ClusterNetworkingConfig(allowed) = one("kind: cluster_networking_config\nspec: {desktop_lossy: 'yes'}\n") else { panic!() };
    assert_eq!(allowed.desktop_lossy, Some(true));
    assert!(to_yaml(&[allowed.to_document()]).contains("desktop_lossy: true\n"));
}

#[test]
fn the_auth_preference_takes_only_what_oriel_enforces() {
    use crate::resources::auth_preference::{AuthPreference, SecondFactor};
    // Teleport's own document: a bare `on` is YAML 1.1's true there.
    let text = "kind: cluster_auth_preference\nversion: v2\nmetadata:\n  name: cluster-auth-preference\n  labels: {teleport.dev/origin: defaults}\nspec:\n  type: local\n  second_factor: on\n  webauthn:\n    rp_id: example.com\n  allow_passwordless: false\n  locking_mode: best_effort\n";
    let expected = AuthPreference { webauthn_rp_id: Some("example.com".into()), allow_passwordless: false, ..AuthPreference::default() };
    assert_eq!(one(text), Resource::AuthPreference(expected.clone()));
    assert_eq!(one(&to_yaml(&[expected.to_document()])), Resource::AuthPreference(expected));
    assert_eq!(one("kind: cluster_auth_preference\n"), Resource::AuthPreference(AuthPreference::default()));
    let Resource::AuthPreference(optional) = one("kind: cluster_auth_preference\nspec: {second_factor: optional}\n") else { panic!() };
    assert_eq!(optional.second_factor, SecondFactor::Optional);
}

#[test]
fn an_auth_preference_oriel_cannot_enforce_is_refused_where_it_is_written() {
    for (spec, error) in [
        ("second_factor: off", "t.yaml:3:18: document 1: spec.second_factor: second_factor off is refused: every login needs a second factor"),
        ("second_factor: u2f", "t.yaml:3:18: document 1: spec.second_factor: second_factor u2f is WebAuthn's predecessor; use webauthn"),
        ("type: saml", "t.yaml:3:9: document 1: spec.type: type saml needs saml connectors"),
        ("allow_local_auth: false", "t.yaml:3:21: document 1: spec.allow_local_auth: local logins cannot be turned off while type is local"),
        ("webauthn: {rp_id: 'https://example.com'}", "t.yaml:3:21: document 1: spec.webauthn.rp_id: webauthn.rp_id \"https://example.com\" is not a host name"),
        ("require_session_mfa: maybe", "t.yaml:3:24: document 1: spec.require_session_mfa: expected true or false, found \"maybe\""),
    ] {
        let text = format!("kind: cluster_auth_preference\nspec:\n  {spec}\n");
        let refused = parse_resources("t.yaml", &text).unwrap_err().to_string();
        assert!(refused.starts_with(error), "{spec}: {refused}");
    }
}

/// Teleport's own OIDC connector, with fields Oriel does not keep.
const TELEPORT_OIDC: &str = "kind: oidc
version: v3
metadata:
  name: corp
  revision: 3f2a
spec:
  display: Corp SSO
  issuer_url: https://idp.example.com
  client_id: oriel
  client_secret: s3cret-from-the-idp
  redirect_url: [https://oriel.example.com/api/sso/oidc/callback]
  provider: okta
  prompt: select_account
  pkce_mode: enabled
  acr_values: ''
  scope: [email, groups]
  claims_to_roles:
    - {claim: groups, value: admins, roles: [access, editor]}
    - claim: groups
      value: '^env-(.*)$'
      roles: ['$1-access']
  google_admin_email: admin@example.com
";

fn corp() -> crate::resources::oidc_connector::OidcConnector {
    use crate::resources::sso_mapping::ClaimMapping;
    let mapping = |claim: &str, value: &str, roles: &[&str]| ClaimMapping {
        claim: claim.into(),
        value: value.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    crate::resources::oidc_connector::OidcConnector {
        name: "corp".into(),
        display: Some("Corp SSO".into()),
        issuer_url: "https://idp.example.com".into(),
        client_id: "oriel".into(),
        client_secret: "s3cret-from-the-idp".into(),
        redirect_url: "https://oriel.example.com/api/sso/oidc/callback".into(),
        scope: vec!["email".into(), "groups".into()],
        username_claim: "email".into(),
        claims_to_roles: vec![mapping("groups", "admins", &["access", "editor"]), mapping("groups", "^env-(.*)$", &["$1-access"])],
    }
}

#[test]
fn an_oidc_connector_loads_from_teleports_shape_and_is_written_without_its_secret() {
    let expected = corp();
    assert_eq!(one(TELEPORT_OIDC), Resource::OidcConnector(expected.clone()));
    let written = to_yaml(&[Resource::OidcConnector(expected.clone()).to_document()]);
    assert_eq!(
        written,
        "---\nkind: oidc\nversion: v3\nmetadata:\n  name: corp\nspec:\n  display: Corp SSO\n  issuer_url: \"https://idp.example.com\"\n  client_id: oriel\n  \
         client_secret: \"********\"\n  redirect_url: \"https://oriel.example.com/api/sso/oidc/callback\"\n  scope:\n    - email\n    - groups\n  \
         username_claim: email\n  claims_to_roles:\n    - claim: groups\n      value: admins\n      roles:\n        - access\n        - editor\n    \
         - claim: groups\n      value: ^env-(.*)$\n      roles:\n        - $1-access\n"
    );
    assert!(!written.contains(&expected.client_secret), "{written}");
    assert!(!format!("{:?}", Resource::OidcConnector(expected.clone())).contains(&expected.client_secret), "debug output leaves the secret out");
    // What `get` wrote loads again once the real secret replaces the placeholder.
    let refused = error(&written);
    assert_eq!(refused, "t.yaml:10:18: document 1: spec.client_secret: the placeholder `get` prints is not a secret; write the real one");
    let restored = written.replace(&format!("\"{CLIENT_SECRET_PLACEHOLDER}\""), &expected.client_secret);
    assert_eq!(one(&restored), Resource::OidcConnector(expected), "{restored}");
    // The least a connector needs; username_claim defaults to Teleport's.
    let least = "kind: oidc\nmetadata: {name: min}\nspec:\n  issuer_url: http://127.0.0.1:9080\n  client_id: c\n  client_secret: s\n  \
                 redirect_url: http://localhost:3080/cb\n  claims_to_roles: [{claim: email, value: '*', roles: [access]}]\n";
    let Resource::OidcConnector(least) = one(least) else { panic!() };
    assert_eq!((least.display, least.scope.len(), least.username_claim.as_str()), (None, 0, "email"));
}

#[test]
fn an_oidc_connector_oriel_cannot_honour_is_refused_where_it_is_written() {
    let good = |field: &str| match field {
        "issuer_url" => "issuer_url: https://idp.example.com",
        "client_id" => "client_id: oriel",
        "client_secret" => "client_secret: s3cret",
        "redirect_url" => "redirect_url: https://oriel.example.com/cb",
        _ => "claims_to_roles: [{claim: groups, value: admins, roles: [access]}]",
    };
    let fields = ["issuer_url", "client_id", "client_secret", "redirect_url", "claims_to_roles"];
    // Each case replaces one field (lines 5 to 9) or adds line 10.
    let with = |field: &str, line: &str| {
        let mut spec: Vec<&str> = fields.iter().map(|f| if *f == field { line } else { good(f) }).collect();
        if !fields.contains(&field) {
            spec.push(line);
        }
        format!("kind: oidc\nversion: v3\nmetadata: {{name: corp}}\nspec:\n  {}\n", spec.join("\n  "))
    };
    let cases: &[(&str, &str, &str)] = &[
        (
            "issuer_url",
            "issuer_url: http://idp.example.com",
            "5:15: document 1: spec.issuer_url: \"http://idp.example.com\" is plain http; an identity provider is reached over https (http only on a loopback address)",
        ),
        ("issuer_url", "issuer_url: [https://idp.example.com]", "5:15: document 1: spec.issuer_url: expected a string, found a list"),
        ("issuer_url", "issuer: https://idp.example.com", "5:3: document 1: spec.issuer_url: is required"),
        ("client_id", "client_id: ''", "6:14: document 1: spec.client_id: a client_id cannot be empty"),
        ("client_secret", "client_secret: ''", "7:18: document 1: spec.client_secret: a client_secret cannot be empty"),
        (
            "client_secret",
            "client_secret: '********'",
            "7:18: document 1: spec.client_secret: the placeholder `get` prints is not a secret; write the real one",
        ),
        ("client_secret", "client_secret: 12345", "7:18: document 1: spec.client_secret: expected a string, found an integer"),
        (
            "redirect_url",
            "redirect_url: http://oriel.example.com/cb",
            "8:17: document 1: spec.redirect_url: \"http://oriel.example.com/cb\" is plain http; the provider sends people back over https (http only on a loopback address)",
        ),
        (
            "redirect_url",
            "redirect_url: /api/sso/oidc/callback",
            "8:17: document 1: spec.redirect_url: \"/api/sso/oidc/callback\" is not a URL: relative URL without a base",
        ),
        (
            "redirect_url",
            "redirect_url: [https://a.example.com/cb, https://b.example.com/cb]",
            "8:17: document 1: spec.redirect_url: Oriel takes one redirect_url, found 2",
        ),
        (
            "redirect_url",
            "redirect_url: ['https://a.example.com/cb#x']",
            "8:18: document 1: spec.redirect_url[0]: \"https://a.example.com/cb#x\" has a fragment; a redirect URL has none",
        ),
        ("claims_to_roles", "claims_to_roles: []", "9:20: document 1: spec.claims_to_roles: a connector needs at least one mapping: {claim, value, roles}"),
        ("claims_to_roles", "claims_to_roles: {claim: groups}", "9:20: document 1: spec.claims_to_roles: expected a list of mappings, found a mapping"),
        (
            "claims_to_roles",
            "claims_to_roles: [{claim: g, value: a, roles: [r]}, {value: admins, roles: [access]}]",
            "9:55: document 1: spec.claims_to_roles[1].claim: is required",
        ),
        (
            "claims_to_roles",
            "claims_to_roles: [{claim: g, value: a, roles: [r]}, {claim: g, value: '^(admins$', roles: [access]}]",
            "9:73: document 1: spec.claims_to_roles[1].value: \"^(admins$\" is not a valid regular expression: unclosed group",
        ),
        (
            "claims_to_roles",
            "claims_to_roles: [{claim: g, value: '', roles: [r]}]",
            "9:39: document 1: spec.claims_to_roles[0].value: a value cannot be empty (`*` matches any)",
        ),
        (
            "claims_to_roles",
            "claims_to_roles: [{claim: g, value: a, roles: []}]",
            "9:49: document 1: spec.claims_to_roles[0].roles: a mapping needs at least one role",
        ),
        ("claims_to_roles", "claims_to_roles: [{claim: g, value: a}]", "9:21: document 1: spec.claims_to_roles[0].roles: is required"),
        (
            "claims_to_roles",
            "claims_to_roles: [{claim: g, value: a, roles: [r, '']}]",
            "9:53: document 1: spec.claims_to_roles[0].roles[1]: a role name cannot be empty",
        ),
        (
            "claims_to_roles",
            "claims_to_roles: [{claim: g, value: a, role_template: {kind: role}}]",
            "9:42: document 1: spec.claims_to_roles[0].role_template: Oriel makes no roles from a template; create the role and name it in roles",
        ),
        ("claims_to_roles", "claims_to_roles: [admins]", "9:21: document 1: spec.claims_to_roles[0]: expected a mapping, found a string"),
        (
            "acr_values",
            "acr_values: 'phr'",
            "10:3: document 1: spec.acr_values: Oriel does not check the acr claim of a login, so acr_values would not be enforced; remove it",
        ),
        (
            "max_age",
            "max_age: 1h",
            "10:3: document 1: spec.max_age: Oriel does not check the auth_time claim of a login, so max_age would not be enforced; remove it",
        ),
        ("scope", "scope: [email, 'groups profile']", "10:18: document 1: spec.scope[1]: a scope is one word, found \"groups profile\""),
        ("scope", "scope: email", "10:10: document 1: spec.scope: expected a list of strings, found a string"),
        ("display", "display: [Corp]", "10:12: document 1: spec.display: expected a string, found a list"),
    ];
    let mismatches: Vec<String> = cases
        .iter()
        .map(|(field, line, expected)| (with(field, line), format!("t.yaml:{expected}")))
        .filter(|(text, expected)| error(text) != *expected)
        .map(|(text, expected)| format!("{text}\n  got:      {}\n  expected: {expected}", error(&text)))
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    // A name is a storage name, as for every kind; a connector needs a spec.
    let bad_name = error(&with("x", "x: 1").replace("name: corp", "name: a/b"));
    assert!(bad_name.starts_with("t.yaml:3:18: document 1: metadata.name: invalid name \"a/b\""), "{bad_name}");
    assert_eq!(error("kind: oidc\nmetadata: {name: corp}\n"), "t.yaml:1:1: document 1: spec: is required");
    // No refusal repeats the secret.
    for secret in ["client_secret: [hunter2-secret]", "client_secret: {hunter2-secret: 1}"] {
        let refused = error(&with("client_secret", secret));
        assert!(refused.starts_with("t.yaml:7:18: document 1: spec.client_secret: expected a string") && !refused.contains("hunter2"), "{refused}");
    }
}

#[test]
fn errors_name_the_document_line_and_field() {
    let cases: &[(&str, &str)] = &[
        (
            "kind: role\nversion: v7\nmetadata: {name: a}\n---\nkind: gadget\n",
            "t.yaml:5:7: document 2: kind: unsupported kind \"gadget\"; orielctl create accepts role, user, lock, token, linux_desktop, windows_desktop, oidc, session_recording_config, cluster_networking_config, cluster_auth_preference",
        ),
        ("metadata: {name: a}\n", "t.yaml:1:1: document 1: kind: is required"),
        ("- kind: user\n", "t.yaml:1:1: document 1: expected a resource (a mapping with kind, metadata and spec), found a list"),
        ("kind: [user]\n", "t.yaml:1:7: document 1: kind: expected a string, found a list"),
        ("kind: user\nversion: 2\nmetadata: {name: a}\n", "t.yaml:2:10: document 1: version: expected a string, found an integer"),
        (
            "kind: user\nmetadata:\n  name: a\nspec:\n  traits:\n    logins: alice\n",
            "t.yaml:6:13: document 1: spec.traits.logins: expected a list of strings, found a string",
        ),
        ("kind: user\nmetadata:\n  name: a\nspec:\n  roles: [access, 7]\n", "t.yaml:5:19: document 1: spec.roles[1]: expected a string, found an integer"),
        ("kind: user\nmetadata:\n  name: ../admin\n", "t.yaml:3:9: document 1: metadata.name: invalid user name \"../admin\": it starts with '.' or '-'"),
        ("kind: user\nmetadata: {}\n", "t.yaml:2:11: document 1: metadata.name: is required"),
        (
            "kind: lock\nmetadata: {name: l}\nspec:\n  target: {mfa_device: d1}\n",
            "t.yaml:4:24: document 1: spec.target.mfa_device: Oriel cannot lock by \"mfa_device\"; a lock target may name user, role, login, server_id, linux_desktop, windows_desktop",
        ),
        (
            "kind: lock\nmetadata: {name: l}\nspec:\n  target: {user: ''}\n",
            "t.yaml:4:11: document 1: spec.target: a lock needs a target: at least one of user, role, login, server_id, linux_desktop, windows_desktop",
        ),
        (
            "kind: lock\nmetadata: {name: l}\nspec:\n  target: {user: a}\n  expires: tomorrow\n",
            "t.yaml:5:12: document 1: spec.expires: invalid time \"tomorrow\", expected RFC 3339 such as \"2026-05-01T12:00:00Z\"",
        ),
        (
            "kind: lock\nmetadata: {name: a/b}\nspec: {target: {user: a}}\n",
            "t.yaml:2:18: document 1: metadata.name: invalid name \"a/b\": it cannot be '.' or '..' nor contain '/', whitespace or control characters",
        ),
        (
            "kind: token\nmetadata: {name: short}\nspec: {roles: [LinuxDesktop]}\n",
            "t.yaml:2:18: document 1: metadata.name: a join token's name is its secret and must be at least 16 bytes (`orielctl tokens add` makes a strong one)",
        ),
        (
            "kind: token\nmetadata: {name: 'sha256:abc'}\nspec: {roles: [LinuxDesktop]}\n",
            "t.yaml:2:18: document 1: metadata.name: a hashed token name is sha256: and 64 lowercase hex digits",
        ),
        (
            "kind: token\nmetadata: {name: 0123456789abcdef}\nspec: {roles: [Node]}\n",
            "t.yaml:3:16: document 1: spec.roles[0]: unsupported join role, expected LinuxDesktop, WindowsDesktop or Proxy",
        ),
        (
            "kind: token\nmetadata: {name: 0123456789abcdef}\nspec: {roles: []}\n",
            "t.yaml:3:15: document 1: spec.roles: a token needs at least one role: LinuxDesktop, WindowsDesktop or Proxy",
        ),
        (
            "kind: token\nmetadata: {name: 0123456789abcdef}\nspec: {roles: [Proxy], join_method: iam}\n",
            "t.yaml:3:37: document 1: spec.join_method: join method \"iam\" is not supported; Oriel joins with \"token\" only",
        ),
        ("kind: linux_desktop\nmetadata: {name: d}\nspec: {hostname: h}\n", "t.yaml:3:7: document 1: spec.addr: is required"),
        (
            "kind: linux_desktop\nmetadata:\n  name: d\n  labels: {env: [prod]}\nspec: {addr: a}\n",
            "t.yaml:4:17: document 1: metadata.labels.env: expected a string, found a list",
        ),
        (
            "kind: windows_desktop\nmetadata:\n  name: d\n  labels: {teleport.dev/origin: [config]}\nspec: {addr: a}\n",
            "t.yaml:4:33: document 1: metadata.labels.teleport.dev/origin: expected a string, found a list",
        ),
        (
            "kind: token\nmetadata: {name: 0123456789abcdef}\nspec:\n  roles: [Proxy]\n  one_time: maybe\n",
            "t.yaml:5:13: document 1: spec.one_time: expected true or false, found \"maybe\"",
        ),
        (
            "kind: session_recording_config\nspec:\n  mode: always\n",
            "t.yaml:3:9: document 1: spec.mode: unknown session recording mode \"always\", expected off, node, node-sync, proxy or proxy-sync",
        ),
        (
            "kind: cluster_networking_config\nspec:\n  client_idle_timeout: 30\n",
            "t.yaml:3:24: document 1: spec.client_idle_timeout: expected a duration such as \"30m\" or \"1h30m\", found an integer",
        ),
        (
            "kind: cluster_networking_config\nspec:\n  desktop_lossy: 0\n",
            "t.yaml:3:18: document 1: spec.desktop_lossy: expected true or false, found an integer",
        ),
        (
            "kind: cluster_networking_config\nspec:\n  desktop_lossy: sometimes\n",
            "t.yaml:3:18: document 1: spec.desktop_lossy: expected true or false, found \"sometimes\"",
        ),
        (
            "kind: cluster_networking_config\nspec:\n  client_idle_timeout: 1y\n",
            "t.yaml:3:24: document 1: spec.client_idle_timeout: unknown unit \"y\" in duration \"1y\"",
        ),
        (
            "kind: linux_desktop_service\nmetadata: {name: x}\n",
            "t.yaml:1:7: document 1: kind: a linux_desktop_service registers itself with its heartbeat and cannot be created",
        ),
        (
            "kind: role\nversion: v7\nmetadata: {name: dev}\nspec:\n  allow:\n    linux_desktop_labels:\n      env: 5\n",
            "t.yaml:7:12: document 1: spec.allow.linux_desktop_labels.env: expected a string or a list of strings, found an integer",
        ),
        (
            "kind: role\nversion: v7\nmetadata: {name: dev}\n---\nkind: role\nversion: v7\nmetadata: {name: dev}\n",
            "t.yaml:5:1: document 2: role \"dev\" is also in document 1",
        ),
        ("kind: cluster_networking_config\n---\nkind: cluster_networking_config\n", "t.yaml:3:1: document 2: cluster_networking_config is also in document 1"),
        ("kind: user\nmetadata: {name: a}\n  bad: indent\n", "t.yaml:3:3: while parsing a block mapping, did not find expected key"),
    ];
    let mismatches: Vec<String> = cases
        .iter()
        .filter(|(text, expected)| error(text) != *expected)
        .map(|(text, expected)| format!("{text:?}\n  got:      {}\n  expected: {expected}", error(text)))
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn a_token_flag_reads_teleports_boolean_words() {
    for (word, one_time) in [("yes", true), ("On", true), ("'1'", true), ("no", false), ("OFF", false), ("false", false)] {
        let Resource::Token(token) = one(&format!("kind: token\nmetadata: {{name: {SECRET}}}\nspec:\n  roles: [Proxy]\n  one_time: {word}\n")) else {
            panic!()
        };
        assert_eq!(token.one_time, one_time, "{word}");
    }
}

#[test]
fn a_token_error_never_repeats_the_secret() {
    let secret = "sekrit";
    let err = error(&format!("kind: token\nmetadata: {{name: {secret}}}\nspec: {{roles: [LinuxDesktop]}}\n"));
    assert!(!err.contains(secret), "{err}");
}

#[test]
fn a_lock_may_say_node_or_server_id_but_not_two_servers() {
    let err = error("kind: lock\nmetadata: {name: l}\nspec:\n  target: {server_id: a, node: b}\n");
    assert_eq!(err, "t.yaml:4:32: document 1: spec.target.node: node and server_id name different servers");
    let Resource::Lock(lock) = one("kind: lock\nmetadata: {name: l}\nspec:\n  target: {server_id: a, node: a}\n") else { panic!() };
    assert_eq!(lock.target.server_id.as_deref(), Some("a"));
}

#[test]
fn empty_documents_are_skipped_and_json_loads_too() {
    let docs = parse_resources("t.yaml", "---\n---\nkind: cluster_networking_config\n---\n").unwrap();
    assert_eq!(docs.len(), 1);
    let json = r#"{"kind": "user", "version": "v2", "metadata": {"name": "bob"}, "spec": {"roles": ["access"]}}"#;
    let Resource::User(user) = one(json) else { panic!() };
    assert_eq!(user.roles, ["access"]);
}
