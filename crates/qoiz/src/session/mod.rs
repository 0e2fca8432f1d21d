//! [`Codec::QoizSession`](crate::Codec::QoizSession): one zstd stream for
//! the whole session, flushed after each frame (`ZSTD_e_flush`), so every
//! frame can copy from everything sent since the last keyframe without a
//! dictionary being loaded again, and a frame's rectangles share one
//! compressed block instead of paying a header each.
//!
//! What the stream carries is the frames' operations (the "frame body",
//! [`ops`]): rectangles painted from QOI ops and regions copied from
//! elsewhere on the screen. The encoder writes them with
//! [`SessionEncoder`]; [`SessionDecoder`] inflates one message's worth and
//! turns it into [`FrameOps`], a flat buffer the browser reads without a
//! parser of its own in WebAssembly.
//!
//! Unlike the other codecs this one needs the zstd C library on both sides:
//! the pure-Rust decoder keeps the last window of output to itself until a
//! zstd frame ends, and this stream's frame never ends (`docs/codec.md`).

mod decoder;
#[cfg(feature = "encode")]
mod encoder;
pub(crate) mod ops;

pub use decoder::{MAX_WINDOW_LOG, SessionDecoder};
#[cfg(feature = "encode")]
pub use encoder::{DEFAULT_SESSION_LEVEL, SESSION_WINDOW_LOG, SessionEncoder, encode_paint};
pub use ops::{FrameOp, FrameOps, MAX_MESSAGE_AREA, MAX_MESSAGE_BODY, OP_KIND_COPY, OP_KIND_PAINT};
