//! `heartbeats`: the auth service under many desktop services. The auth
//! service's API is served as `oriel start` serves it (admin and cluster
//! API on one mutual-TLS port, crates/oriel/src/start/control.rs) over
//! SQLite in a temporary directory, on threads of its own
//! ([`AUTH_THREADS`]). Each simulated desktop service holds a LinuxDesktop
//! host certificate from the cluster's CA and a `RemoteAuth`, so one TLS
//! connection of its own, as a real one on its own host; they all run on
//! other threads ([`DESKTOP_THREADS`]) of the same process.
//!
//! Phases: the real rate (every desktop every 15 s, start times spread),
//! saturation (every desktop as fast as it can), every desktop opening a
//! new connection at the same moment, and listing the desktops.
//! `ORIEL_BENCH_TRACE=1` prints the slow calls to stderr.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use oriel_auth::ca::{HostIdentity, HostRole, desktop_server_name};
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::store::Store;
use oriel_backend::{Options, SqliteBackend, SystemClock};
use oriel_cluster::proto::DesktopHeartbeat;
use oriel_cluster::remote_auth::RemoteAuth;
use oriel_cluster::{HostCredentials, LiveIdentity};
use oriel_rbac::DesktopKind;
use tokio::sync::oneshot;

use crate::cpu;
use crate::report::{Samples, Table, num};
use crate::side::Side;

/// The auth service's threads.
const AUTH_THREADS: &str = "oriel-auth";
/// The simulated desktop services' threads.
const DESKTOP_THREADS: &str = "bench-desktops";
/// How often a desktop service beats: `HEARTBEAT` in
/// crates/oriel/src/registration.rs.
const INTERVAL: Duration = Duration::from_secs(15);
/// How long one beat keeps the desktop listed: three intervals
/// (`MISSED_BEATS` there).
const TTL: Duration = Duration::from_secs(45);
/// `ORIEL_BENCH_TRACE=1` prints every call slower than this, with when it started.
const SLOW: Duration = Duration::from_millis(100);
/// Listings timed, for the median.
const LISTINGS: usize = 5;

