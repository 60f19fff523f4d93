//! Through a real PgBouncer, in session and in transaction pooling: the
//! lock serialises runners, each migration (no-transaction ones included)
//! runs exactly once, no setting of a run stays on a pooled server session,
//! and a later direct run is not blocked.

use std::time::{Duration, Instant};

use wdh_migrate_core::plan::UpgradeTo;
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{PgBouncer, PgBouncerOptions, PoolMode, TestCluster};

use crate::support::*;

/// A set with transactional and no-transaction migrations whose effects
/// count how often each ran.
fn counted_set() -> tempfile::TempDir {
    folder(&[
        (
            "0001_a/up.sql",
            "CREATE TABLE hits (migration text); INSERT INTO hits VALUES ('0001'); SELECT pg_sleep(0.2);",
        ),
        ("0001_a/down.sql", "DROP TABLE hits;"),
        (
            "0002_idx/up.sql",
            "-- wdh:no-transaction\nINSERT INTO hits VALUES ('0002');\nCREATE INDEX CONCURRENTLY hits_m ON hits (migration);\nINSERT INTO hits VALUES ('0002');\n",
        ),
        (
            "0002_idx/down.sql",
            "-- wdh:no-transaction\nDROP INDEX CONCURRENTLY hits_m;\n",
        ),
        ("0003_c/up.sql", "INSERT INTO hits VALUES ('0003');"),
        ("0003_c/down.sql", "DELETE FROM hits WHERE migration = '0003';"),
    ])
}

fn pooler(mode: PoolMode) -> PgBouncer {
    let cluster = TestCluster::shared().unwrap();
    PgBouncer::start_with(
        cluster,
        PgBouncerOptions {
            default_pool_size: 3,
            ..PgBouncerOptions::new(mode)
        },
    )
    .unwrap()
}

fn eight_runners_through(mode: PoolMode) {
    let bouncer = pooler(mode);
    let db = db();
    let url = bouncer.url(db.name());
    let dir = counted_set();
    let children: Vec<_> = (0..8)
        .map(|_| {
            wdh(&[
                "upgrade",
                "--lock-timeout",
                "5s",
                "--statement-timeout",
                "1m",
            ])
            .url(&url)
            .migrations(dir.path())
            .spawn()
        })
        .collect();
    for (child, _cwd) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(applied_versions(&db), ["0001", "0002", "0003"]);
    let hits: Vec<String> = db
        .connect()
        .unwrap()
        .query("SELECT migration FROM hits ORDER BY 1", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        hits,
        ["0001", "0002", "0002", "0003"],
        "{mode:?}: each statement ran exactly once"
    );
    let applying: i64 = query_one(
        &db,
        "SELECT count(*) FROM wdh_migrate.audit WHERE operation = 'upgrade' AND outcome = 'success'",
    );
    assert_eq!(
        applying, 1,
        "{mode:?}: one runner applied, the others found nothing to do"
    );
    let free: bool = query_one(&db, "SELECT holder IS NULL FROM wdh_migrate.lock");
    assert!(free, "{mode:?}: the lock was released");

    // Application sessions through the pooler, on every pooled server
    // session at once, see the server's defaults.
    let mut apps: Vec<postgres::Client> = (0..3)
        .map(|_| bouncer.connect(db.name()).unwrap())
        .collect();
    let mut pids = Vec::new();
    for app in &mut apps {
        app.batch_execute("BEGIN").unwrap();
        let row = app
            .simple_query(
                "SELECT current_setting('lock_timeout'), current_setting('statement_timeout'), \
                 current_setting('client_connection_check_interval'), current_setting('standard_conforming_strings'), \
                 pg_backend_pid()",
            )
            .unwrap();
        let values: Vec<String> = row
            .iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..5).map(|i| r.get(i).unwrap().to_string()).collect())
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(
            values[..4],
            ["0", "0", "0", "on"],
            "{mode:?}: a run's setting stayed on a pooled session"
        );
        pids.push(values[4].clone());
    }
    for app in &mut apps {
        app.batch_execute("COMMIT").unwrap();
    }
    pids.sort();
    pids.dedup();
    assert_eq!(
        pids.len(),
        3,
        "{mode:?}: three server sessions were looked at"
    );
    drop(apps);

    // A later direct run is not blocked.
    write(
        dir.path(),
        "0004_d/up.sql",
        "INSERT INTO hits VALUES ('0004');",
    );
    write(
        dir.path(),
        "0004_d/down.sql",
        "DELETE FROM hits WHERE migration = '0004';",
    );
    let started = Instant::now();
    wdh(&["upgrade", "--lock-wait", "2s"])
        .db(&db)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(applied_versions(&db), ["0001", "0002", "0003", "0004"]);
}

