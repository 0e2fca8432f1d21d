//! The clipboard's decisions, sans-IO: which selection targets are served
//! and how, text in X's encodings, `INCR` transfers cut into chunks or put
//! back together under the 1 MiB limit, and which text the browser already
//! has. `x11::clipboard` does the talking to X around them.
//!
//! X's side of a clipboard is ICCCM selections: the owner of `CLIPBOARD`
//! answers each `ConvertSelection` by writing a property on the requestor's
//! window. Data larger than one request goes by `INCR`: the owner writes
//! the type `INCR` first, then one chunk each time the requestor deletes
//! the property, and a zero-length chunk at the end.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use oriel_tdpb::limits::MAX_CLIPBOARD_LEN;

/// The largest property the service writes at once. Larger replies go by
/// `INCR` in chunks of this size, as owners do for clients without
/// BIG-REQUESTS (whose requests stop at 256 KiB).
pub const INCR_CHUNK: usize = 64 * 1024;

/// A transfer whose other side has done nothing for this long is dropped:
/// the requestor or owner went away without finishing it.
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(10);

/// What a requestor may ask the clipboard's owner for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// `TARGETS`: the list of targets served.
    Targets,
    /// `TIMESTAMP`: when the selection was taken.
    Timestamp,
    /// `UTF8_STRING`.
    Utf8String,
    /// `text/plain;charset=utf-8`, as toolkits name UTF-8 text too.
    TextPlainUtf8,
    /// `TEXT`: any text encoding the owner likes; this one answers UTF-8.
    Text,
    /// `STRING`: ICCCM's Latin-1.
    Latin1,
}

impl Target {
    /// Every target served, in the order `TARGETS` lists them (best first).
    pub const SERVED: [Target; 6] = [Target::Targets, Target::Timestamp, Target::Utf8String, Target::TextPlainUtf8, Target::Text, Target::Latin1];

    /// The bytes of `text` as this target wants them; `None` for targets
    /// that are not text (`TARGETS`, `TIMESTAMP`).
    pub fn encode<'a>(self, text: &'a str) -> Option<Cow<'a, [u8]>> {
        match self {
            Target::Utf8String | Target::TextPlainUtf8 | Target::Text => Some(Cow::Borrowed(text.as_bytes())),
            Target::Latin1 => Some(Cow::Owned(to_latin1(text))),
            Target::Targets | Target::Timestamp => None,
        }
    }
}

/// `text` in Latin-1 (X's `STRING`); characters it lacks become `?`.
pub fn to_latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
}

/// Latin-1 bytes as text: every byte is the character of the same number.
pub fn from_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Whether a reply of `len` bytes goes by `INCR` for a server that takes
/// requests of up to `max_request_bytes`.
pub fn needs_incr(len: usize, max_request_bytes: usize) -> bool {
    len > chunk_size(max_request_bytes)
}

/// The chunk size for a server that takes requests of up to `max_request_bytes`
/// (a `ChangeProperty` request has a 24-byte header).
pub fn chunk_size(max_request_bytes: usize) -> usize {
    INCR_CHUNK.min(max_request_bytes.saturating_sub(24)).max(1)
}

/// One `INCR` reply on its way to a requestor.
#[derive(Debug)]
pub struct Outgoing {
    data: Arc<[u8]>,
    sent: usize,
    chunk: usize,
    done: bool,
    last_activity: Instant,
}

impl Outgoing {
    /// A transfer of `data` in chunks of at most `chunk` bytes, started at `now`.
    pub fn new(data: Arc<[u8]>, chunk: usize, now: Instant) -> Self {
        Self { data, sent: 0, chunk: chunk.max(1), done: false, last_activity: now }
    }

    /// The whole length, for the `INCR` property that starts the transfer.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there is nothing to send at all.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The requestor deleted the property: the next chunk to write. An
    /// empty chunk is the end of the transfer; `None` after that.
    pub fn next_chunk(&mut self, now: Instant) -> Option<&[u8]> {
        if self.done {
            return None;
        }
        self.last_activity = now;
        let start = self.sent;
        let end = (start + self.chunk).min(self.data.len());
        self.sent = end;
        if start == end {
            self.done = true;
        }
        Some(&self.data[start..end])
    }

    /// Whether the requestor has been silent for [`TRANSFER_TIMEOUT`].
    pub fn stalled(&self, now: Instant) -> bool {
        now.duration_since(self.last_activity) >= TRANSFER_TIMEOUT
    }
}

