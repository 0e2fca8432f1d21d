//! Logins per second through the control plane, as the proxy runs them:
//! throttle check, argon2id password verification, TOTP check with the
//! step saved by compare-and-swap, and a new web session, on real SQLite
//! (synchronous=FULL). A fake clock moves 30 s per login so that every
//! login has a fresh code, as real logins do.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::second_factor::TotpDevice;
use oriel_auth::store::Store;
use oriel_backend::{Clock, FakeClock, Options, SqliteBackend};

const PASSWORD: &str = "benchmark password";

/// Runs `count` logins one after another, then `count` from 2 tasks at once.
pub async fn run(count: usize) -> anyhow::Result<String> {
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
    let _ = writeln!(out, "\nargon2id is the cost by design (about 19 MiB and 2 passes per check); the two-at-once row shows what the second core adds.");
    Ok(out)
}

fn row(out: &mut String, name: &str, count: usize, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    let _ = writeln!(out, "| {name} | {count} | {secs:.2} | {:.1} | {:.1} |", count as f64 / secs, secs * 1000.0 / count as f64);
}

fn now(clock: &dyn Clock) -> u64 {
    clock.now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
