//! The runner: up, down, targets, failures, drift, concurrency, kills.

use std::time::{Duration, Instant};

use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::{DowngradeTo, UpgradeTo};
use wdh_migrate_core::runner::{RunError, RunOptions, Runner};

use crate::support::*;

fn up(
    set: &MigrationSet,
    db: &wdh_testdb::TestDatabase,
    to: &str,
) -> Result<wdh_migrate_core::runner::RunReport, RunError> {
    let t = target(db);
    Runner::new(&t, RunOptions::default()).upgrade(
        set,
        &to.parse::<UpgradeTo>().unwrap(),
        &mut |_| {},
    )
}

fn down(
    set: &MigrationSet,
    db: &wdh_testdb::TestDatabase,
    to: &str,
) -> Result<wdh_migrate_core::runner::RunReport, RunError> {
    let t = target(db);
    Runner::new(&t, RunOptions::default()).downgrade(
        set,
        &to.parse::<DowngradeTo>().unwrap(),
        &mut |_| {},
    )
}

fn current(set: &MigrationSet, db: &wdh_testdb::TestDatabase) -> Option<String> {
    let t = target(db);
    Runner::new(&t, RunOptions::default())
        .current(set)
        .unwrap()
        .1
}

#[test]
fn up_to_head_down_to_base_and_up_again_round_trips_the_schema() {
    let set = bundled();
    let db = db();
    let empty = dump(&db);
    let report = up(&set, &db, "head").unwrap();
    assert_eq!(report.ran.len(), 10);
    let first = dump(&db);
    assert!(
        first.contains("CREATE TABLE business.annuity_performance"),
        "{first}"
    );
    assert!(first.contains("annuity_performance_report_month_idx"));
    down(&set, &db, "base").unwrap();
    assert_eq!(dump(&db), empty, "down to base must leave the empty start");
    assert!(applied_versions(&db).is_empty());
    up(&set, &db, "head").unwrap();
    assert_eq!(dump(&db), first, "up again must equal the first up");
    assert_eq!(
        audit(&db),
        [
            "upgrade success false",
            "downgrade success false",
            "upgrade success false"
        ]
    );
}

#[test]
fn relative_and_version_targets() {
    let set = bundled();
    let db = db();
    up(&set, &db, "+3").unwrap();
    assert_eq!(current(&set, &db).as_deref(), Some("0003"));
    up(&set, &db, "0006").unwrap();
    assert_eq!(current(&set, &db).as_deref(), Some("0006"));
    up(&set, &db, "+1").unwrap();
    assert_eq!(current(&set, &db).as_deref(), Some("0007"));
    down(&set, &db, "-2").unwrap();
    assert_eq!(current(&set, &db).as_deref(), Some("0005"));
    down(&set, &db, "0002").unwrap();
    assert_eq!(current(&set, &db).as_deref(), Some("0002"));
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    // Impossible targets are refused and change nothing.
    let before = snapshot(&db);
    assert!(matches!(up(&set, &db, "+9"), Err(RunError::Plan { .. })));
    assert!(matches!(up(&set, &db, "0001"), Err(RunError::Plan { .. })));
    assert!(matches!(down(&set, &db, "-3"), Err(RunError::Plan { .. })));
    assert!(matches!(
        down(&set, &db, "0005"),
        Err(RunError::Plan { .. })
    ));
    assert_eq!(snapshot(&db), before);
    down(&set, &db, "base").unwrap();
    assert_eq!(current(&set, &db), None);
}

#[test]
fn a_migration_failing_in_the_middle_leaves_the_previous_version() {
    let dir = folder(&[
        ("0001_a/up.sql", "CREATE TABLE a (id int);"),
        ("0001_a/down.sql", "DROP TABLE a;"),
        ("0002_b/up.sql", "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\nSELECT 1 / 0;\nCREATE TABLE b2 (id int);"),
        ("0002_b/down.sql", "DROP TABLE b2; DROP TABLE b;"),
        ("0003_c/up.sql", "CREATE TABLE c (id int);"),
        ("0003_c/down.sql", "DROP TABLE c;"),
    ]);
    let set = MigrationSet::load(dir.path()).unwrap();
    let db = db();
    up(&set, &db, "+1").unwrap();
    let before = snapshot(&db);
    let err = up(&set, &db, "head").unwrap_err();
    let RunError::Migration { failure, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(failure.version, "0002");
    assert_eq!(failure.file, "0002_b/up.sql");
    assert_eq!(failure.code, "22012");
    // Errors raised while executing carry no server position; the file is named.
    let msg = err.to_string();
    assert!(
        msg.contains("0002_b/up.sql") && msg.contains("division by zero") && msg.contains("22012"),
        "{msg}"
    );
    assert_eq!(
        snapshot(&db),
        before,
        "no partial objects and no ledger row"
    );
    let no_b: bool = query_one(&db, "SELECT to_regclass('public.b') IS NULL");
    assert!(no_b);
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("upgrade failed false")
    );
}

