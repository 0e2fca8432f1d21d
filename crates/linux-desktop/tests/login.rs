//! Sessions run as their logins: real accounts of this host (created by the
//! service when the roles allow it), with the login's ids, groups and
//! environment, a PAM session, utmp records and an Xauthority cookie only
//! that login can read; concurrent sessions of two logins cannot reach each
//! other's display; and nothing a session started outlives it.
//!
//! These tests create users, so they run as root (as CI does).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use oriel_tdpb::pb::AlertSeverity;
use support::{PATIENCE, TestService};

/// Waits for a file the session writes (renamed into place when complete).
async fn read_when_written(path: &Path) -> String {
    let deadline = Instant::now() + PATIENCE;
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} was never written", path.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::read_to_string(path).unwrap()
}

/// `key=value` lines as a lookup.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('=')).unwrap_or_else(|| panic!("no {key} in:\n{text}"))
}

/// The session's view of itself, written as `key=value` lines.
const WHO_AM_I: &str = r#"f=/tmp/oriel-login-test-$$; { echo uid=$(id -u); echo groups=$(id -Gn); echo home=$HOME; echo user=$USER; echo logname=$LOGNAME; echo shell=$SHELL; echo path=$PATH; echo runtime=$XDG_RUNTIME_DIR; echo cwd=$(pwd); echo xauth=$(stat -c "%U %a" "$XAUTHORITY"); echo who=$(who | grep -c "$USER .*$DISPLAY"); } > $f; exec sleep 3600"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_runs_as_its_login_with_its_environment_groups_and_a_utmp_entry() {
    let login = "oriel-made-login";
    // Start from a host without the login, so creating it is what is tested.
    let _ = std::process::Command::new("userdel").args(["--remove", login]).output();
    let service = TestService::new(&[("Who", &format!("{WHO_AM_I} # {login}"))]);
    service.add_user("maker", login, &support::role("maker", "    create_desktop_user: true\n")).await;
    // Where the session can write: its home, which the service creates.
    let (mut client, task) = service.connect_as("maker", login);
    client.hello(320, 200, oriel_tdpb::pb::Codec::QoizStream).await;
    let env = service.dir.path().join("Who.env");
    let text = read_when_written(&env).await;
    let (display, _) = text.trim().split_once(' ').unwrap();
    // The probe wrote its report to /tmp under its own pid: find it by owner.
    let account = uzers::get_user_by_name(login).expect("the service created the login");
    let report = find_report(account.uid()).await;
    assert_ne!(account.uid(), 0);
    assert_eq!(field(&report, "uid"), account.uid().to_string());
    let groups: Vec<&str> = field(&report, "groups").split(' ').collect();
    assert!(groups.contains(&"oriel-test-group") && groups.contains(&"oriel-users") && groups.contains(&login), "{groups:?}");
    assert_eq!(field(&report, "home"), format!("/home/{login}"));
    assert_eq!(field(&report, "cwd"), format!("/home/{login}"), "the session starts in the home directory");
    assert_eq!((field(&report, "user"), field(&report, "logname")), (login, login));
    assert_eq!(field(&report, "shell"), "/bin/bash");
    assert!(field(&report, "path").contains("/usr/bin"), "a login PATH: {report}");
    assert_eq!(field(&report, "xauth"), format!("{login} 600"), "the cookie is the login's alone");
    assert!(field(&report, "runtime").starts_with(service.dir.path().to_str().unwrap()), "{report}");
    assert_eq!(field(&report, "who"), "1", "`who` lists the login on {display}:\n{report}");
    drop(client);
    task.await.unwrap().unwrap();
}

