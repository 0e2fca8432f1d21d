//! CPU time of this process, its threads and other processes, and pinning.

use std::time::{Duration, Instant};

use anyhow::bail;

/// User plus system time of this whole process (every thread).
pub fn process() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

/// User plus system time of the calling thread.
pub fn this_thread() -> Duration {
    // SAFETY: clock_gettime only writes the struct it is given.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        ts
    };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000)
}

/// What `/proc/<pid>/stat` (or a task's stat) says, the fields we use.
struct Stat {
    comm: String,
    ppid: i32,
    cpu: Duration,
}

fn read_stat(path: &str) -> Option<Stat> {
    let text = std::fs::read_to_string(path).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Stat { comm, ppid, cpu: ticks(utime + stime) })
}

fn ticks(ticks: u64) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / per_second)
}

/// CPU time of another process, at the kernel's tick resolution (10 ms).
pub fn of_process(pid: i32) -> Duration {
    read_stat(&format!("/proc/{pid}/stat")).map_or(Duration::ZERO, |s| s.cpu)
}

/// CPU time of this process's threads named `name` (as in /proc/self/task/*/comm).
pub fn of_threads(name: &str) -> Duration {
    of_threads_in("self", name)
}

/// CPU time of process `pid`'s threads named `name`.
pub fn of_threads_in(pid: &str, name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Duration::ZERO };
    tasks.flatten().filter_map(|task| read_stat(&format!("{}/stat", task.path().display()))).filter(|stat| stat.comm == name).map(|stat| stat.cpu).sum()
}

/// How many threads of this process are named `name`.
pub fn count_threads(name: &str) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks.flatten().filter_map(|task| read_stat(&format!("{}/stat", task.path().display()))).filter(|stat| stat.comm == name).count()
}

/// The newest process below this one whose command is `comm`: a session's
/// Xvfb is a child of its session process, which is this process's child.
pub fn find_descendant(comm: &str) -> Option<i32> {
    let all: Vec<(i32, Stat)> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, read_stat(&format!("/proc/{pid}/stat"))?)))
        .collect();
    let mut below = vec![std::process::id() as i32];
    let mut i = 0;
    while i < below.len() {
        let parent = below[i];
        below.extend(all.iter().filter(|(_, stat)| stat.ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    all.iter().filter(|(pid, stat)| stat.comm == comm && below[1..].contains(pid)).map(|(pid, _)| *pid).max()
}

/// The parent of `pid`, if it is alive.
pub fn parent_of(pid: i32) -> Option<i32> {
    read_stat(&format!("/proc/{pid}/stat")).map(|s| s.ppid)
}

/// The newest child of this process whose command is `comm`.
pub fn find_child(comm: &str) -> Option<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| read_stat(&format!("/proc/{pid}/stat")).is_some_and(|s| s.ppid == me && s.comm == comm))
        .max()
}

/// Restricts `pid` (0: the calling thread) to one CPU.
pub fn pin(pid: i32, core: usize) -> anyhow::Result<()> {
    // SAFETY: the set is initialised by CPU_ZERO before use.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result != 0 {
        bail!("cannot pin pid {pid} to CPU {core}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Lets `pid` (0: this thread) run on every CPU again.
pub fn unpin(pid: i32) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: the set is initialised by CPU_ZERO before use.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        for core in 0..cores {
            libc::CPU_SET(core, &mut set);
        }
        libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result != 0 {
        bail!("cannot unpin pid {pid}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Busy time of all CPUs together, from /proc/stat (everything but idle and iowait).
pub fn machine_busy() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return Duration::ZERO };
    let fields: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    ticks(total.saturating_sub(idle))
}

/// The name of the threads that play the proxy in `relay`: their CPU time
/// is counted apart from the service's.
pub const PROXY_THREADS: &str = "oriel-proxy";

/// CPU use over one measured window.
#[derive(Debug, Clone, Copy)]
pub struct CpuShare {
    /// The desktop service's threads: the whole process minus the bench's
    /// own thread and the proxy's threads.
    pub service: f64,
    /// Of which the frame loop (capture and encode).
    pub frame_loop: f64,
    /// The Xvfb server.
    pub xvfb: f64,
    /// The proxy's threads ([`PROXY_THREADS`]; none outside `relay`).
    pub proxy: f64,
    /// The bench's own thread: the TDPB client decoding and acking (the "browser").
    pub client: f64,
    /// The whole machine, every process (2.0 = both cores of this VM busy).
    pub machine: f64,
}

/// Starts measuring: call [`CpuMeter::stop`] on the same thread.
pub struct CpuMeter {
    started: Instant,
    process: Duration,
    thread: Duration,
    proxy: Duration,
    /// The Teleport-style encoder's thread, when one watches beside the service.
    teleport_style: Duration,
    frame_loop: Duration,
    /// The session process that runs capture and encoding (Xvfb's parent).
    session_pid: i32,
    session: Duration,
    xvfb_pid: i32,
    xvfb: Duration,
    machine: Duration,
}

impl CpuMeter {
    pub fn start(xvfb_pid: i32) -> Self {
        let session_pid = parent_of(xvfb_pid).unwrap_or(0);
        Self {
            started: Instant::now(),
            process: process(),
            thread: this_thread(),
            proxy: of_threads(PROXY_THREADS),
            teleport_style: of_threads(crate::teleport_style::THREAD),
            frame_loop: of_threads_in(&session_pid.to_string(), "frame-loop"),
            session_pid,
            session: of_process(session_pid),
            xvfb_pid,
            xvfb: of_process(xvfb_pid),
            machine: machine_busy(),
        }
    }

    /// Shares of one core (1.0 = one core busy) since `start`.
    pub fn stop(self) -> CpuShare {
        let wall = self.started.elapsed().as_secs_f64();
        let share = |d: Duration| d.as_secs_f64() / wall;
        let client = this_thread().saturating_sub(self.thread);
        let proxy = of_threads(PROXY_THREADS).saturating_sub(self.proxy);
        // A thread that has ended is gone from /proc: stop the encoder after this.
        let teleport_style = of_threads(crate::teleport_style::THREAD).saturating_sub(self.teleport_style);
        let process = process().saturating_sub(self.process);
        // The service is this process's side (authorization, relay) plus
        // the session process, which captures and encodes.
        let session = of_process(self.session_pid).saturating_sub(self.session);
        CpuShare {
            service: share(process.saturating_sub(client).saturating_sub(proxy).saturating_sub(teleport_style) + session),
            frame_loop: share(of_threads_in(&self.session_pid.to_string(), "frame-loop").saturating_sub(self.frame_loop)),
            xvfb: share(of_process(self.xvfb_pid).saturating_sub(self.xvfb)),
            proxy: share(proxy),
            client: share(client),
            machine: share(machine_busy().saturating_sub(self.machine)),
        }
    }
}

/// The machine, for the report header.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| info.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())))
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs ({model}); {}", load_average("at start"))
}

/// The 1, 5 and 15 minute load averages: other work on the machine skews every number.
pub fn load_average(when: &str) -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("load average {} {when}", load.join(" "))
}
