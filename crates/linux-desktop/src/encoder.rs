//! The frame codec the session negotiated, behind one interface.

use oriel_qoiz::{BgrxView, EncodeError, FrameEncoder, StreamEncoder};
use oriel_tdpb::pb::Codec;

/// Encodes rectangles with the codec the client and server agreed on.
pub enum RectEncoder {
    /// An independent zstd frame per rectangle.
    Frames(FrameEncoder),
    /// zstd with the session's recent rectangles as history.
    Stream(StreamEncoder),
}

/// One encoded rectangle.
pub struct EncodedRect {
    /// The FrameRect payload.
    pub data: Vec<u8>,
    /// The decoder must drop its history before this rectangle.
    pub reset_context: bool,
}

impl RectEncoder {
    /// An encoder for `codec`; `None` for codecs this server does not send.
    pub fn new(codec: Codec) -> Result<Option<Self>, EncodeError> {
        Ok(match codec {
            Codec::Qoiz => Some(Self::Frames(FrameEncoder::new()?)),
            Codec::QoizStream => Some(Self::Stream(StreamEncoder::new()?)),
            Codec::Unspecified => None,
        })
    }

    /// The codec in TDPB terms.
    pub fn codec(&self) -> Codec {
        match self {
            Self::Frames(_) => Codec::Qoiz,
            Self::Stream(_) => Codec::QoizStream,
        }
    }

    /// Encodes one rectangle.
    pub fn encode(&mut self, view: BgrxView<'_>) -> Result<EncodedRect, EncodeError> {
        let mut data = Vec::new();
        let reset_context = match self {
            Self::Frames(encoder) => {
                encoder.encode(&view, &mut data)?;
                false
            }
            Self::Stream(encoder) => encoder.encode(&view, &mut data)?,
        };
        Ok(EncodedRect { data, reset_context })
    }

    /// Makes the next rectangle a keyframe; a no-op for independent frames.
    pub fn reset(&mut self) {
        if let Self::Stream(encoder) = self {
            encoder.reset();
        }
    }
}
