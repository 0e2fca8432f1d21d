//! A session on TigerVNC's Xvnc (`x_server: xvnc`) instead of Xvfb: the
//! same service, capture and input, a screen allocated at the size it shows
//! and grown by RANDR past the size it started at, which Xvfb cannot do.

mod support;

use oriel_linux_desktop::xvfb::XServer;
use oriel_tdpb::Payload;
use oriel_tdpb::pb::{self, Codec};
use support::TestService;
use x11rb::connection::Connection;
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::wrapper::ConnectionExt as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_on_xvnc_shows_the_screen_and_grows_past_its_first_size() {
    let service = TestService::with_x_server(&[("Probe", "exec sleep 3600")], XServer::Xvnc);
    let (mut client, task) = service.connect();
    let hello = client.hello(320, 240, Codec::QoizSession).await;
    assert_eq!((hello.width, hello.height), (320, 240));
    let x = service.x_client("Probe").await;
    // Xvnc's screen may grow to 32768 a side; Xvfb's stops at the size it started with.
    let range = x.conn.randr_get_screen_size_range(x.conn.setup().roots[0].root).unwrap().reply().unwrap();
    assert_eq!(range.max_width, 32768, "not Xvnc: its screen stops at {}x{}", range.max_width, range.max_height);
    let extensions = x.conn.list_extensions().unwrap().reply().unwrap();
    let names: Vec<String> = extensions.names.iter().map(|n| String::from_utf8_lossy(&n.name).into_owned()).collect();
    assert!(!names.iter().any(|n| n == "GLX"), "the extensions Xvfb goes without are off here too: {names:?}");

    // Something drawn arrives.
    let screen = &x.conn.setup().roots[0];
    let window = x.conn.generate_id().unwrap();
    let aux = xproto::CreateWindowAux::new().background_pixel(0xff0000).override_redirect(1);
    x.conn.create_window(screen.root_depth, window, screen.root, 10, 10, 50, 40, 0, xproto::WindowClass::INPUT_OUTPUT, screen.root_visual, &aux).unwrap();
    x.conn.map_window(window).unwrap();
    x.conn.sync().unwrap();
    client.until("the red window", |c| c.pixel(10, 10) == [255, 0, 0, 255] && c.pixel(59, 49) == [255, 0, 0, 255]).await;

    // Larger than it started: Xvnc reallocates, and the window shows there.
    client.send(Payload::ClientScreenSpec(pb::ClientScreenSpec { width: 1280, height: 800, scale: 100 })).await;
    client.resize_canvas(1280, 800);
    x.conn.configure_window(window, &xproto::ConfigureWindowAux::new().x(1200).y(700)).unwrap();
    x.conn.sync().unwrap();
    client.until("the window past the first size", |c| c.pixel(1200, 700) == [255, 0, 0, 255] && c.pixel(1249, 739) == [255, 0, 0, 255]).await;
    let geometry = x.conn.get_geometry(screen.root).unwrap().reply().unwrap();
    assert_eq!((geometry.width, geometry.height), (1280, 800));

    drop(client);
    task.await.unwrap().unwrap();
}
