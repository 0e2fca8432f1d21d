//! The keyframe index: where a player can start without anything earlier.

use oriel_tdpb::Payload;
use oriel_tdpb::pb::Envelope;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::selection::payload_field;
use crate::{FormatError, Record, recorded};

/// Written at the end of a finished file (`docs/recording.md`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// How long the session lasted: at least the last record's delay.
    pub duration_ms: u32,
    /// How many records there are.
    pub records: u64,
    /// Where the records end and the trailer starts.
    pub records_end: u64,
    /// In the order of the file, so in time order too.
    pub keyframes: Vec<Keyframe>,
}

/// A frame that needs no earlier frame: its rectangles cover the screen and
/// its first resets the decoder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyframe {
    /// Its first rectangle's delay.
    pub t: u32,
    /// Its first rectangle's record.
    pub offset: u64,
    /// Records to apply before it, in order: the screen size, the cursor's
    /// shape and position in force at that moment.
    pub context: Vec<u64>,
}

impl Index {
    /// Where to start for the moment `t_ms`: the last keyframe at or
    /// before it.
    pub fn keyframe_before(&self, t_ms: u32) -> Option<&Keyframe> {
        let after = self.keyframes.partition_point(|k| k.t <= t_ms);
        after.checked_sub(1).map(|i| &self.keyframes[i])
    }

    /// Keyframes in order, every offset inside the records: an index that
    /// a reader may follow without checking each step.
    pub(crate) fn check_shape(&self) -> Result<(), FormatError> {
        let mut previous: Option<&Keyframe> = None;
        for keyframe in &self.keyframes {
            if keyframe.offset >= self.records_end
                || keyframe.context.iter().any(|&c| c >= keyframe.offset)
            {
                return Err(FormatError::BadIndex(format!(
                    "keyframe at {} points outside its records",
                    keyframe.offset
                )));
            }
            if let Some(previous) = previous
                && (keyframe.offset <= previous.offset || keyframe.t < previous.t)
            {
                return Err(FormatError::BadIndex(format!(
                    "keyframe at {} is out of order",
                    keyframe.offset
                )));
            }
            previous = Some(keyframe);
        }
        Ok(())
    }
}

/// Builds the index as records are written or read.
#[derive(Debug, Default)]
pub(crate) struct IndexBuilder {
    index: Index,
    server_hello: Option<u64>,
    screen_spec: Option<u64>,
    cursor_image: Option<u64>,
    mouse_move: Option<u64>,
}

impl IndexBuilder {
    pub fn starting_at(records_start: u64) -> Self {
        Self {
            index: Index {
                records_end: records_start,
                ..Index::default()
            },
            ..Self::default()
        }
    }

    /// Takes the record at `offset`, `len` bytes long. Refuses what a
    /// recording never holds: a message it does not keep, bytes that are
    /// not one, or time going backwards.
    pub fn observe(
        &mut self,
        offset: u64,
        len: usize,
        record: &Record<'_>,
    ) -> Result<(), FormatError> {
        let field = payload_field(record.envelope).ok_or_else(|| FormatError::BadEnvelope {
            offset,
            reason: "no message in it".into(),
        })?;
        if !recorded(field, record.source) {
            return Err(FormatError::NotRecordable { offset });
        }
        if record.delay_ms < self.index.duration_ms {
            return Err(FormatError::TimeGoesBack {
                offset,
                delay_ms: record.delay_ms,
                previous_ms: self.index.duration_ms,
            });
        }
        let envelope = Envelope::decode(record.envelope).map_err(|e| FormatError::BadEnvelope {
            offset,
            reason: e.to_string(),
        })?;
        match envelope.payload {
            Some(Payload::ServerHello(_)) => self.server_hello = Some(offset),
            Some(Payload::ClientScreenSpec(_)) => self.screen_spec = Some(offset),
            Some(Payload::CursorImage(_)) => self.cursor_image = Some(offset),
            Some(Payload::MouseMove(_)) => self.mouse_move = Some(offset),
            Some(Payload::FrameRect(rect)) if rect.reset_context && rect.x == 0 && rect.y == 0 => {
                let context = [
                    self.server_hello,
                    self.screen_spec,
                    self.cursor_image,
                    self.mouse_move,
                ]
                .into_iter()
                .flatten()
                .collect();
                self.index.keyframes.push(Keyframe {
                    t: record.delay_ms,
                    offset,
                    context,
                });
            }
            Some(_) => {}
            None => {
                return Err(FormatError::BadEnvelope {
                    offset,
                    reason: "an unknown message".into(),
                });
            }
        }
        self.index.duration_ms = record.delay_ms;
        self.index.records += 1;
        self.index.records_end = offset + len as u64;
        Ok(())
    }

    /// Where the next record goes.
    pub fn end(&self) -> u64 {
        self.index.records_end
    }

    pub fn finish(self) -> Index {
        self.index
    }
}
