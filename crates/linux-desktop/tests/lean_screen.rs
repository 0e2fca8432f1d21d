//! Xvfb holds its whole framebuffer from the start, at the largest screen a
//! session may take. A browser that names its monitor gets a session no
//! larger than that monitor, so it pays for 1920x1080 and not for the
//! host's 7680x4320 cap.

mod support;

use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, Codec};
use support::TestService;
use x11rb::connection::Connection;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::ConnectionExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_xvfb_session_is_no_larger_than_the_browsers_monitor() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    let hello = client.hello_on_monitor(800, 600, Some((1280, 800)), Codec::QoizSession).await;
    assert_eq!((hello.width, hello.height), (800, 600));
    assert_eq!((hello.max_width, hello.max_height), (1280, 800), "the ServerHello names the largest screen");
    let x = service.x_client("Probe").await;
    let root = x.conn.setup().roots[0].root;
    let range = x.conn.randr_get_screen_size_range(root).unwrap().reply().unwrap();
    assert_eq!((range.max_width, range.max_height), (1280, 800), "Xvfb started at the monitor's size");

    // The window grows up to the monitor, and no further.
    client.send(Payload::ClientScreenSpec(pb::ClientScreenSpec { width: 1280, height: 800, scale: 100 })).await;
    let root_size = || {
        let geometry = x.conn.get_geometry(root).unwrap().reply().unwrap();
        (geometry.width, geometry.height)
    };
    client.until("the screen at the monitor's size", |_| root_size() == (1280, 800)).await;
    client.send(Payload::ClientScreenSpec(pb::ClientScreenSpec { width: 1600, height: 1000, scale: 100 })).await;
    client.send(Payload::ClientScreenSpec(pb::ClientScreenSpec { width: 1000, height: 700, scale: 100 })).await;
    client.until("the screen shrunk again", |_| root_size() == (1000, 700)).await;

    drop(client);
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_name_its_monitor_gets_the_hosts_cap() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    let hello = client.hello(640, 480, Codec::QoizSession).await;
    assert_eq!((hello.max_width, hello.max_height), (7680, 4320));
    let x = service.x_client("Probe").await;
    let range = x.conn.randr_get_screen_size_range(x.conn.setup().roots[0].root).unwrap().reply().unwrap();
    assert_eq!((range.max_width, range.max_height), (7680, 4320));
    drop(client);
    task.await.unwrap().unwrap();
}