/// How received bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (`UTF8_STRING`, `text/plain;charset=utf-8`); invalid sequences
    /// become U+FFFD, so what reaches the browser is always text.
    Utf8,
    /// Latin-1 (`STRING`).
    Latin1,
}

/// A selection's contents arriving, in one property or in `INCR` chunks.
/// Bytes past [`MAX_CLIPBOARD_LEN`] are counted, not kept.
#[derive(Debug)]
pub struct Incoming {
    bytes: Vec<u8>,
    total: usize,
    encoding: Encoding,
    last_activity: Instant,
}

/// What a finished transfer gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// The text, within the limit.
    Text(String),
    /// More bytes than [`MAX_CLIPBOARD_LEN`]: this many.
    TooLarge(usize),
}

impl Incoming {
    /// A transfer in `encoding`, started at `now`.
    pub fn new(encoding: Encoding, now: Instant) -> Self {
        Self { bytes: Vec::new(), total: 0, encoding, last_activity: now }
    }

    /// Adds a chunk.
    pub fn push(&mut self, chunk: &[u8], now: Instant) {
        self.last_activity = now;
        self.total = self.total.saturating_add(chunk.len());
        if self.total <= MAX_CLIPBOARD_LEN {
            self.bytes.extend_from_slice(chunk);
        } else {
            self.bytes = Vec::new();
        }
    }

    /// Counts `len` bytes that were not read (a property too large to fetch whole).
    pub fn skip(&mut self, len: usize, now: Instant) {
        self.last_activity = now;
        self.total = self.total.saturating_add(len);
        self.bytes = Vec::new();
    }

    /// Whether the limit is passed already (the rest need not be kept).
    pub fn over_limit(&self) -> bool {
        self.total > MAX_CLIPBOARD_LEN
    }

    /// Whether the owner has been silent for [`TRANSFER_TIMEOUT`].
    pub fn stalled(&self, now: Instant) -> bool {
        now.duration_since(self.last_activity) >= TRANSFER_TIMEOUT
    }

    /// The text, or how much too much there was.
    pub fn finish(self) -> Received {
        if self.over_limit() {
            return Received::TooLarge(self.total);
        }
        let text = match self.encoding {
            Encoding::Utf8 => String::from_utf8(self.bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            Encoding::Latin1 => from_latin1(&self.bytes),
        };
        // Latin-1 and U+FFFD replacements can make the text longer than the bytes were.
        if text.len() > MAX_CLIPBOARD_LEN { Received::TooLarge(text.len()) } else { Received::Text(text) }
    }
}

/// Which text the browser's clipboard is known to hold, so that the
/// service does not send it back what it sent, nor the same text twice.
#[derive(Debug, Default)]
pub struct BrowserCopy {
    holds: Option<Arc<str>>,
}

impl BrowserCopy {
    /// The browser sent `text`: its clipboard holds it.
    pub fn sent_by_browser(&mut self, text: Arc<str>) {
        self.holds = Some(text);
    }

    /// The desktop's clipboard now holds `text`: whether to send it to the
    /// browser (empty text and text it has are not sent). Sending is assumed.
    pub fn should_send(&mut self, text: &str) -> bool {
        if text.is_empty() || self.holds.as_deref() == Some(text) {
            return false;
        }
        self.holds = Some(text.into());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_encode_text_as_they_name_it() {
        let text = "Grüße 😀 €";
        for target in [Target::Utf8String, Target::TextPlainUtf8, Target::Text] {
            assert_eq!(target.encode(text).unwrap().as_ref(), text.as_bytes(), "{target:?}");
        }
        // Latin-1 has ü and ß; the emoji and the euro sign are not in it.
        assert_eq!(Target::Latin1.encode(text).unwrap().as_ref(), b"Gr\xfc\xdfe ? ?");
        assert_eq!(Target::Targets.encode(text), None);
        assert_eq!(Target::Timestamp.encode(text), None);
    }

    #[test]
    fn latin1_reads_every_byte_as_its_character() {
        assert_eq!(from_latin1(b"Gr\xfc\xdfe \xa9"), "Grüße ©");
        assert_eq!(to_latin1(&from_latin1(&(0..=255).collect::<Vec<u8>>())), (0..=255).collect::<Vec<u8>>());
    }

    #[test]
    fn replies_larger_than_a_chunk_go_by_incr() {
        let max_request = 16 << 20; // BIG-REQUESTS
        assert!(!needs_incr(INCR_CHUNK, max_request));
        assert!(needs_incr(INCR_CHUNK + 1, max_request));
        // Without BIG-REQUESTS a server may take less than a chunk.
        assert_eq!(chunk_size(4096), 4096 - 24);
        assert!(needs_incr(5000, 4096));
    }

    #[test]
    fn an_incr_reply_is_cut_into_chunks_and_ends_with_an_empty_one() {
        let now = Instant::now();
        let data: Arc<[u8]> = (0..10u8).collect::<Vec<_>>().into();
        let mut out = Outgoing::new(data, 4, now);
        assert_eq!(out.len(), 10);
        let mut chunks = Vec::new();
        while let Some(chunk) = out.next_chunk(now) {
            chunks.push(chunk.to_vec());
        }
        assert_eq!(chunks, [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9], vec![]]);
        // An exact multiple still ends with the empty chunk.
        let mut out = Outgoing::new(vec![1, 2, 3, 4].into(), 2, now);
        let sizes: Vec<usize> = std::iter::from_fn(|| out.next_chunk(now).map(<[u8]>::len)).collect();
        assert_eq!(sizes, [2, 2, 0]);
    }

