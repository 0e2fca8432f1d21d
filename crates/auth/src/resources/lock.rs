//! Locks: an administrator's "stop this now". A lock names a target; every
//! live session it matches ends and no matching session may start until it
//! expires or is removed.

use std::time::SystemTime;

/// What a lock applies to. Every field that is set must match (so
/// `user: alice, login: root` locks only alice's root sessions); a target
/// with no field set matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockTarget {
    /// An Oriel user.
    pub user: Option<String>,
    /// Anyone holding this role.
    pub role: Option<String>,
    /// A desktop login (OS account).
    pub login: Option<String>,
    /// A desktop service, by its host id.
    pub server_id: Option<String>,
    /// A Linux desktop, by name.
    pub linux_desktop: Option<String>,
    /// A Windows desktop, by name.
    pub windows_desktop: Option<String>,
}

impl LockTarget {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A lock as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// Unique name (generated when not given).
    pub name: String,
    /// What it applies to.
    pub target: LockTarget,
    /// Shown to the people it disconnects.
    pub message: Option<String>,
    /// When it stops applying; `None` is until removed.
    pub expires: Option<SystemTime>,
}

pub use oriel_rbac::DesktopKind;

/// Who is doing what, in the terms locks are written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSubject<'a> {
    /// The Oriel user.
    pub user: &'a str,
    /// The user's roles.
    pub roles: &'a [String],
    /// The desktop login.
    pub login: &'a str,
    /// The desktop service's host id.
    pub server_id: &'a str,
    /// Linux or Windows.
    pub desktop_kind: DesktopKind,
    /// The desktop's name.
    pub desktop: &'a str,
}

impl Lock {
    /// Whether the lock is in force at `now` and its target matches `subject`.
    pub fn applies_to(&self, subject: &SessionSubject<'_>, now: SystemTime) -> bool {
        if self.expires.is_some_and(|expires| expires <= now) || self.target.is_empty() {
            return false;
        }
        let t = &self.target;
        let field = |wanted: &Option<String>, actual: &str| wanted.as_deref().is_none_or(|w| w == actual);
        field(&t.user, subject.user)
            && t.role.as_ref().is_none_or(|role| subject.roles.iter().any(|r| r == role))
            && field(&t.login, subject.login)
            && field(&t.server_id, subject.server_id)
            && t.linux_desktop.as_ref().is_none_or(|d| subject.desktop_kind == DesktopKind::Linux && d == subject.desktop)
            && t.windows_desktop.as_ref().is_none_or(|d| subject.desktop_kind == DesktopKind::Windows && d == subject.desktop)
    }
}

/// The first lock in force for `subject`, if any.
pub fn find<'l>(locks: &'l [Lock], subject: &SessionSubject<'_>, now: SystemTime) -> Option<&'l Lock> {
    locks.iter().find(|lock| lock.applies_to(subject, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn lock(target: LockTarget) -> Lock {
        Lock { name: "l".into(), target, message: None, expires: None }
    }

    fn subject<'a>(roles: &'a [String]) -> SessionSubject<'a> {
        SessionSubject { user: "alice", roles, login: "root", server_id: "host-1", desktop_kind: DesktopKind::Linux, desktop: "uuid-1" }
    }

    #[test]
    fn each_target_field_matches_its_own_dimension() {
        let roles = vec!["dev".to_owned(), "ops".to_owned()];
        let s = subject(&roles);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let cases: [(LockTarget, bool); 10] = [
            (LockTarget { user: Some("alice".into()), ..Default::default() }, true),
            (LockTarget { user: Some("bob".into()), ..Default::default() }, false),
            (LockTarget { role: Some("ops".into()), ..Default::default() }, true),
            (LockTarget { login: Some("root".into()), ..Default::default() }, true),
            (LockTarget { server_id: Some("host-2".into()), ..Default::default() }, false),
            (LockTarget { linux_desktop: Some("uuid-1".into()), ..Default::default() }, true),
            (LockTarget { windows_desktop: Some("uuid-1".into()), ..Default::default() }, false),
            (LockTarget { user: Some("alice".into()), login: Some("root".into()), ..Default::default() }, true),
            (LockTarget { user: Some("alice".into()), login: Some("bob".into()), ..Default::default() }, false),
            (LockTarget::default(), false),
        ];
        for (target, expected) in cases {
            assert_eq!(lock(target.clone()).applies_to(&s, now), expected, "{target:?}");
        }
    }

    #[test]
    fn an_expired_lock_no_longer_applies() {
        let roles = vec![];
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut l = lock(LockTarget { user: Some("alice".into()), ..Default::default() });
        l.expires = Some(now);
        assert!(!l.applies_to(&subject(&roles), now));
        l.expires = Some(now + Duration::from_secs(1));
        assert!(l.applies_to(&subject(&roles), now));
        assert_eq!(find(std::slice::from_ref(&l), &subject(&roles), now).map(|l| &l.name), Some(&"l".to_owned()));
    }
}
