//! Locks held while something long runs: index builds and rebuilds,
//! `VACUUM FULL`, `CLUSTER`, `REFRESH MATERIALIZED VIEW`, and the brief
//! ACCESS EXCLUSIVE of `DROP INDEX` and `DETACH PARTITION`.

use pg_query::protobuf::{
    ClusterStmt, DropStmt, IndexStmt, ObjectType, PartitionCmd, RefreshMatViewStmt,
    ReindexObjectType, ReindexStmt, VacuumStmt,
};

use super::names::{dropped, option, Relation};
use super::rules;
use super::session;
use super::walk::{Ask, FileCx};

const NO_TRANSACTION: &str =
    "alone in a migration marked `-- wdh:no-transaction` (a build that fails leaves an INVALID index, which `--retry-failed` drops and builds again)";

pub(super) fn create_index(cx: &mut FileCx<'_>, s: &IndexStmt) {
    let Some(range) = s.relation.as_ref() else {
        return;
    };
    let rel = Relation::of(range);
    if !s.idxname.is_empty() {
        cx.created_indexes.push(Relation {
            schema: rel.schema.clone(),
            name: s.idxname.clone(),
        });
    }
    if s.concurrent {
        session::concurrently(cx, "CREATE INDEX CONCURRENTLY", range.location);
        return;
    }
    if cx.is_new(&rel) {
        return;
    }
    let what = if s.unique {
        "CREATE UNIQUE INDEX"
    } else {
        "CREATE INDEX"
    };
    cx.hit(
        &rules::INDEX_WITHOUT_CONCURRENTLY,
        range.location,
        format!(
            "`{what}` without `CONCURRENTLY` on {rel} blocks its writes (INSERT, UPDATE, DELETE) until the index is built"
        ),
        format!(
            "build it with `{what} CONCURRENTLY`, {NO_TRANSACTION}; on a partitioned table, create it `ON ONLY` the parent, build each partition's index concurrently and attach it with `ALTER INDEX … ATTACH PARTITION`"
        ),
        Ask::Size(cx.table(&rel)),
    );
}

pub(super) fn reindex(cx: &mut FileCx<'_>, s: &ReindexStmt) {
    let location = s.relation.as_ref().map_or(-1, |r| r.location);
    if option(&s.params, "concurrently").unwrap_or(false) {
        session::concurrently(cx, "REINDEX CONCURRENTLY", location);
        return;
    }
    let kind = ReindexObjectType::try_from(s.kind).unwrap_or(ReindexObjectType::Undefined);
    let (what, ask) = match (kind, s.relation.as_ref()) {
        (ReindexObjectType::ReindexObjectIndex, Some(r)) => {
            let rel = Relation::of(r);
            if cx.created_indexes.iter().any(|i| i.same(&rel)) {
                return;
            }
            (
                format!("index {rel} and blocks writes to its table"),
                Ask::Size(cx.table(&rel)),
            )
        }
        (ReindexObjectType::ReindexObjectTable, Some(r)) => {
            let rel = Relation::of(r);
            if cx.is_new(&rel) {
                return;
            }
            (
                format!("every index of {rel} and blocks writes to it"),
                Ask::Size(cx.table(&rel)),
            )
        }
        _ => (
            format!(
                "every index of the {} `{}` and blocks writes to each table",
                match kind {
                    ReindexObjectType::ReindexObjectSchema => "schema",
                    _ => "database",
                },
                s.name
            ),
            Ask::Nothing,
        ),
    };
    let help = if cx.at_least(120_000) {
        format!("use `REINDEX … CONCURRENTLY` (PostgreSQL 12+), {NO_TRANSACTION}")
    } else {
        "PostgreSQL before 12 has no `REINDEX CONCURRENTLY`: build a new index with `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY` the old one and rename the new one".into()
    };
    cx.hit(
        &rules::REINDEX_WITHOUT_CONCURRENTLY,
        location,
        format!("`REINDEX` without `CONCURRENTLY` rebuilds {what}, and blocks reads that use an index while it is rebuilt"),
        help,
        ask,
    );
}

