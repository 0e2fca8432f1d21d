//! `idle-sessions`: what an idle Xfce session costs this host, and how many
//! fit. Real Xfce sessions (the installed "Xfce Session" xsession) through
//! the real `LinuxDesktopService`, each with a client that decodes and
//! acknowledges its frames, added in steps; after each step the sessions
//! settle, then their CPU is measured over an interval and their memory
//! read from /proc. The ramp stops at a cap, at 80% of the machine's
//! memory in use, or when idle sessions take 80% of its CPUs.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oriel_linux_desktop::xsession::{SYSTEM_XSESSIONS, XsessionFilter};
use oriel_tdpb::pb::Codec;
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::browser::{Browser, Transport};
use crate::cpu;
use crate::desktop::Desktop;
use crate::report::{Samples, Table, num};

/// The xsession measured, by its desktop entry's Name=.
const XSESSION: &str = "Xfce Session";
/// Every session's screen, as in the other benchmarks.
const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
/// The programs whose running, all in one session, means Xfce is up
/// (startxfce4's failsafe session starts them last).
const UP: &[&str] = &["xfwm4", "xfce4-panel", "xfdesktop"];
/// How long one session gets to come up on a loaded machine.
const START_PATIENCE: Duration = Duration::from_secs(120);
/// The ramp stops once this share of the machine's memory is in use…
const MEMORY_LIMIT: f64 = 0.8;
/// …or once idle sessions take this share of its CPUs.
const CPU_LIMIT: f64 = 0.8;

/// The ramp's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Sessions of the first measured step (its breakdown is printed).
    pub first: usize,
    /// Sessions added per step after that.
    pub step: usize,
    /// No more sessions than this.
    pub max: usize,
    /// Quiet time after a step's last session came up, before measuring.
    pub settle: Duration,
    /// The measured interval.
    pub measure: Duration,
}

/// A session whose client runs on its own task, acknowledging frames.
struct Idle {
    client: JoinHandle<anyhow::Result<Browser>>,
    task: JoinHandle<Result<oriel_linux_desktop::SessionEnd, oriel_linux_desktop::SessionError>>,
}

/// One measured step.
struct Step {
    sessions: usize,
    wall: Duration,
    /// Summed over every session: Xvfb plus the login's processes.
    rss_kib: u64,
    pss_kib: u64,
    /// Per program (process name), summed over the sessions.
    by_program: BTreeMap<String, Usage>,
    /// CPU time over the interval, seconds: the sessions' processes, and
    /// the service process minus the clients' thread.
    session_cpu: f64,
    service_cpu: f64,
    client_cpu: f64,
    machine_cpu: f64,
    /// The service process (and the bench's clients, which share it).
    service_rss_kib: u64,
    service_pss_kib: u64,
    /// Frames the clients received and acknowledged during the interval.
    frames: u64,
    mem_total_kib: u64,
    mem_available_kib: u64,
    load: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    processes: usize,
    rss_kib: u64,
    pss_kib: u64,
    cpu: f64,
}

