//! OIDC connectors in storage, client secret included: the login needs it,
//! and only `get`'s writing leaves it out.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write};
use crate::resources::oidc_connector::OidcConnector;
use crate::resources::sso_mapping::ClaimMapping;

const KIND: &str = "oidc";
const FOLDER: &str = "connectors/oidc";

#[derive(Serialize, Deserialize)]
struct OidcConnectorJson {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display: Option<String>,
    issuer_url: String,
    client_id: String,
    client_secret: String,
    redirect_url: String,
    #[serde(default)]
    scope: Vec<String>,
    username_claim: String,
    claims_to_roles: Vec<ClaimMappingJson>,
}

#[derive(Serialize, Deserialize)]
struct ClaimMappingJson {
    claim: String,
    value: String,
    roles: Vec<String>,
}

impl From<&OidcConnector> for OidcConnectorJson {
    fn from(c: &OidcConnector) -> Self {
        Self {
            name: c.name.clone(),
            display: c.display.clone(),
            issuer_url: c.issuer_url.clone(),
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            redirect_url: c.redirect_url.clone(),
            scope: c.scope.clone(),
            username_claim: c.username_claim.clone(),
            claims_to_roles: c
                .claims_to_roles
                .iter()
                .map(|m| ClaimMappingJson { claim: m.claim.clone(), value: m.value.clone(), roles: m.roles.clone() })
                .collect(),
        }
    }
}

impl From<OidcConnectorJson> for OidcConnector {
    fn from(j: OidcConnectorJson) -> Self {
        OidcConnector {
            name: j.name,
            display: j.display,
            issuer_url: j.issuer_url,
            client_id: j.client_id,
            client_secret: j.client_secret,
            redirect_url: j.redirect_url,
            scope: j.scope,
            username_claim: j.username_claim,
            claims_to_roles: j.claims_to_roles.into_iter().map(|m| ClaimMapping { claim: m.claim, value: m.value, roles: m.roles }).collect(),
        }
    }
}

impl Store {
    /// Stores an OIDC connector; with `force` one of the same name is
    /// replaced, without it an existing one is `AlreadyExists`.
    pub async fn put_oidc_connector(&self, connector: &OidcConnector, force: bool) -> Result<(), StoreError> {
        let mode = if force { Write::Put } else { Write::Create };
        self.write_json(KIND, FOLDER, &connector.name, &OidcConnectorJson::from(connector), None, mode).await.map(drop)
    }

    /// One OIDC connector.
    pub async fn oidc_connector(&self, name: &str) -> Result<OidcConnector, StoreError> {
        Ok(self.get_json::<OidcConnectorJson>(KIND, FOLDER, name).await?.value.into())
    }

    /// Every OIDC connector, by name.
    pub async fn oidc_connectors(&self) -> Result<Vec<OidcConnector>, StoreError> {
        let list: Vec<OidcConnectorJson> = self.list_json(KIND, FOLDER).await?;
        let mut connectors: Vec<OidcConnector> = list.into_iter().map(OidcConnector::from).collect();
        connectors.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(connectors)
    }

    /// Removes an OIDC connector.
    pub async fn delete_oidc_connector(&self, name: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, name).await
    }
}
