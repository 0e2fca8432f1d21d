//! WebAuthn ceremonies in flight: each begun one waits (`crate::waiting`),
//! under a random id the browser sends back with its answer, until it is
//! answered (once) or expires.

use std::time::Duration;

use webauthn_rs::prelude::{DiscoverableAuthentication, PasskeyAuthentication, PasskeyRegistration};

use super::{RelyingParty, WebauthnError};
use crate::waiting::{Full, Waiting};

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

/// The open ceremonies.
pub(crate) type Ceremonies = Waiting<Ceremony>;

impl Default for Waiting<Ceremony> {
    fn default() -> Self {
        Waiting::new(CEREMONY_TTL, MAX_CEREMONIES, MAX_CEREMONIES_PER_NETWORK)
    }
}

impl From<Full> for WebauthnError {
    fn from(_: Full) -> Self {
        WebauthnError::Busy
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::SystemTime;

    use super::*;
    use crate::resources::auth_preference::AuthPreference;

    fn passwordless() -> Ceremony {
        let party = RelyingParty::for_origin(&AuthPreference::default(), "https://desktops.example.com").unwrap();
        let (_, state) = party.webauthn().unwrap().start_discoverable_authentication().unwrap();
        Ceremony::Passwordless { party, state }
    }

    #[test]
    fn ceremonies_last_five_minutes_sixteen_at_once_per_network() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let here = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let mut open = Ceremonies::default();
        let ids: Vec<String> = (0..MAX_CEREMONIES_PER_NETWORK).map(|_| open.open(passwordless(), here, start).unwrap()).collect();
        assert!(matches!(open.open(passwordless(), here, start).map_err(WebauthnError::from), Err(WebauthnError::Busy)));
        assert!(open.take(&ids[0], start + CEREMONY_TTL - Duration::from_secs(1)).is_some());
        assert!(open.take(&ids[1], start + CEREMONY_TTL).is_none(), "expired");
    }
}
