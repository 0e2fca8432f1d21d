//! User accounting: a desktop session is a login in utmp (`who`) and wtmp
//! (`last`), on the X display as its line, as display managers record them.
//!
//! A display number is free again as soon as its Xvfb exits, while the
//! session that had it writes its logout later, when its cleanup is done.
//! So a logout replaces the line's entry only while that entry is still the
//! session's own (same pid); otherwise it would erase the login of the next
//! session on that display. Session processes are separate processes, so
//! the look-up and the write hold an flock on utmp across them (glibc's own
//! fcntl locks cover one call each and do not interact with flock).

use std::ffi::CString;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Mutex;

const UTMP: &str = "/var/run/utmp";
const WTMP: &str = "/var/log/wtmp";

unsafe extern "C" {
    // glibc's, not exported by the libc crate on Linux.
    fn updwtmpx(file: *const libc::c_char, entry: *const libc::utmpx);
}

/// The utmp functions keep a static file position: one caller at a time.
static UTMP_LOCK: Mutex<()> = Mutex::new(());

/// A login recorded in utmp and wtmp; dropping it records the logout.
pub struct Record {
    entry: libc::utmpx,
}

// SAFETY: plain data (byte arrays and integers).
unsafe impl Send for Record {}

impl Record {
    /// Records `login` as logged in on `display` (`:N`) by process `pid`.
    pub fn login(login: &str, display: &str, pid: u32) -> Self {
        // SAFETY: utmpx is plain data; all zeroes is a valid, empty entry.
        let mut entry: libc::utmpx = unsafe { std::mem::zeroed() };
        entry.ut_type = libc::USER_PROCESS;
        entry.ut_pid = pid as libc::pid_t;
        copy(&mut entry.ut_line, display);
        // The id is the line's last four characters, as login(1) makes it.
        copy(&mut entry.ut_id, &display[display.len().saturating_sub(4)..]);
        copy(&mut entry.ut_user, login);
        copy(&mut entry.ut_host, display);
        stamp(&mut entry);
        write(&entry, Replace::Always);
        Self { entry }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.entry.ut_type = libc::DEAD_PROCESS;
        self.entry.ut_user = [0; libc::__UT_NAMESIZE];
        self.entry.ut_host = [0; libc::__UT_HOSTSIZE];
        stamp(&mut self.entry);
        write(&self.entry, Replace::IfOwnedBy(self.entry.ut_pid));
    }
}

/// When an entry may replace what utmp holds for its line.
#[derive(Clone, Copy)]
enum Replace {
    Always,
    /// Only while the line's live entry was written by this pid.
    IfOwnedBy(libc::pid_t),
}

fn copy(field: &mut [libc::c_char], text: &str) {
    for (slot, byte) in field.iter_mut().zip(text.bytes()) {
        *slot = byte as libc::c_char;
    }
}

fn stamp(entry: &mut libc::utmpx) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    entry.ut_tv.tv_sec = now.as_secs() as _;
    entry.ut_tv.tv_usec = now.subsec_micros() as _;
}

fn write(entry: &libc::utmpx, replace: Replace) {
    let _turn = UTMP_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Hosts without a login manager (containers) have no utmp until
    // someone creates it, as systemd-update-utmp does at boot.
    let file = match std::fs::OpenOptions::new().create(true).append(true).mode(0o664).open(UTMP) {
        Ok(file) => Some(file),
        Err(error) => {
            tracing::warn!(%error, file = UTMP, "cannot record the login in utmp");
            None
        }
    };
    // Held until `file` is dropped, after endutxent.
    if let Some(file) = &file
        && let Err(error) = rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive)
    {
        tracing::warn!(%error, file = UTMP, "cannot lock utmp; writing without the lock");
    }
    // SAFETY: entry is a valid utmpx; the lock serialises the static state;
    // the pointer getutxline returns is read before any other utmp call.
    unsafe {
        libc::setutxent();
        let ours = match replace {
            Replace::Always => true,
            Replace::IfOwnedBy(pid) => {
                let live = libc::getutxline(entry);
                live.is_null() || (*live).ut_pid == pid
            }
        };
        if ours && libc::pututxline(entry).is_null() {
            tracing::warn!(error = %std::io::Error::last_os_error(), file = UTMP, "cannot record the login in utmp");
        }
        libc::endutxent();
    }
    drop(file);
    // wtmp is a log: every login and logout is appended.
    let wtmp = CString::new(WTMP).expect("no NUL in a constant");
    // SAFETY: both pointers are valid for the call.
    unsafe { updwtmpx(wtmp.as_ptr(), entry) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The user utmp lists on `display`, if any.
    fn user_on(display: &str) -> Option<String> {
        let _turn = UTMP_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // SAFETY: as in `write`; the entry is read before the next call.
        unsafe {
            let mut key: libc::utmpx = std::mem::zeroed();
            copy(&mut key.ut_line, display);
            libc::setutxent();
            let live = libc::getutxline(&key);
            let user = (!live.is_null() && (*live).ut_type == libc::USER_PROCESS)
                .then(|| std::ffi::CStr::from_ptr((*live).ut_user.as_ptr()).to_string_lossy().into_owned());
            libc::endutxent();
            user
        }
    }

    #[test]
    fn a_late_logout_on_a_reused_display_keeps_the_next_sessions_login() {
        // A display number no test service hands out.
        let display = ":9917";
        let first = Record::login("oriel-first", display, 990_001);
        assert_eq!(user_on(display).as_deref(), Some("oriel-first"));
        // The display is reused before the first session wrote its logout.
        let second = Record::login("oriel-second", display, 990_002);
        drop(first);
        assert_eq!(user_on(display).as_deref(), Some("oriel-second"), "the first logout left the second login alone");
        drop(second);
        assert_eq!(user_on(display), None, "the second logout is recorded");
    }
}
