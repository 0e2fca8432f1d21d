//! The session stream (CODEC_QOIZ_SESSION) end to end: the encoder's
//! messages through the decoder, painted by `FrameOps::apply`, against the
//! screen they were taken from.

use oriel_qoiz::{
    BgrxView, DecodeError, FrameOp, MAX_MESSAGE_AREA, MAX_MESSAGE_BODY, SessionDecoder,
    SessionEncoder,
};

/// A BGRX screen the test draws on.
struct Screen {
    pixels: Vec<u8>,
    width: u32,
    height: u32,
}

impl Screen {
    fn new(width: u32, height: u32) -> Self {
        Self {
            pixels: vec![0; (width * height * 4) as usize],
            width,
            height,
        }
    }

    fn stride(&self) -> usize {
        self.width as usize * 4
    }

    /// Text-like content: rows of "glyphs" seeded by `seed`.
    fn draw_text(&mut self, seed: u32) {
        for y in 0..self.height {
            for x in 0..self.width {
                let glyph = (x / 8).wrapping_mul(31) ^ (y / 16).wrapping_add(seed).wrapping_mul(17);
                let on = (glyph.wrapping_mul(2_654_435_761) >> ((x % 8) + (y % 16))) & 1 == 1;
                let at = ((y * self.width + x) * 4) as usize;
                let v = if on { 0xe0 } else { 0x10 };
                self.pixels[at..at + 4].copy_from_slice(&[v, v, v / 2, 0]);
            }
        }
    }

    fn view(&self, x: u32, y: u32, width: u32, height: u32) -> BgrxView<'_> {
        let start = y as usize * self.stride() + x as usize * 4;
        BgrxView::new(&self.pixels[start..], self.stride(), width, height).unwrap()
    }

    /// What a painter must show: RGBA, alpha 255.
    fn rgba(&self) -> Vec<u8> {
        self.pixels
            .chunks_exact(4)
            .flat_map(|px| [px[2], px[1], px[0], 255])
            .collect()
    }

    /// Moves rows up by `lines` pixels (a terminal scrolling) and draws new
    /// text in the rows that come in.
    fn scroll(&mut self, lines: u32, seed: u32) {
        let stride = self.stride();
        let shift = lines as usize * stride;
        self.pixels.copy_within(shift.., 0);
        let mut fresh = Screen::new(self.width, self.height);
        fresh.draw_text(seed);
        let start = (self.height - lines) as usize * stride;
        self.pixels[start..].copy_from_slice(&fresh.pixels[start..]);
    }
}

struct Viewer {
    decoder: SessionDecoder,
    picture: Vec<u8>,
    width: u32,
    height: u32,
}

impl Viewer {
    fn new(width: u32, height: u32) -> Self {
        Self {
            decoder: SessionDecoder::new(),
            picture: vec![0; (width * height * 4) as usize],
            width,
            height,
        }
    }

    fn take(&mut self, reset: bool, data: &[u8]) -> Result<(), DecodeError> {
        let ops = self.decoder.decode(reset, data)?;
        ops.apply(&mut self.picture, self.width, self.height);
        Ok(())
    }
}

fn send(encoder: &mut SessionEncoder) -> (bool, Vec<u8>) {
    let mut out = Vec::new();
    let reset = encoder.finish(&mut out).unwrap();
    (reset, out)
}

#[test]
fn a_keyframe_then_changes_paint_the_screen() {
    let mut screen = Screen::new(320, 200);
    screen.draw_text(1);
    let mut encoder = SessionEncoder::new().unwrap();
    let mut viewer = Viewer::new(320, 200);

    encoder.paint(0, 0, &screen.view(0, 0, 320, 200)).unwrap();
    let (reset, data) = send(&mut encoder);
    assert!(reset, "the first message starts the stream");
    viewer.take(reset, &data).unwrap();
    assert_eq!(viewer.picture, screen.rgba());

    // Two rectangles change; both go in one message.
    let mut changed = Screen::new(320, 200);
    changed.draw_text(9);
    for (x, y, w, h) in [(10, 20, 30, 16), (200, 150, 64, 32)] {
        for row in y..y + h {
            let at = (row * 320 + x) as usize * 4;
            screen.pixels[at..at + w as usize * 4]
                .copy_from_slice(&changed.pixels[at..at + w as usize * 4]);
        }
        encoder.paint(x, y, &screen.view(x, y, w, h)).unwrap();
    }
    let (reset, data) = send(&mut encoder);
    assert!(!reset);
    viewer.take(reset, &data).unwrap();
    assert_eq!(viewer.picture, screen.rgba());
}

