//! The one decode path, native and in the browser: zstd (ruzstd) then QOI.

use ruzstd::decoding::errors::FrameDecoderError;
use ruzstd::decoding::{BlockDecodingStrategy, Dictionary, FrameDecoder};

use crate::history::{History, STREAM_HISTORY_MAX};
use crate::{Codec, DecodeError, check_size, decode_qoi, max_qoi_len};

/// Decodes QOIZ rectangles of either codec into RGBA.
///
/// Keep one per session: it holds the stream history of
/// [`Codec::QoizStream`] and buffers that are reused from call to call.
/// After an error the stream is closed until a rectangle with
/// `reset_context` arrives.
pub struct Decoder {
    frames: FrameDecoder,
    stream: FrameDecoder,
    history: History,
    stream_open: bool,
    qoi: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with no stream open.
    pub fn new() -> Self {
        Self {
            frames: FrameDecoder::new(),
            stream: FrameDecoder::new(),
            history: History::new(STREAM_HISTORY_MAX),
            stream_open: false,
            qoi: Vec::new(),
        }
    }

    /// Decodes the `data` of one rectangle of `width` x `height` pixels into
    /// `out_rgba`, which is resized to `width * height * 4` bytes (RGBA,
    /// alpha 255) and holds nothing useful after an error.
    ///
    /// `reset_context` is the flag sent with the rectangle; it matters only
    /// for [`Codec::QoizStream`], where it drops the history (a keyframe).
    /// A stream rectangle without it and without an open stream is an error.
    ///
    /// At most [`max_qoi_len`] bytes are inflated, whatever the data says.
    pub fn decode(
        &mut self,
        codec: Codec,
        reset_context: bool,
        data: &[u8],
        width: u32,
        height: u32,
        out_rgba: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        check_size(width, height)?;
        let limit = max_qoi_len(width, height);
        match codec {
            Codec::QoizSession => return Err(DecodeError::NotARectangle),
            Codec::Qoiz => inflate(&mut self.frames, data, limit, width, height, &mut self.qoi)?,
            Codec::QoizStream => {
                if reset_context {
                    self.history.clear();
                    // A fresh zstd decoder forgets the old history dictionary,
                    // so a frame that still refers to it fails.
                    self.stream = FrameDecoder::new();
                    self.stream_open = true;
                }
                if !self.stream_open {
                    return Err(DecodeError::NoStream);
                }
                // Whatever fails below leaves the two ends with different
                // histories: only a keyframe can repair that.
                self.stream_open = false;
                if !self.history.is_empty() {
                    let dictionary = Dictionary::decode_dict(self.history.dictionary())
                        .map_err(|e| DecodeError::Zstd(e.to_string()))?;
                    self.stream.add_dict(dictionary).map_err(zstd_error)?;
                }
                inflate(&mut self.stream, data, limit, width, height, &mut self.qoi)?;
            }
        }

        out_rgba.clear();
        out_rgba.resize(width as usize * height as usize * 4, 0);
        decode_qoi(&self.qoi, width, height, out_rgba)?;
        if codec == Codec::QoizStream {
            self.history.push(&self.qoi);
            self.stream_open = true;
        }
        Ok(())
    }
}

/// Inflates exactly one zstd frame from `data` into `out`, stopping as soon
/// as the output would pass `limit`.
fn inflate(
    zstd: &mut FrameDecoder,
    data: &[u8],
    limit: usize,
    width: u32,
    height: u32,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    out.clear();
    // A frame's window never needs to exceed its content plus the history it
    // may refer to; refuse bigger ones before anything is allocated for them.
    zstd.set_max_window_size((limit + STREAM_HISTORY_MAX) as u64);
    let mut src = data;
    let too_large = || DecodeError::TooLarge {
        limit,
        width,
        height,
    };
    zstd.reset(&mut src).map_err(|e| match e {
        FrameDecoderError::WindowSizeTooBig { requested, max } => DecodeError::WindowTooLarge {
            window: requested,
            max,
        },
        e => truncated_or(e, src.is_empty()),
    })?;
    if zstd.content_size() > limit as u64 {
        return Err(too_large());
    }
    loop {
        // One block inflates to at most 128 KiB, so checking after each one
        // bounds the overshoot.
        let finished = zstd
            .decode_blocks(&mut src, BlockDecodingStrategy::UptoBlocks(1))
            .map_err(|e| truncated_or(e, src.is_empty()))?;
        zstd.collect_to_writer(&mut *out)
            .map_err(|e| DecodeError::Zstd(e.to_string()))?;
        if out.len() > limit {
            return Err(too_large());
        }
        if finished {
            break;
        }
    }
    if !src.is_empty() {
        return Err(DecodeError::ZstdTrailingBytes { extra: src.len() });
    }
    let checksum = zstd.get_checksum_from_data();
    if checksum.is_some() && checksum != zstd.get_calculated_checksum() {
        return Err(DecodeError::Zstd("content checksum mismatch".into()));
    }
    // ruzstd reports 0 when the header has no size; a QOI image is never empty.
    let declared = zstd.content_size();
    if declared != 0 && declared != out.len() as u64 {
        return Err(DecodeError::Zstd(format!(
            "frame declares {declared} bytes but holds {}",
            out.len()
        )));
    }
    Ok(())
}

/// Running out of input mid-frame is truncation; anything else is corruption.
fn truncated_or(e: FrameDecoderError, input_exhausted: bool) -> DecodeError {
    if input_exhausted {
        DecodeError::ZstdTruncated
    } else {
        zstd_error(e)
    }
}

fn zstd_error(e: FrameDecoderError) -> DecodeError {
    DecodeError::Zstd(e.to_string())
}
