//! Byte-exact test vectors: each frame spelled out field by field next to the
//! message it means.

use oriel_tdpb::pb::{self, Codec};
use oriel_tdpb::{DecodeError, FrameError, Limits, Payload, decode_frame, encode_frame};

fn decode(frame: &[u8]) -> Result<Option<Payload>, DecodeError> {
    decode_frame(frame, Limits::FROM_SERVER)
}

#[test]
fn mouse_move() {
    let frame = [
        0x00, 0x00, 0x00, 0x06, // envelope length 6
        0x3a, 0x04, // field 7 (mouse_move), length-delimited, 4 bytes
        0x08, 0x0a, // x = 10
        0x10, 0x14, // y = 20
    ];
    let message = Payload::MouseMove(pb::MouseMove { x: 10, y: 20 });
    assert_eq!(decode(&frame).unwrap(), Some(message.clone()));
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn extended_key() {
    let frame = [
        0x00, 0x00, 0x00, 0x08, // envelope length 8
        0x4a, 0x06, // field 9 (keyboard_button), 6 bytes
        0x08, 0xc8, 0xc0, 0x03, // key_code = 0xE048 (Up) as a varint
        0x10, 0x01, // pressed = true
    ];
    let message = Payload::KeyboardButton(pb::KeyboardButton {
        key_code: 0xE048,
        pressed: true,
    });
    assert_eq!(decode(&frame).unwrap(), Some(message.clone()));
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn frame_ack_uses_a_two_byte_key() {
    let frame = [
        0x00, 0x00, 0x00, 0x05, // envelope length 5
        0xaa, 0x06, // field 101 (frame_ack): key 810 as a varint
        0x02, // 2 bytes
        0x08, 0x05, // frame_id = 5
    ];
    let message = Payload::FrameAck(pb::FrameAck { frame_id: 5 });
    assert_eq!(decode(&frame).unwrap(), Some(message.clone()));
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn link_estimate() {
    let frame = [
        0x00, 0x00, 0x00, 0x0b, // envelope length 11
        0xea, 0x06, // field 109 (link_estimate): key 874 as a varint
        0x08, // 8 bytes
        0x08, 0xe8, 0x07, // bandwidth_kbps = 1000
        0x10, 0xe0, 0x03, // delay_ms = 480
        0x18, 0x01, // slow = true
    ];
    let message = Payload::LinkEstimate(pb::LinkEstimate {
        bandwidth_kbps: 1000,
        delay_ms: 480,
        slow: true,
    });
    assert_eq!(decode(&frame).unwrap(), Some(message.clone()));
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn unknown_payload_is_skipped() {
    let frame = [
        0x00, 0x00, 0x00, 0x04, // envelope length 4
        0x1a, 0x02, // field 3 (Teleport's PNGFrame, not in this version), 2 bytes
        0x0a, 0x00, // its field 1, empty
    ];
    assert_eq!(decode(&frame).unwrap(), None);
}

#[test]
fn mfa() {
    let frame = [
        0x00, 0x00, 0x00, 0x10, // envelope length 16
        0x72, 0x0e, // field 14 (mfa), 14 bytes
        0x0a, 0x08, b'w', b'e', b'b', b'a', b'u', b't', b'h', b'n', // type "webauthn"
        0x12, 0x02, b'{', b'}', // json "{}"
    ];
    let message = Payload::Mfa(pb::Mfa {
        r#type: "webauthn".into(),
        json: "{}".into(),
    });
    assert_eq!(decode(&frame).unwrap(), Some(message.clone()));
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn clipboard_data() {
    let frame = [
        0x00, 0x00, 0x00, 0x0b, // envelope length 11
        0x6a, 0x09, // field 13 (clipboard_data), 9 bytes
        0x0a, 0x07, // data, 7 bytes:
        b'G', b'r', 0xc3, 0xbc, 0xc3, 0x9f, b'e', // "Grüße" as UTF-8
    ];
    let message = Payload::ClipboardData(pb::ClipboardData {
        data: "Grüße".as_bytes().to_vec(),
    });
    assert_eq!(
        decode_frame(&frame, Limits::FROM_CLIENT).unwrap(),
        Some(message.clone())
    );
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn clipboard_data_up_to_one_mebibyte_passes_and_more_is_refused_by_name() {
    let fits = Payload::ClipboardData(pb::ClipboardData {
        data: vec![b'a'; 1 << 20],
    });
    assert_eq!(
        decode_frame(&encode_frame(fits.clone()), Limits::FROM_CLIENT).unwrap(),
        Some(fits)
    );
    // One byte more still fits a browser frame (2 MiB), so the field check names it.
    let over = Payload::ClipboardData(pb::ClipboardData {
        data: vec![b'a'; (1 << 20) + 1],
    });
    let error = decode_frame(&encode_frame(over), Limits::FROM_CLIENT).unwrap_err();
    assert_eq!(
        error.to_string(),
        "ClipboardData.data out of range: 1048577 bytes, at most 1048576 (1 MiB)"
    );
}

#[test]
fn frame_rect_round_trip() {
    let message = Payload::FrameRect(pb::FrameRect {
        frame_id: 7,
        x: 64,
        y: 128,
        width: 640,
        height: 64,
        codec: Codec::QoizStream as i32,
        data: vec![1, 2, 3],
        reset_context: true,
        end_of_frame: true,
        keyframe: true,
    });
    let frame = encode_frame(message.clone());
    assert_eq!(frame[0], 0, "lengths stay below 2^24");
    assert_eq!(decode(&frame).unwrap(), Some(message));
}

#[test]
fn oversized_length_is_refused_before_reading_the_body() {
    let frame = [0x00, 0x30, 0x00, 0x00]; // announces 3 MiB, more than a client may send
    assert_eq!(
        decode_frame(&frame, Limits::FROM_CLIENT),
        Err(DecodeError::Frame(FrameError::TooLong {
            len: 0x30_0000,
            limit: 2 << 20
        }))
    );
}

#[test]
fn truncated_and_trailing_frames_are_refused() {
    let frame = encode_frame(Payload::MouseMove(pb::MouseMove { x: 1, y: 2 }));
    assert!(matches!(
        decode(&frame[..frame.len() - 1]),
        Err(DecodeError::Frame(FrameError::Truncated { .. }))
    ));
    assert!(matches!(
        decode(&frame[..2]),
        Err(DecodeError::Frame(FrameError::Truncated { .. }))
    ));
    let mut long = frame.clone();
    long.push(0);
    assert_eq!(
        decode(&long),
        Err(DecodeError::Frame(FrameError::Trailing(1)))
    );
}

#[test]
fn garbage_envelope_is_a_protobuf_error() {
    let frame = [0x00, 0x00, 0x00, 0x02, 0x3a, 0x09]; // field 7 claims 9 bytes, none follow
    assert!(matches!(decode(&frame), Err(DecodeError::Protobuf(_))));
}

#[test]
fn limits_name_the_field() {
    let hello = Payload::ClientHello(pb::ClientHello {
        screen_spec: Some(pb::ClientScreenSpec {
            width: 9000,
            height: 100,
            scale: 100,
        }),
        ..Default::default()
    });
    let err = decode(&encode_frame(hello)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ClientScreenSpec.width out of range: 9000, expected 1..=8192"
    );

    let cursor = Payload::CursorImage(pb::CursorImage {
        width: 2,
        height: 2,
        rgba: vec![0; 15],
        ..Default::default()
    });
    assert!(matches!(
        decode(&encode_frame(cursor)),
        Err(DecodeError::Limit(_))
    ));

    let hello = Payload::ClientHello(pb::ClientHello {
        screen_spec: None,
        ..Default::default()
    });
    assert!(
        decode(&encode_frame(hello))
            .unwrap_err()
            .to_string()
            .contains("ClientHello.screen_spec")
    );

    let spec = pb::ClientScreenSpec {
        width: 1280,
        height: 720,
        scale: 100,
    };
    let monitor = |width, height| {
        Payload::ClientHello(pb::ClientHello {
            screen_spec: Some(spec),
            monitor: Some(pb::ClientScreenSpec {
                width,
                height,
                scale: 100,
            }),
            ..Default::default()
        })
    };
    assert!(decode(&encode_frame(monitor(3840, 2160))).is_ok());
    assert_eq!(
        decode(&encode_frame(monitor(0, 2160)))
            .unwrap_err()
            .to_string(),
        "ClientHello.monitor.width out of range: 0, expected 1..=8192"
    );
    let hello = Payload::ServerHello(pb::ServerHello {
        width: 1280,
        height: 720,
        max_width: 9000,
        max_height: 2160,
        ..Default::default()
    });
    assert!(
        decode(&encode_frame(hello))
            .unwrap_err()
            .to_string()
            .contains("ServerHello.max_width")
    );
}

#[test]
fn keyboard_text() {
    let frame = [
        0x00, 0x00, 0x00, 0x0c, // envelope length 12
        0xba, 0x06, // field 103 (keyboard_text): key 826 as a varint
        0x09, // 9 bytes
        0x0a, 0x07, // text, 7 bytes:
        0xe2, 0x86, 0x92, b' ', 0xe4, 0xb8, 0xad, // "→ 中" as UTF-8
    ];
    let message = Payload::KeyboardText(pb::KeyboardText {
        text: "→ 中".into(),
    });
    assert_eq!(decode(&frame).unwrap(), Some(message.clone()));
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn keyboard_text_is_limited_to_what_an_input_method_commits() {
    let fits = Payload::KeyboardText(pb::KeyboardText {
        text: "é".repeat(512),
    });
    assert_eq!(decode(&encode_frame(fits.clone())).unwrap(), Some(fits));
    let over = Payload::KeyboardText(pb::KeyboardText {
        text: "a".repeat(1025),
    });
    let error = decode(&encode_frame(over)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "KeyboardText.text out of range: 1025 bytes, at most 1024"
    );
}

#[test]
fn shared_directory_announce() {
    let frame = [
        0x00, 0x00, 0x00, 0x09, // envelope length 9
        0x7a, 0x07, // field 15 (shared_directory_announce), 7 bytes
        0x08, 0x07, // directory_id = 7
        0x12, 0x03, b'd', b'o', b'c', // name = "doc"
    ];
    let message = Payload::SharedDirectoryAnnounce(pb::SharedDirectoryAnnounce {
        directory_id: 7,
        name: "doc".into(),
    });
    assert_eq!(
        decode_frame(&frame, Limits::FROM_CLIENT).unwrap(),
        Some(message.clone())
    );
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn shared_directory_read_request() {
    let frame = [
        0x00, 0x00, 0x00, 0x13, // envelope length 19
        0x8a, 0x01, // field 17 (shared_directory_request): key 138 as a varint
        0x10, // 16 bytes
        0x08, 0x01, // directory_id = 1
        0x10, 0x02, // completion_id = 2
        0x3a, 0x0a, // field 7 (read), 10 bytes
        0x0a, 0x03, b'a', b'/', b'b', // path = "a/b"
        0x10, 0x05, // offset = 5
        0x18, 0xac, 0x02, // length = 300
    ];
    let message = Payload::SharedDirectoryRequest(pb::SharedDirectoryRequest {
        directory_id: 1,
        completion_id: 2,
        operation: Some(pb::shared_directory_request::Operation::Read(
            pb::shared_directory_request::Read {
                path: "a/b".into(),
                offset: 5,
                length: 300,
            },
        )),
    });
    assert_eq!(decode(&frame).unwrap(), Some(message.clone()));
    assert_eq!(encode_frame(message), frame);
}

#[test]
fn shared_directory_chunks_up_to_one_mebibyte_pass_and_more_is_refused_by_name() {
    use pb::shared_directory_request::{Operation, Write};
    use pb::shared_directory_response::{Read, Result as R};
    let write = |len: usize| {
        Payload::SharedDirectoryRequest(pb::SharedDirectoryRequest {
            directory_id: 1,
            completion_id: 1,
            operation: Some(Operation::Write(Write {
                path: "p".repeat(10240),
                offset: 0,
                data: vec![0; len],
            })),
        })
    };
    let fits = write(1 << 20);
    assert_eq!(
        decode_frame(&encode_frame(fits.clone()), Limits::FROM_CLIENT).unwrap(),
        Some(fits)
    );
    let error = decode_frame(&encode_frame(write((1 << 20) + 1)), Limits::FROM_SERVER).unwrap_err();
    assert_eq!(
        error.to_string(),
        "SharedDirectoryRequest.write.data out of range: 1048577 bytes, at most 1048576 (1 MiB)"
    );
    // The browser's answer to a full read fits a browser frame; one byte more is refused by name.
    let read = |len: usize| {
        Payload::SharedDirectoryResponse(pb::SharedDirectoryResponse {
            completion_id: 1,
            error_code: 0,
            result: Some(R::Read(Read { data: vec![0; len] })),
        })
    };
    let fits = read(1 << 20);
    assert_eq!(
        decode_frame(&encode_frame(fits.clone()), Limits::FROM_CLIENT).unwrap(),
        Some(fits)
    );
    let error = decode_frame(&encode_frame(read((1 << 20) + 1)), Limits::FROM_CLIENT).unwrap_err();
    assert_eq!(
        error.to_string(),
        "SharedDirectoryResponse.read.data out of range: 1048577 bytes, at most 1048576 (1 MiB)"
    );
}

#[test]
fn shared_directory_path_over_10240_bytes_is_refused_by_name() {
    let info = Payload::SharedDirectoryRequest(pb::SharedDirectoryRequest {
        directory_id: 1,
        completion_id: 1,
        operation: Some(pb::shared_directory_request::Operation::Info(
            pb::shared_directory_request::Info {
                path: "a".repeat(10241),
            },
        )),
    });
    let error = decode(&encode_frame(info)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "SharedDirectoryRequest.info.path out of range: 10241 bytes, at most 10240"
    );
}
