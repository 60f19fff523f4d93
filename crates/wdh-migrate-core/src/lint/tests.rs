//! The whole pipeline on loaded sets: every rule fires on a fixture and is
//! quiet on another, acknowledgements, unused acknowledgements, positions,
//! rendering, and the live judgement of sizes from given facts.

use std::path::Path;

use super::live::{Column, Facts, Found};
use super::names::Relation;
use super::walk::TableRef;
use super::*;
use crate::migrations::LoadError;

fn set(up: &str, down: &str) -> MigrationSet {
    MigrationSet::from_files(
        Path::new("mig"),
        vec![
            ("0001_x/up.sql".into(), up.as_bytes().to_vec()),
            ("0001_x/down.sql".into(), down.as_bytes().to_vec()),
        ],
    )
    .expect("the set loads")
}

fn report(up: &str, down: &str) -> Report {
    offline(&every_file(&set(up, down)))
}

/// Every rule: a file where it fires, and one where it does not.
const FIXTURES: &[(&str, &str, &str)] = &[
    ("index-without-concurrently", "CREATE INDEX i ON t (a);", "CREATE TABLE t (a int); CREATE INDEX i ON t (a);"),
    ("reindex-without-concurrently", "REINDEX TABLE t;", "-- wdh:no-transaction\nREINDEX TABLE CONCURRENTLY t;"),
    ("drop-index-without-concurrently", "DROP INDEX i;", "-- wdh:no-transaction\nDROP INDEX CONCURRENTLY i;"),
    ("detach-partition-without-concurrently", "ALTER TABLE p DETACH PARTITION c;", "-- wdh:no-transaction\nALTER TABLE p DETACH PARTITION c CONCURRENTLY;"),
    ("vacuum-full", "-- wdh:no-transaction\nVACUUM FULL t;", "-- wdh:no-transaction\nVACUUM t;"),
    ("cluster", "CLUSTER t USING i;", "SELECT 1;"),
    ("refresh-without-concurrently", "REFRESH MATERIALIZED VIEW v;", "REFRESH MATERIALIZED VIEW CONCURRENTLY v;"),
    ("column-type-change", "ALTER TABLE t ALTER COLUMN a TYPE bigint;", "ALTER TABLE t ALTER COLUMN a SET DEFAULT 0;"),
    ("volatile-default", "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();", "ALTER TABLE t ADD COLUMN n int DEFAULT 0;"),
    ("add-required-column", "ALTER TABLE t ADD COLUMN n int NOT NULL;", "ALTER TABLE t ADD COLUMN n int NOT NULL DEFAULT 0;"),
    ("table-rewrite", "ALTER TABLE t SET TABLESPACE fast;", "ALTER TABLE t SET (fillfactor = 90);"),
    ("backfill", "ALTER TABLE t ADD COLUMN n int;\nUPDATE t SET n = a;", "ALTER TABLE t ADD COLUMN n int;\nUPDATE t SET n = a WHERE id < 1000;"),
    ("constraint-not-valid", "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);", "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;"),
    ("set-not-null", "ALTER TABLE t ALTER COLUMN a SET NOT NULL;", "ALTER TABLE t ADD CONSTRAINT a_nn CHECK (a IS NOT NULL) NOT VALID;"),
    ("unique-without-index", "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a);", "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX u_a;"),
    ("concurrently-in-transaction", "CREATE INDEX CONCURRENTLY i ON t (a);", "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"),
    ("session-setting", "SET search_path = app;", "SET LOCAL search_path = app;"),
    ("rename-column", "ALTER TABLE t RENAME COLUMN a TO b;", "ALTER TABLE t RENAME CONSTRAINT c TO d;"),
    ("rename-table", "ALTER TABLE t RENAME TO u;", "ALTER INDEX i RENAME TO j;"),
    ("drop-not-null", "ALTER TABLE t ALTER COLUMN a DROP NOT NULL;", "ALTER TABLE t ALTER COLUMN a DROP DEFAULT;"),
    ("drop-table", "DROP TABLE t;", "CREATE TABLE t (a int); DROP TABLE t;"),
    ("drop-column", "ALTER TABLE t DROP COLUMN a;", "ALTER TABLE t DROP CONSTRAINT c;"),
    ("drop-schema", "DROP SCHEMA app CASCADE;", "CREATE SCHEMA s; DROP SCHEMA s;"),
    ("truncate", "TRUNCATE t;", "CREATE TABLE t (a int); TRUNCATE t;"),
    ("delete-without-where", "DELETE FROM t;", "DELETE FROM t WHERE a IS NULL;"),
    ("update-without-where", "UPDATE t SET a = 0;", "UPDATE t SET a = 0 WHERE a IS NULL;"),
    ("drop-database", "-- wdh:no-transaction\nDROP DATABASE old;", "SELECT 1;"),
    ("drop-cascade", "DROP TYPE mood CASCADE;", "DROP TYPE mood;"),
    ("hidden-sql", "DO $$ BEGIN EXECUTE format('TRUNCATE %I', 't'); END $$;", "DO $$ BEGIN RAISE NOTICE 'hi'; END $$;"),
    ("prefer-timestamptz", "CREATE TABLE t (at timestamp);", "CREATE TABLE t (at timestamptz);"),
    ("char-type", "CREATE TABLE t (c char(2));", "CREATE TABLE t (c text);"),
    ("prefer-identity", "CREATE TABLE t (id bigserial);", "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY);"),
    ("prefer-bigint-key", "CREATE TABLE t (id int PRIMARY KEY);", "CREATE TABLE t (id bigint PRIMARY KEY);"),
    ("identifier-too-long", "CREATE TABLE a_name_that_is_much_longer_than_the_sixty_three_bytes_postgres_keeps (a int);", "CREATE TABLE a_short_name (a int);"),
    ("syntax-error", "CREATE TABLE (;", "CREATE TABLE t (a int);"),
    ("unused-allow", "-- wdh:allow drop-table\nCREATE TABLE t (a int);", "-- wdh:allow drop-table\nDROP TABLE t;"),
];

