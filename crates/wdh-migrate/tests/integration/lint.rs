//! `lint`: the compiler form, exit codes, `--json`, acknowledgements, and
//! the judgement against a real database's tables (a large table with rows
//! and an empty one); `upgrade` linting its pending migrations first.

use crate::support::*;

/// A set whose first migration makes a large table (rows added by the
/// test), a small one and an empty one; `second` is the pending up.
fn sized_set(second: &str) -> tempfile::TempDir {
    folder(&[
        (
            "0001_tables/up.sql",
            "CREATE TABLE big (id bigint PRIMARY KEY, n integer, code varchar(20));\n\
             CREATE TABLE small (id bigint PRIMARY KEY, n integer);\n\
             CREATE TABLE empty (id bigint PRIMARY KEY, n integer);\n",
        ),
        ("0001_tables/down.sql", "DROP TABLE big, small, empty;\n"),
        ("0002_change/up.sql", second),
        ("0002_change/down.sql", ""),
    ])
}

/// `big` gets `rows` rows, `small` 10; both analyzed.
fn fill(db: &wdh_testdb::TestDatabase, rows: usize) {
    let mut c = db.connect().unwrap();
    c.batch_execute(&format!(
        "INSERT INTO big SELECT g, g, 'c' || g FROM generate_series(1, {rows}) g;
         INSERT INTO small SELECT g, g FROM generate_series(1, 10) g;
         ANALYZE big; ANALYZE small; ANALYZE empty;"
    ))
    .unwrap();
}

/// A `wdh.toml` of `text` in a folder of its own (kept while the test runs).
fn config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wdh.toml");
    std::fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap().to_string();
    (dir, file)
}

#[test]
fn findings_in_the_compiler_form_with_help_and_exit_4_on_an_error() {
    let dir = folder(&[
        (
            "0001_t/up.sql",
            "CREATE TABLE t (id bigint PRIMARY KEY, a integer);\nCREATE INDEX t_a ON t (a);\n",
        ),
        ("0001_t/down.sql", "DROP TABLE t;\n"),
        (
            "0002_index/up.sql",
            "-- on a table 0001 made\nCREATE INDEX t_a2 ON t (a);\n",
        ),
        ("0002_index/down.sql", "DROP INDEX t_a2;\n"),
        (
            "0003_rename/up.sql",
            "ALTER TABLE t RENAME COLUMN a TO b;\n",
        ),
        (
            "0003_rename/down.sql",
            "ALTER TABLE t RENAME COLUMN b TO a;\n",
        ),
    ]);
    let root = dir.path().display();
    let run = wdh(&["lint"]).migrations(dir.path()).run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert_eq!(
        run.stdout,
        format!(
            "{root}/0002_index/up.sql:2:22: error[index-without-concurrently]: `CREATE INDEX` without `CONCURRENTLY` on `t` blocks its writes (INSERT, UPDATE, DELETE) until the index is built\n  \
             help: build it with `CREATE INDEX CONCURRENTLY`, alone in a migration marked `-- wdh:no-transaction` (a build that fails leaves an INVALID index, which `--retry-failed` drops and builds again); on a partitioned table, create it `ON ONLY` the parent, build each partition's index concurrently and attach it with `ALTER INDEX … ATTACH PARTITION`\n\
             {root}/0002_index/down.sql:1:1: warning[drop-index-without-concurrently]: `DROP INDEX` without `CONCURRENTLY` takes ACCESS EXCLUSIVE on the table of `t_a2`: it waits for every query on the table, and every later query waits for it\n  \
             help: use `DROP INDEX CONCURRENTLY`, alone in a migration marked `-- wdh:no-transaction`\n\
             {root}/0003_rename/up.sql:1:13: warning[rename-column]: renaming `a` of `t` to `b` breaks the running code, which still uses the old name until it is deployed\n  \
             help: expand and contract: add the new column, write both from the code, fill it, move the reads, then drop the old one; or acknowledge it with `-- wdh:allow rename-column` when nothing reads the column while this deploys\n\
             {root}/0003_rename/down.sql:1:13: warning[rename-column]: renaming `b` of `t` to `a` breaks the running code, which still uses the old name until it is deployed\n  \
             help: expand and contract: add the new column, write both from the code, fill it, move the reads, then drop the old one; or acknowledge it with `-- wdh:allow rename-column` when nothing reads the column while this deploys\n\
             lint: 6 file(s), 1 error(s), 3 warning(s), 0 acknowledged; without a target, table sizes are unknown and counted as large\n"
        )
    );
    assert_eq!(
        run.stderr,
        "error: lint found 1 error(s) (see above): make each safe the way its help says, or acknowledge it in its file with `-- wdh:allow <rule> <reason>`\n"
    );
    // Warnings alone: exit 0.
    std::fs::write(
        dir.path().join("0002_index/up.sql"),
        "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY t_a2 ON t (a);\n",
    )
    .unwrap();
    let run = wdh(&["lint"]).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.ends_with("lint: 6 file(s), 0 error(s), 3 warning(s), 0 acknowledged; without a target, table sizes are unknown and counted as large\n"), "{}", run.stdout);
    assert_eq!(run.stderr, "");
}

