//! The relying party a page is served as: its id (the cluster's
//! `webauthn.rp_id`, else the page's host) and its exact origin. A
//! ceremony keeps the one it began with, so its answer must come from the
//! same origin.

use webauthn_rs::prelude::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use super::WebauthnError;
use crate::resources::auth_preference::AuthPreference;

/// The name authenticators show.
const RP_NAME: &str = "Oriel";

/// A relying party: id and origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    id: String,
    origin: Url,
}

impl RelyingParty {
    /// The relying party of a page at `origin` (`https://host[:port]`,
    /// as the browser shows it) under `preference`.
    pub fn for_origin(preference: &AuthPreference, origin: &str) -> Result<Self, WebauthnError> {
        let url = Url::parse(origin).map_err(|_| WebauthnError::Origin(origin.to_owned()))?;
        let host = url.host_str().ok_or_else(|| WebauthnError::Origin(origin.to_owned()))?;
        // WebAuthn needs a secure context: HTTPS (a page on localhost aside).
        if url.scheme() != "https" || url.path() != "/" || url.query().is_some() {
            return Err(WebauthnError::Origin(origin.to_owned()));
        }
        let id = preference.rp_id(host);
        let party = Self { id, origin: url };
        party.webauthn()?;
        Ok(party)
    }

    /// The relying party id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The ceremony verifier for this relying party. Fails when the origin
    /// is not the id or below it.
    pub(crate) fn webauthn(&self) -> Result<Webauthn, WebauthnError> {
        WebauthnBuilder::new(&self.id, &self.origin)
            .and_then(|builder| builder.rp_name(RP_NAME).build())
            .map_err(|_| WebauthnError::Origin(format!("{} (relying party {:?})", self.origin.as_str().trim_end_matches('/'), self.id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_party_is_the_pages_host_unless_the_cluster_names_one() {
        let preference = AuthPreference::default();
        let party = RelyingParty::for_origin(&preference, "https://desktops.example.com:3080").unwrap();
        assert_eq!(party.id(), "desktops.example.com");
        let named = AuthPreference { webauthn_rp_id: Some("example.com".into()), ..AuthPreference::default() };
        assert_eq!(RelyingParty::for_origin(&named, "https://desktops.example.com").unwrap().id(), "example.com");
        // A page outside the named party, plain HTTP, or not an origin: no party.
        for origin in ["https://evil.test", "http://desktops.example.com", "https://example.com/web", "desktops"] {
            assert!(matches!(RelyingParty::for_origin(&named, origin), Err(WebauthnError::Origin(_))), "{origin}");
        }
    }
}
