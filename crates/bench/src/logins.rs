//! Logins per second through the control plane, as the proxy runs them:
//! throttle check, argon2id password verification, TOTP check with the
//! step saved by compare-and-swap, and a new web session, on real SQLite
//! (synchronous=FULL). A fake clock moves 30 s per login so that every
//! login has a fresh code, as real logins do.
//!
//! Then the same logins under a flood: `flood` tasks send wrong passwords
//! back to back, each attempt from a new IPv6 /64 (a botnet, which the
//! per-network throttle cannot slow), so every one reaches the capped
//! argon2 queue. What counts is how fast the real user still gets in, how
//! the flood is answered, and that memory stays flat.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::login::LoginError;
use oriel_auth::second_factor::TotpDevice;
use oriel_auth::store::Store;
use oriel_backend::{Clock, FakeClock, Options, SqliteBackend};

const PASSWORD: &str = "benchmark password";

/// Runs `count` logins one after another, then `count` from 2 tasks at
/// once, then (unless `flood` is 0) `count` under a flood of `flood` tasks.
pub async fn run(count: usize, flood: usize) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await?;
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), clock.clone());
    let mut secrets = Vec::new();
    for user in ["bench-a", "bench-b"] {
        let link = plane.add_user(&UserSpec { name: user.into(), ..Default::default() }).await?;
        let page = plane.enrollment(&link.secret).await?;
        let device = TotpDevice::from_base32(&page.totp_secret)?;
        plane.accept_invite(&link.secret, PASSWORD, &device.code_at(now(&*clock))?).await?;
        secrets.push((user, device));
    }
    let address = IpAddr::V4(Ipv4Addr::LOCALHOST);

    let mut out = String::from("## logins\n\n");
    let _ = writeln!(out, "Password (argon2id, default parameters) + TOTP login to a new web session, SQLite with synchronous=FULL.\n");
    let _ = writeln!(out, "| run | logins | wall s | logins/s | ms per login |\n| --- | --- | --- | --- | --- |");

    let started = Instant::now();
    for _ in 0..count {
        clock.advance(Duration::from_secs(30));
        let (user, device) = &secrets[0];
        plane.login(user, PASSWORD, &device.code_at(now(&*clock))?, address).await?;
    }
    row(&mut out, "one after another", count, started.elapsed());

    let started = Instant::now();
    for _ in 0..count / 2 {
        clock.advance(Duration::from_secs(30));
        let logins = secrets.iter().map(|(user, device)| {
            let plane = plane.clone();
            let code = device.code_at(now(&*clock));
            let user = user.to_string();
            tokio::spawn(async move { plane.login(&user, PASSWORD, &code?, address).await.map_err(anyhow::Error::from) })
        });
        for login in logins.collect::<Vec<_>>() {
            login.await??;
        }
    }
    row(&mut out, "two users at once", count / 2 * 2, started.elapsed());
    let key_note = crate::key_logins::run(&mut out, count).await?;
    let sso_note = crate::sso_logins::run(&mut out, &plane, count).await?;
    out += &key_note;
    out += &sso_note;
    let _ = writeln!(out, "\nargon2id is the cost by design (about 19 MiB and 2 passes per check); the two-at-once row shows what the second core adds.");
    if flood > 0 {
        under_flood(&mut out, &plane, &clock, &secrets[0], count, flood).await?;
    }
    Ok(out)
}

/// What the flood's attempts were answered.
#[derive(Default)]
struct FloodAnswers {
    rejected: AtomicU64,
    busy: AtomicU64,
    throttled: AtomicU64,
    other: AtomicU64,
}

async fn under_flood(
    out: &mut String,
    plane: &ControlPlane,
    clock: &FakeClock,
    (user, device): &(&str, TotpDevice),
    count: usize,
    flood: usize,
) -> anyhow::Result<()> {
    let answers = Arc::new(FloodAnswers::default());
    let stop = Arc::new(AtomicBool::new(false));
    let next_network = Arc::new(AtomicU64::new(1));
    let hwm_before = vm_kib("VmHWM");
    let tasks: Vec<_> = (0..flood)
        .map(|_| {
            let (plane, answers, stop, next_network) = (plane.clone(), answers.clone(), stop.clone(), next_network.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let n = next_network.fetch_add(1, Ordering::Relaxed);
                    // 2001:db8:<n>::1, a new /64 each time.
                    let address = IpAddr::V6(Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(n) << 64) | 1));
                    let counter = match plane.login("bench-b", "not the password at all", "000000", address).await {
                        Err(LoginError::Rejected) => &answers.rejected,
                        Err(LoginError::Busy(_)) => &answers.busy,
                        Err(LoginError::Throttled(_)) => &answers.throttled,
                        _ => &answers.other,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    // A client that ignores Retry-After, but not a spinning one.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    // The real user: a busy answer is retried after 100 ms, as a person
    // pressing the button again would (only sooner).
    let address = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (mut refused_busy, mut longest) = (0usize, Duration::ZERO);
    let started = Instant::now();
    for _ in 0..count {
        let asked = Instant::now();
        loop {
            clock.advance(Duration::from_secs(30));
            match plane.login(user, PASSWORD, &device.code_at(now(clock))?, address).await {
                Ok(_) => break,
                Err(LoginError::Busy(_)) => {
                    refused_busy += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        longest = longest.max(asked.elapsed());
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await?;
    }
    let hwm_after = vm_kib("VmHWM");

    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let (rejected, busy, throttled, other) = (load(&answers.rejected), load(&answers.busy), load(&answers.throttled), load(&answers.other));
    let total = rejected + busy + throttled + other;
    let secs = elapsed.as_secs_f64();
    let _ = writeln!(out, "\n### Under a flood of wrong logins\n");
    let _ = writeln!(
        out,
        "{flood} tasks send wrong passwords back to back, each attempt from a new IPv6 /64, while one user logs in {count} times \
         (a busy answer retried after 100 ms).\n"
    );
    let _ = writeln!(out, "| real logins | wall s | real logins/s | real attempts answered busy | longest real login ms |\n| --- | --- | --- | --- | --- |");
    let _ = writeln!(out, "| {count} | {secs:.2} | {:.1} | {refused_busy} | {:.0} |", count as f64 / secs, longest.as_secs_f64() * 1000.0);
    let _ = writeln!(
        out,
        "\n| flood attempts | answered/s | wrong password (hashed) | busy (429, not hashed) | throttled | other |\n| --- | --- | --- | --- | --- | --- |"
    );
    let _ = writeln!(out, "| {total} | {:.0} | {rejected} | {busy} | {throttled} | {other} |", total as f64 / secs);
    let _ = writeln!(out, "\nPeak memory of the bench process (VmHWM): {} MiB before the flood, {} MiB after.", hwm_before / 1024, hwm_after / 1024);
    Ok(())
}

/// A value of /proc/self/status in KiB (0 if unreadable).
fn vm_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(':')).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0)
}

pub(crate) fn row(out: &mut String, name: &str, count: usize, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let _ = writeln!(out, "| {name} | {count} | {secs:.2} | {:.1} | {:.1} |", count as f64 / secs, secs * 1000.0 / count as f64);
}

fn now(clock: &dyn Clock) -> u64 {
    clock.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
