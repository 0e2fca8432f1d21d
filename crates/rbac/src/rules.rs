//! Teleport's resource rules (`spec.allow.rules`, `spec.deny.rules`): which
//! verbs a role allows or denies on which kinds of control-plane resource
//! (`event`, `session`, `role`, `user`…). The desktop fields decide
//! sessions (`access.rs`); rules decide what a user may do through the
//! control plane's own API, such as reading the audit log.
//!
//! The decision is Teleport's: the deny rules of every role first, then the
//! allow rules of any role; `*` in `resources` or `verbs` matches anything,
//! and `read` also allows `readnosecrets` (reading with secrets left out).
//!
//! Two parts of a rule are kept, so roles round-trip, but not acted on yet.
//! Wherever that could change a decision, the decision grants less than
//! Teleport would, never more:
//!
//! - `where`, a condition in Teleport's predicate language
//!   (`contains(session.participants, user.metadata.name)`), is not
//!   evaluated here: an allow rule with one grants nothing, and a deny rule
//!   with one denies as if it had none. `rule_scope.rs` understands that
//!   one condition, for callers that can apply it (recordings).
//! - `actions`, side effects Teleport runs when a rule matches (`log(…)`),
//!   are not run.

use std::fmt;

use crate::access::RoleSet;
use crate::labels::WILDCARD;
use crate::node::{Node, Value};
use crate::reader::{At, Issue};

/// Teleport lets a rule with `read` allow `readnosecrets`: reading an
/// object with its secrets left out is less than reading it.
const READ: &str = "read";
const READ_NO_SECRETS: &str = "readnosecrets";

/// One entry of `rules`: these verbs on these kinds of resource.
///
/// Parsed rules always have at least one resource and one verb, none of
/// them empty, and `where_clause` is `None` or a non-blank expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Resource kinds, such as `event` or `role`; `*` is every kind.
    pub resources: Vec<String>,
    /// Verbs, such as `list`, `read` or `create`; `*` is every verb.
    pub verbs: Vec<String>,
    /// `where`: a Teleport predicate expression. Not evaluated: an allow
    /// rule with one grants nothing, a deny rule with one always denies.
    /// `None` when absent or empty, as in Teleport.
    pub where_clause: Option<String>,
    /// `actions`: what Teleport runs when the rule matches. Kept so the
    /// role is written back as it was; Oriel never runs them.
    pub actions: Vec<String>,
}

impl Rule {
    /// A rule without `where` or `actions`.
    pub fn new<R, V>(
        resources: impl IntoIterator<Item = R>,
        verbs: impl IntoIterator<Item = V>,
    ) -> Rule
    where
        R: Into<String>,
        V: Into<String>,
    {
        Rule {
            resources: resources.into_iter().map(Into::into).collect(),
            verbs: verbs.into_iter().map(Into::into).collect(),
            where_clause: None,
            actions: Vec::new(),
        }
    }

    /// Whether this rule, in a role's allow half, grants `verb` on
    /// `resource`. Never with a `where`, which is not evaluated.
    fn allows(&self, resource: &str, verb: &str) -> bool {
        self.where_clause.is_none() && self.names(resource, verb)
    }

    /// Whether `resources` and `verbs` both name what was asked, `where` aside.
    pub(crate) fn names(&self, resource: &str, verb: &str) -> bool {
        names(&self.resources, resource) && names_verb(&self.verbs, verb)
    }

    /// Whether this rule, in a role's deny half, refuses `verb` on
    /// `resource`, `where` or not. Asking for `*` asks for everything, so
    /// any deny rule on the other part refuses it.
    pub(crate) fn denies(&self, resource: &str, verb: &str) -> bool {
        (resource == WILDCARD || names(&self.resources, resource))
            && (verb == WILDCARD || names_verb(&self.verbs, verb))
    }

    pub(crate) fn to_node(&self) -> Node {
        let mut out = vec![
            ("resources", Node::strings(&self.resources)),
            ("verbs", Node::strings(&self.verbs)),
        ];
        if let Some(w) = &self.where_clause {
            out.push(("where", Node::str(w)));
        }
        if !self.actions.is_empty() {
            out.push(("actions", Node::strings(&self.actions)));
        }
        Node::map(out)
    }
}

fn names(list: &[String], asked: &str) -> bool {
    list.iter().any(|n| n == WILDCARD || n == asked)
}

fn names_verb(verbs: &[String], asked: &str) -> bool {
    names(verbs, asked) || (asked == READ_NO_SECRETS && verbs.iter().any(|v| v == READ))
}

/// The rule as flow YAML, as it would be written in a role:
/// `{resources: [event], verbs: [list, read]}`.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{resources: ")?;
        flow_list(f, &self.resources)?;
        f.write_str(", verbs: ")?;
        flow_list(f, &self.verbs)?;
        if let Some(w) = &self.where_clause {
            write!(f, ", where: {w:?}")?;
        }
        if !self.actions.is_empty() {
            f.write_str(", actions: ")?;
            flow_list(f, &self.actions)?;
        }
        f.write_str("}")
    }
}

