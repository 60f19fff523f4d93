//! The lock schedule: a migration blocked by a long transaction retries
//! with short lock timeouts, so the table's readers never queue behind it
//! for long, and succeeds once the transaction ends; retries off; a budget
//! that runs out; a concurrent index build cancelled on its lock wait and
//! retried after its INVALID index is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wdh_testdb::TestDatabase;

use crate::support::*;

/// How many retries a run printed.
fn retries(run: &Run) -> usize {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("lock: "))
        .count()
}

/// `0001` creates `t` with rows; `0002` is `up`.
fn with_table(up: &str) -> (tempfile::TempDir, TestDatabase) {
    let dir = folder(&[
        (
            "0001_t/up.sql",
            "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);",
        ),
        ("0001_t/down.sql", "DROP TABLE t;"),
        ("0002_change/up.sql", up),
        ("0002_change/down.sql", "SELECT 1;"),
    ]);
    let db = db();
    wdh(&["upgrade", "0001"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    (dir, db)
}

/// A session holding `sql`'s locks in a transaction until `for_` has
/// passed (or until dropped, whichever is first): it holds them when this
/// returns.
struct Holder {
    done: Option<JoinHandle<()>>,
    release: Arc<AtomicBool>,
    pid: i32,
}

impl Holder {
    fn new(db: &TestDatabase, sql: &str, for_: Duration) -> Holder {
        let mut c = db.connect().unwrap();
        c.batch_execute(&format!("BEGIN; {sql}")).unwrap();
        let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
        let release = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&release);
        let done = std::thread::spawn(move || {
            let until = Instant::now() + for_;
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(10));
            }
            c.batch_execute("COMMIT").unwrap();
        });
        Holder {
            done: Some(done),
            release,
            pid,
        }
    }

    /// Ends the transaction now.
    fn end(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.release.store(true, Ordering::SeqCst);
        if let Some(done) = self.done.take() {
            done.join().unwrap();
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Readers that query `t` every 100 ms, each on a connection of its own,
/// until stopped; the longest time one query took.
struct Readers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Duration>>,
}

impl Readers {
    fn start(db: &TestDatabase, n: usize) -> Readers {
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|i| {
                let mut c = db.connect().unwrap();
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    // Spread over the period.
                    std::thread::sleep(Duration::from_millis(100 * i as u64 / n as u64));
                    let mut longest = Duration::ZERO;
                    while !stop.load(Ordering::SeqCst) {
                        let t = Instant::now();
                        c.query_one("SELECT count(*) FROM t", &[]).unwrap();
                        let took = t.elapsed();
                        longest = longest.max(took);
                        std::thread::sleep(Duration::from_millis(100).saturating_sub(took));
                    }
                    longest
                })
            })
            .collect();
        Readers { stop, threads }
    }

    fn longest(self) -> Duration {
        self.stop.store(true, Ordering::SeqCst);
        self.threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .max()
            .unwrap_or_default()
    }
}

#[test]
fn a_migration_blocked_by_a_long_transaction_retries_and_its_readers_wait_about_a_second_at_most() {
    let (dir, db) = with_table("ALTER TABLE t ADD COLUMN c int;");
    let readers = Readers::start(&db, 4);
    std::thread::sleep(Duration::from_millis(300));
    let held_for = Duration::from_secs(4);
    let holder = Holder::new(&db, "SELECT count(*) FROM t;", held_for);
    let started = Instant::now();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let longest = readers.longest();
    drop(holder);
    eprintln!("{}", run.stderr);
    eprintln!(
        "longest reader wait behind the migration: {:.0} ms (the blocking transaction held its lock for {} s; \
         the migration took {:.1} s)",
        longest.as_secs_f64() * 1000.0,
        held_for.as_secs(),
        took.as_secs_f64()
    );
    run.expect(
        0,
        &[
            "lock: 0002_change: no lock within 100 ms; rolled back, attempt 2 in",
            "with lock_timeout 200 ms",
            "(waiting for AccessExclusiveLock on t, behind process",
        ],
    );
    assert!(
        took >= held_for - Duration::from_millis(500),
        "it waited for the transaction to end: {took:?}"
    );
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let added: i64 = query_one(
        &db,
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'",
    );
    assert_eq!(added, 1);
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("upgrade success false")
    );
    // Without the schedule a reader would wait for as long as the
    // transaction (4 s); with it, about one attempt's longest timeout (1 s).
    assert!(
        longest < Duration::from_secs(3),
        "a reader waited {longest:?} behind the migration"
    );
}

