//! What a recording shows at each moment: its records applied to a screen
//! of RGBA pixels, as the browser paints them. For exports; the web player
//! does the same with the browser's canvas.

use oriel_qoiz::{Canvas, DecodeError};
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
    canvas: Canvas,
}

impl Screen {
    /// A screen of no size yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Width and height now (0 before the first size).
    pub fn size(&self) -> (u32, u32) {
        self.canvas.size()
    }

    /// The pixels, RGBA, row after row.
    pub fn rgba(&self) -> &[u8] {
        self.canvas.rgba()
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
                let (width, height) = self.canvas.size();
                if width == 0 {
                    return Err(RenderError::NoScreen { offset });
                }
                self.canvas
                    .paint(
                        rect.codec as u32,
                        rect.reset_context,
                        &rect.data,
                        rect.x,
                        rect.y,
                        rect.width,
                        rect.height,
                    )
                    .map_err(|e| match e {
                        DecodeError::OffCanvas { .. } => RenderError::OutsideScreen {
                            offset,
                            width,
                            height,
                        },
                        e => RenderError::Undecodable {
                            offset,
                            reason: e.to_string(),
                        },
                    })
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
        self.canvas.resize(width, height);
        Ok(())
    }
}
