//! `create -f` end to end over real SQLite: every kind is stored, written
//! back in a shape that loads again, refused whole when one document is
//! wrong, and the cluster settings change what a session is granted.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::control_plane::{ControlError, ControlPlane};
use oriel_auth::create::Created;
use oriel_auth::password::PasswordHashString;
use oriel_auth::resources::desktop_service::DesktopService;
use oriel_auth::resources::user::Credentials;
use oriel_auth::resources::yaml::{Resource, ToDocument, parse_resources, to_yaml};
use oriel_auth::second_factor::TotpDevice;
use oriel_auth::store::{DesktopRecord, EventQuery, StoreError};
use oriel_backend::{FakeClock, Options, SqliteBackend};
use oriel_rbac::{DesktopKind, RecordingMode};

const T0: Duration = Duration::from_secs(1_790_000_000);

async fn plane() -> (ControlPlane, Arc<FakeClock>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + T0));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await.unwrap();
    (ControlPlane::new(oriel_auth::store::Store::new(Arc::new(backend)), clock.clone()), clock, dir)
}

async fn create(plane: &ControlPlane, text: &str, force: bool) -> Result<Vec<Created>, ControlError> {
    let docs = parse_resources("file.yaml", text).unwrap_or_else(|e| panic!("{e}"));
    plane.create_resources(&docs, force).await
}

const SECRET: &str = "a-join-token-of-some-length";

/// One document of every kind; the user names the role defined after it.
fn everything() -> String {
    format!(
        "kind: user
version: v2
metadata: {{name: alice}}
spec:
  roles: [dev]
  traits:
    linux_logins: [alice]
---
kind: role
version: v7
metadata: {{name: dev}}
spec:
  options:
    client_idle_timeout: 1h
  allow:
    linux_desktop_logins: ['{{{{internal.linux_logins}}}}']
    linux_desktop_labels: {{env: dev}}
---
kind: lock
version: v2
metadata: {{name: incident-7}}
spec:
  target: {{login: root}}
  message: no root today
  expires: 2027-01-01T00:00:00Z
---
kind: token
version: v2
metadata:
  name: {SECRET}
  expires: 2027-01-01T00:00:00Z
spec:
  roles: [LinuxDesktop]
  join_method: token
---
kind: linux_desktop
version: v1
metadata:
  name: d-dev
  labels: {{env: dev}}
spec: {{addr: '127.0.0.1:3029', hostname: build-1}}
---
kind: session_recording_config
version: v2
spec: {{mode: node-sync}}
---
kind: cluster_networking_config
version: v2
spec: {{client_idle_timeout: 30m, desktop_lossy: false}}
---
kind: cluster_auth_preference
version: v2
metadata:
  name: cluster-auth-preference
spec:
  type: local
  second_factor: otp
  webauthn: {{rp_id: example.com}}
  require_session_mfa: yes
"
    )
}

/// Every resource as `orielctl get KIND/NAME --format yaml` would write it.
async fn written_back(plane: &ControlPlane) -> Vec<Resource> {
    let store = plane.store();
    let mut user = store.user("alice").await.unwrap().value;
    user.credentials = None;
    vec![
        Resource::User(user),
        Resource::Role(store.role("dev").await.unwrap()),
        Resource::Lock(store.lock("incident-7").await.unwrap()),
        Resource::SessionRecordingConfig(store.session_recording_config().await.unwrap()),
        Resource::ClusterNetworkingConfig(store.cluster_networking_config().await.unwrap()),
        Resource::AuthPreference(store.auth_preference().await.unwrap()),
        Resource::Desktop(store.desktop(DesktopKind::Linux, "d-dev").await.unwrap()),
    ]
}

