//! VP8 through Debian's libvpx: the lossy path for a region of the screen
//! in motion (a video, an animation), which the browser decodes with
//! WebCodecs. Lossless QOIZ stays the rule; this is for what changes every
//! frame and would cost far more bytes losslessly (docs/codec.md, "Motion").
//!
//! [`Vp8Encoder`] takes the region's BGRX pixels (the capture's shadow),
//! converts them to I420 and encodes one real-time frame; [`Vp8Decoder`]
//! is libvpx's decoder, for tests and benchmarks to measure what the
//! browser would see.

#![warn(missing_docs)]

mod decoder;
mod encoder;
mod ffi;
mod i420;

pub use decoder::Vp8Decoder;
pub use encoder::{EncodedFrame, Vp8Encoder, Vp8Settings};
pub use i420::I420;

/// What libvpx refused.
#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    /// A libvpx call failed; its own words.
    #[error("libvpx: {call} failed: {detail}")]
    Codec {
        /// The call.
        call: &'static str,
        /// libvpx's description of the error.
        detail: String,
    },
    /// Sizes libvpx or the conversion cannot take.
    #[error("a {width}x{height} video region: {why}")]
    Size {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
        /// Why not.
        why: &'static str,
    },
}
