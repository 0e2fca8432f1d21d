//! The OIDC authorization code flow, as a relying party, through the
//! `openidconnect` crate (discovery, PKCE, the ID token's signature,
//! issuer, audience, expiry and nonce are its checks).
//!
//! Begin: the provider is discovered from the connector's `issuer_url`, a
//! login waits under a random `state` with its nonce, PKCE verifier and
//! the hash of a binding secret, and the browser is sent to the provider
//! with the binding secret in a cookie. Finish: the `state` must be open
//! and the cookie's secret must match (a callback link someone else made
//! logs nobody in); the code is traded, with the PKCE verifier, for tokens
//! whose ID token must verify with the nonce. Then the claims become a user
//! (`user.rs`) and a web session.

use std::collections::BTreeMap;
use std::net::IpAddr;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenClaims, IdTokenFields, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse as _,
};
use serde::{Deserialize, Serialize};

use super::{MAX_SSO_LOGINS, MAX_SSO_LOGINS_PER_NETWORK, SSO_LOGIN_TTL, SsoError};
use crate::audit::{AuditEvent, EventType};
use crate::bearer::BearerSecret;
use crate::control_plane::ControlPlane;
use crate::login::{LoginError, SessionCookie};
use crate::resources::auth_preference::AuthType;
use crate::resources::oidc_connector::OidcConnector;
use crate::waiting::Waiting;

/// The claims beyond the standard ones: every one, as the provider sent it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OtherClaims(serde_json::Map<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

type Fields = IdTokenFields<OtherClaims, EmptyExtraTokenFields, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
/// A client as discovery makes it: the authorization endpoint set, the
/// token and userinfo endpoints as the provider's metadata says.
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A login at the provider, waiting for the browser to come back.
pub(crate) struct PendingLogin {
    connector: String,
    nonce: String,
    pkce_verifier: String,
    /// SHA-256 of the secret in the browser's cookie.
    binding_hash: String,
}

/// The logins in progress.
pub(crate) type PendingLogins = Waiting<PendingLogin>;

impl Default for Waiting<PendingLogin> {
    fn default() -> Self {
        Waiting::new(SSO_LOGIN_TTL, MAX_SSO_LOGINS, MAX_SSO_LOGINS_PER_NETWORK)
    }
}

/// Where to send the browser, and the secret its cookie must keep until it
/// comes back.
#[derive(Debug)]
pub struct SsoRedirect {
    /// The provider's authorization URL.
    pub url: String,
    /// The binding secret for the browser's cookie.
    pub binding: String,
}

/// A connector as the login page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConnector {
    /// `oidc`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
    /// The button's text.
    pub display: String,
}

impl ControlPlane {
    /// The connectors people may log in through; with `type: oidc`, the
    /// preference's `connector_name` first.
    pub async fn sso_connectors(&self) -> Result<Vec<SsoConnector>, SsoError> {
        let preference = self.store.auth_preference().await?;
        let mut connectors: Vec<SsoConnector> = self
            .store
            .oidc_connectors()
            .await?
            .iter()
            .map(|c| SsoConnector { kind: "oidc", name: c.name.clone(), display: c.display_name().to_owned() })
            .collect();
        if preference.auth_type == AuthType::Oidc
            && let Some(default) = &preference.connector_name
        {
            // Stable: the others keep their order.
            connectors.sort_by_key(|c| c.name != *default);
        }
        Ok(connectors)
    }

    /// Begins a login through the connector `name`, asked from `address`.
    pub async fn begin_oidc_login(&self, name: &str, address: IpAddr) -> Result<SsoRedirect, SsoError> {
        let connector = self.oidc_connector(name).await?;
        let client = discover(&connector).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let binding = BearerSecret::generate().map_err(|_| SsoError::Busy)?;
        let nonce = Nonce::new_random();
        let pending = PendingLogin {
            connector: connector.name.clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            binding_hash: binding.hash,
        };
        let state = self.sso_logins.lock().unwrap_or_else(|p| p.into_inner()).open(pending, address, self.clock.now()).map_err(|_| SsoError::Busy)?;
        let mut request = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, move || CsrfToken::new(state), move || nonce);
        for scope in &connector.scope {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.set_pkce_challenge(challenge).url();
        Ok(SsoRedirect { url: url.into(), binding: binding.plain })
    }

    /// Finishes the login `state` with the provider's `code`, for the
    /// browser whose cookie holds `binding`, from `address`: a web session.
    /// Every outcome is a `user.login` event (method `oidc`).
    pub async fn finish_oidc_login(&self, state: &str, code: &str, binding: Option<&str>, address: IpAddr) -> Result<SessionCookie, SsoError> {
        let pending = self.sso_logins.lock().unwrap_or_else(|p| p.into_inner()).take(state, self.clock.now());
        // Taken either way: a state answers once, even from the wrong browser.
        let Some(pending) = pending.filter(|p| binding.is_some_and(|b| crate::bearer::hash(b) == p.binding_hash)) else {
            self.record_sso_login("", "", address, Err(&SsoError::UnknownLogin)).await;
            return Err(SsoError::UnknownLogin);
        };
        let (user, outcome) = self.complete_oidc_login(&pending, code).await;
        self.record_sso_login(user.as_deref().unwrap_or_default(), &pending.connector, address, outcome.as_ref().map(drop)).await;
        outcome
    }

    /// Ends a login the provider refused (`error` in the callback).
    pub async fn refused_oidc_login(&self, state: &str, error: &str, address: IpAddr) -> SsoError {
        let pending = self.sso_logins.lock().unwrap_or_else(|p| p.into_inner()).take(state, self.clock.now());
        let refusal = SsoError::Denied(error.chars().filter(|c| !c.is_control()).take(200).collect());
        let connector = pending.map(|p| p.connector).unwrap_or_default();
        self.record_sso_login("", &connector, address, Err(&refusal)).await;
        refusal
    }

