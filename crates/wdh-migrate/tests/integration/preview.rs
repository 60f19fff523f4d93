//! A downgrade that loses nothing: what a destructive run would destroy,
//! rehearsed (or read from the parse tree) and shown before it runs; the
//! snapshot written first on a protected database; `pg_restore` of it
//! giving back the tables, the dropped columns with their keys, and the
//! deleted rows; the refusals when a snapshot cannot be written.

use std::path::Path;
use std::process::Command;

use wdh_testdb::{TestCluster, TestDatabase};

use crate::support::*;

const OVERRIDE: &str = "I_KNOW_WHAT_I_AM_DOING";

/// `0001` makes schema `business` and `company` (1,000 rows); `0002` adds
/// `code` (600 non-null values); `0003` makes `archive` (50 rows), and its
/// down deletes 10 rows of `company` and drops `archive`; `0004`, outside
/// a transaction, makes `log` in `public` (7 rows).
fn set() -> tempfile::TempDir {
    folder(&[
        (
            "0001_company/up.sql",
            "CREATE SCHEMA business;\n\
             CREATE TABLE business.company (id integer PRIMARY KEY, name text NOT NULL);\n\
             INSERT INTO business.company SELECT g, 'company ' || g FROM generate_series(1, 1000) g;\n",
        ),
        (
            "0001_company/down.sql",
            "DROP TABLE business.company;\nDROP SCHEMA business;\n",
        ),
        (
            "0002_code/up.sql",
            "ALTER TABLE business.company ADD COLUMN code text;\n\
             UPDATE business.company SET code = 'c' || id WHERE id <= 600;\n",
        ),
        (
            "0002_code/down.sql",
            "ALTER TABLE business.company DROP COLUMN code;\n",
        ),
        (
            "0003_archive/up.sql",
            "CREATE TABLE business.archive (id integer PRIMARY KEY);\n\
             INSERT INTO business.archive SELECT generate_series(1, 50);\n",
        ),
        (
            "0003_archive/down.sql",
            "DELETE FROM business.company WHERE id > 990;\nDROP TABLE business.archive;\n",
        ),
        (
            "0004_log/up.sql",
            "-- wdh:no-transaction\nCREATE TABLE log (id integer);\n\
             INSERT INTO log SELECT generate_series(1, 7);\n",
        ),
        (
            "0004_log/down.sql",
            "-- wdh:no-transaction\nDROP TABLE log;\n",
        ),
    ])
}

fn at_head(dir: &tempfile::TempDir) -> TestDatabase {
    let db = db();
    let up = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(up.code, 0, "{}", up.all());
    // Statistics as a live database has them.
    db.connect().unwrap().batch_execute("ANALYZE").unwrap();
    db
}

/// `downgrade base --dry-run` with `extra`, which must succeed.
fn dry_run_to_base(db: &TestDatabase, dir: &tempfile::TempDir, extra: &[&str]) -> Run {
    let mut args = vec!["downgrade", "base", "--dry-run"];
    args.extend_from_slice(extra);
    let run = wdh(&args).db(db).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    run
}

fn mark_production(db: &TestDatabase) {
    assert_eq!(wdh(&["mark", "production"]).db(db).run().code, 0);
}

/// Everything a failed run must leave as it was: the schema, the ledger,
/// and the rows.
fn state(db: &TestDatabase) -> (String, Vec<String>, String) {
    let rows: String = query_one(
        db,
        "SELECT (SELECT count(*) FROM business.company)::text || ' ' || \
                (SELECT count(code) FROM business.company)::text || ' ' || \
                (SELECT count(*) FROM business.archive)::text || ' ' || \
                (SELECT count(*) FROM log)::text",
    );
    (dump(db), ledger(db), rows)
}

const EXPECTED: [&str; 6] = [
    "-- would drop table public.log (7 rows)",
    "-- would drop table business.archive (50 rows)",
    "-- would delete 10 rows from business.company",
    "-- would drop column business.company.code (600 non-null values)",
    "-- would drop table business.company (1,000 rows)",
    "-- would drop schema business",
];