#[test]
fn an_acknowledged_finding_is_shown_and_no_longer_an_error() {
    let dir = folder(&[
        (
            "0001_drop/up.sql",
            "-- The archive holds a copy.\n-- wdh:allow drop-table archived to s3://bucket/legacy\nDROP TABLE legacy;\n",
        ),
        ("0001_drop/down.sql", ""),
    ]);
    let root = dir.path().display();
    let run = wdh(&["lint"]).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.stdout,
        format!(
            "{root}/0001_drop/up.sql:3:1: acknowledged[drop-table]: `DROP TABLE legacy` loses every row of `legacy`\n  \
             help: stop using the table in the code and deploy that first; keep the table (or a dump of it) until you are sure; when the loss is intended, acknowledge it in the file: `-- wdh:allow drop-table <reason>` among its first comment lines (without it, `upgrade` refuses this migration on a protected database)\n  \
             note: acknowledged by `-- wdh:allow drop-table` on line 2: archived to s3://bucket/legacy\n\
             lint: 2 file(s), 0 error(s), 0 warning(s), 1 acknowledged; without a target, table sizes are unknown and counted as large\n"
        )
    );
    // A rule lint does not know is an error of the files, before anything.
    std::fs::write(
        dir.path().join("0001_drop/up.sql"),
        "-- wdh:allow drop-tables\nDROP TABLE legacy;\n",
    )
    .unwrap();
    let run = wdh(&["lint"]).migrations(dir.path()).run();
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(
        run.stderr.starts_with(&format!(
            "error: {root}/0001_drop/up.sql:1: `-- wdh:allow drop-tables` names no lint rule; the rules are: index-without-concurrently, "
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn json_lists_every_finding() {
    let dir = folder(&[
        (
            "0001_x/up.sql",
            "-- wdh:allow truncate emptied on purpose\nTRUNCATE t;\nDELETE FROM u;\n",
        ),
        ("0001_x/down.sql", ""),
    ]);
    let run = wdh(&["lint", "--json"]).migrations(dir.path()).run();
    assert_eq!(run.code, 4, "{}", run.all());
    let doc: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["acknowledged"], 1);
    assert_eq!(doc["database"], serde_json::Value::Null);
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0]["rule"], "truncate");
    assert_eq!(findings[0]["acknowledged"]["line"], 1);
    assert_eq!(findings[0]["acknowledged"]["reason"], "emptied on purpose");
    assert_eq!(findings[1]["rule"], "delete-without-where");
    assert_eq!(findings[1]["severity"], "error");
    assert_eq!(findings[1]["path"], "0001_x/up.sql");
    assert_eq!(
        (findings[1]["line"].as_u64(), findings[1]["column"].as_u64()),
        (Some(3), Some(13))
    );
    assert_eq!(findings[1]["direction"], "up");
    assert!(findings[1]["help"]
        .as_str()
        .unwrap()
        .contains("`-- wdh:allow delete-without-where <reason>`"));
}

