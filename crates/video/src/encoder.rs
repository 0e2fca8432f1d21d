//! libvpx's VP8 encoder set up for a screen region in motion: real time,
//! constant bitrate, no frames held back, keyframes only when asked for.

use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_ulong};

use vpx_sys::vp8e_enc_control_id::{VP8E_SET_CPUUSED, VP8E_SET_NOISE_SENSITIVITY, VP8E_SET_STATIC_THRESHOLD};
use vpx_sys::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT;
use vpx_sys::{vpx_codec_ctx_t, vpx_codec_enc_cfg_t, vpx_image_t};

use crate::ffi::check;
use crate::{I420, VideoError};

/// How a region's stream is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Settings {
    /// Target bitrate, kbit/s.
    pub bitrate_kbps: u32,
    /// libvpx's real-time speed (`cpu-used`, 0 to 16 here): higher is faster
    /// and coarser.
    pub speed: i32,
    /// Encoder threads.
    pub threads: u32,
}

impl Vp8Settings {
    /// What a `width`x`height` region gets: about 2.5 Mbit/s for 1280x720,
    /// in proportion to the area, between 300 kbit/s and 6 Mbit/s.
    pub fn for_size(width: u32, height: u32) -> Self {
        let pixels = f64::from(width) * f64::from(height);
        let bitrate = (2500.0 * pixels / (1280.0 * 720.0)).clamp(300.0, 6000.0) as u32;
        Self { bitrate_kbps: bitrate, speed: 16, threads: 2 }
    }
}

/// One encoded frame: the bytes of a VP8 frame, as WebCodecs' chunks take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The frame.
    pub data: Vec<u8>,
    /// A key frame: decodes without any before it.
    pub key: bool,
}

/// A VP8 stream of one region size.
pub struct Vp8Encoder {
    ctx: Box<vpx_codec_ctx_t>,
    picture: I420,
    /// Frames encoded.
    frames: i64,
    /// The last frame's time, in the stream's time base (ms).
    last_pts: Option<i64>,
}

// SAFETY: the codec context is owned by this value alone and used only
// through `&mut self`; libvpx keeps no thread-local state for it.
unsafe impl Send for Vp8Encoder {}

impl std::fmt::Debug for Vp8Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vp8Encoder").field("width", &self.picture.width).field("height", &self.picture.height).field("frames", &self.frames).finish()
    }
}

impl Vp8Encoder {
    /// An encoder for `width`x`height` (even sides), its first frame a key frame.
    pub fn new(width: u32, height: u32, settings: Vp8Settings) -> Result<Self, VideoError> {
        let picture = I420::new(width, height)?;
        if width > 16383 || height > 16383 {
            return Err(VideoError::Size { width, height, why: "VP8 sides are at most 16383" });
        }
        // SAFETY: the interface is libvpx's static VP8 encoder.
        let iface = unsafe { vpx_sys::vpx_codec_vp8_cx() };
        let mut cfg: vpx_codec_enc_cfg_t = {
            let mut cfg = MaybeUninit::<vpx_codec_enc_cfg_t>::zeroed();
            // SAFETY: fills in the whole configuration.
            check(std::ptr::null_mut(), "vpx_codec_enc_config_default", unsafe { vpx_sys::vpx_codec_enc_config_default(iface, cfg.as_mut_ptr(), 0) })?;
            // SAFETY: initialized by the call above, which succeeded.
            unsafe { cfg.assume_init() }
        };
        cfg.g_w = width;
        cfg.g_h = height;
        // Milliseconds: frames come when the screen changed, not on a
        // clock, and rate control needs their real spacing.
        cfg.g_timebase = vpx_sys::vpx_rational { num: 1, den: 1000 };
        cfg.g_threads = settings.threads;
        // Nothing held back: each frame comes out as it goes in.
        cfg.g_lag_in_frames = 0;
        // A lost frame on the way does not poison the ones after it.
        cfg.g_error_resilient = vpx_sys::VPX_ERROR_RESILIENT_DEFAULT;
        cfg.rc_end_usage = vpx_sys::vpx_rc_mode::VPX_CBR;
        cfg.rc_target_bitrate = settings.bitrate_kbps;
        cfg.rc_min_quantizer = 4;
        cfg.rc_max_quantizer = 56;
        cfg.rc_undershoot_pct = 50;
        cfg.rc_overshoot_pct = 50;
        cfg.rc_buf_initial_sz = 500;
        cfg.rc_buf_optimal_sz = 600;
        cfg.rc_buf_sz = 1000;
        // Key frames only when the service asks (a new viewer, a seek point):
        // a region in motion is short-lived, and a key frame costs several.
        cfg.kf_mode = vpx_sys::vpx_kf_mode::VPX_KF_DISABLED;
        let mut ctx = Box::new(MaybeUninit::<vpx_codec_ctx_t>::zeroed());
        // SAFETY: a zeroed context that the call initializes; the config is valid.
        let init = unsafe { vpx_sys::vpx_codec_enc_init_ver(ctx.as_mut_ptr(), iface, &cfg, 0, vpx_sys::VPX_ENCODER_ABI_VERSION as c_int) };
        check(std::ptr::null_mut(), "vpx_codec_enc_init", init)?;
        // SAFETY: initialized by the call above, which succeeded; a Box of
        // MaybeUninit<T> has T's layout.
        let ctx: Box<vpx_codec_ctx_t> = unsafe { Box::from_raw(Box::into_raw(ctx).cast()) };
        let mut encoder = Self { ctx, picture, frames: 0, last_pts: None };
        encoder.control(VP8E_SET_CPUUSED as c_int, settings.speed, "VP8E_SET_CPUUSED")?;
        // Screen content is clean: no denoising, and blocks that barely
        // changed are skipped.
        encoder.control(VP8E_SET_NOISE_SENSITIVITY as c_int, 0, "VP8E_SET_NOISE_SENSITIVITY")?;
        encoder.control(VP8E_SET_STATIC_THRESHOLD as c_int, 100, "VP8E_SET_STATIC_THRESHOLD")?;
        Ok(encoder)
    }

