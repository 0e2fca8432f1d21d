//! `rdp`: a Windows desktop's path beside a Linux desktop's, on the same
//! desktop (openbox and the bench's xterm on a 1920x1080 Xvfb) and the same
//! workloads: typing, dragging a window, `seq` in a full-screen xterm, and
//! key to frame latency. The RDP host is FreeRDP's shadow server (Debian's
//! freerdp2-shadow-x11, NLA) serving that Xvfb, and xrdp with its Xorg
//! backend running the same xsession (`scripts/xrdp-test-server`); the
//! service reaches each through its Windows session process,
//! `oriel-rdp-session`; the bench is the browser, decoding and
//! acknowledging every frame on every path.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oriel_linux_desktop::{RdpAccount, RdpDesktop};
use oriel_tdpb::pb::Codec;
use tokio::runtime::Runtime;

use crate::cpu;
use crate::desktop::{Desktop, Session, write_xsession};
use crate::latency;
use crate::report::{Table, kb, num};
use crate::scenarios::{self, Outcome};
use crate::xclients::{self, Display};

const HOST_USER: &str = "bench-rdp";
const HOST_PASSWORD: &str = "bench rdp password";

/// An Xvfb with the bench's xsession on it, shown by the shadow server.
struct RdpHost {
    children: Vec<Child>,
    display: Display,
    xvfb_pid: i32,
    shadow_pid: i32,
    port: u16,
    certificate_pem: String,
    _home: tempfile::TempDir,
}

impl Drop for RdpHost {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl RdpHost {
    /// Starts it, with the xsession writing its display file into `dir`.
    fn start(dir: &std::path::Path) -> anyhow::Result<Self> {
        for (program, package) in [("freerdp-shadow-cli", "freerdp2-shadow-x11"), ("winpr-hash", "winpr-utils")] {
            if Command::new("which").arg(program).stdout(Stdio::null()).status().map(|s| !s.success()).unwrap_or(true) {
                bail!("{program} is missing: install {package} (scripts/install-deps)");
            }
        }
        let home = tempfile::tempdir()?;
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut number = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(xvfb.stdout.take().context("Xvfb's stdout")?), &mut number)?;
        let xvfb_pid = xvfb.id() as i32;
        let mut children = vec![xvfb];
        let display = Display { name: format!(":{}", number.trim()), xauthority: "/dev/null".into() };
        write_xsession(dir)?;
        children.push(
            Command::new("/bin/sh")
                .arg(dir.join("xsession.sh"))
                .env("DISPLAY", &display.name)
                .env("XAUTHORITY", "/dev/null")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let sam = Command::new("winpr-hash").args(["-u", HOST_USER, "-p", HOST_PASSWORD, "-f", "sam"]).output()?;
        std::fs::write(home.path().join("sam"), &sam.stdout)?;
        let certificate = home.path().join(".config/freerdp/shadow/shadow.crt");
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            let mut shadow = Command::new("freerdp-shadow-cli")
                .args(["/bind-address:127.0.0.1", &format!("/port:{port}"), "+auth", "/sec:nla"])
                .arg(format!("/sam-file:{}", home.path().join("sam").display()))
                .env("HOME", home.path())
                .env_remove("XDG_CONFIG_HOME")
                .env("DISPLAY", &display.name)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            let deadline = Instant::now() + Duration::from_secs(30);
            while !(certificate.is_file() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()) {
                if shadow.try_wait()?.is_some() || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if shadow.try_wait()?.is_none() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let shadow_pid = shadow.id() as i32;
                children.push(shadow);
                let certificate_pem = std::fs::read_to_string(&certificate)?;
                return Ok(Self { children, display, xvfb_pid, shadow_pid, port, certificate_pem, _home: home });
            }
            let _ = shadow.kill();
            let _ = shadow.wait();
        }
        bail!("the shadow server did not listen")
    }

