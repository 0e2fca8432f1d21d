//! Which desktops a user sees, and with which logins: the same rules as
//! [`RoleSet::check`], answered for many desktops at once.
//!
//! A desktop is visible when at least one login is allowed on it. For speed
//! with many roles, [`RoleSet::new`] prepares, per kind of desktop:
//!
//! - an index of the allow and deny selectors by one label they require,
//!   exactly or by a glob's literal prefix (`web-*`), so a desktop is matched
//!   only against the selectors that could match it, plus those that cannot
//!   be indexed (`'*': '*'`, regexes, `*` values, globs starting with `*`);
//! - one entry per distinct selector, with the logins of every role using it;
//! - label keys interned to small numbers, so matching a selector reads the
//!   desktop's values from an array instead of searching its label map.

use std::collections::HashMap;

use crate::access::{CompiledRole, RoleSet};
use crate::desktop::{Desktop, DesktopKind};
use crate::labels::{CompiledSelector, IndexTerm, KeyValues};

/// A desktop the user may open, and the logins the user may pick for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibleDesktop<'d> {
    /// The desktop, as passed in.
    pub desktop: &'d Desktop,
    /// Allowed logins, sorted, never empty.
    pub logins: Vec<String>,
}

/// A compiled selector whose keys are numbers into [`KindIndex::keys`].
#[derive(Debug, Clone)]
enum Selector {
    Everything,
    Keys(Vec<(u32, KeyValues)>),
}

impl Selector {
    fn matches(&self, slots: &[Option<&str>]) -> bool {
        match self {
            Selector::Everything => true,
            Selector::Keys(keys) => keys
                .iter()
                .all(|(id, values)| slots[*id as usize].is_some_and(|v| values.matches(v))),
        }
    }
}

/// Selectors of one field across all roles, indexed by a required label.
#[derive(Debug, Clone, Default)]
struct SelectorIndex {
    /// key → value → positions in the owner's rule list.
    by_label: HashMap<String, HashMap<String, Vec<u32>>>,
    /// key → literal prefix of a glob → positions in the owner's rule list.
    by_prefix: HashMap<String, PrefixIndex>,
    /// Rules every desktop must be checked against.
    always: Vec<u32>,
}

#[derive(Debug, Clone, Default)]
struct PrefixIndex {
    rules: HashMap<String, Vec<u32>>,
    /// The distinct prefix lengths, so a value is probed only at those.
    lengths: Vec<usize>,
}

impl SelectorIndex {
    fn add(&mut self, rule: u32, selector: &CompiledSelector) {
        let Some((key, mut terms)) = selector.index_key() else {
            self.always.push(rule);
            return;
        };
        terms.sort_unstable_by_key(|t| match t {
            IndexTerm::Exact(v) | IndexTerm::Prefix(v) => *v,
        });
        terms.dedup();
        for term in terms {
            let (map, value) = match term {
                IndexTerm::Exact(v) => (self.by_label.entry(key.to_owned()).or_default(), v),
                IndexTerm::Prefix(p) => {
                    let ix = self.by_prefix.entry(key.to_owned()).or_default();
                    if let Err(at) = ix.lengths.binary_search(&p.len()) {
                        ix.lengths.insert(at, p.len());
                    }
                    (&mut ix.rules, p)
                }
            };
            let rules = map.entry(value.to_owned()).or_default();
            // A selector listing both `web-1` and `web-*` is still one candidate per hit.
            if rules.last() != Some(&rule) {
                rules.push(rule);
            }
        }
    }

    /// Rules that may match `desktop`. A rule is indexed under one key, but
    /// may come up more than once (an exact value and a prefix both hit):
    /// callers only ask whether it matches, so that costs time, not truth.
    fn candidates<'a>(&'a self, desktop: &'a Desktop) -> impl Iterator<Item = u32> + 'a {
        let exact = desktop
            .labels
            .iter()
            .filter_map(|(k, v)| self.by_label.get(k)?.get(v))
            .flatten();
        let prefix = desktop
            .labels
            .iter()
            .filter_map(|(k, v)| Some((self.by_prefix.get(k)?, v)))
            .flat_map(|(ix, v)| {
                ix.lengths
                    .iter()
                    .take_while(move |&&n| n <= v.len())
                    .filter_map(move |&n| ix.rules.get(v.get(..n)?))
                    .flatten()
            });
        self.always.iter().chain(exact).chain(prefix).copied()
    }
}

#[derive(Debug, Clone)]
struct AllowRule {
    selector: Selector,
    logins: Vec<String>,
}

/// Everything listing needs for one kind of desktop.
#[derive(Debug, Clone, Default)]
pub(crate) struct KindIndex {
    /// Every label key some selector names → its slot number.
    keys: HashMap<String, u32>,
    deny: Vec<Selector>,
    deny_index: SelectorIndex,
    /// Logins denied on every desktop of the kind, sorted.
    denied_logins: Vec<String>,
    allow: Vec<AllowRule>,
    allow_index: SelectorIndex,
}

