//! How the Python API names the settings a library message points to: its
//! keyword arguments (`allow_drift=True`, `confirm_database='app'`).

use wdh_migrate_core::migrations::Direction;
use wdh_migrate_core::spelling::{Knob, Library, Spelling};

/// The Python API's names for the knobs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kwargs;

impl Spelling for Kwargs {
    fn knob(&self, knob: Knob<'_>) -> String {
        match knob {
            Knob::AllowDrift => "`allow_drift=True`".into(),
            Knob::AllowOutOfOrder => "`allow_out_of_order=True`".into(),
            Knob::MigrationsFolder => "`migrations=`".into(),
            Knob::RetryFailed => "`retry_failed=True`".into(),
            Knob::RetryCommand(Direction::Up) => {
                "`wdh_migrate.upgrade(url, retry_failed=True)`".into()
            }
            Knob::RetryCommand(Direction::Down) => {
                "`wdh_migrate.downgrade(url, '-1', retry_failed=True)`".into()
            }
            Knob::ConfirmDatabase(None) => "`confirm_database=`".into(),
            Knob::ConfirmDatabase(Some(name)) => {
                format!("`confirm_database={}`", python_str(name))
            }
            // The API has no `mark`: the CLI installed with the package does.
            Knob::UnlockMarker => "`wdh-migrate mark production` (without --locked)".into(),
            Knob::LockBudget => "a longer `lock_budget=`".into(),
            Knob::SnapshotDir => "`snapshot_dir=`".into(),
            Knob::NoSnapshot => "`snapshot=False`".into(),
            _ => Library.knob(knob),
        }
    }
}

/// `text` as a Python string literal, as `repr()` writes one for printable
/// text: single quotes unless the text holds one and no double quote.
pub fn python_str(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}
