//! `relay`: what the cluster's transport costs one real session. The same
//! desktop service and the same 1920x1080 openbox + xterm session, reached
//! three ways:
//!
//! - straight, over the in-process pipe `latency` uses;
//! - through the reverse tunnel: the service dials the proxy's tunnel
//!   listener (mutual TLS on the cluster's host CA, loopback TCP) and serves
//!   gRPC on that connection; the proxy's `ClusterDialer` opens the session
//!   as one `Session` call over it;
//! - by direct dial: with no tunnel in its registry, the proxy's dialer
//!   dials the service's own listener at the address in the desktop's record.
//!
//! Everything runs in this process: the service on the service runtime, the
//! proxy's side on threads of its own ([`crate::cpu::PROXY_THREADS`]) so their CPU
//! is counted apart. The proxy's websocket to the browser is not part of it
//! (`latency` measures that leg).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use oriel_auth::ca::{HostIdentity, HostRole, PROXY_SERVER_NAME, desktop_server_name};
use oriel_cluster::agent::Agent;
use oriel_cluster::dialer::ClusterDialer;
use oriel_cluster::tunnel::TunnelRegistry;
use oriel_cluster::{HostCredentials, LiveIdentity, agent_listener, agent_tunnel, tls};
use oriel_proxy::{DesktopDialer as _, DesktopRequest, DesktopStream};
use oriel_rbac::DesktopKind;
use oriel_tdpb::pb::Codec;
use tokio::runtime::Runtime;

use crate::browser::Transport;
use crate::desktop::{Desktop, Session, SessionTask};
use crate::latency::{self, Latencies};
use crate::report::{Table, kb, num};
use crate::scenarios::{self, Outcome};
use crate::side::Side;
use crate::xclients;

/// How long the service's tunnel may take to come up.
const TUNNEL_PATIENCE: Duration = Duration::from_secs(10);

/// One way to the desktop, measured.
struct Route {
    name: &'static str,
    /// From asking the dialer to having the byte stream (none for the pipe).
    dial: Option<Duration>,
    latencies: Latencies,
    outcomes: Vec<Outcome>,
}

/// `proxy` must outlive `service_runtime`: the service keeps its tunnel to
/// the proxy for as long as it runs.
pub async fn run(service_runtime: &Runtime, proxy: &Side, rounds: usize, seconds: f64) -> anyhow::Result<String> {
    xclients::require()?;
    let length = Duration::from_secs_f64(seconds);
    let desktop = Desktop::start(service_runtime).await?;
    let cluster = Cluster::start(&desktop, service_runtime, proxy).await?;

    let mut paths = Vec::new();
    let (client_end, task) = desktop.pipe(service_runtime);
    let session = Session::open(&desktop, Transport::Stream(Box::pin(client_end)), SessionTask::Handle(task), 1920, 1080, Codec::QoizSession).await?;
    paths.push(measure("in-process pipe (as `latency`)", None, session, rounds, length).await?);

    for (name, dialer) in
        [("reverse tunnel: mTLS + gRPC, loopback TCP", &cluster.tunnel), ("direct dial of listen_addr: mTLS + gRPC, loopback TCP", &cluster.direct)]
    {
        let (stream, dial) = dial(proxy, dialer.clone(), &desktop).await.with_context(|| format!("opening a session by {name}"))?;
        let session = Session::open(&desktop, Transport::Stream(stream), SessionTask::Agent, 1920, 1080, Codec::QoizSession).await?;
        paths.push(measure(name, Some(dial), session, rounds, length).await?);
    }
    Ok(render(&paths, &cluster, seconds))
}

/// Key-to-echo latency in the idle xterm, then a window dragged and a
/// `seq` flood, in one session, which is closed after.
async fn measure(name: &'static str, dial: Option<Duration>, mut session: Session, rounds: usize, length: Duration) -> anyhow::Result<Route> {
    let measured = async {
        session.focus_terminal().await?;
        let latencies = latency::measure(&mut session.browser, rounds).await?;
        let mut drag = scenarios::drag(&mut session, length).await?;
        drag.name = "dragging a window".into();
        if !drag.note.starts_with("WARNING") {
            drag.note = "openbox moved the window".into();
        }
        let mut seq = scenarios::seq(&mut session, length, Duration::ZERO).await?;
        seq.name = "`seq 1 1000000`, full-screen xterm".into();
        // Random text: the codec's history cannot help, so frames are large.
        let (mut random, _) = scenarios::flood(&mut session, "base64 /dev/urandom", length, Duration::ZERO).await?;
        random.name = "`base64 /dev/urandom`, full-screen xterm".into();
        anyhow::Ok(Route { name, dial, latencies, outcomes: vec![drag, seq, random] })
    }
    .await;
    let closed = session.close().await;
    let path = measured.with_context(|| format!("measuring the {name} path"))?;
    closed?;
    Ok(path)
}