fn flow_list<S: AsRef<str>>(f: &mut fmt::Formatter<'_>, items: &[S]) -> fmt::Result {
    f.write_str("[")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        let item = item.as_ref();
        // Quoted unless it reads back as the same string in flow YAML
        // (`*` alone would be an alias, `a, b` two items).
        let plain = !item.is_empty()
            && !item.starts_with('-')
            && item
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
        if plain {
            f.write_str(item)?;
        } else {
            write!(f, "{item:?}")?;
        }
    }
    f.write_str("]")
}

/// The answer of [`RoleSet::check_rule`] and [`RoleSet::check_rules`].
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleDecision {
    /// Every verb asked for is allowed.
    Allowed {
        /// The first role (in the set's order) that allows every verb, or
        /// when no single role does, the first that allows the first verb.
        role: String,
    },
    /// Refused.
    Denied {
        /// Why, as a sentence for the person refused: lowercase, no final
        /// period, so a caller may append a hint of its own (which preset
        /// role has such a rule, say) after a `;`.
        reason: String,
    },
}

impl RuleDecision {
    /// Whether everything asked for was allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, RuleDecision::Allowed { .. })
    }
}

impl fmt::Display for RuleDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleDecision::Allowed { role } => write!(f, "allowed by role {role:?}"),
            RuleDecision::Denied { reason } => f.write_str(reason),
        }
    }
}

/// One role's rules, indexed like [`RoleSet`]'s roles.
#[derive(Debug, Clone)]
pub(crate) struct RoleRules {
    pub(crate) allow: Vec<Rule>,
    pub(crate) deny: Vec<Rule>,
}

impl RoleSet {
    /// Decides whether these roles allow `verb` on `resource` (a kind such
    /// as `event`, `session` or `role`, as in Teleport), from their `rules`.
    ///
    /// Deny first: a deny rule of any role that names the resource and the
    /// verb (or `*`) refuses, naming the role. Otherwise an allow rule of
    /// any role that names both allows. Anything else is refused.
    ///
    /// `where` conditions are not evaluated yet, and never give more access
    /// than written: an allow rule with a `where` grants nothing, and a deny
    /// rule with a `where` denies unconditionally. Teleport's preset
    /// `access` role, for example, lets users read the sessions they took
    /// part in through a `where`; here it grants no session reading.
    ///
    /// ```
    /// use oriel_rbac::{RoleSet, Traits, parse_roles};
    ///
    /// let roles = parse_roles("auditor.yaml", r#"
    /// kind: role
    /// version: v7
    /// metadata: {name: auditor}
    /// spec:
    ///   allow:
    ///     rules:
    ///       - resources: [session, event]
    ///         verbs: [list, read]
    /// "#).unwrap();
    /// let set = RoleSet::new(&roles, &Traits::new());
    /// assert!(set.check_rule("event", "list").is_allowed());
    /// assert_eq!(
    ///     set.check_rule("role", "update").to_string(),
    ///     r#"your roles do not allow "update" on "role" (a role needs rules: [{resources: [role], verbs: [update]}])"#,
    /// );
    /// ```
    pub fn check_rule(&self, resource: &str, verb: &str) -> RuleDecision {
        self.check_rules(resource, &[verb])
    }

    /// Like [`RoleSet::check_rule`], for an operation that needs every verb
    /// of `verbs` on `resource` (listing events needs `list` and `read`).
    /// The verbs may be allowed by different roles; a deny rule on any one
    /// of them refuses. An empty `verbs` is refused: a caller that asks for
    /// nothing has a bug, and a bug should not grant access.
    pub fn check_rules(&self, resource: &str, verbs: &[&str]) -> RuleDecision {
        let denied = |reason: String| RuleDecision::Denied { reason };
        if verbs.is_empty() {
            return denied(format!(
                "no verb was named for {resource:?}, so nothing is allowed"
            ));
        }
        if resource.is_empty() || verbs.iter().any(|v| v.is_empty()) {
            return denied("an empty resource or verb name is never allowed".to_owned());
        }

        for (role, rules) in self.roles.iter().zip(&self.rules) {
            for rule in &rules.deny {
                if let Some(verb) = verbs.iter().find(|v| rule.denies(resource, v)) {
                    let mut reason = format!(
                        "denied by role {:?}: its deny rule {rule} forbids {verb:?} on {resource:?}",
                        role.name
                    );
                    if rule.where_clause.is_some() {
                        reason.push_str(
                            " (where conditions are not evaluated yet, so a deny rule with one always applies)",
                        );
                    }
                    return denied(reason);
                }
            }
        }

        let allows =
            |i: usize, verb: &str| self.rules[i].allow.iter().any(|r| r.allows(resource, verb));
        let all = 0..self.rules.len();
        if let Some(i) = all
            .clone()
            .find(|&i| verbs.iter().all(|verb| allows(i, verb)))
        {
            return RuleDecision::Allowed {
                role: self.roles[i].name.clone(),
            };
        }
        // Each verb may come from a different role; name the first verb's.
        let Some(first) = all.clone().find(|&i| allows(i, verbs[0])) else {
            return denied(self.no_allow_reason(resource, verbs[0], verbs));
        };
        if let Some(verb) = verbs.iter().find(|v| !all.clone().any(|i| allows(i, v))) {
            return denied(self.no_allow_reason(resource, verb, verbs));
        }
        RuleDecision::Allowed {
            role: self.roles[first].name.clone(),
        }
    }

