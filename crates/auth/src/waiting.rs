//! Exchanges that wait in the auth service's memory for the browser to
//! come back: WebAuthn ceremonies, single sign-on logins. Each waits under
//! a random id until it is answered (once) or expires, and the table is
//! bounded in total and per client network, so a flood from one source can
//! neither exhaust memory nor hold everyone else's logins off. Sans-IO: the
//! caller passes the time. A restart forgets them: the person starts again.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use crate::throttle::ClientNetwork;

/// The table is full, in total or for the asking network (or there is no
/// randomness for an id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

struct Entry<T> {
    item: T,
    expires: SystemTime,
    from: ClientNetwork,
}

/// Items waiting for their answer.
pub(crate) struct Waiting<T> {
    pending: HashMap<String, Entry<T>>,
    ttl: Duration,
    capacity: usize,
    per_network: usize,
}

/// Only how many: what waits is not for logs.
impl<T> std::fmt::Debug for Waiting<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiting").field("open", &self.pending.len()).finish()
    }
}

impl<T> Waiting<T> {
    /// A table whose items last `ttl`, at most `capacity` at once and
    /// `per_network` from one client network.
    pub(crate) fn new(ttl: Duration, capacity: usize, per_network: usize) -> Self {
        Self { pending: HashMap::new(), ttl, capacity, per_network }
    }

    /// Keeps `item`, asked for from `address`, until `now` + the TTL; its
    /// id (128 random bits, hex).
    pub(crate) fn open(&mut self, item: T, address: IpAddr, now: SystemTime) -> Result<String, Full> {
        let from = ClientNetwork::of(address);
        let open_from = |pending: &HashMap<String, Entry<T>>| pending.values().filter(|p| p.from == from && p.expires > now).count();
        if self.pending.len() >= self.capacity || open_from(&self.pending) >= self.per_network {
            self.pending.retain(|_, pending| pending.expires > now);
            if self.pending.len() >= self.capacity || open_from(&self.pending) >= self.per_network {
                return Err(Full);
            }
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| Full)?;
        let id = hex::encode(bytes);
        self.pending.insert(id.clone(), Entry { item, expires: now + self.ttl, from });
        Ok(id)
    }

    /// The item `id`, taken out: it answers once. `None` when unknown or
    /// expired.
    pub(crate) fn take(&mut self, id: &str, now: SystemTime) -> Option<T> {
        self.pending.remove(id).filter(|pending| pending.expires > now).map(|pending| pending.item)
    }

    /// How many are open (expired ones included until the next sweep).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const TTL: Duration = Duration::from_secs(300);
    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    #[test]
    fn an_item_answers_once_and_not_after_it_expires() {
        let mut open = Waiting::new(TTL, 100, 16);
        let id = open.open(1, HERE, start()).unwrap();
        assert_eq!(id.len(), 32);
        assert!(open.take("not-an-id", start()).is_none());
        assert_eq!(open.take(&id, start() + Duration::from_secs(10)), Some(1));
        assert!(open.take(&id, start() + Duration::from_secs(11)).is_none(), "answered already");
        let late = open.open(2, HERE, start()).unwrap();
        assert!(open.take(&late, start() + TTL).is_none(), "expired");
    }

    #[test]
    fn one_network_cannot_hold_everyones_items() {
        let mut open = Waiting::new(TTL, 100, 16);
        for n in 0..16 {
            open.open(n, HERE, start()).unwrap();
        }
        assert_eq!(open.open(16, HERE, start()), Err(Full));
        let elsewhere = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
        open.open(17, elsewhere, start()).unwrap();
        open.open(18, HERE, start() + TTL).unwrap();
    }

    #[test]
    fn a_flood_is_bounded_and_expired_items_make_room() {
        let mut open = Waiting::new(TTL, 3, 16);
        for n in 0..3 {
            open.open(n, IpAddr::V4(Ipv4Addr::new(203, 0, 113, n as u8)), start()).unwrap();
        }
        assert_eq!(open.open(9, HERE, start()), Err(Full));
        open.open(9, HERE, start() + TTL + Duration::from_secs(1)).unwrap();
        assert_eq!(open.len(), 1, "the expired ones were swept");
    }
}
