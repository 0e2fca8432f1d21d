//! Invites in storage, by the hash of their secret; they expire by themselves.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Versioned, Write, from_unix, to_unix};
use crate::resources::invite::Invite;

const KIND: &str = "invite";
const FOLDER: &str = "invites";

#[derive(Serialize, Deserialize)]
struct InviteJson {
    secret_hash: String,
    user: String,
    /// Empty for invites stored before users had ids.
    #[serde(default)]
    user_id: String,
    expires_unix: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totp_secret_hex: Option<String>,
}

impl Store {
    /// Stores a new invite.
    pub async fn create_invite(&self, invite: &Invite) -> Result<(), StoreError> {
        let json = InviteJson {
            secret_hash: invite.secret_hash.clone(),
            user: invite.user.clone(),
            user_id: invite.user_id.clone(),
            expires_unix: to_unix(invite.expires),
            totp_secret_hex: invite.totp_secret.as_ref().map(hex::encode),
        };
        self.write_json(KIND, FOLDER, &invite.secret_hash, &json, Some(invite.expires), Write::Create).await.map(drop)
    }

    /// An invite by the hash of its secret (expired ones are not found).
    pub async fn invite(&self, secret_hash: &str) -> Result<Versioned<Invite>, StoreError> {
        let json = self.get_json::<InviteJson>(KIND, FOLDER, secret_hash).await?;
        let totp_secret = match json.value.totp_secret_hex {
            Some(hex_secret) => {
                Some(hex::decode(hex_secret).map_err(|e| StoreError::Corrupt { kind: KIND, name: secret_hash.to_owned(), detail: e.to_string() })?)
            }
            None => None,
        };
        Ok(Versioned {
            value: Invite {
                secret_hash: json.value.secret_hash,
                user: json.value.user,
                user_id: json.value.user_id,
                expires: from_unix(json.value.expires_unix),
                totp_secret,
            },
            revision: json.revision,
        })
    }

    /// Keeps the TOTP secret shown on the invite page, if nobody else did first.
    pub async fn swap_invite(&self, invite: &Invite, revision: oriel_backend::Revision) -> Result<(), StoreError> {
        let json = InviteJson {
            secret_hash: invite.secret_hash.clone(),
            user: invite.user.clone(),
            user_id: invite.user_id.clone(),
            expires_unix: to_unix(invite.expires),
            totp_secret_hex: invite.totp_secret.as_ref().map(hex::encode),
        };
        self.write_json(KIND, FOLDER, &invite.secret_hash, &json, Some(invite.expires), Write::Swap(revision)).await.map(drop)
    }

    /// The hashes of every live invite of `user`.
    pub async fn invites_of(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let invites: Vec<InviteJson> = self.list_json(KIND, FOLDER).await?;
        Ok(invites.into_iter().filter(|invite| invite.user == user).map(|invite| invite.secret_hash).collect())
    }

    /// Removes an invite (it was used, or the user was removed).
    pub async fn delete_invite(&self, secret_hash: &str) -> Result<(), StoreError> {
        self.delete_key(KIND, FOLDER, secret_hash).await
    }
}
