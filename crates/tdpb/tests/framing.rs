//! Splitting a byte stream into frames, however the transport chops it.

use oriel_tdpb::pb;
use oriel_tdpb::{
    FrameError, FrameReader, Limits, Payload, PayloadKind, decode_frame, encode_frame, peek_kind,
    whole_frames,
};
use proptest::prelude::*;

fn sample(i: u32) -> Payload {
    match i % 3 {
        0 => Payload::MouseMove(pb::MouseMove { x: i, y: i / 2 }),
        1 => Payload::Ping(pb::Ping {
            id: i.to_be_bytes().repeat(4),
        }),
        _ => Payload::FrameRect(pb::FrameRect {
            frame_id: i,
            width: 1 + i % 64,
            height: 1,
            data: vec![i as u8; (i as usize * 37) % 3000],
            ..Default::default()
        }),
    }
}

proptest! {
    #[test]
    fn any_chunking_yields_the_same_frames(count in 1u32..40, cuts in proptest::collection::vec(1usize..700, 1..50)) {
        let messages: Vec<Payload> = (0..count).map(sample).collect();
        let stream: Vec<u8> = messages.iter().cloned().flat_map(encode_frame).collect();
        let mut reader = FrameReader::new(Limits::FROM_SERVER.max_frame_len);
        let mut decoded = Vec::new();
        let mut rest = &stream[..];
        let mut i = 0;
        while !rest.is_empty() {
            let take = cuts[i % cuts.len()].min(rest.len());
            reader.push(&rest[..take]);
            rest = &rest[take..];
            i += 1;
            while let Some(frame) = reader.next_frame().unwrap() {
                decoded.push(decode_frame(frame, Limits::FROM_SERVER).unwrap().unwrap());
            }
        }
        prop_assert_eq!(decoded, messages);
        prop_assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn whole_frames_ends_exactly_at_the_last_complete_frame(count in 1u32..20, cut in 0usize..20_000) {
        let messages: Vec<Payload> = (0..count).map(sample).collect();
        let ends: Vec<usize> = messages.iter().cloned().map(encode_frame).scan(0, |at, frame| { *at += frame.len(); Some(*at) }).collect();
        let stream: Vec<u8> = messages.iter().cloned().flat_map(encode_frame).collect();
        let cut = cut.min(stream.len());
        let expected = ends.iter().copied().filter(|end| *end <= cut).max().unwrap_or(0);
        prop_assert_eq!(whole_frames(&stream[..cut], Limits::FROM_SERVER.max_frame_len), Ok(expected));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_frame(&bytes, Limits::FROM_CLIENT);
        let _ = peek_kind(&bytes);
        let _ = whole_frames(&bytes, 1024);
        let mut reader = FrameReader::new(1024);
        reader.push(&bytes);
        while let Ok(Some(_)) = reader.next_frame() {}
    }
}

#[test]
fn whole_frames_refuses_an_oversized_header_behind_good_frames() {
    let mut stream = encode_frame(sample(1));
    stream.extend_from_slice(&[0x00, 0x00, 0x04, 0x01]);
    assert_eq!(
        whole_frames(&stream, 1024),
        Err(FrameError::TooLong {
            len: 1025,
            limit: 1024
        })
    );
}

#[test]
fn reader_refuses_an_oversized_header_at_once() {
    let mut reader = FrameReader::new(1024);
    reader.push(&[0x00, 0x00, 0x04, 0x01]);
    assert_eq!(
        reader.next_frame(),
        Err(FrameError::TooLong {
            len: 1025,
            limit: 1024
        })
    );
}

#[test]
fn peek_finds_the_messages_the_proxy_handles() {
    assert_eq!(peek_kind(&encode_frame(sample(1))), Some(PayloadKind::Ping));
    assert_eq!(
        peek_kind(&encode_frame(sample(2))),
        Some(PayloadKind::FrameRect)
    );
    assert_eq!(
        peek_kind(&encode_frame(sample(0))),
        Some(PayloadKind::Other(7))
    );
    let alert = Payload::Alert(pb::Alert {
        message: "x".into(),
        severity: 3,
    });
    assert_eq!(peek_kind(&encode_frame(alert)), Some(PayloadKind::Alert));
    let hello = Payload::ServerHello(pb::ServerHello::default());
    assert_eq!(
        peek_kind(&encode_frame(hello)),
        Some(PayloadKind::ServerHello)
    );
    assert_eq!(
        peek_kind(&[0, 0, 0, 1, 0x08]),
        None,
        "a varint field is no payload"
    );
}
