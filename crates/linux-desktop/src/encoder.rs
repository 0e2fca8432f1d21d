//! The frame codec the session negotiated, behind one interface: a frame's
//! changed rectangles in, the FrameRect messages that carry it out.

use oriel_qoiz::{BgrxView, EncodeError, FrameEncoder, SessionEncoder, StreamEncoder};
use oriel_tdpb::pb::{self, Codec};

use crate::x11::capture::{Changes, Rect, Shadow};

/// Past this many bytes of operations a session stream frame is sent in
/// parts, each far below the decoders' limit (`MAX_MESSAGE_BODY`, 16 MiB)
/// and the 16 MiB TDPB frame limit.
const SESSION_PART_BYTES: usize = 4 << 20;

/// Encodes frames with the codec the client and server agreed on.
pub enum RectEncoder {
    /// An independent zstd frame per rectangle.
    Frames(FrameEncoder),
    /// zstd with the session's recent rectangles as history.
    Stream(StreamEncoder),
    /// One zstd stream for the session, a frame's rectangles in one message.
    Session(SessionEncoder),
}

impl RectEncoder {
    /// An encoder for `codec`; `None` for codecs this server does not send.
    pub fn new(codec: Codec) -> Result<Option<Self>, EncodeError> {
        Ok(match codec {
            Codec::Qoiz => Some(Self::Frames(FrameEncoder::new()?)),
            Codec::QoizStream => Some(Self::Stream(StreamEncoder::new()?)),
            Codec::QoizSession => Some(Self::Session(SessionEncoder::new()?)),
            // VP8 only ever goes alongside the session codec, for regions in motion.
            Codec::Unspecified | Codec::Vp8 => None,
        })
    }

    /// The codec in TDPB terms.
    pub fn codec(&self) -> Codec {
        match self {
            Self::Frames(_) => Codec::Qoiz,
            Self::Stream(_) => Codec::QoizStream,
            Self::Session(_) => Codec::QoizSession,
        }
    }

    /// Makes the next frame start afresh (a keyframe); a no-op for
    /// independent frames.
    pub fn reset(&mut self) {
        match self {
            Self::Frames(_) => {}
            Self::Stream(encoder) => encoder.reset(),
            Self::Session(encoder) => encoder.reset(),
        }
    }

    /// Encodes what changed in `shadow` as frame `frame_id`: the messages
    /// to send, in order, the last one ending the frame. Moves come only
    /// from a capture that looked for them, which it does for the session
    /// codec alone. A
    /// keyframe's first message says so (`keyframe`) with every codec: a
    /// recording indexes keyframes by it, and a viewer that joins starts
    /// there.
    pub fn encode_frame(&mut self, frame_id: u32, changes: &Changes, shadow: &Shadow, keyframe: bool) -> Result<Vec<pb::FrameRect>, EncodeError> {
        if keyframe {
            self.reset();
        }
        let stride = shadow.stride();
        let view = |rect: &Rect| {
            let start = rect.y as usize * stride + rect.x as usize * 4;
            BgrxView { pixels: &shadow.pixels[start..], stride, width: rect.width, height: rect.height }
        };
        let codec = self.codec() as i32;
        let mut messages = Vec::new();
        match self {
            Self::Session(encoder) => {
                for step in &changes.moves {
                    let to = step.to;
                    encoder.copy(to.x, to.y, to.width, to.height, step.src_x, step.src_y)?;
                }
                let rects = &changes.rects;
                // A small frame (a typed key) is written straight into the
                // stream; only a large one pays for threads and buffers.
                let paints = if worth_two_threads(rects) { Some(encode_paints(rects, view)?) } else { None };
                for (i, rect) in rects.iter().enumerate() {
                    match &paints {
                        Some(paints) => encoder.push_encoded(&paints[i]),
                        None => encoder.paint(rect.x, rect.y, &view(rect))?,
                    }
                    if encoder.pending() >= SESSION_PART_BYTES && i + 1 < rects.len() {
                        messages.push(session_message(encoder, frame_id, false)?);
                    }
                }
                messages.push(session_message(encoder, frame_id, true)?);
            }
            Self::Frames(_) | Self::Stream(_) => {
                debug_assert!(changes.moves.is_empty(), "a per-rectangle codec cannot copy regions");
                for rect in &changes.rects {
                    let mut data = Vec::new();
                    let reset_context = match self {
                        Self::Frames(encoder) => {
                            encoder.encode(&view(rect), &mut data)?;
                            false
                        }
                        Self::Stream(encoder) => encoder.encode(&view(rect), &mut data)?,
                        Self::Session(_) => unreachable!("handled above"),
                    };
                    messages.push(pb::FrameRect {
                        frame_id,
                        x: rect.x,
                        y: rect.y,
                        width: rect.width,
                        height: rect.height,
                        codec,
                        data,
                        reset_context,
                        end_of_frame: false,
                        keyframe: false,
                    });
                }
                if let Some(last) = messages.last_mut() {
                    last.end_of_frame = true;
                }
            }
        }
        if let Some(first) = messages.first_mut().filter(|_| keyframe) {
            // The independent codec's decoder ignores reset_context; a
            // recording and a joining viewer look for it with either codec.
            first.reset_context = true;
            first.keyframe = true;
        }
        Ok(messages)
    }
}

