//! Framing of control and root messages: a 4-byte big-endian length, then
//! the protobuf body. Sans-IO: [`MessageReader`] is fed bytes and hands out
//! whole messages; the blocking and async helpers only move bytes.

use std::io::{Read, Write};

use prost::Message;

/// The largest message body either side accepts.
pub const MAX_MESSAGE_LEN: usize = 1 << 20;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The length prefix is over [`MAX_MESSAGE_LEN`].
    #[error("a session process message of {0} bytes is over the 1 MiB limit")]
    TooLong(usize),
    /// The body is not the message expected.
    #[error("a session process message is malformed: {0}")]
    Malformed(#[from] prost::DecodeError),
    /// The stream ended inside a message.
    #[error("the session process stream ended inside a message")]
    Truncated,
    /// Reading or writing failed.
    #[error("the session process stream failed: {0}")]
    Io(#[from] std::io::Error),
}

/// `message` with its length prefix.
pub fn encode<M: Message>(message: &M) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Splits a byte stream into messages.
#[derive(Debug, Default)]
pub struct MessageReader {
    buf: Vec<u8>,
}

impl MessageReader {
    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message, if one has arrived.
    pub fn next_message<M: Message + Default>(&mut self) -> Result<Option<M>, WireError> {
        let Some(prefix) = self.buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(prefix.try_into().expect("four bytes")) as usize;
        if len > MAX_MESSAGE_LEN {
            return Err(WireError::TooLong(len));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let message = M::decode(&self.buf[4..4 + len])?;
        self.buf.drain(..4 + len);
        Ok(Some(message))
    }

    /// Bytes received but not yet returned as a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// Reads one message from a blocking stream; `None` at a clean end.
pub fn read_blocking<M: Message + Default>(stream: &mut impl Read) -> Result<Option<M>, WireError> {
    let mut prefix = [0u8; 4];
    match stream.read_exact(&mut prefix) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_MESSAGE_LEN {
        return Err(WireError::TooLong(len));
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).map_err(|error| match error.kind() {
        std::io::ErrorKind::UnexpectedEof => WireError::Truncated,
        _ => WireError::Io(error),
    })?;
    Ok(Some(M::decode(body.as_slice())?))
}

/// Writes one message to a blocking stream.
pub fn write_blocking<M: Message>(stream: &mut impl Write, message: &M) -> Result<(), WireError> {
    stream.write_all(&encode(message))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session_process::pb;

    #[test]
    fn messages_split_anywhere_come_out_whole() {
        let event = pb::Event { event: Some(pb::event::Event::Started(pb::Started { xsession: "Xfce".into(), pid: 42 })) };
        let bytes = [encode(&event), encode(&event)].concat();
        for cut in 0..bytes.len() {
            let mut reader = MessageReader::default();
            reader.push(&bytes[..cut]);
            let mut got = Vec::new();
            while let Some(message) = reader.next_message::<pb::Event>().unwrap() {
                got.push(message);
            }
            reader.push(&bytes[cut..]);
            while let Some(message) = reader.next_message::<pb::Event>().unwrap() {
                got.push(message);
            }
            assert_eq!(got, vec![event.clone(), event.clone()], "cut at {cut}");
            assert_eq!(reader.buffered(), 0);
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_anything_is_buffered_for_it() {
        let mut reader = MessageReader::default();
        reader.push(&(MAX_MESSAGE_LEN as u32 + 1).to_be_bytes());
        assert!(matches!(reader.next_message::<pb::Event>(), Err(WireError::TooLong(_))));
        let mut stream: &[u8] = &(u32::MAX).to_be_bytes();
        assert!(matches!(read_blocking::<pb::Launch>(&mut stream), Err(WireError::TooLong(_))));
    }

    #[test]
    fn a_truncated_body_and_garbage_are_errors_and_a_clean_end_is_none() {
        let launch = pb::Launch { display: ":7".into(), ..Default::default() };
        let bytes = encode(&launch);
        let mut cut: &[u8] = &bytes[..bytes.len() - 1];
        assert!(matches!(read_blocking::<pb::Launch>(&mut cut), Err(WireError::Truncated)));
        let mut empty: &[u8] = &[];
        assert!(read_blocking::<pb::Launch>(&mut empty).unwrap().is_none());
        let mut garbage: &[u8] = &[0, 0, 0, 2, 0xff, 0xff];
        assert!(matches!(read_blocking::<pb::Launch>(&mut garbage), Err(WireError::Malformed(_))));
        let mut whole: &[u8] = &bytes;
        assert_eq!(read_blocking::<pb::Launch>(&mut whole).unwrap(), Some(launch));
    }
}
