//! Logins with a password and a security key through the control plane,
//! next to the password + TOTP rows of `logins`: the same argon2id check
//! and web session, plus a WebAuthn challenge, its verification and the
//! sign counter saved by compare-and-swap. A software authenticator
//! (webauthn-authenticator-rs) answers; its signing is timed apart, so the
//! server's share is what the row shows.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::resources::auth_preference::AuthPreference;
use oriel_auth::store::Store;
use oriel_auth::webauthn::RelyingParty;
use oriel_backend::{FakeClock, Options, SqliteBackend};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const PASSWORD: &str = "benchmark password";
const ORIGIN: &str = "https://desktops.example.com";

/// `count` password + key logins one after another: a table row into
/// `rows`, and the note that goes under the table.
pub async fn run(rows: &mut String, count: usize) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let clock = Arc::new(FakeClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)));
    let backend = SqliteBackend::open(dir.path().join("oriel.db"), Options { clock: clock.clone(), ..Options::default() }).await?;
    let plane = ControlPlane::new(Store::new(Arc::new(backend)), clock.clone());
    let party = || RelyingParty::for_origin(&AuthPreference::default(), ORIGIN);
    let origin = url::Url::parse(ORIGIN)?;
    let address = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut key = SoftPasskey::new(true);

    let link = plane.add_user(&UserSpec { name: "bench-key".into(), ..Default::default() }).await?;
    let (ceremony, options) = plane.begin_invite_registration(&link.secret, party()?, address).await?;
    let answer = key.do_registration(origin.clone(), serde_json::from_value(options)?).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    plane.accept_invite_with_device(&link.secret, PASSWORD, &ceremony, "bench key", &serde_json::to_value(answer)?).await?;

    let (mut server, mut signing) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..count {
        let started = Instant::now();
        let (ceremony, options) = plane.begin_webauthn_login("bench-key", party()?, address).await?;
        let asked = Instant::now();
        let answer = key.do_authentication(origin.clone(), serde_json::from_value(options)?).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let answered = Instant::now();
        plane.finish_webauthn_login("bench-key", PASSWORD, &ceremony, &serde_json::to_value(answer)?, address).await?;
        server += (asked - started) + answered.elapsed();
        signing += answered - asked;
    }
    super::logins::row(rows, "password + security key, one after another (server's share)", count, server);
    Ok(format!("\nThe software key's signing took {:.1} ms per login besides, on the client's side.\n", signing.as_secs_f64() * 1000.0 / count as f64))
}
