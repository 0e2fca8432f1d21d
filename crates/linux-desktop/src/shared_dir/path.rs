//! Paths inside a shared directory, as they cross the wire: relative,
//! '/'-separated, without empty, "." or ".." components, without NUL, at
//! most 10240 bytes; "" is the shared directory itself. A [`SharedPath`]
//! can only be made by checking, so no operation is sent for a path that
//! could leave the directory the person picked.

use std::ffi::OsStr;
use std::fmt;

use oriel_tdpb::limits::MAX_SHARED_PATH_LEN;

/// Why a path (or a name) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Longer than [`MAX_SHARED_PATH_LEN`].
    #[error("path of {0} bytes is longer than {MAX_SHARED_PATH_LEN}")]
    TooLong(usize),
    /// Contains a NUL byte.
    #[error("path contains a NUL byte")]
    Nul,
    /// Starts with '/'.
    #[error("path is absolute")]
    Absolute,
    /// An empty, "." or ".." component (a trailing '/' is an empty one).
    #[error("path has a {0:?} component")]
    Component(String),
    /// Not UTF-8 (the protocol carries paths as strings).
    #[error("name is not UTF-8")]
    NotUtf8,
    /// A name that must be one component holds a '/'.
    #[error("name contains '/'")]
    Slash,
}

/// A checked relative path inside a shared directory.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SharedPath(String);

impl SharedPath {
    /// The shared directory itself ("").
    pub fn root() -> Self {
        Self(String::new())
    }

    /// Checks `path` as a peer sent it.
    pub fn parse(path: &str) -> Result<Self, PathError> {
        if path.len() > MAX_SHARED_PATH_LEN {
            return Err(PathError::TooLong(path.len()));
        }
        if path.contains('\0') {
            return Err(PathError::Nul);
        }
        if path.is_empty() {
            return Ok(Self::root());
        }
        if path.starts_with('/') {
            return Err(PathError::Absolute);
        }
        if let Some(bad) = path.split('/').find(|c| c.is_empty() || *c == "." || *c == "..") {
            return Err(PathError::Component(bad.to_owned()));
        }
        Ok(Self(path.to_owned()))
    }

    /// The entry `name` inside this directory; `name` must be one component.
    pub fn join(&self, name: &OsStr) -> Result<Self, PathError> {
        let name = name.to_str().ok_or(PathError::NotUtf8)?;
        check_name(name)?;
        let joined = if self.0.is_empty() { name.to_owned() } else { format!("{}/{name}", self.0) };
        Self::parse(&joined)
    }

    /// The path as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last component ("" for the root).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The directory holding this path; `None` for the root.
    pub fn parent(&self) -> Option<Self> {
        if self.0.is_empty() {
            return None;
        }
        Some(Self(self.0.rsplit_once('/').map_or(String::new(), |(parent, _)| parent.to_owned())))
    }

    /// Whether `self` is `ancestor` or lies inside it.
    pub fn is_within(&self, ancestor: &SharedPath) -> bool {
        ancestor.0.is_empty() || self.0 == ancestor.0 || (self.0.starts_with(&ancestor.0) && self.0.as_bytes().get(ancestor.0.len()) == Some(&b'/'))
    }

    /// `self` moved from under `from` to under `to` (for a rename of an
    /// ancestor); `None` if `self` is not within `from` or the result would
    /// be too long.
    pub fn rebase(&self, from: &SharedPath, to: &SharedPath) -> Option<Self> {
        if !self.is_within(from) {
            return None;
        }
        let rest = self.0[from.0.len()..].trim_start_matches('/');
        let joined = match (to.0.is_empty(), rest.is_empty()) {
            (_, true) => to.0.clone(),
            (true, false) => rest.to_owned(),
            (false, false) => format!("{}/{rest}", to.0),
        };
        Self::parse(&joined).ok()
    }
}

impl fmt::Debug for SharedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for SharedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a single path component: not empty, ".", "..", no '/', no NUL.
pub fn check_name(name: &str) -> Result<(), PathError> {
    if name.contains('\0') {
        return Err(PathError::Nul);
    }
    if name.contains('/') {
        return Err(PathError::Slash);
    }
    if name.is_empty() || name == "." || name == ".." {
        return Err(PathError::Component(name.to_owned()));
    }
    if name.len() > 255 {
        return Err(PathError::TooLong(name.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths_pass() {
        for ok in ["", "a", "a/b", "a b/ç.txt", ".hidden/x", "a..b", "...", "a\\b"] {
            assert_eq!(SharedPath::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn hostile_paths_are_refused() {
        let cases: &[(&str, PathError)] = &[
            ("/etc/passwd", PathError::Absolute),
            ("/", PathError::Absolute),
            ("..", PathError::Component("..".into())),
            ("a/../../b", PathError::Component("..".into())),
            ("a/..", PathError::Component("..".into())),
            ("./a", PathError::Component(".".into())),
            ("a//b", PathError::Component(String::new())),
            ("a/", PathError::Component(String::new())),
            ("a\0b", PathError::Nul),
        ];
        for (path, error) in cases {
            assert_eq!(SharedPath::parse(path).unwrap_err(), *error, "{path:?}");
        }
        let long = "a/".repeat(5120) + "b";
        assert_eq!(SharedPath::parse(&long).unwrap_err(), PathError::TooLong(10241));
        assert!(SharedPath::parse(&"a".repeat(10240)).is_ok());
    }

    #[test]
    fn join_takes_exactly_one_component() {
        let dir = SharedPath::parse("a").unwrap();
        assert_eq!(dir.join(OsStr::new("b")).unwrap().as_str(), "a/b");
        assert_eq!(SharedPath::root().join(OsStr::new("b")).unwrap().as_str(), "b");
        assert_eq!(dir.join(OsStr::new("..")).unwrap_err(), PathError::Component("..".into()));
        assert_eq!(dir.join(OsStr::new("x/y")).unwrap_err(), PathError::Slash);
        use std::os::unix::ffi::OsStrExt;
        assert_eq!(dir.join(OsStr::from_bytes(b"\xff")).unwrap_err(), PathError::NotUtf8);
    }

    #[test]
    fn parent_name_and_rebase() {
        let path = SharedPath::parse("a/b/c").unwrap();
        assert_eq!(path.parent().unwrap().as_str(), "a/b");
        assert_eq!(SharedPath::parse("a").unwrap().parent(), Some(SharedPath::root()));
        assert_eq!(SharedPath::root().parent(), None);
        assert_eq!(path.file_name(), "c");
        let from = SharedPath::parse("a").unwrap();
        let to = SharedPath::parse("z/y").unwrap();
        assert_eq!(path.rebase(&from, &to).unwrap().as_str(), "z/y/b/c");
        assert_eq!(from.rebase(&from, &to).unwrap().as_str(), "z/y");
        // "ab" is not inside "a".
        assert_eq!(SharedPath::parse("ab").unwrap().rebase(&from, &to), None);
    }
}
