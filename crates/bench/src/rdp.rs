//! `rdp`: a Windows desktop's path beside a Linux desktop's, on the same
//! desktop (openbox and the bench's xterm on a 1920x1080 Xvfb) and the same
//! workloads: typing, dragging a window, `seq` in a full-screen xterm, and
//! key to frame latency. The RDP host is FreeRDP's shadow server (Debian's
//! freerdp2-shadow-x11, NLA) serving that Xvfb; the service reaches it
//! through its Windows session process, `oriel-rdp-session`; the bench is
//! the browser, decoding and acknowledging every frame on both paths.

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

/// CPU of the RDP path over one workload: the service (this process, the
/// client's thread left out, and the Windows session process) and the host
/// (Xvfb and the RDP server, which a Windows host pays for itself).
struct RdpCpu {
    started: Instant,
    service: Duration,
    session_pid: i32,
    session: Duration,
    host: Duration,
    pids: [i32; 2],
}

impl RdpCpu {
    fn start(session_pid: i32, host: &RdpHost) -> Self {
        let pids = [host.xvfb_pid, host.shadow_pid];
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

    // The RDP path on the same desktop.
    let dir = tempfile::Builder::new().prefix("oriel-bench-rdp-").tempdir()?;
    let host = RdpHost::start(dir.path())?;
    let desktop = Desktop::windows(service_runtime, host.desktop(), dir).await?;
    let mut session = Session::start_rdp(service_runtime, &desktop, host.display.clone(), host.xvfb_pid, Codec::QoizSession).await?;
    // The kernel keeps 15 bytes of a command name.
    let session_pid = cpu::find_descendant("oriel-rdp-sessi").context("cannot find the oriel-rdp-session process")?;
    let rdp = async {
        let mut measured = Vec::new();
        for workload in 0..3 {
            let meter = RdpCpu::start(session_pid, &host);
            let outcome = match workload {
                0 => scenarios::typing(&mut session, length).await?,
                1 => scenarios::drag(&mut session, length).await?,
                _ => scenarios::seq(&mut session, length, Duration::ZERO).await?,
            };
            let (service, host_cpu) = meter.stop();
            measured.push((outcome, service, host_cpu));
        }
        session.focus_terminal().await?;
        let keys = latency::measure(&mut session.browser, rounds).await?;
        anyhow::Ok((measured, keys))
    }
    .await;
    let closed = session.close().await;
    drop(host);
    let (rdp, rdp_keys) = rdp?;
    closed?;

    for ((l, l_service, l_host), (r, r_service, r_host)) in linux.iter().zip(&rdp) {
        for (path, o, service, host) in [("Linux (Xvfb, in place)", l, l_service, l_host), ("RDP (shadow server)", r, r_service, r_host)] {
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
    for (path, keys) in [("Linux (Xvfb, in place)", &linux_keys), ("RDP (shadow server)", &rdp_keys)] {
        let mut cells = vec![path.to_owned()];
        cells.extend(latency::cells_of(keys));
        latencies.row(cells);
    }
    Ok(format!(
        "## rdp\n\n1920x1080, CODEC_QOIZ_SESSION, ~{seconds} s per workload, the same openbox and xterm on both paths. \
         Service CPU: the desktop service (this process without the client's thread) and its session process \
         (Linux: capture and encode; RDP: `oriel-rdp-session`, RDP decoding and encoding). Host CPU: Xvfb, \
         plus on RDP the shadow server (what a Windows host spends on RDP itself). Bytes are TDPB bytes received.\n\n{}\n\
         Key to frame, {rounds} keys into the idle xterm, in-process pipe:\n\n{}",
        rows.render(),
        latencies.render()
    ))
}
