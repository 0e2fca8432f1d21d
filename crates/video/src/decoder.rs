//! libvpx's VP8 decoder: what tests and benchmarks use to see what a
//! browser's WebCodecs decoder shows of a stream.

use std::mem::MaybeUninit;
use std::os::raw::c_int;

use vpx_sys::vpx_codec_ctx_t;

use crate::ffi::check;
use crate::{I420, VideoError};

/// A VP8 decoder.
pub struct Vp8Decoder {
    ctx: Box<vpx_codec_ctx_t>,
}

// SAFETY: the codec context is owned by this value alone and used only
// through `&mut self`; libvpx keeps no thread-local state for it.
unsafe impl Send for Vp8Decoder {}

impl std::fmt::Debug for Vp8Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vp8Decoder")
    }
}

impl Vp8Decoder {
    /// A decoder waiting for a key frame.
    pub fn new() -> Result<Self, VideoError> {
        let mut ctx = Box::new(MaybeUninit::<vpx_codec_ctx_t>::zeroed());
        let cfg = vpx_sys::vpx_codec_dec_cfg { threads: 1, w: 0, h: 0 };
        // SAFETY: a zeroed context that the call initializes.
        let init =
            unsafe { vpx_sys::vpx_codec_dec_init_ver(ctx.as_mut_ptr(), vpx_sys::vpx_codec_vp8_dx(), &cfg, 0, vpx_sys::VPX_DECODER_ABI_VERSION as c_int) };
        check(std::ptr::null_mut(), "vpx_codec_dec_init", init)?;
        // SAFETY: initialized above; a Box of MaybeUninit<T> has T's layout.
        Ok(Self { ctx: unsafe { Box::from_raw(Box::into_raw(ctx).cast()) } })
    }

    /// Decodes one frame into an I420 picture.
    pub fn decode(&mut self, frame: &[u8]) -> Result<I420, VideoError> {
        let ctx: *mut vpx_codec_ctx_t = &mut *self.ctx;
        let len = u32::try_from(frame.len()).map_err(|_| VideoError::Size { width: 0, height: 0, why: "a frame over 4 GiB" })?;
        // SAFETY: a live context; the data outlives the call.
        check(ctx, "vpx_codec_decode", unsafe { vpx_sys::vpx_codec_decode(ctx, frame.as_ptr(), len, std::ptr::null_mut(), 0) })?;
        let mut iter: vpx_sys::vpx_codec_iter_t = std::ptr::null();
        // SAFETY: the image stays valid until the next decode; copied here.
        unsafe {
            let image = vpx_sys::vpx_codec_get_frame(ctx, &mut iter);
            if image.is_null() {
                return Err(VideoError::Codec { call: "vpx_codec_get_frame", detail: "no picture".into() });
            }
            let image = &*image;
            let (width, height) = (image.d_w, image.d_h);
            let mut picture = I420::new(width, height)?;
            let copy = |plane: usize, out: &mut Vec<u8>, w: usize, h: usize| {
                for row in 0..h {
                    let from = image.planes[plane].add(row * image.stride[plane] as usize);
                    out[row * w..(row + 1) * w].copy_from_slice(std::slice::from_raw_parts(from, w));
                }
            };
            copy(0, &mut picture.y, width as usize, height as usize);
            copy(1, &mut picture.u, width as usize / 2, height as usize / 2);
            copy(2, &mut picture.v, width as usize / 2, height as usize / 2);
            Ok(picture)
        }
    }
}

impl Drop for Vp8Decoder {
    fn drop(&mut self) {
        // SAFETY: initialized in `new`, destroyed once.
        unsafe { vpx_sys::vpx_codec_destroy(&mut *self.ctx) };
    }
}