#[test]
fn a_scroll_sent_as_a_copy_costs_only_the_new_rows() {
    let (width, height) = (640, 480);
    let mut screen = Screen::new(width, height);
    screen.draw_text(3);
    let mut encoder = SessionEncoder::new().unwrap();
    let mut viewer = Viewer::new(width, height);
    encoder
        .paint(0, 0, &screen.view(0, 0, width, height))
        .unwrap();
    let (reset, keyframe) = send(&mut encoder);
    viewer.take(reset, &keyframe).unwrap();

    screen.scroll(16, 77);
    encoder.copy(0, 0, width, height - 16, 0, 16).unwrap();
    encoder
        .paint(0, height - 16, &screen.view(0, height - 16, width, 16))
        .unwrap();
    let (reset, scrolled) = send(&mut encoder);
    viewer.take(reset, &scrolled).unwrap();
    assert_eq!(viewer.picture, screen.rgba());
    assert!(
        scrolled.len() * 10 < keyframe.len(),
        "scroll {} bytes, keyframe {}",
        scrolled.len(),
        keyframe.len()
    );
}

#[test]
fn a_glyph_seen_before_costs_a_few_dozen_bytes() {
    let mut screen = Screen::new(640, 480);
    screen.draw_text(5);
    let mut encoder = SessionEncoder::new().unwrap();
    let mut viewer = Viewer::new(640, 480);
    encoder.paint(0, 0, &screen.view(0, 0, 640, 480)).unwrap();
    let (reset, data) = send(&mut encoder);
    viewer.take(reset, &data).unwrap();

    // The key was typed before: its cell went out as a small paint of its
    // own. Typed again elsewhere, the stream finds it in its history.
    encoder.paint(8, 16, &screen.view(8, 16, 8, 16)).unwrap();
    let (reset, data) = send(&mut encoder);
    viewer.take(reset, &data).unwrap();
    let glyph: Vec<u8> = (0..16)
        .flat_map(|row| screen.pixels[((16 + row) * 640 + 8) * 4..][..32].to_vec())
        .collect();
    for row in 0..16 {
        let at = ((400 + row) * 640 + 320) * 4;
        screen.pixels[at..at + 32].copy_from_slice(&glyph[row * 32..][..32]);
    }
    encoder
        .paint(320, 400, &screen.view(320, 400, 8, 16))
        .unwrap();
    let (reset, data) = send(&mut encoder);
    viewer.take(reset, &data).unwrap();
    assert_eq!(viewer.picture, screen.rgba());
    assert!(
        data.len() <= 24,
        "a repeated glyph took {} bytes",
        data.len()
    );
}

#[test]
fn a_corrupted_message_closes_the_stream_until_a_keyframe() {
    let mut screen = Screen::new(128, 64);
    screen.draw_text(2);
    let mut encoder = SessionEncoder::new().unwrap();
    let mut viewer = Viewer::new(128, 64);
    encoder.paint(0, 0, &screen.view(0, 0, 128, 64)).unwrap();
    let (reset, data) = send(&mut encoder);
    viewer.take(reset, &data).unwrap();

    screen.draw_text(4);
    encoder.paint(0, 0, &screen.view(0, 0, 128, 32)).unwrap();
    let (_, mut data) = send(&mut encoder);
    let middle = data.len() / 2;
    data[middle] ^= 0x5a;
    data.truncate(data.len() - 1);
    assert!(viewer.take(false, &data).is_err());
    encoder.paint(0, 32, &screen.view(0, 32, 128, 32)).unwrap();
    let (reset, data) = send(&mut encoder);
    assert_eq!(viewer.take(reset, &data), Err(DecodeError::NoStream));

    // The viewer asks for a keyframe; the encoder starts a new stream.
    encoder.reset();
    encoder.paint(0, 0, &screen.view(0, 0, 128, 64)).unwrap();
    let (reset, data) = send(&mut encoder);
    assert!(reset);
    viewer.take(reset, &data).unwrap();
    assert_eq!(viewer.picture, screen.rgba());
}

#[test]
fn a_message_without_reset_before_any_stream_is_refused() {
    let mut decoder = SessionDecoder::new();
    assert_eq!(
        decoder.decode(false, &[]).err(),
        Some(DecodeError::NoStream)
    );
}

#[test]
fn an_empty_message_is_an_empty_frame() {
    let mut encoder = SessionEncoder::new().unwrap();
    let (reset, data) = send(&mut encoder);
    let mut decoder = SessionDecoder::new();
    assert!(decoder.decode(reset, &data).unwrap().is_empty());
}

