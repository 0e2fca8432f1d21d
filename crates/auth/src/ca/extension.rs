//! The Oriel identity extension: what a certificate is for (user or host)
//! and the claims X.509 has no field for (roles, traits, host role).
//!
//! Encoding: a non-critical extension whose value is one DER `UTF8String`
//! holding compact JSON, e.g.
//! `{"v":1,"kind":"user","roles":["access"],"traits":{"linux_logins":["alice"]},"user_id":"…","web_session":"…"}`
//! (`user_id` and `web_session` are absent from certificates made before
//! they existed; version 1 reads both shapes). A certificate issued after a
//! per-session MFA check adds `session_mfa` (see `SessionMfaScope`).
//! JSON rather than an ASN.1 schema because roles and traits are a map of
//! lists that only Oriel reads, JSON is already this crate's storage
//! format, and a versioned JSON object grows without a new OID. Wrapping it
//! in a `UTF8String` keeps the extension value valid DER, so `openssl x509
//! -text` and other parsers show it instead of failing.
//!
//! The OID `1.3.9999.7431.1` sits under `1.3.9999`, an arc nobody assigns
//! (Teleport uses `1.3.9999.1.*` and `1.3.9999.2.*` for the same purpose).
//! A collision cannot mislead Oriel: the extension is only read from
//! certificates whose signature by this cluster's CA was verified first.
//! It is non-critical because nothing but Oriel needs to understand it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::FromDer;

use super::identity::HostRole;

/// The extension's OID, as rcgen takes it.
pub const IDENTITY_OID: &[u64] = &[1, 3, 9999, 7431, 1];

/// The current payload version; other versions are refused.
const VERSION: u32 = 1;

/// What the extension says, by kind of certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Claims {
    /// A user certificate.
    User {
        roles: Vec<String>,
        #[serde(default)]
        traits: BTreeMap<String, Vec<String>>,
        /// The user record's id (`User::id`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<String>,
        /// The web session it was issued with.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        web_session: Option<String>,
        /// The session a per-session MFA check allows it to start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_mfa: Option<MfaClaim>,
    },
    /// A host certificate.
    Host { role: HostRole },
}

/// `session_mfa` in the extension: `{"kind":"linux","desktop":…,"login":…,"start_by":<unix seconds>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MfaClaim {
    pub kind: String,
    pub desktop: String,
    pub login: String,
    pub start_by: u64,
}

impl Claims {
    /// `user` or `host`, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "user",
            Self::Host { .. } => "host",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Payload {
    v: u32,
    #[serde(flatten)]
    claims: Claims,
}

/// The extension for rcgen.
pub(crate) fn encode(claims: &Claims) -> rcgen::CustomExtension {
    let json = serde_json::to_vec(&Payload { v: VERSION, claims: claims.clone() }).expect("claims always serialize");
    rcgen::CustomExtension::from_oid_content(IDENTITY_OID, der_utf8_string(&json))
}

/// The claims of `cert`: `Ok(None)` when it has no identity extension.
pub(crate) fn decode(cert: &X509Certificate<'_>) -> Result<Option<Claims>, String> {
    let oid = Oid::from(IDENTITY_OID).expect("a valid OID");
    let Some(extension) = cert.get_extension_unique(&oid).map_err(|e| format!("identity extension: {e}"))? else {
        return Ok(None);
    };
    let (rest, text) = String::from_der(extension.value).map_err(|e| format!("identity extension is not a UTF8String: {e}"))?;
    if !rest.is_empty() {
        return Err("identity extension has trailing bytes".into());
    }
    let payload: Payload = serde_json::from_str(&text).map_err(|e| format!("identity extension: {e}"))?;
    if payload.v != VERSION {
        return Err(format!("identity extension version {} is not supported", payload.v));
    }
    Ok(Some(payload.claims))
}

/// DER `UTF8String` (tag 12) with a definite length.
fn der_utf8_string(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0c];
    let len = bytes.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (be.len() - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
    out.extend_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_string_lengths_round_trip_through_a_der_parser() {
        for len in [0, 1, 127, 128, 255, 256, 65_535, 65_536] {
            let text = "x".repeat(len);
            let der = der_utf8_string(text.as_bytes());
            let (rest, parsed) = String::from_der(&der).unwrap();
            assert!(rest.is_empty());
            assert_eq!(parsed, text, "length {len}");
        }
        // Short form, then long forms with one and two length bytes.
        assert_eq!(der_utf8_string(b"ab"), [0x0c, 2, b'a', b'b']);
        assert_eq!(&der_utf8_string(&[b'a'; 200])[..3], [0x0c, 0x81, 200]);
        assert_eq!(&der_utf8_string(&[b'a'; 300])[..4], [0x0c, 0x82, 0x01, 0x2c]);
    }
}