#[test]
fn a_migration_whose_budget_runs_out_names_the_lock_and_the_budget_and_changes_nothing() {
    let (dir, db) = with_table("CREATE TABLE other (id int);\nALTER TABLE t ADD COLUMN c int;");
    let before = snapshot(&db);
    let holder = Holder::new(
        &db,
        "LOCK TABLE t IN ACCESS SHARE MODE;",
        Duration::from_secs(30),
    );
    let run = wdh(&["upgrade", "--lock-budget", "1500ms"])
        .db(&db)
        .migrations(dir.path())
        .run();
    let pid = holder.pid;
    holder.end();
    run.expect(
        1,
        &[
            "applying migration 0002_change failed",
            "canceling statement due to lock timeout (SQLSTATE 55P03)",
            "It could not get its lock: ",
            "each timed out (lock_timeout 100 ms doubling to 1 s, retried for up to 1.5 s); \
             it waited for AccessExclusiveLock on t, behind process",
            &format!("process {pid} (holding AccessShareLock, role postgres, "),
            "idle in transaction, its transaction open for",
            "allow more time with a longer --lock-budget.",
            "rolled back (the server confirms it)",
        ],
    );
    assert!(retries(&run) >= 2, "{}", run.stderr);
    assert_eq!(snapshot(&db), before, "nothing of the migration stays");
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("upgrade failed false")
    );
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("pending") && l.contains("0002_change")),
        "{}",
        status.stdout
    );
    assert!(
        !status
            .stdout
            .lines()
            .any(|l| l.trim_start().starts_with("failed")),
        "{}",
        status.stdout
    );
}

