//! Oriel as a real deployment on loopback, one process per host: A runs the
//! auth service and the proxy; B, C and D each run a Linux desktop service
//! alone and join A with a one-time token. Sessions reach B and C through
//! the reverse tunnels they keep to A, and D (which has no proxy_server)
//! through the proxy dialling it. A desktop whose service dies leaves the
//! listings; a tunnel comes back by itself after A restarts; a used token
//! joins nobody. Two auth-and-proxy processes sharing a PostgreSQL store
//! are two proxies of one cluster, and a host keeps a tunnel to each.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::SinkExt as _;
use oriel_tdpb::Payload;

use support::{PATIENCE, Process, Web, hello, until};

/// The auth service and the proxy (host A).
struct Control {
    process: Process,
    web: Web,
    auth: SocketAddr,
    tunnel: SocketAddr,
    dir: PathBuf,
}

impl Control {
    /// Starts A on the ports of `listen` (port 0: any), logging to `log` in
    /// `dir`, and returns it with the invite link the first start prints.
    fn start(dir: &Path, log: &str, listen: Option<(SocketAddr, SocketAddr, SocketAddr)>) -> (Self, Option<String>) {
        Self::start_on(dir, log, listen, None)
    }

    /// [`Control::start`] with the control plane on `storage` (a postgres:// URL).
    fn start_on(dir: &Path, log: &str, listen: Option<(SocketAddr, SocketAddr, SocketAddr)>, storage: Option<&str>) -> (Self, Option<String>) {
        let (auth, web, tunnel) = listen
            .map_or_else(|| ("127.0.0.1:0".into(), "127.0.0.1:0".into(), "127.0.0.1:0".into()), |(a, w, t)| (a.to_string(), w.to_string(), t.to_string()));
        let storage = storage.map(|s| format!("  storage: {s}\n")).unwrap_or_default();
        let config = format!(
            "version: v1\ndata_dir: {}\nauth_service:\n  listen_addr: {auth}\n{storage}proxy_service:\n  web_listen_addr: {web}\n  tunnel_listen_addr: {tunnel}\n",
            dir.join("data").display()
        );
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("oriel.yaml"), config).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_oriel"));
        command.arg("start").arg("--config").arg(dir.join("oriel.yaml")).arg("--web-dir").arg(support::web_dir(dir));
        let process = Process::spawn("A (auth and proxy)", &mut command, &dir.join(log));
        let address = |line: String, prefix: &str| -> SocketAddr {
            let rest = line.strip_prefix(prefix).unwrap();
            rest.split([' ', '/']).next().unwrap().parse().unwrap_or_else(|e| panic!("{e}: {line}"))
        };
        let auth = address(process.line("the auth service's address", |l| l.starts_with("Auth service API at ")), "Auth service API at ");
        let tunnel = address(process.line("the tunnel's address", |l| l.starts_with("Reverse tunnel at ")), "Reverse tunnel at ");
        let web = address(process.line("its URL", |l| l.starts_with("Oriel is ready at https://")), "Oriel is ready at https://");
        // The announcement is one write: an invite (printed until the admin
        // enrolls) would be here by now.
        let invite = process.line_within("an invite link", Duration::from_millis(500), |l| l.contains("/web/invite/"));
        let invite = invite.map(|line| line.rsplit('/').next().unwrap().to_owned());
        let web = Web::new(web, &dir.join("data"));
        (Self { process, web, auth, tunnel, dir: dir.to_owned() }, invite)
    }

    /// Kills A and starts it again on the same data dir and ports.
    fn restart(mut self) -> Self {
        self.process.kill();
        let (again, invite) = Self::start(&self.dir, "restarted.log", Some((self.auth, self.web.addr, self.tunnel)));
        assert_eq!(invite, None, "the admin has enrolled: no new invite");
        assert_eq!((again.auth, again.web.addr, again.tunnel), (self.auth, self.web.addr, self.tunnel));
        again
    }

    /// A one-time token for a Linux desktop service, and the CA pin.
    fn token(&self) -> (String, String) {
        let orielctl = Path::new(env!("CARGO_BIN_EXE_oriel")).with_file_name("orielctl");
        assert!(orielctl.exists(), "{} is missing: build it first (cargo build -p orielctl, or cargo test --workspace)", orielctl.display());
        let out = Command::new(orielctl).arg("--data-dir").arg(self.dir.join("data")).args(["tokens", "add", "--type=linux_desktop"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "orielctl tokens add failed: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let token = stdout.lines().find(|l| l.len() == 64).unwrap_or_else(|| panic!("no token in {stdout}"));
        let pin = stdout.lines().find_map(|l| l.trim().strip_prefix("ca_pin: ")).unwrap_or_else(|| panic!("no ca_pin in {stdout}"));
        (token.to_owned(), pin.to_owned())
    }

    /// The tunnel A accepted from `host`, as its log tells.
    fn tunnel_from(&self, host: &str) -> bool {
        self.process.log().lines().any(|l| l.contains("reverse tunnel up") && l.contains(host))
    }
}

/// A host running a Linux desktop service alone.
struct DesktopHost {
    process: Process,
    /// Its desktop's name: the service's UUID.
    name: String,
}

impl DesktopHost {
    /// Writes the host's oriel.yaml and starts it; `proxy` is A's tunnel
    /// address, or `None` to be dialled by the proxy instead.
    fn spawn(dir: &Path, env: &str, control: &Control, proxies: &[SocketAddr], (token, pin): &(String, String)) -> Process {
        let list = proxies.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let proxy = if proxies.is_empty() { String::new() } else { format!("proxy_server: [{list}]\n") };
        let config = format!(
            "version: v1\ndata_dir: {}\nauth_server: {}\n{proxy}join_token: {token}\nca_pin: {pin}\n\
             linux_desktop_service:\n  enabled: yes\n  listen_addr: 127.0.0.1:0\n  labels:\n    env: {env}\n",
            dir.join("data").display(),
            control.auth
        );
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("oriel.yaml"), config).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_oriel"));
        command
            .arg("start")
            .arg("--config")
            .arg(dir.join("oriel.yaml"))
            .arg("--xsessions-dir")
            .arg(support::probe_xsessions(dir))
            .env("ORIEL_HEARTBEAT_INTERVAL_MS", "500");
        Process::spawn(&format!("host {env}"), &mut command, &dir.join("oriel.log"))
    }

    fn start(dir: &Path, env: &str, control: &Control, proxies: &[SocketAddr], token: &(String, String)) -> Self {
        let process = Self::spawn(dir, env, control, proxies, token);
        let ready = process.line("that it is ready", |l| l.starts_with("Linux desktop service ") && l.contains(" is ready: "));
        let name = ready.trim_start_matches("Linux desktop service ").split(' ').next().unwrap().to_owned();
        Self { process, name }
    }
}

