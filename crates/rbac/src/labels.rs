//! Label selectors (`windows_desktop_labels: {env: [dev, stage]}`) and how
//! they match a desktop's labels.
//!
//! The rules, as Teleport applies them:
//!
//! - an empty selector matches nothing;
//! - `'*': '*'` matches every desktop, even one without labels, whatever
//!   other keys the selector has;
//! - otherwise every key of the selector must be a label of the desktop, and
//!   its value must match one of the listed values;
//! - a listed `*` matches any value (the key must still be there);
//! - a value written `^…$` is a regular expression; any other value is a
//!   glob where `*` stands for any run of characters, anchored at both ends.
//!
//! A `*` key with any value other than `*` alone is refused when the role is
//! loaded (Teleport refuses it in allow rules, and in a deny rule it could
//! only ever match a label literally named `*`). Regular expressions are
//! compiled when the role is loaded, so a bad one is a load error, never a
//! failure while matching. Keys and values may also be `{{…}}` templates;
//! those are filled from the user's traits and compiled per user.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use regex::Regex;

use crate::traits::{Template, Traits};

/// The wildcard key and value.
pub const WILDCARD: &str = "*";

/// One role field such as `linux_desktop_labels`: label key → accepted values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    entries: Vec<SelectorEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct SelectorEntry {
    key: Template,
    values: Vec<SelectorValue>,
}

#[derive(Debug, Clone)]
struct SelectorValue {
    template: Template,
    /// Compiled once when the value holds no template.
    pattern: Option<ValuePattern>,
}

impl PartialEq for SelectorValue {
    fn eq(&self, other: &SelectorValue) -> bool {
        self.template == other.template
    }
}
impl Eq for SelectorValue {}

/// Why a selector was refused; the caller adds the field path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A key or value template does not parse.
    #[error("{0}")]
    Template(#[from] crate::traits::TemplateError),
    /// A `^…$` value is not a valid regular expression.
    #[error("invalid regex {pattern:?}: {reason}")]
    Regex {
        /// The value as written.
        pattern: String,
        /// What the regex engine said.
        reason: String,
    },
    /// `'*'` used as a key with a value other than `'*'`.
    #[error(
        "selector '*': {values:?} is not supported, a wildcard key may only be used as '*': '*'"
    )]
    WildcardKey {
        /// The values listed under the `*` key.
        values: Vec<String>,
    },
    /// An empty key.
    #[error("a label key cannot be empty")]
    EmptyKey,
}

impl LabelSelector {
    /// Builds a selector from key → values, checking every key and value;
    /// on error, says which key and why.
    pub fn new<K, V, I>(entries: I) -> Result<LabelSelector, (String, SelectorError)>
    where
        I: IntoIterator<Item = (K, Vec<V>)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut out = LabelSelector::default();
        for (key, values) in entries {
            let key = key.into();
            let values: Vec<String> = values.into_iter().map(Into::into).collect();
            out.push(&key, &values).map_err(|e| (key, e))?;
        }
        Ok(out)
    }

    /// `'*': '*'`: every desktop of the kind.
    pub fn wildcard() -> LabelSelector {
        LabelSelector::new([(WILDCARD, vec![WILDCARD])]).expect("the wildcard selector is valid")
    }

    /// Adds one key. Used by the role parser, which reports errors per key.
    pub(crate) fn push(&mut self, key: &str, values: &[String]) -> Result<(), SelectorError> {
        if key.is_empty() {
            return Err(SelectorError::EmptyKey);
        }
        if key == WILDCARD && !(values.len() == 1 && values[0] == WILDCARD) {
            return Err(SelectorError::WildcardKey {
                values: values.to_vec(),
            });
        }
        let key = Template::parse(key)?;
        let values = values
            .iter()
            .map(|v| {
                let template = Template::parse(v)?;
                let pattern = if template.is_literal() {
                    Some(ValuePattern::parse(v)?)
                } else {
                    None
                };
                Ok(SelectorValue { template, pattern })
            })
            .collect::<Result<_, SelectorError>>()?;
        self.entries.push(SelectorEntry { key, values });
        Ok(())
    }

    /// Checks one value as [`LabelSelector::new`] would, so the role parser
    /// can point at the offending list item.
    pub(crate) fn check_value(value: &str) -> Result<(), SelectorError> {
        if Template::parse(value)?.is_literal() {
            ValuePattern::parse(value)?;
        }
        Ok(())
    }

    /// Whether the selector lists no key, and so matches nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The keys and values as written, in document order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, Vec<&str>)> {
        self.entries.iter().map(|e| {
            (
                e.key.as_str(),
                e.values.iter().map(|v| v.template.as_str()).collect(),
            )
        })
    }

    /// Fills templates from the user's traits and compiles the result.
    ///
    /// As in Teleport, a key template that expands to several values uses the
    /// first one. A key or value that expands to nothing, or to an invalid
    /// regex, matches nothing.
    pub(crate) fn compile(&self, traits: &Traits) -> CompiledSelector {
        if self.entries.is_empty() {
            return CompiledSelector::Nothing;
        }
        let mut keys = Vec::with_capacity(self.entries.len());
        let (mut everything, mut dead) = (false, false);
        for entry in &self.entries {
            let mut any = false;
            let mut patterns = Vec::new();
            for value in &entry.values {
                match &value.pattern {
                    Some(ValuePattern::Any) => any = true,
                    Some(p) => patterns.push(p.clone()),
                    None => {
                        for v in value.template.expand(traits) {
                            match ValuePattern::parse(&v) {
                                Ok(ValuePattern::Any) => any = true,
                                Ok(p) => patterns.push(p),
                                Err(_) => {}
                            }
                        }
                    }
                }
            }
            match entry.key.expand(traits).into_iter().next() {
                Some(key)
                    if key == WILDCARD && any && patterns.is_empty() && entry.values.len() == 1 =>
                {
                    everything = true;
                }
                Some(key) => keys.push(KeyMatcher {
                    key,
                    values: if any {
                        KeyValues::Any
                    } else {
                        KeyValues::Patterns(patterns)
                    },
                }),
                // A key whose trait is missing can never be on a desktop.
                None => dead = true,
            }
        }
        // `'*': '*'` wins over every other key, as in Teleport.
        if everything {
            return CompiledSelector::Everything;
        }
        if dead {
            return CompiledSelector::Nothing;
        }
        CompiledSelector::Keys(keys)
    }
}