pub async fn run(service_runtime: &Runtime, settings: Settings) -> anyhow::Result<String> {
    crate::xclients::require()?;
    let filter = XsessionFilter { included: regex::Regex::new(&format!("^{}$", regex::escape(XSESSION)))?, excluded: None };
    let desktop = Desktop::with_xsessions(service_runtime, vec![SYSTEM_XSESSIONS.into()], filter).await?;
    if desktop.service.xsessions().is_empty() {
        bail!("no {XSESSION:?} in {SYSTEM_XSESSIONS}: run scripts/install-deps (it installs Xfce)");
    }
    let (stop, stopped) = watch::channel(false);
    // Frames all the clients received and acknowledged.
    let frames = Arc::new(AtomicU64::new(0));
    let mut sessions: Vec<Idle> = Vec::new();
    let mut starts = Samples::default();
    let mut steps: Vec<Step> = Vec::new();
    let mut why_stopped = format!("the cap of {} sessions", settings.max);
    let baseline = meminfo();
    let result = async {
        let mut target = settings.first.min(settings.max);
        loop {
            while sessions.len() < target {
                // Checked before every session, not once per step: a whole
                // step past the limit could leave the machine without memory.
                let (total, available) = meminfo();
                let used = 1.0 - available as f64 / total as f64;
                if used >= MEMORY_LIMIT {
                    why_stopped = format!("memory: {:.0}% of the machine's in use", used * 100.0);
                    break;
                }
                let started = Instant::now();
                match start(service_runtime, &desktop, sessions.len(), stopped.clone(), frames.clone()).await {
                    Ok(idle) => sessions.push(idle),
                    Err(error) => {
                        why_stopped = format!("session {} failed to start: {error:#}", sessions.len() + 1);
                        break;
                    }
                }
                starts.push(started.elapsed());
            }
            if sessions.is_empty() {
                bail!("{why_stopped}");
            }
            tokio::time::sleep(settings.settle).await;
            let step = measure(&sessions, &frames, desktop.user(), settings.measure).await?;
            let memory_used = 1.0 - step.mem_available_kib as f64 / step.mem_total_kib as f64;
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            let idle_cpu = (step.session_cpu + step.service_cpu) / step.wall.as_secs_f64();
            // A session failed to start, or memory ran short mid-step.
            let short = sessions.len() < target;
            steps.push(step);
            if short {
                break;
            }
            if memory_used >= MEMORY_LIMIT {
                why_stopped = format!("memory: {:.0}% of the machine's in use", memory_used * 100.0);
                break;
            }
            if idle_cpu >= CPU_LIMIT * cpus {
                why_stopped = format!("CPU: the idle sessions and the service took {:.0}% of one core", idle_cpu * 100.0);
                break;
            }
            if sessions.len() >= settings.max {
                break;
            }
            target = (sessions.len() + settings.step).min(settings.max);
        }
        anyhow::Ok(())
    }
    .await;
    let closed = close(sessions, stop).await;
    // What the sessions left behind, if anything: the service ends them all.
    let uid = login_uid(desktop.user())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut left = login_processes(uid).len();
    while left > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        left = login_processes(uid).len();
    }
    result?;
    closed?;
    Ok(render(&steps, &starts, &why_stopped, baseline, left, settings))
}

/// Opens session number `index` and waits until its Xfce is up and its
/// screen quiet, then hands its client to a task that acknowledges frames
/// until `stop`.
async fn start(service_runtime: &Runtime, desktop: &Desktop, index: usize, stop: watch::Receiver<bool>, frames: Arc<AtomicU64>) -> anyhow::Result<Idle> {
    let (client_end, task) = desktop.pipe(service_runtime);
    let mut browser = Browser::new(Transport::Stream(Box::pin(client_end)));
    browser.hello(WIDTH, HEIGHT, Codec::QoizSession).await?;
    let uid_deadline = Instant::now() + START_PATIENCE;
    let uid = loop {
        // The service creates the login with the first session.
        if let Ok(uid) = login_uid(desktop.user()) {
            break uid;
        }
        if Instant::now() > uid_deadline {
            bail!("the service never created the login {:?}", desktop.user());
        }
        browser.pump(Instant::now() + Duration::from_millis(100), |_| false).await?;
    };
    let deadline = Instant::now() + START_PATIENCE;
    while sessions_up(uid) <= index {
        if Instant::now() > deadline {
            let names: Vec<String> = login_processes(uid).iter().map(|p| p.name.clone()).collect();
            bail!("Xfce did not come up within {START_PATIENCE:?} (the login runs: {})", names.join(" "));
        }
        browser.pump(Instant::now() + Duration::from_millis(200), |_| false).await?;
    }
    browser.wait_quiet(Duration::from_secs(1), START_PATIENCE).await?;
    browser.take_counters();
    let client = tokio::spawn(async move {
        while !*stop.borrow() {
            // Wakes once a second to count; pump is never cut short, so no
            // ack is ever half written.
            browser.pump(Instant::now() + Duration::from_secs(1), |_| false).await?;
            frames.fetch_add(browser.take_counters().frames, Ordering::Relaxed);
        }
        Ok(browser)
    });
    Ok(Idle { client, task })
}

