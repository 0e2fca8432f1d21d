//! Keys and prefixes: `/`-separated paths, checked once when they are made.

use std::fmt;
use std::str::FromStr;

/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// Why a string is not a key or a prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Nothing at all.
    #[error("key is empty")]
    Empty,
    /// Longer than a backend stores.
    #[error("key of {len} bytes is over the {max} byte limit")]
    TooLong {
        /// Its length.
        len: usize,
        /// The longest key stored.
        max: usize,
    },
    /// Keys are absolute.
    #[error("key does not start with '/'")]
    NoLeadingSlash,
    /// `//`, or a trailing `/` on a key.
    #[error("key has an empty segment")]
    EmptySegment,
    /// `.` and `..` could be read as paths.
    #[error("key has a '.' or '..' segment")]
    DotSegment,
    /// Control characters would garble logs.
    #[error("key has a control character")]
    ControlCharacter,
    /// Keys are text.
    #[error("key is not UTF-8")]
    NotUtf8,
    /// A prefix names a folder.
    #[error("prefix does not end with '/'")]
    NoTrailingSlash,
}

/// A storage key: `/` followed by one or more non-empty segments separated by `/`.
///
/// Segments may hold any character except `/` and control characters (NUL
/// included), and may not be `.` or `..`, so a key never looks like a path that
/// climbs out of where it was put. Keys order byte-wise, which is how every
/// driver lists them.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    /// Checks `key` and makes it a key.
    pub fn new(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        check(&key)?;
        Ok(Self(key))
    }

    /// Makes a key from raw bytes, which must be UTF-8.
    pub fn from_bytes(key: &[u8]) -> Result<Self, KeyError> {
        let key = std::str::from_utf8(key).map_err(|_| KeyError::NotUtf8)?;
        Self::new(key)
    }

    /// Joins segments into a key: `["users", "alice"]` is `/users/alice`.
    pub fn from_segments<S: AsRef<str>>(
        segments: impl IntoIterator<Item = S>,
    ) -> Result<Self, KeyError> {
        let mut key = String::new();
        for segment in segments {
            key.push('/');
            key.push_str(segment.as_ref());
        }
        Self::new(key)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0[1..].split('/')
    }

    /// The prefix of every key below this one (not this key itself).
    pub fn children(&self) -> Prefix {
        Prefix(format!("{}/", self.0))
    }

    /// This key with one more segment.
    pub fn child(&self, segment: &str) -> Result<Key, KeyError> {
        Key::new(format!("{}/{segment}", self.0))
    }
}

