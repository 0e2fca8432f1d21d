//! What a recording shows at each moment: its records applied to a screen
//! of RGBA pixels, as the browser paints them. For exports; the web player
//! does the same with the browser's canvas.

use oriel_qoiz::{Codec, Decoder};
use oriel_tdpb::Payload;
use oriel_tdpb::pb::Envelope;
use prost::Message;

use crate::Record;

/// The largest screen a recording may show (what Xvfb is started at).
const MAX_SIDE: u32 = 8192;

/// Why a record cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the record at offset {offset} is not a valid message: {reason}")]
    BadMessage { offset: u64, reason: String },
    #[error("the frame at offset {offset} comes before any screen size")]
    NoScreen { offset: u64 },
    #[error("the frame at offset {offset} falls outside the {width}x{height} screen")]
    OutsideScreen {
        offset: u64,
        width: u32,
        height: u32,
    },
    #[error("the screen size {width}x{height} at offset {offset} is not one a desktop has")]
    BadSize {
        offset: u64,
        width: u32,
        height: u32,
    },
    #[error("the frame at offset {offset} does not decode: {reason}")]
    Undecodable { offset: u64, reason: String },
}

/// The screen as the recording paints it.
#[derive(Default)]
pub struct Screen {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
    decoder: Decoder,
    rect: Vec<u8>,
}

impl Screen {
    /// A screen of no size yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Width and height now (0 before the first size).
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The pixels, RGBA, row after row.
    pub fn rgba(&self) -> &[u8] {
        &self.rgba
    }

    /// Applies the record at `offset`: a new size (the picture starts
    /// black, as a browser's canvas does) or a rectangle of the picture.
    pub fn apply(&mut self, offset: u64, record: &Record<'_>) -> Result<(), RenderError> {
        let envelope = Envelope::decode(record.envelope).map_err(|e| RenderError::BadMessage {
            offset,
            reason: e.to_string(),
        })?;
        match envelope.payload {
            Some(Payload::ServerHello(hello)) => self.resize(offset, hello.width, hello.height),
            Some(Payload::ClientScreenSpec(spec)) => self.resize(offset, spec.width, spec.height),
            Some(Payload::FrameRect(rect)) => {
                if self.width == 0 {
                    return Err(RenderError::NoScreen { offset });
                }
                let fits = rect
                    .x
                    .checked_add(rect.width)
                    .is_some_and(|right| right <= self.width)
                    && rect
                        .y
                        .checked_add(rect.height)
                        .is_some_and(|bottom| bottom <= self.height);
                if !fits {
                    return Err(RenderError::OutsideScreen {
                        offset,
                        width: self.width,
                        height: self.height,
                    });
                }
                let codec =
                    Codec::try_from(rect.codec as u32).map_err(|e| RenderError::Undecodable {
                        offset,
                        reason: e.to_string(),
                    })?;
                self.decoder
                    .decode(
                        codec,
                        rect.reset_context,
                        &rect.data,
                        rect.width,
                        rect.height,
                        &mut self.rect,
                    )
                    .map_err(|e| RenderError::Undecodable {
                        offset,
                        reason: e.to_string(),
                    })?;
                let row = rect.width as usize * 4;
                for y in 0..rect.height as usize {
                    let to = ((rect.y as usize + y) * self.width as usize + rect.x as usize) * 4;
                    self.rgba[to..to + row].copy_from_slice(&self.rect[y * row..(y + 1) * row]);
                }
                Ok(())
            }
            // The cursor, the mouse and alerts are not part of the picture.
            _ => Ok(()),
        }
    }

    fn resize(&mut self, offset: u64, width: u32, height: u32) -> Result<(), RenderError> {
        if !(1..=MAX_SIDE).contains(&width) || !(1..=MAX_SIDE).contains(&height) {
            return Err(RenderError::BadSize {
                offset,
                width,
                height,
            });
        }
        if (width, height) != (self.width, self.height) {
            (self.width, self.height) = (width, height);
            self.rgba.clear();
            self.rgba.resize(width as usize * height as usize * 4, 0);
            for alpha in self.rgba.iter_mut().skip(3).step_by(4) {
                *alpha = 255;
            }
        }
        Ok(())
    }
}
