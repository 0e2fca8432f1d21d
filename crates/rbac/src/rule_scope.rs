//! Rules that allow on a condition: Teleport's preset `access` role lets a
//! user list and read the sessions they took part in with
//! `where: contains(session.participants, user.metadata.name)`. That one
//! condition is understood here; a rule with any other `where` still
//! grants nothing (`rules.rs`), so an unknown condition never widens access.

use crate::access::RoleSet;
use crate::rules::RuleDecision;

/// A `where` expression Oriel evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `contains(session.participants, user.metadata.name)`: the user took
    /// part in the session.
    UserIsParticipant,
}

impl Condition {
    /// The condition `expression` is, ignoring spaces; `None` for any
    /// other expression.
    pub fn parse(expression: &str) -> Option<Condition> {
        let compact: String = expression.chars().filter(|c| !c.is_whitespace()).collect();
        (compact == "contains(session.participants,user.metadata.name)")
            .then_some(Condition::UserIsParticipant)
    }
}

/// The answer of [`RoleSet::check_rules_scoped`].
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopedDecision {
    /// Every verb, on every resource of the kind.
    Everything {
        /// The role that allows it.
        role: String,
    },
    /// Every verb, on the resources that meet `condition`.
    OnlyWhere {
        /// The role that allows it.
        role: String,
        /// What a resource must meet.
        condition: Condition,
    },
    /// Refused.
    Denied {
        /// Why, as [`RuleDecision::Denied`] says it.
        reason: String,
    },
}

impl RoleSet {
    /// Like [`RoleSet::check_rules`], and an allow rule whose `where` is a
    /// [`Condition`] grants the verbs on what meets it. Deny rules apply
    /// first and whole, `where` or not, as there. Unconditional access wins
    /// over conditional; one role must allow every verb for the conditional
    /// answer, so two half-rules never add up to more than either grants.
    pub fn check_rules_scoped(&self, resource: &str, verbs: &[&str]) -> ScopedDecision {
        let reason = match self.check_rules(resource, verbs) {
            RuleDecision::Allowed { role } => return ScopedDecision::Everything { role },
            RuleDecision::Denied { reason } => reason,
        };
        if self.denied_outright(resource, verbs) || verbs.is_empty() {
            return ScopedDecision::Denied { reason };
        }
        for (role, rules) in self.roles.iter().zip(&self.rules) {
            let mut condition = None;
            let all = verbs.iter().all(|verb| {
                rules.allow.iter().any(|rule| {
                    if !rule.names(resource, verb) {
                        return false;
                    }
                    match rule.where_clause.as_deref().map(Condition::parse) {
                        None => true,
                        Some(Some(found)) => {
                            condition = Some(found);
                            true
                        }
                        Some(None) => false,
                    }
                })
            });
            if all && let Some(condition) = condition {
                return ScopedDecision::OnlyWhere {
                    role: role.name.clone(),
                    condition,
                };
            }
        }
        ScopedDecision::Denied { reason }
    }

    /// Whether a deny rule refuses one of `verbs` on `resource`.
    fn denied_outright(&self, resource: &str, verbs: &[&str]) -> bool {
        self.rules.iter().any(|rules| {
            rules
                .deny
                .iter()
                .any(|rule| verbs.iter().any(|verb| rule.denies(resource, verb)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Traits, parse_roles};

    fn set(yaml: &str) -> ScopedDecision {
        let roles = parse_roles("roles.yaml", yaml).unwrap();
        RoleSet::new(&roles, &Traits::new()).check_rules_scoped("session", &["list", "read"])
    }

    const ACCESS: &str = r#"
kind: role
version: v7
metadata: {name: access}
spec:
  allow:
    rules:
      - resources: [session]
        verbs: [list, read]
        where: contains(session.participants, user.metadata.name)
"#;

    #[test]
    fn the_access_role_sees_its_own_sessions() {
        assert_eq!(
            set(ACCESS),
            ScopedDecision::OnlyWhere {
                role: "access".into(),
                condition: Condition::UserIsParticipant
            }
        );
    }

    #[test]
    fn an_unconditional_rule_wins() {
        let auditor = "kind: role\nversion: v7\nmetadata: {name: auditor}\nspec:\n  allow:\n    rules:\n      - resources: [session]\n        verbs: [list, read]\n";
        assert_eq!(
            set(&format!("{ACCESS}---\n{auditor}")),
            ScopedDecision::Everything {
                role: "auditor".into()
            }
        );
    }

    #[test]
    fn another_condition_or_a_deny_grants_nothing() {
        let other = ACCESS.replace(
            "contains(session.participants, user.metadata.name)",
            "equals(user.metadata.name, \"bob\")",
        );
        assert!(matches!(set(&other), ScopedDecision::Denied { .. }));
        let deny = "kind: role\nversion: v7\nmetadata: {name: no}\nspec:\n  deny:\n    rules:\n      - resources: [session]\n        verbs: [read]\n";
        let ScopedDecision::Denied { reason } = set(&format!("{ACCESS}---\n{deny}")) else {
            panic!("a deny rule refuses")
        };
        assert!(reason.contains("denied by role \"no\""), "{reason}");
        // Only list on a condition is not list and read.
        assert!(matches!(
            set(&ACCESS.replace("[list, read]", "[list]")),
            ScopedDecision::Denied { .. }
        ));
    }

    #[test]
    fn spacing_does_not_matter_but_the_names_do() {
        assert_eq!(
            Condition::parse(" contains( session.participants ,user.metadata.name ) "),
            Some(Condition::UserIsParticipant)
        );
        assert_eq!(
            Condition::parse("contains(session.participants, user.spec.name)"),
            None
        );
    }
}
