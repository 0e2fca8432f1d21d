//! Single sign-on against a real OpenID Connect provider (`oidc-provider`
//! from npm, `scripts/oidc-test-provider`, started on loopback per test with
//! pages off: it logs in the account named by `login_hint`), over real
//! SQLite: the user made from the claims, its roles and traits, and the
//! refusals: no role mapped, an unverified email, a wrong or replayed state, another browser's
//! callback, a tampered nonce, a code used twice or expired, a local user's
//! name.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::audit::EventType;
use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::resources::oidc_connector::OidcConnector;
use oriel_auth::resources::sso_mapping::ClaimMapping;
use oriel_auth::sso::SsoError;
use oriel_auth::store::{EventQuery, Store};
use oriel_backend::{FakeClock, Options, SqliteBackend};

const ADDR: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Never reached: the test reads the provider's redirect to it.
const REDIRECT: &str = "https://oriel.test/api/sso/oidc/callback";
const ROLES: &str = "kind: role
version: v7
metadata:
  name: sso-access
spec:
  allow:
    linux_desktop_logins: ['{{external.linux_logins}}']
    linux_desktop_labels:
      '*': '*'
";

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider(code_ttl_seconds: u32) -> Provider {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/oidc-test-provider/provider.mjs");
    let clients = serde_json::json!([{ "client_id": "oriel", "client_secret": "oriel-test-secret", "redirect_uris": [REDIRECT] }]);
    let accounts = serde_json::json!({
        "alice": { "email": "alice@example.test", "email_verified": true, "preferred_username": "alice", "groups": ["admins", "env-dev"], "linux_logins": ["alice", "ops"] },
        "mallory": { "email": "mallory@example.test", "groups": ["guests"] },
        "root": { "email": "root@example.test", "groups": ["admins"] },
        "eve": { "email": "eve@example.test", "email_verified": false, "groups": ["admins"] },
    });
    let mut child = Command::new("node")
        .arg(script)
        .env("OIDC_CLIENTS", clients.to_string())
        .env("OIDC_ACCOUNTS", accounts.to_string())
        .env("OIDC_AUTO_LOGIN", "1")
        .env("OIDC_CODE_TTL", code_ttl_seconds.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs scripts/oidc-test-provider (scripts/install-deps installs it)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let started: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("the provider did not start ({e}): {line:?}"));
    Provider { child, issuer: started["issuer"].as_str().unwrap().to_owned() }
}

fn connector(issuer: &str) -> OidcConnector {
    OidcConnector {
        name: "testidp".into(),
        display: Some("Test IdP".into()),
        issuer_url: issuer.into(),
        client_id: "oriel".into(),
        client_secret: "oriel-test-secret".into(),
        redirect_url: REDIRECT.into(),
        scope: vec!["email".into(), "profile".into(), "groups".into()],
        username_claim: "email".into(),
        claims_to_roles: vec![ClaimMapping { claim: "groups".into(), value: "admins".into(), roles: vec!["sso-access".into()] }],
    }
}

async fn plane(issuer: &str) -> (ControlPlane, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(SystemTime::now()));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), clock);
    plane.create_roles(&oriel_rbac::parse_roles("roles.yaml", ROLES).unwrap(), false).await.unwrap();
    plane.store().put_oidc_connector(&connector(issuer), false).await.unwrap();
    (plane, dir)
}

/// What the provider sends the browser back with.
struct Callback {
    state: String,
    code: String,
}

/// Follows the provider's redirects for `account` (its own cookies kept,
/// as a browser would) until it sends the browser back to Oriel.
async fn at_provider(authorization_url: &str, account: &str) -> Callback {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut url = reqwest::Url::parse(authorization_url).unwrap();
    url.query_pairs_mut().append_pair("login_hint", account);
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    for _ in 0..10 {
        let jar: Vec<String> = cookies.iter().map(|(name, value)| format!("{name}={value}")).collect();
        let response = http.get(url.clone()).header("cookie", jar.join("; ")).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            cookies.insert(name.to_owned(), value.to_owned());
        }
        let location = response.headers().get("location").unwrap_or_else(|| panic!("no redirect from {url}: {}", response.status())).to_str().unwrap();
        url = url.join(location).unwrap();
        if url.as_str().starts_with(REDIRECT) {
            let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            return Callback { state: query["state"].clone(), code: query.get("code").cloned().unwrap_or_else(|| panic!("no code: {url}")) };
        }
    }
    panic!("the provider never sent the browser back");
}