/// Below this many pixels a frame's paints are written on one thread: a
/// thread costs more than it saves on a typed key or a small window.
const PARALLEL_PIXELS: u64 = 256 * 1024;

fn area(r: &Rect) -> u64 {
    u64::from(r.width) * u64::from(r.height)
}

/// Whether `rects` are enough work to write on two threads.
fn worth_two_threads(rects: &[Rect]) -> bool {
    rects.len() >= 2 && rects.iter().map(area).sum::<u64>() >= PARALLEL_PIXELS
}

/// The paint operations of `rects`, in order, written on two threads
/// (rectangles are independent; the zstd stream that follows is not), so a
/// full-screen update takes about half the time on a machine with two
/// cores. Only for frames [`worth_two_threads`].
fn encode_paints<'a>(rects: &[Rect], view: impl Fn(&Rect) -> BgrxView<'a> + Sync) -> Result<Vec<Vec<u8>>, EncodeError> {
    let total: u64 = rects.iter().map(area).sum();
    let one = |r: &Rect| {
        let mut out = Vec::new();
        oriel_qoiz::encode_paint(r.x, r.y, &view(r), &mut out)?;
        Ok::<_, EncodeError>(out)
    };
    // Split where half the pixels are: rectangles are a few rows of the
    // screen each, so halves by count are not halves by work.
    let mut sum = 0;
    let split = rects.iter().position(|r| {
        sum += area(r);
        sum * 2 >= total
    });
    let split = split.map_or(rects.len() / 2, |i| (i + 1).min(rects.len() - 1));
    let (first, second) = rects.split_at(split);
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new().name("frame-encode".into()).spawn_scoped(scope, || second.iter().map(one).collect::<Result<Vec<_>, _>>());
        let mut paints: Vec<Vec<u8>> = first.iter().map(one).collect::<Result<_, _>>()?;
        let rest = match helper {
            Ok(helper) => helper.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            // No thread to be had: the work is done here all the same.
            Err(_) => second.iter().map(one).collect::<Result<_, _>>()?,
        };
        paints.extend(rest);
        Ok(paints)
    })
}

/// The operations waiting in `encoder` as one message of frame `frame_id`.
/// Its position and size stay 0: the operations carry their own.
fn session_message(encoder: &mut SessionEncoder, frame_id: u32, end_of_frame: bool) -> Result<pb::FrameRect, EncodeError> {
    let mut data = Vec::new();
    let reset_context = encoder.finish(&mut data)?;
    Ok(pb::FrameRect { frame_id, codec: Codec::QoizSession as i32, data, reset_context, end_of_frame, ..Default::default() })
}
