//! Desktop sessions a user may start: the `.desktop` entries in
//! `/usr/share/xsessions` that display managers list too.

use std::path::{Path, PathBuf};

/// Where display managers find X sessions.
pub const SYSTEM_XSESSIONS: &str = "/usr/share/xsessions";

/// One startable desktop session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XSession {
    /// `Name=`: what the user picks.
    pub name: String,
    /// `Exec=`: the command line, run through `/bin/sh` as display managers do.
    pub exec: String,
    /// The entry it came from.
    pub path: PathBuf,
}

/// Which xsessions a host offers (seed 001's `xsessions.included` and
/// `excluded`): those whose name matches `included` and not `excluded`.
#[derive(Debug, Clone)]
pub struct XsessionFilter {
    /// Defaults to `^.*$`.
    pub included: regex::Regex,
    /// Defaults to excluding nothing.
    pub excluded: Option<regex::Regex>,
}

impl XsessionFilter {
    /// Whether the xsession called `name` is offered.
    pub fn offers(&self, name: &str) -> bool {
        self.included.is_match(name) && !self.excluded.as_ref().is_some_and(|e| e.is_match(name))
    }
}

impl Default for XsessionFilter {
    fn default() -> Self {
        Self { included: regex::Regex::new("^.*$").expect("static regex"), excluded: None }
    }
}

/// Reads the entries of every directory in `dirs`, in order; a later entry
/// with the name of an earlier one is ignored. Unreadable directories are
/// skipped: a host without a desktop simply offers none.
pub fn list(dirs: &[PathBuf]) -> Vec<XSession> {
    let mut sessions: Vec<XSession> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "desktop")).collect();
        paths.sort();
        for path in paths {
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            if let Some(session) = parse(&text, &path)
                && !sessions.iter().any(|s| s.name == session.name)
            {
                sessions.push(session);
            }
        }
    }
    sessions
}

/// Parses one desktop entry: the first `Name=` and `Exec=` of the
/// `[Desktop Entry]` group. Entries marked `Hidden=true`, or whose `TryExec=`
/// program is not installed, are not offered.
pub fn parse(text: &str, path: &Path) -> Option<XSession> {
    let mut in_entry = false;
    let (mut name, mut exec, mut try_exec) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_entry = line == "[Desktop Entry]";
            continue;
        }
        if !in_entry {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().to_owned();
        match key.trim() {
            "Name" if name.is_none() => name = Some(value),
            "Exec" if exec.is_none() => exec = Some(value),
            "TryExec" if try_exec.is_none() => try_exec = Some(value),
            "Hidden" if value == "true" => return None,
            _ => {}
        }
    }
    if try_exec.is_some_and(|program| !installed(&program)) {
        return None;
    }
    let (name, exec) = (name?, exec?);
    (!name.is_empty() && !exec.is_empty()).then(|| XSession { name, exec, path: path.to_owned() })
}

fn installed(program: &str) -> bool {
    let path = Path::new(program);
    if path.is_absolute() {
        return path.exists();
    }
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).exists()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_first_name_and_exec_of_the_entry_group() {
        let text = "[Desktop Entry]\nName=Xfce Session\nName[de]=Xfce-Sitzung\nExec=startxfce4\n\n[Desktop Action x]\nExec=other\n";
        let s = parse(text, Path::new("/x/xfce.desktop")).unwrap();
        assert_eq!((s.name.as_str(), s.exec.as_str()), ("Xfce Session", "startxfce4"));
    }

    #[test]
    fn hidden_missing_and_uninstalled_entries_are_not_offered() {
        assert_eq!(parse("[Desktop Entry]\nName=A\nExec=a\nHidden=true\n", Path::new("a")), None);
        assert_eq!(parse("[Desktop Entry]\nName=A\n", Path::new("a")), None);
        assert_eq!(parse("[Desktop Entry]\nName=A\nExec=a\nTryExec=/nonexistent/a\n", Path::new("a")), None);
        assert_eq!(parse("Name=A\nExec=a\n", Path::new("a")), None, "outside the entry group");
    }

    #[test]
    fn earlier_directories_win_on_equal_names() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(a.path().join("one.desktop"), "[Desktop Entry]\nName=One\nExec=first\n").unwrap();
        std::fs::write(b.path().join("one.desktop"), "[Desktop Entry]\nName=One\nExec=second\n").unwrap();
        std::fs::write(b.path().join("two.desktop"), "[Desktop Entry]\nName=Two\nExec=two\n").unwrap();
        std::fs::write(b.path().join("notes.txt"), "[Desktop Entry]\nName=Three\nExec=three\n").unwrap();
        let found = list(&[a.path().into(), b.path().into(), "/nonexistent".into()]);
        let names: Vec<_> = found.iter().map(|s| (s.name.as_str(), s.exec.as_str())).collect();
        assert_eq!(names, [("One", "first"), ("Two", "two")]);
    }
}
