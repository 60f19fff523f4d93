//! A real PgBouncer in front of the harness's clusters: transaction pooling
//! is real (server connections move between clients, session state leaks),
//! session pooling is not (a client keeps its server connection, the next
//! client gets it reset), and no PgBouncer outlives its owner.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use wdh_testdb::{Error, PgBouncer, PgBouncerOptions, PoolMode, TestCluster, TestDatabase};

fn options(mode: PoolMode, pool_size: u32) -> PgBouncerOptions {
    PgBouncerOptions {
        default_pool_size: pool_size,
        ..PgBouncerOptions::new(mode)
    }
}

/// A test database and a PgBouncer in front of its (shared) cluster.
fn bouncer(options: PgBouncerOptions) -> (TestDatabase, PgBouncer) {
    let cluster = TestCluster::shared().unwrap();
    let db = cluster.server().create_database().unwrap();
    let bouncer = PgBouncer::start_with(cluster, options).unwrap();
    (db, bouncer)
}

/// The backend pid, read inside a transaction that is left open.
fn begin_and_read_pid(client: &mut Client) -> i32 {
    client.batch_execute("BEGIN").unwrap();
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0)
}

/// The backend pid, read in a transaction of its own.
fn pid_in_a_transaction(client: &mut Client) -> i32 {
    let pid = begin_and_read_pid(client);
    client.batch_execute("COMMIT").unwrap();
    pid
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// The `pgbouncer` processes whose command line names a path under `dir`.
fn pgbouncers_under(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            stat.contains("(pgbouncer) ")
                && !stat.contains(") Z ")
                && String::from_utf8_lossy(&cmdline).contains(&needle)
        })
        .collect()
}

/// The pooler directories under a cluster's root.
fn pooler_dirs(cluster: &TestCluster) -> Vec<PathBuf> {
    std::fs::read_dir(cluster.root())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pgbouncer"))
        .map(|e| e.path())
        .collect()
}

/// Inodes of the TCP sockets in the kernel tables.
fn tcp_socket_inodes() -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            if let Some(inode) = line.split_whitespace().nth(9) {
                inodes.push(inode.to_string());
            }
        }
    }
    inodes
}

/// A pool's row of `SHOW POOLS`.
fn pool_row(
    bouncer: &PgBouncer,
    database: &str,
) -> std::collections::BTreeMap<String, Option<String>> {
    bouncer
        .show("POOLS")
        .unwrap()
        .into_iter()
        .find(|r| r.get("database").cloned().flatten().as_deref() == Some(database))
        .unwrap_or_else(|| panic!("no pool for {database}"))
}

fn count(row: &std::collections::BTreeMap<String, Option<String>>, column: &str) -> u32 {
    row[column].as_deref().unwrap().parse().unwrap()
}

#[test]
fn transaction_pooling_moves_a_client_to_another_server_connection() {
    let (db, bouncer) = bouncer(options(PoolMode::Transaction, 2));
    let mut a = bouncer.connect(db.name()).unwrap();
    let mut b = bouncer.connect(db.name()).unwrap();

    // A's transaction runs on the pool's only server connection, S1.
    let first = pid_in_a_transaction(&mut a);
    // Between A's transactions, B takes S1 (idle: A holds no transaction)
    // and keeps it by leaving its transaction open.
    let b_pid = begin_and_read_pid(&mut b);
    assert_eq!(
        b_pid, first,
        "B should get the idle server connection A used"
    );
    // So A's next transaction needs another server connection.
    let second = pid_in_a_transaction(&mut a);
    assert_ne!(
        second, first,
        "A kept its server connection across transactions"
    );
    b.batch_execute("COMMIT").unwrap();

    let pool = pool_row(&bouncer, db.name());
    assert_eq!(pool["pool_mode"].as_deref(), Some("transaction"));
    assert_eq!(count(&pool, "cl_active"), 2);
    assert_eq!(count(&pool, "sv_active") + count(&pool, "sv_idle"), 2);
}

