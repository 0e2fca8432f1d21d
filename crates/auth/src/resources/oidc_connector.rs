//! `kind: oidc`, Teleport's OIDC connector: an identity provider people log
//! in through (single sign-on), and how its claims become Oriel roles.
//!
//! ```yaml
//! kind: oidc
//! version: v3
//! metadata:
//!   name: corp
//! spec:
//!   display: Corp SSO
//!   issuer_url: https://idp.example.com
//!   client_id: oriel
//!   client_secret: s3cret
//!   redirect_url: https://oriel.example.com/api/sso/oidc/callback
//!   scope: [email, groups]
//!   username_claim: email
//!   claims_to_roles:
//!     - {claim: groups, value: admins, roles: [access, editor]}
//!     - {claim: groups, value: '^env-(.*)$', roles: ['$1-access']}
//! ```
//!
//! The secret is kept in the store and never shown: `get` writes a
//! placeholder in its place.

use crate::resources::sso_mapping::ClaimMapping;

/// An OIDC connector.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcConnector {
    /// `metadata.name`: the connector's name, in the login URL.
    pub name: String,
    /// `spec.display`: the login button's text; the name when unset.
    pub display: Option<String>,
    /// `spec.issuer_url`: the provider, discovered at
    /// `<issuer_url>/.well-known/openid-configuration`. HTTPS, except on
    /// a loopback address.
    pub issuer_url: String,
    /// `spec.client_id`.
    pub client_id: String,
    /// `spec.client_secret`.
    pub client_secret: String,
    /// `spec.redirect_url`: this proxy's `/api/sso/oidc/callback`, as the
    /// provider has it registered.
    pub redirect_url: String,
    /// `spec.scope`: scopes asked for besides `openid`.
    pub scope: Vec<String>,
    /// `spec.username_claim`: the claim that names the Oriel user
    /// (default `email`, as Teleport's).
    pub username_claim: String,
    /// `spec.claims_to_roles`: in order; every mapping that matches adds
    /// its roles.
    pub claims_to_roles: Vec<ClaimMapping>,
}

/// The secret stays out of logs.
impl std::fmt::Debug for OidcConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConnector")
            .field("name", &self.name)
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .field("scope", &self.scope)
            .field("username_claim", &self.username_claim)
            .field("claims_to_roles", &self.claims_to_roles)
            .finish_non_exhaustive()
    }
}

/// The default `username_claim`.
pub const DEFAULT_USERNAME_CLAIM: &str = "email";

impl OidcConnector {
    /// The login button's text.
    pub fn display_name(&self) -> &str {
        self.display.as_deref().unwrap_or(&self.name)
    }
}

/// Why an issuer URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IssuerError(String);

/// Checks `issuer_url`: an absolute `https` URL, or `http` on a loopback
/// address only (a provider on this host, as in tests); no query or
/// fragment (the discovery document is found below it).
pub fn check_issuer_url(issuer_url: &str) -> Result<(), IssuerError> {
    let url = secure_url(issuer_url, "an identity provider is reached over https").map_err(IssuerError)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(IssuerError(format!("{issuer_url:?} has a query or fragment; an issuer URL has neither")));
    }
    Ok(())
}

/// Why a redirect URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RedirectUrlError(String);

/// Checks `redirect_url`: an absolute `https` URL, or `http` on a loopback
/// address only, as for the issuer; no fragment (OAuth 2.0 forbids one in
/// a redirection endpoint).
pub fn check_redirect_url(redirect_url: &str) -> Result<(), RedirectUrlError> {
    let url = secure_url(redirect_url, "the provider sends people back over https").map_err(RedirectUrlError)?;
    if url.fragment().is_some() {
        return Err(RedirectUrlError(format!("{redirect_url:?} has a fragment; a redirect URL has none")));
    }
    Ok(())
}

/// `text` as an absolute URL that is `https`, or `http` on a loopback
/// address only (a provider or proxy on this host, as in tests); `why`
/// ends the refusal of plain http.
fn secure_url(text: &str, why: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!("{text:?} is plain http; {why} (http only on a loopback address)")),
        other => Err(format!("{text:?} has the scheme {other:?}; expected https")),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_loopback_http() {
        for good in ["https://idp.example.com", "https://idp.example.com/realms/x", "http://127.0.0.1:9080", "http://localhost:9080", "http://[::1]:9"] {
            assert!(check_issuer_url(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("http://idp.example.com", "plain http"),
            ("ftp://idp.example.com", "scheme \"ftp\""),
            ("idp.example.com", "not a URL"),
            ("https://idp.example.com/?a=b", "query or fragment"),
        ] {
            let error = check_issuer_url(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn redirect_urls_are_https_or_loopback_http_without_a_fragment() {
        for good in
            ["https://oriel.example.com/api/sso/oidc/callback", "https://oriel.example.com:3080/cb?x=1", "http://127.0.0.1:3080/cb", "http://localhost/cb"]
        {
            assert!(check_redirect_url(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("http://oriel.example.com/cb", "plain http"),
            ("oriel.example.com/cb", "not a URL"),
            ("javascript:alert(1)", "scheme \"javascript\""),
            ("https://oriel.example.com/cb#top", "fragment"),
        ] {
            let error = check_redirect_url(bad).unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }
}
