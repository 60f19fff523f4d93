//! A small shell process that outlives nothing: it waits for this process to
//! die (its stdin pipe closes), then signals a server process and removes
//! that server's directory. It covers the ways a process can end without
//! running destructors or exit handlers (SIGKILL, `panic = "abort"`).

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

/// A running watchdog; [`Watchdog::dismiss`] it once the process it guards
/// has been stopped the normal way.
pub(crate) struct Watchdog {
    child: Child,
    stdin: ChildStdin,
}

impl Watchdog {
    /// Watches over `pid`: when this process dies, sends it `signal` (a
    /// name such as `QUIT`), waits up to 10 s for it to exit, then removes
    /// `dir`. `None` when the shell cannot be started (cleanup then relies
    /// on `Drop` and the exit hooks alone).
    pub(crate) fn spawn(pid: u32, signal: &'static str, dir: &Path) -> Option<Watchdog> {
        use std::os::unix::process::CommandExt;
        let script = r#"read _ignored
kill -"$2" "$1" 2>/dev/null
i=0
while kill -0 "$1" 2>/dev/null && [ "$i" -lt 200 ]; do sleep 0.05; i=$((i+1)); done
rm -rf "$3""#;
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("wdh-testdb-watchdog")
            .arg(pid.to_string())
            .arg(signal)
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .ok()?;
        let Some(mut stdin) = child.stdin.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        };
        let _ = stdin.flush();
        Some(Watchdog { child, stdin })
    }

    /// Ends the watchdog without letting it act (the process it guards is
    /// being stopped by its owner).
    pub(crate) fn dismiss(mut self) {
        let _ = self.child.kill();
        drop(self.stdin);
        let _ = self.child.wait();
    }
}
