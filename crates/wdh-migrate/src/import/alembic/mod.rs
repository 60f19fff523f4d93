//! Converting an Alembic project: its revision graph from `alembic history
//! --verbose` (`history`), one deterministic order (`order`), each
//! revision's SQL from Alembic's offline mode, revision by revision
//! (`alembic upgrade <down_revision>:<revision> --sql` and `alembic
//! downgrade <revision>:<down_revision> --sql`, run by `process`), cleaned
//! of Alembic's own bookkeeping (`offline`).
//!
//! For a merge, the upgrade starts from its first down revision and so also
//! runs the other branches; only the merge's own section is kept. A
//! revision that cannot run offline (it reads the database, or fails) is
//! reported with the reason, and nothing is converted. A downgrade that
//! raises `NotImplementedError` makes the migration irreversible.

mod history;
mod offline;
mod order;
mod process;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub use history::Revision;
pub use offline::{Script, Step};
pub use process::Alembic;

use super::ImportError;

/// One converted revision.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The revision.
    pub revision: Revision,
    /// Its upgrade.
    pub up: Script,
    /// Its downgrade, or why there is none.
    pub down: Down,
}

/// A converted revision's way back.
#[derive(Debug, Clone)]
pub enum Down {
    /// The downgrade's statements.
    Script(Script),
    /// The downgrade raises `NotImplementedError`: irreversible, with the message.
    Irreversible(String),
}

/// A revision that could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unconvertible {
    /// The revision id.
    pub revision: String,
    /// The step that failed.
    pub step: Step,
    /// The command that failed.
    pub command: String,
    /// Why, in Alembic's words.
    pub reason: String,
}

/// The project's revisions, in the order they apply, converted.
pub fn convert(alembic: &Alembic) -> Result<Vec<Converted>, ImportError> {
    let revisions = history::parse(&alembic.history()?).map_err(ImportError::Graph)?;
    if revisions.is_empty() {
        return Err(ImportError::NoRevisions {
            config: alembic.config().to_path_buf(),
        });
    }
    let order = order::order(&revisions).map_err(ImportError::Graph)?;
    let ordered: Vec<&Revision> = order.iter().map(|&i| &revisions[i]).collect();
    // Two offline runs per revision, spread over a few processes at once.
    let jobs: Vec<(usize, Step)> = (0..ordered.len())
        .flat_map(|i| [(i, Step::Upgrade), (i, Step::Downgrade)])
        .collect();
    let outputs: Vec<Mutex<Option<Result<String, String>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, step)) = jobs.get(j) else {
                    return;
                };
                let out = alembic.offline(step, &range(ordered[i], step));
                *outputs[j].lock().unwrap_or_else(|p| p.into_inner()) = Some(out);
            });
        }
    });
    let outputs: Vec<Result<String, String>> = outputs
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or_else(|| Err("not run".into()))
        })
        .collect();
    // The version table, named by the first run from base.
    let version_table = ordered
        .iter()
        .zip(outputs.chunks(2))
        .filter(|(r, _)| r.parents.is_empty())
        .find_map(|(_, out)| out[0].as_ref().ok().and_then(|o| offline::version_table(o)))
        .unwrap_or_else(|| "alembic_version".into());

    let mut converted = Vec::new();
    let mut failed = Vec::new();
    for (r, out) in ordered.iter().zip(outputs.chunks(2)) {
        let fail = |step: Step, reason: String| Unconvertible {
            revision: r.id.clone(),
            step,
            command: format!("alembic {} {} --sql", step.word(), range(r, step)),
            reason,
        };
        let up = match &out[0] {
            Ok(text) => {
                offline::script(text, Step::Upgrade, &r.id, &version_table).ok_or_else(|| {
                    fail(
                        Step::Upgrade,
                        "its step is missing from alembic's output".into(),
                    )
                })
            }
            Err(reason) => Err(fail(Step::Upgrade, reason.clone())),
        };
        let down = match &out[1] {
            Ok(text) => offline::script(text, Step::Downgrade, &r.id, &version_table)
                .map(Down::Script)
                .ok_or_else(|| {
                    fail(
                        Step::Downgrade,
                        "its step is missing from alembic's output".into(),
                    )
                }),
            Err(reason) if reason.contains("NotImplementedError") => {
                Ok(Down::Irreversible(reason.clone()))
            }
            Err(reason) => Err(fail(Step::Downgrade, reason.clone())),
        };
        match (up, down) {
            (Ok(up), Ok(down)) => converted.push(Converted {
                revision: (*r).clone(),
                up,
                down,
            }),
            (up, down) => failed.extend(up.err().into_iter().chain(down.err())),
        }
    }
    if failed.is_empty() {
        Ok(converted)
    } else {
        Err(ImportError::Offline { failed })
    }
}

/// The offline range of one revision's step: from (or to) its first down
/// revision, or base.
fn range(r: &Revision, step: Step) -> String {
    let parent = r.parents.first().map_or("base", String::as_str);
    match step {
        Step::Upgrade => format!("{parent}:{}", r.id),
        Step::Downgrade => format!("{}:{parent}", r.id),
    }
}
