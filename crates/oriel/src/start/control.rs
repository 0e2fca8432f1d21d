//! The auth service and the proxy in one process, and this host's desktop
//! service too unless the file turns it off: the control plane's store, the
//! auth service's API (admin and cluster, one TLS port), the HTTPS web UI,
//! and the reverse tunnel listener desktop services on other hosts dial.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, bail};
use oriel_auth::ca::{HostIdentity, HostRole, PROXY_SERVER_NAME};
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::recordings::RecordingStorage;
use oriel_auth::storage::StorageLocation;
use oriel_auth::store::Store;
use oriel_backend::SystemClock;
use oriel_cluster::dialer::ClusterDialer;
use oriel_cluster::tunnel::TunnelRegistry;
use oriel_cluster::{HostCredentials, LiveIdentity};
use oriel_linux_desktop::{DesktopConfig, FrameConfig, LinuxDesktopService, SessionProgram};
use oriel_proxy::ProxyConfig;
use oriel_recorder::RecordingSpool;

use super::in_process::{Dialers, InProcess};
use super::{CLUSTER, StartArgs, announce, check_xsessions, shutdown_signal};
use crate::config::Config;

/// How long the proxy's own host certificate lasts. It is issued at each
/// start; rotation while running is not built yet.
const PROXY_CERT_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

