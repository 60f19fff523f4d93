//! Honest state after faults: refusals audited under concurrency (or a
//! warning that one could not be), a role that cannot read the ledger told
//! what to grant, and no-transaction recovery after a concurrent index
//! build is cut off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wdh_testdb::TestDatabase;

use crate::support::*;

/// A login role of the shared cluster for one test, dropped with it.
struct Role {
    name: String,
    admin: postgres::Client,
}

impl Role {
    fn new(db: &TestDatabase) -> Role {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "wdh_r_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let mut admin = db.connect().unwrap();
        admin
            .batch_execute(&format!("CREATE ROLE {name} LOGIN"))
            .unwrap();
        Role { name, admin }
    }

    /// `db`'s URL, connecting as this role.
    fn url(&self, db: &TestDatabase) -> String {
        let url = db.url();
        let rest = url.split_once('@').unwrap().1;
        format!("postgresql://{}@{rest}", self.name)
    }
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.admin.batch_execute(&format!(
            "REASSIGN OWNED BY {0} TO postgres; DROP OWNED BY {0}; DROP ROLE {0}",
            self.name
        ));
    }
}

fn mark_production(db: &TestDatabase) {
    db.connect()
        .unwrap()
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET wdh.environment = 'production'",
            db.name()
        ))
        .unwrap();
}

#[test]
fn every_refusal_on_the_live_facts_is_audited_when_many_arrive_at_once_without_a_ledger() {
    // Safe by its name, protected by its marker: refused on the live facts.
    let db = db();
    mark_production(&db);
    let children: Vec<_> = (0..8)
        .map(|_| {
            wdh(&["downgrade", "base"])
                .db(&db)
                .migrations(&bundled_dir())
                .spawn()
        })
        .collect();
    for (child, _cwd) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(!stderr.contains("could not be written"), "{stderr}");
    }
    let refused: i64 = query_one(
        &db,
        "SELECT count(*) FROM wdh_migrate.audit WHERE operation = 'downgrade' AND outcome = 'refused'",
    );
    assert_eq!(refused, 8, "every refusal has its audit row");
    assert_eq!(
        dump(&db),
        dump(&self::db()),
        "nothing but the ledger was created"
    );
}

#[test]
fn a_refusal_that_cannot_be_audited_says_so() {
    let db = db();
    mark_production(&db);
    // A role that may not create the ledger's schema.
    let role = Role::new(&db);
    let run = wdh(&["downgrade", "base"])
        .url(&role.url(&db))
        .migrations(&bundled_dir())
        .run();
    run.expect(
        3,
        &[
            "BLOCKED",
            "warning: the refusal of this downgrade could not be written to the audit log",
            "permission denied",
        ],
    );
    let ledger: bool = query_one(&db, "SELECT to_regclass('wdh_migrate.audit') IS NOT NULL");
    assert!(!ledger, "nothing was created");
}

#[test]
fn a_role_without_usage_on_the_ledger_schema_is_told_the_grant() {
    let db = db();
    wdh(&["upgrade", "+2"])
        .db(&db)
        .migrations(&bundled_dir())
        .run()
        .expect(0, &[]);
    let role = Role::new(&db);
    let before = snapshot(&db);
    for args in [&["status"][..], &["upgrade"], &["current"]] {
        let run = wdh(args)
            .url(&role.url(&db))
            .migrations(&bundled_dir())
            .run();
        run.expect(
            1,
            &[&format!(
                "role `{0}` cannot read the ledger: GRANT USAGE ON SCHEMA wdh_migrate TO \"{0}\"",
                role.name
            )],
        );
        assert!(
            !run.stderr.contains("reading the connection's identity"),
            "{}",
            run.stderr
        );
    }
    // With USAGE but no SELECT, the grant it needs next.
    db.connect()
        .unwrap()
        .batch_execute(&format!(
            "GRANT USAGE ON SCHEMA wdh_migrate TO {}",
            role.name
        ))
        .unwrap();
    let run = wdh(&["status"])
        .url(&role.url(&db))
        .migrations(&bundled_dir())
        .run();
    run.expect(1, &["GRANT SELECT ON ALL TABLES IN SCHEMA wdh_migrate TO"]);
    assert_eq!(snapshot(&db), before);
}