#[test]
fn eight_runners_through_pgbouncer_in_transaction_pooling_apply_each_statement_once() {
    eight_runners_through(PoolMode::Transaction);
}

#[test]
fn eight_runners_through_pgbouncer_in_session_pooling_apply_each_statement_once() {
    eight_runners_through(PoolMode::Session);
}

#[test]
fn a_run_killed_behind_a_transaction_pooler_frees_the_lock_when_its_lease_expires() {
    let bouncer = pooler(PoolMode::Transaction);
    let db = db();
    let dir = folder(&[
        ("0001_a/up.sql", "CREATE TABLE a (id int);"),
        ("0001_a/down.sql", "DROP TABLE a;"),
        (
            "0002_slow/up.sql",
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(30);",
        ),
        ("0002_slow/down.sql", "DROP TABLE slow;"),
    ]);
    let (mut child, _cwd) = wdh(&["upgrade", "--lock-lease", "1s"])
        .url(&bouncer.url(db.name()))
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
    child.kill().unwrap();
    child.wait().unwrap();
    write(
        dir.path(),
        "0002_slow/up.sql",
        "CREATE TABLE slow (id int);",
    );
    let status = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    assert!(status.stdout.contains("lock: "), "{}", status.stdout);
    let run = wdh(&["upgrade", "--lock-wait", "20s"])
        .db(&db)
        .migrations(dir.path())
        .run();
    run.expect(0, &["took over the migration lock from wdh-migrate"]);
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
}

#[test]
fn transaction_pooling_is_detected_when_the_server_session_changes() {
    let cluster = TestCluster::shared().unwrap();
    let bouncer = PgBouncer::start_with(
        cluster,
        PgBouncerOptions {
            default_pool_size: 2,
            ..PgBouncerOptions::new(PoolMode::Transaction)
        },
    )
    .unwrap();
    let db = db();
    let target = Target::parse(&bouncer.url(db.name()), Source::Explicit).unwrap();
    let runner = Runner::new(&target, RunOptions::default());
    let mut c = runner.connect().unwrap();
    let first = c.identity().backend_pid;
    // Another client takes the server session the runner used and keeps it
    // in a transaction: the runner's next message goes to another one.
    let mut other = bouncer.connect(db.name()).unwrap();
    other.batch_execute("BEGIN").unwrap();
    let taken: i32 = other
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    assert_eq!(taken, first, "the other client got the idle server session");
    // (No concurrent index build here: it would wait for the other
    // client's open transaction.)
    let dir = folder(&[
        ("0001_a/up.sql", "CREATE TABLE a (id int);"),
        ("0001_a/down.sql", "DROP TABLE a;"),
    ]);
    let set = wdh_migrate_core::migrations::MigrationSet::load(dir.path()).unwrap();
    runner
        .upgrade_on(&mut c, &set, &UpgradeTo::Head, &mut |_| {})
        .unwrap();
    let pooling = c.pooling(None).expect("detected");
    assert!(pooling.starts_with("transaction pooling"), "{pooling}");
    other.batch_execute("COMMIT").unwrap();
    assert_eq!(applied_versions(&db), ["0001"]);
}