#[test]
fn server_detail_and_hint_are_reported() {
    let dir = folder(&[
        (
            "1_a.up.sql",
            "CREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO a VALUES (1), (1);",
        ),
        ("1_a.down.sql", "DROP TABLE a;"),
    ]);
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(
        1,
        &[
            "SQLSTATE 23505",
            "DETAIL: Key (id)=(1) already exists.",
            "1_a.up.sql",
        ],
    );
    assert!(applied_versions(&db).is_empty());
}

#[test]
fn drift_missing_and_out_of_order_give_their_errors() {
    let dir = folder(&[
        ("0001_a/up.sql", "CREATE TABLE a (id int);"),
        ("0001_a/down.sql", "DROP TABLE a;"),
        ("0003_c/up.sql", "CREATE TABLE c (id int);"),
        ("0003_c/down.sql", "DROP TABLE c;"),
    ]);
    let db = db();
    let ok = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(ok.code, 0, "{}", ok.all());

    // Out of order: a new migration older than the newest applied one.
    write(dir.path(), "0002_b/up.sql", "CREATE TABLE b (id int);");
    write(dir.path(), "0002_b/down.sql", "DROP TABLE b;");
    let before = snapshot(&db);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(4, &["0002", "--allow-out-of-order"]);
    assert_eq!(snapshot(&db), before);
    let run = wdh(&["upgrade", "--allow-out-of-order"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&db), ["0001", "0002", "0003"]);

    // Drift: an applied file changed.
    write(dir.path(), "0001_a/up.sql", "CREATE TABLE a (id bigint);");
    write(dir.path(), "0004_d/up.sql", "CREATE TABLE d (id int);");
    write(dir.path(), "0004_d/down.sql", "DROP TABLE d;");
    let before = snapshot(&db);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(
        4,
        &[
            "changed since they were applied",
            "0001_a/up.sql",
            "--allow-drift",
        ],
    );
    assert_eq!(snapshot(&db), before);
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(status.stdout.contains("drifted"), "{}", status.stdout);
    let run = wdh(&["upgrade", "--allow-drift"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        0,
        &[
            "warning:",
            "0001",
            "or pass --allow-drift to proceed anyway",
        ],
    );
    assert_eq!(applied_versions(&db), ["0001", "0002", "0003", "0004"]);

    // Missing: an applied migration's files are gone.
    std::fs::remove_dir_all(dir.path().join("0003_c")).unwrap();
    write(dir.path(), "0001_a/up.sql", "CREATE TABLE a (id int);");
    write(dir.path(), "0005_e/up.sql", "CREATE TABLE e (id int);");
    let before = snapshot(&db);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(
        4,
        &[
            "missing from the migration set",
            "0003_c",
            "check that --migrations points at the right folder, or pass --allow-drift",
        ],
    );
    assert_eq!(snapshot(&db), before);
    let status = wdh(&["status", "--json"])
        .db(&db)
        .migrations(dir.path())
        .run();
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let states: Vec<&str> = json["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["applied", "applied", "applied", "pending", "missing"]
    );
}

#[test]
fn irreversible_migrations_refuse_a_downgrade_before_anything_runs() {
    let dir = folder(&[
        ("0001_a/up.sql", "CREATE TABLE a (id int);"),
        ("0001_a/down.sql", "DROP TABLE a;"),
        (
            "0002_b/up.sql",
            "-- wdh:irreversible\nCREATE TABLE b (id int);",
        ),
        ("0002_b/down.sql", "DROP TABLE b;"),
        ("0003_c/up.sql", "CREATE TABLE c (id int);"),
        ("0003_c/down.sql", "DROP TABLE c;"),
        ("0004_d/up.sql", "CREATE TABLE d (id int);"),
        ("0004_d/down.sql", "-- nothing to undo\n"),
    ]);
    let set = MigrationSet::load(dir.path()).unwrap();
    let db = db();
    up(&set, &db, "head").unwrap();
    let before = snapshot(&db);
    let err = down(&set, &db, "base").unwrap_err();
    assert!(
        err.to_string().contains("0002") && err.to_string().contains("irreversible"),
        "{err}"
    );
    assert_eq!(snapshot(&db), before, "nothing ran");
    // Past the irreversible one is fine; the empty down is a no-op.
    down(&set, &db, "0002").unwrap();
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let d_kept: bool = query_one(&db, "SELECT to_regclass('public.d') IS NOT NULL");
    assert!(d_kept, "the no-op down leaves d");
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status.stdout.contains("no-op down") && status.stdout.contains("irreversible"),
        "{}",
        status.stdout
    );
}

