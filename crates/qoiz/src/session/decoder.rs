//! The session stream's decoder: the zstd C library's streaming decoder,
//! then the frame body parsed into [`FrameOps`].

use zstd_safe::{DCtx, DParameter, InBuffer, OutBuffer, ResetDirective};

use super::ops::{self, FrameOps, MAX_MESSAGE_AREA, MAX_MESSAGE_BODY, TAG_COPY, TAG_PAINT};
use crate::DecodeError;
use crate::qoi::decode_qoi_ops;

/// Largest zstd window a session stream may use (8 MiB); encoders use less
/// ([`SESSION_WINDOW_LOG`](crate::SESSION_WINDOW_LOG)).
pub const MAX_WINDOW_LOG: u32 = 23;

/// How much output room is added at a time while inflating.
const GROW: usize = 64 << 10;

/// Decodes the messages of one session stream. Keep one per session.
///
/// After any error the stream is closed until a message with
/// `reset_context` arrives: the two ends no longer agree on its history.
pub struct SessionDecoder {
    zstd: DCtx<'static>,
    open: bool,
    body: Vec<u8>,
    ops: FrameOps,
}

impl Default for SessionDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionDecoder {
    /// A decoder with no stream open.
    pub fn new() -> Self {
        Self {
            zstd: DCtx::create(),
            open: false,
            body: Vec::new(),
            ops: FrameOps::default(),
        }
    }

    /// The operations of the last message that decoded (empty after an
    /// error).
    pub fn last_ops(&self) -> &FrameOps {
        &self.ops
    }

    /// Decodes one message's `data` (sent with `reset_context`) into the
    /// operations it holds. The result is valid until the next call.
    pub fn decode(&mut self, reset_context: bool, data: &[u8]) -> Result<&FrameOps, DecodeError> {
        if reset_context {
            self.zstd
                .reset(ResetDirective::SessionOnly)
                .map_err(zstd_error)?;
            self.zstd
                .set_parameter(DParameter::WindowLogMax(MAX_WINDOW_LOG))
                .map_err(zstd_error)?;
            self.open = true;
        }
        if !self.open {
            return Err(DecodeError::NoStream);
        }
        // Whatever fails below leaves the ends with different histories.
        self.open = false;
        self.ops.clear();
        inflate(&mut self.zstd, data, &mut self.body)?;
        parse(&self.body, &mut self.ops)?;
        self.open = true;
        Ok(&self.ops)
    }
}

/// Inflates everything `data` holds into `body`: with a flushed stream, all
/// of a message's content comes out of the call that is given its bytes.
fn inflate(zstd: &mut DCtx<'static>, data: &[u8], body: &mut Vec<u8>) -> Result<(), DecodeError> {
    body.clear();
    let mut input = InBuffer::around(data);
    loop {
        // Exact, so a bomb stops within GROW bytes of the limit.
        body.reserve_exact(GROW);
        let start = body.len();
        let mut output = OutBuffer::around_pos(body, start);
        zstd.decompress_stream(&mut output, &mut input)
            .map_err(zstd_error)?;
        let full = output.pos() == output.capacity();
        if body.len() > MAX_MESSAGE_BODY {
            return Err(DecodeError::BodyTooLarge {
                limit: MAX_MESSAGE_BODY,
            });
        }
        // Room left over means zstd has nothing more to give for this input.
        if input.pos() == data.len() && !full {
            return Ok(());
        }
    }
}

/// Parses a frame body into operations, checking every field.
fn parse(body: &[u8], out: &mut FrameOps) -> Result<(), DecodeError> {
    let mut pos = 0;
    let declared = ops::get_varint(body, &mut pos)?;
    if declared as usize != body.len() - pos {
        return Err(DecodeError::BodyLength {
            declared,
            found: body.len() - pos,
        });
    }
    let mut area = 0u64;
    while pos < body.len() {
        let offset = pos;
        let tag = body[pos];
        pos += 1;
        let region = ops::get_region(body, &mut pos)?;
        match tag {
            TAG_PAINT => {
                area += region.area();
                if area > MAX_MESSAGE_AREA {
                    return Err(DecodeError::AreaTooLarge {
                        limit: MAX_MESSAGE_AREA,
                    });
                }
                let pixels = out.push_paint(region);
                pos += decode_qoi_ops(&body[pos..], pixels).map_err(|e| DecodeError::BadPaint {
                    offset,
                    reason: Box::new(e),
                })?;
            }
            TAG_COPY => {
                let src_x = ops::get_varint(body, &mut pos)?;
                let src_y = ops::get_varint(body, &mut pos)?;
                let source = ops::Region {
                    x: src_x,
                    y: src_y,
                    ..region
                };
                source.check(offset)?;
                out.push_copy(region, src_x, src_y);
            }
            tag => return Err(DecodeError::BadOp { offset, tag }),
        }
    }
    Ok(())
}

fn zstd_error(code: zstd_safe::ErrorCode) -> DecodeError {
    DecodeError::Zstd(zstd_safe::get_error_name(code).to_string())
}
