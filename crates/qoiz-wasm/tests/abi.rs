//! The exports called natively, the way the worker calls them.

use oriel_qoiz::{BgrxView, FrameEncoder, OP_KIND_COPY, OP_KIND_PAINT};
use oriel_qoiz_wasm::*;

fn error(handle: *mut Session) -> String {
    // SAFETY: the handle is live and the message is valid UTF-8 of that length.
    unsafe {
        let bytes =
            std::slice::from_raw_parts(qoiz_error_ptr(handle), qoiz_error_len(handle) as usize);
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}

#[test]
fn decode_through_the_exports() {
    let pixels: Vec<u8> = (0..6 * 4 * 4).map(|i| (i * 7) as u8).collect();
    let mut data = Vec::new();
    FrameEncoder::new()
        .unwrap()
        .encode(&BgrxView::new(&pixels, 24, 6, 4).unwrap(), &mut data)
        .unwrap();

    let handle = qoiz_decoder_new();
    let buf = qoiz_alloc(data.len() as u32);
    // SAFETY: buf holds data.len() bytes; the handle is live until freed below.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len());
        assert_eq!(qoiz_decode(handle, 1, 0, buf, data.len() as u32, 6, 4), OK);
        let rgba = std::slice::from_raw_parts(qoiz_output_ptr(handle), 6 * 4 * 4);
        assert_eq!(&rgba[..4], &[pixels[2], pixels[1], pixels[0], 255]);
        assert_eq!(qoiz_error_len(handle), 0);

        assert_eq!(
            qoiz_decode(handle, 9, 0, buf, data.len() as u32, 6, 4),
            ERR_CODEC
        );
        assert_eq!(error(handle), "unknown codec 9");
        assert_eq!(
            qoiz_decode(handle, 2, 0, buf, data.len() as u32, 6, 4),
            ERR_DATA
        );
        assert!(error(handle).contains("no stream is open"));
        assert_eq!(
            qoiz_decode(handle, 1, 0, std::ptr::null(), 5, 6, 4),
            ERR_ARGUMENT
        );
        assert_eq!(
            qoiz_decode(std::ptr::null_mut(), 1, 0, buf, 1, 6, 4),
            ERR_ARGUMENT
        );

        qoiz_free(buf, data.len() as u32);
        qoiz_decoder_free(handle);
        qoiz_decoder_free(std::ptr::null_mut());
    }
    assert!(qoiz_alloc(0).is_null());
}

#[test]
fn a_session_stream_message_through_the_exports() {
    let pixels: Vec<u8> = (0..6 * 4 * 4).map(|i| (i * 5) as u8).collect();
    let mut encoder = oriel_qoiz::SessionEncoder::new().unwrap();
    encoder
        .paint(2, 3, &BgrxView::new(&pixels, 24, 6, 4).unwrap())
        .unwrap();
    encoder.copy(0, 0, 2, 2, 4, 4).unwrap();
    let mut data = Vec::new();
    assert!(encoder.finish(&mut data).unwrap());

    let handle = qoiz_decoder_new();
    // SAFETY: data outlives the calls; the handle is live until freed below.
    unsafe {
        assert_eq!(
            qoiz_decode_frame(handle, 0, data.as_ptr(), data.len() as u32),
            ERR_DATA
        );
        assert!(error(handle).contains("no stream is open"));
        assert_eq!(
            qoiz_decode_frame(handle, 1, data.as_ptr(), data.len() as u32),
            OK
        );
        let len = qoiz_output_len(handle) as usize;
        assert_eq!(len, 20 + 6 * 4 * 4 + 28);
        let ops = std::slice::from_raw_parts(qoiz_output_ptr(handle), len);
        let field = |i: usize| u32::from_le_bytes(ops[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(
            [field(0), field(1), field(2), field(3), field(4)],
            [OP_KIND_PAINT, 2, 3, 6, 4]
        );
        assert_eq!(&ops[20..24], &[pixels[2], pixels[1], pixels[0], 255]);
        let copy = &ops[20 + 96..];
        let field = |i: usize| u32::from_le_bytes(copy[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!(
            (0..7).map(field).collect::<Vec<_>>(),
            [OP_KIND_COPY, 0, 0, 2, 2, 4, 4]
        );
        assert_eq!(
            qoiz_decode_frame(handle, 1, std::ptr::null(), 3),
            ERR_ARGUMENT
        );
        qoiz_decoder_free(handle);
    }
}
