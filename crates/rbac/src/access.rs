//! The access decision: may this user open this desktop as this login?
//!
//! Deny first, and greedy: a deny rule of *any* role refuses the login when
//! its labels match the desktop, or when its logins list the login (whatever
//! the desktop). Then allow, which is not greedy: one role must match the
//! desktop's labels *and* list the login. Anything else is refused.
//!
//! The answer is a [`Decision`]. Its [`Allowed`] side can only be made here,
//! so code that starts a session by taking an `Allowed` cannot skip the check.
//!
//! What the session's options grant on the host (user creation, its
//! groups) and per-session MFA come from the roles that allow this login on
//! this desktop only, as in Teleport: a role for other desktops grants
//! nothing here. Restrictions (deny rules, clipboard or sharing off,
//! recording, idle timeouts) come from every role; see [`crate::options`].

use std::fmt;

use crate::desktop::{Desktop, DesktopKind, check_login};
use crate::labels::CompiledSelector;
use crate::options::{ClusterPolicy, SessionOptions, combine};
use crate::role::{Role, RoleOptions};
use crate::traits::Traits;

/// A user's roles with their traits filled in and every matcher compiled.
///
/// Build it once per user (and again when roles or traits change), then ask
/// it about as many desktops as needed.
#[derive(Debug, Clone)]
pub struct RoleSet {
    pub(crate) roles: Vec<CompiledRole>,
    /// Each role's options (indexed like `roles`), combined per decision
    /// over the roles that allow it, with the cluster's.
    pub(crate) options: Vec<RoleOptions>,
    /// Each role's `allow.desktop_groups` (indexed like `roles`).
    pub(crate) desktop_groups: Vec<Vec<String>>,
    /// Each role's resource rules (indexed like `roles`), for `check_rule`.
    pub(crate) rules: Vec<crate::rules::RoleRules>,
    /// Each role's `allow.join_sessions` (indexed like `roles`), for `check_join`.
    pub(crate) join_sessions: Vec<Vec<crate::join_sessions::JoinPolicy>>,
    pub(crate) listing: [crate::listing::KindIndex; 2],
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRole {
    pub(crate) name: String,
    pub(crate) requires_session_mfa: bool,
    /// Indexed by `DesktopKind::index`.
    pub(crate) kinds: [CompiledRules; 2],
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRules {
    pub(crate) allow_labels: CompiledSelector,
    /// Sorted, without duplicates, invalid logins dropped.
    pub(crate) allow_logins: Vec<String>,
    pub(crate) deny_labels: CompiledSelector,
    pub(crate) deny_logins: Vec<String>,
}

fn expand_logins(role: &Role, allow: bool, kind: DesktopKind, traits: &Traits) -> Vec<String> {
    let conditions = if allow { &role.allow } else { &role.deny };
    let mut out: Vec<String> = conditions
        .logins(kind)
        .iter()
        .flat_map(|t| t.expand(traits))
        .filter(|l| check_login(kind, l).is_ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

impl RoleSet {
    /// Fills every role's templates from `traits` and compiles the matchers.
    /// Role order matters only for explanations: the first deciding role is named.
    pub fn new(roles: &[Role], traits: &Traits) -> RoleSet {
        let compiled: Vec<CompiledRole> = roles
            .iter()
            .map(|role| CompiledRole {
                name: role.name.clone(),
                requires_session_mfa: role.options.requires_session_mfa(),
                kinds: DesktopKind::ALL.map(|kind| CompiledRules {
                    allow_labels: role.allow.labels(kind).compile(traits),
                    allow_logins: expand_logins(role, true, kind, traits),
                    deny_labels: role.deny.labels(kind).compile(traits),
                    deny_logins: expand_logins(role, false, kind, traits),
                }),
            })
            .collect();
        let options = roles.iter().map(|r| r.options.clone()).collect();
        let desktop_groups = roles
            .iter()
            .map(|r| r.allow.desktop_groups.clone())
            .collect();
        let rules = roles
            .iter()
            .map(|r| crate::rules::RoleRules {
                allow: r.allow.rules.clone(),
                deny: r.deny.rules.clone(),
            })
            .collect();
        let join_sessions = roles
            .iter()
            .map(|r| r.allow.join_sessions.clone())
            .collect();
        let listing =
            DesktopKind::ALL.map(|kind| crate::listing::KindIndex::build(&compiled, kind));
        RoleSet {
            roles: compiled,
            options,
            desktop_groups,
            rules,
            join_sessions,
            listing,
        }
    }

    /// The role names, in order.
    pub fn role_names(&self) -> impl Iterator<Item = &str> {
        self.roles.iter().map(|r| r.name.as_str())
    }

    /// Session options for a session the roles at `allowing` (indexes
    /// into the set) allow, with the cluster's; `session_mfa` false.
    fn session_options(&self, allowing: &[usize], cluster: &ClusterPolicy) -> SessionOptions {
        let mut options = combine(
            &self.options,
            allowing.iter().map(|&i| &self.options[i]),
            cluster,
        );
        options.host_groups =
            crate::options::union(allowing.iter().map(|&i| &self.desktop_groups[i]));
        options
    }

    /// Decides whether `login` may be used on `desktop`.
    ///
    /// `mfa` says whether the user has just passed a per-session MFA check.
    /// When MFA is required and was not done, the answer is
    /// [`DenyReason::MfaRequired`]: ask for MFA, then call again.
    pub fn check(
        &self,
        desktop: &Desktop,
        login: &str,
        cluster: &ClusterPolicy,
        mfa: SessionMfa,
    ) -> Decision {
        let kind = desktop.kind;
        let k = kind.index();
        let deny = |reason| Decision::Denied(Denied { reason });

        for role in &self.roles {
            let rules = &role.kinds[k];
            if rules.deny_labels.matches(&desktop.labels) {
                return deny(DenyReason::DenyLabels {
                    role: role.name.clone(),
                    kind,
                    matched: rules.deny_labels.describe_match(&desktop.labels),
                });
            }
            if rules
                .deny_logins
                .binary_search_by(|l| l.as_str().cmp(login))
                .is_ok()
            {
                return deny(DenyReason::DenyLogin {
                    role: role.name.clone(),
                    kind,
                    login: login.to_owned(),
                });
            }
        }

        let mut allowed_by: Option<(&CompiledRole, String)> = None;
        let mut allowing = Vec::new();
        let mut mfa_role: Option<&str> = None;
        let mut checked = Vec::with_capacity(self.roles.len());
        for (index, role) in self.roles.iter().enumerate() {
            let rules = &role.kinds[k];
            let labels = rules.allow_labels.matches(&desktop.labels);
            let listed = rules
                .allow_logins
                .binary_search_by(|l| l.as_str().cmp(login))
                .is_ok();
            if labels && listed {
                allowing.push(index);
                if allowed_by.is_none() {
                    allowed_by = Some((role, rules.allow_labels.describe_match(&desktop.labels)));
                }
                if role.requires_session_mfa && mfa_role.is_none() {
                    mfa_role = Some(&role.name);
                }
            } else {
                checked.push(RoleMiss {
                    role: role.name.clone(),
                    labels_match: labels,
                    login_listed: listed,
                });
            }
        }

        let Some((role, matched)) = allowed_by else {
            return deny(DenyReason::NoAllow {
                kind,
                desktop: desktop.name.clone(),
                login: login.to_owned(),
                checked,
            });
        };
        let mfa_required = cluster.require_session_mfa || mfa_role.is_some();
        if mfa_required && mfa != SessionMfa::Verified {
            return deny(DenyReason::MfaRequired {
                role: mfa_role.map(str::to_owned),
            });
        }
        let mut options = self.session_options(&allowing, cluster);
        options.session_mfa = mfa_required;
        Decision::Allowed(Allowed {
            role: role.name.clone(),
            matched,
            kind,
            desktop: desktop.name.clone(),
            login: login.to_owned(),
            options,
        })
    }
}

/// Whether the user passed a per-session MFA check for this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionMfa {
    /// An MFA check was done for this session.
    Verified,
    /// No MFA check was done.
    NotVerified,
}

/// The answer of [`RoleSet::check`].
#[must_use]
#[derive(Debug)]
pub enum Decision {
    /// The login may be used; this value is what starting a session needs.
    Allowed(Allowed),
    /// The login may not be used, and why.
    Denied(Denied),
}

impl Decision {
    /// Whether access was allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed(_))
    }

    /// `Ok(Allowed)` or `Err(Denied)`, for `?`.
    pub fn into_result(self) -> Result<Allowed, Denied> {
        match self {
            Decision::Allowed(a) => Ok(a),
            Decision::Denied(d) => Err(d),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allowed(a) => a.fmt(f),
            Decision::Denied(d) => d.fmt(f),
        }
    }
}

/// Proof that one login was allowed on one desktop, with the session's
/// options. Only [`RoleSet::check`] makes it.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
pub struct Allowed {
    role: String,
    matched: String,
    kind: DesktopKind,
    desktop: String,
    login: String,
    options: SessionOptions,
}

impl Allowed {
    /// The first role that allowed the login.
    pub fn role(&self) -> &str {
        &self.role
    }
    /// The login allowed.
    pub fn login(&self) -> &str {
        &self.login
    }
    /// The kind of the desktop.
    pub fn desktop_kind(&self) -> DesktopKind {
        self.kind
    }
    /// The name of the desktop.
    pub fn desktop_name(&self) -> &str {
        &self.desktop
    }
    /// The settings the session must apply.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "allowed by role {:?}: allow.{} matches {} and allow.{} lists {:?}",
            self.role,
            self.kind.labels_field(),
            self.matched,
            self.kind.logins_field(),
            self.login
        )
    }
}

