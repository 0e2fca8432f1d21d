//! Writing a recording as the session goes.

use crate::format::trailer;
use crate::index::IndexBuilder;
use crate::record::encode_record;
use crate::selection::payload_field;
use crate::{Index, Meta, Record, Source, recorded};

/// Turns a session's messages into a file's bytes: [`Self::start`] gives
/// the header, [`Self::record`] each record, [`Self::finish`] the trailer.
/// The caller appends them to the file in that order.
#[derive(Debug)]
pub struct RecordingWriter {
    index: IndexBuilder,
    last_delay_ms: u32,
}

impl RecordingWriter {
    /// A recording of the session `meta` describes, and its header.
    pub fn start(meta: &Meta) -> (Self, Vec<u8>) {
        let header = meta.header();
        let writer = Self {
            index: IndexBuilder::starting_at(header.len() as u64),
            last_delay_ms: 0,
        };
        (writer, header)
    }

    /// Appends to `out` the record of `frame` (one whole TDPB frame, its
    /// length prefix included) sent `delay_ms` after the start from
    /// `source`, if recordings keep such a message. Returns whether it did.
    pub fn record(
        &mut self,
        delay_ms: u32,
        source: Source,
        frame: &[u8],
        out: &mut Vec<u8>,
    ) -> bool {
        let Some(envelope) = frame.get(oriel_tdpb::HEADER_LEN..) else {
            return false;
        };
        if !payload_field(envelope).is_some_and(|field| recorded(field, source)) {
            return false;
        }
        // Two pumps stamp their frames; the later stamp can reach here first.
        let delay_ms = delay_ms.max(self.last_delay_ms);
        let start = out.len();
        let offset = self.index.end();
        encode_record(delay_ms, source, envelope, out);
        let record = Record {
            delay_ms,
            source,
            envelope,
        };
        if self
            .index
            .observe(offset, out.len() - start, &record)
            .is_err()
        {
            // Not a message after all (the session process checks what it
            // sends, so this is a bug there): keep the file readable.
            out.truncate(start);
            return false;
        }
        self.last_delay_ms = delay_ms;
        true
    }

    /// The trailer, and the index it holds, for a session that ended
    /// `ended_ms` after it started: the recording lasts as long as the
    /// session, even when the screen did not change at its end.
    pub fn finish(self, ended_ms: u32) -> (Index, Vec<u8>) {
        let mut index = self.index.finish();
        index.duration_ms = index.duration_ms.max(ended_ms);
        let bytes = trailer(&index);
        (index, bytes)
    }
}
