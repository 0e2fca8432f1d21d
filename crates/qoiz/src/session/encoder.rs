//! The session stream's encoder (feature `encode`): one zstd compression
//! context for the whole session, flushed once per message.

use zstd::zstd_safe::{
    self, CCtx, CParameter, InBuffer, OutBuffer, ResetDirective, zstd_sys::ZSTD_EndDirective,
};

use super::ops::{self, Region, TAG_COPY, TAG_PAINT};
use crate::qoi::encode_qoi_ops;
use crate::{BgrxView, EncodeError};

/// Default zstd level of the session stream. Level 3 finds most repeats in
/// the history (a scrolled terminal, a glyph typed before); see
/// `docs/codec.md`.
pub const DEFAULT_SESSION_LEVEL: i32 = 3;

/// The stream's window: 2 MiB of history, four full 1920x1080 terminal
/// screens in QOI. Decoders accept up to
/// [`MAX_WINDOW_LOG`](crate::MAX_WINDOW_LOG).
pub const SESSION_WINDOW_LOG: u32 = 21;

/// Room kept at the start of the body for its length (a LEB128 u32), so
/// the length goes in front without moving the body.
const LENGTH_ROOM: usize = 5;

/// Writes one paint operation for `view` placed at (`x`, `y`) into `out`
/// (appended). Independent of any encoder, so the rectangles of a frame can
/// be written on several threads and handed to
/// [`SessionEncoder::push_encoded`] in order.
pub fn encode_paint(
    x: u32,
    y: u32,
    view: &BgrxView<'_>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    view.validate()?;
    let region = on_screen(Region {
        x,
        y,
        width: view.width,
        height: view.height,
    })?;
    out.push(TAG_PAINT);
    ops::put_region(out, region);
    encode_qoi_ops(view, out)?;
    Ok(())
}

/// The encoder of one session's stream.
///
/// A message is built from operations ([`paint`](Self::paint),
/// [`copy`](Self::copy), [`push_encoded`](Self::push_encoded)) and sent
/// with [`finish`](Self::finish). The first message, and the first after
/// [`reset`](Self::reset) or an error, starts a new zstd stream: a keyframe,
/// sent with `reset_context`.
pub struct SessionEncoder {
    zstd: CCtx<'static>,
    body: Vec<u8>,
    keyframe_next: bool,
}

impl SessionEncoder {
    /// An encoder at [`DEFAULT_SESSION_LEVEL`].
    pub fn new() -> Result<Self, EncodeError> {
        Self::with_level(DEFAULT_SESSION_LEVEL)
    }

    /// An encoder at zstd level `level`.
    pub fn with_level(level: i32) -> Result<Self, EncodeError> {
        let mut zstd = CCtx::create();
        zstd.set_parameter(CParameter::CompressionLevel(level))
            .map_err(zstd_error)?;
        zstd.set_parameter(CParameter::WindowLog(SESSION_WINDOW_LOG))
            .map_err(zstd_error)?;
        // The transport is reliable; the body has its own structure checks.
        zstd.set_parameter(CParameter::ChecksumFlag(false))
            .map_err(zstd_error)?;
        Ok(Self {
            zstd,
            body: vec![0; LENGTH_ROOM],
            keyframe_next: true,
        })
    }

    /// Makes the next message a keyframe: the screen is about to be sent
    /// whole (a new viewer, a resize, a recording seek point).
    pub fn reset(&mut self) {
        self.keyframe_next = true;
    }

    /// True when the next message starts a new stream.
    pub fn keyframe_next(&self) -> bool {
        self.keyframe_next
    }

    /// Adds a paint of `view` at (`x`, `y`).
    pub fn paint(&mut self, x: u32, y: u32, view: &BgrxView<'_>) -> Result<(), EncodeError> {
        encode_paint(x, y, view, &mut self.body)
    }

    /// Adds operations [`encode_paint`] wrote.
    pub fn push_encoded(&mut self, ops: &[u8]) {
        self.body.extend_from_slice(ops);
    }

    /// Adds a copy: the `width` x `height` region at (`x`, `y`) becomes what
    /// the screen showed at (`src_x`, `src_y`) before this operation.
    pub fn copy(
        &mut self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        src_x: u32,
        src_y: u32,
    ) -> Result<(), EncodeError> {
        let region = on_screen(Region {
            x,
            y,
            width,
            height,
        })?;
        on_screen(Region {
            x: src_x,
            y: src_y,
            width,
            height,
        })?;
        self.body.push(TAG_COPY);
        ops::put_region(&mut self.body, region);
        ops::put_varint(&mut self.body, src_x);
        ops::put_varint(&mut self.body, src_y);
        Ok(())
    }

    /// Bytes of operations waiting for [`finish`](Self::finish): past a few
    /// MiB a caller sends part of a frame
    /// ([`MAX_MESSAGE_BODY`](crate::MAX_MESSAGE_BODY) is the decoders' limit).
    pub fn pending(&self) -> usize {
        self.body.len() - LENGTH_ROOM
    }

    /// Compresses the waiting operations into `out` (replacing its contents)
    /// and flushes the stream, so the decoder gets all of them from this
    /// message. Returns the `reset_context` flag to send with it.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<bool, EncodeError> {
        let keyframe = self.keyframe_next;
        // On failure the decoder will not see this message: start afresh.
        self.keyframe_next = true;
        if keyframe {
            self.zstd
                .reset(ResetDirective::SessionOnly)
                .map_err(zstd_error)?;
        }
        out.clear();
        // The body's length goes first, so a decoder can tell a message it
        // inflated whole from one that was cut short (zstd would just wait
        // for the rest).
        let len = u32::try_from(self.pending())
            .map_err(|_| EncodeError::Zstd("frame body over 4 GiB"))?;
        let mut prefix = Vec::with_capacity(LENGTH_ROOM);
        ops::put_varint(&mut prefix, len);
        let start = LENGTH_ROOM - prefix.len();
        self.body[start..LENGTH_ROOM].copy_from_slice(&prefix);
        let framed = &self.body[start..];
        let mut input = InBuffer::around(framed);
        loop {
            out.reserve(zstd_safe::compress_bound(framed.len() - input.pos()) + 64);
            let start = out.len();
            let mut output = OutBuffer::around_pos(out, start);
            let remaining = self
                .zstd
                .compress_stream2(&mut output, &mut input, ZSTD_EndDirective::ZSTD_e_flush)
                .map_err(zstd_error)?;
            if remaining == 0 {
                break;
            }
        }
        self.body.truncate(LENGTH_ROOM);
        self.keyframe_next = false;
        Ok(keyframe)
    }
}

fn on_screen(region: Region) -> Result<Region, EncodeError> {
    region.check(0).map_err(|_| EncodeError::OffScreen {
        x: region.x,
        y: region.y,
        width: region.width,
        height: region.height,
    })
}

fn zstd_error(code: zstd_safe::ErrorCode) -> EncodeError {
    EncodeError::Zstd(zstd_safe::get_error_name(code))
}
