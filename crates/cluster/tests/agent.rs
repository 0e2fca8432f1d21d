//! A desktop service's side of mutual TLS, over real TLS on loopback: its
//! own listener serves only this cluster's proxies, and it keeps reverse
//! tunnels only to a proxy of this cluster, whatever name the peer's
//! certificate carries.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use oriel_auth::ca::{HostRole, PROXY_SERVER_NAME, desktop_server_name};
use oriel_cluster::{HostCredentials, LiveIdentity, agent_listener, agent_tunnel, tls};
use support::{Cluster, PATIENCE, agent_client, dial, foreign_host, log_line, self_signed};
use tokio::io::AsyncReadExt as _;
use tokio::sync::oneshot;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desktop_services_listener_serves_only_this_clusters_proxies() {
    let cluster = Cluster::new().await;
    let host_ca = cluster.host_ca();
    let desktop = cluster.joined_desktop("desk-1").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = tls::server_config(&host_ca, LiveIdentity::new(&desktop).unwrap()).unwrap();
    let server = tokio::spawn(agent_listener::serve(
        listener,
        cluster.agent("desk-1"),
        config,
        host_ca.clone(),
        std::sync::Arc::new(cluster.plane.clone()),
        Default::default(),
    ));
    // The name a proxy checks when it dials this desktop directly.
    let name = desktop_server_name("desk-1");

    let foreign = tempfile::tempdir().unwrap();
    let cases = [
        ("a self-signed certificate", self_signed(&[PROXY_SERVER_NAME]), "alert: UnknownCA", "refused a connection: TLS", "UnknownIssuer"),
        (
            "another cluster's proxy",
            foreign_host(foreign.path(), "proxy", HostRole::Proxy, &[PROXY_SERVER_NAME]).await,
            "alert: UnknownCA",
            "refused a connection: TLS",
            "UnknownIssuer",
        ),
        // A genuine host certificate of this cluster, but a desktop
        // service's: it chains, so the role check after the handshake refuses it.
        (
            "another desktop service",
            cluster.joined_desktop("desk-2").await,
            "closed",
            "refused a connection: not a proxy of this cluster",
            "expected a proxy certificate, got the certificate of linux_desktop host \"desk-2\"",
        ),
    ];
    for (what, client, seen, message, reason) in cases {
        let dialled = dial(addr, &host_ca, &client, &name).await;
        let peer = format!("peer={}", dialled.local);
        let refusal = dialled.refusal().await;
        assert!(refusal.starts_with(seen), "{what}: expected {seen:?}, the client saw {refusal:?}");
        let line = log_line(&[message, &peer]).await;
        assert!(line.contains(reason), "{what}: expected {reason:?} in the desktop service's log line {line:?}");
    }

    // This cluster's proxy gets the agent.
    let proxy = cluster.host("proxy", HostRole::Proxy, &[PROXY_SERVER_NAME]);
    let stream = dial(addr, &host_ca, &proxy, &name).await.stream.expect("the proxy's handshake");
    support::assert_agent_answers(&mut agent_client(stream).await).await;
    server.abort();
}

/// What a peer did on the first connection a test proxy accepted.
#[derive(Debug)]
enum Seen {
    /// It sent this many bytes: it serves the agent on the connection.
    Spoke(usize),
    /// It ended the connection: `alert: <name>` or `closed (<how>)`.
    Ended(String),
}