/// Opens a session as the proxy does, on the proxy's threads.
async fn dial(proxy: &Side, dialer: ClusterDialer, desktop: &Desktop) -> anyhow::Result<(DesktopStream, Duration)> {
    let request = DesktopRequest {
        user: desktop.user().into(),
        certificate: desktop.certificate.clone(),
        kind: "linux".into(),
        desktop: desktop.name().into(),
        login: desktop.user().into(),
        session_id: oriel_auth::audit::new_session_id(),
        resume: false,
        join: None,
    };
    let started = Instant::now();
    let stream = proxy.spawn(async move { dialer.dial(request).await }).await??;
    Ok((stream, started.elapsed()))
}

/// The proxy's and the service's cluster plumbing, wired as `oriel start`
/// wires them (crates/oriel/src/start/control.rs and agent.rs).
struct Cluster {
    /// Dials through the tunnel registry, which holds the service's tunnel.
    tunnel: ClusterDialer,
    /// Has no tunnels, so it dials the desktop record's address.
    direct: ClusterDialer,
    /// From starting the service's tunnel to the proxy having it.
    tunnel_up: Duration,
}

impl Cluster {
    async fn start(desktop: &Desktop, service_runtime: &Runtime, proxy: &Side) -> anyhow::Result<Self> {
        let plane = desktop.plane.clone();
        let ca = plane.cert_authority().await?;
        let host_ca = ca.host_ca_pem().to_owned();
        let issue = |identity: HostIdentity| -> anyhow::Result<Arc<LiveIdentity>> {
            let issued = ca.issue_host(&identity, Duration::from_secs(24 * 3600), SystemTime::now())?;
            let user_ca_pem = ca.user_ca_pem().to_owned();
            Ok(LiveIdentity::new(&HostCredentials { cert_pem: issued.cert_pem, key_pem: issued.key_pem, host_ca_pem: host_ca.clone(), user_ca_pem })?)
        };
        let proxy_identity = issue(HostIdentity { host_id: "proxy".into(), role: HostRole::Proxy, dns_names: vec![PROXY_SERVER_NAME.into()], ips: vec![] })?;
        let desktop_identity = issue(HostIdentity {
            host_id: desktop.name().into(),
            role: HostRole::LinuxDesktop,
            dns_names: vec![desktop_server_name(desktop.name())],
            ips: vec![],
        })?;

        // The proxy's tunnel listener.
        let registry = TunnelRegistry::default();
        let tunnel_tls = tls::server_config(&host_ca, proxy_identity.clone())?;
        let tunnel_addr = proxy
            .spawn({
                let (registry, host_ca) = (registry.clone(), host_ca.clone());
                let revocations: std::sync::Arc<dyn oriel_cluster::accept::PeerCheck> = std::sync::Arc::new(plane.clone());
                async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    let addr = listener.local_addr()?;
                    tokio::spawn(oriel_cluster::tunnel::serve(listener, registry, tunnel_tls, host_ca, revocations, Default::default()));
                    anyhow::Ok(addr)
                }
            })
            .await??;