pub async fn run(desktops: usize, seconds: f64, saturation_seconds: f64) -> anyhow::Result<String> {
    let auth = Side::new(AUTH_THREADS, 2)?;
    let agents = Side::new(DESKTOP_THREADS, 2)?;
    let dir = tempfile::Builder::new().prefix("oriel-bench-auth-").tempdir()?;
    let db = dir.path().join("oriel.db");
    let (plane, addr, _stop) = auth.spawn(serve(db.clone())).await??;

    let issuing = Instant::now();
    let ca = plane.cert_authority().await?;
    let mut credentials = Vec::with_capacity(desktops);
    for i in 0..desktops {
        let identity = HostIdentity { host_id: host_id(i), role: HostRole::LinuxDesktop, dns_names: vec![desktop_server_name(&host_id(i))], ips: vec![] };
        let issued = ca.issue_host(&identity, Duration::from_secs(24 * 3600), SystemTime::now())?;
        credentials.push(HostCredentials {
            cert_pem: issued.cert_pem,
            key_pem: issued.key_pem,
            host_ca_pem: ca.host_ca_pem().to_owned(),
            user_ca_pem: ca.user_ca_pem().to_owned(),
        });
    }
    let issuing = issuing.elapsed();
    // RemoteAuth's channel needs the runtime it will run on.
    let fleet = agents
        .spawn(async move { credentials.iter().enumerate().map(|(i, c)| SimulatedDesktop::new(i, addr, c)).collect::<anyhow::Result<Vec<_>>>() })
        .await??;

    let mut table = Table::new(&[
        "phase",
        "calls",
        "failed",
        "s",
        "calls/s",
        "p50 ms",
        "p90",
        "p99",
        "max",
        "auth CPU %",
        "auth CPU ms per call",
        "desktops' CPU %",
        "machine % (of 200)",
    ]);

    // The real rate.
    let length = Duration::from_secs_f64(seconds);
    let meter = Meter::start();
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + length;
    let count = fleet.len();
    let tasks: Vec<_> = fleet
        .iter()
        .enumerate()
        .map(|(i, desktop)| {
            let desktop = desktop.clone();
            let mut next = start + INTERVAL.mul_f64(i as f64 / count as f64);
            agents.spawn(async move {
                let mut calls = Vec::new();
                while next < end {
                    tokio::time::sleep_until(next.into()).await;
                    calls.push(desktop.beat().await);
                    next += INTERVAL;
                }
                calls
            })
        })
        .collect();
    let mut per_desktop = Vec::with_capacity(count);
    for task in tasks {
        per_desktop.push(task.await?);
    }
    let usage = meter.stop();
    let all: Vec<Call> = per_desktop.iter().flatten().cloned().collect();
    let first: Vec<Call> = per_desktop.iter().filter_map(|calls| calls.first().cloned()).collect();
    let later: Vec<Call> = per_desktop.iter().flat_map(|calls| calls.iter().skip(1).cloned()).collect();
    row(&mut table, &format!("real rate: each of {count} desktops every {} s, starts spread", INTERVAL.as_secs()), &all, Some(&usage));
    row(&mut table, "  of which each desktop's first call (TCP + TLS handshake + call)", &first, None);
    row(&mut table, "  of which later calls (connection open)", &later, None);
    let mut errors = Errors::default();
    errors.add(&all);
    let store_after_steady = store_size(&db);

    // Saturation.
    let length = Duration::from_secs_f64(saturation_seconds);
    let meter = Meter::start();
    let end = Instant::now() + length;
    let tasks: Vec<_> = fleet
        .iter()
        .map(|desktop| {
            let desktop = desktop.clone();
            agents.spawn(async move {
                let mut calls = Vec::new();
                while Instant::now() < end {
                    calls.push(desktop.beat().await);
                }
                calls
            })
        })
        .collect();
    let mut calls = Vec::new();
    for task in tasks {
        calls.extend(task.await?);
    }
    let usage = meter.stop();
    let auth_threads = cpu::count_threads(AUTH_THREADS);
    row(&mut table, &format!("saturation: all {count} as fast as they can"), &calls, Some(&usage));
    errors.add(&calls);

    // Every desktop dials again at once.
    let meter = Meter::start();
    let tasks: Vec<_> = fleet
        .iter()
        .map(|desktop| {
            let desktop = desktop.clone();
            agents.spawn(async move {
                match desktop.auth.reconnect() {
                    Ok(()) => desktop.beat().await,
                    Err(error) => Call { latency: Duration::ZERO, error: Some(error.to_string()) },
                }
            })
        })
        .collect();
    let mut calls = Vec::new();
    for task in tasks {
        calls.push(task.await?);
    }
    let usage = meter.stop();
    row(&mut table, &format!("all {count} open a new connection at the same moment, one call each"), &calls, Some(&usage));
    errors.add(&calls);

    // Listing, on the auth service's threads as `orielctl desktops ls` runs there.
    let listed = auth.spawn(listings(plane.clone())).await??;
    let store_after = store_size(&db);
    if std::env::var_os("ORIEL_BENCH_KEEP").is_some() {
        eprintln!("keeping {}", dir.keep().display());
    }

    let mut listing = Table::new(&["listing (on the auth service, SQLite)", "desktops returned", "median ms", "max ms"]);
    for (name, returned, samples) in &listed {
        listing.row(vec![name.clone(), returned.to_string(), num(samples.median(), 1), num(samples.max(), 1)]);
    }
    Ok(format!(
        "## heartbeats\n\n{count} simulated desktop services, each with its own LinuxDesktop host certificate and `RemoteAuth` \
         (one mutual-TLS connection each), calling `Heartbeat` on the auth service's API (admin + cluster API, one port, SQLite \
         synchronous=FULL) in this process. The auth service runs on 2 threads of its own, the desktops on 2 others: all share \
         the machine's cores. Latency is the `RemoteAuth::heartbeat` call as a desktop sees it. CPU % is of one core; auth = \
         its threads (workers and SQLite's blocking calls).\n\n{}\n{}\n\
         Issuing the {count} host certificates took {} s. Store: {} after the real-rate phase, {} at the end \
         ({count} desktops and their desktop services). The auth service had {auth_threads} threads right after the \
         saturation phase (2 workers; the rest is tokio's blocking pool, where SQLite calls run).{}\n",
        table.render(),
        listing.render(),
        num(issuing.as_secs_f64(), 1),
        store_after_steady,
        store_after,
        errors.render(),
    ))
}