#[tokio::test]
async fn every_kind_is_created_and_written_back_in_a_shape_that_loads_again() {
    let (plane, _clock, _dir) = plane().await;
    let created = create(&plane, &everything(), false).await.unwrap();
    let summary: Vec<_> = created.iter().map(|c| (c.index, c.kind, c.name.as_str(), c.replaced)).collect();
    let hash = oriel_auth::bearer::hash(SECRET);
    assert_eq!(
        summary,
        [
            (1, "user", "alice", false),
            (2, "role", "dev", false),
            (3, "lock", "incident-7", false),
            (4, "token", &hash[..16], false),
            (5, "linux_desktop", "d-dev", false),
            (6, "session_recording_config", "session_recording_config", false),
            (7, "cluster_networking_config", "cluster_networking_config", false),
            (8, "cluster_auth_preference", "cluster_auth_preference", false),
        ]
    );
    // The cluster's preference is in every decision: per-session MFA for all.
    let preference = plane.store().auth_preference().await.unwrap();
    assert_eq!((preference.second_factor.as_str(), preference.webauthn_rp_id.as_deref()), ("otp", Some("example.com")));
    assert!(plane.cluster_policy().await.unwrap().require_session_mfa);
    assert!(plane.cluster_policy().await.unwrap().forbid_lossy, "desktop_lossy: false is stored");
    let invite = created[0].invite.as_ref().expect("a new user is invited");
    assert_eq!(plane.store().invite(&oriel_auth::bearer::hash(&invite.secret)).await.unwrap().value.user, "alice");
    assert!(plane.store().user("alice").await.unwrap().value.credentials.is_none());
    let token = plane.store().token(&hash).await.unwrap().value;
    assert!(!token.one_time, "a token from a file works until it expires, as in Teleport");

    // Written back, each loads again into the same resource.
    let mut resources = written_back(&plane).await;
    resources.push(parse_resources("t", &to_yaml(&[token.to_document()])).unwrap().remove(0).resource);
    for resource in &resources {
        let text = to_yaml(&[resource.to_document()]);
        let read = parse_resources("get.yaml", &text).unwrap().remove(0).resource;
        // A user's id is the store's, never a file's: YAML does not carry it.
        let expected = match resource {
            Resource::User(user) => Resource::User(oriel_auth::resources::user::User { id: String::new(), ..user.clone() }),
            other => other.clone(),
        };
        assert_eq!(read, expected, "{text}");
    }
    // …and the whole stream goes back in with --force, changing nothing.
    let stream = to_yaml(&resources.iter().map(Resource::to_document).collect::<Vec<_>>());
    let again = create(&plane, &stream, true).await.unwrap();
    assert!(again.iter().filter(|c| !c.singleton).all(|c| c.replaced && c.invite.is_none()), "{again:?}");
    let kinds = written_back(&plane).await.len();
    assert_eq!(written_back(&plane).await, resources[..kinds], "the user keeps their id");
    assert_eq!(plane.store().token(&hash).await.unwrap().value, token, "restored from its hash");
}

#[tokio::test]
async fn a_duplicate_without_force_writes_nothing_and_force_keeps_credentials() {
    let (plane, _clock, _dir) = plane().await;
    create(&plane, &everything(), false).await.unwrap();
    let read = plane.store().user("alice").await.unwrap();
    let mut enrolled = read.value.clone();
    enrolled.credentials = Some(Credentials::with_totp(PasswordHashString::new("a long enough password").unwrap(), TotpDevice::generate().unwrap()));
    plane.store().swap_user(&enrolled, read.revision).await.unwrap();

    let file = "kind: role\nversion: v7\nmetadata: {name: ops}\n---\nkind: user\nmetadata: {name: alice}\nspec: {roles: [ops]}\n";
    let err = create(&plane, file, false).await.unwrap_err();
    assert_eq!(err.to_string(), "document 2: user \"alice\" already exists (use --force to overwrite)");
    assert!(matches!(err, ControlError::InDocument { index: 2, ref error } if matches!(**error, ControlError::Store(StoreError::AlreadyExists { .. }))));
    assert!(plane.store().role("ops").await.is_err(), "the valid role before it was not written either");

    let replaced = create(&plane, file, true).await.unwrap();
    assert!(replaced[1].replaced && replaced[1].invite.is_none());
    let alice = plane.store().user("alice").await.unwrap().value;
    assert_eq!(alice.roles, ["ops"]);
    assert!(alice.traits.as_map().is_empty(), "the file's traits replace the old ones");
    assert_eq!(alice.credentials, enrolled.credentials, "replacing a user keeps the password and second factor");
}

#[tokio::test]
async fn unknown_roles_and_past_expiry_are_refused_before_any_write() {
    let (plane, _clock, _dir) = plane().await;
    let err = create(
        &plane,
        "kind: cluster_networking_config\nspec: {client_idle_timeout: 5m}\n---\nkind: user\nmetadata: {name: bob}\nspec: {roles: [admin]}\n",
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "document 2: role \"admin\" not found (create it first with `orielctl create -f ROLE.yaml`)");
    assert_eq!(plane.store().cluster_networking_config().await.unwrap().client_idle_timeout, None, "nothing written");

    let err = create(&plane, "kind: lock\nmetadata: {name: old}\nspec:\n  target: {user: bob}\n  expires: 2020-01-01T00:00:00Z\n", false).await.unwrap_err();
    assert_eq!(err.to_string(), "document 1: it expires at 2020-01-01T00:00:00Z, which has passed");
    assert!(plane.store().locks().await.unwrap().is_empty());
}