#[tokio::test]
async fn a_login_through_the_provider_makes_the_user_from_its_claims() {
    let provider = provider(60);
    let (plane, _dir) = plane(&provider.issuer).await;
    let connectors = plane.sso_connectors().await.unwrap();
    assert_eq!((connectors.len(), connectors[0].display.as_str()), (1, "Test IdP"));

    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    assert!(begun.url.starts_with(&provider.issuer), "{}", begun.url);
    assert!(begun.url.contains("code_challenge_method=S256") && begun.url.contains("nonce="), "PKCE and a nonce: {}", begun.url);
    let back = at_provider(&begun.url, "alice").await;
    let session = plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap();
    assert_eq!(session.user, "alice@example.test");

    let user = plane.session_user(&session.secret).await.unwrap().user;
    assert_eq!(user.roles, ["sso-access"]);
    assert_eq!(user.traits.get("linux_logins").unwrap(), ["alice", "ops"], "claims are traits: {{{{external.linux_logins}}}}");
    assert_eq!(user.traits.get("groups").unwrap(), ["admins", "env-dev"]);
    let origin = user.sso.as_ref().unwrap();
    assert_eq!((origin.kind.as_str(), origin.connector.as_str(), origin.subject.as_str()), ("oidc", "testidp", "alice"));
    assert!(user.credentials.is_none(), "no password");
    let allowed = plane.access_check("alice@example.test", oriel_rbac::DesktopKind::Linux, "nowhere", "ops").await;
    assert!(allowed.is_err(), "no such desktop, but the user and roles resolve");

    // The callback answers once.
    let again = plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap_err();
    assert!(matches!(again, SsoError::UnknownLogin), "{again}");
    // A second login finds the same user, unchanged.
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let back = at_provider(&begun.url, "alice").await;
    plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap();
    assert_eq!(plane.store().user("alice@example.test").await.unwrap().value.id, user.id);
    assert!(plane.session_user(&session.secret).await.is_some(), "the same roles and traits: the first session stays");

    // The mapping changes: the next login brings other roles, and the web
    // sessions made with the old ones end.
    let mut remapped = connector(&provider.issuer);
    remapped.claims_to_roles.push(ClaimMapping { claim: "groups".into(), value: "^env-(.*)$".into(), roles: vec!["$1-access".into()] });
    plane.store().put_oidc_connector(&remapped, true).await.unwrap();
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let back = at_provider(&begun.url, "alice").await;
    let newer = plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap();
    assert_eq!(plane.session_user(&newer.secret).await.unwrap().user.roles, ["sso-access", "dev-access"]);
    assert!(plane.session_user(&session.secret).await.is_none(), "the session with the old roles ended");

    let logins = plane.events(&EventQuery::default()).await.unwrap().unwrap().events;
    let oidc: Vec<_> = logins.iter().filter(|e| e.event == EventType::UserLogin && e.fields.get("method").and_then(|m| m.as_str()) == Some("oidc")).collect();
    assert_eq!(oidc.len(), 4, "three logins and the replay: {oidc:?}");
    assert!(oidc.iter().filter(|e| e.success).all(|e| e.user == "alice@example.test"));
}

#[tokio::test]
async fn claims_mapping_no_role_and_local_names_are_refused_and_make_no_user() {
    let provider = provider(60);
    let (plane, _dir) = plane(&provider.issuer).await;
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let back = at_provider(&begun.url, "mallory").await;
    let refused = plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap_err();
    assert_eq!(refused.to_string(), "your identity provider's claims give no Oriel role (claims_to_roles of connector \"testidp\")");
    assert!(plane.store().user("mallory@example.test").await.is_err(), "no user made");
    let events = plane.events(&EventQuery::default()).await.unwrap().unwrap().events;
    assert!(events.iter().any(|e| e.event == EventType::UserLogin && !e.success && e.user == "mallory@example.test"), "{events:?}");

    // A local user's name is never taken over.
    plane.add_user(&UserSpec { name: "root@example.test".into(), roles: vec!["sso-access".into()], ..Default::default() }).await.unwrap();
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let back = at_provider(&begun.url, "root").await;
    let taken = plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap_err();
    assert!(matches!(taken, SsoError::NameTaken(_)), "{taken}");
    assert!(plane.store().user("root@example.test").await.unwrap().value.sso.is_none());

    // An address the provider has not verified names nobody.
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let back = at_provider(&begun.url, "eve").await;
    let unverified = plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap_err();
    assert!(unverified.to_string().contains("not verified your email address"), "{unverified}");
    assert!(plane.store().user("eve@example.test").await.is_err());

    // An unknown connector.
    assert!(matches!(plane.begin_oidc_login("nope", ADDR).await.unwrap_err(), SsoError::UnknownConnector(_)));
}