/// The auth service's API as `oriel start` serves it, on a loopback port.
/// Dropping the sender stops it.
async fn serve(db: PathBuf) -> anyhow::Result<(ControlPlane, SocketAddr, oneshot::Sender<()>)> {
    let backend = SqliteBackend::open(db, Options::default()).await?;
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let tls = oriel_admin::server::tls_config(&plane).await?;
    let settings = oriel_admin::operations::Settings { proxy_url: "https://127.0.0.1:3080".into() };
    let (streams, _) = tokio::sync::watch::channel(());
    let routes = tonic::service::Routes::new(oriel_admin::server::service(plane.clone(), settings))
        .add_service(oriel_cluster::auth_api::service(plane.clone(), streams.subscribe()));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
            drop(streams);
        };
        if let Err(error) = oriel_admin::server::serve(listener, Default::default(), tls, routes, shutdown).await {
            eprintln!("the auth service's API stopped: {error}");
        }
    });
    Ok((plane, addr, stop))
}

/// A UUID-shaped host id, as real desktop services have.
fn host_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// One desktop service as the auth service sees it: its connection and its heartbeat.
#[derive(Clone)]
struct SimulatedDesktop {
    auth: RemoteAuth,
    beat: DesktopHeartbeat,
}

impl SimulatedDesktop {
    fn new(i: usize, addr: SocketAddr, credentials: &HostCredentials) -> anyhow::Result<Self> {
        let identity = LiveIdentity::new(credentials)?;
        let auth = RemoteAuth::new(&addr.to_string(), credentials, identity)?;
        let labels = HashMap::from([("env".to_owned(), "bench".to_owned()), ("rack".to_owned(), format!("r{:02}", i % 40))]);
        let beat = DesktopHeartbeat {
            hostname: format!("bench-host-{i:04}"),
            addr: format!("10.0.{}.{}:3022", i / 250, i % 250 + 1),
            labels,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            expires_after_ms: TTL.as_millis() as u64,
            ..Default::default()
        };
        Ok(Self { auth, beat })
    }

    async fn beat(&self) -> Call {
        let started = Instant::now();
        let result = self.auth.heartbeat(self.beat.clone()).await;
        let latency = started.elapsed();
        if latency > SLOW && std::env::var_os("ORIEL_BENCH_TRACE").is_some() {
            let at = (SystemTime::now() - latency).duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            eprintln!("{}: {} ms, from {:.3} s after the epoch", self.beat.hostname, latency.as_millis(), at.as_secs_f64());
        }
        Call { latency, error: result.err().map(|error| error.to_string()) }
    }
}

#[derive(Clone)]
struct Call {
    latency: Duration,
    error: Option<String>,
}