impl KindIndex {
    pub(crate) fn build(roles: &[CompiledRole], kind: DesktopKind) -> KindIndex {
        let mut out = KindIndex::default();
        // Roles often share selectors: each distinct one is matched once per
        // desktop, with the logins of every role that uses it.
        let mut seen_deny: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut seen_allow: HashMap<String, u32> = HashMap::new();
        for role in roles {
            let rules = &role.kinds[kind.index()];
            out.denied_logins.extend(rules.deny_logins.iter().cloned());
            if seen_deny.insert(rules.deny_labels.canonical()) {
                if let Some(selector) = out.intern(&rules.deny_labels) {
                    let i = index(out.deny.len());
                    out.deny_index.add(i, &rules.deny_labels);
                    out.deny.push(selector);
                }
            }
            // A role that lists no login allows nothing.
            if rules.allow_logins.is_empty()
                || matches!(rules.allow_labels, CompiledSelector::Nothing)
            {
                continue;
            }
            let canonical = rules.allow_labels.canonical();
            if let Some(&i) = seen_allow.get(&canonical) {
                out.allow[i as usize]
                    .logins
                    .extend(rules.allow_logins.iter().cloned());
                continue;
            }
            if let Some(selector) = out.intern(&rules.allow_labels) {
                let i = index(out.allow.len());
                seen_allow.insert(canonical, i);
                out.allow_index.add(i, &rules.allow_labels);
                out.allow.push(AllowRule {
                    selector,
                    logins: rules.allow_logins.clone(),
                });
            }
        }
        for rule in &mut out.allow {
            rule.logins.sort();
            rule.logins.dedup();
        }
        out.denied_logins.sort();
        out.denied_logins.dedup();
        out
    }

    /// `None` for a selector that matches nothing.
    fn intern(&mut self, selector: &CompiledSelector) -> Option<Selector> {
        match selector {
            CompiledSelector::Nothing => None,
            CompiledSelector::Everything => Some(Selector::Everything),
            CompiledSelector::Keys(keys) => Some(Selector::Keys(
                keys.iter()
                    .map(|k| {
                        let next = index(self.keys.len());
                        (
                            *self.keys.entry(k.key.clone()).or_insert(next),
                            k.values.clone(),
                        )
                    })
                    .collect(),
            )),
        }
    }

    /// Puts the desktop's label values in their slots; `clear` undoes it.
    fn fill<'d>(&self, desktop: &'d Desktop, slots: &mut [Option<&'d str>]) {
        for (k, v) in &desktop.labels {
            if let Some(&id) = self.keys.get(k) {
                slots[id as usize] = Some(v);
            }
        }
    }

    fn clear(&self, desktop: &Desktop, slots: &mut [Option<&str>]) {
        for k in desktop.labels.keys() {
            if let Some(&id) = self.keys.get(k) {
                slots[id as usize] = None;
            }
        }
    }

    fn allowed_logins(&self, desktop: &Desktop, slots: &[Option<&str>]) -> Vec<String> {
        if self
            .deny_index
            .candidates(desktop)
            .any(|i| self.deny[i as usize].matches(slots))
        {
            return Vec::new();
        }
        let mut logins: Vec<&str> = Vec::new();
        for i in self.allow_index.candidates(desktop) {
            let rule = &self.allow[i as usize];
            if rule.selector.matches(slots) {
                logins.extend(rule.logins.iter().map(String::as_str));
            }
        }
        logins.sort_unstable();
        logins.dedup();
        logins
            .into_iter()
            .filter(|l| {
                self.denied_logins
                    .binary_search_by(|d| d.as_str().cmp(l))
                    .is_err()
            })
            .map(str::to_owned)
            .collect()
    }
}

fn index(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 selectors")
}

impl RoleSet {
    /// The logins the user may pick on `desktop`, sorted; empty when the
    /// desktop is not visible. A login is in this list exactly when
    /// [`RoleSet::check`] allows it (given MFA, if required).
    pub fn allowed_logins(&self, desktop: &Desktop) -> Vec<String> {
        let ix = &self.listing[desktop.kind.index()];
        let mut slots = vec![None; ix.keys.len()];
        ix.fill(desktop, &mut slots);
        ix.allowed_logins(desktop, &slots)
    }

    /// The desktops with at least one allowed login, in the order given,
    /// each with its logins.
    pub fn visible_desktops<'d, I>(&self, desktops: I) -> Vec<VisibleDesktop<'d>>
    where
        I: IntoIterator<Item = &'d Desktop>,
    {
        let mut slots: [Vec<Option<&'d str>>; 2] =
            DesktopKind::ALL.map(|kind| vec![None; self.listing[kind.index()].keys.len()]);
        let mut out = Vec::new();
        for desktop in desktops {
            let k = desktop.kind.index();
            let ix = &self.listing[k];
            ix.fill(desktop, &mut slots[k]);
            let logins = ix.allowed_logins(desktop, &slots[k]);
            ix.clear(desktop, &mut slots[k]);
            if !logins.is_empty() {
                out.push(VisibleDesktop { desktop, logins });
            }
        }
        out
    }
}
