//! Ctrl-C: exit 130 without leaving a half-written temporary file behind.
//!
//! The atomic writer registers the temporary file it is filling; the SIGINT
//! handler unlinks it and leaves with `_exit(130)`. Only async-signal-safe
//! calls are made in the handler (an atomic load, unlink, _exit). The target
//! file itself is never at risk: it is only ever replaced by rename(2).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Once;

static IN_PROGRESS: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
static INSTALL: Once = Once::new();

extern "C" fn on_interrupt(_signal: libc::c_int) {
    let path = IN_PROGRESS.load(Ordering::SeqCst);
    // SAFETY: unlink and _exit are async-signal-safe; `path` is either null
    // or a NUL-terminated string leaked by `register_temp_file`.
    unsafe {
        if !path.is_null() {
            libc::unlink(path);
        }
        libc::_exit(130);
    }
}

/// Install the SIGINT handler once per process.
pub fn install_interrupt_handler() {
    INSTALL.call_once(|| {
        // SAFETY: installing a handler that only performs async-signal-safe calls.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_interrupt as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        }
    });
}

/// While the returned guard lives, Ctrl-C removes `path` before exiting.
pub(crate) fn register_temp_file(path: &Path) -> TempFileGuard {
    let raw = CString::new(path.as_os_str().as_bytes())
        .map(CString::into_raw)
        .unwrap_or(std::ptr::null_mut());
    let previous = IN_PROGRESS.swap(raw, Ordering::SeqCst);
    TempFileGuard { raw, previous }
}

pub(crate) struct TempFileGuard {
    raw: *mut libc::c_char,
    previous: *mut libc::c_char,
}

impl Drop for TempFileGuard {
    fn drop(&mut self) {
        IN_PROGRESS.store(self.previous, Ordering::SeqCst);
        if !self.raw.is_null() {
            // SAFETY: `raw` came from CString::into_raw in register_temp_file
            // and is no longer reachable from the signal handler.
            unsafe { drop(CString::from_raw(self.raw)) };
        }
    }
}