/// A value of a selector, ready to match.
#[derive(Debug, Clone)]
pub(crate) enum ValuePattern {
    /// `*`.
    Any,
    /// A glob without `*`: plain equality.
    Exact(String),
    /// A glob with `*`.
    Glob(Glob),
    /// A `^…$` regex.
    Regex(Regex),
}

/// A glob with at least one `*`, matched without a regex engine: the
/// literal pieces between stars must appear in order, the first at the start
/// and the last at the end.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    /// The text split at each `*`: at least two pieces, possibly empty.
    pieces: Vec<String>,
}

impl Glob {
    fn new(glob: &str) -> Glob {
        Glob {
            pieces: glob.split('*').map(str::to_owned).collect(),
        }
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        if value.contains('\n') {
            return self.matches_lines(value);
        }
        let (first, rest) = self.pieces.split_first().expect("a glob has two pieces");
        let (last, middle) = rest.split_last().expect("a glob has two pieces");
        if value.len() < first.len() + last.len()
            || !value.starts_with(first.as_str())
            || !value.ends_with(last.as_str())
        {
            return false;
        }
        // Leftmost placement of each middle piece leaves the most room for the next.
        let mut window = &value[first.len()..value.len() - last.len()];
        for piece in middle {
            match window.find(piece.as_str()) {
                Some(at) => window = &window[at + piece.len()..],
                None => return false,
            }
        }
        true
    }

    /// Teleport compiles a glob to a regex where `*` is `.*`, and `.` does
    /// not match a line break. For the rare value that holds one, match
    /// with that rule: `reach[j]` says whether the pattern so far can
    /// consume the first `j` characters.
    fn matches_lines(&self, value: &str) -> bool {
        let v: Vec<char> = value.chars().collect();
        let mut reach = vec![false; v.len() + 1];
        reach[0] = true;
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                // A star: extend every reachable point up to the next line break.
                let mut open = false;
                for j in 0..=v.len() {
                    if j > 0 && v[j - 1] == '\n' {
                        open = false;
                    }
                    open |= reach[j];
                    reach[j] = open;
                }
            }
            for c in piece.chars() {
                for j in (0..=v.len()).rev() {
                    reach[j] = j > 0 && reach[j - 1] && v[j - 1] == c;
                }
            }
        }
        reach[v.len()]
    }
}

impl ValuePattern {
    pub(crate) fn parse(value: &str) -> Result<ValuePattern, SelectorError> {
        if value == WILDCARD {
            return Ok(ValuePattern::Any);
        }
        let invalid = |e: regex::Error| SelectorError::Regex {
            pattern: value.to_owned(),
            reason: regex_reason(&e),
        };
        if value.len() >= 2 && value.starts_with('^') && value.ends_with('$') {
            Regex::new(value).map(ValuePattern::Regex).map_err(invalid)
        } else if value.contains('*') {
            Ok(ValuePattern::Glob(Glob::new(value)))
        } else {
            Ok(ValuePattern::Exact(value.to_owned()))
        }
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            ValuePattern::Any => true,
            ValuePattern::Exact(v) => v == value,
            ValuePattern::Glob(g) => g.matches(value),
            ValuePattern::Regex(re) => re.is_match(value),
        }
    }
}

/// The regex engine's complaint on one line: its syntax errors draw a
/// caret diagram over several lines, and only the last one says what is wrong.
pub(crate) fn regex_reason(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => {
            let last = text.lines().last().unwrap_or(text);
            last.strip_prefix("error: ").unwrap_or(last).to_owned()
        }
        other => other.to_string(),
    }
}

