//! Screens taken from a real Xvfb (`examples/capture.rs`) survive every codec.

mod common;

use std::path::{Path, PathBuf};

use common::Image;
use oriel_qoiz::{Codec, Decoder, FrameEncoder, StreamEncoder, decode_qoi, encode_qoi};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/fixtures")
        .join(name)
}

/// Width and height from a QOI header.
fn qoi_size(qoi: &[u8]) -> (u32, u32) {
    (
        u32::from_be_bytes(qoi[4..8].try_into().unwrap()),
        u32::from_be_bytes(qoi[8..12].try_into().unwrap()),
    )
}

fn image_from_qoi(qoi: &[u8]) -> Image {
    let (width, height) = qoi_size(qoi);
    let mut rgba = vec![0; width as usize * height as usize * 4];
    decode_qoi(qoi, width, height, &mut rgba).unwrap();
    let pixels = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0], 0])
        .collect();
    Image {
        pixels,
        stride: width as usize * 4,
        width,
        height,
    }
}

/// Every still fixture as QOI bytes (`.qoiz` ones are zstd frames).
fn stills() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        if name.ends_with(".qoi") {
            out.push((name, bytes));
        } else if name.ends_with(".qoiz") {
            out.push((name, zstd::decode_all(&bytes[..]).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn stills_round_trip_through_both_codecs() {
    let stills = stills();
    assert!(stills.len() >= 4, "fixtures missing: {stills:?}");
    for (name, qoi) in stills {
        let img = image_from_qoi(&qoi);
        // Our encoder wrote these files, so it must write them again bit for bit.
        let mut again = Vec::new();
        encode_qoi(&img.view(), &mut again).unwrap();
        assert!(again == qoi, "{name}: re-encoding differs");

        let mut decoder = Decoder::new();
        let (mut data, mut rgba) = (Vec::new(), Vec::new());
        FrameEncoder::new()
            .unwrap()
            .encode(&img.view(), &mut data)
            .unwrap();
        decoder
            .decode(Codec::Qoiz, false, &data, img.width, img.height, &mut rgba)
            .unwrap();
        assert!(rgba == img.rgba(), "{name}: frame codec");
        let reset = StreamEncoder::new()
            .unwrap()
            .encode(&img.view(), &mut data)
            .unwrap();
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
        assert!(rgba == img.rgba(), "{name}: stream codec");
    }
}

/// The `.seq.zst` records: a 4-byte little-endian length, then a QOI image.
fn sequence(name: &str) -> Vec<Vec<u8>> {
    let records = zstd::decode_all(&std::fs::read(fixture(name)).unwrap()[..]).unwrap();
    let mut rest = &records[..];
    let mut out = Vec::new();
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let (qoi, tail) = tail.split_at(u32::from_le_bytes(*len) as usize);
        out.push(qoi.to_vec());
        rest = tail;
    }
    out
}

#[test]
fn scrolling_sequence_streams() {
    let shots = sequence("xterm_scroll_1280x720.seq.zst");
    assert_eq!(shots.len(), 20);
    let mut encoder = StreamEncoder::new().unwrap();
    let mut decoder = Decoder::new();
    let (mut data, mut rgba) = (Vec::new(), Vec::new());
    for (i, qoi) in shots.iter().enumerate() {
        let img = image_from_qoi(qoi);
        if i == 10 {
            encoder.reset();
        }
        let reset = encoder.encode(&img.view(), &mut data).unwrap();
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
        assert!(rgba == img.rgba(), "shot {i}");
    }
}