#[test]
fn every_rule_fires_on_a_fixture_and_not_on_another() {
    for rule in RULES {
        assert!(
            FIXTURES.iter().any(|(id, _, _)| id == &rule.id),
            "no fixture for {}",
            rule.id
        );
    }
    for (id, fires, quiet) in FIXTURES {
        let found = report(fires, "");
        assert!(
            found.findings.iter().any(|f| f.rule == *id),
            "{id} should fire on {fires:?}: {:#?}",
            found.findings
        );
        let found = report(quiet, "");
        assert!(
            found.findings.iter().all(|f| f.rule != *id),
            "{id} should not fire on {quiet:?}: {:#?}",
            found.findings
        );
    }
}

#[test]
fn rule_ids_are_unique_kebab_case_and_documented() {
    let readme = include_str!("../../../../README.md");
    for (i, rule) in RULES.iter().enumerate() {
        assert!(
            rule.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{}",
            rule.id
        );
        assert!(
            RULES[..i].iter().all(|r| r.id != rule.id),
            "{} twice",
            rule.id
        );
        assert!(
            readme.contains(&format!("| `{}` |", rule.id)),
            "the README's rule table lacks {}",
            rule.id
        );
    }
}

#[test]
fn an_allow_acknowledges_its_rule_in_its_file_only() {
    let r = report(
        "-- The legacy table is archived elsewhere.\n-- wdh:allow drop-table archived in s3://backups/legacy\nDROP TABLE legacy;\nTRUNCATE other;",
        "DROP TABLE t;",
    );
    let drop = r
        .findings
        .iter()
        .find(|f| f.rule == "drop-table")
        .expect("drop-table");
    assert_eq!(
        drop.acknowledged,
        Some(Acknowledged {
            line: 2,
            reason: Some("archived in s3://backups/legacy".into())
        })
    );
    assert!(!drop.is_error() && !drop.is_destructive());
    let truncate = r
        .findings
        .iter()
        .find(|f| f.rule == "truncate")
        .expect("truncate");
    assert!(truncate.is_error() && truncate.is_destructive());
    assert_eq!((r.errors(), r.acknowledged()), (1, 1), "{:#?}", r.findings);
    assert_eq!(
        drop.render(Path::new("migrations")),
        "migrations/0001_x/up.sql:3:1: acknowledged[drop-table]: `DROP TABLE legacy` loses every row of `legacy`\n  \
         help: stop using the table in the code and deploy that first; keep the table (or a dump of it) until you are sure; when the loss is intended, acknowledge it in the file: `-- wdh:allow drop-table <reason>` among its first comment lines (without it, `upgrade` refuses this migration on a protected database)\n  \
         note: acknowledged by `-- wdh:allow drop-table` on line 2: archived in s3://backups/legacy"
    );
    assert_eq!(
        truncate.headline(Path::new("migrations")),
        "migrations/0001_x/up.sql:4:10: error[truncate]: `TRUNCATE` loses every row of `other`"
    );
}

