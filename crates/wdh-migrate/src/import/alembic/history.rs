//! The revision graph, as `alembic history --verbose` prints it.
//!
//! Each revision is a block that starts with `Rev: <id>` at the start of a
//! line, followed by `Parent: <id>` (`<base>` for a root) or `Merges: <a>,
//! <b>`, optionally `Also depends on: …`, `Branches into: …`, `Branch
//! names: …`, `Path: …`, and the docstring, indented by four spaces, whose
//! first line is the revision's message.

use std::path::PathBuf;

/// One Alembic revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The revision id.
    pub id: String,
    /// Its `down_revision`, in the order the revision lists them (none for
    /// a root; two or more for a merge).
    pub parents: Vec<String>,
    /// Its `depends_on`.
    pub depends_on: Vec<String>,
    /// The message (the docstring's first line).
    pub message: String,
    /// The revision's file.
    pub path: Option<PathBuf>,
}

/// Parses the output of `alembic history --verbose`.
pub fn parse(text: &str) -> Result<Vec<Revision>, String> {
    let mut revisions: Vec<Revision> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("Rev: ") {
            let id = rest.split_whitespace().next().unwrap_or_default();
            if id.is_empty() {
                return Err(format!("line {}: `Rev:` without a revision id", n + 1));
            }
            revisions.push(Revision {
                id: id.to_string(),
                parents: Vec::new(),
                depends_on: Vec::new(),
                message: String::new(),
                path: None,
            });
            continue;
        }
        let Some(current) = revisions.last_mut() else {
            continue; // log lines before the first revision
        };
        if let Some(rest) = line.strip_prefix("Parent: ") {
            current.parents = ids(rest);
        } else if let Some(rest) = line.strip_prefix("Merges: ") {
            current.parents = ids(rest);
        } else if let Some(rest) = line.strip_prefix("Also depends on: ") {
            current.depends_on = ids(rest);
        } else if let Some(rest) = line.strip_prefix("Path: ") {
            current.path = Some(PathBuf::from(rest.trim()));
        } else if let Some(doc) = line.strip_prefix("    ") {
            if current.message.is_empty() && !doc.trim().is_empty() {
                current.message = doc.trim().to_string();
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for r in &revisions {
        if !seen.insert(r.id.as_str()) {
            return Err(format!("revision {} is listed twice", r.id));
        }
    }
    Ok(revisions)
}

/// `a, b` → `[a, b]`; `<base>` → `[]`.
fn ids(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty() && *id != "<base>")
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As alembic 1.x prints it, for a branch and a merge.
    const HISTORY: &str = "\
Rev: ddd4 (head) (mergepoint)
Merges: bbb2, ccc3
Path: /p/migrations/versions/ddd4_merge_them.py

    merge them
    
    Revision ID: ddd4
    Revises: bbb2, ccc3
    Create Date: 2026-12-01 22:13:01.372745

Rev: bbb2
Parent: aaa1
Also depends on: ccc3
Path: /p/migrations/versions/bbb2_add_email.py

    add email

Rev: ccc3
Parent: aaa1
Path: /p/migrations/versions/ccc3_branch_x.py

    branch x

Rev: aaa1 (branchpoint)
Parent: <base>
Branches into: ccc3, bbb2
Path: /p/migrations/versions/aaa1_create_users.py

    create users
    
    Revision ID: aaa1
";

    #[test]
    fn reads_parents_merges_dependencies_messages_and_paths() {
        let revs = parse(HISTORY).unwrap();
        let view: Vec<_> = revs
            .iter()
            .map(|r| {
                (
                    r.id.as_str(),
                    r.parents.join(","),
                    r.depends_on.join(","),
                    r.message.as_str(),
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                ("ddd4", "bbb2,ccc3".into(), String::new(), "merge them"),
                ("bbb2", "aaa1".into(), "ccc3".into(), "add email"),
                ("ccc3", "aaa1".into(), String::new(), "branch x"),
                ("aaa1", String::new(), String::new(), "create users"),
            ]
        );
        assert_eq!(
            revs[3].path.as_deref(),
            Some(std::path::Path::new(
                "/p/migrations/versions/aaa1_create_users.py"
            ))
        );
    }

    #[test]
    fn an_empty_history_has_no_revision_and_a_duplicate_is_an_error() {
        assert_eq!(parse("INFO  [alembic] something\n").unwrap(), []);
        assert!(parse("Rev: a\nParent: <base>\nRev: a\nParent: <base>\n")
            .unwrap_err()
            .contains("listed twice"));
    }
}