pub async fn run(config: Config, args: StartArgs) -> anyhow::Result<()> {
    let desktop_config = config.linux_desktop_service;
    let proxy_config = config.proxy_service;
    let data_dir = config.data_dir.unwrap_or_else(oriel_auth::data_dir::default_dir);
    let web_dir = args.web_dir.unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/dist")));
    if !web_dir.join("index.html").exists() {
        bail!("the web client is not built in {}: run `npm --prefix web ci && npm --prefix web run build`", web_dir.display());
    }
    if desktop_config.enabled {
        check_xsessions(&args.xsessions_dirs, &desktop_config.xsessions);
    }

    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let storage = StorageLocation::choose(config.auth_service.storage.as_deref(), &data_dir)?;
    let backend = storage.open().await?;
    storage.record(&data_dir)?;
    tracing::info!(%storage, "control plane store open");
    let audit = oriel_auth::audit::AuditSettings { cluster_name: CLUSTER.into(), retention: config.auth_service.audit_retention };
    let recordings = match &config.auth_service.audit_sessions_uri {
        Some(uri) => RecordingStorage::from_uri(uri)?,
        None => RecordingStorage::in_directory(&data_dir.join("recordings"))?,
    };
    RecordingStorage::note(config.auth_service.audit_sessions_uri.as_deref(), &data_dir)
        .with_context(|| format!("noting audit_sessions_uri in {}", data_dir.display()))?;
    tracing::info!(location = recordings.location(), "session recordings kept");
    let plane = ControlPlane::new(Store::new(backend), Arc::new(SystemClock)).with_audit(audit).with_recordings(recordings);
    let login = crate::bootstrap::FirstLogin::choose();
    let invite = crate::bootstrap::bootstrap(&plane, &login).await.context("creating the default role and user")?;

    // The proxy's identity towards desktop services: a host certificate
    // of its own, for the tunnel listener and for dialling services.
    let ca = plane.cert_authority().await.context("loading the cluster's certificate authorities")?;
    let proxy_host = HostIdentity {
        host_id: "proxy".into(),
        role: HostRole::Proxy,
        dns_names: vec![PROXY_SERVER_NAME.into()],
        ips: vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)],
    };
    let issued = ca.issue_host(&proxy_host, PROXY_CERT_TTL, SystemTime::now()).context("issuing the proxy's certificate")?;
    let proxy_credentials = HostCredentials {
        cert_pem: issued.cert_pem,
        key_pem: issued.key_pem,
        host_ca_pem: ca.host_ca_pem().to_owned(),
        user_ca_pem: ca.user_ca_pem().to_owned(),
    };
    let proxy_identity = LiveIdentity::new(&proxy_credentials)?;
    let tunnels = TunnelRegistry::default();
    let tunnel_listener = tokio::net::TcpListener::bind(proxy_config.tunnel_listen_addr)
        .await
        .with_context(|| format!("cannot listen on {} (proxy_service.tunnel_listen_addr)", proxy_config.tunnel_listen_addr))?;
    let tunnel_listen = tunnel_listener.local_addr()?;
    let tunnel_tls = oriel_cluster::tls::server_config(ca.host_ca_pem(), proxy_identity.clone())?;
    tokio::spawn(oriel_cluster::tunnel::serve(
        tunnel_listener,
        tunnels.clone(),
        tunnel_tls,
        ca.host_ca_pem().to_owned(),
        Arc::new(plane.clone()),
        proxy_config.tunnel_connection_limits,
    ));
    let cluster = ClusterDialer::new(tunnels, plane.clone(), oriel_cluster::tls::client_config(ca.host_ca_pem(), proxy_identity)?, ca.host_ca_pem().to_owned());

    // One spool for every desktop this process serves: it delivers in order.
    let recording_spool = RecordingSpool::open(&data_dir.join("recording-spool"), Arc::new(plane.clone()))?;
    let local = if desktop_config.enabled {
        let name = crate::registration::host_uuid(&data_dir)?;
        let service = LinuxDesktopService::new(DesktopConfig {
            desktop_name: name.clone(),
            kind: oriel_rbac::DesktopKind::Linux,
            rdp: None,
            authority: Arc::new(plane.clone()),
            xsession_dirs: args.xsessions_dirs,
            xsession_filter: desktop_config.xsessions,
            runtime_dir: oriel_linux_desktop::login::runtime_dir(&data_dir),
            frames: FrameConfig::default(),
            session_program: SessionProgram::this_executable(&["session"])?,
            limits: desktop_config.limits,
            recordings: recording_spool.clone(),
            disconnect_grace: desktop_config.disconnect_grace,
            x_server: desktop_config.x_server,
        });
        let labels = crate::labels::Labels::start(desktop_config.labels, desktop_config.commands);
        tokio::spawn(crate::registration::heartbeat(Arc::new(plane.clone()), crate::registration::Registered::linux(&name, "in-process"), labels, None));
        Some(InProcess { service, name })
    } else {
        None
    };

    let windows = super::windows::WindowsDesktops::default();
    let host_id = crate::registration::host_uuid(&data_dir)?;
    super::windows::start(
        &config.windows_desktop_service,
        super::windows::Serving {
            authority: Arc::new(plane.clone()),
            registrar: Arc::new(plane.clone()),
            recordings: recording_spool,
            data_dir: data_dir.clone(),
            host_id: host_id.clone(),
            service_addr: "in-process".into(),
            tunnels: None,
        },
        &windows,
    )?;

    let identity = oriel_proxy::tls::load_or_create(&data_dir.join("tls"), &["localhost".into(), "127.0.0.1".into(), "::1".into()])
        .context("preparing the TLS certificate")?;
    let tls = oriel_proxy::tls::server_config(identity)?;
    let listen_addr = proxy_config.web_listen_addr;
    let listener = TcpListener::bind(listen_addr).with_context(|| format!("cannot listen on {listen_addr}"))?;
    let listen = listener.local_addr()?;

    let auth_listen_addr = config.auth_service.listen_addr;
    let auth_listener = TcpListener::bind(auth_listen_addr).with_context(|| format!("cannot listen on {auth_listen_addr}"))?;
    let auth_listen = auth_listener.local_addr()?;
    auth_listener.set_nonblocking(true)?;
    let auth_tls = oriel_admin::server::tls_config(&plane).await.context("preparing the auth service's API")?;
    let admin_settings = oriel_admin::operations::Settings::from_env(&format!("https://{listen}"));
    // Dropped when the API stops, which ends its streams (a graceful
    // shutdown waits for them).
    let (streams, _) = tokio::sync::watch::channel(());
    let routes = tonic::service::Routes::new(oriel_admin::server::service(plane.clone(), admin_settings))
        .add_service(oriel_cluster::auth_api::service(plane.clone(), streams.subscribe()));
    let (stop_auth, auth_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut auth_api = tokio::spawn(oriel_admin::server::serve(
        tokio::net::TcpListener::from_std(auth_listener)?,
        config.auth_service.connection_limits,
        auth_tls,
        routes,
        async move {
            let _ = auth_stopped.await;
            drop(streams);
        },
    ));
    let proxy = ProxyConfig {
        web_dir,
        cluster: CLUSTER.into(),
        public_addrs: proxy_config.public_addr.iter().cloned().collect(),
        recording_spool: RecordingSpool::open(&data_dir.join("proxy-recording-spool"), Arc::new(plane.clone()))?,
    };
    let dialers = Dialers { local, windows, cluster, plane: plane.clone(), host_id };
    let router = oriel_proxy::router(proxy, plane, Arc::new(dialers));

    tracing::info!(%listen, %auth_listen, %tunnel_listen, data_dir = %data_dir.display(), "oriel started");
    // Invite links are secrets: they go to stdout, for the person who
    // started Oriel, never into the log. Until the admin enrolls, every
    // start prints a fresh invite.
    let mut announcement = format!(
        "Auth service API at {auth_listen} (TLS; `orielctl auth sign` makes an admin identity).\n\
         Reverse tunnel at {tunnel_listen} (desktop services join with `orielctl tokens add --type=linux_desktop` or `--type=windows_desktop`).\n\
         Oriel is ready at https://{listen}/web (the certificate is self-signed).\n"
    );
    // Browsers refuse an IP address as a WebAuthn relying party.
    if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        announcement.push_str(&format!("Security keys and passkeys need a host name: on this host, open https://localhost:{}/web instead.\n", listen.port()));
    }
    if let Some(link) = invite {
        let created = if login.created_at_first_session { ", made on this host at the first session" } else { "" };
        announcement.push_str(&format!(
            "Set up the first user, {:?} (desktop login {:?}{created}), within an hour:\n  https://{listen}/web/invite/{}\n",
            link.user, login.name, link.secret
        ));
    }
    let shutdown = shutdown_signal();
    announce(&announcement);

    // The auth service's API failing stops Oriel too, rather than leave it half up.
    let served = tokio::select! {
        served = oriel_proxy::serve(listener, tls, router, proxy_config.connection_limits, shutdown) => served,
        ended = &mut auth_api => {
            ended.context("the auth service's API task")??;
            bail!("the auth service's API stopped");
        }
    };
    let _ = stop_auth.send(());
    served?;
    auth_api.await.context("the auth service's API task")??;
    tracing::info!("oriel stopped");
    Ok(())
}