#[test]
fn transaction_pooling_leaks_session_state_to_another_client() {
    let (db, bouncer) = bouncer(options(PoolMode::Transaction, 1));
    let mut a = bouncer.connect(db.name()).unwrap();
    let mut b = bouncer.connect(db.name()).unwrap();

    let a_pid = begin_and_read_pid(&mut a);
    // Session-level (not LOCAL): it outlives the transaction on the server.
    a.batch_execute("SET wdh.leak = 'set by A'; COMMIT")
        .unwrap();

    let b_pid = begin_and_read_pid(&mut b);
    let seen: Option<String> = b
        .query_one("SELECT current_setting('wdh.leak', true)", &[])
        .unwrap()
        .get(0);
    b.batch_execute("COMMIT").unwrap();
    assert_eq!(b_pid, a_pid, "a pool of one has one server connection");
    assert_eq!(
        seen.as_deref(),
        Some("set by A"),
        "no reset between clients"
    );
}

#[test]
fn session_pooling_keeps_a_client_on_its_server_connection() {
    let (db, bouncer) = bouncer(options(PoolMode::Session, 2));
    let mut a = bouncer.connect(db.name()).unwrap();
    let mut b = bouncer.connect(db.name()).unwrap();

    let first = pid_in_a_transaction(&mut a);
    // The same steps that move A in transaction pooling: B cannot take
    // A's server connection, even between A's transactions.
    let b_pid = begin_and_read_pid(&mut b);
    assert_ne!(b_pid, first, "B got the server connection of A's session");
    for _ in 0..3 {
        assert_eq!(pid_in_a_transaction(&mut a), first);
    }
    b.batch_execute("COMMIT").unwrap();
    assert_eq!(pid_in_a_transaction(&mut a), first);

    let pool = pool_row(&bouncer, db.name());
    assert_eq!(pool["pool_mode"].as_deref(), Some("session"));
}

#[test]
fn session_pooling_resets_a_server_connection_for_the_next_client() {
    let (db, bouncer) = bouncer(options(PoolMode::Session, 1));
    let mut a = bouncer.connect(db.name()).unwrap();
    let a_pid = begin_and_read_pid(&mut a);
    a.batch_execute("SET wdh.leak = 'set by A'; COMMIT")
        .unwrap();
    drop(a);

    // A pool of one: B waits for A's server connection, reset (DISCARD ALL).
    let mut b = bouncer.connect(db.name()).unwrap();
    let b_pid = begin_and_read_pid(&mut b);
    let seen: Option<String> = b
        .query_one("SELECT current_setting('wdh.leak', true)", &[])
        .unwrap()
        .get(0);
    b.batch_execute("COMMIT").unwrap();
    assert_eq!(b_pid, a_pid, "a pool of one has one server connection");
    assert_ne!(seen.as_deref(), Some("set by A"), "A's SET reached B");
}

#[test]
fn the_postgres_crate_connects_but_pgbouncer_refuses_the_options_parameter() {
    let (db, bouncer) = bouncer(options(PoolMode::Transaction, 2));
    // What the crate always sends (client_encoding, user, database) and
    // application_name are handled by PgBouncer.
    let mut config = bouncer.config_for(db.name());
    config.application_name("wdh-testdb-pooled");
    let mut client = config.connect(NoTls).unwrap();
    let name: String = client
        .query_one("SELECT current_setting('application_name')", &[])
        .unwrap()
        .get(0);
    assert_eq!(name, "wdh-testdb-pooled");

    // `options` is refused by PgBouncer 1.18 …
    config.options("-c work_mem=7MB");
    let Err(err) = config.connect(NoTls) else {
        panic!("PgBouncer accepted the options startup parameter");
    };
    let text = err.as_db_error().map(|e| e.message().to_string());
    assert_eq!(
        text.as_deref(),
        Some("unsupported startup parameter: options"),
        "{err}"
    );

    // … and dropped, unapplied, when it is listed as ignored.
    let ignoring = PgBouncer::start_with(
        TestCluster::shared().unwrap(),
        PgBouncerOptions {
            ignore_startup_parameters: vec!["options".into()],
            ..PgBouncerOptions::new(PoolMode::Transaction)
        },
    )
    .unwrap();
    let mut config = ignoring.config_for(db.name());
    config.options("-c work_mem=7MB");
    let work_mem: String = config
        .connect(NoTls)
        .unwrap()
        .query_one("SELECT current_setting('work_mem')", &[])
        .unwrap()
        .get(0);
    assert_ne!(work_mem, "7MB");
}