/// A table with rows and a no-transaction migration building an index on
/// it concurrently, and a connection holding a write transaction on the
/// table, so the build waits for it.
fn blocked_index_build() -> (tempfile::TempDir, TestDatabase, postgres::Client) {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
        (
            "0002_idx/up.sql",
            "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\nCREATE INDEX CONCURRENTLY t_id2 ON t (id);\n",
        ),
        ("0002_idx/down.sql", "-- wdh:no-transaction\nDROP INDEX CONCURRENTLY t_id2;\nDROP INDEX CONCURRENTLY t_id;\n"),
    ]);
    let db = db();
    wdh(&["upgrade", "0001"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    let mut holder = db.connect().unwrap();
    holder
        .batch_execute("BEGIN; INSERT INTO t VALUES (0);")
        .unwrap();
    (dir, db, holder)
}

/// The server process building the index once it waits, with the index
/// already in the catalog as INVALID.
fn waiting_build(db: &TestDatabase) -> i32 {
    let mut c = db.connect().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rows = c
            .query(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
                 AND query LIKE 'CREATE INDEX CONCURRENTLY t_id ON%' AND wait_event_type = 'Lock'",
                &[],
            )
            .unwrap();
        if let Some(r) = rows.first() {
            return r.get(0);
        }
        assert!(Instant::now() < deadline, "the index build never waited");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_concurrent_index_build_cut_off_leaves_an_invalid_index_that_the_retry_drops_and_builds_again()
{
    let (dir, db, mut holder) = blocked_index_build();
    // Without a lock timeout: the build waits until it is cut off.
    let (child, _cwd) = wdh(&["upgrade", "--lock-timeout", "0"])
        .db(&db)
        .migrations(dir.path())
        .spawn();
    let pid = waiting_build(&db);
    // An operator (or a timeout) ends the build's server process.
    holder
        .query_one("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    holder.batch_execute("COMMIT").unwrap();
    let invalid: bool = query_one(
        &db,
        "SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass",
    );
    assert!(invalid, "the cut-off build left an INVALID index");
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(
        status.stdout.contains("INVALID index(es): public.t_id"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("failed"), "{}", status.stdout);
    assert_eq!(applied_versions(&db), ["0001"]);
    // The retry drops the leftover and builds it again: no hand-written SQL.
    let run = wdh(&["upgrade", "--retry-failed"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(0, &["dropped the INVALID index public.t_id"]);
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let valid: i64 = query_one(
        &db,
        "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass AND indisvalid",
    );
    assert_eq!(valid, 2);
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(!status.stdout.contains("INVALID"), "{}", status.stdout);
}

#[test]
fn a_concurrent_index_build_that_finished_after_its_run_was_killed_is_not_run_again() {
    let (dir, db, mut holder) = blocked_index_build();
    // Without a lock timeout: the build waits until its run is killed.
    let (mut child, _cwd) = wdh(&["upgrade", "--lock-timeout", "0"])
        .db(&db)
        .migrations(dir.path())
        .spawn();
    let pid = waiting_build(&db);
    child.kill().unwrap(); // SIGKILL: the build's server process goes on
    child.wait().unwrap();
    holder.batch_execute("COMMIT").unwrap();
    let mut c = db.connect().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        )
        .unwrap()
        .get::<_, i64>(0)
        > 0
    {
        assert!(Instant::now() < deadline, "the build never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    let valid: bool = query_one(
        &db,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass",
    );
    assert!(valid, "the build finished after its client was gone");
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(status.stdout.contains("interrupted"), "{}", status.stdout);
    let run = wdh(&["upgrade", "--retry-failed", "--lock-wait", "30s"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(
        0,
        &["took effect after its run ended (the index public.t_id exists and is valid)"],
    );
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
}
