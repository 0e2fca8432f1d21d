//! The `oriel` binary end to end without a browser: real TLS, the websocket
//! relay, the in-process desktop service, a real Xvfb. Bad input from one
//! browser ends that session only.

mod support;

use std::path::Path;

use futures_util::SinkExt as _;
use oriel_tdpb::{Payload, encode_frame, pb};
use tokio_tungstenite::tungstenite::Message;

use support::{AllInOne, final_alert, hello, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_daemon_takes_every_session_process_with_it() {
    let mut oriel = AllInOne::start();
    let cookie = oriel.web.enroll(&oriel.invite).await;
    let (desktop, login) = oriel.desktop(&cookie).await;
    let mut sockets = Vec::new();
    for _ in 0..2 {
        let mut socket = oriel.web.socket(&cookie, &desktop, &login).await.unwrap();
        socket.send(hello()).await.unwrap();
        until(&mut socket, "a first frame", |p| matches!(p, Payload::FrameRect(_))).await;
        sockets.push(socket);
    }
    // Each session: its process's root and unprivileged parts, Xvfb, the xsession.
    let session = support::descendants(oriel.process.id());
    assert!(session.len() >= 8, "two sessions' processes: {session:?}");

    oriel.process.kill();
    let deadline = std::time::Instant::now() + support::PATIENCE;
    loop {
        let left: Vec<u32> = session.iter().copied().filter(|pid| support::alive(*pid)).collect();
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still running after the daemon died: {left:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_ends_only_its_own_session() {
    let oriel = AllInOne::start();
    let cookie = oriel.web.enroll(&oriel.invite).await;
    let (desktop, login) = oriel.desktop(&cookie).await;

    let refused = oriel.web.socket("forged", &desktop, &login).await.unwrap_err();
    assert!(refused.contains("401"), "{refused}");

    // A healthy session first.
    let mut good = oriel.web.socket(&cookie, &desktop, &login).await.unwrap();
    good.send(hello()).await.unwrap();
    until(&mut good, "ServerHello", |p| matches!(p, Payload::ServerHello(_))).await;
    until(&mut good, "a first frame", |p| matches!(p, Payload::FrameRect(_))).await;

    let oversized = {
        let mut frame = (3u32 << 20).to_be_bytes().to_vec();
        frame.extend_from_slice(&[0; 16]);
        frame
    };
    let cases: [(&str, Message, &str); 4] = [
        ("oversized", Message::Binary(oversized.into()), "malformed frame from the browser: frame of 3145728 bytes exceeds the limit of 2097152 bytes"),
        (
            "truncated",
            Message::Binary(vec![0, 0, 0, 10, 0x3a, 0x04].into()),
            "malformed frame from the browser: frame truncated: header says 10 bytes, 2 present",
        ),
        ("text", Message::Text("hello".into()), "malformed frame from the browser: text message; TDPB frames are binary"),
        ("garbage envelope", Message::Binary(vec![0, 0, 0, 2, 0x3a, 0x09].into()), "malformed message from the client: malformed envelope"),
    ];
    for (case, message, expected) in cases {
        let mut bad = oriel.web.socket(&cookie, &desktop, &login).await.unwrap();
        bad.send(hello()).await.unwrap();
        until(&mut bad, "ServerHello", |p| matches!(p, Payload::ServerHello(_))).await;
        bad.send(message).await.unwrap();
        let alert = final_alert(&mut bad).await;
        assert!(alert.starts_with(expected), "{case}: {alert}");
    }

    // The healthy session still answers.
    good.send(Message::Binary(encode_frame(Payload::Ping(pb::Ping { id: vec![9; 16] })).into())).await.unwrap();
    until(&mut good, "the ping's answer", |p| matches!(p, Payload::Ping(ping) if ping.id == [9; 16])).await;

    let log = oriel.log();
    assert!(log.contains("malformed frame from the browser; ending the session"), "{log}");
    assert!(!log.contains(&oriel.invite) && !log.contains(&cookie), "secrets never reach the log");
    assert!(!log.contains("PRIVATE KEY"), "nor do the CA's or the user certificate's keys");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_the_roles_do_not_allow_are_refused_with_the_reason() {
    let oriel = AllInOne::start();
    assert!(oriel.web.http("GET", "/api/me", Some("forged"), None).await.starts_with("HTTP/1.1 401"));
    let wrong = serde_json::json!({ "user": "admin", "password": "wrong password here", "totp_code": "123456" });
    let response = oriel.web.http("POST", "/api/login", None, Some(wrong)).await;
    assert!(response.starts_with("HTTP/1.1 401") && response.contains("wrong user name, password or second factor"), "{response}");
    let cookie = oriel.web.enroll(&oriel.invite).await;
    assert!(oriel.web.http("GET", "/api/me", Some(&cookie), None).await.contains("\"user\":\"admin\""));
    let (desktop, _login) = oriel.desktop(&cookie).await;
    let mut socket = oriel.web.socket(&cookie, &desktop, "nobody").await.unwrap();
    socket.send(hello()).await.unwrap();
    let alert = final_alert(&mut socket).await;
    assert!(alert.starts_with("access denied: no role allows login \"nobody\""), "{alert}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_is_served_over_tls_at_every_route() {
    let oriel = AllInOne::start();
    for path in ["/", "/web/cluster/main/linux_desktops/some-uuid/alice"] {
        let response = oriel.web.get(path).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{path}: {response}");
        assert!(response.contains("Oriel test page"), "{path}");
        assert!(response.to_ascii_lowercase().contains("x-content-type-options: nosniff"));
    }
    assert!(Path::new(&oriel.dir.path().join("data/tls/key.pem")).exists());
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(oriel.dir.path().join("data/tls/key.pem")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the TLS key is private");
}
