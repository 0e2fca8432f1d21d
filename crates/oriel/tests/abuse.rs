//! Abuse resistance of the real `oriel` binary (proxy and auth service in
//! one process, as `oriel start` runs them): a flood of wrong logins, a
//! page of another site opening the desktop websocket, and more idle
//! connections than the usual open-file limit. Clients play many addresses
//! from 127.0.0.0/8, which all reach a loopback listener.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::process::CommandExt as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use support::{AllInOne, PATIENCE};

/// The flood and the idle connections run one after the other: on two
/// cores the flood's password hashing starved the other test's oriel long
/// enough (over its 10 s TLS handshake timeout) that its idle connections
/// were closed before they could be counted.
static ONE_HEAVY_TEST_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The bound on how much the service's peak memory (VmHWM) may grow
/// through the flood: the argon2 memory of the hashing slots (two per core,
/// ~19 MiB each, reused), plus 64 MiB for 600 TLS connections and the rest.
/// On the 2-core VM the growth was ~65 MiB. Uncapped, the ~300 attempts the
/// throttle lets through would hash at once (~5.7 GiB); with the cap but
/// fresh memory for each hash, glibc's per-thread arenas kept ~630 MiB.
fn memory_growth_bound_kib() -> u64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    2 * cores * 20 * 1024 + 64 * 1024
}

/// `oriel start` as the tests below need it: its /proc entries read.
struct Oriel(AllInOne);

impl std::ops::Deref for Oriel {
    type Target = AllInOne;
    fn deref(&self) -> &AllInOne {
        &self.0
    }
}

impl Oriel {
    /// Starts oriel; with `soft_open_files`, under that soft limit on open
    /// files (the hard limit unchanged), as a shell with `ulimit -Sn` would.
    fn start(soft_open_files: Option<u64>) -> Self {
        Self(AllInOne::start_with(|command| {
            if let Some(soft) = soft_open_files {
                use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
                // SAFETY: getrlimit and setrlimit are plain system calls, safe between fork and exec.
                unsafe {
                    command.pre_exec(move || {
                        let Rlimit { maximum, .. } = getrlimit(Resource::Nofile);
                        setrlimit(Resource::Nofile, Rlimit { current: Some(soft), maximum }).map_err(std::io::Error::from)
                    });
                }
            }
        }))
    }