    /// The region's size.
    pub fn size(&self) -> (u32, u32) {
        (self.picture.width, self.picture.height)
    }

    fn control(&mut self, id: c_int, value: c_int, name: &'static str) -> Result<(), VideoError> {
        let ctx: *mut vpx_codec_ctx_t = &mut *self.ctx;
        // SAFETY: a live context; the control takes an int.
        check(ctx, name, unsafe { vpx_sys::vpx_codec_control_(ctx, id, value) })
    }

    /// Encodes the region's BGRX `pixels` (`stride` bytes a row) as they
    /// were `at` after the stream began, a key frame when `key` or when it
    /// is the stream's first.
    pub fn encode(&mut self, pixels: &[u8], stride: usize, at: std::time::Duration, key: bool) -> Result<EncodedFrame, VideoError> {
        self.picture.convert_bgrx(pixels, stride)?;
        let (width, height) = self.size();
        let mut image = MaybeUninit::<vpx_image_t>::zeroed();
        // SAFETY: wraps the picture's Y plane; U and V are set below.
        let wrapped =
            unsafe { vpx_sys::vpx_img_wrap(image.as_mut_ptr(), vpx_sys::vpx_img_fmt::VPX_IMG_FMT_I420, width, height, 1, self.picture.y.as_mut_ptr()) };
        if wrapped.is_null() {
            return Err(VideoError::Size { width, height, why: "libvpx would not wrap the picture" });
        }
        // SAFETY: vpx_img_wrap initialized it.
        let mut image = unsafe { image.assume_init() };
        // The planes are three buffers, not one: point at each.
        image.planes[1] = self.picture.u.as_mut_ptr();
        image.planes[2] = self.picture.v.as_mut_ptr();
        image.stride = [width as c_int, (width / 2) as c_int, (width / 2) as c_int, 0];
        let flags = if key || self.frames == 0 { vpx_sys::VPX_EFLAG_FORCE_KF as vpx_sys::vpx_enc_frame_flags_t } else { 0 };
        let ctx: *mut vpx_codec_ctx_t = &mut *self.ctx;
        // Times only go forward, a millisecond at least.
        let pts = i64::try_from(at.as_millis()).unwrap_or(i64::MAX).max(self.last_pts.map_or(0, |last| last + 1));
        let duration = self.last_pts.map_or(33, |last| pts - last) as c_ulong;
        // SAFETY: a live context and an image whose planes outlive the call.
        let result = unsafe { vpx_sys::vpx_codec_encode(ctx, &image, pts, duration, flags, vpx_sys::VPX_DL_REALTIME as c_ulong) };
        check(ctx, "vpx_codec_encode", result)?;
        self.frames += 1;
        self.last_pts = Some(pts);
        let mut frame = EncodedFrame { data: Vec::new(), key: false };
        let mut iter: vpx_sys::vpx_codec_iter_t = std::ptr::null();
        loop {
            // SAFETY: iterates the packets of the frame just encoded; each
            // stays valid until the next call on the context.
            let packet = unsafe { vpx_sys::vpx_codec_get_cx_data(ctx, &mut iter) };
            if packet.is_null() {
                break;
            }
            // SAFETY: a packet libvpx handed out; its kind says which union
            // member is set.
            unsafe {
                if (*packet).kind == VPX_CODEC_CX_FRAME_PKT {
                    let data = (*packet).data.frame;
                    frame.data.extend_from_slice(std::slice::from_raw_parts(data.buf.cast::<u8>(), data.sz as usize));
                    frame.key |= data.flags & vpx_sys::VPX_FRAME_IS_KEY != 0;
                }
            }
        }
        Ok(frame)
    }
}

impl Drop for Vp8Encoder {
    fn drop(&mut self) {
        // SAFETY: the context was initialized in `new` and is destroyed once.
        unsafe { vpx_sys::vpx_codec_destroy(&mut *self.ctx) };
    }
}