/// The report of the WHO_AM_I probe running as `uid`.
async fn find_report(uid: u32) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        for entry in std::fs::read_dir("/tmp").unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("oriel-login-test-") && std::os::unix::fs::MetadataExt::uid(&entry.metadata().unwrap()) == uid {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                if text.lines().count() >= 11 {
                    let _ = std::fs::remove_file(entry.path());
                    return text;
                }
            }
        }
        assert!(Instant::now() < deadline, "the session never reported who it is");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_logins_without_user_creation_and_root_are_refused_with_the_reason() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    service.add_user("visitor", "no-such-login-here", &support::role("visitor", "    desktop_clipboard: true\n")).await;
    service.add_user("admin", "root", &support::role("admin", "    create_desktop_user: true\n")).await;
    for (user, login, expected) in [
        (
            "visitor",
            "no-such-login-here",
            "there is no user \"no-such-login-here\" on this host (ask an administrator to create it, or to turn on create_desktop_user in your role)",
        ),
        ("admin", "root", "desktop sessions never run as root: pick another login"),
    ] {
        let (mut client, task) = service.connect_as(user, login);
        while client.next().await.is_some() {}
        let alert = client.alerts.last().expect("an alert");
        assert_eq!((alert.severity, alert.message.as_str()), (AlertSeverity::Error as i32, expected));
        assert!(matches!(task.await.unwrap(), Err(oriel_linux_desktop::SessionError::Login(_))));
    }
    assert!(uzers::get_user_by_name("no-such-login-here").is_none(), "nothing was created");
    assert!(!service.dir.path().join("Probe.env").exists(), "no desktop was started");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_logins_at_once_cannot_reach_each_others_display_or_cookie() {
    // Each session tries the other's display with its own cookie, and tries
    // to read the other's cookie; both must fail. The first session to
    // start writes its display for the second.
    let probe = r#"mine="$DISPLAY $XAUTHORITY"; out="$HOME/isolation"; until [ -s /tmp/oriel-isolation-$ROUND ]; do if mkdir /tmp/oriel-isolation-$ROUND.lock 2>/dev/null; then echo "$mine" > /tmp/oriel-isolation-$ROUND; fi; sleep 0.1; done; read other_display other_auth < /tmp/oriel-isolation-$ROUND; if [ "$other_display" = "$DISPLAY" ]; then echo "first $DISPLAY $other_display $USER" > "$out.tmp"; else { xdpyinfo -display "$other_display" >/dev/null 2>&1 && echo display=reached || echo display=refused; cat "$other_auth" >/dev/null 2>&1 && echo cookie=read || echo cookie=refused; xdpyinfo >/dev/null 2>&1 && echo own=ok || echo own=failed; } > "$out.tmp"; fi; mv "$out.tmp" "$out"; exec sleep 3600"#;
    let round = std::process::id();
    let service = TestService::new(&[("Isolation", &format!("ROUND={round}; {probe}"))]);
    service.add_user("alice", "oriel-alice", &support::role("alice", "    create_desktop_user: true\n")).await;
    service.add_user("bob", "oriel-bob", &support::role("bob", "    create_desktop_user: true\n")).await;
    for login in ["oriel-alice", "oriel-bob"] {
        let _ = std::fs::remove_file(format!("/home/{login}/isolation"));
    }
    let (mut alice, alice_task) = service.connect_as("alice", "oriel-alice");
    alice.hello(320, 200, oriel_tdpb::pb::Codec::QoizStream).await;
    let first = read_when_written(Path::new("/home/oriel-alice/isolation")).await;
    assert!(first.starts_with("first "), "{first}");
    let (mut bob, bob_task) = service.connect_as("bob", "oriel-bob");
    bob.hello(320, 200, oriel_tdpb::pb::Codec::QoizStream).await;
    let second = read_when_written(Path::new("/home/oriel-bob/isolation")).await;
    assert_eq!(second.lines().collect::<Vec<_>>(), ["display=refused", "cookie=refused", "own=ok"], "bob's view of alice's session");
    let _ = std::fs::remove_file(format!("/tmp/oriel-isolation-{round}"));
    let _ = std::fs::remove_dir(format!("/tmp/oriel-isolation-{round}.lock"));
    drop((alice, bob));
    alice_task.await.unwrap().unwrap();
    bob_task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_session_started_ends_with_it_even_outside_its_process_group() {
    // A daemon the desktop starts in a session of its own, as D-Bus
    // activation or a double fork would.
    let service = TestService::new(&[(
        "Daemon",
        r#"setsid sleep 7777 & echo $! > "$HOME/daemon.pid.tmp"; mv "$HOME/daemon.pid.tmp" "$HOME/daemon.pid"; exec sleep 3600"#,
    )]);
    let (mut client, task) = service.connect();
    client.hello(320, 200, oriel_tdpb::pb::Codec::QoizStream).await;
    let pid_file = Path::new("/home/tester/daemon.pid");
    let _ = std::fs::remove_file(pid_file);
    let pid: i32 = read_when_written(pid_file).await.trim().parse().unwrap();
    let alive = |pid: i32| std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "));
    assert!(alive(pid), "the daemon runs during the session");
    // The browser vanishes.
    drop(client);
    task.await.unwrap().unwrap();
    let deadline = Instant::now() + PATIENCE;
    while alive(pid) {
        assert!(Instant::now() < deadline, "the session's daemon outlived it");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_file(pid_file);
}

/// The supplementary group names of `login`, as the host has them now.
fn host_groups(login: &str) -> Vec<String> {
    let out = std::process::Command::new("id").args(["-Gn", login]).output().unwrap();
    let mut groups: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().filter(|g| *g != login).map(str::to_owned).collect();
    groups.sort();
    groups
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_user_oriel_created_follows_the_roles_groups_at_each_session_and_others_are_left_alone() {
    let (made, own) = ("oriel-synced-login", "oriel-own-login");
    for login in [made, own] {
        let _ = std::process::Command::new("userdel").args(["--remove", login]).output();
    }
    let options = |create: bool, groups: &[&str]| oriel_rbac::SessionOptions {
        clipboard: false,
        directory_sharing: false,
        lossy: false,
        record: false,
        idle_timeout: None,
        session_mfa: false,
        create_host_user: create,
        host_groups: groups.iter().map(|&g| g.to_owned()).collect(),
    };
    oriel_linux_desktop::login::resolve(made, &options(true, &["oriel-test-group", "oriel-test-extra"])).await.unwrap();
    assert_eq!(host_groups(made), ["oriel-test-extra", "oriel-test-group", "oriel-users"]);
    // A later session whose allowing roles no longer name oriel-test-extra
    // (creation off meanwhile) leaves it; oriel-users stays, as the mark.
    let account = oriel_linux_desktop::login::resolve(made, &options(false, &["oriel-test-group"])).await.unwrap();
    assert_eq!(host_groups(made), ["oriel-test-group", "oriel-users"]);
    let expected: Vec<u32> = ["oriel-test-group", "oriel-users", made].iter().map(|g| uzers::get_group_by_name(g).unwrap().gid()).collect();
    let mut got = account.groups.clone();
    got.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(got, expected, "the session gets the groups as they are now");
    oriel_linux_desktop::login::resolve(made, &options(false, &[])).await.unwrap();
    assert_eq!(host_groups(made), ["oriel-users"]);

    // An account Oriel did not create keeps its groups, whatever the roles say.
    let useradd = std::process::Command::new("useradd").args(["--create-home", "--user-group", "--groups", "oriel-test-extra", own]).status().unwrap();
    assert!(useradd.success());
    oriel_linux_desktop::login::resolve(own, &options(true, &["oriel-test-group"])).await.unwrap();
    assert_eq!(host_groups(own), ["oriel-test-extra"]);
    for login in [made, own] {
        let _ = std::process::Command::new("userdel").args(["--remove", login]).output();
    }
}
