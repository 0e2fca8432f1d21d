//! A recording written by `RecordingWriter` reads back whole, in any
//! chunking; damage is found and named; a file cut short is recovered.

use oriel_recording::{
    FormatError, Meta, RecordingWriter, Scanner, Source, parse_header, parse_record, read_trailer,
};
use oriel_tdpb::pb;
use oriel_tdpb::{Payload, encode_frame};
use proptest::prelude::*;

fn meta() -> Meta {
    Meta {
        session_id: "0190f0c4-7d2a-7000-8000-000000000001".into(),
        user: "alice".into(),
        login: "alice".into(),
        desktop: "dev".into(),
        desktop_kind: "linux".into(),
        start: "2026-12-06T09:00:00Z".into(),
    }
}

fn rect(frame_id: u32, x: u32, y: u32, reset: bool, end: bool) -> Vec<u8> {
    encode_frame(Payload::FrameRect(pb::FrameRect {
        frame_id,
        x,
        y,
        width: 64,
        height: 64,
        codec: pb::Codec::QoizStream as i32,
        data: vec![frame_id as u8; 100],
        reset_context: reset,
        end_of_frame: end,
        keyframe: reset,
    }))
}

/// A session: hello, cursor, a keyframe, typing (not recorded), a delta, a
/// resize, a second keyframe; returns the file and the offsets recorded.
fn session() -> (Vec<u8>, Vec<u64>) {
    let (mut writer, mut file) = RecordingWriter::start(&meta());
    let mut offsets = Vec::new();
    let mut put =
        |writer: &mut RecordingWriter, file: &mut Vec<u8>, delay, source, frame: Vec<u8>| {
            let at = file.len() as u64;
            if writer.record(delay, source, &frame, file) {
                offsets.push(at);
            }
        };
    let hello = encode_frame(Payload::ServerHello(pb::ServerHello {
        width: 128,
        height: 64,
        ..Default::default()
    }));
    put(&mut writer, &mut file, 0, Source::Desktop, hello);
    let cursor = encode_frame(Payload::CursorImage(pb::CursorImage {
        width: 1,
        height: 1,
        rgba: vec![0; 4],
        ..Default::default()
    }));
    put(&mut writer, &mut file, 5, Source::Desktop, cursor);
    put(
        &mut writer,
        &mut file,
        10,
        Source::Desktop,
        rect(1, 0, 0, true, false),
    );
    put(
        &mut writer,
        &mut file,
        10,
        Source::Desktop,
        rect(1, 64, 0, false, true),
    );
    let key = encode_frame(Payload::KeyboardButton(pb::KeyboardButton {
        key_code: 30,
        pressed: true,
    }));
    put(&mut writer, &mut file, 20, Source::Browser, key);
    let text = encode_frame(Payload::KeyboardText(pb::KeyboardText {
        text: "hunter2".into(),
    }));
    put(&mut writer, &mut file, 21, Source::Browser, text);
    let mouse = encode_frame(Payload::MouseMove(pb::MouseMove { x: 3, y: 4 }));
    put(&mut writer, &mut file, 30, Source::Browser, mouse);
    put(
        &mut writer,
        &mut file,
        40,
        Source::Desktop,
        rect(2, 64, 0, false, true),
    );
    let spec = encode_frame(Payload::ClientScreenSpec(pb::ClientScreenSpec {
        width: 64,
        height: 64,
        scale: 0,
    }));
    put(&mut writer, &mut file, 50, Source::Browser, spec);
    put(
        &mut writer,
        &mut file,
        60,
        Source::Desktop,
        rect(3, 0, 0, true, true),
    );
    let (_, trailer) = writer.finish(75);
    file.extend_from_slice(&trailer);
    (file, offsets)
}

#[test]
fn a_session_reads_back_with_its_keyframes_and_without_keyboard_input() {
    let (file, offsets) = session();
    let mut scanner = Scanner::new();
    scanner.feed(&file).unwrap();
    let scanned = scanner.finish().unwrap();
    assert_eq!(scanned.meta, meta());
    assert_eq!(scanned.len, file.len() as u64);
    let index = &scanned.index;
    // Two keyboard messages were offered and left out.
    assert_eq!(index.records, 8);
    assert_eq!(offsets.len(), 8);
    // The session went on 15 ms after its last record.
    assert_eq!(index.duration_ms, 75);
    let [first, second] = &index.keyframes[..] else {
        panic!("two keyframes: {:?}", index.keyframes)
    };
    assert_eq!((first.t, first.offset), (10, offsets[2]));
    // The hello and the cursor before the first; then also the mouse and the resize.
    assert_eq!(first.context, vec![offsets[0], offsets[1]]);
    assert_eq!((second.t, second.offset), (60, offsets[7]));
    assert_eq!(
        second.context,
        vec![offsets[0], offsets[6], offsets[1], offsets[4]]
    );
    assert_eq!(index.keyframe_before(9), None);
    assert_eq!(index.keyframe_before(10), Some(first));
    assert_eq!(index.keyframe_before(59), Some(first));
    assert_eq!(index.keyframe_before(1_000), Some(second));
    // Nothing typed is in the file.
    assert!(!file.windows(7).any(|w| w == b"hunter2"));
    for window in file.windows(2) {
        // KeyboardButton's key (field 9, wire type 2) never starts an envelope.
        assert_ne!(window, [0x4a, 0x04]);
    }
}