#[test]
fn a_zero_budget_makes_one_attempt_and_a_zero_timeout_waits_as_the_server_says() {
    let (dir, db) = with_table("ALTER TABLE t ADD COLUMN c int;");
    let before = snapshot(&db);
    let holder = Holder::new(&db, "SELECT count(*) FROM t;", Duration::from_secs(30));
    let run = wdh(&["upgrade", "--lock-budget", "0", "--lock-timeout", "300ms"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        1,
        &[
            "It could not get its lock: 1 attempt(s) in",
            "(lock_timeout 300 ms, no retries); it waited for AccessExclusiveLock on t, behind process",
        ],
    );
    assert_eq!(retries(&run), 0, "no retry: {}", run.stderr);
    assert_eq!(snapshot(&db), before);
    holder.end();

    // With 0 the migration waits for its lock as the server's lock_timeout
    // (none here) says: no retry, done once the transaction ends.
    let _holder = Holder::new(&db, "SELECT count(*) FROM t;", Duration::from_millis(1500));
    let started = Instant::now();
    let run = wdh(&["upgrade", "--lock-timeout", "0"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(0, &[]);
    assert_eq!(retries(&run), 0, "{}", run.stderr);
    assert!(started.elapsed() >= Duration::from_millis(1000));
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
}

fn a_concurrent_index_build_cancelled_on_its_lock_wait_is_retried_after_its_invalid_index_is_dropped(
    up: &str,
    leftover: &str,
) {
    let (dir, db) = with_table(up);
    // An open write transaction: the build creates its INVALID index, then
    // waits for that transaction to end.
    let _holder = Holder::new(
        &db,
        "INSERT INTO t VALUES (0);",
        Duration::from_millis(2500),
    );
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(
        0,
        &[
            "lock: statement 1 of 1 of 0002_change: no lock within 100 ms (waiting for the end of an older \
             transaction, behind process",
            "; cancelled, attempt 2 in",
            &format!("dropped the INVALID index {leftover} that the interrupted statement left behind"),
        ],
    );
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let (valid, all): (i64, i64) = {
        let row = db
            .connect()
            .unwrap()
            .query_one(
                "SELECT count(*) FILTER (WHERE indisvalid), count(*) FROM pg_index WHERE indrelid = 't'::regclass",
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((valid, all), (1, 1), "one valid index, no leftover");
    let failed: i64 = query_one(&db, "SELECT count(*) FROM wdh_migrate.failed");
    assert_eq!(failed, 0);
}

#[test]
fn a_named_concurrent_index_build_is_retried_after_its_invalid_index_is_dropped() {
    a_concurrent_index_build_cancelled_on_its_lock_wait_is_retried_after_its_invalid_index_is_dropped(
        "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
        "public.t_id",
    );
}

#[test]
fn an_unnamed_concurrent_index_build_is_retried_after_its_invalid_index_is_dropped() {
    a_concurrent_index_build_cancelled_on_its_lock_wait_is_retried_after_its_invalid_index_is_dropped(
        "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY ON t (id);\n",
        "public.t_id_idx",
    );
}

#[test]
fn a_concurrent_index_build_whose_budget_runs_out_is_recorded_and_the_retry_finishes_it() {
    let (dir, db) = with_table(
        "-- wdh:no-transaction\nCREATE TABLE before_it (id int);\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
    );
    let holder = Holder::new(&db, "INSERT INTO t VALUES (0);", Duration::from_secs(30));
    let run = wdh(&["upgrade", "--lock-budget", "1s"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        1,
        &[
            "canceling statement due to lock timeout (sent by this run: it waited longer than",
            "each cancelled by this run after its lock_timeout (lock_timeout 100 ms doubling to 1 s, \
             retried for up to 1 s); it waited for the end of an older transaction, behind process",
            "1 of 2 statement(s) took effect and stay",
        ],
    );
    assert_eq!(applied_versions(&db), ["0001"]);
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status.stdout.contains("failed")
            && status.stdout.contains("INVALID index(es): public.t_id"),
        "{}",
        status.stdout
    );
    let kept: bool = query_one(&db, "SELECT to_regclass('before_it') IS NOT NULL");
    assert!(kept, "the statement before it took effect and stays");
    holder.end();
    let run = wdh(&["upgrade", "--retry-failed"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(0, &["dropped the INVALID index public.t_id"]);
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let valid: bool = query_one(
        &db,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass",
    );
    assert!(valid);
}

#[test]
fn statements_that_may_commit_part_of_their_work_are_not_cancelled() {
    // A procedure's lock wait is left to the server's lock_timeout: the
    // migration waits for the transaction and runs once.
    let (dir, db) = with_table(
        "-- wdh:no-transaction\nCREATE PROCEDURE add_c() LANGUAGE sql AS $$ ALTER TABLE t ADD COLUMN c int $$;\nCALL add_c();\n",
    );
    let _holder = Holder::new(&db, "SELECT count(*) FROM t;", Duration::from_millis(1500));
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(0, &[]);
    assert_eq!(retries(&run), 0, "{}", run.stderr);
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
}

#[test]
fn a_blocked_downgrade_retries_too() {
    let (dir, db) = with_table("ALTER TABLE t ADD COLUMN c int;");
    write(
        dir.path(),
        "0002_change/down.sql",
        "ALTER TABLE t DROP COLUMN c;",
    );
    wdh(&["upgrade"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    let _holder = Holder::new(&db, "SELECT count(*) FROM t;", Duration::from_millis(1200));
    let run = wdh(&["downgrade", "-1"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        0,
        &["lock: 0002_change: no lock within 100 ms; rolled back"],
    );
    assert_eq!(applied_versions(&db), ["0001"]);
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("downgrade success false")
    );
}