fn oidc(secret: &str) -> String {
    format!(
        "kind: oidc
version: v3
metadata: {{name: corp}}
spec:
  issuer_url: https://idp.example.com
  client_id: oriel
  client_secret: {secret}
  redirect_url: https://oriel.example.com/api/sso/oidc/callback
  claims_to_roles: [{{claim: groups, value: admins, roles: [dev]}}]
"
    )
}

#[tokio::test]
async fn an_oidc_connector_is_created_with_the_rest_replaced_with_force_and_audited() {
    let (plane, _clock, _dir) = plane().await;
    let plane = plane.acting_as("admin@ops");
    // All or nothing: a user naming a missing role stops the connector too.
    let file = format!("{}---\nkind: user\nmetadata: {{name: bob}}\nspec: {{roles: [admin]}}\n", oidc("first-secret"));
    let err = create(&plane, &file, false).await.unwrap_err();
    assert_eq!(err.to_string(), "document 2: role \"admin\" not found (create it first with `orielctl create -f ROLE.yaml`)");
    assert!(plane.store().oidc_connectors().await.unwrap().is_empty(), "nothing written");

    let created = create(&plane, &oidc("first-secret"), false).await.unwrap();
    assert_eq!((created[0].kind, created[0].name.as_str(), created[0].replaced, created[0].singleton), ("oidc", "corp", false, false));
    assert_eq!(plane.store().oidc_connector("corp").await.unwrap().client_secret, "first-secret");

    let err = create(&plane, &oidc("second-secret"), false).await.unwrap_err();
    assert_eq!(err.to_string(), "document 1: oidc \"corp\" already exists (use --force to overwrite)");
    assert_eq!(plane.store().oidc_connector("corp").await.unwrap().client_secret, "first-secret");
    assert!(create(&plane, &oidc("second-secret"), true).await.unwrap()[0].replaced);
    assert_eq!(plane.store().oidc_connector("corp").await.unwrap().client_secret, "second-secret");

    // Written back, it loads only once the real secret replaces the placeholder.
    let written = to_yaml(&[plane.store().oidc_connector("corp").await.unwrap().to_document()]);
    assert!(!written.contains("second-secret"), "{written}");
    let refused = parse_resources("get.yaml", &written).unwrap_err().to_string();
    assert!(refused.ends_with("spec.client_secret: the placeholder `get` prints is not a secret; write the real one"), "{refused}");

    plane.remove_oidc_connector("corp").await.unwrap();
    assert!(matches!(plane.remove_oidc_connector("corp").await, Err(ControlError::Store(StoreError::NotFound { .. }))));
    let query = EventQuery { user: Some("admin@ops".into()), oldest_first: true, ..Default::default() };
    let events = plane.events(&query).await.unwrap().unwrap().events;
    let seen: Vec<_> = events.iter().map(|e| (e.event.name(), e.code(), e.text("name").unwrap_or_default())).collect();
    assert_eq!(seen, [("oidc.created", "T8100I", "corp"), ("oidc.created", "T8100I", "corp"), ("oidc.deleted", "T8101I", "corp")]);
    let json = serde_json::to_string(&events.iter().map(|e| e.to_json()).collect::<Vec<_>>()).unwrap();
    assert!(!json.contains("first-secret") && !json.contains("second-secret"), "no secret in events: {json}");
}

#[tokio::test]
async fn a_token_without_expiry_lasts_thirty_minutes() {
    let (plane, _clock, _dir) = plane().await;
    create(&plane, &format!("kind: token\nmetadata: {{name: {SECRET}}}\nspec: {{roles: [linux_desktop]}}\n"), false).await.unwrap();
    let token = plane.store().token(&oriel_auth::bearer::hash(SECRET)).await.unwrap().value;
    assert_eq!(token.expires, SystemTime::UNIX_EPOCH + T0 + oriel_auth::create::DEFAULT_TOKEN_TTL);
    let err = create(&plane, &format!("kind: token\nmetadata: {{name: {SECRET}}}\nspec: {{roles: [Proxy]}}\n"), false).await.unwrap_err();
    assert!(!err.to_string().contains(SECRET), "the secret is not echoed: {err}");
}

const RECORDING_ROLE: &str = "kind: role
version: v7
metadata: {name: dev}
spec:
  options:
    client_idle_timeout: 1h
    record_session: {desktop: true}
  allow:
    linux_desktop_logins: [alice]
    linux_desktop_labels: {'*': '*'}
---
kind: user
metadata: {name: alice}
spec: {roles: [dev]}
---
kind: linux_desktop
metadata: {name: d1}
spec: {addr: in-process}
";