    fn desktop(&self) -> RdpDesktop {
        let account = RdpAccount { username: HOST_USER.into(), password: HOST_PASSWORD.into(), domain: String::new() };
        RdpDesktop {
            addr: format!("127.0.0.1:{}", self.port),
            server_name: "127.0.0.1".into(),
            certificate_pem: self.certificate_pem.clone(),
            ca_pem: String::new(),
            accounts: BTreeMap::from([("bench".to_owned(), account)]),
        }
    }
}

/// xrdp with its Xorg backend (`scripts/xrdp-test-server`) running the
/// bench's xsession: a host that sends what its X server draws as it draws
/// it (xorgxrdp), where the shadow server polls its screen. TLS with the
/// test CA's certificate; xrdp has no NLA.
struct XrdpHost {
    script: std::path::PathBuf,
    server_dir: String,
    port: u16,
    user: String,
    password: String,
    ca_pem: String,
}

impl Drop for XrdpHost {
    fn drop(&mut self) {
        let _ = Command::new(&self.script).args(["stop", &self.server_dir]).stdout(Stdio::null()).status();
    }
}

impl XrdpHost {
    /// Starts it; its session runs the xsession [`write_xsession`] wrote in `dir`.
    fn start(dir: &std::path::Path) -> anyhow::Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/xrdp-test-server");
        write_xsession(dir)?;
        // xrdp's sessions may run without XAUTHORITY (its cookie is in the
        // home's .Xauthority): the xsession reports where it is.
        let wrapper = dir.join("xrdp-session.sh");
        std::fs::write(&wrapper, format!("export XAUTHORITY=\"${{XAUTHORITY:-$HOME/.Xauthority}}\"\nexec /bin/sh '{}'\n", dir.join("xsession.sh").display()))?;
        // The session runs as xrdp's account: it reads the scripts and reports its display here.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))?;
        let output = Command::new(&script)
            .arg("start")
            .env("ORIEL_TEST_XRDP_SESSION", &wrapper)
            .stderr(Stdio::inherit())
            .output()
            .context("running scripts/xrdp-test-server")?;
        if !output.status.success() {
            bail!("scripts/xrdp-test-server start failed (it needs root and scripts/install-deps)");
        }
        let text = String::from_utf8(output.stdout)?;
        let var = |name: &str| -> anyhow::Result<String> {
            let prefix = format!("export ORIEL_TEST_XRDP_{name}='");
            let line = text.lines().find_map(|line| line.strip_prefix(&prefix)).with_context(|| format!("no {name} from xrdp-test-server"))?;
            Ok(line.trim_end_matches('\'').to_owned())
        };
        Ok(Self {
            server_dir: var("DIR")?,
            port: var("PORT")?.parse()?,
            user: var("USER")?,
            password: var("PASSWORD")?,
            ca_pem: std::fs::read_to_string(var("CA")?)?,
            script,
        })
    }

    fn desktop(&self) -> RdpDesktop {
        let account = RdpAccount { username: self.user.clone(), password: self.password.clone(), domain: String::new() };
        RdpDesktop {
            addr: format!("127.0.0.1:{}", self.port),
            server_name: "127.0.0.1".into(),
            certificate_pem: String::new(),
            ca_pem: self.ca_pem.clone(),
            accounts: BTreeMap::from([("bench".to_owned(), account)]),
        }
    }

    /// Every process of the host: xrdp, sesman, and the session's Xorg,
    /// chansrv and clients, all in the server's mount namespace.
    fn pids(&self) -> Vec<i32> {
        let Ok(namespace) = std::fs::read_to_string(std::path::Path::new(&self.server_dir).join("ns")) else { return Vec::new() };
        let namespace = namespace.trim();
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/mnt")).is_ok_and(|link| link.to_string_lossy() == namespace))
            .collect()
    }

    /// The session's X server.
    fn x_server(&self) -> Option<i32> {
        self.pids().into_iter().find(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "Xorg"))
    }
}

