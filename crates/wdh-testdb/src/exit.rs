//! Work done once when the process exits normally (tests passed or failed:
//! the test harness exits through `exit`, which runs `atexit` handlers).
//!
//! A list of hooks that other modules register. They run once, from one
//! `atexit` handler installed with the first registration: every
//! [`Phase::Finish`] hook first, then every [`Phase::Poolers`] hook, then
//! every [`Phase::Shutdown`] hook, each phase in the order of registration. A process that registers nothing
//! installs no handler.

use std::sync::{Mutex, Once};

/// When a hook runs, relative to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Finishing work that needs the servers still running.
    Finish,
    /// Stopping the connection poolers in front of the servers.
    Poolers,
    /// Stopping processes and removing their directories.
    Shutdown,
}

/// A hook run at exit.
pub(crate) type Hook = Box<dyn FnOnce() + Send>;

static INSTALL: Once = Once::new();
static HOOKS: Mutex<Vec<(Phase, Hook)>> = Mutex::new(Vec::new());

/// Adds a hook to run at exit in `phase`, installing the exit handler on first use.
pub(crate) fn register(phase: Phase, hook: Hook) {
    HOOKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((phase, hook));
    INSTALL.call_once(|| {
        // SAFETY: at_exit is a plain extern "C" fn with no arguments.
        unsafe { libc::atexit(at_exit) };
    });
}

extern "C" fn at_exit() {
    // Taken out first, so that no hook runs under the lock.
    let hooks = std::mem::take(&mut *HOOKS.lock().unwrap_or_else(|p| p.into_inner()));
    run(hooks);
}

/// Runs hooks by phase, keeping the order of registration within a phase.
fn run(mut hooks: Vec<(Phase, Hook)>) {
    // A stable sort.
    hooks.sort_by_key(|(phase, _)| *phase);
    for (_, hook) in hooks {
        hook();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn hooks_run_by_phase_then_in_order_of_registration() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let hook = |phase, what: &'static str| -> (Phase, Hook) {
            let log = Arc::clone(&log);
            (phase, Box::new(move || log.lock().unwrap().push(what)))
        };
        run(vec![
            hook(Phase::Shutdown, "stop a"),
            hook(Phase::Poolers, "stop pooler"),
            hook(Phase::Finish, "flush a"),
            hook(Phase::Shutdown, "stop b"),
            hook(Phase::Finish, "flush b"),
        ]);
        assert_eq!(
            *log.lock().unwrap(),
            ["flush a", "flush b", "stop pooler", "stop a", "stop b"]
        );
    }
}