#[test]
fn urls_and_roles_other_than_postgres_work_through_the_pooler() {
    let (db, bouncer) = bouncer(options(PoolMode::Transaction, 2));
    let mut admin = db.connect().unwrap();
    let role = format!("{}_role", db.name());
    admin
        .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))
        .unwrap();

    // Any role of the cluster, though the auth file lists postgres alone.
    let mut config = bouncer.config_for(db.name());
    config.user(&role);
    let user: String = config
        .connect(NoTls)
        .unwrap()
        .query_one("SELECT current_user::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(user, role);

    let psql = TestCluster::shared().unwrap().binaries().bin("psql");
    let out = Command::new(psql)
        .arg(bouncer.url(db.name()))
        .args(["-XAtc", "SELECT current_database()"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        db.name(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(bouncer);
    admin
        .batch_execute(&format!("DROP ROLE \"{role}\""))
        .unwrap();
}

#[test]
fn a_pgbouncer_runs_unprivileged_on_its_own_unix_socket_only() {
    let cluster = TestCluster::shared().unwrap();
    let bouncer = PgBouncer::start(cluster, PoolMode::Session).unwrap();
    assert!(bouncer.dir().starts_with(cluster.root()));
    assert!(bouncer
        .socket_dir()
        .join(format!(".s.PGSQL.{}", bouncer.port()))
        .exists());
    assert_eq!(bouncer.tcp_port(), None);
    assert_eq!(bouncer.tcp_url("postgres"), None);
    let pid = bouncer.pid().unwrap();
    let tcp = tcp_socket_inodes();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        let link = std::fs::read_link(fd.path())
            .unwrap_or_default()
            .display()
            .to_string();
        if let Some(inode) = link
            .strip_prefix("socket:[")
            .and_then(|s| s.strip_suffix(']'))
        {
            assert!(
                !tcp.iter().any(|t| t == inode),
                "PgBouncer holds TCP socket {inode}"
            );
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert_ne!(uid, "0", "PgBouncer runs as root");
    let log = std::fs::read_to_string(bouncer.log_file()).unwrap();
    assert!(log.contains("process up: PgBouncer"), "{log}");
}

#[test]
fn two_pgbouncers_start_at_once_on_one_cluster() {
    let cluster = TestCluster::shared().unwrap();
    let db = cluster.server().create_database().unwrap();
    let barrier = std::sync::Barrier::new(2);
    let bouncers: Vec<PgBouncer> = std::thread::scope(|s| {
        let handles: Vec<_> = [PoolMode::Session, PoolMode::Transaction]
            .into_iter()
            .map(|mode| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    PgBouncer::start_with(
                        cluster,
                        PgBouncerOptions {
                            tcp: true,
                            ..PgBouncerOptions::new(mode)
                        },
                    )
                    .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_ne!(bouncers[0].dir(), bouncers[1].dir());
    assert_ne!(bouncers[0].tcp_port(), bouncers[1].tcp_port());
    for (bouncer, mode) in bouncers.iter().zip(["session", "transaction"]) {
        for config in [
            bouncer.config_for(db.name()),
            bouncer.tcp_config_for(db.name()).unwrap(),
            bouncer
                .tcp_url(db.name())
                .unwrap()
                .parse::<postgres::Config>()
                .unwrap(),
        ] {
            let name: String = config
                .connect(NoTls)
                .unwrap()
                .query_one("SELECT current_database()::text", &[])
                .unwrap()
                .get(0);
            assert_eq!(name, db.name());
        }
        let config = bouncer.show("CONFIG").unwrap();
        let pool_mode = config
            .iter()
            .find(|r| r["key"].as_deref() == Some("pool_mode"))
            .unwrap();
        assert_eq!(pool_mode["value"].as_deref(), Some(mode));
    }
    let pids: Vec<u32> = bouncers.iter().map(|b| b.pid().unwrap()).collect();
    drop(bouncers);
    for pid in pids {
        assert!(!alive(pid), "PgBouncer {pid} still running");
    }
}

#[test]
fn stopping_ends_the_process_and_removes_its_directory() {
    let cluster = TestCluster::shared().unwrap();
    let bouncer = PgBouncer::start(cluster, PoolMode::Transaction).unwrap();
    let (dir, pid) = (bouncer.dir().to_path_buf(), bouncer.pid().unwrap());
    let mut client = bouncer.connect("postgres").unwrap();
    assert!(alive(pid));
    bouncer.stop();
    assert_eq!(bouncer.pid(), None);
    assert!(!alive(pid), "PgBouncer {pid} still running");
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(client.simple_query("SELECT 1").is_err());
    bouncer.stop(); // idempotent
    drop(bouncer);
}

#[test]
fn admin_commands_other_than_one_word_are_refused_before_sending() {
    let cluster = TestCluster::shared().unwrap();
    let bouncer = PgBouncer::start(cluster, PoolMode::Session).unwrap();
    for what in ["POOLS; SHUTDOWN", "", "POOLS\n", "POOLS --"] {
        let err = bouncer.show(what).unwrap_err();
        assert!(matches!(err, Error::AdminCommandRefused { .. }), "{err}");
        assert!(err.to_string().contains("nothing was sent"), "{err}");
    }
    // Still running: nothing reached the console.
    let version = bouncer.show("VERSION").unwrap();
    assert!(
        version[0]["version"]
            .as_deref()
            .unwrap()
            .starts_with("PgBouncer"),
        "{version:?}"
    );
    let log = std::fs::read_to_string(bouncer.log_file()).unwrap();
    assert!(!log.contains("SHUTDOWN"), "{log}");
}

#[test]
fn refused_options_start_nothing() {
    let cluster = TestCluster::start().unwrap();
    let err = PgBouncer::start_with(&cluster, options(PoolMode::Transaction, 0)).unwrap_err();
    assert!(matches!(err, Error::PgBouncerOptionRefused { .. }), "{err}");
    let err = PgBouncer::start_with(
        &cluster,
        PgBouncerOptions {
            settings: vec![("auth_type".into(), "any".into())],
            ..PgBouncerOptions::new(PoolMode::Session)
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("auth_type"), "{err}");
    assert!(pooler_dirs(&cluster).is_empty());
    assert!(pgbouncers_under(cluster.root()).is_empty());
}

#[test]
fn a_pgbouncer_that_fails_to_start_shows_its_log_and_leaves_nothing() {
    let cluster = TestCluster::start().unwrap();
    let err = PgBouncer::start_with(
        &cluster,
        PgBouncerOptions {
            settings: vec![("query_wait_timeout".into(), "not-a-number".into())],
            ..PgBouncerOptions::new(PoolMode::Session)
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::PgBouncerStartFailed { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("query_wait_timeout"), "{msg}");
    assert!(msg.contains("pgbouncer.log"), "{msg}");
    assert!(pooler_dirs(&cluster).is_empty());
    assert!(pgbouncers_under(cluster.root()).is_empty());
}

#[test]
fn a_pgbouncer_not_ready_in_time_is_an_error_not_a_hang() {
    let cluster = TestCluster::start().unwrap();
    let err = PgBouncer::start_with(
        &cluster,
        PgBouncerOptions {
            ready_timeout: Duration::ZERO,
            ..PgBouncerOptions::new(PoolMode::Session)
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::PgBouncerNotReady { .. }), "{err}");
    assert!(pooler_dirs(&cluster).is_empty());
    assert!(pgbouncers_under(cluster.root()).is_empty());
}

#[test]
fn an_explicit_program_that_is_missing_is_named() {
    let cluster = TestCluster::shared().unwrap();
    let err = PgBouncer::start_with(
        cluster,
        PgBouncerOptions {
            program: Some(PathBuf::from("/nonexistent/pgbouncer")),
            ..PgBouncerOptions::new(PoolMode::Session)
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::PgBouncerNotFound { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/pgbouncer"), "{err}");
}

/// Re-runs one test of this binary in a child process with extra environment.
fn run_child(test: &str, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// What a child test printed (libtest may put it on either stream).
fn both(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn child_starts_a_pgbouncer_with_the_environment_it_is_given() {
    if std::env::var_os("WDH_TESTDB_TEST_CHILD_PGBOUNCER").is_none() {
        return;
    }
    let cluster = TestCluster::shared().unwrap();
    match PgBouncer::start(cluster, PoolMode::Session) {
        Ok(b) => println!("STARTED {}", b.pid().unwrap()),
        Err(e) => println!("ERROR {}", e.report()),
    }
}

#[test]
fn a_missing_pgbouncer_gives_the_documented_error() {
    let out = run_child(
        "child_starts_a_pgbouncer_with_the_environment_it_is_given",
        &[
            ("WDH_TESTDB_TEST_CHILD_PGBOUNCER", "1"),
            ("PGBOUNCER", "/nonexistent/sbin/pgbouncer"),
        ],
    );
    let text = both(&out);
    assert!(
        text.contains("ERROR PgBouncer (pgbouncer) not found"),
        "{text}"
    );
    assert!(text.contains("/nonexistent/sbin/pgbouncer"), "{text}");
    assert!(text.contains("scripts/setup"), "{text}");
}

#[test]
fn child_starts_a_pgbouncer_and_waits() {
    if std::env::var_os("WDH_TESTDB_TEST_CHILD_WAIT").is_none() {
        return;
    }
    let cluster = TestCluster::shared().unwrap();
    let bouncer = PgBouncer::start(cluster, PoolMode::Transaction).unwrap();
    println!("PID {} {}", bouncer.pid().unwrap(), bouncer.dir().display());
    // Never dropped: only the exit hook (or the watchdog) can stop it.
    std::mem::forget(bouncer);
    // Returns (and the process exits) once told to, unless killed first.
    let _ = std::io::stdin().read_line(&mut String::new());
}

/// A child process running `child_starts_a_pgbouncer_and_waits`.
struct ChildWithPgBouncer {
    process: std::process::Child,
    /// The PgBouncer it started, and its directory.
    pid: u32,
    dir: PathBuf,
    /// The rest of what it prints, read so that printing never fails.
    rest: std::thread::JoinHandle<String>,
}

fn spawn_child_with_a_pgbouncer() -> ChildWithPgBouncer {
    let mut process = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_starts_a_pgbouncer_and_waits",
            "--exact",
            "--nocapture",
        ])
        .env("WDH_TESTDB_TEST_CHILD_WAIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = process.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout)).map(|l| l.unwrap());
    let line = lines.by_ref().find(|l| l.contains("PID ")).unwrap();
    let mut parts = line.split("PID ").nth(1).unwrap().split_whitespace();
    let pid = parts.next().unwrap().parse().unwrap();
    let dir = PathBuf::from(parts.next().unwrap());
    let rest = std::thread::spawn(move || lines.collect::<Vec<_>>().join("\n"));
    ChildWithPgBouncer {
        process,
        pid,
        dir,
        rest,
    }
}

/// The watchdog processes guarding something in `dir`.
fn watchdogs_of(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains("wdh-testdb-watchdog") && cmdline.contains(&needle)
        })
        .collect()
}

fn send(pid: u32, signal: i32) {
    // SAFETY: signalling a process of this test's own process tree.
    unsafe { libc::kill(i32::try_from(pid).unwrap(), signal) };
}

#[test]
fn a_pgbouncer_never_dropped_is_stopped_when_the_process_exits() {
    let ChildWithPgBouncer {
        mut process,
        pid,
        dir,
        rest,
    } = spawn_child_with_a_pgbouncer();
    // Hold the watchdog still, so that only the exit hook can stop PgBouncer.
    let watchdogs = watchdogs_of(&dir);
    assert_eq!(watchdogs.len(), 1, "one watchdog per PgBouncer");
    send(watchdogs[0], libc::SIGSTOP);
    std::io::Write::write_all(&mut process.stdin.take().unwrap(), b"exit\n").unwrap();
    let status = process.wait().unwrap();
    let outlived = pgbouncers_under(&dir);
    let watchdog_left = watchdogs_of(&dir);
    // Clean up after a failure. (A stopped watchdog whose parent exits gets
    // SIGHUP, its process group being orphaned, so it cannot do it.)
    for pid in outlived.iter().chain(&watchdog_left) {
        send(*pid, libc::SIGKILL);
    }
    let rest = rest.join().unwrap();
    assert!(status.success(), "{rest}");
    assert!(outlived.is_empty(), "PgBouncer {pid} outlived its process");
    assert!(!alive(pid), "PgBouncer {pid} outlived its process");
    assert!(watchdog_left.is_empty(), "the watchdog was not dismissed");
}

#[test]
fn a_killed_process_leaves_no_pgbouncer_behind() {
    let ChildWithPgBouncer {
        mut process,
        pid,
        dir,
        rest,
    } = spawn_child_with_a_pgbouncer();
    assert!(alive(pid) && dir.exists());
    process.kill().unwrap();
    process.wait().unwrap();
    let _ = rest.join();
    assert!(
        wait_until(Duration::from_secs(15), || !alive(pid) && !dir.exists()),
        "PgBouncer {pid} in {} survived",
        dir.display()
    );
}