#[test]
fn flat_pairs_run_in_integer_order_and_wrapped_transactions_stay_atomic() {
    let dir = folder(&[
        ("9_nine.up.sql", "CREATE TABLE nine (id int);"),
        ("9_nine.down.sql", "DROP TABLE nine;"),
        (
            "10_ten.up.sql",
            "BEGIN;\nCREATE TABLE ten (id int REFERENCES nine_pk (id));\nCOMMIT;\n",
        ),
        ("10_ten.down.sql", "BEGIN;\nDROP TABLE ten;\nCOMMIT;\n"),
        ("2_two.up.sql", "CREATE TABLE nine_pk (id int PRIMARY KEY);"),
        ("2_two.down.sql", "DROP TABLE nine_pk;"),
        (
            "11_bad.up.sql",
            "BEGIN;\nCREATE TABLE eleven (id int);\nSELECT no_such_function();\nCOMMIT;\n",
        ),
        ("11_bad.down.sql", "DROP TABLE eleven;"),
    ]);
    let set = MigrationSet::load(dir.path()).unwrap();
    let db = db();
    let err = up(&set, &db, "head").unwrap_err();
    assert!(err.to_string().contains("11_bad.up.sql:3:"), "{err}");
    assert_eq!(
        applied_versions(&db),
        ["10", "2", "9"],
        "2, 9 and 10 applied in integer order"
    );
    let no_eleven: bool = query_one(&db, "SELECT to_regclass('public.eleven') IS NULL");
    assert!(
        no_eleven,
        "the file's own BEGIN/COMMIT did not commit half of it"
    );
    down(&set, &db, "base").unwrap();
    assert!(applied_versions(&db).is_empty());
}

