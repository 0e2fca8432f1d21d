//! The two encoders, on top of the zstd C library (feature `encode`).

use zstd::zstd_safe::{self, CCtx, CParameter};

use crate::history::{History, STREAM_HISTORY_MAX};
use crate::{BgrxView, Codec, EncodeError, encode_qoi};

/// Default zstd level of [`FrameEncoder`]: zstd's fastest regular level.
pub const DEFAULT_LEVEL: i32 = 1;

/// Default zstd level of [`StreamEncoder`]. Level 3 is the lowest that finds
/// most matches in a large history dictionary; level 1's small hash table
/// loses about 40% of the gain (`docs/codec.md`).
pub const DEFAULT_STREAM_LEVEL: i32 = 3;

/// Default history of [`StreamEncoder`]: a bit more than a full 1920x1080
/// terminal screen in QOI, so a scroll finds the previous screen.
pub const DEFAULT_STREAM_HISTORY: usize = 512 << 10;

/// [`Codec::Qoiz`]: every rectangle is QOI in its own zstd frame, so every
/// rectangle decodes alone.
pub struct FrameEncoder {
    zstd: CCtx<'static>,
    qoi: Vec<u8>,
}

impl FrameEncoder {
    /// An encoder at [`DEFAULT_LEVEL`].
    pub fn new() -> Result<Self, EncodeError> {
        Self::with_level(DEFAULT_LEVEL)
    }

    /// An encoder at zstd level `level` (1..=22; negative levels are faster).
    pub fn with_level(level: i32) -> Result<Self, EncodeError> {
        Ok(Self {
            zstd: context(level)?,
            qoi: Vec::new(),
        })
    }

    /// The codec to announce with the rectangles.
    pub fn codec(&self) -> Codec {
        Codec::Qoiz
    }

    /// Encodes one rectangle into `out`, replacing its contents.
    pub fn encode(&mut self, view: &BgrxView<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        encode_qoi(view, &mut self.qoi)?;
        compress(&mut self.zstd, &self.qoi, out)
    }
}

/// [`Codec::QoizStream`]: each rectangle is one zstd frame compressed against
/// the QOI bytes of the rectangles before it (since the last reset), so
/// repeated content, such as a scrolled terminal, costs little.
///
/// The first rectangle, and the first after [`reset`](Self::reset) or an
/// error, is a keyframe: it needs no history and must be sent with
/// `reset_context = true`.
pub struct StreamEncoder {
    zstd: CCtx<'static>,
    qoi: Vec<u8>,
    history: History,
    keyframe_next: bool,
}

impl StreamEncoder {
    /// An encoder at [`DEFAULT_STREAM_LEVEL`] with [`DEFAULT_STREAM_HISTORY`].
    pub fn new() -> Result<Self, EncodeError> {
        Self::with_params(DEFAULT_STREAM_LEVEL, DEFAULT_STREAM_HISTORY)
    }

    /// An encoder at zstd level `level` that refers back at most
    /// `history` bytes (capped at [`STREAM_HISTORY_MAX`], what decoders keep).
    pub fn with_params(level: i32, history: usize) -> Result<Self, EncodeError> {
        Ok(Self {
            zstd: context(level)?,
            qoi: Vec::new(),
            history: History::new(history.min(STREAM_HISTORY_MAX)),
            keyframe_next: true,
        })
    }

    /// The codec to announce with the rectangles.
    pub fn codec(&self) -> Codec {
        Codec::QoizStream
    }

    /// Makes the next rectangle a keyframe: for a full-screen refresh, a new
    /// viewer, or a recording seek point.
    pub fn reset(&mut self) {
        self.keyframe_next = true;
    }

    /// Encodes one rectangle into `out`, replacing its contents, and returns
    /// the `reset_context` flag to send with it.
    pub fn encode(&mut self, view: &BgrxView<'_>, out: &mut Vec<u8>) -> Result<bool, EncodeError> {
        encode_qoi(view, &mut self.qoi)?;
        let keyframe = self.keyframe_next;
        if keyframe {
            self.history.clear();
        }
        // On failure the decoder will not see this rectangle: start afresh.
        self.keyframe_next = true;
        let dictionary: &[u8] = if self.history.is_empty() {
            &[]
        } else {
            self.history.dictionary()
        };
        // An empty dictionary unloads the previous one.
        self.zstd.load_dictionary(dictionary).map_err(zstd_error)?;
        compress(&mut self.zstd, &self.qoi, out)?;
        self.history.push(&self.qoi);
        self.keyframe_next = false;
        Ok(keyframe)
    }
}

/// A compression context with the settings both encoders share.
fn context(level: i32) -> Result<CCtx<'static>, EncodeError> {
    let mut zstd = CCtx::create();
    zstd.set_parameter(CParameter::CompressionLevel(level))
        .map_err(zstd_error)?;
    // The decoder checks the declared size against the QOI limit up front.
    zstd.set_parameter(CParameter::ContentSizeFlag(true))
        .map_err(zstd_error)?;
    // The transport is reliable and QOI has its own structure checks.
    zstd.set_parameter(CParameter::ChecksumFlag(false))
        .map_err(zstd_error)?;
    Ok(zstd)
}

fn compress(zstd: &mut CCtx<'static>, qoi: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.clear();
    out.reserve(zstd_safe::compress_bound(qoi.len()));
    zstd.compress2(out, qoi).map_err(zstd_error)?;
    Ok(())
}

fn zstd_error(code: zstd_safe::ErrorCode) -> EncodeError {
    EncodeError::Zstd(zstd_safe::get_error_name(code))
}
