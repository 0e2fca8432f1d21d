//! User traits and the `{{…}}` templates that roles fill from them.
//!
//! A role value is either a literal (`Administrator`) or one template with an
//! optional literal prefix and suffix (`adm-{{internal.windows_logins}}`).
//! Inside the braces, as in Teleport:
//!
//! - `internal.NAME` and `external.NAME`, or `external["name-with-dashes"]`;
//! - `email.local(EXPR)`: the part of an e-mail address before the `@`;
//! - `regexp.replace(EXPR, "regex", "replacement")`: values that do not match
//!   are dropped, the others rewritten (`$1`, `${name}` refer to groups).
//!
//! `regexp.match` and `regexp.not_match` are refused: Teleport uses them only
//! in matchers, never as values.
//!
//! Like Teleport, both namespaces read the same trait map: a local user's
//! traits are the ones set by `users add --windows-logins=…`, an SSO user's
//! are the claims mapped at login. `internal.` only accepts the trait names
//! Teleport knows (plus `linux_logins`), so a typo is an error when the role
//! is loaded rather than a login that silently never expands.
//!
//! A template whose trait is missing, or whose function fails (an address
//! without `@`), expands to nothing; so does an empty value.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

/// The trait set by `users add --linux-logins=…`, read by `{{internal.linux_logins}}`.
pub const LINUX_LOGINS: &str = "linux_logins";
/// The trait set by `users add --windows-logins=…`, read by `{{internal.windows_logins}}`.
pub const WINDOWS_LOGINS: &str = "windows_logins";

/// Names accepted after `internal.`: Teleport's internal traits and ours.
pub const INTERNAL_TRAITS: &[&str] = &[
    "logins",
    WINDOWS_LOGINS,
    LINUX_LOGINS,
    "kubernetes_groups",
    "kubernetes_users",
    "db_names",
    "db_users",
    "db_roles",
    "aws_role_arns",
    "azure_identities",
    "gcp_service_accounts",
    "jwt",
];

/// A user's traits: name → values. Local users get `linux_logins` and
/// `windows_logins`; SSO users get the claims their connector maps.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Traits(BTreeMap<String, Vec<String>>);

impl Traits {
    /// No traits.
    pub fn new() -> Traits {
        Traits::default()
    }

    /// Sets one trait (builder style), replacing any earlier values.
    pub fn with<I, S>(mut self, name: impl Into<String>, values: I) -> Traits
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.insert(name, values);
        self
    }

    /// Sets one trait, replacing any earlier values.
    pub fn insert<I, S>(&mut self, name: impl Into<String>, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.0
            .insert(name.into(), values.into_iter().map(Into::into).collect());
    }

    /// The values of one trait, if the user has it.
    pub fn get(&self, name: &str) -> Option<&[String]> {
        self.0.get(name).map(Vec::as_slice)
    }

    /// All traits.
    pub fn as_map(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }
}

impl From<BTreeMap<String, Vec<String>>> for Traits {
    fn from(map: BTreeMap<String, Vec<String>>) -> Traits {
        Traits(map)
    }
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    message: String,
}

fn err<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError {
        message: message.into(),
    })
}

/// A role value: a literal, or a `{{…}}` template filled from traits.
#[derive(Debug, Clone)]
pub struct Template {
    raw: String,
    expr: Option<Interpolation>,
}

#[derive(Debug, Clone)]
struct Interpolation {
    prefix: String,
    expr: Expr,
    suffix: String,
}

#[derive(Debug, Clone)]
enum Expr {
    Str(String),
    /// `internal.NAME` or `external.NAME`: both read `traits[NAME]`.
    Var {
        name: String,
    },
    EmailLocal(Box<Expr>),
    RegexpReplace {
        source: Box<Expr>,
        re: Regex,
        replacement: String,
    },
}

impl PartialEq for Template {
    fn eq(&self, other: &Template) -> bool {
        self.raw == other.raw
    }
}
impl Eq for Template {}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Template {
    /// Parses a role value. Text without `{{`/`}}` is a literal.
    pub fn parse(raw: &str) -> Result<Template, TemplateError> {
        let expr = match split_braces(raw) {
            None if raw.contains("{{") || raw.contains("}}") => {
                return err(format!(
                    "{raw:?} uses template brackets but does not parse, expected text{{{{expression}}}}text"
                ));
            }
            None => None,
            Some((prefix, inner, suffix)) => {
                let mut p = ExprParser { s: inner, at: 0 };
                let expr = p.expr()?;
                p.skip_ws();
                if p.at != p.s.len() {
                    return err(format!("unexpected {:?} in {raw:?}", &p.s[p.at..]));
                }
                Some(Interpolation {
                    prefix: prefix.trim_start().to_owned(),
                    expr,
                    suffix: suffix.trim_end().to_owned(),
                })
            }
        };
        Ok(Template {
            raw: raw.to_owned(),
            expr,
        })
    }