#[test]
fn with_a_target_the_live_tables_sizes_decide() {
    let dir = sized_set(
        "CREATE INDEX big_n ON big (n);\n\
         CREATE INDEX small_n ON small (n);\n\
         CREATE INDEX empty_n ON empty (n);\n\
         ALTER TABLE big ALTER COLUMN code TYPE varchar(40);\n\
         ALTER TABLE big ALTER COLUMN n TYPE bigint;\n\
         CREATE TABLE fresh (id bigint PRIMARY KEY, n integer);\n\
         CREATE INDEX fresh_n ON fresh (n);\n",
    );
    let (_cfg_dir, cfg) = config("large_table_rows = 20000\n");
    let db = db();
    let applied = wdh(&["upgrade", "+1"]).db(&db).migrations(dir.path()).run();
    assert_eq!(applied.code, 0, "{}", applied.all());
    fill(&db, 50_000);
    let before = (snapshot(&db), audit(&db));
    let run = wdh(&["lint", "--config", cfg.as_str()])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 4, "{}", run.all());
    // It reads only: the schema, the ledger and the audit log are as they were.
    assert_eq!((snapshot(&db), audit(&db)), before);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with("  "))
        .collect();
    let root = dir.path().display();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert!(lines[0].starts_with(&format!(
        "{root}/0002_change/up.sql:1:23: error[index-without-concurrently]: `CREATE INDEX` without `CONCURRENTLY` on `big` blocks its writes (INSERT, UPDATE, DELETE) until the index is built; `public.big` is large: about 50,000 rows, "
    )), "{}", lines[0]);
    assert!(
        lines[0].ends_with(" MB (large from 20,000 rows or 100.0 MB)"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with(&format!(
        "{root}/0002_change/up.sql:2:25: warning[index-without-concurrently]: `CREATE INDEX` without `CONCURRENTLY` on `small` blocks its writes (INSERT, UPDATE, DELETE) until the index is built; `public.small` is small (about 10 rows, "
    )), "{}", lines[1]);
    // varchar(20) to varchar(40) needs no rewrite; integer to bigint does.
    assert!(lines[2].starts_with(&format!(
        "{root}/0002_change/up.sql:5:13: error[column-type-change]: `ALTER COLUMN n TYPE bigint` rewrites `big` and rebuilds its indexes under ACCESS EXCLUSIVE: its reads and writes wait until it ends; `n` is `integer` now; `public.big` is large: about 50,000 rows"
    )), "{}", lines[2]);
    assert!(lines[3].starts_with(&format!(
        "lint: 3 file(s), 2 error(s), 1 warning(s), 0 acknowledged; judged against database `{}` on a unix socket as role ",
        db.name()
    )), "{}", lines[3]);
    assert!(
        lines[3].ends_with(
            "one of 20000 rows or 100 MB is large; 1 applied up script(s) not linted (they ran)"
        ),
        "{}",
        lines[3]
    );
    // Without the target, every one of them is an error.
    let offline = wdh(&["lint", "--offline"]).migrations(dir.path()).run();
    assert_eq!(offline.code, 4);
    assert!(
        offline
            .stdout
            .contains("lint: 4 file(s), 5 error(s), 0 warning(s)"),
        "{}",
        offline.stdout
    );
    // JSON carries the sizes.
    let run = wdh(&["lint", "--json", "--config", cfg.as_str()])
        .db(&db)
        .migrations(dir.path())
        .run();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["database"], db.name());
    assert_eq!(doc["findings"][0]["size"]["table"], "public.big");
    assert_eq!(doc["findings"][0]["size"]["rows"], 50_000);
    assert!(doc["findings"][0]["size"]["bytes"].as_u64().unwrap() > 1_000_000);
}

#[test]
fn upgrade_shows_its_findings_and_refuses_errors_only_on_a_protected_database() {
    let second = "ALTER TABLE big ADD COLUMN u uuid DEFAULT gen_random_uuid();\nALTER TABLE empty ALTER COLUMN n SET NOT NULL;\n";
    let dir = sized_set(second);
    let (_cfg_dir, cfg) = config("large_table_rows = 1000\n");
    let cfg = cfg.as_str();
    // A safe database: shown, and run.
    let safe = db();
    assert_eq!(
        wdh(&["upgrade", "+1"])
            .db(&safe)
            .migrations(dir.path())
            .run()
            .code,
        0
    );
    fill(&safe, 5_000);
    let run = wdh(&["upgrade", "--config", cfg])
        .db(&safe)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    let root = dir.path().display();
    assert!(run.stderr.contains(&format!(
        "{root}/0002_change/up.sql:1:35: error[volatile-default]: the default of `u` is volatile, so it is computed for every row: `ADD COLUMN` rewrites `big` under ACCESS EXCLUSIVE; `public.big` is large: about 5,000 rows"
    )), "{}", run.stderr);
    // The empty table: nothing to say.
    assert!(!run.stderr.contains("set-not-null"), "{}", run.stderr);
    assert_eq!(applied_versions(&safe), ["0001", "0002"]);
    // A protected one: refused before anything ran, and audited.
    let protected = db();
    assert_eq!(
        wdh(&["upgrade", "+1"])
            .db(&protected)
            .migrations(dir.path())
            .run()
            .code,
        0
    );
    fill(&protected, 5_000);
    assert_eq!(wdh(&["mark", "production"]).db(&protected).run().code, 0);
    let before = snapshot(&protected);
    let run = wdh(&["upgrade", "--config", cfg])
        .db(&protected)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(run.stderr.contains(&format!(
        "error: database `{}` is protected (it is marked `production` on the server), and the pending migrations hold 1 error-level lint finding(s) that their files do not acknowledge; nothing ran:\n  0002_change/up.sql:1:35: error[volatile-default]: ",
        protected.name()
    )), "{}", run.stderr);
    assert_eq!(snapshot(&protected), before);
    assert_eq!(
        audit(&protected).last().map(String::as_str),
        Some("upgrade refused false")
    );
    // Acknowledged in the file: it runs.
    std::fs::write(
        dir.path().join("0002_change/up.sql"),
        format!("-- wdh:allow volatile-default the table is read-only at night\n{second}"),
    )
    .unwrap();
    let run = wdh(&["upgrade", "--config", cfg])
        .db(&protected)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("acknowledged[volatile-default]"),
        "{}",
        run.stderr
    );
    assert_eq!(applied_versions(&protected), ["0001", "0002"]);
}

