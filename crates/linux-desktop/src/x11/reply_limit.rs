//! A bound on what the X server may send the service in one packet.
//!
//! Some replies are as large as the clients of the desktop make them: an
//! XFIXES cursor image is width × height × 4 bytes, and any client may
//! define a cursor up to 32767 pixels a side (4 GiB). The protocol has no
//! way to ask a cursor's size before fetching it, and x11rb reads a whole
//! reply into memory. So the connection itself checks each packet's length
//! as its header arrives, before the body is read: a packet over
//! [`MAX_PACKET_BYTES`] breaks the connection with [`TooLarge`], which ends
//! the session with that reason instead of letting one client's cursor make
//! the session process hold gigabytes.
//!
//! [`ServerPackets`] is the sans-IO part: it is fed the bytes the server
//! sends and knows where each packet starts. [`LimitedStream`] is the
//! x11rb stream that feeds it.

use std::io::{self, IoSlice};
use std::sync::Mutex;

use x11rb::rust_connection::{DefaultStream, PollMode, Stream};
use x11rb::utils::RawFdContainer;

/// The largest packet the service takes from its X server: a 2048 × 2048
/// cursor (16 MiB), a damage region of two million rectangles, far above
/// what a desktop sends (cursors are at most 256 pixels a side on screen).
pub const MAX_PACKET_BYTES: u64 = 32 * 1024 * 1024;

/// A packet over the limit was announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the X server announced a reply of {bytes} bytes, over the {limit} bytes the service takes from it \
     (a client of this desktop made something huge, such as a giant cursor)"
)]
pub struct TooLarge {
    /// The packet's announced length.
    pub bytes: u64,
    /// The limit it is over.
    pub limit: u64,
}

/// Where the server's byte stream is: in a packet's first 8 bytes (which
/// hold its length), or in the rest of a packet.
#[derive(Debug)]
pub struct ServerPackets {
    header: [u8; 8],
    have: usize,
    /// Bytes of the current packet still to come after its header.
    rest: u64,
    setup_done: bool,
    limit: u64,
    /// Once a packet is refused, the stream is out of step for good.
    refused: Option<TooLarge>,
}

/// X11 reply packets (byte 0 is 1), and GenericEvent (35, with the
/// sent-event bit 0x80 masked) carry 4 × the u32 at byte 4 after 32 bytes.
const REPLY: u8 = 1;
const GENERIC_EVENT: u8 = 35;
/// Every other packet (errors, events) is 32 bytes.
const PACKET: u64 = 32;

impl ServerPackets {
    /// A stream that has not sent its setup yet, checked against `limit`.
    pub fn new(limit: u64) -> Self {
        Self { header: [0; 8], have: 0, rest: 0, setup_done: false, limit, refused: None }
    }

    /// Takes the next `bytes` the server sent. The server answers in the
    /// client's byte order, and x11rb asks for the machine's own. After a
    /// refusal every call fails the same way: the bytes that follow are
    /// the refused packet's body, not packets.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), TooLarge> {
        if let Some(refused) = self.refused {
            return Err(refused);
        }
        while !bytes.is_empty() {
            if self.rest > 0 {
                let skipped = usize::try_from(self.rest).unwrap_or(usize::MAX).min(bytes.len());
                self.rest -= skipped as u64;
                bytes = &bytes[skipped..];
                continue;
            }
            let taken = (self.header.len() - self.have).min(bytes.len());
            self.header[self.have..self.have + taken].copy_from_slice(&bytes[..taken]);
            self.have += taken;
            bytes = &bytes[taken..];
            if self.have < self.header.len() {
                continue;
            }
            self.have = 0;
            let length = self.packet_length();
            if length > self.limit {
                let refused = TooLarge { bytes: length, limit: self.limit };
                self.refused = Some(refused);
                return Err(refused);
            }
            self.rest = length - self.header.len() as u64;
        }
        Ok(())
    }

    /// The whole length of the packet whose header was just read.
    fn packet_length(&mut self) -> u64 {
        let header = &self.header;
        if !self.setup_done {
            // The setup reply: 8 bytes, then 4 × the u16 at byte 6.
            self.setup_done = true;
            return 8 + 4 * u64::from(u16::from_ne_bytes([header[6], header[7]]));
        }
        match header[0] & 0x7f {
            REPLY | GENERIC_EVENT => PACKET + 4 * u64::from(u32::from_ne_bytes([header[4], header[5], header[6], header[7]])),
            _ => PACKET,
        }
    }
}

