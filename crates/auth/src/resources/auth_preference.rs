//! `kind: cluster_auth_preference`, Teleport's authentication preference:
//! how people log in (`type`), which second factor they need
//! (`second_factor`), the WebAuthn relying party (`webauthn.rp_id`),
//! passwordless logins (`allow_passwordless`) and per-session MFA for the
//! whole cluster (`require_session_mfa`). One per cluster; its defaults
//! apply until it is set.
//!
//! `type: oidc` makes single sign-on the cluster's way in: the login page
//! offers `connector_name` first, and `allow_local_auth: false` turns
//! password logins (and invites) off, as Teleport's do.
//!
//! Only what this version can enforce is accepted: a preference that names
//! a login method Oriel does not have (`github`, `saml`) is refused when it
//! is written, never stored and ignored. A second factor is never off:
//! `off` is refused, as Teleport now does.

use std::fmt;
use std::str::FromStr;

/// `spec.type`: where users are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthType {
    /// `local`: Oriel's own users, password and second factor.
    #[default]
    Local,
    /// `oidc`: people log in through an OIDC connector.
    Oidc,
}

/// `spec.second_factor`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecondFactor {
    /// `otp`: a TOTP code only.
    Otp,
    /// `webauthn`: a security key or passkey only.
    Webauthn,
    /// `on`: any second factor the user has.
    #[default]
    On,
    /// `optional`: the second factor the user has, if any. Every Oriel user
    /// enrols one with the invite, so it is asked like `on`.
    Optional,
}

impl SecondFactor {
    /// As written in the resource.
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Otp => "otp",
            SecondFactor::Webauthn => "webauthn",
            SecondFactor::On => "on",
            SecondFactor::Optional => "optional",
        }
    }
}

impl SecondFactor {
    /// Whether a TOTP code may be the second factor.
    pub fn allows_totp(self) -> bool {
        self != SecondFactor::Webauthn
    }

    /// Whether a security key or passkey may be the second factor.
    pub fn allows_webauthn(self) -> bool {
        self != SecondFactor::Otp
    }
}

impl fmt::Display for SecondFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `second_factor` or `type` is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnsupportedPreference(String);

impl FromStr for SecondFactor {
    type Err = UnsupportedPreference;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "otp" => Ok(SecondFactor::Otp),
            "on" => Ok(SecondFactor::On),
            "optional" => Ok(SecondFactor::Optional),
            "webauthn" => Ok(SecondFactor::Webauthn),
            "off" => Err(UnsupportedPreference("second_factor off is refused: every login needs a second factor".into())),
            "u2f" => Err(UnsupportedPreference("second_factor u2f is WebAuthn's predecessor; use webauthn".into())),
            other => Err(UnsupportedPreference(format!("unknown second_factor {other:?}; one of otp, webauthn, on, optional"))),
        }
    }
}

impl AuthType {
    /// As written in the resource.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Local => "local",
            AuthType::Oidc => "oidc",
        }
    }
}

impl FromStr for AuthType {
    type Err = UnsupportedPreference;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(AuthType::Local),
            "oidc" => Ok(AuthType::Oidc),
            "github" | "saml" => {
                Err(UnsupportedPreference(format!("type {s} needs {s} connectors, which this version of Oriel does not have; use local or oidc")))
            }
            other => Err(UnsupportedPreference(format!("unknown type {other:?}; local or oidc"))),
        }
    }
}

/// `kind: cluster_auth_preference`, the part Oriel uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPreference {
    /// `spec.type` (default `local`).
    pub auth_type: AuthType,
    /// `spec.second_factor` (default `on`).
    pub second_factor: SecondFactor,
    /// `spec.webauthn.rp_id`; unset means the host name people reach the
    /// proxy at ([`AuthPreference::rp_id`]).
    pub webauthn_rp_id: Option<String>,
    /// `spec.allow_passwordless` (default true, as Teleport's).
    pub allow_passwordless: bool,
    /// `spec.require_session_mfa` (default false): every desktop session
    /// needs a fresh second factor, whatever the roles say.
    pub require_session_mfa: bool,
    /// `spec.connector_name`: with `type: oidc`, the connector the login
    /// page offers first.
    pub connector_name: Option<String>,
    /// `spec.allow_local_auth` (default true): whether Oriel's own users may
    /// log in with a password. Off only with `type: oidc`.
    pub allow_local_auth: bool,
}

impl Default for AuthPreference {
    fn default() -> Self {
        Self {
            auth_type: AuthType::Local,
            second_factor: SecondFactor::On,
            webauthn_rp_id: None,
            allow_passwordless: true,
            require_session_mfa: false,
            connector_name: None,
            allow_local_auth: true,
        }
    }
}

impl AuthPreference {
    /// The WebAuthn relying party: the one set, else the host of `public_addr`
    /// (`host:port`, or a bracketed IPv6 address), the name browsers see.
    pub fn rp_id(&self, public_addr: &str) -> String {
        if let Some(rp_id) = &self.webauthn_rp_id {
            return rp_id.clone();
        }
        match public_addr.strip_prefix('[').and_then(|rest| rest.split_once(']')) {
            Some((v6, _)) => v6.to_owned(),
            None => public_addr.rsplit_once(':').map_or(public_addr, |(host, _)| host).to_owned(),
        }
    }
}

/// A relying party id must be a host name: lower-case letters, digits,
/// dots and hyphens (browsers compare it with the page's host).
pub fn check_rp_id(rp_id: &str) -> Result<(), UnsupportedPreference> {
    let valid = !rp_id.is_empty()
        && rp_id.len() <= 253
        && rp_id
            .split('.')
            .all(|label| !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    match valid {
        true => Ok(()),
        false => Err(UnsupportedPreference(format!("webauthn.rp_id {rp_id:?} is not a host name (lower-case letters, digits, dots and hyphens)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_can_be_enforced_is_taken() {
        for (raw, taken) in [
            ("otp", Some(SecondFactor::Otp)),
            ("on", Some(SecondFactor::On)),
            ("optional", Some(SecondFactor::Optional)),
            ("off", None),
            ("webauthn", Some(SecondFactor::Webauthn)),
            ("u2f", None),
            ("ON", None),
        ] {
            assert_eq!(raw.parse::<SecondFactor>().ok(), taken, "{raw}");
        }
        assert!("off".parse::<SecondFactor>().unwrap_err().to_string().contains("every login needs a second factor"));
        assert_eq!("local".parse::<AuthType>(), Ok(AuthType::Local));
        assert_eq!("oidc".parse::<AuthType>(), Ok(AuthType::Oidc));
        assert!("saml".parse::<AuthType>().unwrap_err().to_string().contains("use local or oidc"));
    }

    #[test]
    fn the_relying_party_defaults_to_the_public_host() {
        let preference = AuthPreference::default();
        assert_eq!(preference.rp_id("desktops.example.com:443"), "desktops.example.com");
        assert_eq!(preference.rp_id("[::1]:3080"), "::1");
        assert_eq!(preference.rp_id("localhost"), "localhost");
        let set = AuthPreference { webauthn_rp_id: Some("example.com".into()), ..AuthPreference::default() };
        assert_eq!(set.rp_id("desktops.example.com:443"), "example.com");
        assert!(check_rp_id("example.com").is_ok());
        for bad in ["", "Example.com", "a..b", "https://example.com", "ex ample"] {
            assert!(check_rp_id(bad).is_err(), "{bad:?}");
        }
    }
}