#[test]
fn a_dry_run_shows_the_findings_and_the_verdict() {
    let dir = sized_set("DROP TABLE small;\n");
    let db = db();
    assert_eq!(
        wdh(&["upgrade", "+1"])
            .db(&db)
            .migrations(dir.path())
            .run()
            .code,
        0
    );
    assert_eq!(wdh(&["mark", "production"]).db(&db).run().code, 0);
    let run = wdh(&["upgrade", "--dry-run"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("-- guard: would be refused: BLOCKED: Refusing a destructive upgrade of potential production database."), "{}", run.stdout);
    assert!(run.stdout.contains(&format!(
        "-- lint: {}/0002_change/up.sql:1:1: error[drop-table]: `DROP TABLE small` loses every row of `small`",
        dir.path().display()
    )), "{}", run.stdout);
    assert_eq!(applied_versions(&db), ["0001"]);
}

#[test]
fn the_target_follows_the_usual_resolution_and_bad_arguments_exit_2() {
    let dir = folder(&[("0001_x/up.sql", "SELECT 1;\n"), ("0001_x/down.sql", "")]);
    let run = wdh(&["--print-target", "lint"])
        .migrations(dir.path())
        .run();
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, "target: none (lint runs without one)\n")
    );
    let run = wdh(&["--print-target", "lint"])
        .env("DATABASE_URL", "postgresql://app@db1/orders")
        .migrations(dir.path())
        .run();
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            0,
            "target: postgresql://app@db1/orders (from DATABASE_URL)\n"
        )
    );
    // A configured target that does not parse is an error, not "no target".
    let run = wdh(&["lint"])
        .env("DATABASE_URL", "postgres://app:p@ss/word@db1/app")
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(!run.all().contains("ss/word"), "{}", run.all());
    // --offline ignores it.
    let run = wdh(&["lint", "--offline"])
        .env("DATABASE_URL", "postgres://app:p@ss/word@db1/app")
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    for args in [
        &["lint", "--offline", "--database-url", "postgresql://h/x"][..],
        &["--sandbox", "lint"],
    ] {
        let run = wdh(args).migrations(dir.path()).run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
    }
    // A target that cannot be reached: exit 1, naming it.
    let run = wdh(&["lint"])
        .url("postgresql://app@/orders?host=/nonexistent/socket/dir")
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("could not connect to"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_role_that_may_not_use_the_schema_still_gets_the_sizes() {
    // A private cluster: the role is the cluster's, and other tests compare
    // the roles of the shared one.
    let cluster = wdh_testdb::TestCluster::start().unwrap();
    let db = cluster.server().create_database().unwrap();
    let mut c = db.connect().unwrap();
    c.batch_execute(&format!(
        "CREATE SCHEMA hidden;
         CREATE TABLE hidden.big (id bigint PRIMARY KEY, n integer);
         INSERT INTO hidden.big SELECT g, g FROM generate_series(1, 3000) g;
         ANALYZE hidden.big;
         CREATE ROLE deployer LOGIN;
         GRANT CREATE ON DATABASE \"{}\" TO deployer;",
        db.name()
    ))
    .unwrap();
    let dir = folder(&[
        (
            "0001_index/up.sql",
            "CREATE INDEX big_n ON hidden.big (n);\n",
        ),
        ("0001_index/down.sql", ""),
    ]);
    let (_cfg_dir, cfg) = config("large_table_rows = 1000\n");
    let url = db
        .url()
        .replacen("postgresql://postgres@", "postgresql://deployer@", 1);
    assert_ne!(url, db.url());
    let run = wdh(&["lint", "--config", cfg.as_str()])
        .url(&url)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stdout
            .contains("`hidden.big` is large: about 3,000 rows"),
        "{}",
        run.stdout
    );
    // The upgrade fails with the server's own error, and leaves the
    // database as it was.
    let before: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'hidden'",
            &[],
        )
        .unwrap()
        .get(0);
    let run = wdh(&["upgrade", "--config", cfg.as_str()])
        .url(&url)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stderr.contains("permission denied for schema hidden"),
        "{}",
        run.stderr
    );
    let after: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'hidden'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(before, after);
}