/// x11rb's stream with every packet from the server checked by
/// [`ServerPackets`] before x11rb sees it.
#[derive(Debug)]
pub struct LimitedStream {
    inner: DefaultStream,
    packets: Mutex<ServerPackets>,
}

impl LimitedStream {
    /// `inner`, its server's packets held to `limit` bytes.
    pub fn new(inner: DefaultStream, limit: u64) -> Self {
        Self { inner, packets: Mutex::new(ServerPackets::new(limit)) }
    }
}

impl Stream for LimitedStream {
    /// Fails at once after a refusal: x11rb polls before it reads, and the
    /// threads waiting on the connection must hear of the refusal rather
    /// than wait for bytes that will never make a packet.
    fn poll(&self, mode: PollMode) -> io::Result<()> {
        if let Some(refused) = self.packets.lock().unwrap_or_else(|p| p.into_inner()).refused {
            return Err(io::Error::new(io::ErrorKind::InvalidData, refused));
        }
        self.inner.poll(mode)
    }

    fn read(&self, buf: &mut [u8], fd_storage: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        // Held across the read so that the bytes are checked in the order
        // they came when two threads read.
        let mut packets = self.packets.lock().unwrap_or_else(|p| p.into_inner());
        let read = self.inner.read(buf, fd_storage)?;
        packets.feed(&buf[..read]).map_err(|too_large| io::Error::new(io::ErrorKind::InvalidData, too_large))?;
        Ok(read)
    }

    fn write(&self, buf: &[u8], fds: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        self.inner.write(buf, fds)
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>], fds: &mut Vec<RawFdContainer>) -> io::Result<usize> {
        self.inner.write_vectored(bufs, fds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(extra_words: u16) -> Vec<u8> {
        let mut bytes = vec![1, 0, 11, 0, 0, 0];
        bytes.extend_from_slice(&extra_words.to_ne_bytes());
        bytes.extend(std::iter::repeat_n(0xaa, 4 * usize::from(extra_words)));
        bytes
    }

    fn reply(words: u32) -> Vec<u8> {
        let mut bytes = vec![REPLY, 0, 1, 0];
        bytes.extend_from_slice(&words.to_ne_bytes());
        bytes.extend(std::iter::repeat_n(0x55, 24 + 4 * words as usize));
        bytes
    }

    fn event(code: u8) -> Vec<u8> {
        // A length-looking field that must be ignored: events are 32 bytes.
        let mut bytes = vec![code, 0, 2, 0, 0xff, 0xff, 0xff, 0xff];
        bytes.extend(std::iter::repeat_n(0, 24));
        bytes
    }

    #[test]
    fn packets_are_followed_however_the_bytes_are_cut() {
        let mut stream = setup(20);
        for part in [reply(0), event(28), reply(100), event(0), event(0x80 | 12), reply(3)] {
            stream.extend(part);
        }
        for chunk in [1, 3, 7, 8, 32, 33, 1000] {
            let mut packets = ServerPackets::new(1024);
            for piece in stream.chunks(chunk) {
                packets.feed(piece).unwrap_or_else(|e| panic!("chunks of {chunk}: {e}"));
            }
            assert_eq!((packets.have, packets.rest), (0, 0), "chunks of {chunk} end on a packet's end");
        }
    }

    #[test]
    fn a_packet_over_the_limit_is_refused_from_its_header() {
        let mut packets = ServerPackets::new(1024);
        packets.feed(&setup(2)).unwrap();
        packets.feed(&reply(10)).unwrap();
        // A 4096 × 4096 cursor image: only its header is needed to refuse it.
        let header = &reply(4096 * 4096 + 4)[..8];
        let refused = packets.feed(header).unwrap_err();
        assert_eq!(refused, TooLarge { bytes: 32 + 4 * (4096 * 4096 + 4), limit: 1024 });
        assert_eq!(packets.feed(&event(28)), Err(refused), "what follows is the refused body: refused too");
        let generic = [GENERIC_EVENT | 0x80, 0, 0, 0, 0, 1, 0, 0];
        let mut packets = ServerPackets::new(1024);
        packets.feed(&setup(0)).unwrap();
        assert!(packets.feed(&generic).is_err(), "a sent GenericEvent's length counts too");
    }

    #[test]
    fn a_huge_setup_is_refused_too() {
        let mut packets = ServerPackets::new(64);
        assert!(packets.feed(&[1, 0, 11, 0, 0, 0, 0xff, 0xff]).is_err());
    }
}
