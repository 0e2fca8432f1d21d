//! `claims_to_roles`: how an identity provider's claims become Oriel roles,
//! in Teleport's shape. A mapping names a claim, a value and roles; every
//! mapping whose value matches one of the claim's values adds its roles.
//!
//! The value is a literal, a glob where `*` matches anything
//! (`admins-*`), or, between `^` and `$`, a regular expression whose
//! groups the roles may use (`^env-(.*)$` with roles `[$1-access]`). A
//! role that expands to nothing is skipped.

use std::collections::BTreeMap;

use regex::Regex;

/// One `claims_to_roles` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// The claim's name, e.g. `groups`.
    pub claim: String,
    /// The value to match: a literal, a glob or `^regex$`.
    pub value: String,
    /// Roles to add when it matches; may use `$1`… with a regex.
    pub roles: Vec<String>,
}

/// Why a mapping's value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(String);

impl ClaimMapping {
    /// The value as an anchored regular expression.
    pub fn pattern(&self) -> Result<Regex, MappingError> {
        let source = if self.value.starts_with('^') && self.value.ends_with('$') {
            self.value.clone()
        } else {
            let glob: Vec<String> = self.value.split('*').map(regex::escape).collect();
            format!("^{}$", glob.join(".*"))
        };
        Regex::new(&source).map_err(|e| MappingError(format!("{:?} is not a valid regular expression: {}", self.value, one_line(&e))))
    }
}

/// The regex crate's syntax errors draw a caret under the pattern over
/// several lines; an error message here is one line: the last one, which
/// says what is wrong.
fn one_line(error: &regex::Error) -> String {
    let text = error.to_string();
    let last = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or_default();
    last.trim().trim_start_matches("error: ").to_owned()
}

/// The roles `mappings` give for `claims` (each claim's values), in the
/// order the mappings and the claim's values come, each once. A mapping
/// whose value does not compile matches nothing (values are checked when
/// the connector is written).
pub fn roles_for(mappings: &[ClaimMapping], claims: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for mapping in mappings {
        let Ok(pattern) = mapping.pattern() else { continue };
        for value in claims.get(&mapping.claim).into_iter().flatten() {
            let Some(captures) = pattern.captures(value) else { continue };
            for template in &mapping.roles {
                let mut role = String::new();
                captures.expand(template, &mut role);
                if !role.is_empty() && !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(claim: &str, value: &str, roles: &[&str]) -> ClaimMapping {
        ClaimMapping { claim: claim.into(), value: value.into(), roles: roles.iter().map(|r| (*r).to_owned()).collect() }
    }

    fn claims(groups: &[&str]) -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([("groups".to_owned(), groups.iter().map(|g| (*g).to_owned()).collect())])
    }

    #[test]
    fn literals_globs_and_regexes_with_groups_map_claims_to_roles() {
        let mappings = [
            mapping("groups", "admins", &["access", "editor"]),
            mapping("groups", "ops-*", &["ops"]),
            mapping("groups", "^env-(.*)$", &["$1-access", "${1}-viewer"]),
            mapping("email", "*", &["everyone"]),
        ];
        assert_eq!(roles_for(&mappings, &claims(&["admins"])), ["access", "editor"]);
        assert_eq!(roles_for(&mappings, &claims(&["ops-eu", "ops-us", "env-dev"])), ["ops", "dev-access", "dev-viewer"]);
        assert!(roles_for(&mappings, &claims(&["administrators", "xops-eu", "env"])).is_empty(), "anchored: no partial matches");
        assert!(roles_for(&mappings, &BTreeMap::new()).is_empty());
    }

    #[test]
    fn glob_characters_other_than_the_star_are_literal_and_bad_regexes_say_why() {
        let dot = [mapping("groups", "a.b", &["r"])];
        assert!(roles_for(&dot, &claims(&["axb"])).is_empty());
        assert_eq!(roles_for(&dot, &claims(&["a.b"])), ["r"]);
        let empty = [mapping("groups", "^(x)?y$", &["$1"])];
        assert!(roles_for(&empty, &claims(&["y"])).is_empty(), "an empty expansion is skipped");
        let bad = mapping("groups", "^(unclosed$", &["r"]);
        let error = bad.pattern().unwrap_err().to_string();
        assert_eq!(error, "\"^(unclosed$\" is not a valid regular expression: unclosed group");
    }
}