/// Lists the desktops until `wanted` holds of the listing, and returns it.
async fn listing_until(web: &Web, cookie: &str, what: &str, wanted: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let desktops = web.desktops(cookie).await;
        if wanted(&desktops) {
            return desktops;
        }
        assert!(Instant::now() < deadline, "{what}: not so after {PATIENCE:?}; the listing is {desktops:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn listed<'a>(desktops: &'a [serde_json::Value], host: &DesktopHost) -> Option<&'a serde_json::Value> {
    desktops.iter().find(|d| d["name"] == host.name.as_str())
}

/// A session to `host` starts (the service answers the hello and sends a
/// first frame of its screen) and, once the browser leaves, ends on the host.
async fn session_works(web: &Web, cookie: &str, host: &DesktopHost, login: &str) {
    let ended = || host.process.log().matches("desktop session ended").count();
    let before = ended();
    let mut socket = web.socket(cookie, &host.name, login).await.unwrap_or_else(|e| panic!("{}: {e}", host.name));
    socket.send(hello()).await.unwrap();
    until(&mut socket, "ServerHello", |p| matches!(p, Payload::ServerHello(_))).await;
    until(&mut socket, "a first frame", |p| matches!(p, Payload::FrameRect(_))).await;
    drop(socket);
    eventually(&format!("the session on {} ends when the browser leaves", host.name), || ended() > before).await;
}

/// Polls `check` until it holds.
async fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not so after {PATIENCE:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_hosts_join_tunnel_in_leave_when_dead_and_come_back_after_a_proxy_restart() {
    // Processes are dropped (killed) before `root`, so their logs can still be printed.
    let root = tempfile::tempdir().unwrap();
    let (mut a, invite) = Control::start(&root.path().join("a"), "oriel.log", None);
    let cookie = a.web.enroll(&invite.expect("the first start prints an invite link")).await;
    let (token_b, token_c, token_d) = (a.token(), a.token(), a.token());

    let b = DesktopHost::start(&root.path().join("b"), "b", &a, &[a.tunnel], &token_b);
    let mut c = DesktopHost::start(&root.path().join("c"), "c", &a, &[a.tunnel], &token_c);
    let desktops = listing_until(&a.web, &cookie, "B's and C's desktops are listed", |d| listed(d, &b).is_some() && listed(d, &c).is_some()).await;
    for (host, env) in [(&b, "b"), (&c, "c")] {
        let desktop = listed(&desktops, host).unwrap();
        assert_eq!(desktop["labels"]["env"], env, "{desktop:#}");
    }
    let login = listed(&desktops, &b).unwrap()["logins"][0].as_str().expect("the admin has a login").to_owned();

    // Each session reaches its own host: through the tunnel each keeps to A.
    session_works(&a.web, &cookie, &b, &login).await;
    session_works(&a.web, &cookie, &c, &login).await;
    for host in [&b, &c] {
        assert!(a.tunnel_from(&host.name), "A logged no tunnel from {}", host.name);
        assert!(host.process.log().contains("reverse tunnel up"), "{} logged no tunnel up", host.name);
    }

    // A host that dies leaves the listings; the others stay.
    c.process.kill();
    listing_until(&a.web, &cookie, "C's desktop is gone and B's is still listed", |d| listed(d, &c).is_none() && listed(d, &b).is_some()).await;

    // A restarts on the same ports: the login holds (web sessions are in
    // the store) and B's tunnel comes back by itself.
    a = a.restart();
    let me = a.web.http("GET", "/api/me", Some(&cookie), None).await;
    assert!(me.starts_with("HTTP/1.1 200"), "the cookie from before the restart: {me}");
    eventually("B dials its tunnel to the restarted A", || a.tunnel_from(&b.name)).await;
    listing_until(&a.web, &cookie, "B's desktop is listed again, C's is not", |d| listed(d, &b).is_some() && listed(d, &c).is_none()).await;
    session_works(&a.web, &cookie, &b, &login).await;

    // D has no proxy_server: the proxy dials its listen_addr.
    let d = DesktopHost::start(&root.path().join("d"), "d", &a, &[], &token_d);
    let desktops = listing_until(&a.web, &cookie, "D's desktop is listed", |ds| listed(ds, &d).is_some()).await;
    assert_eq!(listed(&desktops, &d).unwrap()["labels"]["env"], "d");
    session_works(&a.web, &cookie, &d, &login).await;
    assert!(!a.tunnel_from(&d.name), "D keeps no tunnel");

    // B's token is used up: a new host E cannot join with it.
    let mut e = DesktopHost::spawn(&root.path().join("e"), "e", &a, &[a.tunnel], &token_b);
    let status = e.exit_status();
    let log = e.log();
    assert!(!status.success(), "E joined with a used token: {log}");
    assert!(log.contains("the join token was already used"), "{log}");
    assert!(!log.contains(&token_b.0), "the token is not repeated: {log}");
    assert!(!root.path().join("e/data/host_credentials.pem").exists(), "E has no credentials");
}

/// Two auth-and-proxy processes on one PostgreSQL store are one cluster
/// with two proxies: a desktop host keeps a tunnel to each, and people
/// reach its desktop through either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desktop_host_keeps_a_tunnel_to_each_of_two_proxies() {
    let Some(url) = support::fresh_database("oriel_proxies").await else { return };
    let root = tempfile::tempdir().unwrap();
    let (first, invite) = Control::start_on(&root.path().join("p1"), "oriel.log", None, Some(&url));
    let cookie = first.web.enroll(&invite.expect("the first start prints an invite link")).await;
    let (second, _) = Control::start_on(&root.path().join("p2"), "oriel.log", None, Some(&url));
    let host = DesktopHost::start(&root.path().join("h"), "h", &first, &[first.tunnel, second.tunnel], &first.token());
    eventually("the host's tunnels reach both proxies", || first.tunnel_from(&host.name) && second.tunnel_from(&host.name)).await;

    // The web session is in the shared store: the same cookie works on both.
    for proxy in [&first, &second] {
        let desktops = listing_until(&proxy.web, &cookie, "the host's desktop is listed", |d| listed(d, &host).is_some()).await;
        let login = listed(&desktops, &host).unwrap()["logins"][0].as_str().expect("the admin has a login").to_owned();
        session_works(&proxy.web, &cookie, &host, &login).await;
    }
}
