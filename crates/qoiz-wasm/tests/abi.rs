//! The exports called natively, the way the worker calls them.

use oriel_qoiz::{BgrxView, FrameEncoder};
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
