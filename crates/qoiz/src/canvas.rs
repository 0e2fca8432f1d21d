//! A picture painted by a session's frame messages, whatever the codec:
//! what a browser's canvas holds, for the places that play a browser
//! natively (recording exports, tests, benchmarks).

use crate::{Codec, DecodeError, Decoder, FrameOp, SessionDecoder};

/// An RGBA picture and the decoders that paint it.
#[derive(Default)]
pub struct Canvas {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
    rects: Option<Decoder>,
    stream: SessionDecoder,
    scratch: Vec<u8>,
    copies: u64,
}

impl Canvas {
    /// A canvas of no size yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Width and height (0 before the first [`resize`](Self::resize)).
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The pixels, RGBA, row after row.
    pub fn rgba(&self) -> &[u8] {
        &self.rgba
    }

    /// Regions copied so far (session stream copy operations): how a test
    /// or a benchmark sees that a scroll went as a copy.
    pub fn copies(&self) -> u64 {
        self.copies
    }

    /// A new size: the picture starts black, as a browser's canvas does
    /// after a resize. The same size keeps the picture.
    pub fn resize(&mut self, width: u32, height: u32) {
        if (width, height) == (self.width, self.height) {
            return;
        }
        (self.width, self.height) = (width, height);
        self.rgba.clear();
        self.rgba.resize(width as usize * height as usize * 4, 0);
        for alpha in self.rgba.iter_mut().skip(3).step_by(4) {
            *alpha = 255;
        }
    }

    /// Paints one message (`codec` is the TDPB `Codec` number): a
    /// rectangle at (`x`, `y`) of `width` x `height`, which must lie on the
    /// canvas, or a session stream message's operations (position and size
    /// unused), clipped to the canvas.
    #[allow(clippy::too_many_arguments)]
    pub fn paint(
        &mut self,
        codec: u32,
        reset_context: bool,
        data: &[u8],
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    ) -> Result<(), DecodeError> {
        let codec = Codec::try_from(codec)?;
        if codec == Codec::QoizSession {
            let ops = self.stream.decode(reset_context, data)?;
            ops.apply(&mut self.rgba, self.width, self.height);
            self.copies += ops
                .iter()
                .filter(|op| matches!(op, FrameOp::Copy { .. }))
                .count() as u64;
            return Ok(());
        }
        let fits = x
            .checked_add(width)
            .is_some_and(|right| right <= self.width)
            && y.checked_add(height)
                .is_some_and(|bottom| bottom <= self.height);
        if !fits {
            return Err(DecodeError::OffCanvas {
                x,
                y,
                width,
                height,
                canvas_width: self.width,
                canvas_height: self.height,
            });
        }
        let rects = self.rects.get_or_insert_with(Decoder::new);
        rects.decode(codec, reset_context, data, width, height, &mut self.scratch)?;
        let row = width as usize * 4;
        for line in 0..height as usize {
            let to = ((y as usize + line) * self.width as usize + x as usize) * 4;
            self.rgba[to..to + row].copy_from_slice(&self.scratch[line * row..][..row]);
        }
        Ok(())
    }
}
