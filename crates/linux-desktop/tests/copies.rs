//! What the browser can copy rather than receive again, with the session
//! codec: scrolling as a terminal does it (the X server copies the window's
//! content up, the client draws the new line) and a window moved on the
//! screen. The client's canvas equals the X screen afterwards.

mod support;

use std::time::Duration;

use oriel_tdpb::pb::Codec;
use support::{TestService, XClient};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{self, ConnectionExt as _};
use x11rb::wrapper::ConnectionExt as _;

const WIDTH: u16 = 256;
const LINE: u16 = 12;
const LINES: u16 = 16;

/// Draws "text" line `index` at row `top` of `window`: coloured blocks
/// placed by the index, so every line differs from every other.
fn draw_line(x: &XClient, window: xproto::Window, gc: xproto::Gcontext, index: u32, top: i16) {
    x.conn.clear_area(false, window, 0, top, WIDTH, LINE).unwrap();
    for block in 0..10u32 {
        let colour = (index * 0x3f_1b_07 + block * 0x07_29_53) & 0xff_ff_ff | 0x40_40_40;
        x.conn.change_gc(gc, &xproto::ChangeGCAux::new().foreground(colour)).unwrap();
        let left = ((index * 37 + block * 23) % u32::from(WIDTH - 12)) as i16;
        let width = 3 + ((index + block * 5) % 9) as u16;
        x.conn.poly_fill_rectangle(window, gc, &[xproto::Rectangle { x: left, y: top + 1, width, height: LINE - 2 }]).unwrap();
    }
}

/// The root window's pixels as RGBA, alpha 255.
fn screen_rgba(x: &XClient, width: u16, height: u16) -> Vec<u8> {
    let root = x.conn.setup().roots[0].root;
    let image = x.conn.get_image(xproto::ImageFormat::Z_PIXMAP, root, 0, 0, width, height, !0).unwrap().reply().unwrap();
    image.data.chunks_exact(4).flat_map(|px| [px[2], px[1], px[0], 255]).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrolled_window_arrives_as_copies_and_the_canvas_equals_the_screen() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    let hello = client.hello(320, 240, Codec::QoizSession).await;
    assert_eq!(hello.codec, Codec::QoizSession as i32);
    let x = service.x_client("Probe").await;

    let screen = &x.conn.setup().roots[0];
    let window = x.conn.generate_id().unwrap();
    let aux = xproto::CreateWindowAux::new().background_pixel(0x101010).override_redirect(1);
    let height = LINE * LINES;
    x.conn
        .create_window(screen.root_depth, window, screen.root, 32, 24, WIDTH, height, 0, xproto::WindowClass::INPUT_OUTPUT, screen.root_visual, &aux)
        .unwrap();
    x.conn.map_window(window).unwrap();
    let gc = x.conn.generate_id().unwrap();
    x.conn.create_gc(gc, window, &xproto::CreateGCAux::new().graphics_exposures(0)).unwrap();
    for line in 0..u32::from(LINES) {
        draw_line(&x, window, gc, line, (line as u16 * LINE) as i16);
    }
    x.conn.sync().unwrap();
    let expected = screen_rgba(&x, 320, 240);
    client.until("the window's lines", |c| c.canvas() == expected.as_slice()).await;

    // Scroll on a line at a time, as a terminal printing does.
    for step in 0..12u32 {
        x.conn.copy_area(window, window, gc, 0, LINE as i16, 0, 0, WIDTH, height - LINE).unwrap();
        draw_line(&x, window, gc, u32::from(LINES) + step, (height - LINE) as i16);
        x.conn.sync().unwrap();
        assert!(client.read_for(Duration::from_millis(60)).await, "the session ended");
    }
    let expected = screen_rgba(&x, 320, 240);
    client.until("the scrolled window", |c| c.canvas() == expected.as_slice()).await;
    assert!(client.copies() >= 6, "only {} of 12 scrolls went as copies", client.copies());

    // And back down (content moving down), in one go of three lines.
    x.conn.copy_area(window, window, gc, 0, 0, 0, (3 * LINE) as i16, WIDTH, height - 3 * LINE).unwrap();
    for line in 0..3u32 {
        draw_line(&x, window, gc, 100 + line, (line as u16 * LINE) as i16);
    }
    x.conn.sync().unwrap();
    let before = client.copies();
    let expected = screen_rgba(&x, 320, 240);
    client.until("the window scrolled back", |c| c.canvas() == expected.as_slice()).await;
    assert!(client.copies() > before, "scrolling back went as pixels only");

    drop(client);
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_window_arrives_as_a_copy_and_the_canvas_equals_the_screen() {
    let service = TestService::new(&[("Probe", "exec sleep 3600")]);
    let (mut client, task) = service.connect();
    client.hello(480, 360, Codec::QoizSession).await;
    let x = service.x_client("Probe").await;

    let screen = &x.conn.setup().roots[0];
    let window = x.conn.generate_id().unwrap();
    let aux = xproto::CreateWindowAux::new().background_pixel(0x202020).override_redirect(1);
    let height = LINE * 10;
    x.conn
        .create_window(screen.root_depth, window, screen.root, 10, 10, WIDTH, height, 0, xproto::WindowClass::INPUT_OUTPUT, screen.root_visual, &aux)
        .unwrap();
    x.conn.map_window(window).unwrap();
    let gc = x.conn.generate_id().unwrap();
    x.conn.create_gc(gc, window, &xproto::CreateGCAux::new().graphics_exposures(0)).unwrap();
    for line in 0..10u32 {
        draw_line(&x, window, gc, line, (line as u16 * LINE) as i16);
    }
    x.conn.sync().unwrap();
    let expected = screen_rgba(&x, 480, 360);
    client.until("the window", |c| c.canvas() == expected.as_slice()).await;

    // Dragged across the screen in steps, as a window manager moves it.
    let before = client.copies();
    for step in 1..=10i32 {
        x.conn.configure_window(window, &xproto::ConfigureWindowAux::new().x(10 + step * 17).y(10 + step * 11)).unwrap();
        x.conn.sync().unwrap();
        assert!(client.read_for(Duration::from_millis(40)).await, "the session ended");
    }
    let expected = screen_rgba(&x, 480, 360);
    client.until("the moved window", |c| c.canvas() == expected.as_slice()).await;
    assert!(client.copies() >= before + 5, "only {} of 10 moves went as copies", client.copies() - before);

    drop(client);
    task.await.unwrap().unwrap();
}
