//! Inode numbers for the paths the kernel has seen. The browser knows only
//! paths; the kernel knows only inode numbers. A rename moves the numbers
//! of the renamed entry and everything under it to the new paths, so open
//! files and cached entries follow.

use std::collections::HashMap;

use super::path::SharedPath;

/// The root directory's inode (FUSE's `FUSE_ROOT_ID`).
pub const ROOT: u64 = 1;

/// Inode number ↔ path, both ways.
pub struct Inodes {
    by_ino: HashMap<u64, SharedPath>,
    by_path: HashMap<SharedPath, u64>,
    next: u64,
}

impl Default for Inodes {
    fn default() -> Self {
        let mut inodes = Self { by_ino: HashMap::new(), by_path: HashMap::new(), next: ROOT + 1 };
        inodes.by_ino.insert(ROOT, SharedPath::root());
        inodes.by_path.insert(SharedPath::root(), ROOT);
        inodes
    }
}

impl Inodes {
    /// The path of inode `ino`, if the kernel was told of it.
    pub fn path(&self, ino: u64) -> Option<SharedPath> {
        self.by_ino.get(&ino).cloned()
    }

    /// The inode of `path`, given a new number the first time.
    pub fn ino(&mut self, path: &SharedPath) -> u64 {
        if let Some(ino) = self.by_path.get(path) {
            return *ino;
        }
        let ino = self.next;
        self.next += 1;
        self.by_ino.insert(ino, path.clone());
        self.by_path.insert(path.clone(), ino);
        ino
    }

    /// Forgets `path` and everything under it (it was deleted).
    pub fn remove(&mut self, path: &SharedPath) {
        if *path == SharedPath::root() {
            return;
        }
        let gone: Vec<SharedPath> = self.by_path.keys().filter(|p| p.is_within(path)).cloned().collect();
        for p in gone {
            if let Some(ino) = self.by_path.remove(&p) {
                self.by_ino.remove(&ino);
            }
        }
    }

    /// Moves `from` and everything under it to `to`; whatever was at `to` is gone.
    pub fn rename(&mut self, from: &SharedPath, to: &SharedPath) {
        self.remove(to);
        let moved: Vec<(SharedPath, u64)> = self.by_path.iter().filter(|(p, _)| p.is_within(from)).map(|(p, i)| (p.clone(), *i)).collect();
        for (old, ino) in moved {
            self.by_path.remove(&old);
            match old.rebase(from, to) {
                Some(new) => {
                    self.by_ino.insert(ino, new.clone());
                    self.by_path.insert(new, ino);
                }
                // Too long under the new name: the kernel looks it up again.
                None => {
                    self.by_ino.remove(&ino);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> SharedPath {
        SharedPath::parse(s).unwrap()
    }

    #[test]
    fn rename_moves_descendants_and_replaces_the_target() {
        let mut inodes = Inodes::default();
        let dir = inodes.ino(&p("a"));
        let file = inodes.ino(&p("a/f"));
        let other = inodes.ino(&p("ab"));
        let target = inodes.ino(&p("b"));
        inodes.rename(&p("a"), &p("b"));
        assert_eq!(inodes.path(dir), Some(p("b")));
        assert_eq!(inodes.path(file), Some(p("b/f")));
        assert_eq!(inodes.path(other), Some(p("ab")));
        assert_eq!(inodes.path(target), None);
        assert_eq!(inodes.ino(&p("b/f")), file);
        assert_ne!(inodes.ino(&p("a/f")), file);
    }

    #[test]
    fn remove_forgets_the_subtree_but_never_the_root() {
        let mut inodes = Inodes::default();
        let file = inodes.ino(&p("a/f"));
        inodes.remove(&p("a"));
        assert_eq!(inodes.path(file), None);
        inodes.remove(&SharedPath::root());
        assert_eq!(inodes.path(ROOT), Some(SharedPath::root()));
    }
}
