//! Cutting a file that holds both scripts of a migration into its up and
//! down sections, for the sectioned layouts (goose, sql-migrate, dbmate).
//!
//! Each layout says what one line is ([`Dialect::classify`]): a section
//! marker, the start or end of an explicit statement, a directive for the
//! whole file, or plain text. Each section becomes the file's text with the
//! other lines blanked (their line ends kept), so a server position still
//! points at the right line and column of the file; its checksum is taken
//! over its own lines only (and the file's directives), so editing the
//! down section is not drift of the up.

use std::ops::Range;
use std::path::Path;

use crate::migrations::LoadError;

/// What one line of a sectioned file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Line {
    /// Starts the up section; `no_transaction` from the marker's options.
    Up { no_transaction: bool },
    /// Starts the down section.
    Down { no_transaction: bool },
    /// Starts an explicit statement (`StatementBegin`).
    Begin,
    /// Ends an explicit statement (`StatementEnd`).
    End,
    /// A directive for the whole file: both directions run outside a
    /// transaction (goose's `NO TRANSACTION`).
    FileNoTransaction,
    /// Anything else.
    Plain,
}

/// How a sectioned layout reads its files.
pub(super) trait Dialect: Sync {
    /// The layout's name, for messages (`goose`).
    fn tool(&self) -> &'static str;

    /// What `line` (without its line end) is, or what is wrong with it.
    fn classify(&self, line: &str) -> Result<Line, String>;

    /// The marker that starts the up section, for messages.
    fn up_marker(&self) -> &'static str;

    /// Whether a section marker may appear once only (goose, dbmate) or
    /// any number of times (sql-migrate).
    fn single_sections(&self) -> bool;

    /// Whether a statement before the up marker is an error (goose,
    /// dbmate) or ignored (sql-migrate).
    fn refuses_text_before_up(&self) -> bool;
}

/// One direction of a sectioned file.
#[derive(Debug, Default)]
pub(super) struct Section {
    /// The file's text with every other line blanked.
    pub(super) text: String,
    /// The section's own lines (and the file's directives), for its checksum.
    pub(super) own: Vec<u8>,
    /// Ranges of `text` marked as one statement each.
    pub(super) blocks: Vec<Range<usize>>,
    /// The marker asks for no transaction.
    pub(super) no_transaction: bool,
    /// The section is in the file.
    pub(super) present: bool,
}

/// A sectioned file, cut.
#[derive(Debug, Default)]
pub(super) struct Cut {
    pub(super) up: Section,
    pub(super) down: Section,
    /// A directive for the whole file asks for no transaction.
    pub(super) file_no_transaction: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

/// The line end of `line` (`\n`, `\r\n` or nothing).
fn line_end(line: &str) -> &str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    }
}

/// Cuts `text`, the file at `path`, into its sections.
pub(super) fn cut(dialect: &dyn Dialect, path: &Path, text: &str) -> Result<Cut, LoadError> {
    let problem = |line: usize, problem: String| LoadError::Directive {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let mut cut = Cut::default();
    let mut current: Option<Dir> = None;
    let mut block: Option<(Dir, usize, usize)> = None;
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        let lineno = idx + 1;
        let end = line_end(line);
        let bare = &line[..line.len() - end.len()];
        let kind = dialect.classify(bare).map_err(|p| problem(lineno, p))?;
        match kind {
            Line::Up { no_transaction } | Line::Down { no_transaction } => {
                let dir = if matches!(kind, Line::Up { .. }) {
                    Dir::Up
                } else {
                    Dir::Down
                };
                if let Some((_, at, _)) = block {
                    return Err(problem(
                        lineno,
                        format!("a section starts inside the explicit statement opened on line {at}; end it first"),
                    ));
                }
                let up_present = cut.up.present;
                let section = match dir {
                    Dir::Up => &mut cut.up,
                    Dir::Down => &mut cut.down,
                };
                if section.present && dialect.single_sections() {
                    return Err(problem(
                        lineno,
                        format!(
                            "a second {} section; {} reads one up and one down section per file",
                            if dir == Dir::Up { "up" } else { "down" },
                            dialect.tool()
                        ),
                    ));
                }
                if dir == Dir::Down && !up_present && dialect.single_sections() {
                    return Err(problem(
                        lineno,
                        format!(
                            "the down section comes before `{}`; put the up section first",
                            dialect.up_marker()
                        ),
                    ));
                }
                section.present = true;
                section.no_transaction |= no_transaction;
                current = Some(dir);
            }
            Line::Begin => {
                let Some(dir) = current else {
                    return Err(problem(
                        lineno,
                        format!("`StatementBegin` outside a section; put it after `{}` or the down marker", dialect.up_marker()),
                    ));
                };
                if let Some((_, at, _)) = block {
                    return Err(problem(
                        lineno,
                        format!("`StatementBegin` inside the explicit statement opened on line {at}; end that one first"),
                    ));
                }
                let section = match dir {
                    Dir::Up => &cut.up,
                    Dir::Down => &cut.down,
                };
                block = Some((dir, lineno, section.text.len() + line.len()));
            }
            Line::End => match block.take() {
                Some((dir, _, start)) if Some(dir) == current => {
                    let section = match dir {
                        Dir::Up => &mut cut.up,
                        Dir::Down => &mut cut.down,
                    };
                    section.blocks.push(start..section.text.len());
                }
                _ => {
                    return Err(problem(
                        lineno,
                        "`StatementEnd` without a `StatementBegin` before it".to_string(),
                    ))
                }
            },
            Line::FileNoTransaction => cut.file_no_transaction = true,
            Line::Plain => {
                let trimmed = bare.trim();
                if current.is_none()
                    && dialect.refuses_text_before_up()
                    && !trimmed.is_empty()
                    && !trimmed.starts_with("--")
                {
                    return Err(problem(
                        lineno,
                        format!(
                            "SQL before `{}`; {} refuses it too: move it into a section",
                            dialect.up_marker(),
                            dialect.tool()
                        ),
                    ));
                }
            }
        }
        // The line goes to its section as written; the other section gets
        // its line end only. A directive for the whole file counts in both
        // checksums.
        let owner = if kind == Line::FileNoTransaction {
            None
        } else {
            current
        };
        for (dir, section) in [(Dir::Up, &mut cut.up), (Dir::Down, &mut cut.down)] {
            if owner == Some(dir) {
                section.text.push_str(line);
                section.own.extend_from_slice(line.as_bytes());
            } else {
                section.text.push_str(end);
                if kind == Line::FileNoTransaction {
                    section.own.extend_from_slice(line.as_bytes());
                }
            }
        }
    }
    if let Some((_, at, _)) = block {
        return Err(problem(
            at,
            "`StatementBegin` without a `StatementEnd`; end the statement".to_string(),
        ));
    }
    Ok(cut)
}
