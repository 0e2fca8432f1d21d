//! User accounting: a desktop session is a login in utmp (`who`) and wtmp
//! (`last`), on the X display as its line, as display managers record them.

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
        write(&entry);
        Self { entry }
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        self.entry.ut_type = libc::DEAD_PROCESS;
        self.entry.ut_user = [0; libc::__UT_NAMESIZE];
        self.entry.ut_host = [0; libc::__UT_HOSTSIZE];
        stamp(&mut self.entry);
        write(&self.entry);
    }
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

fn write(entry: &libc::utmpx) {
    let _turn = UTMP_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    // Hosts without a login manager (containers) have no utmp until
    // someone creates it, as systemd-update-utmp does at boot.
    if let Err(error) = std::fs::OpenOptions::new().create(true).append(true).mode(0o664).open(UTMP) {
        tracing::warn!(%error, file = UTMP, "cannot record the login in utmp");
    }
    // SAFETY: entry is a valid utmpx; the lock serialises the static state.
    unsafe {
        libc::setutxent();
        if libc::pututxline(entry).is_null() {
            tracing::warn!(error = %std::io::Error::last_os_error(), file = UTMP, "cannot record the login in utmp");
        }
        libc::endutxent();
    }
    let wtmp = CString::new(WTMP).expect("no NUL in a constant");
    // SAFETY: both pointers are valid for the call.
    unsafe { updwtmpx(wtmp.as_ptr(), entry) };
}
