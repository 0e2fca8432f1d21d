//! The proxy's reverse tunnel listener, over real TLS on loopback: only a
//! desktop service of this cluster gets a tunnel. Every other certificate
//! is refused, and the proxy's log says why; a joined desktop service's
//! tunnel is registered under its host id and carries its gRPC.

mod support;

use oriel_auth::ca::{HostRole, PROXY_SERVER_NAME};
use oriel_cluster::proto::desktop_agent_client::DesktopAgentClient;
use oriel_cluster::tunnel::TunnelRegistry;
use oriel_cluster::{LiveIdentity, agent_tunnel, tls, tunnel};
use support::{Cluster, as_host, dial, eventually, foreign_host, log_line, self_signed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_this_clusters_desktop_services_get_a_tunnel() {
    let cluster = Cluster::new().await;
    let host_ca = cluster.host_ca();
    let proxy = cluster.host("proxy", HostRole::Proxy, &[PROXY_SERVER_NAME]);
    let registry = TunnelRegistry::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = tls::server_config(&host_ca, LiveIdentity::new(&proxy).unwrap()).unwrap();
    let server =
        tokio::spawn(tunnel::serve(listener, registry.clone(), config, host_ca.clone(), std::sync::Arc::new(cluster.plane.clone()), Default::default()));

    let foreign = tempfile::tempdir().unwrap();
    let user = cluster.user("alice").await;
    let cases = [
        // rustls refuses these in the handshake, with an alert: no chain to
        // the host CA, or out of date.
        ("a self-signed certificate", self_signed(&["desk-self"]), "alert: UnknownCA", "refused a reverse tunnel: TLS", "UnknownIssuer"),
        (
            "another cluster's desktop service",
            foreign_host(foreign.path(), "desk-foreign", HostRole::LinuxDesktop, &[]).await,
            "alert: UnknownCA",
            "refused a reverse tunnel: TLS",
            "UnknownIssuer",
        ),
        (
            "an expired desktop certificate",
            cluster.expired_host("desk-expired", HostRole::LinuxDesktop),
            "alert: CertificateExpired",
            "refused a reverse tunnel: TLS",
            "certificate expired",
        ),
        ("a user certificate", as_host(&user, &host_ca), "alert: UnknownCA", "refused a reverse tunnel: TLS", "UnknownIssuer"),
        // This one chains to the host CA: the role check after the
        // handshake refuses it, and the proxy just closes the connection.
        (
            "another proxy",
            cluster.host("proxy-2", HostRole::Proxy, &[]),
            "closed",
            "refused a reverse tunnel: not a desktop service of this cluster",
            "expected a linux_desktop or windows_desktop certificate, got the certificate of proxy host \"proxy-2\"",
        ),
    ];
    for (what, client, seen, message, reason) in cases {
        let dialled = dial(addr, &host_ca, &client, PROXY_SERVER_NAME).await;
        let peer = format!("peer={}", dialled.local);
        let refusal = dialled.refusal().await;
        assert!(refusal.starts_with(seen), "{what}: expected {seen:?}, the client saw {refusal:?}");
        let line = log_line(&[message, &peer]).await;
        assert!(line.contains(reason), "{what}: expected {reason:?} in the proxy's log line {line:?}");
        assert_eq!(registry.hosts(), Vec::<String>::new(), "{what} got a tunnel");
    }

    // A desktop service that joined with a token keeps a tunnel, under its host id.
    let desktop = cluster.joined_desktop("desk-1").await;
    let client = tls::client_config(&host_ca, LiveIdentity::new(&desktop).unwrap()).unwrap();
    let mut up = agent_tunnel::start(cluster.agent("desk-1"), vec![addr.to_string()], client, host_ca.clone());
    eventually("the tunnel from desk-1 is registered", || registry.hosts() == ["desk-1"]).await;
    tokio::time::timeout(support::PATIENCE, up.wait_for(|n| *n == 1)).await.expect("the agent counts its tunnel").unwrap();

    // Calls over it reach the desktop service's agent, which wants a certificate.
    let channel = registry.channel("desk-1", HostRole::LinuxDesktop).expect("a channel over the tunnel");
    support::assert_agent_answers(&mut DesktopAgentClient::new(channel)).await;

    // A revoked desktop service is refused after the handshake.
    let revoked = cluster.joined_desktop("desk-revoked").await;
    let target = oriel_auth::store::RevokedTarget::Host("desk-revoked".into());
    cluster.plane.revoke(target, Some("host retired".into())).await.unwrap();
    let dialled = dial(addr, &host_ca, &revoked, PROXY_SERVER_NAME).await;
    let peer = format!("peer={}", dialled.local);
    let refusal = dialled.refusal().await;
    assert!(refusal.starts_with("closed"), "{refusal}");
    let line = log_line(&["refused a reverse tunnel: revoked", &peer]).await;
    assert!(line.contains("host retired"), "{line}");
    assert_eq!(registry.hosts(), ["desk-1"], "the revoked host got no tunnel");

    // Revoking a host that has a tunnel up closes it (and its redials are
    // refused).
    let target = oriel_auth::store::RevokedTarget::Host("desk-1".into());
    cluster.plane.revoke(target, Some("decommissioned".into())).await.unwrap();
    let line = log_line(&["closed a reverse tunnel: revoked", "host=desk-1"]).await;
    assert!(line.contains("decommissioned"), "{line}");
    eventually("the revoked host's tunnel is gone", || registry.hosts().is_empty()).await;
    log_line(&["refused a reverse tunnel: revoked", "host=desk-1"]).await;
    assert!(registry.channel("desk-1", HostRole::LinuxDesktop).is_none(), "no tunnel to the revoked host");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_connections_does_not_keep_a_desktop_service_out() {
    let cluster = Cluster::new().await;
    let host_ca = cluster.host_ca();
    let proxy = cluster.host("proxy", HostRole::Proxy, &[PROXY_SERVER_NAME]);
    let registry = TunnelRegistry::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = tls::server_config(&host_ca, LiveIdentity::new(&proxy).unwrap()).unwrap();
    let limits = oriel_auth::connections::ConnectionLimits { per_address: 4, total: 8 };
    let _server = tokio::spawn(tunnel::serve(listener, registry.clone(), config, host_ca.clone(), std::sync::Arc::new(cluster.plane.clone()), limits));

    let flooder: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let _held = support::idle_connections(addr, flooder, 4).await;
    let mut past_share = support::idle_connections(addr, flooder, 1).await;
    assert!(support::closed_by_listener(&mut past_share[0]).await, "a fifth connection from the flooding address is closed at once");
    support::log_line(&["refusing connections", "127.0.0.2 has 4 connections open already"]).await;

    let desktop = cluster.joined_desktop("desk-1").await;
    let client = tls::client_config(&host_ca, LiveIdentity::new(&desktop).unwrap()).unwrap();
    let _up = agent_tunnel::start(cluster.agent("desk-1"), vec![addr.to_string()], client, host_ca.clone());
    eventually("the tunnel from desk-1 is registered past the flood", || registry.hosts() == ["desk-1"]).await;
}
