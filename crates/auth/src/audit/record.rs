//! Writing events, from the control plane itself and from desktop
//! services, and reading them back.

use std::time::Duration;

use oriel_rbac::DesktopKind;

use super::{AuditEvent, EventType};
use crate::ca::HostIdentity;
use crate::control_plane::ControlPlane;
use crate::served::{NotServed, kind_served_by};
use crate::store::{BadPage, EventPage, EventQuery, StoreError};

/// How far ahead of the auth service's clock a desktop service's event may
/// be dated (clocks drift; a time far ahead would sort above everything).
const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(300);

/// Where events go and how long they stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    /// The cluster's name, written in every event.
    pub cluster_name: String,
    /// How long events are kept (`auth_service.audit_retention`).
    pub retention: Duration,
}

/// One year, the retention unless configured.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

impl Default for AuditSettings {
    fn default() -> Self {
        Self { cluster_name: "oriel".into(), retention: DEFAULT_RETENTION }
    }
}

/// Why a desktop service's event was not stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// A host reports only its own desktop sessions.
    #[error("a desktop service cannot report {0} events")]
    NotItsType(EventType),
    /// Dated too far ahead of the auth service's clock.
    #[error("the event is dated more than 5 minutes ahead of the auth service's clock")]
    FromTheFuture,
    /// About a desktop the host does not serve.
    #[error("{0}")]
    NotYours(String),
    /// The host is not a desktop service.
    #[error("only desktop services report session events")]
    NotADesktopService,
}

impl ControlPlane {
    /// Writes `event`, stamped with this cluster's name. A failure is
    /// logged with the event and does not undo what it records: an
    /// operation that happened is not made to fail for its record.
    pub async fn emit(&self, event: AuditEvent) {
        let mut event = event;
        event.cluster_name.clone_from(&self.audit.cluster_name);
        if let Err(error) = self.store.record_event(&event, self.audit.retention).await {
            tracing::error!(%error, event = %event.to_json(), "cannot write an audit event");
        }
    }

    /// Stores the events desktop service `host` reports about its own
    /// sessions, all or none: each is bounded, stamped with this cluster
    /// and the host (which speaks only for the desktops it serves: a Linux
    /// host's own, a Windows host's registered ones), and checked. `Err`
    /// with the index and reason of a refused one, and then nothing is
    /// stored.
    pub async fn ingest_desktop_events(&self, host: &HostIdentity, events: Vec<AuditEvent>) -> Result<Result<(), (usize, Rejected)>, StoreError> {
        let latest = self.clock.now() + MAX_CLOCK_AHEAD;
        let Some(kind) = kind_served_by(host.role) else {
            return Ok(Err((0, Rejected::NotADesktopService)));
        };
        let mut served = std::collections::BTreeSet::new();
        let mut stamped = Vec::with_capacity(events.len());
        for (index, event) in events.into_iter().enumerate() {
            if !event.event.reported_by_desktop_service(kind) {
                return Ok(Err((index, Rejected::NotItsType(event.event))));
            }
            if event.time > latest {
                return Ok(Err((index, Rejected::FromTheFuture)));
            }
            // A Linux host's desktop is the host; a Windows host names the
            // desktop, which must be one it serves.
            let desktop = match kind {
                DesktopKind::Linux => host.host_id.clone(),
                DesktopKind::Windows => event.text("desktop_name").unwrap_or_default().to_owned(),
            };
            if !served.contains(&desktop) {
                match self.check_served(host, kind, &desktop).await {
                    Ok(()) => served.insert(desktop.clone()),
                    Err(NotServed::NotYours(reason)) => return Ok(Err((index, Rejected::NotYours(reason)))),
                    Err(NotServed::Unavailable(error)) => return Err(error),
                };
            }
            let mut event = event.with("desktop_service", host.host_id.as_str()).with("desktop_name", desktop);
            event.cluster_name.clone_from(&self.audit.cluster_name);
            stamped.push(event);
        }
        self.store.record_events(&stamped, self.audit.retention).await.map(Ok)
    }

    /// A page of events, none older than the retention.
    pub async fn events(&self, query: &EventQuery) -> Result<Result<EventPage, BadPage>, StoreError> {
        let oldest = self.clock.now().checked_sub(self.audit.retention);
        let mut query = query.clone();
        query.since = match (query.since, oldest) {
            (Some(since), Some(oldest)) => Some(since.max(oldest)),
            (since, oldest) => since.or(oldest),
        };
        self.store.events(&query).await
    }

    /// The audit settings in force.
    pub fn audit_settings(&self) -> &AuditSettings {
        &self.audit
    }

    /// This control plane writing events with `settings`.
    pub fn with_audit(mut self, settings: AuditSettings) -> Self {
        self.audit = std::sync::Arc::new(settings);
        self
    }
}

impl ControlPlane {
    /// Whether `user`'s current roles (not the ones in a certificate, which
    /// may be hours old) allow every one of `verbs` on `resource` through
    /// their `rules`: `Ok(Err(reason))` when they do not.
    pub async fn check_rules(&self, user: &str, resource: &str, verbs: &[&str]) -> Result<Result<(), String>, crate::control_plane::ControlError> {
        let user = self.store.user(user).await?.value;
        let roles = self.roles_of(&user).await?;
        Ok(match oriel_rbac::RoleSet::new(&roles, &user.traits).check_rules(resource, verbs) {
            oriel_rbac::RuleDecision::Allowed { .. } => Ok(()),
            oriel_rbac::RuleDecision::Denied { reason } => Err(reason),
        })
    }
}
