//! Terminal presentation: colour (only on a terminal, never with NO_COLOR)
//! and the run progress (a bar for longer runs on a terminal, plain lines
//! otherwise).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wdh_migrate_core::migrations::Direction;
use wdh_migrate_core::runner::Event;

/// Runs longer than this show a progress bar on a terminal.
const BAR_AFTER: usize = 3;

/// ANSI colour for one stream, when it is a terminal and NO_COLOR is unset.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    pub fn stdout() -> Paint {
        Paint {
            enabled: std::io::stdout().is_terminal() && no_color_unset(),
        }
    }

    pub fn stderr() -> Paint {
        Paint {
            enabled: std::io::stderr().is_terminal() && no_color_unset(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn wrap(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn red(&self, text: &str) -> String {
        self.wrap("1;31", text)
    }

    pub fn yellow(&self, text: &str) -> String {
        self.wrap("33", text)
    }

    pub fn green(&self, text: &str) -> String {
        self.wrap("32", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.wrap("2", text)
    }
}

/// NO_COLOR set to anything non-empty turns colour off (no-color.org).
fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Prints a run's events: a line per migration with its time; on a terminal
/// a progress bar above them for runs of more than a few migrations.
pub struct Progress {
    /// The migrations folder, for the paths of lint findings.
    root: std::path::PathBuf,
    quiet: bool,
    terminal: bool,
    bar_allowed: bool,
    bar: Option<ProgressBar>,
    paint: Paint,
    err: Paint,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            root: std::path::PathBuf::new(),
            quiet,
            terminal: std::io::stdout().is_terminal(),
            bar_allowed: std::io::stderr().is_terminal(),
            bar: None,
            paint: Paint::stdout(),
            err: Paint::stderr(),
        }
    }

    /// Names lint findings' files under `root`, the migrations folder.
    pub fn with_root(mut self, root: &std::path::Path) -> Progress {
        self.root = root.to_path_buf();
        self
    }

    pub fn event(&mut self, event: Event<'_>) {
        match event {
            // A pending migration's lint finding: shown even when quiet.
            Event::Finding(f) => {
                let label = format!("{}[{}]", f.label(), f.rule);
                let coloured = match (&f.acknowledged, f.severity) {
                    (Some(_), _) => self.err.green(&label),
                    (None, wdh_migrate_core::lint::Severity::Error) => self.err.red(&label),
                    (None, wdh_migrate_core::lint::Severity::Warning) => self.err.yellow(&label),
                };
                self.eprintln(&f.render(&self.root).replacen(&label, &coloured, 1));
            }
            Event::Override(warning) => {
                let text = warning
                    .strip_prefix("WARNING:")
                    .unwrap_or(warning)
                    .trim_start();
                self.eprintln(&format!("{} {text}", self.err.red("WARNING:")));
            }
            Event::Warning(w) => self.eprintln(&format!("{} {w}", self.err.yellow("warning:"))),
            // What a destructive run destroys, and where its snapshot went:
            // never hidden.
            Event::Preview(preview) => {
                for line in preview.plain_lines() {
                    self.eprintln(&format!("{} {line}", self.err.yellow("destroys:")));
                }
            }
            Event::Snapshot(path) => {
                self.eprintln(&format!("snapshot: {}", path.display()));
            }
            // Which configured rule let a destructive run through: never hidden.
            Event::Safe(note) => self.eprintln(&format!("{} {note}", self.err.yellow("guard:"))),
            // A migration blocked by a lock: every attempt, even when quiet.
            retry @ Event::Retrying { .. } => {
                if let Some(text) = retry.retry_text() {
                    self.eprintln(&format!("{} {text}", self.err.yellow("lock:")));
                }
            }
            _ if self.quiet => {}
            Event::Planned { steps, .. } if steps > BAR_AFTER && self.bar_allowed => {
                let bar =
                    ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
                if let Ok(style) =
                    ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg}")
                {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(Duration::from_millis(100));
                self.bar = Some(bar);
            }
            Event::Started {
                migration,
                direction,
            } => {
                let label = format!(
                    "{} {}_{}",
                    verb(direction),
                    migration.version,
                    migration.name
                );
                match &self.bar {
                    Some(bar) => bar.set_message(label),
                    None if self.terminal => {
                        print!("{label} ... ");
                        let _ = std::io::Write::flush(&mut std::io::stdout());
                    }
                    None => {}
                }
            }
            Event::Finished {
                migration,
                direction,
                elapsed,
            } => {
                let time = self
                    .paint
                    .dim(&format!("{:.1} ms", elapsed.as_secs_f64() * 1000.0));
                let line = format!(
                    "{} {}_{} ... {time}",
                    verb(direction),
                    migration.version,
                    migration.name
                );
                match &self.bar {
                    Some(bar) => {
                        bar.println(line);
                        bar.inc(1);
                    }
                    None if self.terminal => println!("{time}"),
                    None => println!("{line}"),
                }
            }
            _ => {}
        }
    }

    fn eprintln(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn verb(direction: Direction) -> &'static str {
    match direction {
        Direction::Up => "applying",
        Direction::Down => "reverting",
    }
}