    /// A line of `/proc/<pid>/<file>` that starts with `key`.
    fn proc_line(&self, file: &str, key: &str) -> String {
        let text = std::fs::read_to_string(format!("/proc/{}/{file}", self.process.id())).unwrap();
        text.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("no {key} in {file}")).to_owned()
    }

    /// A `/proc/<pid>/status` value in KiB (`VmHWM`, `VmRSS`).
    fn memory_kib(&self, key: &str) -> u64 {
        let line = self.proc_line("status", &format!("{key}:"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// How many files the process has open. Fails the test, saying so, when
    /// the process is gone (a zombie's files cannot be listed).
    fn open_files(&self) -> usize {
        let pid = self.process.id();
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|stat| stat.rsplit(") ").next().and_then(|rest| rest.chars().next()));
        assert_ne!(state, Some('Z'), "oriel (pid {pid}) exited");
        std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap_or_else(|e| panic!("cannot list oriel's open files: {e}")).count()
    }
}

fn address(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, a, b, c))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The status code of a raw HTTP response.
fn status(response: &str) -> u16 {
    response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

fn login_body(password: &str, code: &str) -> serde_json::Value {
    serde_json::json!({ "user": "admin", "password": password, "totp_code": code })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_wrong_logins_is_answered_and_the_user_still_logs_in() {
    let _alone = ONE_HEAVY_TEST_AT_A_TIME.lock().await;
    let oriel = Oriel::start(None);
    let (_, device) = oriel.web.enroll_device(&oriel.invite).await;
    let before = oriel.memory_kib("VmHWM");

    // 600 wrong logins for the real user at once, from 60 addresses.
    let web = &oriel.web;
    let attempts = (0..600u16).map(|i| async move {
        let from = address(1, (i / 10) as u8, 1);
        let stream = web.tls_stream_from(from).await.expect("TLS handshake");
        web.http_over(stream, "POST", "/api/login", None, Some(login_body("not the password at all", "000000"))).await
    });
    let responses = futures_util::future::join_all(attempts).await;
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    for response in &responses {
        let code = status(response);
        *counts.entry(code).or_default() += 1;
        if code == 429 {
            assert!(response.to_ascii_lowercase().contains("\r\nretry-after: "), "a 429 says when to retry: {response}");
        }
    }
    let after = oriel.memory_kib("VmHWM");
    eprintln!("answers: {counts:?}; VmHWM {before} KiB before, {after} KiB after; VmRSS now {} KiB", oriel.memory_kib("VmRSS"));
    assert!(counts.keys().all(|code| [401, 429].contains(code)), "only refusals: {counts:?}");
    assert_eq!(counts.values().sum::<usize>(), 600, "every attempt is answered");
    assert!(counts.get(&429).copied().unwrap_or(0) > 300, "mostly 429 (throttled or busy): {counts:?}");
    let bound = memory_growth_bound_kib();
    assert!(after < before + bound, "peak memory grew by {} KiB, over the bound of {bound} KiB", after - before);

    // A flooding address that keeps guessing (attempts answered busy did
    // not count) is soon refused, then even with the right password…
    let flooder = address(1, 0, 1);
    let mut guesses = 0;
    loop {
        let stream = web.tls_stream_from(flooder).await.unwrap();
        let wrong = login_body("not the password at all", "000000");
        let response = web.http_over(stream, "POST", "/api/login", None, Some(wrong)).await;
        if status(&response) == 429 {
            break;
        }
        guesses += 1;
        assert!(guesses <= 5, "still not refused after {guesses} more guesses: {response}");
    }
    let code = device.code_at(unix_now() + 30).unwrap();
    let stream = web.tls_stream_from(flooder).await.unwrap();
    let refused = web.http_over(stream, "POST", "/api/login", None, Some(login_body(support::PASSWORD, &code))).await;
    assert_eq!(status(&refused), 429, "{refused}");
    assert!(refused.contains("too many failed logins"), "{refused}");
    // …and the user, from another address, logs in.
    let stream = web.tls_stream_from(address(0, 0, 2)).await.unwrap();
    let response = web.http_over(stream, "POST", "/api/login", None, Some(login_body(support::PASSWORD, &code))).await;
    assert_eq!(status(&response), 200, "{response}");
    assert!(response.contains(&format!("set-cookie: {}=", support::COOKIE)), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_site_cannot_open_the_desktop_websocket() {
    let oriel = Oriel::start(None);
    let cookie = oriel.web.enroll(&oriel.invite).await;

    let foreign = oriel.web.socket_from_origin(&cookie, "any", "any", Some("https://evil.example")).await.unwrap_err();
    assert!(foreign.contains("403"), "{foreign}");
    let none = oriel.web.socket_from_origin(&cookie, "any", "any", None).await.unwrap_err();
    assert!(none.contains("403"), "{none}");

    // What the refusal says, read from a raw handshake.
    let mut stream = oriel.web.tls_stream().await;
    let request = format!(
        "GET /api/desktop/ws?kind=linux&desktop=any&login=any HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://evil.example\r\nCookie: {}={cookie}\r\n\r\n",
        oriel.web.addr,
        support::COOKIE
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = vec![0; 4096];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut response)).await.unwrap().unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert_eq!(status(&response), 403, "{response}");
    assert!(response.contains(&format!("origin \\\"https://evil.example\\\" is not this proxy's (https://{})", oriel.web.addr)), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_past_the_usual_file_limit_do_not_stop_the_service() {
    let _alone = ONE_HEAVY_TEST_AT_A_TIME.lock().await;
    // Started under a soft limit of 1024 open files: oriel raises it.
    let oriel = Oriel::start(Some(1024));
    let limits = oriel.proc_line("limits", "Max open files");
    let numbers: Vec<&str> = limits.split_whitespace().skip(3).take(2).collect();
    assert_eq!(numbers[0], numbers[1], "the soft limit is raised to the hard limit: {limits}");

    // 1100 idle connections (no TLS handshake), 220 from each of 5 addresses.
    let base = oriel.open_files();
    let mut idle = Vec::new();
    for i in 0..1100u16 {
        idle.push(support::connect_from(address(2, 0, (i / 220) as u8 + 1), oriel.web.addr).await.unwrap());
    }
    let deadline = Instant::now() + PATIENCE;
    while oriel.open_files() < base + 1100 {
        assert!(Instant::now() < deadline, "oriel accepted only {} of the connections", oriel.open_files().saturating_sub(base));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Someone else still gets the login page.
    let stream = oriel.web.tls_stream_from(address(0, 0, 3)).await.expect("TLS handshake while 1100 connections are open");
    let page = oriel.web.http_over(stream, "GET", "/web/login", None, None).await;
    assert_eq!(status(&page), 200, "{page}");
    assert!(page.contains("Oriel test page"), "{page}");

    // One address gets 256 connections (the default share), no more.
    let from = address(2, 1, 1);
    let mut crowd = Vec::new();
    for _ in 0..300 {
        crowd.push(support::connect_from(from, oriel.web.addr).await.unwrap());
    }
    let handshakes = crowd.into_iter().map(|tcp| {
        let web = &oriel.web;
        async move {
            let name = rustls::pki_types::ServerName::IpAddress(web.addr.ip().into());
            web.tls().connect(name, tcp).await
        }
    });
    let held: Vec<_> = futures_util::future::join_all(handshakes).await.into_iter().filter_map(Result::ok).collect();
    assert_eq!(held.len(), 256, "connections past the share are closed before TLS");
    drop(idle);
}