        // The service's side: a tunnel to that proxy, and a listener of its own.
        let agent = Agent::new(desktop.service.clone());
        let agent_client_tls = tls::client_config(&host_ca, desktop_identity.clone())?;
        let agent_server_tls = tls::server_config(&host_ca, desktop_identity)?;
        let started = Instant::now();
        let listen_addr = service_runtime
            .spawn({
                let host_ca = host_ca.clone();
                let revocations: std::sync::Arc<dyn oriel_cluster::accept::PeerCheck> = std::sync::Arc::new(plane.clone());
                async move {
                    // The tunnel lives as long as the service runtime.
                    let _count = agent_tunnel::start(agent.clone(), vec![tunnel_addr.to_string()], agent_client_tls, host_ca.clone());
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    let addr = listener.local_addr()?;
                    tokio::spawn(agent_listener::serve(listener, agent, agent_server_tls, host_ca, revocations, Default::default()));
                    anyhow::Ok(addr)
                }
            })
            .await??;
        while registry.hosts().is_empty() {
            if started.elapsed() > TUNNEL_PATIENCE {
                bail!("the service's reverse tunnel did not come up within {TUNNEL_PATIENCE:?} (ORIEL_LOG=info tells why)");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let tunnel_up = started.elapsed();
        if registry.hosts() != [desktop.name()] {
            bail!("the tunnel registered as {:?}, not {:?}", registry.hosts(), desktop.name());
        }

        // Where the direct dial finds the service, as its heartbeat would record it.
        let mut record = plane.store().desktop(DesktopKind::Linux, desktop.name()).await?;
        record.addr = listen_addr.to_string();
        plane.store().put_desktop(&record).await?;

        let proxy_client_tls = tls::client_config(&host_ca, proxy_identity)?;
        Ok(Self {
            tunnel: ClusterDialer::new(registry, plane.clone(), proxy_client_tls.clone(), host_ca.clone()),
            direct: ClusterDialer::new(TunnelRegistry::default(), plane, proxy_client_tls, host_ca),
            tunnel_up,
        })
    }
}

fn render(paths: &[Route], cluster: &Cluster, seconds: f64) -> String {
    let mut latencies =
        Table::new(&["path", "keys", "first rect p50 ms", "p90", "p99", "max", "frame decoded p50 ms", "p90", "p99", "max", "keys with no frame"]);
    for path in paths {
        let mut cells = vec![path.name.to_owned()];
        cells.extend(latency::cells_of(&path.latencies));
        latencies.row(cells);
    }
    let mut throughput = Table::new(&[
        "path",
        "scenario",
        "s",
        "frames/s",
        "rects/frame",
        "KB/s",
        "process CPU %",
        "desktop side %",
        "of which frame loop %",
        "proxy side %",
        "client %",
        "Xvfb %",
        "machine % (of 200)",
        "notes",
    ]);
    for path in paths {
        for o in &path.outcomes {
            let wall = o.wall.as_secs_f64();
            let (c, cpu) = (&o.counters, &o.cpu);
            let per_frame = |v: f64| if c.frames == 0 { f64::NAN } else { v / c.frames as f64 };
            throughput.row(vec![
                path.name.to_owned(),
                o.name.clone(),
                num(wall, 1),
                num(c.frames as f64 / wall, 1),
                num(per_frame(c.rects as f64), 1),
                kb(c.bytes as f64 / wall),
                num((cpu.service + cpu.proxy + cpu.client) * 100.0, 1),
                num(cpu.service * 100.0, 1),
                num(cpu.frame_loop * 100.0, 1),
                num(cpu.proxy * 100.0, 1),
                num(cpu.client * 100.0, 1),
                num(cpu.xvfb * 100.0, 1),
                num(cpu.machine * 100.0, 0),
                o.note.clone(),
            ]);
        }
    }
    let dials: Vec<String> = paths.iter().filter_map(|p| p.dial.map(|d| format!("{}: {} ms", p.name, num(d.as_secs_f64() * 1e3, 1)))).collect();
    format!(
        "## relay\n\nOne 1920x1080 session (openbox, xterm), CODEC_QOIZ_SESSION, reached three ways; the proxy's side on threads of \
         its own, the service's on the service runtime, all in this process. Latency: key press to echo in the idle xterm, as in \
         `latency`. Throughput: ~{seconds} s of each scenario, the client decoding and acknowledging every frame; KB/s are TDPB \
         bytes received; CPU % is of one core (desktop side = the process minus the client thread and the proxy's threads).\n\n{}\n{}\n\
         The service's tunnel was in the proxy's registry {} ms after it started. Opening the session (the dialer's call until \
         it returned the stream): {}.\n",
        latencies.render(),
        throughput.render(),
        num(cluster.tunnel_up.as_secs_f64() * 1e3, 1),
        dials.join("; "),
    )
}