/// A stand-in proxy presenting `identity` on a listener of its own, trusting
/// `host_ca_pem` for client certificates. It reports its first connection.
async fn test_proxy(host_ca_pem: &str, identity: &HostCredentials) -> (SocketAddr, oneshot::Receiver<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls::server_config(host_ca_pem, LiveIdentity::new(identity).unwrap()).unwrap());
    let (report, seen) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut kept = None;
        let seen = match acceptor.accept(tcp).await {
            Err(error) => Seen::Ended(support::ending(&error.to_string())),
            Ok(stream) => {
                let mut buffer = [0u8; 64];
                let stream = kept.insert(stream);
                match stream.read(&mut buffer).await {
                    Ok(0) => Seen::Ended("closed".into()),
                    Ok(n) => Seen::Spoke(n),
                    Err(error) => Seen::Ended(support::ending(&error.to_string())),
                }
            }
        };
        let _ = report.send(seen);
        // Keep the connection, so a tunnel that is up stays up, and the
        // listener, so later dials are not refused by the kernel.
        let _keep = (kept, listener);
        std::future::pending::<()>().await;
    });
    (addr, seen)
}

async fn first_connection(seen: oneshot::Receiver<Seen>) -> Seen {
    tokio::time::timeout(PATIENCE, seen).await.expect("the desktop service never dialled").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desktop_service_keeps_tunnels_only_to_this_clusters_proxies() {
    let cluster = Cluster::new().await;
    let host_ca = cluster.host_ca();
    let desktop = cluster.joined_desktop("desk-1").await;
    let client = tls::client_config(&host_ca, LiveIdentity::new(&desktop).unwrap()).unwrap();
    let tunnel = |proxy: SocketAddr| agent_tunnel::start(cluster.agent("desk-1"), vec![proxy.to_string()], Arc::clone(&client), host_ca.clone());

    // A desktop service's certificate carrying the proxy's name: the TLS
    // name check passes, and only the role check can tell.
    let impostor = cluster.host("impostor", HostRole::LinuxDesktop, &[PROXY_SERVER_NAME]);
    let (addr, seen) = test_proxy(&host_ca, &impostor).await;
    let up = tunnel(addr);
    match first_connection(seen).await {
        Seen::Ended(how) => assert!(how.starts_with("closed"), "the desktop service should close the connection after the handshake: {how}"),
        Seen::Spoke(n) => panic!("the desktop service served its agent to a desktop's certificate ({n} bytes)"),
    }
    let line = log_line(&["cannot open the reverse tunnel", &format!("proxy={addr}")]).await;
    assert!(line.contains("expected a proxy certificate, got the certificate of linux_desktop host \"impostor\""), "{line}");
    assert!(!up.has_changed().unwrap() && *up.borrow() == 0, "the refused tunnel was never counted up");

    // Another cluster's proxy: the desktop service does not trust its certificate.
    let foreign = tempfile::tempdir().unwrap();
    let other = foreign_host(foreign.path(), "proxy", HostRole::Proxy, &[PROXY_SERVER_NAME]).await;
    let (addr, seen) = test_proxy(&other.host_ca_pem, &other).await;
    let up = tunnel(addr);
    match first_connection(seen).await {
        Seen::Ended(how) => assert_eq!(how, "alert: UnknownCA", "the desktop service should refuse the proxy's certificate in the handshake"),
        Seen::Spoke(n) => panic!("the desktop service served its agent to another cluster's proxy ({n} bytes)"),
    }
    let line = log_line(&["cannot open the reverse tunnel", &format!("proxy={addr}")]).await;
    assert!(line.contains("UnknownIssuer"), "{line}");
    assert!(!up.has_changed().unwrap() && *up.borrow() == 0, "the refused tunnel was never counted up");

    // The same stand-in with this cluster's proxy certificate gets the
    // agent's HTTP/2, and the tunnel counts.
    let proxy = cluster.host("proxy", HostRole::Proxy, &[PROXY_SERVER_NAME]);
    let (addr, seen) = test_proxy(&host_ca, &proxy).await;
    let mut up = tunnel(addr);
    match first_connection(seen).await {
        Seen::Spoke(n) => assert!(n > 0),
        Seen::Ended(how) => panic!("the desktop service refused this cluster's proxy: {how}"),
    }
    tokio::time::timeout(PATIENCE, up.wait_for(|n| *n == 1)).await.expect("the tunnel is counted").unwrap();
}