/// Ends every session as closed tabs would, and waits for the service to
/// stop them.
async fn close(sessions: Vec<Idle>, stop: watch::Sender<bool>) -> anyhow::Result<()> {
    let _ = stop.send(true);
    let mut tasks = Vec::new();
    for idle in sessions {
        // The client task may have failed; its browser goes either way.
        drop(idle.client.await);
        tasks.push(idle.task);
    }
    for task in tasks {
        match tokio::time::timeout(Duration::from_secs(30), task).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(error))) => bail!("a session ended with an error: {error}"),
            Ok(Err(join)) => bail!("a session task failed: {join}"),
            Err(_) => bail!("a session did not end within 30 s of its client leaving"),
        }
    }
    Ok(())
}

/// CPU over `interval`, then memory, of every session's processes.
async fn measure(sessions: &[Idle], frames: &AtomicU64, login: &str, interval: Duration) -> anyhow::Result<Step> {
    let uid = login_uid(login)?;
    let before = session_processes(uid);
    let cpu_before: HashMap<i32, Duration> = before.iter().map(|p| (p.pid, cpu::of_process(p.pid))).collect();
    let frames_before = frames.load(Ordering::Relaxed);
    let (process, thread, machine) = (cpu::process(), cpu::this_thread(), cpu::machine_busy());
    let started = Instant::now();
    tokio::time::sleep(interval).await;
    let wall = started.elapsed();
    // The clients run on this thread (the driver's runtime is current-thread).
    let client = cpu::this_thread().saturating_sub(thread);
    let service = cpu::process().saturating_sub(process).saturating_sub(client);
    let machine = cpu::machine_busy().saturating_sub(machine);
    let frames = frames.load(Ordering::Relaxed).saturating_sub(frames_before);
    let after = session_processes(uid);
    let mut by_program: BTreeMap<String, Usage> = BTreeMap::new();
    let (mut rss_kib, mut pss_kib, mut session_cpu) = (0, 0, 0.0);
    for process in &after {
        // A process that started during the interval counts whole.
        let cpu = cpu::of_process(process.pid).saturating_sub(cpu_before.get(&process.pid).copied().unwrap_or_default()).as_secs_f64();
        let (rss, pss) = smaps_rollup(process.pid);
        let usage = by_program.entry(process.name.clone()).or_default();
        usage.processes += 1;
        usage.rss_kib += rss;
        usage.pss_kib += pss;
        usage.cpu += cpu;
        rss_kib += rss;
        pss_kib += pss;
        session_cpu += cpu;
    }
    let (service_rss_kib, service_pss_kib) = smaps_rollup(std::process::id() as i32);
    let memory = meminfo();
    Ok(Step {
        sessions: sessions.len(),
        wall,
        rss_kib,
        pss_kib,
        by_program,
        session_cpu,
        service_cpu: service.as_secs_f64(),
        client_cpu: client.as_secs_f64(),
        machine_cpu: machine.as_secs_f64(),
        service_rss_kib,
        service_pss_kib,
        frames,
        mem_total_kib: memory.0,
        mem_available_kib: memory.1,
        load: cpu::load_average("").trim_end().to_owned(),
    })
}

/// A process on this host.
struct Process {
    pid: i32,
    name: String,
}