    /// The text as written in the role.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether this value is plain text, not a template.
    pub fn is_literal(&self) -> bool {
        self.expr.is_none()
    }

    /// The values this template stands for with these traits: the literal
    /// itself, or one value per trait value, without empty ones.
    pub fn expand(&self, traits: &Traits) -> Vec<String> {
        let Some(i) = &self.expr else {
            return vec![self.raw.clone()];
        };
        let Some(values) = i.expr.eval(traits) else {
            return Vec::new();
        };
        values
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(|v| format!("{}{v}{}", i.prefix, i.suffix))
            .collect()
    }
}

/// `prefix{{inner}}suffix` where prefix, inner and suffix hold no brace.
fn split_braces(raw: &str) -> Option<(&str, &str, &str)> {
    let open = raw.find("{{")?;
    let close = raw[open + 2..].find("}}")? + open + 2;
    let (prefix, inner, suffix) = (&raw[..open], &raw[open + 2..close], &raw[close + 2..]);
    let braceless = |s: &str| !s.contains(['{', '}']);
    (braceless(prefix) && braceless(inner) && braceless(suffix)).then_some((prefix, inner, suffix))
}

impl Expr {
    /// `None` when a trait is missing or a function fails: the value is skipped.
    fn eval(&self, traits: &Traits) -> Option<Vec<String>> {
        match self {
            Expr::Str(s) => Some(vec![s.clone()]),
            Expr::Var { name, .. } => traits.get(name).map(<[String]>::to_vec),
            Expr::EmailLocal(inner) => inner.eval(traits)?.iter().map(|e| email_local(e)).collect(),
            Expr::RegexpReplace {
                source,
                re,
                replacement,
            } => Some(
                source
                    .eval(traits)?
                    .into_iter()
                    .filter(|v| re.is_match(v))
                    .map(|v| re.replace_all(&v, replacement.as_str()).into_owned())
                    .collect(),
            ),
        }
    }
}

/// The local part of `user@example.com` or `Name <user@example.com>`.
fn email_local(address: &str) -> Option<String> {
    let address = address.trim();
    let address = match (address.rfind('<'), address.strip_suffix('>')) {
        (Some(open), Some(inner)) => &inner[open + 1..],
        _ => address,
    };
    let (local, domain) = address.split_once('@')?;
    (!local.is_empty() && !domain.is_empty() && !local.contains(char::is_whitespace))
        .then(|| local.to_owned())
}

/// Recursive descent over the small expression language inside `{{ }}`.
struct ExprParser<'a> {
    s: &'a str,
    at: usize,
}

impl ExprParser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.at..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.at = self.s.len() - trimmed.len();
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.at += token.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: char) -> Result<(), TemplateError> {
        if self.eat(token) {
            Ok(())
        } else {
            err(format!("expected {token:?} in {{{{{}}}}}", self.s))
        }
    }

    fn ident(&mut self) -> Result<String, TemplateError> {
        self.skip_ws();
        let len = self
            .rest()
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_alphanumeric()) || (i == 0 && c.is_numeric()))
            .map_or(self.rest().len(), |(i, _)| i);
        if len == 0 {
            return err(format!("expected a name in {{{{{}}}}}", self.s));
        }
        let ident = self.rest()[..len].to_owned();
        self.at += len;
        Ok(ident)
    }

    /// A Go string literal: "…" with backslash escapes, or `…` raw.
    fn string(&mut self) -> Result<Option<String>, TemplateError> {
        self.skip_ws();
        let rest = self.rest();
        if let Some(raw) = rest.strip_prefix('`') {
            let Some(end) = raw.find('`') else {
                return err("unterminated raw string");
            };
            let text = raw[..end].to_owned();
            self.at += end + 2;
            return Ok(Some(text));
        }
        let Some(body) = rest.strip_prefix('"') else {
            return Ok(None);
        };
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.at += 1 + i + 1;
                    return Ok(Some(out));
                }
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('\\') => out.push('\\'),
                    Some('"') => out.push('"'),
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    other => return err(format!("unsupported escape \\{}", other.unwrap_or(' '))),
                },
                c => out.push(c),
            }
        }
        err("unterminated string")
    }

    fn expr(&mut self) -> Result<Expr, TemplateError> {
        if let Some(s) = self.string()? {
            return Ok(Expr::Str(s));
        }
        let first = self.ident()?;
        if self.eat('[') {
            let Some(name) = self.string()? else {
                return err(format!("expected a quoted trait name after {first}["));
            };
            self.expect(']')?;
            return variable(&first, name);
        }
        self.expect('.')?;
        let second = self.ident()?;
        if !self.eat('(') {
            return variable(&first, second);
        }
        let mut args = Vec::new();
        if !self.eat(')') {
            loop {
                args.push(self.expr()?);
                if self.eat(')') {
                    break;
                }
                self.expect(',')?;
            }
        }
        function(&first, &second, args)
    }
}

