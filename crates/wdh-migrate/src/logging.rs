//! Logging through `tracing`: `-v` raises the level, `--quiet` lowers it,
//! and `RUST_LOG` (when set) decides. Logs go to stderr, each event
//! scrubbed of the passwords that [`hide`] was given.

use std::io::{self, Write};
use std::sync::RwLock;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;
use wdh_migrate_core::target::Secrets;

/// The passwords no log line may show.
static HIDDEN: RwLock<Vec<Secrets>> = RwLock::new(Vec::new());

pub fn init(verbose: u8, quiet: bool, colour: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(ScrubbedStderr)
        .with_ansi(colour)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Keeps `secrets` out of every log line from now on.
pub fn hide(secrets: &Secrets) {
    if secrets.is_empty() {
        return;
    }
    HIDDEN
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .push(secrets.clone());
}

/// Makes one [`EventWriter`] per event.
struct ScrubbedStderr;

impl<'a> MakeWriter<'a> for ScrubbedStderr {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> EventWriter {
        EventWriter(Vec::new())
    }
}

/// Collects one event and writes it to stderr, scrubbed, when dropped:
/// a password split across two writes is still found.
struct EventWriter(Vec<u8>);

impl Write for EventWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        let mut text = String::from_utf8_lossy(&self.0).into_owned();
        for secrets in HIDDEN.read().unwrap_or_else(|p| p.into_inner()).iter() {
            text = secrets.scrub(&text);
        }
        let _ = io::stderr().write_all(text.as_bytes());
    }
}