/// The processes of every session: every process of the login (the
/// session process's unprivileged part, which captures and encodes, its
/// Xvfb and the desktop) and the root part of each session process (a
/// child of the service, which runs in this process).
fn session_processes(uid: u32) -> Vec<Process> {
    let me = std::process::id() as i32;
    all_processes()
        .into_iter()
        .filter(|(_, status)| status.uid == uid || (status.ppid == me && status.name.starts_with("oriel-desktop")))
        .map(|(pid, status)| Process { pid, name: status.name })
        .collect()
}

fn login_processes(uid: u32) -> Vec<Process> {
    all_processes().into_iter().filter(|(_, s)| s.uid == uid).map(|(pid, s)| Process { pid, name: s.name }).collect()
}

/// How many sessions of the login run every program of [`UP`]: sessions
/// are told apart by their mark (`ORIEL_SESSION`), which children inherit.
fn sessions_up(uid: u32) -> usize {
    let mut programs: HashMap<String, Vec<&str>> = HashMap::new();
    for process in login_processes(uid) {
        let Some(name) = UP.iter().find(|p| **p == process.name) else { continue };
        let Ok(environ) = std::fs::read(format!("/proc/{}/environ", process.pid)) else { continue };
        let mark = environ.split(|&b| b == 0).find_map(|var| var.strip_prefix(b"ORIEL_SESSION=")).map(|m| String::from_utf8_lossy(m).into_owned());
        if let Some(mark) = mark {
            programs.entry(mark).or_default().push(name);
        }
    }
    programs.values().filter(|names| UP.iter().all(|p| names.contains(p))).count()
}

/// What /proc/<pid>/status says, the fields used here.
struct Status {
    name: String,
    ppid: i32,
    /// The real uid.
    uid: u32,
}

fn all_processes() -> Vec<(i32, Status)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            // A process may end between listing and reading: it is skipped.
            let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
            let name = field("Name:")?.to_owned();
            let ppid = field("PPid:")?.parse().ok()?;
            let uid = field("Uid:")?.split_whitespace().next()?.parse().ok()?;
            Some((pid, Status { name, ppid, uid }))
        })
        .collect()
}

/// Rss and Pss of a process, KiB. Pss shares each page among the processes
/// mapping it, so shared libraries and the capture's shared memory are
/// counted once over all sessions, not once per process.
fn smaps_rollup(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field =
        |key: &str| -> u64 { text.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0) };
    (field("Rss:"), field("Pss:"))
}

/// MemTotal and MemAvailable, KiB.
fn meminfo() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field =
        |key: &str| -> u64 { text.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0) };
    (field("MemTotal:"), field("MemAvailable:"))
}

/// The login's uid, from the host's user database.
fn login_uid(login: &str) -> anyhow::Result<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == login).then(|| fields.nth(1)?.parse().ok()).flatten()
        })
        .with_context(|| format!("no user {login:?} on this host"))
}

fn mib(kib: f64) -> String {
    num(kib / 1024.0, 1)
}

