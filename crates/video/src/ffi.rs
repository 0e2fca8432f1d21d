//! The few libvpx calls this crate makes, with its errors turned into
//! [`VideoError`]s.

use std::ffi::CStr;

use vpx_sys::{vpx_codec_ctx_t, vpx_codec_err_t};

use crate::VideoError;

/// `result` as a `VideoError` naming `call`, with the context's detail.
pub(crate) fn check(ctx: *mut vpx_codec_ctx_t, call: &'static str, result: vpx_codec_err_t) -> Result<(), VideoError> {
    if result == vpx_codec_err_t::VPX_CODEC_OK {
        return Ok(());
    }
    // SAFETY: libvpx returns static strings; the context's error detail
    // lives as long as the context, and is copied here.
    let detail = unsafe {
        let general = CStr::from_ptr(vpx_sys::vpx_codec_err_to_string(result)).to_string_lossy().into_owned();
        let specific = if ctx.is_null() { std::ptr::null() } else { (*ctx).err_detail };
        if specific.is_null() { general } else { format!("{general} ({})", CStr::from_ptr(specific).to_string_lossy()) }
    };
    Err(VideoError::Codec { call, detail })
}