/// A selector with the user's traits filled in and every pattern compiled.
#[derive(Debug, Clone)]
pub(crate) enum CompiledSelector {
    /// Empty selector, or a key that expanded to nothing.
    Nothing,
    /// `'*': '*'`.
    Everything,
    /// Every key must be present and match.
    Keys(Vec<KeyMatcher>),
}

/// What each value of this key requires of a desktop's value, if every
/// value can be indexed.
fn index_terms(k: &KeyMatcher) -> Option<Vec<IndexTerm<'_>>> {
    let KeyValues::Patterns(p) = &k.values else {
        return None;
    };
    p.iter()
        .map(|p| match p {
            ValuePattern::Exact(v) => Some(IndexTerm::Exact(v)),
            ValuePattern::Glob(g) if !g.pieces[0].is_empty() => {
                Some(IndexTerm::Prefix(&g.pieces[0]))
            }
            _ => None,
        })
        .collect()
}

/// What an indexed selector value requires of a desktop's label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexTerm<'a> {
    /// Exactly this value.
    Exact(&'a str),
    /// A value starting with this non-empty text (a glob such as `web-*`).
    Prefix(&'a str),
}

#[derive(Debug, Clone)]
pub(crate) struct KeyMatcher {
    pub(crate) key: String,
    pub(crate) values: KeyValues,
}

#[derive(Debug, Clone)]
pub(crate) enum KeyValues {
    Any,
    Patterns(Vec<ValuePattern>),
}

impl KeyValues {
    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            KeyValues::Any => true,
            KeyValues::Patterns(p) => p.iter().any(|p| p.matches(value)),
        }
    }
}

impl CompiledSelector {
    pub(crate) fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            CompiledSelector::Nothing => false,
            CompiledSelector::Everything => true,
            CompiledSelector::Keys(keys) => keys
                .iter()
                .all(|k| labels.get(&k.key).is_some_and(|v| k.values.matches(v))),
        }
    }

    /// For a selector that matched: which labels it matched, for humans,
    /// such as `env=prod` or `every desktop ('*': '*')`.
    pub(crate) fn describe_match(&self, labels: &BTreeMap<String, String>) -> String {
        match self {
            CompiledSelector::Nothing => "nothing".to_owned(),
            CompiledSelector::Everything => "every desktop ('*': '*')".to_owned(),
            CompiledSelector::Keys(keys) => {
                let mut out = String::new();
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(
                        out,
                        "{}={}",
                        k.key,
                        labels.get(&k.key).map_or("", String::as_str)
                    );
                }
                out
            }
        }
    }

    /// A text that is equal for two selectors exactly when they match the
    /// same desktops by construction (same keys, same patterns), so listing
    /// can evaluate shared selectors once.
    pub(crate) fn canonical(&self) -> String {
        let keys: Vec<(&str, Vec<String>)> = match self {
            CompiledSelector::Nothing => return "nothing".to_owned(),
            CompiledSelector::Everything => return "everything".to_owned(),
            CompiledSelector::Keys(keys) => keys
                .iter()
                .map(|k| {
                    let mut values: Vec<String> = match &k.values {
                        KeyValues::Any => vec!["any".to_owned()],
                        KeyValues::Patterns(p) => p
                            .iter()
                            .map(|p| match p {
                                ValuePattern::Any => "any".to_owned(),
                                ValuePattern::Exact(v) => format!("exact:{v}"),
                                ValuePattern::Glob(g) => format!("glob:{}", g.pieces.join("*")),
                                ValuePattern::Regex(r) => format!("regex:{}", r.as_str()),
                            })
                            .collect(),
                    };
                    values.sort();
                    values.dedup();
                    (k.key.as_str(), values)
                })
                .collect(),
        };
        let mut keys = keys;
        keys.sort();
        // Debug quotes every string, so distinct selectors cannot collide.
        format!("{keys:?}")
    }

    /// A key to index this selector by, with what each of its values
    /// requires of a desktop's value: an exact value or a literal prefix.
    /// Keys with only exact values are preferred. `None` when some value
    /// of every key could match anything (a `*`, a regex, a glob starting
    /// with `*`): then every desktop must be checked.
    pub(crate) fn index_key(&self) -> Option<(&str, Vec<IndexTerm<'_>>)> {
        let CompiledSelector::Keys(keys) = self else {
            return None;
        };
        let all_exact = |t: &Vec<IndexTerm<'_>>| t.iter().all(|t| matches!(t, IndexTerm::Exact(_)));
        let candidates: Vec<(&str, Vec<IndexTerm<'_>>)> = keys
            .iter()
            .filter_map(|k| Some((k.key.as_str(), index_terms(k)?)))
            .collect();
        let best = candidates
            .iter()
            .position(|(_, t)| all_exact(t))
            .unwrap_or(0);
        candidates.into_iter().nth(best)
    }
}