#[test]
fn an_allow_that_acknowledges_nothing_is_said() {
    let r = report(
        "-- wdh:allow rename-table\nCREATE TABLE t (a int);",
        "-- wdh:allow drop-table\nDROP TABLE t;",
    );
    let unused: Vec<(&str, usize, &str)> = r
        .findings
        .iter()
        .filter(|f| f.rule == "unused-allow")
        .map(|f| (f.path.to_str().unwrap_or(""), f.line, f.message.as_str()))
        .collect();
    assert_eq!(
        unused,
        vec![
            ("0001_x/up.sql", 1, "`-- wdh:allow rename-table` acknowledges nothing: no statement of this file is a `rename-table` finding"),
            ("0001_x/down.sql", 1, "`-- wdh:allow drop-table` acknowledges nothing: down scripts are not checked for `drop-table` (a downgrade is guarded as a whole)"),
        ]
    );
}

#[test]
fn an_allow_of_an_unknown_rule_does_not_load() {
    let err = MigrationSet::from_files(
        Path::new("mig"),
        vec![(
            "0001_x/up.sql".into(),
            b"-- wdh:allow drop-tabel\nDROP TABLE t;".to_vec(),
        )],
    )
    .expect_err("an unknown rule");
    assert!(matches!(&err, LoadError::UnknownRule { line: 1, rule, .. } if rule == "drop-tabel"));
    assert!(err.to_string().starts_with("mig/0001_x/up.sql:1: `-- wdh:allow drop-tabel` names no lint rule; the rules are: index-without-concurrently, "), "{err}");
    let err = MigrationSet::from_files(
        Path::new("mig"),
        vec![(
            "0001_x/up.sql".into(),
            b"--wdh:allow\nDROP TABLE t;".to_vec(),
        )],
    )
    .expect_err("no rule");
    assert!(
        err.to_string()
            .contains("(write `-- wdh:allow <rule> [reason]`)"),
        "{err}"
    );
}

#[test]
fn a_do_block_is_linted_and_functions_are_not() {
    let r = report(
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE a; END $$;\n\
         DO $body$\nDECLARE n int;\nBEGIN\n  SELECT count(*) INTO n FROM t;\n  IF n = 0 THEN\n    DROP TABLE t;\n  END IF;\nEND\n$body$;",
        "",
    );
    let found: Vec<(&str, usize, usize)> = r
        .findings
        .iter()
        .map(|f| (f.rule, f.line, f.column))
        .collect();
    assert_eq!(found, vec![("drop-table", 7, 5)]);
}

fn table(name: &str) -> TableRef {
    TableRef {
        rel: Relation {
            schema: None,
            name: name.into(),
        },
        search_path: None,
    }
}

fn live(up: &str, facts: &Facts) -> Report {
    let set = set(up, "");
    let jobs = vec![Job {
        migration: &set.migrations[0],
        script: &set.migrations[0].up,
        direction: Direction::Up,
        live: true,
    }];
    let analysis = walk::analyze(&jobs, Some(facts.version));
    judge::judge(&jobs, analysis, Some(facts), Thresholds::default())
}

