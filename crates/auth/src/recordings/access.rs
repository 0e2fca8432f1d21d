//! Who may watch which recording: role `rules` on `session` (`list` and
//! `read`), the preset `auditor` for all, the preset `access` for the
//! sessions the user took part in (`oriel_rbac::Condition`).

use oriel_rbac::{Condition, RoleSet, ScopedDecision};

use crate::ca::{HostIdentity, HostRole};
use crate::control_plane::{ControlError, ControlPlane};
use crate::store::RecordingRecord;

/// What a user's roles let them watch. Made only by
/// [`ControlPlane::recording_access`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingAccess {
    scope: Scope,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Everything,
    TookPartIn(String),
}

impl RecordingAccess {
    /// Whether `recording` is one this access covers.
    pub fn permits(&self, recording: &RecordingRecord) -> bool {
        match &self.scope {
            Scope::Everything => true,
            Scope::TookPartIn(user) => recording.participants.iter().any(|p| p == user),
        }
    }
}

impl ControlPlane {
    /// What `user`'s current roles let them list and watch: `Ok(Err(reason))`
    /// when nothing.
    pub async fn recording_access(&self, user: &str) -> Result<Result<RecordingAccess, String>, ControlError> {
        let record = self.store.user(user).await?.value;
        let roles = self.roles_of(&record).await?;
        let scope = match RoleSet::new(&roles, &record.traits).check_rules_scoped("session", &["list", "read"]) {
            ScopedDecision::Everything { .. } => Scope::Everything,
            ScopedDecision::OnlyWhere { condition: Condition::UserIsParticipant, .. } => Scope::TookPartIn(user.to_owned()),
            ScopedDecision::Denied { reason } => return Ok(Err(reason)),
        };
        Ok(Ok(RecordingAccess { scope }))
    }

    /// What an administrator may watch: every recording, for `admin` only
    /// when it is an admin identity (the admin API calls this with the
    /// identity it verified; `orielctl` on the data directory reads the
    /// storage itself).
    pub fn administrator_recording_access(&self, admin: &HostIdentity) -> Option<RecordingAccess> {
        (admin.role == HostRole::Admin).then_some(RecordingAccess { scope: Scope::Everything })
    }
}