fn variable(namespace: &str, name: String) -> Result<Expr, TemplateError> {
    match namespace {
        "internal" if !INTERNAL_TRAITS.contains(&name.as_str()) => err(format!(
            "unsupported variable internal.{name}, expected one of internal.{}",
            INTERNAL_TRAITS.join(", internal.")
        )),
        "internal" | "external" => Ok(Expr::Var { name }),
        other => err(format!(
            "unknown namespace {other:?}, expected internal or external"
        )),
    }
}

fn function(namespace: &str, name: &str, mut args: Vec<Expr>) -> Result<Expr, TemplateError> {
    let arity = |n: usize, args: &[Expr]| {
        if args.len() == n {
            Ok(())
        } else {
            err(format!(
                "{namespace}.{name} takes {n} argument(s), got {}",
                args.len()
            ))
        }
    };
    match (namespace, name) {
        ("email", "local") => {
            arity(1, &args)?;
            Ok(Expr::EmailLocal(Box::new(args.remove(0))))
        }
        ("regexp", "replace") => {
            arity(3, &args)?;
            let replacement = args.pop();
            let pattern = args.pop();
            let (Some(Expr::Str(pattern)), Some(Expr::Str(replacement))) = (pattern, replacement)
            else {
                return err("regexp.replace takes a quoted regex and a quoted replacement");
            };
            let re = Regex::new(&pattern).or_else(|e| {
                err(format!(
                    "invalid regex {pattern:?} in regexp.replace: {}",
                    crate::labels::regex_reason(&e)
                ))
            })?;
            Ok(Expr::RegexpReplace {
                source: Box::new(args.remove(0)),
                re,
                replacement,
            })
        }
        ("regexp", "match" | "not_match") => err(format!(
            "regexp.{name} is a matcher and cannot produce a value; use it in a where clause"
        )),
        _ => err(format!(
            "unsupported function {namespace}.{name}, expected email.local or regexp.replace"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(raw: &str, traits: &Traits) -> Vec<String> {
        Template::parse(raw).unwrap().expand(traits)
    }

    #[test]
    fn expands_like_teleport() {
        let t = Traits::new()
            .with("windows_logins", ["Administrator", "DBUser"])
            .with(
                "email",
                ["Alice <alice@example.com>", "bob@example.org", "broken"],
            )
            .with("groups", ["env-dev", "admins", ""]);
        assert_eq!(expand("Administrator", &t), ["Administrator"]);
        assert_eq!(
            expand("{{internal.windows_logins}}", &t),
            ["Administrator", "DBUser"]
        );
        assert_eq!(
            expand("{{ internal.windows_logins }}", &t),
            ["Administrator", "DBUser"]
        );
        assert_eq!(
            expand(" adm-{{internal.windows_logins}}-x ", &t),
            ["adm-Administrator-x", "adm-DBUser-x"]
        );
        assert_eq!(expand("{{external.groups}}", &t), ["env-dev", "admins"]);
        assert_eq!(
            expand(r#"{{external["groups"]}}"#, &t),
            ["env-dev", "admins"]
        );
        assert!(expand("{{internal.linux_logins}}", &t).is_empty());
        assert!(expand("{{external.nope}}", &t).is_empty());
        // One address without '@' fails the whole function, as in Teleport.
        assert!(expand("{{email.local(external.email)}}", &t).is_empty());
        let t2 = t
            .clone()
            .with("email", ["Alice <alice@example.com>", "bob@example.org"]);
        assert_eq!(
            expand("{{email.local(external.email)}}", &t2),
            ["alice", "bob"]
        );
        assert_eq!(
            expand(
                r#"{{regexp.replace(external.groups, "^env-(.*)$", "$1")}}"#,
                &t
            ),
            ["dev"]
        );
        assert_eq!(
            expand(
                r#"{{regexp.replace(email.local(external.email), `^(\w+)$`, "u_$1")}}"#,
                &t2
            ),
            ["u_alice", "u_bob"]
        );
    }

    #[test]
    fn refuses_bad_templates() {
        for (raw, want) in [
            (
                "{{internal.windows_login}}",
                "unsupported variable internal.windows_login",
            ),
            ("{{foo.bar}}", "unknown namespace"),
            ("{{internal}}", "expected '.'"),
            ("{{internal.logins", "template brackets"),
            ("a{{internal.logins}}{{external.x}}", "template brackets"),
            (r#"{{regexp.match("x")}}"#, "is a matcher"),
            (
                r#"{{regexp.replace(external.x, "(", "y")}}"#,
                "invalid regex",
            ),
            (
                "{{email.local(external.x, external.y)}}",
                "takes 1 argument",
            ),
            ("{{strings.upper(external.x)}}", "unsupported function"),
            ("{{external.x y}}", "unexpected"),
        ] {
            let e = Template::parse(raw).unwrap_err().to_string();
            assert!(e.contains(want), "{raw}: {e}");
        }
    }
}
