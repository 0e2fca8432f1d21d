//! A software security key (webauthn-authenticator-rs's SoftPasskey)
//! answering the way a browser passes a key's answers on, for the tests of
//! logins and per-session MFA.

use std::net::{IpAddr, Ipv4Addr};

use oriel_auth::control_plane::{ControlPlane, UserSpec};
use oriel_auth::resources::auth_preference::AuthPreference;
use oriel_auth::webauthn::RelyingParty;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

pub const ADDR: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
pub const PASSWORD: &str = "correct horse battery staple";
pub const ORIGIN: &str = "https://desktops.example.com:3080";

pub fn party(origin: &str) -> RelyingParty {
    RelyingParty::for_origin(&AuthPreference::default(), origin).unwrap()
}

/// A key's answer to registration `options`, as the browser passes it on.
pub fn register(key: &mut SoftPasskey, origin: &str, options: serde_json::Value) -> serde_json::Value {
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    serde_json::to_value(key.do_registration(Url::parse(origin).unwrap(), options).unwrap()).unwrap()
}

/// A key's answer to login `options`.
pub fn assert_with(key: &mut SoftPasskey, origin: &str, options: serde_json::Value) -> serde_json::Value {
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    serde_json::to_value(key.do_authentication(Url::parse(origin).unwrap(), options).unwrap()).unwrap()
}

/// A good answer with its signature changed.
pub fn forged(mut answer: serde_json::Value) -> serde_json::Value {
    let signature = answer["response"]["signature"].as_str().unwrap().to_owned();
    // Another first character: other signature bytes, still base64url.
    let (first, rest) = signature.split_at(1);
    answer["response"]["signature"] = format!("{}{rest}", if first == "A" { "B" } else { "A" }).into();
    answer
}

/// The user `spec`, invited and enrolled with `key` instead of TOTP: the
/// invite's secret, and the secret of the web session it logged them into.
pub async fn enrol(plane: &ControlPlane, key: &mut SoftPasskey, spec: &UserSpec) -> (String, String) {
    let link = plane.add_user(spec).await.unwrap();
    let (ceremony, options) = plane.begin_invite_registration(&link.secret, party(ORIGIN), ADDR).await.unwrap();
    let answer = register(key, ORIGIN, options);
    let cookie = plane.accept_invite_with_device(&link.secret, PASSWORD, &ceremony, "YubiKey", &answer).await.unwrap();
    assert_eq!(plane.session_user(&cookie.secret).await.unwrap().user.name.as_str(), spec.name);
    (link.secret, cookie.secret)
}