    #[test]
    fn a_silent_peer_stalls_a_transfer() {
        let start = Instant::now();
        let mut out = Outgoing::new(vec![0; 8].into(), 4, start);
        assert!(!out.stalled(start + TRANSFER_TIMEOUT / 2));
        out.next_chunk(start + TRANSFER_TIMEOUT / 2);
        assert!(!out.stalled(start + TRANSFER_TIMEOUT));
        assert!(out.stalled(start + TRANSFER_TIMEOUT / 2 + TRANSFER_TIMEOUT));
        let incoming = Incoming::new(Encoding::Utf8, start);
        assert!(incoming.stalled(start + TRANSFER_TIMEOUT));
    }

    #[test]
    fn chunks_make_unicode_text_again() {
        let now = Instant::now();
        let text = "Grüße 😀 €".repeat(1000);
        let mut incoming = Incoming::new(Encoding::Utf8, now);
        // Chunks cut inside characters, as INCR chunks are.
        for chunk in text.as_bytes().chunks(7) {
            incoming.push(chunk, now);
        }
        assert_eq!(incoming.finish(), Received::Text(text));
        let mut latin1 = Incoming::new(Encoding::Latin1, now);
        latin1.push(b"Gr\xfc\xdfe", now);
        assert_eq!(latin1.finish(), Received::Text("Grüße".into()));
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let now = Instant::now();
        let mut incoming = Incoming::new(Encoding::Utf8, now);
        incoming.push(b"ok \xff!", now);
        assert_eq!(incoming.finish(), Received::Text("ok \u{fffd}!".into()));
    }

    #[test]
    fn one_mebibyte_arrives_and_one_byte_more_is_only_counted() {
        let now = Instant::now();
        let mut fits = Incoming::new(Encoding::Utf8, now);
        for _ in 0..16 {
            fits.push(&[b'a'; MAX_CLIPBOARD_LEN / 16], now);
        }
        assert!(!fits.over_limit());
        assert!(matches!(fits.finish(), Received::Text(text) if text.len() == MAX_CLIPBOARD_LEN));

        let mut over = Incoming::new(Encoding::Utf8, now);
        over.push(&vec![b'a'; MAX_CLIPBOARD_LEN], now);
        over.push(b"b", now);
        assert!(over.over_limit());
        over.push(&[b'c'; 99], now);
        assert_eq!(over.finish(), Received::TooLarge(MAX_CLIPBOARD_LEN + 100));

        let mut skipped = Incoming::new(Encoding::Utf8, now);
        skipped.skip(3 << 20, now);
        assert_eq!(skipped.finish(), Received::TooLarge(3 << 20));

        // Latin-1 above 0x7f takes two bytes in UTF-8: the text is what counts.
        let mut widened = Incoming::new(Encoding::Latin1, now);
        widened.push(&vec![0xe9; MAX_CLIPBOARD_LEN / 2 + 1], now);
        assert_eq!(widened.finish(), Received::TooLarge(MAX_CLIPBOARD_LEN + 2));
    }

    #[test]
    fn the_browser_is_not_sent_what_it_has() {
        let mut copy = BrowserCopy::default();
        copy.sent_by_browser("from the browser".into());
        assert!(!copy.should_send("from the browser"), "no echo of the browser's own text");
        assert!(copy.should_send("from the desktop"));
        assert!(!copy.should_send("from the desktop"), "the same text is sent once");
        assert!(!copy.should_send(""), "empty text is not sent");
        assert!(copy.should_send("from the browser"), "once the desktop copied something else, it is news again");
    }
}
