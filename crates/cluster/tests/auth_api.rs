//! The cluster API as oriel serves it (next to the admin API, one mutual
//! TLS port, over a control plane on SQLite), called as a desktop service
//! on another host calls it: joining with a token and a CA pin,
//! heartbeats, renewal and session decisions, callers that are not
//! desktop services, and the auth service going away and coming back.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oriel_auth::ca::{HostIdentity, HostRole};
use oriel_auth::connections::ConnectionLimits;
use oriel_auth::control_plane::{AccessDenied, ControlPlane};
use oriel_auth::resources::join_token::{JoinRole, TokenError};
use oriel_backend::FakeClock;
use oriel_cluster::join::{CaTrust, JoinFailure, join};
use oriel_cluster::proto::DesktopHeartbeat;
use oriel_cluster::remote_auth::RemoteAuth;
use oriel_cluster::{HostCredentials, LiveIdentity};
use oriel_linux_desktop::{AuthorityError, SessionAuthority as _};
use oriel_rbac::DesktopKind;
use oriel_recorder::RecordingDestination as _;
use support::{Cluster, PATIENCE};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const HOUR: Duration = Duration::from_secs(3600);

/// Trust in this cluster's CA, as `ca_pin` gives it.
fn pinned(cluster: &Cluster) -> CaTrust {
    CaTrust::Pinned(oriel_auth::ca::ca_pin(cluster.ca.host_ca_pem()).unwrap())
}

/// The auth service's API, served as `oriel start` serves it.
struct AuthService {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), oriel_admin::server::ServeError>>,
}

impl AuthService {
    async fn start(plane: &ControlPlane) -> Self {
        Self::serve(plane, TcpListener::bind("127.0.0.1:0").await.unwrap(), ConnectionLimits::default()).await
    }

    async fn serve(plane: &ControlPlane, listener: TcpListener, limits: ConnectionLimits) -> Self {
        let addr = listener.local_addr().unwrap();
        let tls = oriel_admin::server::tls_config(plane).await.unwrap();
        let settings = oriel_admin::operations::Settings { proxy_url: "https://127.0.0.1:3080".into() };
        let (streams, _) = tokio::sync::watch::channel(());
        let routes = tonic::service::Routes::new(oriel_admin::server::service(plane.clone(), settings))
            .add_service(oriel_cluster::auth_api::service(plane.clone(), streams.subscribe()));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(oriel_admin::server::serve(listener, limits, tls, routes, async move {
            let _ = stopped.await;
            drop(streams);
        }));
        Self { addr, stop, task }
    }

    fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Stops serving and waits until it has.
    async fn stop(self) -> SocketAddr {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.task).await.expect("the auth service stops").unwrap().unwrap();
        self.addr
    }
}

async fn token(plane: &ControlPlane, role: JoinRole) -> String {
    plane.add_token(role, HOUR, true).await.unwrap().0
}

fn refused(result: Result<HostCredentials, JoinFailure>) -> String {
    match result {
        Err(JoinFailure::Refused(message)) => message,
        other => panic!("expected the auth server to refuse the join, got {other:?}"),
    }
}

/// A desktop service's connection to the auth service, as `credentials`.
fn remote(auth: &AuthService, credentials: &HostCredentials) -> RemoteAuth {
    RemoteAuth::new(&auth.addr(), credentials, LiveIdentity::new(credentials).unwrap()).unwrap()
}

/// User `alice` (login `alice`), the auth service, and desktop `desk-1`
/// joined with a pinned CA and heartbeating through its `RemoteAuth`.
async fn heartbeating_desk(cluster: &Cluster) -> (AuthService, HostCredentials, RemoteAuth) {
    cluster.add_user("alice", "alice").await;
    let auth = AuthService::start(&cluster.plane).await;
    let secret = token(&cluster.plane, JoinRole::LinuxDesktop).await;
    let credentials = join(&auth.addr(), &secret, "desk-1", &pinned(cluster)).await.unwrap();
    let remote = remote(&auth, &credentials);
    remote.heartbeat(heartbeat()).await.unwrap();
    (auth, credentials, remote)
}