/// A refusal and its reason; `Display` is the explanation for humans.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{reason}")]
pub struct Denied {
    /// Why.
    pub reason: DenyReason,
}

/// Why access was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum DenyReason {
    /// A role's deny labels match the desktop: every login is refused.
    DenyLabels {
        /// The deny rule's role.
        role: String,
        /// Which field (`deny.linux_desktop_labels` or the Windows one).
        kind: DesktopKind,
        /// The labels that matched, such as `env=prod`.
        matched: String,
    },
    /// A role's deny logins list the login: refused on every desktop of the kind.
    DenyLogin {
        /// The deny rule's role.
        role: String,
        /// Which field (`deny.linux_desktop_logins` or the Windows one).
        kind: DesktopKind,
        /// The login.
        login: String,
    },
    /// No role both matches the desktop and lists the login.
    NoAllow {
        /// Kind of the desktop.
        kind: DesktopKind,
        /// Name of the desktop.
        desktop: String,
        /// The login asked for.
        login: String,
        /// Every role, and what it lacked.
        checked: Vec<RoleMiss>,
    },
    /// A role allows it, but per-session MFA is required and was not done.
    MfaRequired {
        /// The allowing role that requires MFA; `None` when the cluster does.
        role: Option<String>,
    },
}

/// One role that did not allow a login, for the explanation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoleMiss {
    /// Role name.
    pub role: String,
    /// Whether its allow labels matched the desktop.
    pub labels_match: bool,
    /// Whether its allow logins listed the login.
    pub login_listed: bool,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::DenyLabels {
                role,
                kind,
                matched,
            } => {
                write!(
                    f,
                    "denied by role {role:?}: deny.{} matches {matched}",
                    kind.labels_field()
                )
            }
            DenyReason::DenyLogin { role, kind, login } => {
                write!(
                    f,
                    "denied by role {role:?}: deny.{} lists {login:?}",
                    kind.logins_field()
                )
            }
            DenyReason::NoAllow {
                kind,
                desktop,
                login,
                checked,
            } => {
                write!(
                    f,
                    "no role allows login {login:?} on {kind} desktop {desktop:?}"
                )?;
                if checked.is_empty() {
                    return f.write_str(" (the user has no roles)");
                }
                // Enough to see why; a user with hundreds of roles gets a count.
                const SHOWN: usize = 10;
                f.write_str(" (checked: ")?;
                for (i, miss) in checked.iter().take(SHOWN).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let why = match (miss.labels_match, miss.login_listed) {
                        (true, _) => "labels match, login not listed",
                        (false, true) => "labels do not match",
                        (false, false) => "labels do not match, login not listed",
                    };
                    write!(f, "{} [{why}]", miss.role)?;
                }
                if checked.len() > SHOWN {
                    write!(f, " and {} more", checked.len() - SHOWN)?;
                }
                f.write_str(")")
            }
            DenyReason::MfaRequired { role: Some(role) } => {
                write!(f, "per-session MFA is required by role {role:?}")
            }
            DenyReason::MfaRequired { role: None } => {
                f.write_str("per-session MFA is required by the cluster")
            }
        }
    }
}

/// One-shot form of [`RoleSet::check`] for callers that check a single login.
pub fn check_access(
    roles: &[Role],
    traits: &Traits,
    desktop: &Desktop,
    login: &str,
    cluster: &ClusterPolicy,
    mfa: SessionMfa,
) -> Decision {
    RoleSet::new(roles, traits).check(desktop, login, cluster, mfa)
}
