//! Caps on open connections, per client network and in total, for every
//! listener that strangers can reach (the proxy's web port, the auth
//! service's API, the reverse tunnel, a desktop service's own listener).
//! The listener checks them as soon as a connection is accepted, before
//! TLS, so a client over its share costs one accept and one close. Every
//! open connection holds a file descriptor and a task, and one client
//! opening thousands of idle ones must not use up what everyone else needs.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::throttle::ClientNetwork;

/// How many connections a listener keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From one client network (an IPv4 address, an IPv6 /64).
    pub per_address: usize,
    /// From everyone.
    pub total: usize,
}

impl Default for ConnectionLimits {
    /// For the web port: 256 per address (a browser opens a handful; an
    /// office behind one NAT address, a few hundred) and 10000 in all.
    fn default() -> Self {
        Self { per_address: 256, total: 10_000 }
    }
}

impl ConnectionLimits {
    /// For the listeners hosts and tools dial (the auth service's API, the
    /// reverse tunnel, a desktop service's own): a host keeps a few
    /// connections each, so 2000 in all serves hundreds of hosts, and all
    /// of them together with the web port fit under a 20000 open-file limit.
    pub const SERVICES: Self = Self { per_address: 256, total: 2000 };
}

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Its client network has its share open.
    #[error("{network} has {limit} connections open already")]
    PerAddress {
        /// The client.
        network: ClientNetwork,
        /// Its share.
        limit: usize,
    },
    /// The listener has all it keeps open.
    #[error("{limit} connections are open already")]
    Total {
        /// The total cap.
        limit: usize,
    },
}

/// The open connections, counted.
#[derive(Debug)]
pub struct OpenConnections {
    limits: ConnectionLimits,
    counts: Mutex<Counts>,
    /// When a refusal was last logged (Unix seconds), so a flood logs once
    /// in a while, not once per connection.
    last_warning: AtomicU64,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_network: HashMap<ClientNetwork, usize>,
}

impl OpenConnections {
    /// Counts connections against `limits`.
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self { limits, counts: Mutex::default(), last_warning: AtomicU64::new(0) })
    }

    /// A place for a connection from `address`, held until the returned
    /// value is dropped, or why there is none.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Result<Admitted, Refused> {
        let network = ClientNetwork::of(address);
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.total >= self.limits.total {
            return Err(Refused::Total { limit: self.limits.total });
        }
        let open = counts.by_network.entry(network).or_default();
        if *open >= self.limits.per_address {
            return Err(Refused::PerAddress { network, limit: self.limits.per_address });
        }
        *open += 1;
        counts.total += 1;
        Ok(Admitted { connections: self.clone(), network })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).total
    }

    fn release(&self, network: ClientNetwork) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.total -= 1;
        if let Some(open) = counts.by_network.get_mut(&network) {
            *open -= 1;
            if *open == 0 {
                counts.by_network.remove(&network);
            }
        }
    }

    /// Logs a refusal: a warning at most every 10 s, so a flood does not
    /// fill the log, and the rest at debug level.
    pub fn log_refusal(&self, refused: &Refused) {
        if once_in_a_while(&self.last_warning) {
            tracing::warn!(reason = %refused, "refusing connections (logged at most every 10 s)");
        } else {
            tracing::debug!(reason = %refused, "connection refused");
        }
    }
}

/// True at most once every 10 seconds per `last` (Unix seconds of the last
/// `true`): for warnings that a flood would otherwise repeat.
pub fn once_in_a_while(last: &AtomicU64) -> bool {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let then = last.load(Ordering::Relaxed);
    now >= then + 10 && last.compare_exchange(then, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}

/// One connection's place, given back when dropped.
#[derive(Debug)]
pub struct Admitted {
    connections: Arc<OpenConnections>,
    network: ClientNetwork,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.connections.release(self.network);
    }
}

/// An accepted connection that holds its place while it is open.
#[derive(Debug)]
pub struct Counted<S> {
    stream: S,
    _admitted: Admitted,
}

impl<S> Counted<S> {
    /// `stream`, holding `admitted` until it is dropped.
    pub fn new(stream: S, admitted: Admitted) -> Self {
        Self { stream, _admitted: admitted }
    }

    /// The connection itself.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_network_has_its_share_and_all_have_the_total() {
        let open = OpenConnections::new(ConnectionLimits { per_address: 2, total: 3 });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let a6: IpAddr = "2001:db8::1".parse().unwrap();
        let a6_same_64: IpAddr = "2001:db8::2".parse().unwrap();
        let first = open.admit(a).unwrap();
        let _second = open.admit(a).unwrap();
        let refused = open.admit(a).unwrap_err();
        assert_eq!(refused.to_string(), "192.0.2.1 has 2 connections open already");
        let _third = open.admit(a6).unwrap();
        assert_eq!(open.admit(a6_same_64).unwrap_err().to_string(), "3 connections are open already");
        drop(first);
        assert_eq!(open.open(), 2);
        let _fourth = open.admit(a6_same_64).unwrap();
        assert!(matches!(open.admit(a6), Err(Refused::Total { limit: 3 })));
    }
}
