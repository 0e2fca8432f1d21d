//! Property tests: whatever goes in comes out, for every layer and codec.

mod common;

use common::{Image, image, make_image};
use oriel_qoiz::{Codec, Decoder, FrameEncoder, StreamEncoder, decode_qoi, encode_qoi};
use proptest::prelude::*;

proptest! {
    #[test]
    fn qoi_round_trips(img in image()) {
        let mut qoi = Vec::new();
        encode_qoi(&img.view(), &mut qoi).unwrap();
        let mut rgba = vec![0; img.width as usize * img.height as usize * 4];
        decode_qoi(&qoi, img.width, img.height, &mut rgba).unwrap();
        prop_assert_eq!(rgba, img.rgba());
    }

    #[test]
    fn frame_codec_round_trips(img in image(), level in prop_oneof![Just(1), Just(3), Just(-5)]) {
        let mut encoder = FrameEncoder::with_level(level).unwrap();
        let mut data = Vec::new();
        encoder.encode(&img.view(), &mut data).unwrap();
        let mut rgba = Vec::new();
        Decoder::new().decode(Codec::Qoiz, false, &data, img.width, img.height, &mut rgba).unwrap();
        prop_assert_eq!(rgba, img.rgba());
    }

    /// A session of rectangles, some repeating earlier content (so frames
    /// refer to history), with resets in the middle.
    #[test]
    fn stream_codec_round_trips(
        rects in prop::collection::vec((image(), any::<bool>(), any::<bool>()), 1..10),
        history in prop_oneof![Just(0usize), Just(64), Just(4096), Just(1 << 20)],
    ) {
        let mut encoder = StreamEncoder::with_params(3, history).unwrap();
        let mut decoder = Decoder::new();
        let mut previous: Option<Image> = None;
        let (mut data, mut rgba) = (Vec::new(), Vec::new());
        for (i, (img, repeat, reset)) in rects.into_iter().enumerate() {
            let img = match (&previous, repeat) { (Some(p), true) => p.clone(), _ => img };
            if reset {
                encoder.reset();
            }
            let reset_context = encoder.encode(&img.view(), &mut data).unwrap();
            prop_assert_eq!(reset_context, i == 0 || reset);
            decoder.decode(Codec::QoizStream, reset_context, &data, img.width, img.height, &mut rgba).unwrap();
            prop_assert_eq!(&rgba, &img.rgba());
            previous = Some(img);
        }
    }
}

#[test]
fn repeated_screens_shrink_in_the_stream() {
    let screen = make_image(320, 200, 0, 3, 7);
    let mut encoder = StreamEncoder::new().unwrap();
    let mut decoder = Decoder::new();
    let (mut first, mut second, mut rgba) = (Vec::new(), Vec::new(), Vec::new());
    assert!(encoder.encode(&screen.view(), &mut first).unwrap());
    assert!(!encoder.encode(&screen.view(), &mut second).unwrap());
    assert!(
        second.len() * 4 < first.len(),
        "{} vs {}",
        second.len(),
        first.len()
    );
    decoder
        .decode(Codec::QoizStream, true, &first, 320, 200, &mut rgba)
        .unwrap();
    decoder
        .decode(Codec::QoizStream, false, &second, 320, 200, &mut rgba)
        .unwrap();
    assert_eq!(rgba, screen.rgba());
}

#[test]
fn frame_and_stream_rectangles_interleave() {
    let a = make_image(17, 9, 3, 2, 1);
    let b = make_image(5, 31, 1, 1, 2);
    let mut frames = FrameEncoder::new().unwrap();
    let mut stream = StreamEncoder::new().unwrap();
    let mut decoder = Decoder::new();
    let (mut data, mut rgba) = (Vec::new(), Vec::new());
    for img in [&a, &b, &a, &b] {
        let reset = stream.encode(&img.view(), &mut data).unwrap();
        decoder
            .decode(
                Codec::QoizStream,
                reset,
                &data,
                img.width,
                img.height,
                &mut rgba,
            )
            .unwrap();
        assert_eq!(rgba, img.rgba());
        frames.encode(&img.view(), &mut data).unwrap();
        decoder
            .decode(Codec::Qoiz, false, &data, img.width, img.height, &mut rgba)
            .unwrap();
        assert_eq!(rgba, img.rgba());
    }
}
