//! The root channel: the unprivileged part of a session process asks its
//! root part for what needs root, one `RootRequest` per packet on a
//! SOCK_SEQPACKET pair; a `RootReply` may carry one file descriptor
//! (SCM_RIGHTS). Blocking, and used from one thread at a time.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};

use prost::Message;
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

/// The first byte of every packet.
const VERSION: u8 = 1;
/// The largest packet either side sends.
const MAX_PACKET: usize = 64 * 1024;

/// One end of the root channel.
#[derive(Debug)]
pub struct RootChannel {
    socket: OwnedFd,
}

impl RootChannel {
    /// Both ends, close-on-exec: neither Xvfb nor the xsession inherits one.
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = rustix::net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?;
        Ok((Self { socket: a }, Self { socket: b }))
    }
}

impl AsFd for RootChannel {
    /// The socket, to wait on it.
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl RootChannel {
    /// Sends `message`, with `fd` attached when given.
    pub fn send<M: Message>(&self, message: &M, fd: Option<std::os::fd::BorrowedFd<'_>>) -> io::Result<()> {
        // A leading version byte: an empty message must not read as the end.
        let mut body = vec![VERSION];
        message.encode(&mut body).map_err(io::Error::other)?;
        if body.len() > MAX_PACKET {
            return Err(io::Error::other("root channel message over 64 KiB"));
        }
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        let fds;
        if let Some(fd) = fd {
            fds = [fd];
            control.push(SendAncillaryMessage::ScmRights(&fds));
        }
        rustix::net::sendmsg(&self.socket, &[IoSlice::new(&body)], &mut control, SendFlags::NOSIGNAL)?;
        Ok(())
    }

    /// The next message and the descriptor that came with it; `None` when
    /// the other end is gone.
    pub fn receive<M: Message + Default>(&self) -> io::Result<Option<(M, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; MAX_PACKET];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let received = loop {
            match rustix::net::recvmsg(&self.socket, &mut [IoSliceMut::new(&mut buf)], &mut control, RecvFlags::CMSG_CLOEXEC) {
                Ok(received) => break received,
                Err(rustix::io::Errno::INTR) => continue,
                Err(error) => return Err(error.into()),
            }
        };
        let mut fd = None;
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = message {
                // Only the first is kept; any other is closed as it drops.
                for received_fd in fds {
                    fd.get_or_insert(received_fd);
                }
            }
        }
        if received.bytes == 0 {
            return Ok(None);
        }
        if buf[0] != VERSION {
            return Err(io::Error::other(format!("root channel message of unknown version {}", buf[0])));
        }
        let message = M::decode(&buf[1..received.bytes]).map_err(io::Error::other)?;
        Ok(Some((message, fd)))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Seek, Write};

    use super::*;
    use crate::session_process::pb;

    #[test]
    fn a_reply_carries_a_working_file_descriptor() {
        let (a, b) = RootChannel::pair().unwrap();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"hello").unwrap();
        let reply = pb::RootReply { target: "/run/oriel/shares/x".into(), ..Default::default() };
        a.send(&reply, Some(file.as_fd())).unwrap();
        let (got, fd) = b.receive::<pb::RootReply>().unwrap().unwrap();
        assert_eq!(got, reply);
        let mut passed = std::fs::File::from(fd.expect("a descriptor"));
        passed.rewind().unwrap();
        let mut text = String::new();
        passed.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
    }

    #[test]
    fn the_other_end_closing_reads_as_none() {
        let (a, b) = RootChannel::pair().unwrap();
        a.send(&pb::RootRequest { request: Some(pb::root_request::Request::Mount(pb::Mount { name: "docs".into() })) }, None).unwrap();
        a.send(&pb::RootReply::default(), None).unwrap();
        drop(a);
        assert!(b.receive::<pb::RootRequest>().unwrap().is_some());
        assert_eq!(b.receive::<pb::RootReply>().unwrap().unwrap().0, pb::RootReply::default());
        assert!(b.receive::<pb::RootRequest>().unwrap().is_none());
    }
}
