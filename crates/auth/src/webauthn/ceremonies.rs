//! WebAuthn ceremonies in flight: each begun one waits here, under a random
//! id the browser sends back with its answer, until it is answered (once)
//! or expires. Sans-IO: the caller passes the time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use webauthn_rs::prelude::{DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration};

use super::{RelyingParty, WebauthnError};
use crate::throttle::ClientNetwork;

/// How long a person has to touch their key (Teleport gives five minutes).
pub const CEREMONY_TTL: Duration = Duration::from_secs(300);

/// Ceremonies open at once, at most: beyond, new ones are refused until
/// some end or expire, so a flood of challenges cannot exhaust memory.
pub const MAX_CEREMONIES: usize = 10_000;

/// Ceremonies open at once from one client network (`ClientNetwork`), at
/// most: one source cannot fill the table and hold everyone's keys off.
pub const MAX_CEREMONIES_PER_NETWORK: usize = 16;

/// What was begun, and for whom.
pub(crate) enum Ceremony {
    /// A logged-in user adds a device.
    Register { user: String, party: RelyingParty, state: PasskeyRegistration },
    /// An invited user enrols a device (the invite by its hash).
    Enrol { invite_hash: String, party: RelyingParty, state: PasskeyRegistration },
    /// A password and security key login of `user`. No state for a user
    /// without devices (or no such user): a decoy challenge, so the answer
    /// to "begin" does not tell who has keys; it never verifies.
    Login { user: String, party: RelyingParty, state: Option<PasskeyAuthentication> },
    /// A logged-in `user`'s per-session MFA check.
    SessionMfa { user: String, party: RelyingParty, state: PasskeyAuthentication },
    /// A passwordless login: whoever's passkey answers.
    Passwordless { party: RelyingParty, state: DiscoverableAuthentication },
}

struct Pending {
    ceremony: Ceremony,
    expires: SystemTime,
    from: ClientNetwork,
}

/// The open ceremonies.
pub(crate) struct Ceremonies {
    pending: HashMap<String, Pending>,
    capacity: usize,
}

/// Only how many: a ceremony's state is not for logs.
impl std::fmt::Debug for Ceremonies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ceremonies").field("open", &self.pending.len()).finish()
    }
}

impl Default for Ceremonies {
    fn default() -> Self {
        Self { pending: HashMap::new(), capacity: MAX_CEREMONIES }
    }
}

impl Ceremonies {
    /// Keeps `ceremony`, begun from `address`, until `now` +
    /// [`CEREMONY_TTL`]; returns its id.
    pub(crate) fn open(&mut self, ceremony: Ceremony, address: IpAddr, now: SystemTime) -> Result<String, WebauthnError> {
        let from = ClientNetwork::of(address);
        let open_from = |pending: &HashMap<String, Pending>| pending.values().filter(|p| p.from == from && p.expires > now).count();
        if self.pending.len() >= self.capacity || open_from(&self.pending) >= MAX_CEREMONIES_PER_NETWORK {
            self.pending.retain(|_, pending| pending.expires > now);
            if self.pending.len() >= self.capacity || open_from(&self.pending) >= MAX_CEREMONIES_PER_NETWORK {
                return Err(WebauthnError::Busy);
            }
        }
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| WebauthnError::Busy)?;
        let id = hex::encode(bytes);
        self.pending.insert(id.clone(), Pending { ceremony, expires: now + CEREMONY_TTL, from });
        Ok(id)
    }

    /// The ceremony `id`, taken out: it answers once. `None` when unknown
    /// or expired.
    pub(crate) fn take(&mut self, id: &str, now: SystemTime) -> Option<Ceremony> {
        self.pending.remove(id).filter(|pending| pending.expires > now).map(|pending| pending.ceremony)
    }

    /// How many are open (expired ones included until the next sweep).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    use crate::resources::auth_preference::AuthPreference;

    fn passwordless() -> Ceremony {
        let party = RelyingParty::for_origin(&AuthPreference::default(), "https://desktops.example.com").unwrap();
        let (_, state) = party.webauthn().unwrap().start_discoverable_authentication().unwrap();
        Ceremony::Passwordless { party, state }
    }

    #[test]
    fn a_ceremony_answers_once_and_not_after_it_expires() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut open = Ceremonies::default();
        let id = open.open(passwordless(), HERE, start).unwrap();
        assert!(open.take("not-an-id", start).is_none());
        assert!(open.take(&id, start + Duration::from_secs(10)).is_some());
        assert!(open.take(&id, start + Duration::from_secs(11)).is_none(), "answered already");
        let late = open.open(passwordless(), HERE, start).unwrap();
        assert!(open.take(&late, start + CEREMONY_TTL).is_none(), "expired");
    }

    const HERE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn one_network_cannot_hold_everyones_ceremonies() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut open = Ceremonies::default();
        for _ in 0..MAX_CEREMONIES_PER_NETWORK {
            open.open(passwordless(), HERE, start).unwrap();
        }
        assert!(matches!(open.open(passwordless(), HERE, start), Err(WebauthnError::Busy)));
        let elsewhere = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
        open.open(passwordless(), elsewhere, start).unwrap();
        let later = start + CEREMONY_TTL;
        open.open(passwordless(), HERE, later).unwrap();
    }

    #[test]
    fn a_flood_is_bounded_and_expired_ceremonies_make_room() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut open = Ceremonies { capacity: 3, ..Ceremonies::default() };
        for n in 0..3 {
            open.open(passwordless(), IpAddr::V4(Ipv4Addr::new(203, 0, 113, n)), start).unwrap();
        }
        assert!(matches!(open.open(passwordless(), HERE, start), Err(WebauthnError::Busy)));
        let later = start + CEREMONY_TTL + Duration::from_secs(1);
        open.open(passwordless(), HERE, later).unwrap();
        assert_eq!(open.len(), 1, "the expired ones were swept");
    }
}