#[test]
fn copies_apply_in_order_and_overlap_safely() {
    let mut encoder = SessionEncoder::new().unwrap();
    let mut screen = Screen::new(16, 16);
    screen.draw_text(8);
    encoder.paint(0, 0, &screen.view(0, 0, 16, 16)).unwrap();
    // Down by 3 rows (source above the destination, overlapping), then right by 2.
    encoder.copy(0, 3, 16, 13, 0, 0).unwrap();
    encoder.copy(2, 0, 14, 16, 0, 0).unwrap();
    let (reset, data) = send(&mut encoder);
    let mut decoder = SessionDecoder::new();
    let ops = decoder.decode(reset, &data).unwrap();
    let kinds: Vec<&str> = ops
        .iter()
        .map(|op| match op {
            FrameOp::Paint { .. } => "paint",
            FrameOp::Copy { .. } => "copy",
        })
        .collect();
    assert_eq!(kinds, ["paint", "copy", "copy"]);

    let mut picture = vec![0; 16 * 16 * 4];
    ops.apply(&mut picture, 16, 16);
    let mut expected = screen.rgba();
    let before = expected.clone();
    for y in 3..16 {
        expected[y * 64..y * 64 + 64].copy_from_slice(&before[(y - 3) * 64..(y - 3) * 64 + 64]);
    }
    let shifted = expected.clone();
    for y in 0..16 {
        expected[y * 64 + 8..y * 64 + 64].copy_from_slice(&shifted[y * 64..y * 64 + 56]);
    }
    assert_eq!(picture, expected);
}

#[test]
fn operations_off_the_largest_screen_are_refused_both_ways() {
    let mut encoder = SessionEncoder::new().unwrap();
    assert!(encoder.copy(8000, 0, 500, 1, 0, 0).is_err());
    assert!(encoder.copy(0, 0, 10, 10, 8190, 0).is_err());
    let pixels = vec![0u8; 4];
    assert!(
        encoder
            .paint(8192, 0, &BgrxView::new(&pixels, 4, 1, 1).unwrap())
            .is_err()
    );

    // A hand-made body with a copy whose source leaves the screen.
    let mut raw = vec![1u8];
    for v in [0u32, 0, 10, 10, 8190, 0] {
        push_varint(&mut raw, v);
    }
    assert!(matches!(
        decode_raw(&raw),
        Err(DecodeError::OpOutside { .. })
    ));
    // An unknown tag; a truncated field; an overlong number.
    assert!(matches!(
        decode_raw(&[7, 0, 0, 1, 1]),
        Err(DecodeError::BadOp { tag: 7, .. })
    ));
    assert!(matches!(
        decode_raw(&[1, 0, 0]),
        Err(DecodeError::OpTruncated { .. })
    ));
    assert!(matches!(
        decode_raw(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        Err(DecodeError::BadVarint { .. })
    ));
    // A paint whose QOI ops stop short.
    assert!(matches!(
        decode_raw(&[0, 0, 0, 4, 4, 0xc0]),
        Err(DecodeError::BadPaint { .. })
    ));
}

#[test]
fn a_bomb_stops_at_the_body_limit() {
    // Copies of a 1x1 region: six bytes each, compressing to almost nothing.
    let op = [1u8, 0, 0, 1, 1, 0, 0];
    let body: Vec<u8> = op
        .iter()
        .copied()
        .cycle()
        .take(op.len() * (MAX_MESSAGE_BODY / op.len() + 10))
        .collect();
    assert!(matches!(
        decode_raw(&body),
        Err(DecodeError::BodyTooLarge { .. })
    ));
}

#[test]
fn painting_past_the_area_limit_is_refused() {
    // 4096x4096 pixels of one colour in QOI runs, twice: 32 Mi pixels.
    let side = 4096u32;
    let mut body = Vec::new();
    for _ in 0..2 {
        body.push(0);
        for v in [0, 0, side, side] {
            push_varint(&mut body, v);
        }
        let pixels = u64::from(side) * u64::from(side);
        body.extend(std::iter::repeat_n(0xc0 | 61, (pixels / 62) as usize));
        body.push(0xc0 | ((pixels % 62) as u8 - 1));
    }
    assert!(u64::from(side) * u64::from(side) * 2 > MAX_MESSAGE_AREA);
    assert!(matches!(
        decode_raw(&body),
        Err(DecodeError::AreaTooLarge { .. })
    ));
}

fn decode_raw(body: &[u8]) -> Result<(), DecodeError> {
    let mut encoder = SessionEncoder::new().unwrap();
    encoder.push_encoded(body);
    let (reset, data) = send(&mut encoder);
    SessionDecoder::new().decode(reset, &data).map(|_| ())
}

fn push_varint(out: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
