//! Every way a peer can send bad data ends in a typed error, never a panic.

mod common;

use common::make_image;
use oriel_qoiz::{
    Codec, DecodeError, Decoder, FrameEncoder, StreamEncoder, decode_qoi, max_qoi_len,
};

fn encoded_frame(width: u32, height: u32) -> Vec<u8> {
    let img = make_image(width, height, 0, 2, 3);
    let mut data = Vec::new();
    FrameEncoder::new()
        .unwrap()
        .encode(&img.view(), &mut data)
        .unwrap();
    data
}

fn decode(codec: Codec, reset: bool, data: &[u8], w: u32, h: u32) -> Result<Vec<u8>, DecodeError> {
    let mut rgba = Vec::new();
    Decoder::new()
        .decode(codec, reset, data, w, h, &mut rgba)
        .map(|()| rgba)
}

#[test]
fn every_truncation_is_an_error() {
    let data = encoded_frame(40, 30);
    for len in 0..data.len() {
        let err = decode(Codec::Qoiz, false, &data[..len], 40, 30).unwrap_err();
        assert!(
            matches!(err, DecodeError::ZstdTruncated | DecodeError::Zstd(_)),
            "{len}: {err}"
        );
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut data = encoded_frame(8, 8);
    data.push(0);
    assert_eq!(
        decode(Codec::Qoiz, false, &data, 8, 8),
        Err(DecodeError::ZstdTrailingBytes { extra: 1 })
    );
}

#[test]
fn wrong_size_is_an_error() {
    let data = encoded_frame(8, 8);
    assert!(matches!(
        decode(Codec::Qoiz, false, &data, 8, 9),
        Err(DecodeError::QoiSizeMismatch { .. })
    ));
    // Smaller than the data: caught before the QOI header is even read.
    assert!(matches!(
        decode(Codec::Qoiz, false, &data, 2, 2),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn sizes_out_of_range_are_errors() {
    let data = encoded_frame(1, 1);
    for (w, h) in [(0, 1), (1, 0), (8193, 1), (1, 8193)] {
        assert_eq!(
            decode(Codec::Qoiz, false, &data, w, h),
            Err(DecodeError::BadSize {
                width: w,
                height: h
            })
        );
    }
}

#[test]
fn garbage_is_an_error() {
    let mut state = 0x1234_5678_u32;
    for len in [0, 1, 4, 13, 100, 5000] {
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (state >> 24) as u8
            })
            .collect();
        assert!(decode(Codec::Qoiz, false, &garbage, 16, 16).is_err());
        assert!(decode(Codec::QoizStream, true, &garbage, 16, 16).is_err());
    }
}

#[test]
fn bombs_stop_at_the_qoi_limit() {
    let zeros = vec![0u8; 64 << 20];
    // With the size in the frame header: refused up front.
    let declared = zstd::bulk::compress(&zeros, 1).unwrap();
    assert_eq!(
        decode(Codec::Qoiz, false, &declared, 16, 16),
        Err(DecodeError::TooLarge {
            limit: max_qoi_len(16, 16),
            width: 16,
            height: 16
        })
    );
    // Without it: stopped after the first block past the limit.
    let mut undeclared = Vec::new();
    zstd::stream::copy_encode(&zeros[..], &mut undeclared, 1).unwrap();
    assert!(matches!(
        decode(Codec::Qoiz, false, &undeclared, 16, 16),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[test]
fn stream_needs_a_reset_first_and_after_an_error() {
    let img = make_image(10, 10, 0, 1, 9);
    let mut encoder = StreamEncoder::new().unwrap();
    let mut decoder = Decoder::new();
    let (mut key, mut next, mut rgba) = (Vec::new(), Vec::new(), Vec::new());
    encoder.encode(&img.view(), &mut key).unwrap();
    encoder.encode(&img.view(), &mut next).unwrap();

    assert_eq!(
        decoder.decode(Codec::QoizStream, false, &key, 10, 10, &mut rgba),
        Err(DecodeError::NoStream)
    );
    decoder
        .decode(Codec::QoizStream, true, &key, 10, 10, &mut rgba)
        .unwrap();
    assert!(
        decoder
            .decode(Codec::QoizStream, false, &next[1..], 10, 10, &mut rgba)
            .is_err()
    );
    assert_eq!(
        decoder.decode(Codec::QoizStream, false, &next, 10, 10, &mut rgba),
        Err(DecodeError::NoStream)
    );
    // A rectangle that needs history cannot follow a reset either.
    assert!(
        decoder
            .decode(Codec::QoizStream, true, &next, 10, 10, &mut rgba)
            .is_err()
    );
}

#[test]
fn qoi_layer_errors() {
    let img = make_image(3, 3, 0, 0, 5);
    let mut qoi = Vec::new();
    oriel_qoiz::encode_qoi(&img.view(), &mut qoi).unwrap();
    let mut rgba = vec![0; 36];
    let mut bad = qoi.clone();
    bad[0] = b'Q';
    assert_eq!(
        decode_qoi(&bad, 3, 3, &mut rgba),
        Err(DecodeError::QoiBadMagic)
    );
    let mut bad = qoi.clone();
    bad[12] = 2;
    assert_eq!(
        decode_qoi(&bad, 3, 3, &mut rgba),
        Err(DecodeError::QoiBadChannels(2))
    );
    let mut bad = qoi.clone();
    bad[13] = 9;
    assert_eq!(
        decode_qoi(&bad, 3, 3, &mut rgba),
        Err(DecodeError::QoiBadColorspace(9))
    );
    assert_eq!(
        decode_qoi(&qoi[..qoi.len() - 3], 3, 3, &mut rgba),
        Err(DecodeError::QoiTruncated)
    );
    let mut bad = qoi.clone();
    bad.push(7);
    assert_eq!(
        decode_qoi(&bad, 3, 3, &mut rgba),
        Err(DecodeError::QoiTrailingBytes { extra: 1 })
    );
    let mut bad = qoi.clone();
    *bad.last_mut().unwrap() = 2;
    assert_eq!(
        decode_qoi(&bad, 3, 3, &mut rgba),
        Err(DecodeError::QoiBadEndMarker)
    );
    assert_eq!(
        decode_qoi(&qoi, 3, 3, &mut rgba[..35]),
        Err(DecodeError::OutputLength {
            expected: 36,
            len: 35
        })
    );
    // A run of 62 in a 3x3 image.
    let mut run = qoi[..14].to_vec();
    run.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(
        decode_qoi(&run, 3, 3, &mut rgba),
        Err(DecodeError::QoiRunOverflow)
    );
}

#[test]
fn unknown_codec_numbers_are_errors() {
    assert_eq!(Codec::try_from(0), Err(DecodeError::UnknownCodec(0)));
    assert_eq!(Codec::try_from(2), Ok(Codec::QoizStream));
}
