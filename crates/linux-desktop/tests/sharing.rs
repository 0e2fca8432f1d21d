//! Sharing a running session under RBAC: the owner invites, a user whose
//! roles allow it (`join_sessions`) joins as an observer (sees the screen
//! from a keyframe, cannot type) or as a peer (can type); everyone sees
//! who is there; the owner removes a participant; a user without
//! `join_sessions`, an uninvited one and one joining a locked owner's
//! session are refused. Real Xvfb, real session processes, a real control plane.

mod support;

use std::time::Duration;

use oriel_auth::audit::EventType;
use oriel_linux_desktop::{SessionEnd, SessionError};
use oriel_rbac::JoinMode;
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, Codec, ParticipantMode};
use support::{Client, TestService};

const GRACE: Duration = Duration::from_secs(600);
/// Lets its holder join `tester`'s desktop sessions, to watch or to help.
const HELPDESK: &str = "kind: role\nversion: v7\nmetadata:\n  name: helpdesk\nspec:\n  allow:\n    join_sessions:\n      - name: help testers\n        roles: [tester]\n        kinds: [desktop]\n        modes: [observer, peer]\n";
/// Grants nothing to join with.
const NOBODY: &str = "kind: role\nversion: v7\nmetadata:\n  name: nobody\nspec:\n  allow:\n    linux_desktop_labels:\n      'nothing': 'here'\n";

async fn press(client: &mut Client, scancode: u32) {
    for pressed in [true, false] {
        client.send(Payload::KeyboardButton(pb::KeyboardButton { key_code: scancode, pressed })).await;
    }
}

async fn invite(owner: &mut Client, user: &str, mode: ParticipantMode) {
    owner.send(Payload::InviteParticipant(pb::InviteParticipant { user: user.into(), mode: mode as i32 })).await;
    let wanted = mode as i32;
    owner.until("the invitation in the list", |c| c.participants.last().is_some_and(|l| l.invited.iter().any(|i| i.user == user && i.mode == wanted))).await;
}