#[tokio::test]
async fn wrong_state_another_browser_another_login_a_tampered_nonce_and_an_expired_code_log_nobody_in() {
    let provider = provider(1);
    let (plane, _dir) = plane(&provider.issuer).await;

    // A state nobody began.
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let back = at_provider(&begun.url, "alice").await;
    // Its last character changed (to another one: a state may end in 0).
    let last = if back.state.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{last}", &back.state[..back.state.len() - 1]);
    assert!(matches!(plane.finish_oidc_login(&tampered, &back.code, Some(&begun.binding), ADDR).await, Err(SsoError::UnknownLogin)));
    // The right state from a browser without the binding cookie (a link
    // someone else made): refused, and the state is used up.
    assert!(matches!(plane.finish_oidc_login(&back.state, &back.code, None, ADDR).await, Err(SsoError::UnknownLogin)));
    assert!(matches!(plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await, Err(SsoError::UnknownLogin)));

    // One login's code sent with another login's state: its PKCE verifier
    // and nonce are not the code's.
    let first = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let second = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let first_back = at_provider(&first.url, "alice").await;
    let second_back = at_provider(&second.url, "alice").await;
    let crossed = plane.finish_oidc_login(&second_back.state, &first_back.code, Some(&second.binding), ADDR).await.unwrap_err();
    assert!(matches!(crossed, SsoError::Refused(_)), "{crossed}");

    // A nonce changed on the way to the provider: the provider signs the
    // changed one into the ID token, which then is not this login's.
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let mut tampered = reqwest::Url::parse(&begun.url).unwrap();
    let query: Vec<(String, String)> = tampered
        .query_pairs()
        .map(|(name, value)| {
            let value = if name == "nonce" { format!("{value}x") } else { value.into_owned() };
            (name.into_owned(), value)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(query);
    let back = at_provider(tampered.as_str(), "alice").await;
    let nonce = plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap_err();
    assert!(nonce.to_string().contains("nonce"), "{nonce}");

    // A code past its lifetime (one second here).
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let back = at_provider(&begun.url, "alice").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let expired = plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap_err();
    assert!(matches!(expired, SsoError::Refused(_)), "{expired}");
    assert!(plane.store().user("alice@example.test").await.is_err(), "nobody was logged in");
}

#[tokio::test]
async fn the_cluster_can_make_single_sign_on_the_only_way_in() {
    let provider = provider(60);
    let (plane, _dir) = plane(&provider.issuer).await;
    let mut other = connector(&provider.issuer);
    other.name = "another".into();
    plane.store().put_oidc_connector(&other, false).await.unwrap();
    let names = |connectors: Vec<oriel_auth::sso::SsoConnector>| connectors.into_iter().map(|c| c.name).collect::<Vec<_>>();
    assert_eq!(names(plane.sso_connectors().await.unwrap()), ["another", "testidp"]);

    let yaml = "kind: cluster_auth_preference\nspec:\n  type: oidc\n  connector_name: testidp\n  allow_local_auth: false\n";
    let resources = oriel_auth::resources::yaml::parse_resources("cap.yaml", yaml).unwrap();
    let oriel_auth::resources::yaml::Resource::AuthPreference(preference) = &resources[0].resource else { panic!("{resources:?}") };
    plane.store().put_auth_preference(preference).await.unwrap();
    assert_eq!(names(plane.sso_connectors().await.unwrap()), ["testidp", "another"], "the cluster's connector first");
    let local = plane.login("anyone", "a password", "123456", ADDR).await.unwrap_err();
    assert_eq!(local.to_string(), "logins with a password are turned off in this cluster; sign in with single sign-on");
    // Single sign-on still logs people in.
    let begun = plane.begin_oidc_login("testidp", ADDR).await.unwrap();
    let back = at_provider(&begun.url, "alice").await;
    plane.finish_oidc_login(&back.state, &back.code, Some(&begun.binding), ADDR).await.unwrap();
}