#[test]
fn sizes_decide_a_sized_rule() {
    let found = |rows: Option<u64>, bytes: u64, heap_bytes: u64| Found {
        qualified: "public.t".into(),
        rows,
        bytes,
        heap_bytes,
        oid: 1,
    };
    let sql = "CREATE INDEX i ON t (a);";
    let big = Facts::given(
        150_000,
        vec![(
            table("t"),
            Some(found(Some(2_000_000), 200 << 20, 150 << 20)),
        )],
    );
    let r = live(sql, &big);
    assert_eq!(r.findings.len(), 1, "{:#?}", r.findings);
    assert_eq!(r.findings[0].severity, Severity::Error);
    assert!(r.findings[0].message.ends_with("; `public.t` is large: about 2,000,000 rows, 200.0 MB (large from 100,000 rows or 100.0 MB)"), "{}", r.findings[0].message);
    let small = Facts::given(
        150_000,
        vec![(table("t"), Some(found(Some(120), 64 << 10, 8 << 10)))],
    );
    let r = live(sql, &small);
    assert_eq!(r.findings[0].severity, Severity::Warning);
    assert!(r.findings[0]
        .message
        .ends_with("; `public.t` is small (about 120 rows, 0.1 MB), so it is brief"));
    let empty = Facts::given(150_000, vec![(table("t"), Some(found(None, 16 << 10, 0)))]);
    assert!(live(sql, &empty).findings.is_empty());
    // Not there yet: an earlier pending migration creates it.
    let absent = Facts::given(150_000, vec![(table("t"), None)]);
    assert!(live(sql, &absent).findings.is_empty());
    // Never analyzed: the size in bytes decides.
    let unknown = Facts::given(
        150_000,
        vec![(table("t"), Some(found(None, 300 << 20, 290 << 20)))],
    );
    let r = live(sql, &unknown);
    assert_eq!(r.findings[0].severity, Severity::Error);
    assert!(r.findings[0]
        .message
        .contains("rows unknown (never analyzed), 300.0 MB"));
    // A destructive rule is not sized: an empty table is still dropped.
    let r = live("DROP TABLE t;", &empty);
    assert_eq!(
        (r.findings.len(), r.findings[0].severity),
        (1, Severity::Error)
    );
}

#[test]
fn the_catalog_says_which_type_changes_and_not_nulls_are_free() {
    let big = || {
        Some(Found {
            qualified: "public.t".into(),
            rows: Some(1_000_000),
            bytes: 1 << 30,
            heap_bytes: 1 << 30,
            oid: 1,
        })
    };
    let column = |typname: &str, typmod: i32, not_null: bool, checked: bool| Column {
        typname: typname.into(),
        typmod,
        not_null,
        checked,
    };
    let facts = |version: i32, c: Column| {
        let mut f = Facts::given(version, vec![(table("t"), big())]);
        f.with_column(table("t"), "a", c);
        f
    };
    let widen = "ALTER TABLE t ALTER COLUMN a TYPE varchar(20);";
    assert!(
        live(widen, &facts(150_000, column("varchar", 14, false, false)))
            .findings
            .is_empty()
    );
    let r = live(widen, &facts(150_000, column("int4", -1, false, false)));
    assert_eq!(r.findings[0].severity, Severity::Error);
    assert!(
        r.findings[0].message.contains("`a` is `integer` now"),
        "{}",
        r.findings[0].message
    );
    let set = "ALTER TABLE t ALTER COLUMN a SET NOT NULL;";
    assert!(live(set, &facts(150_000, column("int4", -1, false, true)))
        .findings
        .is_empty());
    assert!(live(set, &facts(150_000, column("int4", -1, true, false)))
        .findings
        .is_empty());
    // Before 12 the validated CHECK does not spare the scan.
    let r = live(set, &facts(110_000, column("int4", -1, false, true)));
    assert_eq!(r.findings[0].severity, Severity::Error);
    assert!(r.findings[0].help.contains("before PostgreSQL 12"));
}

#[test]
fn the_catalog_says_whether_a_default_is_volatile() {
    let big = Some(Found {
        qualified: "public.t".into(),
        rows: Some(1_000_000),
        bytes: 1 << 30,
        heap_bytes: 1 << 30,
        oid: 1,
    });
    let sql = "ALTER TABLE t ADD COLUMN c text DEFAULT app.code();";
    let mut f = Facts::given(150_000, vec![(table("t"), big.clone())]);
    f.with_function("app.code", true);
    assert!(live(sql, &f).findings.is_empty());
    let mut f = Facts::given(150_000, vec![(table("t"), big)]);
    f.with_function("app.code", false);
    assert_eq!(live(sql, &f).findings[0].severity, Severity::Error);
}

#[test]
fn a_long_quoted_identifier_is_found_at_its_position() {
    let r = report(
        "CREATE TABLE t (a int);\nCREATE TABLE \"a name with spaces that goes on and on, for more than sixty-three bytes\" (a int);",
        "",
    );
    let found: Vec<(&str, usize, usize)> = r
        .findings
        .iter()
        .map(|f| (f.rule, f.line, f.column))
        .collect();
    assert_eq!(found, vec![("identifier-too-long", 2, 14)]);
    // A long word in a string or a comment is no identifier.
    let r = report(
        "-- averyveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword\nSELECT 'averyveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword';",
        "",
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}