const REPACK: &str = "to give the space back without blocking, run the pg_repack extension (or pg_squeeze) outside the migration; a plain `VACUUM` blocks neither reads nor writes";

pub(super) fn vacuum(cx: &mut FileCx<'_>, s: &VacuumStmt) {
    if !s.is_vacuumcmd || !option(&s.options, "full").unwrap_or(false) {
        return;
    }
    let tables: Vec<(Relation, i32)> = s
        .rels
        .iter()
        .filter_map(|r| match r.node.as_ref() {
            Some(pg_query::protobuf::node::Node::VacuumRelation(v)) => {
                v.relation.as_ref().map(|r| (Relation::of(r), r.location))
            }
            _ => None,
        })
        .collect();
    if tables.is_empty() {
        cx.hit(
            &rules::VACUUM_FULL,
            -1,
            "`VACUUM FULL` of the whole database rewrites every table, each under ACCESS EXCLUSIVE: reads and writes of each wait until it is rewritten".into(),
            REPACK.into(),
            Ask::Nothing,
        );
    }
    for (rel, location) in tables {
        if cx.is_new(&rel) {
            continue;
        }
        cx.hit(
            &rules::VACUUM_FULL,
            location,
            format!("`VACUUM FULL` rewrites {rel} under ACCESS EXCLUSIVE: its reads and writes wait until it is rewritten"),
            REPACK.into(),
            Ask::Size(cx.table(&rel)),
        );
    }
}

pub(super) fn cluster(cx: &mut FileCx<'_>, s: &ClusterStmt) {
    let help = format!("{REPACK} (`pg_repack --order-by` orders the rows like `CLUSTER`)");
    match s.relation.as_ref() {
        Some(r) => {
            let rel = Relation::of(r);
            if cx.is_new(&rel) {
                return;
            }
            cx.hit(
                &rules::CLUSTER,
                r.location,
                format!("`CLUSTER` rewrites {rel} under ACCESS EXCLUSIVE: its reads and writes wait until it is rewritten"),
                help,
                Ask::Size(cx.table(&rel)),
            );
        }
        None => cx.hit(
            &rules::CLUSTER,
            -1,
            "`CLUSTER` without a table rewrites every table clustered before, each under ACCESS EXCLUSIVE".into(),
            help,
            Ask::Nothing,
        ),
    }
}

pub(super) fn refresh(cx: &mut FileCx<'_>, s: &RefreshMatViewStmt) {
    let Some(r) = s.relation.as_ref() else {
        return;
    };
    let rel = Relation::of(r);
    if s.concurrent || s.skip_data || cx.is_new(&rel) {
        return;
    }
    cx.hit(
        &rules::REFRESH_WITHOUT_CONCURRENTLY,
        r.location,
        format!("`REFRESH MATERIALIZED VIEW` without `CONCURRENTLY` holds ACCESS EXCLUSIVE on {rel}: every read of it waits until the refresh ends"),
        "use `REFRESH MATERIALIZED VIEW CONCURRENTLY` (the view needs a unique index on plain columns, covering every row)".into(),
        Ask::Size(cx.table(&rel)),
    );
}

pub(super) fn drop_index(cx: &mut FileCx<'_>, s: &DropStmt) {
    if ObjectType::try_from(s.remove_type) != Ok(ObjectType::ObjectIndex) || s.concurrent {
        return;
    }
    for index in dropped(&s.objects) {
        if cx.created_indexes.iter().any(|i| i.same(&index)) {
            continue;
        }
        cx.hit(
            &rules::DROP_INDEX_WITHOUT_CONCURRENTLY,
            -1,
            format!("`DROP INDEX` without `CONCURRENTLY` takes ACCESS EXCLUSIVE on the table of {index}: it waits for every query on the table, and every later query waits for it"),
            "use `DROP INDEX CONCURRENTLY`, alone in a migration marked `-- wdh:no-transaction`".into(),
            Ask::Nothing,
        );
    }
}