#[tokio::test]
async fn cluster_settings_shape_every_grant() {
    let (plane, clock, _dir) = plane().await;
    create(&plane, RECORDING_ROLE, false).await.unwrap();
    let identity =
        oriel_auth::ca::UserIdentity { user: "alice".into(), user_id: plane.store().user("alice").await.ok().map(|u| u.value.id), ..Default::default() };
    let cert = plane.cert_authority().await.unwrap().issue_user(&identity, Duration::from_secs(3600), oriel_backend::Clock::now(&*clock)).unwrap();
    let grant = || async { plane.authorize_certificate(&cert.cert_der, DesktopKind::Linux, "d1", "alice").await.unwrap() };

    // Defaults: recorded (mode node), the role's idle timeout.
    let g = grant().await;
    assert!(g.options().record);
    assert_eq!(g.recording_mode(), RecordingMode::Node);
    assert_eq!(g.options().idle_timeout, Some(Duration::from_secs(3600)));
    assert!(g.options().lossy);

    let cases =
        [("off", "30m", false, Some(1800)), ("proxy-sync", "2h", true, Some(3600)), ("node", "0", true, Some(3600)), ("node-sync", "never", true, Some(3600))];
    for (mode, timeout, record, idle) in cases {
        let settings = format!(
            "kind: session_recording_config\nspec: {{mode: {mode}}}\n---\nkind: cluster_networking_config\nspec: {{client_idle_timeout: '{timeout}'}}\n"
        );
        create(&plane, &settings, false).await.expect("singletons are replaced without --force");
        let g = grant().await;
        assert_eq!(g.options().record, record, "mode {mode}: recording off overrides every role");
        assert_eq!(g.recording_mode().as_str(), mode);
        assert_eq!(g.options().idle_timeout, idle.map(Duration::from_secs), "cluster {timeout}, role 1h: the smallest non-zero wins");
        let policy = plane.cluster_policy().await.unwrap();
        assert_eq!(policy.recording_mode.as_str(), mode);
        assert!(g.options().lossy, "lossy video stays allowed while the cluster does not say otherwise");
    }

    // The role leaves lossy video on (the default); the cluster alone forbids it.
    create(&plane, "kind: cluster_networking_config\nspec: {desktop_lossy: false}\n", false).await.unwrap();
    assert!(!grant().await.options().lossy);

    plane.store().reset_session_recording_config().await.unwrap();
    plane.store().reset_cluster_networking_config().await.unwrap();
    plane.store().reset_cluster_networking_config().await.expect("resetting twice is fine");
    assert_eq!(plane.cluster_policy().await.unwrap(), oriel_rbac::ClusterPolicy::default());
    assert!(grant().await.options().record);
    assert!(grant().await.options().lossy, "reset, the cluster allows lossy video again");
}

#[tokio::test]
async fn desktop_services_are_listed_until_their_heartbeat_stops() {
    let (plane, clock, _dir) = plane().await;
    let service = DesktopService {
        kind: DesktopKind::Linux,
        name: "0b7c2a8e-5b1f-4b7e-9d0a-3f1e2d4c5b6a".into(),
        hostname: "build-1".into(),
        addr: "in-process".into(),
        version: "0.1.0".into(),
        expires: Some(SystemTime::UNIX_EPOCH + T0 + Duration::from_secs(300)),
    };
    let store = plane.store();
    store.put_desktop_service(&service).await.unwrap();
    assert_eq!(store.desktop_services(DesktopKind::Linux).await.unwrap(), std::slice::from_ref(&service));
    assert!(store.desktop_services(DesktopKind::Windows).await.unwrap().is_empty());
    assert_eq!(store.desktop_service(DesktopKind::Linux, &service.name).await.unwrap(), service);
    let text = to_yaml(&[service.to_document()]);
    assert!(text.contains("kind: linux_desktop_service") && text.contains("version: 0.1.0"), "{text}");
    clock.advance(Duration::from_secs(301));
    assert!(store.desktop_services(DesktopKind::Linux).await.unwrap().is_empty(), "no heartbeat, no listing");
    let service = DesktopService { expires: Some(SystemTime::UNIX_EPOCH + T0 + Duration::from_secs(600)), ..service };
    store.put_desktop_service(&service).await.unwrap();
    store.delete_desktop_service(DesktopKind::Linux, &service.name).await.unwrap();
    assert!(matches!(store.desktop_service(DesktopKind::Linux, &service.name).await, Err(StoreError::NotFound { .. })));

    // A desktop created by hand needs --force over a heartbeated one.
    let desktop = DesktopRecord {
        kind: DesktopKind::Linux,
        name: "d1".into(),
        hostname: "h".into(),
        addr: "a".into(),
        labels: Default::default(),
        expires: None,
        host_id: None,
    };
    store.put_desktop(&desktop).await.unwrap();
    assert!(matches!(store.create_desktop(&desktop, false).await, Err(StoreError::AlreadyExists { .. })));
    store.create_desktop(&desktop, true).await.unwrap();
}