fn render(steps: &[Step], starts: &Samples, why_stopped: &str, baseline: (u64, u64), left: usize, settings: Settings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## idle-sessions\n");
    let _ = writeln!(
        out,
        "Idle \"{XSESSION}\" sessions at {WIDTH}x{HEIGHT}, all of the login `bench`, each with a client that decodes and acks \
         its frames. First step {} sessions, then +{} up to {}; {:.0} s settle, {:.0} s measured per step.\n",
        settings.first,
        settings.step,
        settings.max,
        settings.settle.as_secs_f64(),
        settings.measure.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "Session start (hello to Xfce up and the screen quiet for 1 s), {} sessions: median {:.1} s, max {:.1} s.\n",
        starts.len(),
        starts.median() / 1e3,
        starts.max() / 1e3
    );
    let mut table = Table::new(&[
        "sessions",
        "PSS MiB per session",
        "RSS MiB per session",
        "service RSS / PSS MiB (whole process)",
        "session CPU % per session",
        "service CPU % per session",
        "client CPU % (all)",
        "frames/s (all)",
        "machine CPU % (of 200)",
        "memory used %",
        "MemAvailable MiB",
        "load",
    ]);
    for step in steps {
        let n = step.sessions as f64;
        let wall = step.wall.as_secs_f64();
        let used = 1.0 - step.mem_available_kib as f64 / step.mem_total_kib as f64;
        table.row(vec![
            step.sessions.to_string(),
            mib(step.pss_kib as f64 / n),
            mib(step.rss_kib as f64 / n),
            format!("{} / {}", mib(step.service_rss_kib as f64), mib(step.service_pss_kib as f64)),
            num(100.0 * step.session_cpu / wall / n, 2),
            num(100.0 * step.service_cpu / wall / n, 2),
            num(100.0 * step.client_cpu / wall, 2),
            num(step.frames as f64 / wall, 2),
            num(100.0 * step.machine_cpu / wall, 0),
            num(100.0 * used, 1),
            mib(step.mem_available_kib as f64),
            step.load.trim_start_matches("load average ").to_owned(),
        ]);
    }
    out.push_str(&table.render());
    let _ = writeln!(out, "\nThe ramp stopped at: {why_stopped}. Processes of the login left 30 s after closing: {left}.\n");
    if let Some(first) = steps.first() {
        let n = first.sessions as f64;
        let wall = first.wall.as_secs_f64();
        let _ = writeln!(out, "Per program at {} sessions (per session: summed, divided by {}):\n", first.sessions, first.sessions);
        let mut table = Table::new(&["program", "processes per session", "PSS MiB", "RSS MiB", "CPU %"]);
        let mut programs: Vec<(&String, &Usage)> = first.by_program.iter().collect();
        programs.sort_by_key(|&(_, usage)| std::cmp::Reverse(usage.pss_kib));
        for (name, usage) in programs {
            table.row(vec![
                format!("`{name}`"),
                num(usage.processes as f64 / n, 1),
                mib(usage.pss_kib as f64 / n),
                mib(usage.rss_kib as f64 / n),
                num(100.0 * usage.cpu / wall / n, 2),
            ]);
        }
        out.push_str(&table.render());
    }
    if let (Some(first), Some(last)) = (steps.first(), steps.last()) {
        let n = last.sessions as f64;
        let wall = last.wall.as_secs_f64();
        let per_session_pss = last.pss_kib as f64 / n;
        // The service's own growth per session, between the first and last step.
        let service_per_session = if last.sessions > first.sessions {
            (last.service_pss_kib as f64 - first.service_pss_kib as f64) / (last.sessions - first.sessions) as f64
        } else {
            0.0
        };
        let per_session_cpu = (last.session_cpu + last.service_cpu) / wall / n;
        let usable = last.mem_total_kib as f64 * MEMORY_LIMIT - (baseline.0 - baseline.1) as f64;
        let by_memory = usable / (per_session_pss + service_per_session.max(0.0));
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let by_cpu = if per_session_cpu > 0.0 { CPU_LIMIT * cpus / per_session_cpu } else { f64::INFINITY };
        let _ = writeln!(
            out,
            "\nEstimate (extrapolated from the last step, {} sessions): {:.1} MiB PSS per session plus {:.1} MiB of the \
             service's own per session; {:.0} MiB in use before the first session; {:.0}% of memory allows about **{:.0} \
             sessions**. Idle CPU per session (its processes plus the service) {:.2}% of a core; {:.0}% of {} cores allows \
             about **{}** sessions.",
            last.sessions,
            per_session_pss / 1024.0,
            service_per_session / 1024.0,
            (baseline.0 - baseline.1) as f64 / 1024.0,
            MEMORY_LIMIT * 100.0,
            by_memory,
            per_session_cpu * 100.0,
            CPU_LIMIT * 100.0,
            cpus,
            if by_cpu.is_finite() { format!("{by_cpu:.0}") } else { "unbounded".into() },
        );
    }
    out
}