pub(super) fn detach(cx: &mut FileCx<'_>, rel: &Relation, location: i32, p: &PartitionCmd) {
    if p.concurrent {
        session::concurrently(cx, "DETACH PARTITION … CONCURRENTLY", location);
        return;
    }
    if cx.is_new(rel) {
        return;
    }
    let help = if cx.at_least(140_000) {
        "use `DETACH PARTITION … CONCURRENTLY` (PostgreSQL 14+), alone in a migration marked `-- wdh:no-transaction`".to_string()
    } else {
        "PostgreSQL before 14 cannot detach a partition concurrently: run it when the parent is quiet, with a short lock_timeout".into()
    };
    cx.hit(
        &rules::DETACH_PARTITION_WITHOUT_CONCURRENTLY,
        location,
        format!("`DETACH PARTITION` without `CONCURRENTLY` takes ACCESS EXCLUSIVE on {rel}: it waits for every query on it, and every later query waits for it"),
        help,
        Ask::Nothing,
    );
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fires, quiet};

    #[test]
    fn an_index_without_concurrently_on_an_existing_table() {
        fires(
            "index-without-concurrently",
            "CREATE INDEX i ON t (a);",
            (1, 19),
        );
        fires(
            "index-without-concurrently",
            "SELECT 1;\n  CREATE UNIQUE INDEX i ON s.t (a);",
            (2, 28),
        );
        quiet(
            "index-without-concurrently",
            "CREATE TABLE t (a int);\nCREATE INDEX i ON t (a);",
        );
        quiet(
            "index-without-concurrently",
            "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
        );
    }

    #[test]
    fn a_reindex_without_concurrently() {
        fires("reindex-without-concurrently", "REINDEX TABLE t;", (1, 15));
        fires(
            "reindex-without-concurrently",
            "REINDEX INDEX s.i;",
            (1, 15),
        );
        fires(
            "reindex-without-concurrently",
            "REINDEX DATABASE app;",
            (1, 1),
        );
        quiet(
            "reindex-without-concurrently",
            "-- wdh:no-transaction\nREINDEX TABLE CONCURRENTLY t;",
        );
        quiet(
            "reindex-without-concurrently",
            "CREATE TABLE t (a int); REINDEX TABLE t;",
        );
    }

    #[test]
    fn a_drop_index_without_concurrently() {
        fires("drop-index-without-concurrently", "DROP INDEX i;", (1, 1));
        quiet(
            "drop-index-without-concurrently",
            "-- wdh:no-transaction\nDROP INDEX CONCURRENTLY i;",
        );
        quiet(
            "drop-index-without-concurrently",
            "CREATE INDEX i ON t (a); DROP INDEX i;",
        );
    }

    #[test]
    fn a_detach_without_concurrently() {
        fires(
            "detach-partition-without-concurrently",
            "ALTER TABLE p DETACH PARTITION p1;",
            (1, 13),
        );
        quiet(
            "detach-partition-without-concurrently",
            "-- wdh:no-transaction\nALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;",
        );
    }

    #[test]
    fn vacuum_full_cluster_and_refresh() {
        fires(
            "vacuum-full",
            "-- wdh:no-transaction\nVACUUM FULL t;",
            (2, 13),
        );
        fires(
            "vacuum-full",
            "-- wdh:no-transaction\nVACUUM (FULL) t, u;",
            (2, 15),
        );
        quiet(
            "vacuum-full",
            "-- wdh:no-transaction\nVACUUM (FULL false) t;",
        );
        quiet("vacuum-full", "-- wdh:no-transaction\nVACUUM ANALYZE t;");
        fires("cluster", "CLUSTER t USING i;", (1, 9));
        fires("cluster", "CLUSTER;", (1, 1));
        quiet("cluster", "CREATE TABLE t (a int); CLUSTER t USING i;");
        fires(
            "refresh-without-concurrently",
            "REFRESH MATERIALIZED VIEW v;",
            (1, 27),
        );
        quiet(
            "refresh-without-concurrently",
            "REFRESH MATERIALIZED VIEW CONCURRENTLY v;",
        );
        quiet(
            "refresh-without-concurrently",
            "REFRESH MATERIALIZED VIEW v WITH NO DATA;",
        );
    }
}