#[test]
fn behind_a_transaction_pooler_blocked_migrations_retry_and_a_cancelled_index_build_is_rebuilt() {
    let bouncer = pooler(PoolMode::Transaction);
    let db = db();
    let dir = folder(&[
        (
            "0001_t/up.sql",
            "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100);",
        ),
        ("0001_t/down.sql", "DROP TABLE t;"),
        ("0002_c/up.sql", "ALTER TABLE t ADD COLUMN c int;"),
        ("0002_c/down.sql", "ALTER TABLE t DROP COLUMN c;"),
        (
            "0003_idx/up.sql",
            "-- wdh:no-transaction\nCREATE INDEX CONCURRENTLY t_id ON t (id);\n",
        ),
        (
            "0003_idx/down.sql",
            "-- wdh:no-transaction\nDROP INDEX CONCURRENTLY t_id;\n",
        ),
    ]);
    let url = bouncer.url(db.name());
    wdh(&["upgrade", "0001"])
        .url(&url)
        .migrations(dir.path())
        .run()
        .expect(0, &[]);
    // An open write transaction, directly on the server: the ALTER waits
    // for its lock, the index build for the transaction's end.
    let mut holder = db.connect().unwrap();
    holder
        .batch_execute("BEGIN; INSERT INTO t VALUES (0);")
        .unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        holder.batch_execute("COMMIT").unwrap();
        holder
    });
    let run = wdh(&["upgrade", "0002"])
        .url(&url)
        .migrations(dir.path())
        .run();
    run.expect(0, &["lock: 0002_c: no lock within 100 ms; rolled back"]);
    let mut holder = release.join().unwrap();
    holder
        .batch_execute("BEGIN; INSERT INTO t VALUES (0);")
        .unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        holder.batch_execute("COMMIT").unwrap();
    });
    let run = wdh(&["upgrade"]).url(&url).migrations(dir.path()).run();
    release.join().unwrap();
    run.expect(
        0,
        &[
            "lock: statement 1 of 1 of 0003_idx: no lock within 100 ms (waiting for the end of an older transaction",
            "dropped the INVALID index public.t_id",
        ],
    );
    assert_eq!(applied_versions(&db), ["0001", "0002", "0003"]);
    let valid: bool = query_one(
        &db,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass",
    );
    assert!(valid);
    // PgBouncer is still up (a cancel request whose client closes first
    // makes 1.18 exit), and no setting of the run stayed on a pooled
    // server session.
    let mut app = bouncer.connect(db.name()).unwrap();
    let timeout: String = app
        .query_one("SELECT current_setting('lock_timeout')", &[])
        .unwrap()
        .get(0);
    assert_eq!(timeout, "0");
}

/// Over a unix socket no TLS is used, and the identity query does not ask
/// for it; but behind a pooler that reaches the server over TCP, the server
/// is asked, and the identity shows the pooler's TLS to the server, as it
/// does over TCP.
#[test]
fn over_a_unix_socket_to_a_pooler_the_identity_shows_the_poolers_tls_to_the_server() {
    let pki = wdh_testdb::Pki::new().unwrap();
    let cluster = TestCluster::start_with(wdh_testdb::ClusterOptions {
        tcp: Some(wdh_testdb::Tcp::Tls(wdh_testdb::ServerTls::new(
            pki.server(&["localhost", "127.0.0.1"]).unwrap(),
        ))),
        hba: Some("local all all trust\nhostssl all all 127.0.0.1/32 trust\n".into()),
        ..wdh_testdb::ClusterOptions::default()
    })
    .unwrap();
    let db = cluster.server().create_database().unwrap();
    let over_tls = PgBouncer::start_with(
        &cluster,
        PgBouncerOptions {
            server_over_tcp: true,
            settings: vec![("server_tls_sslmode".into(), "require".into())],
            ..PgBouncerOptions::new(PoolMode::Session)
        },
    )
    .unwrap();
    let on_socket = PgBouncer::start(&cluster, PoolMode::Session).unwrap();
    for (bouncer, tls) in [(&over_tls, true), (&on_socket, false)] {
        let target = Target::parse(&bouncer.url(db.name()), Source::Explicit).unwrap();
        let c = Runner::new(&target, RunOptions::default())
            .connect()
            .unwrap();
        let identity = c.identity();
        assert_eq!(identity.server_addr.is_some(), tls, "{identity:?}");
        match &identity.tls {
            Some(state) => {
                assert!(tls, "{identity:?}");
                assert!(state.version.starts_with("TLSv1."), "{state:?}");
                assert!(
                    identity.describe().contains(" over TLSv1."),
                    "{}",
                    identity.describe()
                );
            }
            None => assert!(!tls, "{identity:?}"),
        }
    }
    // Straight to the server's socket: no TLS, and none asked for.
    let direct = Target::parse(&db.url(), Source::Explicit).unwrap();
    let c = Runner::new(&direct, RunOptions::default())
        .connect()
        .unwrap();
    assert_eq!(c.identity().tls, None);
    assert_eq!(c.identity().server_addr, None);
}