fn row(table: &mut Table, name: &str, calls: &[Call], usage: Option<&Usage>) {
    let mut latencies = Samples::default();
    for call in calls.iter().filter(|c| c.error.is_none()) {
        latencies.push(call.latency);
    }
    let ok = latencies.len();
    let mut cells = vec![name.to_owned(), calls.len().to_string(), (calls.len() - ok).to_string()];
    match usage {
        Some(u) => cells.extend([num(u.wall, 1), num(ok as f64 / u.wall, 1)]),
        None => cells.extend([String::new(), String::new()]),
    }
    cells.extend([latencies.median(), latencies.p90(), latencies.quantile(0.99), latencies.max()].map(|v| num(v, 1)));
    match usage {
        Some(u) => cells.extend([
            num(u.auth / u.wall * 100.0, 1),
            num(u.auth * 1e3 / ok.max(1) as f64, 2),
            num(u.desktops / u.wall * 100.0, 1),
            num(u.machine / u.wall * 100.0, 0),
        ]),
        None => cells.extend(std::iter::repeat_n(String::new(), 4)),
    }
    table.row(cells);
}

/// The distinct errors seen, with how often.
#[derive(Default)]
struct Errors(Vec<(String, usize)>);

impl Errors {
    fn add(&mut self, calls: &[Call]) {
        for error in calls.iter().filter_map(|c| c.error.as_ref()) {
            match self.0.iter_mut().find(|(e, _)| e == error) {
                Some((_, n)) => *n += 1,
                None => self.0.push((error.clone(), 1)),
            }
        }
    }

    fn render(&self) -> String {
        self.0.iter().map(|(error, n)| format!("\n\nFailed calls ({n}): {error}")).collect()
    }
}

/// CPU seconds over one phase.
struct Usage {
    wall: f64,
    auth: f64,
    desktops: f64,
    machine: f64,
}

struct Meter {
    started: Instant,
    auth: Duration,
    desktops: Duration,
    machine: Duration,
}

impl Meter {
    fn start() -> Self {
        Self { started: Instant::now(), auth: cpu::of_threads(AUTH_THREADS), desktops: cpu::of_threads(DESKTOP_THREADS), machine: cpu::machine_busy() }
    }

    fn stop(self) -> Usage {
        Usage {
            wall: self.started.elapsed().as_secs_f64(),
            auth: cpu::of_threads(AUTH_THREADS).saturating_sub(self.auth).as_secs_f64(),
            desktops: cpu::of_threads(DESKTOP_THREADS).saturating_sub(self.desktops).as_secs_f64(),
            machine: cpu::machine_busy().saturating_sub(self.machine).as_secs_f64(),
        }
    }
}

/// The desktops listed straight from the store, and as `orielctl desktops
/// ls` lists them on the auth host (the admin operation, which also renders
/// the table, JSON and YAML).
async fn listings(plane: ControlPlane) -> anyhow::Result<Vec<(String, usize, Samples)>> {
    let mut store = (0, Samples::default());
    let mut command = (0, Samples::default());
    let settings = oriel_admin::operations::Settings { proxy_url: "https://127.0.0.1:3080".into() };
    for _ in 0..LISTINGS {
        let started = Instant::now();
        store.0 = plane.store().desktops(DesktopKind::Linux).await?.len();
        store.1.push(started.elapsed());

        let started = Instant::now();
        let list = oriel_admin::proto::Command {
            command: Some(oriel_admin::proto::command::Command::ListDesktops(oriel_admin::proto::ListDesktops { kind: String::new() })),
        };
        let outcome = oriel_admin::operations::run(&plane, &settings, list).await.map_err(|f| anyhow::anyhow!("desktops ls: {f}"))?;
        command.1.push(started.elapsed());
        command.0 = outcome.table.context("desktops ls printed no table")?.rows.len();
    }
    Ok(vec![
        ("`plane.store().desktops(DesktopKind::Linux)`".into(), store.0, store.1),
        ("`orielctl desktops ls` on the auth host (the admin operation: table, JSON and YAML)".into(), command.0, command.1),
    ])
}

/// The SQLite file and its write-ahead log, for people.
fn store_size(db: &Path) -> String {
    let size = |suffix: &str| std::fs::metadata(format!("{}{suffix}", db.display())).map_or(0, |m| m.len());
    format!("{} KB in oriel.db + {} KB of WAL", size("") / 1000, size("-wal") / 1000)
}
