//! Clean-up when the process exits normally (tests passed or failed: the
//! test harness exits through `exit`, which runs these handlers).

use std::sync::Once;

static REGISTER: Once = Once::new();

extern "C" fn at_exit() {
    // Dropping test databases on explicitly given servers must finish, or
    // they would be left behind; a private cluster simply goes away.
    crate::server::flush_external();
    crate::cluster::stop_shared();
}

/// Registers the exit handler once per process.
pub(crate) fn register() {
    REGISTER.call_once(|| {
        // SAFETY: at_exit is a plain extern "C" fn with no arguments.
        unsafe { libc::atexit(at_exit) };
    });
}