#[test]
fn dry_run_prints_the_exact_sql_and_runs_nothing() {
    let db = db();
    let before = snapshot(&db);
    let run = wdh(&["upgrade", "--dry-run"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("-- dry run: upgrade"), "{}", run.stdout);
    assert!(
        run.stdout.contains("CREATE SCHEMA \"enterprise\";"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("INSERT INTO \"wdh_migrate\".\"applied\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("CREATE INDEX CONCURRENTLY"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "-- locks: lock_timeout 100 ms doubling to 1 s, retried for up to 60 s: a migration that cannot get \
             a lock in time is rolled back and runs again"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("SET LOCAL lock_timeout = '100ms';"),
        "the first attempt's: {}",
        run.stdout
    );
    let off = wdh(&["upgrade", "--dry-run", "--lock-timeout", "0"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    assert!(
        off.stdout
            .contains("-- locks: the server's lock_timeout, no retries")
            && !off.stdout.contains("SET LOCAL lock_timeout = '100ms'"),
        "{}",
        off.stdout
    );
    let first = run.stdout.find("0001_create_schemas").unwrap();
    let last = run.stdout.find("0010_company_branch").unwrap();
    assert!(first < last);
    assert_eq!(snapshot(&db), before);
    let no_ledger: bool = query_one(&db, "SELECT to_regnamespace('wdh_migrate') IS NULL");
    assert!(no_ledger, "a dry run does not even create the ledger");

    let json = wdh(&["upgrade", "--dry-run", "--json"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(v["locks"]
        .as_str()
        .unwrap()
        .starts_with("lock_timeout 100 ms"));
    assert_eq!(
        v["steps"].as_array().unwrap().len(),
        11,
        "ledger creation plus 10 migrations"
    );

    wdh(&["upgrade"]).db(&db).migrations(&bundled_dir()).run();
    let at_head = snapshot(&db);
    let run = wdh(&["downgrade", "-2", "--dry-run"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("DROP INDEX CONCURRENTLY")
            && run
                .stdout
                .contains("DROP TABLE \"enterprise\".\"company_branch\";"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.find("0010_company_branch").unwrap()
            < run.stdout.find("0009_report_month").unwrap()
    );
    assert_eq!(snapshot(&db), at_head);
}

#[test]
fn a_no_transaction_failure_is_recorded_and_shown_with_repair_steps() {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
        ("0002_idx/up.sql", "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_missing ON t (missing_column);\n"),
        ("0002_idx/down.sql", "-- wdh:no-transaction\nDROP INDEX CONCURRENTLY t_missing;\nDROP INDEX CONCURRENTLY t_id;\n"),
    ]);
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(
        1,
        &["1 of 2 statement(s) took effect", "0002_idx/up.sql:3:"],
    );
    assert_eq!(
        applied_versions(&db),
        ["0001"],
        "recorded as applied only after it succeeds"
    );
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status.stdout.contains("failed") && status.stdout.contains("--retry-failed"),
        "{}",
        status.stdout
    );
    // Another upgrade refuses until the failure is repaired.
    let before = snapshot(&db);
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert_eq!(snapshot(&db), before);
    assert!(
        status.stdout.contains("resumes at statement 2"),
        "{}",
        status.stdout
    );
    // Fix the failed statement; the retry resumes at it: the first one,
    // which took effect, is not run again (its index keeps its oid).
    let t_id: u32 = query_one(&db, "SELECT 't_id'::regclass::oid");
    write(
        dir.path(),
        "0002_idx/up.sql",
        "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_missing ON t (id);\n",
    );
    let run = wdh(&["upgrade", "--retry-failed"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let still: u32 = query_one(&db, "SELECT 't_id'::regclass::oid");
    assert_eq!(still, t_id, "the statement that took effect ran once");
    let built: bool = query_one(&db, "SELECT to_regclass('t_missing') IS NOT NULL");
    assert!(built);
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        !status.stdout.contains("failed  ") && status.stdout.contains("0 failed"),
        "{}",
        status.stdout
    );
}

/// Sets the lock row as a run that holds it would, renewed `age` ago.
fn hold_lock(db: &wdh_testdb::TestDatabase, age: &str, lease_ms: i32) {
    db.connect()
        .unwrap()
        .batch_execute(&format!(
            "UPDATE wdh_migrate.lock SET holder = 'elsewhere', client = 'wdh-migrate 9.9 on other-host (process 4242)', \
             operation = 'upgrade', pid = 4242, role = 'someone', acquired_at = now() - interval '{age}', \
             heartbeat_at = now() - interval '{age}', lease_ms = {lease_ms} WHERE id = 1"
        ))
        .unwrap();
}

#[test]
fn a_second_runner_times_out_naming_the_holder_and_a_dead_runs_lock_expires() {
    let db = db();
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
    ]);
    wdh(&["upgrade"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    write(dir.path(), "0002_u/up.sql", "CREATE TABLE u (id int);");
    write(dir.path(), "0002_u/down.sql", "DROP TABLE u;");
    // A live holder: renewed a moment ago, within its lease.
    hold_lock(&db, "0 seconds", 600_000);
    let before = snapshot(&db);
    let started = Instant::now();
    let run = wdh(&["upgrade", "--lock-wait", "300ms"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        5,
        &[
            "holds the migration lock",
            "wdh-migrate 9.9 on other-host (process 4242)",
            "last heartbeat 0.",
            "lease 600.0 s",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(snapshot(&db), before);
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status
            .stdout
            .contains("lock: held by wdh-migrate 9.9 on other-host"),
        "{}",
        status.stdout
    );
    // A killed run: its lease expired, so the next run takes the lock over
    // and says so.
    hold_lock(&db, "20 seconds", 10_000);
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(status.stdout.contains("lease expired"), "{}", status.stdout);
    let run = wdh(&["upgrade", "--lock-wait", "300ms"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        0,
        &["took over the migration lock from wdh-migrate 9.9 on other-host (process 4242)"],
    );
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    // Released after the run.
    let free: bool = query_one(&db, "SELECT holder IS NULL FROM wdh_migrate.lock");
    assert!(free);
}

#[test]
fn eight_runners_at_once_apply_each_migration_exactly_once() {
    let dir = folder(&[
        (
            "0001_a/up.sql",
            "CREATE TABLE a (id int); SELECT pg_sleep(0.2);",
        ),
        ("0001_a/down.sql", "DROP TABLE a;"),
        (
            "0002_b/up.sql",
            "CREATE TABLE b (id int); INSERT INTO b VALUES (1);",
        ),
        ("0002_b/down.sql", "DROP TABLE b;"),
        ("0003_c/up.sql", "INSERT INTO b VALUES (2);"),
        ("0003_c/down.sql", "DELETE FROM b WHERE id = 2;"),
    ]);
    let db = db();
    let children: Vec<_> = (0..8)
        .map(|_| wdh(&["upgrade"]).db(&db).migrations(dir.path()).spawn())
        .collect();
    for (child, _cwd) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(applied_versions(&db), ["0001", "0002", "0003"]);
    let rows: i64 = query_one(&db, "SELECT count(*) FROM b");
    assert_eq!(rows, 2, "each data migration ran exactly once");
    let applying: i64 = query_one(&db, "SELECT count(*) FROM wdh_migrate.audit WHERE operation = 'upgrade' AND outcome = 'success'");
    assert_eq!(
        applying, 1,
        "one runner applied; the others found nothing to do"
    );
}

#[test]
fn a_run_killed_mid_migration_leaves_a_consistent_database_and_the_next_run_proceeds() {
    let dir = folder(&[
        ("0001_a/up.sql", "CREATE TABLE a (id int);"),
        ("0001_a/down.sql", "DROP TABLE a;"),
        (
            "0002_slow/up.sql",
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);\nCREATE TABLE slow2 (id int);",
        ),
        ("0002_slow/down.sql", "DROP TABLE slow2; DROP TABLE slow;"),
    ]);
    let db = db();
    let (mut child, _cwd) = wdh(&["upgrade"]).db(&db).migrations(dir.path()).spawn();
    let mut c = db.connect().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sleeping: i64 = c
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'", &[])
            .unwrap()
            .get(0);
        if sleeping > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the migration never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The next run waits for the dead run's session to end, then proceeds.
    write(
        dir.path(),
        "0002_slow/up.sql",
        "CREATE TABLE slow (id int);\nCREATE TABLE slow2 (id int);",
    );
    let started = Instant::now();
    let run = wdh(&["upgrade", "--lock-wait", "20s"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the killed run's migration was not rolled back promptly"
    );
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let both: bool = query_one(
        &db,
        "SELECT to_regclass('public.slow') IS NOT NULL AND to_regclass('public.slow2') IS NOT NULL",
    );
    assert!(both);
}

#[test]
fn current_history_and_status_speak_json() {
    let db = db();
    assert_eq!(
        wdh(&["current"])
            .db(&db)
            .migrations(&bundled_dir())
            .run()
            .stdout
            .trim(),
        "base"
    );
    wdh(&["upgrade", "+2"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    let run = wdh(&["current", "--json"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["current"], "0002");
    let run = wdh(&["--json", "history"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let applied = v["applied"].as_array().unwrap();
    assert_eq!(applied.len(), 2);
    assert_eq!(applied[0]["name"], "create_schemas");
    assert_eq!(applied[0]["applied_by"], "postgres");
    let run = wdh(&["status"]).db(&db).migrations(&bundled_dir()).run();
    assert!(
        run.stdout.contains("2 applied, 8 pending"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_embedded_set_migrates_like_the_folder() {
    let embedded = wdh_migrate_macros::embed_migrations!("../../migrations")
        .load()
        .unwrap();
    assert_eq!(embedded.checksum(), bundled().checksum());
    let db = db();
    up(&embedded, &db, "head").unwrap();
    assert_eq!(current(&bundled(), &db).as_deref(), Some("0010"));
}

#[test]
fn a_syntax_error_is_reported_at_its_line_and_column() {
    let dir = folder(&[
        (
            "0001_a/up.sql",
            "CREATE TABLE a (id int);\n\nCREATE TABEL b (id int);\n",
        ),
        ("0001_a/down.sql", "DROP TABLE a;"),
    ]);
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(1, &["0001_a/up.sql:3:8", "SQLSTATE 42601"]);
    assert!(applied_versions(&db).is_empty());
    let no_a: bool = query_one(&db, "SELECT to_regclass('public.a') IS NULL");
    assert!(no_a);
}

#[test]
fn a_renamed_flat_file_is_the_same_version_in_every_ledger_statement() {
    let dir = folder(&[
        ("1_init.up.sql", "CREATE TABLE init (id int);"),
        ("1_init.down.sql", "DROP TABLE init;"),
    ]);
    let db = db();
    assert_eq!(
        wdh(&["upgrade"]).db(&db).migrations(dir.path()).run().code,
        0
    );
    // In the flat layout `0001` and `1` are the same version (integer order).
    for ext in ["up", "down"] {
        std::fs::rename(
            dir.path().join(format!("1_init.{ext}.sql")),
            dir.path().join(format!("0001_init.{ext}.sql")),
        )
        .unwrap();
    }
    let run = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        run.stdout.contains("1 applied, 0 pending"),
        "{}",
        run.stdout
    );
    let run = wdh(&["downgrade", "base"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        applied_versions(&db).is_empty(),
        "the ledger row is gone with the table"
    );
    let gone: bool = query_one(&db, "SELECT to_regclass('public.init') IS NULL");
    assert!(gone);
    let run = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        run.stdout.contains("0 applied, 1 pending"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_failed_no_transaction_down_names_its_own_repair_and_a_script_transaction_is_ended() {
    // Opens its own transaction, then fails inside it.
    let (dir, db) = indexed_then_downgraded(
        "-- wdh:no-transaction\nBEGIN;\nCREATE TABLE scratch (id int);\nSELECT 1 / 0;\nCOMMIT;\n",
    );
    let run = wdh(&["downgrade", "-1"])
        .db(&db)
        .migrations(dir.path())
        .run();
    // BEGIN and CREATE ran inside the script's own transaction, which the failure rolled back.
    run.expect(1, &["0 of 4 statement(s) took effect"]);
    // The script's transaction was ended, so the failure was recorded and the lock released.
    let free: bool = query_one(
        &db,
        &format!(
            "SELECT pg_try_advisory_lock({})",
            wdh_migrate_core::runner::LOCK_KEY
        ),
    );
    assert!(free, "the lock was released");
    let (state, error) = failed_row(&db);
    assert_eq!(state, "failed");
    assert!(
        error.contains("division by zero") && error.contains("0002_idx/down.sql:4:"),
        "{error}"
    );
    let no_scratch: bool = query_one(&db, "SELECT to_regclass('public.scratch') IS NULL");
    assert!(no_scratch, "the script's own transaction was rolled back");
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status.stdout.contains("downgrade -1 --retry-failed"),
        "{}",
        status.stdout
    );
    assert_eq!(
        status.stdout.matches("Repair:").count(),
        1,
        "{}",
        status.stdout
    );
    // An upgrade --retry-failed does not pretend to repair a failed down.
    let before = snapshot(&db);
    let run = wdh(&["upgrade", "--retry-failed"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(4, &["downgrade -1 --retry-failed"]);
    assert_eq!(snapshot(&db), before);
    // Repaired file, retried in its own direction.
    write(
        dir.path(),
        "0002_idx/down.sql",
        "-- wdh:no-transaction\nDROP INDEX CONCURRENTLY t_id;\n",
    );
    let run = wdh(&["downgrade", "-1", "--retry-failed"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&db), ["0001"]);
    let cleared: i64 = query_one(&db, "SELECT count(*) FROM wdh_migrate.failed");
    assert_eq!(cleared, 0);
}

#[test]
fn the_dry_run_shows_the_sql_the_server_then_receives() {
    let cluster = wdh_testdb::TestCluster::start_with(wdh_testdb::ClusterOptions {
        settings: vec![("log_statement".into(), "all".into())],
        ..Default::default()
    })
    .unwrap();
    let db = cluster.server().create_database().unwrap();
    let dry = wdh(&["upgrade", "--dry-run", "--json"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    assert_eq!(dry.code, 0, "{}", dry.all());
    let plan: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    let run = wdh(&["upgrade"]).db(&db).migrations(&bundled_dir()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    let log = std::fs::read_to_string(cluster.log_file()).unwrap();
    let mut compared = 0;
    for step in plan["steps"].as_array().unwrap() {
        let sql = step["sql"].as_str().unwrap();
        if let Some(messages) =
            sql.strip_prefix("-- outside a transaction, one message at a time:\n")
        {
            // Its last message carries the measured time; the statements themselves are verbatim.
            assert!(
                messages.contains("CREATE INDEX CONCURRENTLY")
                    && log.contains(
                        "CREATE INDEX CONCURRENTLY \"annuity_performance_report_month_idx\""
                    )
            );
            continue;
        }
        // A migration's two messages: the prologue, then the script with
        // its fence and ledger row, in which the transaction's id and the
        // lock's token are known only at run time.
        let messages: Vec<&str> = step["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(messages.join("\n"), sql);
        for message in messages {
            // The server log prefixes each continuation line of a statement with a tab.
            let logged = format!("statement: {}", message.replace('\n', "\n\t"));
            let pattern = regex::escape(&logged)
                .replace(":xid", r"\d+")
                .replace("':lock'", "'[0-9a-f]{32}'");
            assert!(
                regex::Regex::new(&pattern).unwrap().is_match(&log),
                "the server never received, verbatim:\n{message}"
            );
        }
        compared += 1;
    }
    assert_eq!(
        compared, 10,
        "the ledger's creation and nine transactional migrations"
    );
}

#[test]
fn a_failed_ledger_update_after_a_no_transaction_script_is_recorded_as_such() {
    // Every statement succeeds, but the last one removes the ledger row
    // that the final ledger update then fails to find.
    let (dir, db) = indexed_then_downgraded(
        "-- wdh:no-transaction\nDROP INDEX CONCURRENTLY t_id;\nDELETE FROM wdh_migrate.applied WHERE version = '0002';\n",
    );
    let run = wdh(&["downgrade", "-1"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        1,
        &[
            "2 of 2 statement(s) took effect",
            "the ledger has no row for version",
        ],
    );
    assert!(
        !run.stderr
            .contains("rolled back; the database is as it was"),
        "{}",
        run.stderr
    );
    let (state, error) = failed_row(&db);
    assert_eq!(state, "failed");
    assert!(error.contains("the ledger has no row"), "{error}");
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("downgrade failed false")
    );
    let free: bool = query_one(
        &db,
        &format!(
            "SELECT pg_try_advisory_lock({})",
            wdh_migrate_core::runner::LOCK_KEY
        ),
    );
    assert!(free, "the lock was released");
}

/// A table and a no-transaction index migration with `down_sql`, upgraded to head.
fn indexed_then_downgraded(down_sql: &str) -> (tempfile::TempDir, wdh_testdb::TestDatabase) {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
        (
            "0002_idx/up.sql",
            "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
        ),
        ("0002_idx/down.sql", down_sql),
    ]);
    let db = db();
    wdh(&["upgrade"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    (dir, db)
}

/// The state and error of the one failed migration recorded.
fn failed_row(db: &wdh_testdb::TestDatabase) -> (String, String) {
    let row = db
        .connect()
        .unwrap()
        .query_one("SELECT state, error FROM wdh_migrate.failed", &[])
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn a_failure_deep_into_a_long_run_reports_a_count_and_a_range_and_json_keeps_every_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let name = |i: usize| format!("2025080100{i:04}_create_table_number_{i}_for_the_long_run");
    for i in 1..=300 {
        let up = if i == 300 {
            "CREATE TABLE broken (id int);\nSELECT 1 / 0;\n".to_string()
        } else {
            format!("CREATE TABLE t_{i} (id int);\n")
        };
        write(dir.path(), &format!("{}/up.sql", name(i)), &up);
        write(dir.path(), &format!("{}/down.sql", name(i)), "SELECT 1;\n");
    }
    let db = db();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("error:"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(report.len() < 2048, "{} bytes:\n{report}", report.len());
    assert!(
        report.contains(&format!(
            "299 migrations of this run completed before it: {} … {}.",
            name(1),
            name(299)
        )),
        "{report}"
    );
    assert!(report.contains("division by zero"), "{report}");
    assert!(
        report.contains(&format!("{}/up.sql", name(300))),
        "{report}"
    );
    // Exactly what the report says stays: 299 applied, the failed one rolled back.
    assert_eq!(applied_versions(&db).len(), 299);
    assert!(!query_one::<bool>(
        &db,
        "SELECT to_regclass('broken') IS NOT NULL"
    ));

    // With --json, the document on stdout keeps every name.
    let db = super::support::db();
    let run = wdh(&["upgrade", "--json"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 1, "{}", run.all());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc["error"]["exit_code"], 1);
    let completed = doc["error"]["migration"]["completed_before"]
        .as_array()
        .expect("the full list");
    assert_eq!(completed.len(), 299);
    assert_eq!(completed[0], name(1).as_str());
    assert_eq!(completed[298], name(299).as_str());
    assert_eq!(doc["error"]["migration"]["code"], "22012");
    assert_eq!(applied_versions(&db).len(), 299);

    // Any failure, with --json, is a document too: here a bad argument (exit 2).
    let run = wdh(&["upgrade", "sideways", "--json"]).db(&db).run();
    run.expect(2, &["`sideways` is not an upgrade target"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc["error"]["exit_code"], 2);
    assert_eq!(doc["error"]["migration"], serde_json::Value::Null);
    assert!(doc["error"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("error: `sideways`")));
}

#[test]
fn a_step_longer_than_the_lease_keeps_the_lock_by_its_heartbeat() {
    let dir = folder(&[
        (
            "0001_slow/up.sql",
            "CREATE TABLE slow (id int); INSERT INTO slow VALUES (1); SELECT pg_sleep(1.5);",
        ),
        ("0001_slow/down.sql", "DROP TABLE slow;"),
    ]);
    let db = db();
    let (first, _cwd) = wdh(&["upgrade", "--lock-lease", "300ms"])
        .db(&db)
        .migrations(dir.path())
        .spawn();
    let mut c = db.connect().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0)
        == 0
    {
        assert!(Instant::now() < deadline, "the migration never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Well past the lease: only the heartbeat keeps the lock held.
    std::thread::sleep(Duration::from_millis(700));
    let second = wdh(&["upgrade", "--lock-wait", "10s"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(second.code, 0, "{}", second.all());
    assert!(!second.stderr.contains("took over"), "{}", second.stderr);
    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: i64 = query_one(&db, "SELECT count(*) FROM slow");
    assert_eq!(rows, 1, "the migration ran once");
    assert_eq!(applied_versions(&db), ["0001"]);
}

/// A ledger of an earlier format, as that release left it: format 3 (no
/// `loss` or `snapshot` column, no fence function).
fn downgrade_ledger_to_format_3(db: &wdh_testdb::TestDatabase) {
    db.connect()
        .unwrap()
        .batch_execute(
            "DROP FUNCTION wdh_migrate.step_fence(bigint, text);
             ALTER TABLE wdh_migrate.audit DROP COLUMN loss, DROP COLUMN snapshot;
             ALTER TABLE wdh_migrate.format DISABLE TRIGGER ALL;
             DELETE FROM wdh_migrate.format; INSERT INTO wdh_migrate.format (format) VALUES (3);",
        )
        .unwrap();
}

#[test]
fn a_ledger_of_format_3_is_upgraded_in_place_and_keeps_its_rows() {
    let set = bundled();
    let db = db();
    up(&set, &db, "0004").unwrap();
    downgrade_ledger_to_format_3(&db);
    let rows = ledger(&db);
    let audited = audit(&db);
    up(&set, &db, "head").unwrap();
    assert_eq!(ledger(&db)[..4], rows[..]);
    assert_eq!(ledger(&db).len(), 10);
    assert_eq!(audit(&db)[..audited.len()], audited[..]);
    let formats: String = query_one(
        &db,
        "SELECT string_agg(format::text, ',' ORDER BY format) FROM wdh_migrate.format",
    );
    assert_eq!(formats, "3,4");
    let fence: bool = query_one(
        &db,
        "SELECT to_regprocedure('wdh_migrate.step_fence(bigint,text)') IS NOT NULL",
    );
    assert!(fence);
    let columns: i64 = query_one(
        &db,
        "SELECT count(*) FROM information_schema.columns \
         WHERE table_schema = 'wdh_migrate' AND table_name = 'audit' AND column_name IN ('loss', 'snapshot')",
    );
    assert_eq!(columns, 2);
    // A read on the old format before the upgrade needed nothing of it.
    down(&set, &db, "0009").unwrap();
    assert_eq!(applied_versions(&db).len(), 9);
}

#[test]
fn a_ledger_of_a_newer_format_is_refused_and_left_as_it_is() {
    let set = bundled();
    let db = db();
    up(&set, &db, "0002").unwrap();
    db.connect()
        .unwrap()
        .batch_execute("INSERT INTO wdh_migrate.format (format) VALUES (99)")
        .unwrap();
    let before = snapshot(&db);
    let audited = audit(&db);
    match up(&set, &db, "head") {
        Err(RunError::LedgerTooNew { format, .. }) => assert_eq!(format, 99),
        other => panic!("expected LedgerTooNew, got {other:?}"),
    }
    assert_eq!(snapshot(&db), before);
    assert_eq!(audit(&db), audited);
}
