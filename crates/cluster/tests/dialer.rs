//! How the proxy reaches a Windows desktop: through the service its record
//! names (`host_id`), over that service's reverse tunnel or by dialling the
//! address the service registered, with mutual TLS that checks the peer is
//! that Windows desktop service. Each call names the desktop, and the
//! service serves only its own.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use oriel_auth::ca::{HostIdentity, HostRole, PROXY_SERVER_NAME, desktop_server_name};
use oriel_auth::resources::desktop_service::DesktopService;
use oriel_auth::store::DesktopRecord;
use oriel_cluster::agent::{Agent, ServedDesktops};
use oriel_cluster::dialer::ClusterDialer;
use oriel_cluster::tunnel::TunnelRegistry;
use oriel_cluster::{LiveIdentity, agent_listener, tls};
use oriel_linux_desktop::{LinuxDesktopService, RdpDesktop};
use oriel_proxy::{DesktopDialer as _, DesktopRequest};
use oriel_rbac::DesktopKind;
use support::Cluster;

/// A Windows service's desktops, by name.
struct Desktops(BTreeMap<String, LinuxDesktopService>);

impl ServedDesktops for Desktops {
    fn service(&self, kind: DesktopKind, name: &str) -> Option<LinuxDesktopService> {
        (kind == DesktopKind::Windows).then(|| self.0.get(name).cloned()).flatten()
    }
}

/// Registers Windows desktop `name` as served by `host`.
async fn register(cluster: &Cluster, host: &HostIdentity, name: &str) {
    let record = DesktopRecord {
        kind: DesktopKind::Windows,
        name: name.into(),
        hostname: format!("{name}.example.com"),
        addr: "10.0.0.9:3389".into(),
        labels: [("env".to_owned(), "lab".to_owned())].into(),
        expires: None,
        host_id: Some(host.host_id.clone()),
    };
    cluster.plane.register_windows_desktop(host, &record).await.unwrap();
}

fn request(kind: &str, desktop: &str, certificate: &[u8]) -> DesktopRequest {
    DesktopRequest {
        user: "alice".into(),
        certificate: certificate.to_vec(),
        kind: kind.into(),
        desktop: desktop.into(),
        login: "Administrator".into(),
        session_id: "0192f5a0-0000-7000-8000-000000000001".into(),
        resume: false,
        join: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_windows_desktop_is_reached_through_the_service_its_record_names() {
    let cluster = Cluster::new().await;
    cluster.add_user("alice", "alice").await;
    let user = cluster.user("alice").await;
    let host_ca = cluster.host_ca();
    let identity = HostIdentity { host_id: "w-svc".into(), role: HostRole::WindowsDesktop, dns_names: vec![desktop_server_name("w-svc")], ips: vec![] };
    let credentials = cluster.credentials(cluster.ca.issue_host(&identity, std::time::Duration::from_secs(3600), std::time::SystemTime::now()).unwrap());

    // The service serves win-1; win-2's record names it too, but it does not serve it.
    let rdp = RdpDesktop {
        addr: "127.0.0.1:1".into(),
        server_name: "win-1".into(),
        certificate_pem: String::new(),
        ca_pem: String::new(),
        accounts: BTreeMap::new(),
    };
    let served = Desktops([("win-1".to_owned(), cluster.desktop_service("win-1", DesktopKind::Windows, Some(rdp)))].into());
    let agent = Agent::serving(Arc::new(served));
    register(&cluster, &identity, "win-1").await;
    register(&cluster, &identity, "win-2").await;

    // No tunnel: the proxy dials the address the service registered.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_tls = tls::server_config(&host_ca, LiveIdentity::new(&credentials).unwrap()).unwrap();
    let listening = tokio::spawn(agent_listener::serve(listener, agent, server_tls, host_ca.clone(), Arc::new(cluster.plane.clone()), Default::default()));
    let service = DesktopService {
        kind: DesktopKind::Windows,
        name: "w-svc".into(),
        hostname: "gateway".into(),
        addr: addr.to_string(),
        version: "0.1.0".into(),
        expires: None,
    };
    cluster.plane.store().put_desktop_service(&service).await.unwrap();
    let proxy = cluster.host("proxy", HostRole::Proxy, &[PROXY_SERVER_NAME]);
    let proxy_tls = tls::client_config(&host_ca, LiveIdentity::new(&proxy).unwrap()).unwrap();
    let dialer = ClusterDialer::new(TunnelRegistry::default(), cluster.plane.clone(), proxy_tls, host_ca.clone());

    // The call reaches win-1's service there, which verifies the user.
    let sessions = dialer.running_sessions(request("windows", "win-1", &user.cert_der)).await.expect("win-1's service answers");
    assert!(sessions.is_empty());
    let refused = dialer.running_sessions(request("windows", "win-1", b"not a certificate")).await.unwrap_err();
    assert!(refused.to_string().contains("did not list its sessions"), "{refused}");
    // win-2 is not among the desktops it serves.
    let other = dialer.running_sessions(request("windows", "win-2", &user.cert_der)).await.unwrap_err();
    assert!(other.to_string().contains("this service does not serve windows desktop \"win-2\""), "{other}");
    // A desktop nobody registered is not found.
    let unknown = dialer.running_sessions(request("windows", "win-9", &user.cert_der)).await.unwrap_err();
    assert_eq!(unknown.kind(), std::io::ErrorKind::NotFound, "{unknown}");

    // A Linux desktop service's certificate at that address does not pass
    // for the Windows service's, even with its name.
    let impostor = cluster.host("w-svc", HostRole::LinuxDesktop, &[&desktop_server_name("w-svc")]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let impostor_addr = listener.local_addr().unwrap();
    let impostor_tls = tls::server_config(&host_ca, LiveIdentity::new(&impostor).unwrap()).unwrap();
    let posing =
        tokio::spawn(agent_listener::serve(listener, cluster.agent("w-svc"), impostor_tls, host_ca, Arc::new(cluster.plane.clone()), Default::default()));
    cluster.plane.store().put_desktop_service(&DesktopService { addr: impostor_addr.to_string(), ..service }).await.unwrap();
    let posed = dialer.running_sessions(request("windows", "win-1", &user.cert_der)).await.unwrap_err();
    assert!(posed.to_string().contains("expected a windows_desktop certificate, got the certificate of linux_desktop host \"w-svc\""), "{posed}");
    listening.abort();
    posing.abort();
}