#[test]
fn a_dry_run_shows_what_each_step_would_destroy_and_changes_nothing() {
    let dir = set();
    let db = at_head(&dir);
    let before = state(&db);
    let run = dry_run_to_base(&db, &dir, &[]);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("-- would "))
        .collect();
    assert_eq!(lines, EXPECTED, "{}", run.stdout);
    assert!(run
        .stdout
        .contains("-- (read from the parse tree, not rehearsed: it runs outside a transaction)"));
    assert_eq!(
        run.stdout
            .matches("-- (rehearsed: run in a transaction and rolled back)")
            .count(),
        3,
        "{}",
        run.stdout
    );
    assert_eq!(state(&db), before, "a rehearsal changes nothing");
    // As data.
    let json = dry_run_to_base(&db, &dir, &["--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let step = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"].as_str().unwrap().starts_with("0002_code"))
        .unwrap();
    assert_eq!(step["would_destroy"]["method"], "rehearsed");
    let loss = &step["would_destroy"]["losses"][0];
    assert_eq!(loss["lost"], "column");
    assert_eq!(loss["name"], "business.company.code");
    assert_eq!(loss["count"]["n"], 600);
    assert_eq!(loss["count"]["exact"], true);
    assert_eq!(state(&db), before);
}

#[test]
fn a_large_table_is_estimated_and_says_so() {
    let dir = folder(&[
        (
            "0001_big/up.sql",
            "CREATE TABLE big (id integer);\nINSERT INTO big SELECT generate_series(1, 150000);\n",
        ),
        ("0001_big/down.sql", "DROP TABLE big;\n"),
    ]);
    let db = db();
    assert_eq!(
        wdh(&["upgrade"]).db(&db).migrations(dir.path()).run().code,
        0
    );
    db.connect().unwrap().batch_execute("ANALYZE big").unwrap();
    let run = dry_run_to_base(&db, &dir, &[]);
    assert!(
        run.stdout
            .contains("-- would drop table public.big (about 150,000 rows, estimated)"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_destructive_upgrade_is_previewed_too() {
    let dir = folder(&[
        (
            "0001_t/up.sql",
            "CREATE TABLE t (id integer PRIMARY KEY, note text);\nINSERT INTO t SELECT g, 'n' FROM generate_series(1, 30) g;\n",
        ),
        ("0001_t/down.sql", "DROP TABLE t;\n"),
        ("0002_note/up.sql", "ALTER TABLE t DROP COLUMN note;\n"),
        ("0002_note/down.sql", "ALTER TABLE t ADD COLUMN note text;\n"),
    ]);
    let db = db();
    assert_eq!(
        wdh(&["upgrade", "+1"])
            .db(&db)
            .migrations(dir.path())
            .run()
            .code,
        0
    );
    let run = wdh(&["upgrade", "--dry-run"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("-- would drop column public.t.note (30 non-null values)"),
        "{}",
        run.stdout
    );
    // Run on a safe database: no snapshot unless asked, the loss audited.
    let snapshots = tempfile::tempdir().unwrap();
    let dir_arg = snapshots.path().join("s");
    let up = wdh(&["upgrade", "--snapshot-dir", dir_arg.to_str().unwrap()])
        .db(&db)
        .migrations(dir.path())
        .run();
    up.expect(
        0,
        &["destroys: 0002_note: drop column public.t.note (30 non-null values)"],
    );
    assert!(!up.stderr.contains("snapshot:"), "{}", up.stderr);
    assert!(!dir_arg.exists());
    let loss: String = query_one(
        &db,
        "SELECT loss::text FROM wdh_migrate.audit WHERE outcome = 'success' ORDER BY id DESC LIMIT 1",
    );
    assert!(loss.contains(r#""name": "public.t.note""#), "{loss}");
}

/// Restores `file` into a new, empty database of the same cluster, as the
/// README says (`--clean --if-exists`: the new database's own `public`
/// schema gives way to the snapshot's).
fn restore(file: &Path) -> TestDatabase {
    let target = TestCluster::shared()
        .unwrap()
        .server()
        .create_database()
        .unwrap();
    let bin = TestCluster::shared().unwrap().binaries().bin("pg_restore");
    let out = Command::new(bin)
        .args(["--clean", "--if-exists", "--no-owner"])
        .arg("--dbname")
        .arg(target.url())
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
}

#[test]
fn a_protected_downgrade_writes_its_snapshot_first_and_the_snapshot_gives_it_all_back() {
    let dir = set();
    let db = at_head(&dir);
    mark_production(&db);
    let snapshots = tempfile::tempdir().unwrap();
    let run = wdh(&[
        "downgrade",
        "base",
        "--confirm-database",
        db.name(),
        "--snapshot-dir",
        snapshots.path().to_str().unwrap(),
    ])
    .db(&db)
    .migrations(dir.path())
    .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
    .run();
    run.expect(
        0,
        &[
            "It destroys: 0003_archive: drop table business.archive (50 rows)",
            "It destroys: 0001_company: drop table business.company (1,000 rows)",
            "destroys: 0002_code: drop column business.company.code (600 non-null values)",
            "snapshot: ",
        ],
    );
    // The snapshot line comes before the first step runs.
    let snap_at = run.stderr.find("snapshot: ").unwrap();
    let path = run.stderr[snap_at + "snapshot: ".len()..]
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert!(
        path.starts_with(snapshots.path().to_str().unwrap())
            && path.contains(&format!("{}-downgrade-", db.name()))
            && path.ends_with(".dump"),
        "{path}"
    );
    let recorded: String = query_one(
        &db,
        "SELECT snapshot FROM wdh_migrate.audit WHERE outcome = 'success' ORDER BY id DESC LIMIT 1",
    );
    assert_eq!(recorded, path);
    let loss: String = query_one(
        &db,
        "SELECT loss::text FROM wdh_migrate.audit WHERE outcome = 'success' ORDER BY id DESC LIMIT 1",
    );
    assert!(loss.contains(r#""name": "business.company""#), "{loss}");
    let mode = std::fs::metadata(&path).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    // It is all gone from the database...
    let gone: bool = query_one(&db, "SELECT to_regnamespace('business') IS NULL");
    assert!(gone);
    // ... and all back from the snapshot: the tables, the dropped column
    // with its keys, the deleted rows.
    let back = restore(Path::new(&path));
    let counts: String = query_one(
        &back,
        "SELECT (SELECT count(*) FROM business.company)::text || ' ' || \
                (SELECT count(code) FROM business.company)::text || ' ' || \
                (SELECT count(*) FROM business.archive)::text || ' ' || \
                (SELECT count(*) FROM public.log)::text || ' ' || \
                (SELECT count(*) FROM business.company WHERE id > 990)::text",
    );
    assert_eq!(counts, "1000 600 50 7 10");
    let code: String = query_one(&back, "SELECT code FROM business.company WHERE id = 42");
    assert_eq!(code, "c42");
}

#[test]
fn a_snapshot_that_cannot_be_written_refuses_the_run_and_changes_nothing() {
    let dir = set();
    let db = at_head(&dir);
    mark_production(&db);
    let before = state(&db);
    let audited = audit(&db);
    let blocked = tempfile::tempdir().unwrap();
    let file = blocked.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let run = wdh(&[
        "downgrade",
        "base",
        "--confirm-database",
        db.name(),
        "--snapshot-dir",
        file.to_str().unwrap(),
    ])
    .db(&db)
    .migrations(dir.path())
    .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
    .run();
    run.expect(
        3,
        &[
            "the snapshot of what this run destroys could not be written, so nothing ran",
            "--snapshot-dir",
            "--no-snapshot",
        ],
    );
    assert_eq!(state(&db), before);
    let now = audit(&db);
    assert_eq!(now[..audited.len()], audited[..]);
    assert_eq!(now[audited.len()..], ["downgrade refused true"]);
    // No pg_dump to be found: refused the same way.
    let run = wdh(&["downgrade", "-1", "--confirm-database", db.name()])
        .db(&db)
        .migrations(dir.path())
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
        .env("PATH", "/nonexistent")
        .env("PG_BINDIR", "/nonexistent")
        .run();
    // (PG_BINDIR leads the search; /usr/lib/postgresql may still hold one.)
    if run.code != 0 {
        run.expect(3, &["no pg_dump of version"]);
        assert_eq!(state(&db), before);
    }
}

#[test]
fn no_snapshot_on_a_protected_database_needs_the_override() {
    let dir = folder(&[
        (
            "0001_t/up.sql",
            "CREATE TABLE t (id integer PRIMARY KEY);\nINSERT INTO t SELECT generate_series(1, 5);\n",
        ),
        ("0001_t/down.sql", "DROP TABLE t;\n"),
        (
            "0002_drop/up.sql",
            "-- wdh:allow drop-table replaced by u\nDROP TABLE t;\n",
        ),
        ("0002_drop/down.sql", "CREATE TABLE t (id integer PRIMARY KEY);\n"),
    ]);
    let db = db();
    assert_eq!(
        wdh(&["upgrade", "+1"])
            .db(&db)
            .migrations(dir.path())
            .run()
            .code,
        0
    );
    mark_production(&db);
    let before = (dump(&db), ledger(&db));
    let run = wdh(&["upgrade", "--no-snapshot"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        3,
        &["--no-snapshot on it needs the override too; nothing ran"],
    );
    assert_eq!((dump(&db), ledger(&db)), before);
    assert_eq!(audit(&db).last().unwrap(), "upgrade refused false");
    // Acknowledged in its file, it runs with its snapshot.
    let snapshots = tempfile::tempdir().unwrap();
    let run = wdh(&[
        "upgrade",
        "--snapshot-dir",
        snapshots.path().to_str().unwrap(),
    ])
    .db(&db)
    .migrations(dir.path())
    .run();
    run.expect(
        0,
        &[
            "snapshot: ",
            "destroys: 0002_drop: drop table public.t (5 rows)",
        ],
    );
    assert_eq!(std::fs::read_dir(snapshots.path()).unwrap().count(), 1);
}

#[test]
fn a_safe_database_takes_a_snapshot_only_when_asked() {
    let dir = set();
    let db = at_head(&dir);
    let snapshots = tempfile::tempdir().unwrap();
    let run = wdh(&[
        "downgrade",
        "0002",
        "--snapshot",
        "--snapshot-dir",
        snapshots.path().to_str().unwrap(),
    ])
    .db(&db)
    .migrations(dir.path())
    .run();
    run.expect(0, &["snapshot: "]);
    let files: Vec<_> = std::fs::read_dir(snapshots.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(!files[0].starts_with('.'), "{files:?}");
}

#[test]
fn a_rehearsal_gives_up_its_lock_wait_at_its_timeout_and_never_queues_readers() {
    let dir = set();
    let db = at_head(&dir);
    // Another session holds a lock on archive: the rehearsal's DROP waits
    // for it, at most its lock_timeout.
    let mut holder = db.connect().unwrap();
    holder
        .batch_execute("BEGIN; SELECT count(*) FROM business.archive;")
        .unwrap();
    let readers = {
        let url = db.url().to_string();
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            for _ in 0..20 {
                c.batch_execute("SELECT count(*) FROM business.archive")
                    .unwrap();
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        })
    };
    let run = dry_run_to_base(&db, &dir, &["--lock-timeout", "50ms"]);
    assert!(
        run.stdout.contains(
            "its rehearsal was not granted a lock within 50 ms, and gave up so as not to hold up the database's queries"
        ),
        "{}",
        run.stdout
    );
    // Read from the parse tree instead: still named and counted.
    assert!(
        run.stdout
            .contains("-- would drop table business.archive (50 rows)"),
        "{}",
        run.stdout
    );
    // The readers all got through while the holder still holds its lock:
    // nothing of the rehearsal is left queued in front of them.
    readers.join().unwrap();
    let waiting: i64 = query_one(&db, "SELECT count(*) FROM pg_locks WHERE NOT granted");
    assert_eq!(waiting, 0);
    holder.batch_execute("COMMIT").unwrap();
}

#[test]
fn truncations_cascades_and_deletes_by_a_where_are_named_as_what_they_are() {
    let dir = folder(&[
        (
            "0001_s/up.sql",
            "CREATE SCHEMA s;\nCREATE TABLE s.a (id integer PRIMARY KEY);\nCREATE TABLE s.b (id integer);\n\
             INSERT INTO s.a SELECT generate_series(1, 12);\nINSERT INTO s.b SELECT generate_series(1, 4);\n\
             CREATE TABLE t (id integer);\nINSERT INTO t SELECT generate_series(1, 9);\n",
        ),
        ("0001_s/down.sql", "-- wdh:no-transaction\nDROP SCHEMA s CASCADE;\nDELETE FROM t WHERE id > 2;\n"),
        ("0002_t/up.sql", "SELECT 1;\n"),
        ("0002_t/down.sql", "TRUNCATE t;\n"),
    ]);
    let db = db();
    assert_eq!(
        wdh(&["upgrade"]).db(&db).migrations(dir.path()).run().code,
        0
    );
    let run = dry_run_to_base(&db, &dir, &[]);
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("-- would ") || l.starts_with("-- ("))
        .collect();
    assert_eq!(
        lines,
        [
            "-- would truncate public.t (9 rows)",
            "-- (rehearsed: run in a transaction and rolled back)",
            "-- would drop table s.a (12 rows)",
            "-- would drop table s.b (4 rows)",
            "-- would delete rows from public.t (how many is not known without a rehearsal)",
            "-- would drop schema s",
            "-- (read from the parse tree, not rehearsed: it runs outside a transaction)",
        ],
        "{}",
        run.stdout
    );
}