/// CPU of the RDP path over one workload: the service (this process, the
/// client's thread left out, and the Windows session process) and the host
/// (Xvfb and the RDP server, which a Windows host pays for itself).
struct RdpCpu {
    started: Instant,
    service: Duration,
    session_pid: i32,
    session: Duration,
    host: Duration,
    pids: Vec<i32>,
}

impl RdpCpu {
    /// Measures from now: the service, its session process, and the host's `pids`.
    fn start(session_pid: i32, pids: Vec<i32>) -> Self {
        Self {
            started: Instant::now(),
            service: cpu::process().saturating_sub(cpu::this_thread()),
            session_pid,
            session: cpu::of_process(session_pid),
            host: pids.iter().map(|&p| cpu::of_process(p)).sum(),
            pids,
        }
    }

    /// (service, host) shares of one core.
    fn stop(self) -> (f64, f64) {
        let wall = self.started.elapsed().as_secs_f64();
        let service =
            cpu::process().saturating_sub(cpu::this_thread()).saturating_sub(self.service) + cpu::of_process(self.session_pid).saturating_sub(self.session);
        let host: Duration = self.pids.iter().map(|&p| cpu::of_process(p)).sum::<Duration>().saturating_sub(self.host);
        (service.as_secs_f64() / wall, host.as_secs_f64() / wall)
    }
}

/// The three workloads and key latency on an RDP `session`, with CPU from
/// the service, its `oriel-rdp-session` and the host's `host_pids`.
async fn rdp_path(session: &mut Session, host_pids: &[i32], length: Duration, rounds: usize) -> anyhow::Result<(Vec<(Outcome, f64, f64)>, latency::Latencies)> {
    // The kernel keeps 15 bytes of a command name.
    let session_pid = cpu::find_descendant("oriel-rdp-sessi").context("cannot find the oriel-rdp-session process")?;
    let mut measured = Vec::new();
    for workload in 0..3 {
        let meter = RdpCpu::start(session_pid, host_pids.to_vec());
        let outcome = match workload {
            0 => scenarios::typing(session, length).await?,
            1 => scenarios::drag(session, length).await?,
            _ => scenarios::seq(session, length, Duration::ZERO).await?,
        };
        let (service, host_cpu) = meter.stop();
        measured.push((outcome, service, host_cpu));
    }
    session.focus_terminal().await?;
    let keys = latency::measure(&mut session.browser, rounds).await?;
    Ok((measured, keys))
}

/// The three workloads on `session`, each with its CPU shares from `cpu_of`.
async fn workloads(
    session: &mut Session,
    length: Duration,
    mut cpu_of: impl FnMut(Outcome) -> (Outcome, f64, f64),
) -> anyhow::Result<Vec<(Outcome, f64, f64)>> {
    let mut out = Vec::new();
    out.push(cpu_of(scenarios::typing(session, length).await?));
    out.push(cpu_of(scenarios::drag(session, length).await?));
    out.push(cpu_of(scenarios::seq(session, length, Duration::ZERO).await?));
    Ok(out)
}