fn check(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong {
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    let Some(rest) = key.strip_prefix('/') else {
        return Err(KeyError::NoLeadingSlash);
    };
    for segment in rest.split('/') {
        match segment {
            "" => return Err(KeyError::EmptySegment),
            "." | ".." => return Err(KeyError::DotSegment),
            _ if segment.chars().any(char::is_control) => return Err(KeyError::ControlCharacter),
            _ => {}
        }
    }
    Ok(())
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?})", self.0)
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Key {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Key {
    type Error = KeyError;
    fn try_from(s: &str) -> Result<Self, KeyError> {
        Self::new(s)
    }
}

impl TryFrom<String> for Key {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, KeyError> {
        Self::new(s)
    }
}

/// Selects the keys below a path: `/users/` selects `/users/alice` and
/// `/users/alice/params`, but neither `/users` nor `/users2/bob`. [`Prefix::ROOT`]
/// (`/`) selects every key.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix(String);

impl Prefix {
    /// The prefix of every key.
    pub const ROOT: Prefix = Prefix(String::new());

    /// Checks `prefix`, which is `/` or a key followed by `/`.
    pub fn new(prefix: impl Into<String>) -> Result<Self, KeyError> {
        let prefix = prefix.into();
        if prefix == "/" {
            return Ok(Self::ROOT);
        }
        let Some(key) = prefix.strip_suffix('/') else {
            return Err(if prefix.is_empty() {
                KeyError::Empty
            } else {
                KeyError::NoTrailingSlash
            });
        };
        check(key)?;
        Ok(Self(prefix))
    }

    /// The prefix below the key made of `segments`; no segments is [`Prefix::ROOT`].
    pub fn from_segments<S: AsRef<str>>(
        segments: impl IntoIterator<Item = S>,
    ) -> Result<Self, KeyError> {
        let mut segments = segments.into_iter().peekable();
        if segments.peek().is_none() {
            return Ok(Self::ROOT);
        }
        Ok(Key::from_segments(segments)?.children())
    }

    /// The prefix as text, always ending with `/`.
    pub fn as_str(&self) -> &str {
        if self.0.is_empty() { "/" } else { &self.0 }
    }

    /// Whether `key` is below this prefix.
    pub fn contains(&self, key: &Key) -> bool {
        key.as_str().starts_with(self.as_str())
    }

    /// The key `segment` right below this prefix.
    pub fn join(&self, segment: &str) -> Result<Key, KeyError> {
        Key::new(format!("{}{segment}", self.as_str()))
    }

    /// The half-open byte range `[start, end)` of the keys below this prefix.
    /// `0` follows `/` in ASCII, so `end` is the prefix with its last `/`
    /// turned into `0`: no driver needs `LIKE` and its escaping.
    pub(crate) fn range(&self) -> (&str, String) {
        let start = self.as_str();
        let end = format!("{}0", &start[..start.len() - 1]);
        (start, end)
    }

    /// [`Self::range`] narrowed to `[from, to)`. Keys, SQLite's `BINARY` and
    /// PostgreSQL's `"C"` all compare byte-wise, so narrowing here with `str`
    /// order is the same as narrowing in SQL, and a bound outside the prefix
    /// can never widen it. The range may be empty (`start >= end`).
    pub(crate) fn range_within(&self, from: Option<&Key>, to: Option<&Key>) -> (String, String) {
        let (start, end) = self.range();
        let start = match from {
            Some(from) if from.as_str() > start => from.as_str(),
            _ => start,
        };
        let end = match to {
            Some(to) if to.as_str() < end.as_str() => to.as_str().to_owned(),
            _ => end,
        };
        (start.to_owned(), end)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prefix({:?})", self.as_str())
    }
}

impl FromStr for Prefix {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_prefixes() {
        let key = Key::from_segments(["users", "alice"]).unwrap();
        assert_eq!(key.as_str(), "/users/alice");
        assert_eq!(key.segments().collect::<Vec<_>>(), ["users", "alice"]);
        assert_eq!(key.children().as_str(), "/users/alice/");
        assert!(Prefix::new("/users/").unwrap().contains(&key));
        assert!(!Prefix::new("/user/").unwrap().contains(&key));
        assert!(!key.children().contains(&key));
        assert!(Prefix::ROOT.contains(&key));
        assert_eq!(Prefix::new("/").unwrap(), Prefix::ROOT);
        assert_eq!(Prefix::ROOT.range(), ("/", "0".to_owned()));
        assert_eq!(
            Prefix::new("/a/").unwrap().range(),
            ("/a/", "/a0".to_owned())
        );
        assert_eq!(
            Prefix::from_segments(Vec::<&str>::new()).unwrap(),
            Prefix::ROOT
        );
        let (a, b) = (Key::new("/a/b").unwrap(), Key::new("/a/c").unwrap());
        let under_a = Prefix::new("/a/").unwrap();
        assert_eq!(
            under_a.range_within(Some(&a), Some(&b)),
            ("/a/b".to_owned(), "/a/c".to_owned())
        );
        assert_eq!(
            under_a.range_within(
                Some(&Key::new("/0").unwrap()),
                Some(&Key::new("/z").unwrap())
            ),
            ("/a/".to_owned(), "/a0".to_owned()),
            "bounds outside the prefix are clipped"
        );
        assert_eq!(
            under_a.range_within(None, None),
            ("/a/".to_owned(), "/a0".to_owned())
        );
        assert_eq!(Prefix::new("/a"), Err(KeyError::NoTrailingSlash));
        assert_eq!(Prefix::new("/a//"), Err(KeyError::EmptySegment));
        assert_eq!(Prefix::new(""), Err(KeyError::Empty));
    }
}