fn heartbeat() -> DesktopHeartbeat {
    DesktopHeartbeat {
        hostname: "desk-1.example.com".into(),
        addr: "10.0.0.7:3028".into(),
        labels: [("env".to_owned(), "test".to_owned())].into(),
        version: "0.1.0".into(),
        expires_after_ms: 60_000,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_token_joins_one_host_with_working_credentials() {
    let cluster = Cluster::new().await;
    let auth = AuthService::start(&cluster.plane).await;
    let secret = token(&cluster.plane, JoinRole::LinuxDesktop).await;

    let credentials = join(&auth.addr(), &secret, "desk-1", &pinned(&cluster)).await.unwrap();
    assert_eq!(credentials.host_ca_pem, cluster.host_ca());
    LiveIdentity::new(&credentials).expect("the certificate and key make a TLS identity");
    let expires = credentials.expires().expect("the certificate has an expiry");
    assert!(expires > SystemTime::now() + HOUR, "{expires:?}");
    let host = cluster.ca.verify_host(&credentials.cert_der().unwrap(), SystemTime::now()).unwrap();
    assert_eq!((host.host_id.as_str(), host.role), ("desk-1", HostRole::LinuxDesktop));
    // The auth service names the certificate, not the host.
    assert_eq!(host.dns_names, [oriel_auth::ca::desktop_server_name("desk-1")]);

    let again = join(&auth.addr(), &secret, "desk-2", &pinned(&cluster)).await;
    assert_eq!(refused(again), TokenError::Used.to_string());
    let unknown = join(&auth.addr(), "0123456789abcdef", "desk-3", &pinned(&cluster)).await;
    assert_eq!(refused(unknown), TokenError::Unknown.to_string());
    let proxy = token(&cluster.plane, JoinRole::Proxy).await;
    assert_eq!(refused(join(&auth.addr(), &proxy, "desk-4", &pinned(&cluster)).await), "the join token is for proxy, not linux_desktop");
    let failure = join(&auth.addr(), "0123456789abcdef", "desk-5", &pinned(&cluster)).await.unwrap_err();
    assert!(failure.to_string().starts_with("the auth server refused to join this host: the join token is not valid"), "{failure}");

    // A good token does not buy the id of a host that joined already (it
    // holds a live certificate), nor of a registered desktop.
    let fresh = token(&cluster.plane, JoinRole::LinuxDesktop).await;
    let taken = refused(join(&auth.addr(), &fresh, "desk-1", &pinned(&cluster)).await);
    assert!(taken.starts_with("host id \"desk-1\" is taken: a host holds a certificate for it"), "{taken}");
    let record = oriel_auth::store::DesktopRecord {
        kind: DesktopKind::Linux,
        name: "desk-6".into(),
        hostname: "h".into(),
        addr: "in-process".into(),
        labels: Default::default(),
        expires: None,
        host_id: None,
    };
    cluster.plane.store().put_desktop(&record).await.unwrap();
    let taken = refused(join(&auth.addr(), &fresh, "desk-6", &pinned(&cluster)).await);
    assert!(taken.starts_with("host id \"desk-6\" is taken: a linux desktop is registered under it"), "{taken}");
    join(&auth.addr(), &fresh, "desk-7", &pinned(&cluster)).await.expect("the refusals left the one-time token unused");
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused() {
    let clock = Arc::new(FakeClock::new(SystemTime::now()));
    let cluster = Cluster::with_clock(clock.clone()).await;
    let auth = AuthService::start(&cluster.plane).await;
    let (secret, _) = cluster.plane.add_token(JoinRole::LinuxDesktop, Duration::from_secs(60), true).await.unwrap();
    clock.advance(Duration::from_secs(120));
    let message = refused(join(&auth.addr(), &secret, "desk-1", &pinned(&cluster)).await);
    // Expired, or unknown once the store no longer lists it: both say so.
    assert!([TokenError::Expired.to_string(), TokenError::Unknown.to_string()].contains(&message), "{message}");
    assert!(message.contains("expired"), "{message}");
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_pin_decides_which_auth_server_a_host_trusts() {
    let cluster = Cluster::new().await;
    let auth = AuthService::start(&cluster.plane).await;
    let pin = oriel_auth::ca::ca_pin(cluster.ca.host_ca_pem()).unwrap();

    let secret = token(&cluster.plane, JoinRole::LinuxDesktop).await;
    let credentials = join(&auth.addr(), &secret, "desk-1", &CaTrust::Pinned(pin.clone())).await.expect("the right pin");
    assert_eq!(credentials.host_ca_pem, cluster.host_ca());

    let wrong = format!("sha256:{}", "0".repeat(64));
    let secret = token(&cluster.plane, JoinRole::LinuxDesktop).await;
    match join(&auth.addr(), &secret, "desk-2", &CaTrust::Pinned(wrong.clone())).await {
        Err(failure @ JoinFailure::Untrusted { .. }) => {
            let message = failure.to_string();
            assert!(message.starts_with(&format!("the auth server at {} is not trusted", auth.addr())), "{message}");
            assert!(message.contains(&format!("its CA's pin is {pin}, not the ca_pin {wrong}")), "{message}");
        }
        other => panic!("a wrong pin must not be trusted: {other:?}"),
    }
    // The pin is checked in the handshake, before the token is sent: the
    // token refused above was never shown to the server, so it still joins.
    join(&auth.addr(), &secret, "desk-2", &CaTrust::Pinned(pin.clone())).await.expect("the token a wrong pin kept back is unused");
    // Asked for explicitly, a host may trust the CA it meets first.
    let secret = token(&cluster.plane, JoinRole::LinuxDesktop).await;
    let credentials = join(&auth.addr(), &secret, "desk-3", &CaTrust::InsecureFirstUse).await.expect("first use");
    assert_eq!(credentials.host_ca_pem, cluster.host_ca());
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joined_desktop_service_heartbeats_renews_and_asks_for_decisions() {
    let cluster = Cluster::new().await;
    cluster.add_user("alice", "alice").await;
    let auth = AuthService::start(&cluster.plane).await;
    let secret = token(&cluster.plane, JoinRole::LinuxDesktop).await;
    let credentials = join(&auth.addr(), &secret, "desk-1", &pinned(&cluster)).await.unwrap();
    let identity = LiveIdentity::new(&credentials).unwrap();
    let remote = RemoteAuth::new(&auth.addr(), &credentials, identity.clone()).unwrap();

    // The heartbeat registers the desktop under the caller's own host id.
    remote.heartbeat(heartbeat()).await.unwrap();
    let desktop = cluster.plane.store().desktop(DesktopKind::Linux, "desk-1").await.expect("the desktop is registered");
    assert_eq!((desktop.hostname.as_str(), desktop.addr.as_str()), ("desk-1.example.com", "10.0.0.7:3028"));
    assert_eq!(desktop.labels.get("env").map(String::as_str), Some("test"));
    assert!(desktop.expires.is_some_and(|at| at > SystemTime::now()), "{:?}", desktop.expires);

    // A renewal is a fresh certificate for the same host, which then works.
    let renewed = remote.renew().await.unwrap();
    assert_ne!(renewed.cert_pem, credentials.cert_pem);
    assert!(renewed.expires().unwrap() >= credentials.expires().unwrap());
    let host = cluster.ca.verify_host(&renewed.cert_der().unwrap(), SystemTime::now()).unwrap();
    assert_eq!((host.host_id.as_str(), host.role), ("desk-1", HostRole::LinuxDesktop));
    identity.replace(&renewed).unwrap();
    remote.reconnect().unwrap();
    remote.heartbeat(heartbeat()).await.expect("a heartbeat with the renewed certificate");

    // A user the roles allow gets a grant.
    let user = cluster.user("alice").await;
    let grant = remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await.unwrap();
    assert_eq!((grant.user(), grant.login()), ("alice", "alice"));
    assert_eq!(grant.roles(), ["dev"]);
    assert_eq!(grant.certificate_expires(), Some(user.expires));
    assert_eq!((grant.desktop(), grant.desktop_kind()), ("desk-1", DesktopKind::Linux), "the grant names its desktop");
    assert!(!grant.options().session_mfa);
    assert_eq!(remote.lock_on(&grant).await.unwrap(), None);
    // The auth service decides for the caller's own desktop only (and the
    // service would not take a grant for another desktop than it asked).
    match remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-2", "alice").await {
        Err(AccessDenied::Decided(message)) => assert_eq!(message, "host \"desk-1\" does not serve linux desktop \"desk-2\""),
        other => panic!("desk-1 must not open a session on desk-2: {other:?}"),
    }
    // A login the roles do not allow is refused by the auth service's decision.
    match remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "root").await {
        Err(AccessDenied::Decided(message)) => assert!(message.starts_with("access denied"), "{message}"),
        other => panic!("root is not among alice's logins: {other:?}"),
    }
    // A host certificate does not pass for a user's.
    match remote.authorize(&credentials.cert_der().unwrap(), DesktopKind::Linux, "desk-1", "alice").await {
        Err(AccessDenied::Decided(message)) => assert!(message.contains("host") && message.contains("user"), "{message}"),
        other => panic!("a host certificate must not open a session: {other:?}"),
    }
    // The joined credentials carry the user CA, and the service checks the
    // certificate against it too: a service that trusts another user CA
    // refuses even what the auth service grants.
    assert_eq!(credentials.user_ca_pem, cluster.ca.user_ca_pem());
    let elsewhere = tempfile::tempdir().unwrap();
    let other = support::foreign_ca(elsewhere.path()).await;
    let mistrusting = HostCredentials { user_ca_pem: other.user_ca_pem().to_owned(), ..credentials.clone() };
    let mistrusting = RemoteAuth::new(&auth.addr(), &mistrusting, identity.clone()).unwrap();
    match mistrusting.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await {
        Err(AccessDenied::Certificate(error)) => assert!(error.to_string().contains("user CA"), "{error}"),
        other => panic!("a certificate this service's user CA did not sign must not open a session: {other:?}"),
    }
    auth.stop().await;
}

/// A Windows desktop's registration by its service (`desktop`, `windows`).
fn windows_heartbeat(desktop: &str, env: &str) -> DesktopHeartbeat {
    DesktopHeartbeat {
        hostname: format!("{desktop}.example.com"),
        addr: "10.0.0.9:3389".into(),
        labels: [("env".to_owned(), env.to_owned())].into(),
        version: "0.1.0".into(),
        expires_after_ms: 60_000,
        desktop_kind: "windows".into(),
        desktop: desktop.into(),
        service_addr: "10.0.0.8:3028".into(),
        removed: false,
        service_hostname: "gateway.example.com".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_windows_desktop_service_speaks_for_the_desktops_it_registers_only() {
    let cluster = Cluster::new().await;
    cluster.add_user("alice", "alice").await;
    let auth = AuthService::start(&cluster.plane).await;
    let joined = |host: &'static str| {
        let (plane, addr, trust) = (cluster.plane.clone(), auth.addr(), pinned(&cluster));
        async move {
            let secret = token(&plane, JoinRole::WindowsDesktop).await;
            oriel_cluster::join::join_as(&addr, &secret, host, JoinRole::WindowsDesktop, &trust).await.unwrap()
        }
    };
    let credentials = joined("w-svc").await;
    let host = cluster.ca.verify_host(&credentials.cert_der().unwrap(), SystemTime::now()).unwrap();
    assert_eq!((host.host_id.as_str(), host.role), ("w-svc", HostRole::WindowsDesktop));
    let remote = remote(&auth, &credentials);

    // It registers its desktops and itself; each record names it.
    remote.heartbeat(windows_heartbeat("win-1", "lab")).await.unwrap();
    remote.heartbeat(windows_heartbeat("win-2", "prod")).await.unwrap();
    let desktop = cluster.plane.store().desktop(DesktopKind::Windows, "win-1").await.expect("registered");
    assert_eq!((desktop.host_id.as_deref(), desktop.addr.as_str()), (Some("w-svc"), "10.0.0.9:3389"));
    let service = cluster.plane.store().desktop_service(DesktopKind::Windows, "w-svc").await.expect("the service is registered");
    assert_eq!((service.addr.as_str(), service.hostname.as_str()), ("10.0.0.8:3028", "gateway.example.com"), "where a proxy dials the service");
    // Its own Linux desktop is not something it has.
    let linux = remote.heartbeat(DesktopHeartbeat { desktop_kind: String::new(), ..windows_heartbeat("w-svc", "lab") }).await.unwrap_err();
    assert!(matches!(linux, AuthorityError::Refused(_)), "{linux:?}");

    // Decisions are for the desktop asked, by its labels.
    let user = cluster.user("alice").await;
    let grant = remote.authorize(&user.cert_der, DesktopKind::Windows, "win-1", "Administrator").await.unwrap();
    assert_eq!((grant.desktop(), grant.desktop_kind(), grant.session().server_id.as_str()), ("win-1", DesktopKind::Windows, "w-svc"));
    assert_eq!(remote.lock_on(&grant).await.unwrap(), None);
    assert_eq!(remote.still_allowed(&grant).await.unwrap(), None);
    match remote.authorize(&user.cert_der, DesktopKind::Windows, "win-2", "Administrator").await {
        Err(AccessDenied::Decided(message)) => assert!(message.starts_with("access denied"), "{message}"),
        other => panic!("the role allows env: lab only: {other:?}"),
    }

    // Another Windows service cannot take its desktop, nor decide, lock,
    // record or remove for it.
    let other = remote_at(&auth.addr(), &joined("w-other").await);
    let taken = other.heartbeat(windows_heartbeat("win-1", "lab")).await.unwrap_err();
    assert_eq!(taken, AuthorityError::Refused("Windows desktop \"win-1\" is already served by host \"w-svc\"".into()));
    match other.authorize(&user.cert_der, DesktopKind::Windows, "win-1", "Administrator").await {
        Err(AccessDenied::Decided(message)) => assert!(message.contains("does not serve windows desktop \"win-1\""), "{message}"),
        other => panic!("w-other does not serve win-1: {other:?}"),
    }
    assert!(matches!(other.lock_on(&grant).await, Err(AuthorityError::Refused(_))));
    let removal = other.heartbeat(DesktopHeartbeat { removed: true, ..windows_heartbeat("win-1", "lab") }).await.unwrap_err();
    assert!(matches!(removal, AuthorityError::Refused(_)), "{removal:?}");
    // Nor can a Linux desktop service speak for a Windows desktop.
    let secret = token(&cluster.plane, JoinRole::LinuxDesktop).await;
    let linux = remote_at(&auth.addr(), &join(&auth.addr(), &secret, "desk-1", &pinned(&cluster)).await.unwrap());
    assert!(matches!(linux.heartbeat(windows_heartbeat("win-3", "lab")).await, Err(AuthorityError::Refused(_))));
    match linux.authorize(&user.cert_der, DesktopKind::Windows, "win-1", "Administrator").await {
        Err(AccessDenied::Decided(message)) => assert!(message.contains("does not serve"), "{message}"),
        other => panic!("a Linux host does not serve win-1: {other:?}"),
    }

    // A lock on the service's host id ends the sessions of its desktops.
    let target = oriel_auth::resources::lock::LockTarget { server_id: Some("w-svc".into()), ..Default::default() };
    cluster.plane.lock(target, None, Some("host maintenance".into())).await.unwrap();
    match remote.still_allowed(&grant).await {
        Ok(Some(oriel_linux_desktop::authority::Revoked::Locked { message })) => assert_eq!(message.as_deref(), Some("host maintenance")),
        other => panic!("a server-id lock must end the session: {other:?}"),
    }

    // The directory dropped win-2: the service removes it.
    remote.heartbeat(DesktopHeartbeat { removed: true, ..windows_heartbeat("win-2", "prod") }).await.unwrap();
    assert!(cluster.plane.store().desktop(DesktopKind::Windows, "win-2").await.is_err(), "win-2 is gone");
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_desktop_services_use_the_cluster_api() {
    let cluster = Cluster::new().await;
    cluster.add_user("alice", "alice").await;
    let auth = AuthService::start(&cluster.plane).await;
    let user = cluster.user("alice").await;

    let admin = HostIdentity { host_id: "admin@test".into(), role: HostRole::Admin, dns_names: vec![], ips: vec![] };
    let admin = cluster.credentials(cluster.ca.issue_host(&admin, HOUR, SystemTime::now()).unwrap());
    let proxy = cluster.host("proxy", HostRole::Proxy, &[]);
    for (credentials, who) in [(admin, "admin host \"admin@test\""), (proxy, "proxy host \"proxy\"")] {
        let remote = remote(&auth, &credentials);
        let refused = remote.heartbeat(heartbeat()).await.unwrap_err();
        assert_eq!(refused, AuthorityError::Refused(format!("only desktop services use this call, and this is the certificate of {who}")));
        assert!(!refused.retry_helps(), "this host's certificate was refused: asking again will not help");
        match remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await {
            Err(AccessDenied::Decided(message)) => assert!(message.contains(who), "{message}"),
            other => panic!("{who} must not ask for decisions: {other:?}"),
        }
    }
    for name in ["admin@test", "proxy", "desk-1"] {
        assert!(cluster.plane.store().desktop(DesktopKind::Linux, name).await.is_err(), "{name} was registered");
    }
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_fail_while_the_auth_service_is_away_and_work_when_it_is_back() {
    let cluster = Cluster::new().await;
    let (auth, _, remote) = heartbeating_desk(&cluster).await;
    let user = cluster.user("alice").await;
    remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await.expect("a grant while the auth service is up");

    let addr = auth.stop().await;
    match remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await {
        Err(AccessDenied::Unavailable(message)) => {
            assert!(message.starts_with(&format!("the auth service at {addr} is unreachable: ")), "{message}");
            // A sentence with its causes, not a dump of the gRPC status.
            assert!(!message.contains("code: ") && !message.contains("source: "), "{message}");
        }
        other => panic!("nothing is allowed while the auth service is away: {other:?}"),
    }

    // Back on the same address: the same connection object dials again by itself.
    let auth = AuthService::serve(&cluster.plane, TcpListener::bind(addr).await.unwrap(), ConnectionLimits::default()).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await {
            Ok(grant) => break assert_eq!(grant.user(), "alice"),
            Err(error) => assert!(tokio::time::Instant::now() < deadline, "still failing after the auth service is back: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    remote.heartbeat(heartbeat()).await.expect("a heartbeat after the auth service is back");
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_host_certificates_and_admin_identities_are_refused() {
    use oriel_auth::store::RevokedTarget;
    use oriel_linux_desktop::authority::Revoked;
    let cluster = Cluster::new().await;
    let (auth, credentials, remote) = heartbeating_desk(&cluster).await;
    let user = cluster.user("alice").await;
    let grant = remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await.unwrap();
    assert_eq!(remote.still_allowed(&grant).await.unwrap(), None, "a running session goes on");

    // An admin identity works until it is revoked by name.
    let admin = HostIdentity { host_id: "admin@test".into(), role: HostRole::Admin, dns_names: vec![], ips: vec![] };
    let admin = cluster.ca.issue_host(&admin, HOUR, SystemTime::now()).unwrap();
    let mut client =
        oriel_admin::client::AdminClient::connect_with(&auth.addr(), cluster.ca.host_ca_pem(), Some((&admin.cert_pem, &admin.key_pem))).await.unwrap();
    let list = || oriel_admin::proto::Command { command: Some(oriel_admin::proto::command::Command::ListUsers(oriel_admin::proto::Empty {})) };
    client.run(list()).await.expect("a live admin identity is served");
    cluster.plane.revoke(RevokedTarget::Host("admin@test".into()), Some("laptop lost".into())).await.unwrap();
    let refused = client.run(list()).await.unwrap_err();
    assert!(refused.message.contains("revoked") && refused.message.contains("laptop lost"), "{}", refused.message);

    // A desktop service's certificate, revoked by serial: every call is
    // refused, and its running sessions end.
    let serial = oriel_auth::revocation::serial_and_start(&credentials.cert_der().unwrap()).unwrap().0;
    cluster.plane.revoke(RevokedTarget::Serial(serial.to_uppercase()), None).await.unwrap();
    match remote.heartbeat(heartbeat()).await {
        Err(AuthorityError::Refused(message)) => assert!(message.contains("revoked") && message.contains(&serial), "{message}"),
        other => panic!("a revoked host must not heartbeat: {other:?}"),
    }
    assert!(remote.renew().await.is_err(), "a revoked certificate is not renewed");
    match remote.still_allowed(&grant).await {
        Ok(Some(Revoked::Access { reason })) => assert!(reason.contains("revoked"), "{reason}"),
        other => panic!("a session on a revoked host must end: {other:?}"),
    }
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_session_is_reauthorized_and_woken_by_changes() {
    let cluster = Cluster::new().await;
    let (auth, _, remote) = heartbeating_desk(&cluster).await;
    let user = cluster.user("alice").await;
    let grant = remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await.unwrap();
    let mut changes = remote.access_changes();
    tokio::time::timeout(PATIENCE, changes.wait_for(|state| state.live)).await.expect("the feed goes live").unwrap();
    let seen = changes.borrow_and_update().generation;
    cluster.plane.remove_user("alice").await.unwrap();
    tokio::time::timeout(PATIENCE, changes.wait_for(|state| state.generation > seen)).await.expect("the removal wakes the desktop service").unwrap();
    match remote.still_allowed(&grant).await {
        Ok(Some(oriel_linux_desktop::authority::Revoked::Access { reason })) => assert_eq!(reason, "user \"alice\" not found"),
        other => panic!("a removed user's session must end: {other:?}"),
    }
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_reaches_a_remote_session_as_a_lock_with_its_message() {
    let cluster = Cluster::new().await;
    let (auth, _, remote) = heartbeating_desk(&cluster).await;
    let user = cluster.user("alice").await;
    let grant = remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await.unwrap();
    let target = oriel_auth::resources::lock::LockTarget { user: Some("alice".into()), ..Default::default() };
    cluster.plane.lock(target, None, Some("incident 7".into())).await.unwrap();
    match remote.still_allowed(&grant).await {
        Ok(Some(oriel_linux_desktop::authority::Revoked::Locked { message })) => assert_eq!(message.as_deref(), Some("incident 7")),
        other => panic!("a lock must end the session as a lock: {other:?}"),
    }
    let refused = remote.authorize(&user.cert_der, DesktopKind::Linux, "desk-1", "alice").await.unwrap_err();
    assert!(matches!(&refused, AccessDenied::Locked(Some(message)) if message == "incident 7"), "{refused:?}");
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_does_not_keep_desktop_services_out() {
    let cluster = Cluster::new().await;
    cluster.add_user("alice", "alice").await;
    let limits = ConnectionLimits { per_address: 4, total: 8 };
    let auth = AuthService::serve(&cluster.plane, TcpListener::bind("127.0.0.1:0").await.unwrap(), limits).await;
    let flooder: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let _held = support::idle_connections(auth.addr, flooder, 4).await;
    let mut past_share = support::idle_connections(auth.addr, flooder, 1).await;
    assert!(support::closed_by_listener(&mut past_share[0]).await, "a fifth connection from the flooding address is closed at once");
    support::log_line(&["refusing connections", "127.0.0.2 has 4 connections open already"]).await;

    // From another address, a host still joins and calls the API.
    let secret = token(&cluster.plane, JoinRole::LinuxDesktop).await;
    let credentials = join(&auth.addr(), &secret, "desk-1", &pinned(&cluster)).await.expect("a join past a flood");
    remote(&auth, &credentials).heartbeat(heartbeat()).await.expect("a heartbeat past a flood");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desktop_service_records_events_of_its_own_sessions_only() {
    use oriel_auth::audit::{AuditEvent, EventType};
    use oriel_auth::store::EventQuery;
    let cluster = Cluster::new().await;
    let (auth, _, remote) = heartbeating_desk(&cluster).await;
    let now = SystemTime::now();
    let session = |sid: &str| EventQuery { session: Some(sid.into()), ..Default::default() };

    // Its own session's event is stored, stamped with the host it came from.
    let own = AuditEvent::new(EventType::ClipboardSend, true, "alice", now).in_session("s-1").with("desktop_name", "someone-else").with("length", 5);
    remote.record_events(vec![own]).await;
    let stored = cluster.plane.events(&session("s-1")).await.unwrap().unwrap().events;
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].text("desktop_name"), stored[0].text("desktop_service")), (Some("desk-1"), Some("desk-1")));
    assert_eq!(stored[0].fields["length"], 5);

    // A host cannot speak for the control plane: the whole batch is refused.
    let forged = vec![
        AuditEvent::new(EventType::LinuxSessionEnd, true, "alice", now).in_session("s-2"),
        AuditEvent::new(EventType::UserCreate, true, "alice", now).in_session("s-2").with("name", "mallory"),
    ];
    remote.record_events(forged).await;
    assert!(cluster.plane.events(&session("s-2")).await.unwrap().unwrap().events.is_empty(), "nothing of a refused batch is stored");
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_wait_in_the_spool_while_the_auth_service_is_away_and_none_is_lost() {
    use oriel_auth::audit::{AuditEvent, EventType};
    use oriel_auth::store::EventQuery;
    let cluster = Cluster::new().await;
    let (auth, credentials, _) = heartbeating_desk(&cluster).await;
    let spool_dir = tempfile::tempdir().unwrap();
    let spool = || oriel_cluster::event_spool::EventSpool::open(spool_dir.path()).unwrap();
    let event = |n: u64| AuditEvent::new(EventType::ClipboardSend, true, "alice", SystemTime::now()).in_session("s-spool").with("n", n);
    let stored = || async {
        let events =
            cluster.plane.events(&EventQuery { session: Some("s-spool".into()), oldest_first: true, ..Default::default() }).await.unwrap().unwrap().events;
        events.iter().map(|e| e.fields["n"].as_u64().unwrap()).collect::<Vec<_>>()
    };

    // The auth service goes away; the desktop service goes on recording.
    let addr = auth.stop().await;
    let remote = remote_at(&addr.to_string(), &credentials).with_spool(spool());
    remote.record_events(vec![event(1), event(2)]).await;
    remote.record_events(vec![event(3)]).await;
    remote.record_events(vec![event(4)]).await;
    assert!(stored().await.is_empty());
    // (A restart of the desktop service resuming from the spool is
    // event_spool.rs's unit test: two spools on one directory are not a
    // thing a host does.)

    // The auth service is back on its address: every event arrives, once, in order.
    let auth = AuthService::serve(&cluster.plane, TcpListener::bind(addr).await.unwrap(), ConnectionLimits::default()).await;
    let deadline = std::time::Instant::now() + PATIENCE;
    while stored().await != [1, 2, 3, 4] {
        assert!(std::time::Instant::now() < deadline, "every spooled event arrives: {:?}", stored().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The last batch is marked sent just after the auth service stored it.
    while spool().backlog().unwrap() != 0 {
        assert!(std::time::Instant::now() < deadline, "the spool empties once everything is sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    auth.stop().await;
}

/// A desktop service's connection to the auth service at `addr`.
fn remote_at(addr: &str, credentials: &HostCredentials) -> RemoteAuth {
    RemoteAuth::new(addr, credentials, LiveIdentity::new(credentials).unwrap()).unwrap()
}

/// A recording of desktop `desktop`'s session `id`: a hello, then a second
/// later a mouse move.
fn recording_of(id: &str, desktop: &str) -> Vec<u8> {
    use oriel_tdpb::{Payload, encode_frame, pb};
    let meta = oriel_recording::Meta {
        session_id: id.into(),
        user: "alice".into(),
        login: "alice".into(),
        desktop: desktop.into(),
        desktop_kind: "linux".into(),
        start: "2026-12-06T09:00:00.000Z".into(),
    };
    let (mut writer, mut file) = oriel_recording::RecordingWriter::start(&meta);
    writer.record(
        0,
        oriel_recording::Source::Desktop,
        &encode_frame(Payload::ServerHello(pb::ServerHello { width: 8, height: 8, ..Default::default() })),
        &mut file,
    );
    writer.record(1000, oriel_recording::Source::Browser, &encode_frame(Payload::MouseMove(pb::MouseMove { x: 1, y: 2 })), &mut file);
    let (_, trailer) = writer.finish(1500);
    file.extend_from_slice(&trailer);
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_stream_or_upload_for_a_hosts_own_sessions_only() {
    use oriel_auth::store::RecordingQuery;
    let cluster = Cluster::new().await;
    let (auth, _, remote) = heartbeating_desk(&cluster).await;
    // node-sync: the bytes go as the session makes them.
    let synced = "0190f0c4-7d2a-7000-8000-000000000051";
    let mut stream = remote.stream_recording(synced).await.unwrap();
    for piece in recording_of(synced, "desk-1").chunks(50) {
        stream.send(piece.to_vec()).await.unwrap();
    }
    stream.finish().await.unwrap();
    // node: the closed file goes when the session ended.
    let uploaded = "0190f0c4-7d2a-7000-8000-000000000052";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{uploaded}.orec"));
    std::fs::write(&file, recording_of(uploaded, "desk-1")).unwrap();
    remote.upload_recording(uploaded, &file).await.unwrap();
    let listed = cluster.plane.store().recordings(&RecordingQuery::default(), |_| true).await.unwrap().recordings;
    assert_eq!(listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [uploaded, synced]);
    assert_eq!(listed[1].duration_ms, 1500);

    // Another desktop's session is refused, either way, and nothing is kept.
    let forged = "0190f0c4-7d2a-7000-8000-000000000053";
    let mut stream = remote.stream_recording(forged).await.unwrap();
    stream.send(recording_of(forged, "desk-2")).await.unwrap();
    let refused = stream.finish().await.unwrap_err();
    assert!(!refused.retry_helps && refused.to_string().contains("only upload its own sessions"), "{refused}");
    std::fs::write(&file, recording_of(forged, "desk-2")).unwrap();
    let refused = remote.upload_recording(forged, &file).await.unwrap_err();
    assert!(!refused.retry_helps, "{refused}");
    assert_eq!(cluster.plane.store().recordings(&RecordingQuery::default(), |_| true).await.unwrap().recordings.len(), 2);
    auth.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_recording_fails_when_the_auth_service_goes_away() {
    let cluster = Cluster::new().await;
    let (auth, _, remote) = heartbeating_desk(&cluster).await;
    let id = "0190f0c4-7d2a-7000-8000-000000000054";
    let mut stream = remote.stream_recording(id).await.unwrap();
    let file = recording_of(id, "desk-1");
    stream.send(file[..40].to_vec()).await.unwrap();
    // The auth service stops (without waiting for the upload): the next
    // bytes cannot go, and the error says a retry may help later.
    auth.stop().await;
    let deadline = std::time::Instant::now() + PATIENCE;
    let failed = loop {
        match stream.send(vec![0; 1024]).await {
            Err(error) => break error,
            Ok(()) => assert!(std::time::Instant::now() < deadline, "sending went on without an auth service"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(failed.retry_helps, "{failed}");
    let listed = cluster.plane.store().recordings(&oriel_auth::store::RecordingQuery::default(), |_| true).await.unwrap().recordings;
    assert!(listed.is_empty());
}