    /// The login's web session, and the user name the provider's claims
    /// gave, once known (for the event, refused or not).
    async fn complete_oidc_login(&self, pending: &PendingLogin, code: &str) -> (Option<String>, Result<SessionCookie, SsoError>) {
        let identity = match self.verified_identity(pending, code).await {
            Ok(identity) => identity,
            Err(e) => return (None, Err(e)),
        };
        let (connector, subject, claims) = identity;
        let claimed = claims.get(&connector.username_claim).and_then(|values| values.first()).cloned();
        let session = async {
            let user = self.sso_user(&connector, &subject, &claims).await?;
            let ca = self.cert_authority().await.map_err(LoginError::Certificate)?;
            Ok(self.start_web_session(&ca, &user).await?)
        };
        (claimed, session.await)
    }

    /// The connector, the person's subject and their claims, from the
    /// provider's verified ID token for `code`.
    async fn verified_identity(&self, pending: &PendingLogin, code: &str) -> Result<(OidcConnector, String, BTreeMap<String, Vec<String>>), SsoError> {
        let connector = self.oidc_connector(&pending.connector).await?;
        let client = discover(&connector).await?;
        let http = http_client()?;
        let request = client.exchange_code(AuthorizationCode::new(code.to_owned())).map_err(|e| provider(&connector, e))?;
        let tokens = request.set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone())).request_async(&http).await.map_err(|e| match e {
            RequestTokenError::ServerResponse(response) => {
                SsoError::Refused(format!("the code was not accepted ({}); start again", response.error_description().map_or("invalid", String::as_str)))
            }
            other => provider(&connector, other),
        })?;
        let id_token = tokens.id_token().ok_or_else(|| SsoError::Refused("the provider sent no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce.clone()))
            .map_err(|e| SsoError::Refused(format!("the ID token does not verify: {e}")))?;
        // As Teleport: an address the provider has not verified names nobody.
        if connector.username_claim == "email" && claims.email_verified() == Some(false) {
            return Err(SsoError::Refused("the identity provider has not verified your email address, which names your Oriel user".into()));
        }
        let subject = claims.subject().as_str().to_owned();
        Ok((connector, subject, claims_map(claims)))
    }

    async fn oidc_connector(&self, name: &str) -> Result<OidcConnector, SsoError> {
        match self.store.oidc_connector(name).await {
            Ok(connector) => Ok(connector),
            Err(crate::store::StoreError::NotFound { .. } | crate::store::StoreError::InvalidName { .. }) => Err(SsoError::UnknownConnector(name.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// A `user.login` event of method `oidc`.
    async fn record_sso_login(&self, user: &str, connector: &str, address: IpAddr, outcome: Result<(), &SsoError>) {
        let mut event = AuditEvent::new(EventType::UserLogin, outcome.is_ok(), user, self.clock.now())
            .with("method", "oidc")
            .with("connector", connector)
            .with("remote_addr", address.to_string());
        if let Err(error) = outcome {
            event = event.with("error", error.to_string());
        }
        self.emit(event).await;
    }
}

/// The claims as traits: every string or list of strings, by name (the
/// standard ones and the provider's own).
fn claims_map(claims: &IdTokenClaims<OtherClaims, CoreGenderClaim>) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    let json = serde_json::to_value(claims).unwrap_or_default();
    for (name, value) in json.as_object().into_iter().flatten() {
        let values: Vec<String> = match value {
            serde_json::Value::String(text) => vec![text.clone()],
            serde_json::Value::Array(items) => items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect(),
            _ => continue,
        };
        if !values.is_empty() {
            map.insert(name.clone(), values);
        }
    }
    // Token bookkeeping, not facts about the person.
    for reserved in ["iss", "aud", "azp", "nonce", "at_hash", "c_hash", "acr", "amr", "sid", "jti"] {
        map.remove(reserved);
    }
    map
}

/// The HTTP client for providers: no redirects followed (the discovery
/// and token endpoints answer directly; a redirect could point anywhere).
/// One for the process: building one reads the system's root certificates,
/// which cost about half a login's time when done per request
/// (BENCHMARKS.md).
fn http_client() -> Result<openidconnect::reqwest::Client, SsoError> {
    static CLIENT: std::sync::OnceLock<openidconnect::reqwest::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| SsoError::Provider { connector: String::new(), detail: e.to_string() })?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// The connector's provider, discovered, as a client.
async fn discover(connector: &OidcConnector) -> Result<OidcClient, SsoError> {
    let http = http_client()?;
    let issuer = IssuerUrl::new(connector.issuer_url.clone()).map_err(|e| provider(connector, e))?;
    let metadata = CoreProviderMetadata::discover_async(issuer, &http).await.map_err(|e| provider(connector, e))?;
    let redirect = RedirectUrl::new(connector.redirect_url.clone()).map_err(|e| provider(connector, e))?;
    Ok(Client::from_provider_metadata(metadata, ClientId::new(connector.client_id.clone()), Some(ClientSecret::new(connector.client_secret.clone())))
        .set_redirect_uri(redirect))
}

fn provider(connector: &OidcConnector, error: impl std::error::Error) -> SsoError {
    // The crates' errors say little at the top ("request failed"): the
    // causes say what (refused connection, bad JSON, wrong issuer).
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::warn!(connector = %connector.name, error = %detail, "identity provider failed");
    SsoError::Provider { connector: connector.name.clone(), detail }
}