async fn refused(mut client: Client) -> String {
    client.say_hello(320, 240).await;
    while client.next().await.is_some() {}
    client.alerts.last().expect("an alert").message.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_observer_watches_a_peer_types_and_the_owner_removes_them() {
    let service = TestService::with_grace(&[("Probe", "exec sleep 3600")], GRACE);
    service.add_user("bob", "oriel-bob", HELPDESK).await;
    service.add_user("mallory", "oriel-mallory", NOBODY).await;
    let (mut owner, owner_task) = service.connect();
    let sid = owner.hello(320, 240, Codec::QoizStream).await.session_id;
    let x = service.x_client("Probe").await;
    x.focused_green_window();
    owner.until("the green window", |c| c.pixel(40, 30) == [0, 255, 0, 255]).await;

    // Without join_sessions, or without the owner's invitation: refused, and why.
    let (mallory, task) = service.join_as("mallory", &sid, JoinMode::Observer);
    let message = refused(mallory).await;
    assert!(message.contains("none of your roles lets you join this session as observer"), "{message}");
    assert!(task.await.unwrap().is_err());
    let (uninvited, task) = service.join_as("bob", &sid, JoinMode::Observer);
    assert_eq!(refused(uninvited).await, "tester has not invited you to this session as observer; ask them to invite you");
    assert!(matches!(task.await.unwrap(), Err(SessionError::NotInvited { .. })));

    // Invited to watch: bob sees the screen from a keyframe, and his keys go nowhere.
    invite(&mut owner, "bob", ParticipantMode::Observer).await;
    let (mut bob, bob_task) = service.join_as("bob", &sid, JoinMode::Observer);
    let hello = bob.hello(800, 600, Codec::QoizStream).await;
    assert_eq!((hello.resumed_xsession.as_str(), hello.participant_mode), ("Probe", ParticipantMode::Observer as i32));
    assert_eq!((hello.width, hello.height), (320, 240), "the owner's screen, not the joiner's window");
    assert!(!hello.directory_sharing_enabled);
    bob.until("the green window, from a keyframe", |c| c.keyframes >= 1 && c.pixel(40, 30) == [0, 255, 0, 255]).await;
    owner.until("bob in the list", |c| c.participants.last().is_some_and(|l| l.participants.len() == 2)).await;
    let list = owner.participants.last().unwrap().clone();
    let modes: Vec<(&str, i32, bool)> = list.participants.iter().map(|p| (p.user.as_str(), p.mode, p.you)).collect();
    assert_eq!(modes, [("tester", ParticipantMode::Owner as i32, true), ("bob", ParticipantMode::Observer as i32, false)]);
    // An observer cannot peek a peer's rights: his invitation as a peer is needed.
    let (as_peer, _task) = service.join_as("bob", &sid, JoinMode::Peer);
    assert!(refused(as_peer).await.contains("has not invited you to this session as peer"));
    press(&mut bob, 0x1e).await; // a
    press(&mut owner, 0x30).await; // b
    assert_eq!(x.next_key_press(), 56, "the first key to arrive is the owner's b: the observer's a never did");
    // Bob sees what changes, though the owner's session paces the frames.
    owner.send(Payload::MouseMove(pb::MouseMove { x: 5, y: 5 })).await;

    // As a peer, bob types.
    invite(&mut owner, "bob", ParticipantMode::Peer).await;
    let (mut peer, peer_task) = service.join_as("bob", &sid, JoinMode::Peer);
    assert_eq!(peer.hello(320, 240, Codec::QoizStream).await.participant_mode, ParticipantMode::Peer as i32);
    press(&mut peer, 0x2e).await; // c
    assert_eq!(x.next_key_press(), 54, "the peer's c");

    // The owner removes the peer: told why, gone from the list, not invited any more.
    owner.until("three in the list", |c| c.participants.last().is_some_and(|l| l.participants.len() == 3)).await;
    let viewer = owner.participants.last().unwrap().participants.iter().find(|p| p.mode == ParticipantMode::Peer as i32).unwrap().viewer;
    owner.send(Payload::RemoveParticipant(pb::RemoveParticipant { viewer })).await;
    assert_eq!(refused(peer).await, "the session's owner removed you from the session");
    assert!(matches!(peer_task.await.unwrap(), Err(SessionError::Removed)));
    owner.until("the peer gone", |c| c.participants.last().is_some_and(|l| l.participants.len() == 2 && l.invited.is_empty())).await;

    // The owner ends it: the observer is told, and everyone is on record.
    owner.send(Payload::EndSession(pb::EndSession {})).await;
    while owner.next().await.is_some() {}
    while bob.next().await.is_some() {}
    assert_eq!(bob.alerts.last().unwrap().message, "the session ended: its owner ended it");
    assert_eq!(owner_task.await.unwrap().unwrap(), SessionEnd::ClientLeft);
    assert!(bob_task.await.unwrap().is_err(), "the observer's connection ends with the session");
    let end = support::events_of(&service, EventType::LinuxSessionEnd, 1).await.pop().unwrap();
    assert_eq!(end.fields["participants"], serde_json::json!(["tester", "bob"]));
    let joins = support::events_of(&service, EventType::SessionJoin, 5).await;
    let outcomes: Vec<(&str, bool)> = joins.iter().map(|e| (e.user.as_str(), e.success)).collect();
    assert!(outcomes.contains(&("bob", true)) && outcomes.contains(&("bob", false)) && outcomes.contains(&("mallory", false)), "{outcomes:?}");
    let leaves = support::events_of(&service, EventType::SessionLeave, 2).await;
    assert!(leaves.iter().any(|e| e.text("reason") == Some("the session's owner removed you from the session")), "the removal is on record");
    assert!(joins.iter().all(|e| e.sid.as_deref() == Some(sid.as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_a_locked_owners_session_or_one_that_never_existed_is_refused() {
    use oriel_auth::resources::lock::LockTarget;
    let service = TestService::with_grace(&[("Probe", "exec sleep 3600")], GRACE);
    service.add_user("bob", "oriel-bob", HELPDESK).await;
    let (nowhere, _task) = service.join_as("bob", "0190f0a0-0000-7000-8000-000000000000", JoinMode::Observer);
    assert!(refused(nowhere).await.starts_with("there is no session 0190f0a0-0000-7000-8000-000000000000 on this desktop to join"));

    let (mut owner, _owner_task) = service.connect();
    let sid = owner.hello(320, 240, Codec::Qoiz).await.session_id;
    let _x = service.x_client("Probe").await;
    invite(&mut owner, "bob", ParticipantMode::Observer).await;
    let target = LockTarget { user: Some("tester".into()), ..Default::default() };
    service.plane.lock(target, None, Some("incident 11".into())).await.unwrap();
    let (bob, task) = service.join_as("bob", &sid, JoinMode::Observer);
    let message = refused(bob).await;
    // Whichever comes first, the lock ending the session or the join: refused with the reason.
    assert!(message.contains("incident 11") || message.starts_with(&format!("there is no session {sid} on this desktop to join")), "{message}");
    assert!(task.await.unwrap().is_err());
}