#[test]
fn a_player_reads_the_trailer_then_any_record_by_its_offset() {
    let (file, offsets) = session();
    let (meta, _) = parse_header(&file).unwrap().unwrap();
    assert_eq!(meta.user, "alice");
    let index = read_trailer(&file[file.len() - 600.min(file.len())..], file.len() as u64).unwrap();
    let keyframe = index.keyframe_before(45).unwrap();
    let (record, _) = parse_record(&file[keyframe.offset as usize..], keyframe.offset)
        .unwrap()
        .unwrap();
    assert_eq!((record.delay_ms, record.source), (10, Source::Desktop));
    let (hello, _) = parse_record(&file[offsets[0] as usize..], offsets[0])
        .unwrap()
        .unwrap();
    let envelope = <pb::Envelope as prost::Message>::decode(hello.envelope).unwrap();
    assert!(matches!(envelope.payload, Some(Payload::ServerHello(_))));
}

#[test]
fn a_flipped_byte_names_the_damaged_record() {
    let (mut file, offsets) = session();
    let at = offsets[3] as usize + 12;
    file[at] ^= 0x40;
    let mut scanner = Scanner::new();
    scanner.feed(&file).unwrap();
    assert_eq!(
        scanner.finish(),
        Err(FormatError::BadChecksum { offset: offsets[3] })
    );
}

#[test]
fn a_file_cut_short_is_refused_then_recovered_to_its_whole_records() {
    let (file, offsets) = session();
    let cut = offsets[6] as usize + 7;
    let mut scanner = Scanner::new();
    scanner.feed(&file[..cut]).unwrap();
    assert_eq!(
        scanner.finish(),
        Err(FormatError::Truncated { offset: cut as u64 })
    );

    let mut scanner = Scanner::new();
    scanner.feed(&file[..cut]).unwrap();
    let recovered = scanner.recover().unwrap();
    assert_eq!(recovered.keep, offsets[6]);
    assert_eq!(recovered.index.records, 6);
    assert_eq!(recovered.index.keyframes.len(), 1);
    let mut closed = file[..recovered.keep as usize].to_vec();
    closed.extend_from_slice(&recovered.trailer);
    let mut scanner = Scanner::new();
    scanner.feed(&closed).unwrap();
    assert_eq!(scanner.finish().unwrap().index, recovered.index);
}

#[test]
fn a_finished_file_is_recovered_as_it_is() {
    let (file, _) = session();
    let mut scanner = Scanner::new();
    scanner.feed(&file).unwrap();
    let recovered = scanner.recover().unwrap();
    assert_eq!(
        (recovered.keep, recovered.trailer.len()),
        (file.len() as u64, 0)
    );
}

#[test]
fn other_files_are_refused_by_name() {
    let mut scanner = Scanner::new();
    assert_eq!(scanner.feed(b"GIF89a...."), Err(FormatError::BadMagic));
    let mut header = b"ORIELREC".to_vec();
    header.extend_from_slice(&2u16.to_be_bytes());
    header.extend_from_slice(&[0; 6]);
    assert_eq!(
        parse_header(&header),
        Err(FormatError::UnsupportedVersion(2))
    );
    assert_eq!(
        Scanner::new().finish(),
        Err(FormatError::Truncated { offset: 0 })
    );
}

#[test]
fn an_index_that_does_not_match_its_records_is_refused() {
    let (file, _) = session();
    // Rewrite the file with only its first keyframe kept in a forged index.
    let mut scanner = Scanner::new();
    scanner.feed(&file).unwrap();
    let mut index = scanner.finish().unwrap().index;
    index.keyframes.truncate(1);
    let json = serde_json::to_vec(&index).unwrap();
    let mut forged = file[..index.records_end as usize].to_vec();
    forged.extend_from_slice(&json);
    forged.extend_from_slice(&(json.len() as u32).to_be_bytes());
    forged.extend_from_slice(&crc32(&json).to_be_bytes());
    forged.extend_from_slice(b"ORIELEND");
    let mut scanner = Scanner::new();
    scanner.feed(&forged).unwrap();
    assert!(matches!(
        scanner.finish(),
        Err(FormatError::IndexMismatch(_))
    ));
}

fn crc32(bytes: &[u8]) -> u32 {
    // CRC-32 (IEEE), bit by bit: an independent check of the file's sums.
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

proptest! {
    #[test]
    fn any_chunking_reads_the_same(cuts in proptest::collection::vec(0usize..2000, 0..12)) {
        let (file, _) = session();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % file.len()).collect();
        cuts.sort_unstable();
        let mut scanner = Scanner::new();
        let mut from = 0;
        for cut in cuts.into_iter().chain([file.len()]) {
            scanner.feed(&file[from..cut]).unwrap();
            from = cut;
        }
        let whole = { let mut s = Scanner::new(); s.feed(&file).unwrap(); s.finish().unwrap() };
        prop_assert_eq!(scanner.finish().unwrap(), whole);
    }

    #[test]
    fn damaged_bytes_never_panic(at in 0usize..2000, value: u8, cut in 0usize..2000) {
        let (mut file, _) = session();
        let at = at % file.len();
        file[at] = value;
        file.truncate(cut % (file.len() + 1));
        let mut scanner = Scanner::new();
        if scanner.feed(&file).is_ok() {
            let _ = scanner.recover();
        }
    }
}