pub async fn run(service_runtime: &Runtime, seconds: f64, rounds: usize) -> anyhow::Result<String> {
    xclients::require()?;
    let length = Duration::from_secs_f64(seconds);
    let mut rows = Table::new(&["workload", "path", "frames/s", "KB/s", "KB/frame", "service CPU %", "host CPU %", "notes"]);
    let mut latencies =
        Table::new(&["path", "keys", "first rect p50 ms", "p90", "p99", "max", "frame decoded p50 ms", "p90", "p99", "max", "keys with no frame"]);

    // The Linux path: the service's own session process capturing its Xvfb.
    let mut session = Session::start(service_runtime, 1920, 1080, Codec::QoizSession).await?;
    let linux = async {
        let measured = workloads(&mut session, length, |o| {
            let (service, host) = (o.cpu.service, o.cpu.xvfb);
            (o, service, host)
        })
        .await?;
        session.focus_terminal().await?;
        let keys = latency::measure(&mut session.browser, rounds).await?;
        anyhow::Ok((measured, keys))
    }
    .await;
    let closed = session.close().await;
    let (linux, linux_keys) = linux?;
    closed?;

    // The RDP path on the same desktop, through FreeRDP's shadow server.
    let dir = tempfile::Builder::new().prefix("oriel-bench-rdp-").tempdir()?;
    let host = RdpHost::start(dir.path())?;
    let desktop = Desktop::windows(service_runtime, host.desktop(), dir).await?;
    let mut session = Session::start_rdp(service_runtime, &desktop, host.display.clone(), host.xvfb_pid, Codec::QoizSession).await?;
    let shadow = rdp_path(&mut session, &[host.xvfb_pid, host.shadow_pid], length, rounds).await;
    let closed = session.close().await;
    drop(host);
    let (shadow, shadow_keys) = shadow?;
    closed?;

    // And through xrdp, whose Xorg backend sends what is drawn as it is drawn.
    let xrdp_dir = tempfile::Builder::new().prefix("oriel-bench-xrdp-").tempdir()?;
    let xrdp_host = XrdpHost::start(xrdp_dir.path())?;
    let session_dir = xrdp_dir.path().to_owned();
    let desktop = Desktop::windows(service_runtime, xrdp_host.desktop(), tempfile::Builder::new().prefix("oriel-bench-rdp-").tempdir()?).await?;
    let mut session = Session::start_rdp_reported(service_runtime, &desktop, &session_dir, || xrdp_host.x_server(), Codec::QoizSession).await?;
    let xrdp = rdp_path(&mut session, &xrdp_host.pids(), length, rounds).await;
    let closed = session.close().await;
    drop(xrdp_host);
    let (xrdp, xrdp_keys) = xrdp?;
    closed?;

    const PATHS: [&str; 3] = ["Linux (Xvfb, in place)", "RDP (shadow server)", "RDP (xrdp, Xorg)"];
    for (i, ((l, l_service, l_host), (s_, s_service, s_host))) in linux.iter().zip(&shadow).enumerate() {
        let (x, x_service, x_host) = &xrdp[i];
        for (path, o, service, host) in [(PATHS[0], l, l_service, l_host), (PATHS[1], s_, s_service, s_host), (PATHS[2], x, x_service, x_host)] {
            let wall = o.wall.as_secs_f64();
            let c = &o.counters;
            let per_frame = if c.frames == 0 { f64::NAN } else { c.bytes as f64 / c.frames as f64 };
            rows.row(vec![
                l.name.clone(),
                path.to_owned(),
                num(c.frames as f64 / wall, 1),
                kb(c.bytes as f64 / wall),
                kb(per_frame),
                num(service * 100.0, 1),
                num(host * 100.0, 1),
                o.note.clone(),
            ]);
        }
    }
    for (path, keys) in PATHS.iter().zip([&linux_keys, &shadow_keys, &xrdp_keys]) {
        let mut cells = vec![(*path).to_owned()];
        cells.extend(latency::cells_of(keys));
        latencies.row(cells);
    }
    Ok(format!(
        "## rdp\n\n1920x1080, CODEC_QOIZ_SESSION, ~{seconds} s per workload, the same openbox and xterm on both paths. \
         Service CPU: the desktop service (this process without the client's thread) and its session process \
         (Linux: capture and encode; RDP: `oriel-rdp-session`, RDP decoding and encoding). Host CPU: Xvfb, \
         plus on RDP the RDP server (the shadow server; xrdp with its Xorg, sesman and chansrv: what a Windows host spends on RDP itself). Bytes are TDPB bytes received.\n\n{}\n\
         Key to frame, {rounds} keys into the idle xterm, in-process pipe:\n\n{}",
        rows.render(),
        latencies.render()
    ))
}
