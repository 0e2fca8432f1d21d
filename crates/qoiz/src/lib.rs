//! QOIZ, Oriel's lossless frame codec: a rectangle of the desktop is written
//! as a 3-channel QOI image, and the QOI bytes are compressed with zstd.
//!
//! Sans-IO: bytes in, bytes out, no sockets, no threads.
//!
//! - [`encode_qoi`] / [`decode_qoi`]: the QOI layer alone. Input is X11
//!   ZPixmap BGRX with a stride ([`BgrxView`]), so a sub-rectangle of a
//!   framebuffer is encoded without copying; output is RGBA straight into a
//!   buffer the browser hands to `ImageData`.
//! - `FrameEncoder` ([`Codec::Qoiz`]): every rectangle one zstd frame.
//! - `StreamEncoder` ([`Codec::QoizStream`]): a rectangle may copy from
//!   the QOI bytes of the rectangles sent before it (a zstd dictionary made
//!   of the session history), which is what makes scrolling cheap; `reset`
//!   starts afresh (a keyframe).
//! - [`Decoder`]: both codecs, pure Rust (ruzstd), the same code natively and
//!   in the browser's WebAssembly.
//!
//! The encoders use the zstd C library and sit behind the `encode` feature
//! (on by default); without it the crate builds for `wasm32-unknown-unknown`.
//! See `docs/codec.md` for the measurements behind the defaults.
#![warn(missing_docs)]

mod canvas;
mod decoder;
#[cfg(feature = "encode")]
mod encoder;
mod error;
mod history;
mod qoi;
mod session;
mod view;

pub use canvas::Canvas;
pub use decoder::Decoder;
pub use error::{DecodeError, EncodeError, ViewError};
pub use history::STREAM_HISTORY_MAX;
pub use qoi::{END_MARKER, HEADER_LEN, MAGIC, decode_qoi, encode_qoi, max_qoi_len};
#[cfg(feature = "encode")]
pub use session::{DEFAULT_SESSION_LEVEL, SESSION_WINDOW_LOG, SessionEncoder, encode_paint};
pub use session::{
    FrameOp, FrameOps, MAX_MESSAGE_AREA, MAX_MESSAGE_BODY, MAX_WINDOW_LOG, OP_KIND_COPY,
    OP_KIND_PAINT, SessionDecoder,
};
pub use view::BgrxView;

#[doc(hidden)]
pub mod fuzzing;
#[cfg(feature = "encode")]
pub use encoder::{
    DEFAULT_LEVEL, DEFAULT_STREAM_HISTORY, DEFAULT_STREAM_LEVEL, FrameEncoder, StreamEncoder,
};

/// Largest width or height of a rectangle, in pixels.
pub const MAX_DIMENSION: u32 = 8192;

/// How a rectangle's bytes are compressed. The numbers are those of the
/// `Codec` enum in `proto/tdpb.proto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum Codec {
    /// QOI in one independent zstd frame per rectangle (`CODEC_QOIZ`).
    Qoiz = 1,
    /// QOI in one zstd frame per rectangle whose dictionary is the session's
    /// earlier QOI bytes (`CODEC_QOIZ_STREAM`); see `StreamEncoder`.
    QoizStream = 2,
    /// One zstd stream for the session, a frame's operations per message
    /// (`CODEC_QOIZ_SESSION`); see [`SessionEncoder`] and [`SessionDecoder`].
    QoizSession = 3,
}

impl TryFrom<u32> for Codec {
    type Error = DecodeError;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(Codec::Qoiz),
            2 => Ok(Codec::QoizStream),
            3 => Ok(Codec::QoizSession),
            other => Err(DecodeError::UnknownCodec(other)),
        }
    }
}

/// Rejects rectangles with an empty side or a side above [`MAX_DIMENSION`].
pub(crate) fn check_size(width: u32, height: u32) -> Result<(), DecodeError> {
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(DecodeError::BadSize { width, height });
    }
    Ok(())
}
