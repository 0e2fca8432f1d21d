//! The browser's end of a session process, for the tests: TDPB in and
//! out, frames painted with the browser's decoder and acknowledged.

use oriel_qoiz::Canvas;
use oriel_tdpb::pb as tdpb;
use oriel_tdpb::{FrameReader, Limits, Payload, decode_frame, encode_frame};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::{PATIENCE, SCREEN, USER};

/// The browser's end of a session: its TDPB stream and what it painted.
pub struct Browser {
    pub data: tokio::net::UnixStream,
    frames: FrameReader,
    pub canvas: Canvas,
}

impl Browser {
    pub fn new(data: tokio::net::UnixStream) -> Self {
        Self { data, frames: FrameReader::new(Limits::FROM_SERVER.max_frame_len), canvas: Canvas::new() }
    }

    pub async fn send(&mut self, payload: Payload) {
        self.data.write_all(&encode_frame(payload)).await.unwrap();
    }

    /// The next message from the session; frames are painted and acknowledged.
    pub async fn next(&mut self) -> Option<Payload> {
        let mut buf = vec![0; 64 * 1024];
        loop {
            if let Some(frame) = self.frames.next_frame().unwrap() {
                let payload = decode_frame(frame, Limits::FROM_SERVER).unwrap()?;
                if let Payload::FrameRect(rect) = &payload {
                    self.canvas.paint(rect.codec as u32, rect.reset_context, &rect.data, rect.x, rect.y, rect.width, rect.height).unwrap();
                    if rect.end_of_frame {
                        // The session may have ended meanwhile: an ack is then for nobody.
                        let ack = encode_frame(Payload::FrameAck(tdpb::FrameAck { frame_id: rect.frame_id }));
                        let _ = self.data.write_all(&ack).await;
                    }
                }
                return Some(payload);
            }
            // A session that ended may reset the stream rather than close it.
            let n = self.data.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.frames.push(&buf[..n]);
        }
    }

    /// Reads until the canvas shows what `done` wants.
    pub async fn until(&mut self, what: &str, done: impl Fn(&Canvas) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !done(&self.canvas) {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Err(_) => panic!("gave up waiting for {what}"),
                Ok(None) => panic!("the session ended while waiting for {what}"),
                Ok(Some(_)) => {}
            }
        }
    }
}

pub fn hello() -> Payload {
    Payload::ClientHello(tdpb::ClientHello {
        username: USER.into(),
        screen_spec: Some(tdpb::ClientScreenSpec { width: SCREEN.0.into(), height: SCREEN.1.into(), scale: 100 }),
        protocol_version: 1,
        codecs: vec![tdpb::Codec::QoizSession as i32],
        ..Default::default()
    })
}

pub fn canvas_pixel(canvas: &Canvas, x: u32, y: u32) -> [u8; 4] {
    let at = ((y * canvas.size().0 + x) * 4) as usize;
    canvas.rgba()[at..at + 4].try_into().unwrap()
}

pub fn canvas_region(canvas: &Canvas, x: u32, y: u32, width: u32, height: u32) -> Vec<u8> {
    (y..y + height).flat_map(|row| (x..x + width).flat_map(move |col| canvas_pixel(canvas, col, row))).collect()
}

/// Reads the browser's stream to its end: the ERROR alert's message.
pub async fn error_alert(browser: &mut Browser) -> String {
    let mut alert = None;
    while let Some(payload) = tokio::time::timeout(PATIENCE, browser.next()).await.unwrap() {
        if let Payload::Alert(a) = payload
            && a.severity == tdpb::AlertSeverity::Error as i32
        {
            alert = Some(a.message);
        }
    }
    alert.expect("an ERROR alert before the stream closed")
}