    /// Why nothing allows `verb` on `resource`, and the rule that would.
    fn no_allow_reason(&self, resource: &str, verb: &str, verbs: &[&str]) -> String {
        let mut reason = format!("your roles do not allow {verb:?} on {resource:?}");
        // A rule that would allow it but for its `where` is the likeliest
        // surprise for someone who wrote a Teleport role; name it.
        let conditional = self
            .roles
            .iter()
            .zip(&self.rules)
            .find_map(|(role, rules)| {
                rules.allow.iter().find_map(|r| {
                    let w = r.where_clause.as_deref()?;
                    r.names(resource, verb).then_some((role.name.as_str(), w))
                })
            });
        if let Some((role, w)) = conditional {
            reason.push_str(&format!(
                ": role {role:?} allows it only where {w}, and where conditions are not evaluated yet"
            ));
        }
        let mut needed: Vec<&str> = Vec::with_capacity(verbs.len());
        for v in verbs {
            if !needed.contains(v) {
                needed.push(v);
            }
        }
        let needed = Rule::new([resource], needed);
        reason.push_str(&format!(" (a role needs rules: [{needed}])"));
        reason
    }
}

// ---------------------------------------------------------------------------
// Validation: Node → rules.

/// `rules`: a list of mappings with `resources`, `verbs`, and optionally
/// `where` and `actions`. Unlike the role's other sections, a rule refuses
/// unknown keys: a misspelt `verb` would otherwise silently leave a rule
/// that can never match, or, in a deny rule, a hole.
pub(crate) fn rules_from_node(at: &At<'_>) -> Result<Vec<Rule>, Issue> {
    at.items("a list of rules")?.iter().map(rule).collect()
}

fn rule(at: &At<'_>) -> Result<Rule, Issue> {
    if !matches!(at.value(), Value::Map(_)) {
        return Err(at.expected("a mapping with resources and verbs"));
    }
    let mut resources = None;
    let mut verbs = None;
    let mut out = Rule::new::<String, String>([], []);
    for (key, v) in at.entries()? {
        match key {
            "resources" => resources = Some(at_least_one(&v, "resource", "a resource name")?),
            "verbs" => verbs = Some(at_least_one(&v, "verb", "a verb")?),
            "where" => out.where_clause = condition(&v)?,
            "actions" => out.actions = list(&v, "an action")?,
            _ => {
                return Err(
                    v.key_issue("unknown field, expected resources, verbs, where or actions")
                );
            }
        }
    }
    out.resources = resources.ok_or_else(|| at.issue("missing field resources"))?;
    out.verbs = verbs.ok_or_else(|| at.issue("missing field verbs"))?;
    Ok(out)
}

/// A list of non-blank strings, such as `actions` (and `join_sessions`' names).
pub(crate) fn list(at: &At<'_>, item: &str) -> Result<Vec<String>, Issue> {
    let mut out = Vec::new();
    for item_at in at.items("a list of strings")? {
        let s = item_at.string()?;
        if s.trim().is_empty() {
            return Err(item_at.issue(format!("{item} cannot be empty")));
        }
        out.push(s.to_owned());
    }
    Ok(out)
}

/// `resources` and `verbs`: as Teleport, a rule must name one of each; an
/// empty list would be a rule that can never match.
fn at_least_one(at: &At<'_>, noun: &str, item: &str) -> Result<Vec<String>, Issue> {
    let out = list(at, item)?;
    if out.is_empty() {
        return Err(at.issue(format!("a rule needs at least one {noun}")));
    }
    Ok(out)
}

fn condition(at: &At<'_>) -> Result<Option<String>, Issue> {
    match at.value() {
        Value::Null => Ok(None),
        // Teleport writes an absent `where` as "".
        Value::Str(s) if s.is_empty() => Ok(None),
        Value::Str(s) if s.trim().is_empty() => {
            Err(at
                .issue("a where condition cannot be blank; leave it out to apply the rule always"))
        }
        Value::Str(s) => Ok(Some(s.clone())),
        _ => Err(at.expected("an expression in a string")),
    }
}
