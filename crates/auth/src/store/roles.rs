//! Roles in storage, as the Teleport-compatible YAML `Role::to_yaml`
//! writes: the desktop fields Oriel uses. Fields of other Teleport products
//! in a created file are accepted and not kept.

use oriel_rbac::Role;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Write};

const KIND: &str = "role";
const FOLDER: &str = "roles";

#[derive(Serialize, Deserialize)]
struct RoleRecord {
    yaml: String,
}

impl Store {
    /// Stores a role; with `force` an existing one is replaced.
    pub async fn put_role(&self, role: &Role, force: bool) -> Result<(), StoreError> {
        let record = RoleRecord { yaml: role.to_yaml() };
        let mode = if force { Write::Put } else { Write::Create };
        self.write_json(KIND, FOLDER, &role.name, &record, None, mode).await.map(drop)
    }

    /// Reads a role.
    pub async fn role(&self, name: &str) -> Result<Role, StoreError> {
        let record = self.get_json::<RoleRecord>(KIND, FOLDER, name).await?.value;
        parse(name, &record.yaml)
    }

    /// Every role, by name.
    pub async fn roles(&self) -> Result<Vec<Role>, StoreError> {
        let records: Vec<RoleRecord> = self.list_json(KIND, FOLDER).await?;
        records.iter().map(|r| parse("(listed)", &r.yaml)).collect()
    }

    /// Removes a role.
    pub async fn delete_role(&self, name: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, name).await
    }
}

fn parse(name: &str, yaml: &str) -> Result<Role, StoreError> {
    oriel_rbac::parse_role(name, yaml).map_err(|e| StoreError::Corrupt { kind: KIND, name: name.to_owned(), detail: e.to_string() })
}
