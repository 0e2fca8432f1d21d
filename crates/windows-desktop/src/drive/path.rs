//! Paths and names between the host and the browser. The host names a
//! file of a redirected drive `\dir\file`, relative to the drive's root
//! (xrdp, for a Linux session, `/dir/file`: both separate components, as
//! neither can be in a Windows name);
//! the browser `dir/file`, relative to the shared directory. A host path
//! becomes a [`SharedPath`] only when every component is a plain Windows
//! name, so nothing the host sends can leave the shared directory or reach
//! a stream (`file:stream`), and a name the browser lists is shown only
//! when Windows can name it back.

use ironrdp_rdpdr::pdu::efs::NtStatus;
use oriel_linux_desktop::shared_dir::path::SharedPath;

/// The longest component Windows names (and the file systems behind browsers).
const MAX_NAME_LEN: usize = 255;

/// The browser's path for the host's `path` (`""`, `\` and `\dir\` are the
/// directories they look like). Refused: `.`/`..` components
/// (`STATUS_ACCESS_DENIED`), empty components, streams, wildcards and
/// characters Windows does not allow in names (`STATUS_OBJECT_NAME_INVALID`).
pub(super) fn from_host(path: &str) -> Result<SharedPath, NtStatus> {
    let path = path.replace('/', "\\");
    let path = path.as_str();
    let path = path.strip_prefix('\\').unwrap_or(path);
    // A directory opened as `\dir\`: the trailing separator names nothing.
    let path = path.strip_suffix('\\').unwrap_or(path);
    if path.is_empty() {
        return Ok(SharedPath::root());
    }
    for component in path.split('\\') {
        if component == "." || component == ".." {
            return Err(NtStatus::ACCESS_DENIED);
        }
        if !is_windows_name(component) {
            return Err(NtStatus::OBJECT_NAME_INVALID);
        }
    }
    SharedPath::parse(&path.replace('\\', "/")).map_err(|_| NtStatus::OBJECT_NAME_INVALID)
}

/// Whether `name` is one component Windows can name: not empty, `.` or
/// `..`, no separator ('/' would also split the browser's path), no stream
/// (':'), no wildcard, no control character, at most 255 bytes.
pub(super) fn is_windows_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= MAX_NAME_LEN
        && !name.chars().any(|c| c.is_control() || matches!(c, '\\' | '/' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
}

/// A directory query's search pattern, folded to lower case once for all
/// the entries it is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern(Vec<char>);

impl Pattern {
    /// The pattern of a query's path (`\dir\*.txt` → `*.txt`, nothing →
    /// `*`): `OBJECT_NAME_INVALID` when it is longer than a name may be.
    pub(super) fn of(query_path: &str) -> Result<Self, NtStatus> {
        let text = match query_path.rsplit(['\\', '/']).next() {
            Some(last) if !last.is_empty() => last,
            _ => "*",
        };
        if text.len() > MAX_NAME_LEN {
            return Err(NtStatus::OBJECT_NAME_INVALID);
        }
        // The DOS forms the host may pass on (`<`, `>`, `"`, from
        // `FindFirstFile`'s `*.`-style patterns) are taken as `*`, `?` and
        // `.`, close enough for what applications ask.
        let folded = text
            .chars()
            .map(|c| match c {
                '<' => '*',
                '>' => '?',
                '"' => '.',
                c => c,
            })
            .flat_map(char::to_lowercase)
            .collect();
        Ok(Self(folded))
    }

    /// Whether `name` matches, without regard to case as Windows compares
    /// names. `*` is any run of characters, `?` one character.
    pub(super) fn matches(&self, name: &str) -> bool {
        let pattern = &self.0;
        let name: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
        // Greedy with one backtrack point (the last '*'): linear in practice,
        // at worst pattern × name, both at most a component long.
        let (mut p, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, n));
                    p += 1;
                }
                Some(&c) if c == '?' || c == name[n] => {
                    p += 1;
                    n += 1;
                }
                _ => match star {
                    Some((star_p, star_n)) => {
                        p = star_p + 1;
                        n = star_n + 1;
                        star = Some((star_p, star_n + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_become_shared_paths() {
        for (host, shared) in [("", ""), ("\\", ""), ("\\a", "a"), ("\\a\\b.txt", "a/b.txt"), ("\\dir\\", "dir"), ("a\\b", "a/b"), ("\\ça va", "ça va")] {
            assert_eq!(from_host(host).unwrap().as_str(), shared, "{host:?}");
        }
    }

    #[test]
    fn hostile_host_paths_are_refused() {
        for (host, status) in [
            ("\\..", NtStatus::ACCESS_DENIED),
            ("\\a\\..\\..\\etc", NtStatus::ACCESS_DENIED),
            ("\\.\\a", NtStatus::ACCESS_DENIED),
            ("\\a\\\\b", NtStatus::OBJECT_NAME_INVALID),
            ("\\\\a", NtStatus::OBJECT_NAME_INVALID),
            ("\\a:stream", NtStatus::OBJECT_NAME_INVALID),
            ("\\a::$DATA", NtStatus::OBJECT_NAME_INVALID),
            ("\\a/../../b", NtStatus::ACCESS_DENIED),
            ("/a//b", NtStatus::OBJECT_NAME_INVALID),
            ("\\a\0b", NtStatus::OBJECT_NAME_INVALID),
            ("\\*", NtStatus::OBJECT_NAME_INVALID),
            ("\\a\u{1}", NtStatus::OBJECT_NAME_INVALID),
        ] {
            assert_eq!(from_host(host).unwrap_err(), status, "{host:?}");
        }
        assert_eq!(from_host(&"a".repeat(256)).unwrap_err(), NtStatus::OBJECT_NAME_INVALID);
        assert!(from_host(&"a".repeat(255)).is_ok());
        let long = "\\a".repeat(5121);
        assert_eq!(from_host(&long).unwrap_err(), NtStatus::OBJECT_NAME_INVALID);
    }

    #[test]
    fn patterns() {
        let of = |path: &str| Pattern::of(path).unwrap();
        assert_eq!(of("\\dir\\*.txt"), of("*.txt"));
        for whole in ["\\*", "", "\\dir\\"] {
            assert_eq!(of(whole), of("*"), "{whole:?}");
        }
        for (pattern, name) in [
            ("*", "a"),
            ("*", ""),
            ("*.txt", "A.TXT"),
            ("a?c", "abc"),
            ("*b*", "abc"),
            ("a*c*e", "abxcxxe"),
            ("<.txt", "x.txt"),
            ("file", "FILE"),
            ("FILE", "file"),
        ] {
            assert!(of(pattern).matches(name), "{pattern:?} {name:?}");
        }
        for (pattern, name) in [("*.txt", "a.txt.bak"), ("a?c", "ac"), ("abc", "abcd"), ("*.*", "noext"), ("b*", "abc")] {
            assert!(!of(pattern).matches(name), "{pattern:?} {name:?}");
        }
        // No longer than a name: a hostile host's pattern costs no more than one.
        assert_eq!(Pattern::of(&format!("\\dir\\{}", "*".repeat(256))), Err(NtStatus::OBJECT_NAME_INVALID));
        assert!(Pattern::of(&"*".repeat(255)).is_ok());
    }
}
