//! Changes that break the code running against the database while the
//! migration is deployed: renames, and a column that may now be NULL.

use pg_query::protobuf::{ObjectType, RenameStmt};

use super::names::Relation;
use super::rules;
use super::walk::{Ask, FileCx};

const EXPAND_CONTRACT: &str = "expand and contract: add the new";

pub(super) fn rename(cx: &mut FileCx<'_>, s: &RenameStmt) {
    let Some(range) = s.relation.as_ref() else {
        return;
    };
    let rel = Relation::of(range);
    if cx.is_new(&rel) {
        return;
    }
    match ObjectType::try_from(s.rename_type) {
        Ok(ObjectType::ObjectColumn) => {
            if cx.is_new_column(&rel, &s.subname) {
                return;
            }
            cx.hit(
                &rules::RENAME_COLUMN,
                range.location,
                format!(
                    "renaming `{}` of {rel} to `{}` breaks the running code, which still uses the old name until it is deployed",
                    s.subname, s.newname
                ),
                format!("{EXPAND_CONTRACT} column, write both from the code, fill it, move the reads, then drop the old one; or acknowledge it with `-- wdh:allow rename-column` when nothing reads the column while this deploys"),
                Ask::Nothing,
            );
        }
        Ok(
            ObjectType::ObjectTable
            | ObjectType::ObjectView
            | ObjectType::ObjectMatview
            | ObjectType::ObjectForeignTable,
        ) => cx.hit(
            &rules::RENAME_TABLE,
            range.location,
            format!(
                "renaming {rel} to `{}` breaks the running code, which still uses the old name until it is deployed",
                s.newname
            ),
            "rename it and leave a view with the old name (`CREATE VIEW old AS SELECT * FROM new`: simple views are updatable) until the code no longer uses it; or acknowledge it with `-- wdh:allow rename-table`".into(),
            Ask::Nothing,
        ),
        _ => {}
    }
}

pub(super) fn drop_not_null(cx: &mut FileCx<'_>, rel: &Relation, location: i32, column: &str) {
    if cx.is_new_column(rel, column) {
        return;
    }
    cx.hit(
        &rules::DROP_NOT_NULL,
        location,
        format!("`DROP NOT NULL` on `{column}` of {rel}: code that reads it may not expect NULL"),
        "make sure every reader handles NULL before rows without a value can be written; acknowledge it with `-- wdh:allow drop-not-null` once they do".into(),
        Ask::Nothing,
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fires, quiet};

    #[test]
    fn renames() {
        fires(
            "rename-column",
            "ALTER TABLE t RENAME COLUMN a TO b;",
            (1, 13),
        );
        fires("rename-table", "ALTER TABLE t RENAME TO u;", (1, 13));
        fires("rename-table", "ALTER VIEW v RENAME TO w;", (1, 12));
        quiet(
            "rename-column",
            "CREATE TABLE t (a int); ALTER TABLE t RENAME COLUMN a TO b;",
        );
        quiet(
            "rename-table",
            "CREATE TABLE t (a int); ALTER TABLE t RENAME TO u;",
        );
        quiet("rename-table", "ALTER INDEX i RENAME TO j;");
    }

    #[test]
    fn drop_not_null() {
        fires(
            "drop-not-null",
            "ALTER TABLE t ALTER COLUMN a DROP NOT NULL;",
            (1, 13),
        );
        quiet(
            "drop-not-null",
            "ALTER TABLE t ADD COLUMN a int NOT NULL DEFAULT 0; ALTER TABLE t ALTER COLUMN a DROP NOT NULL;",
        );
    }
}
