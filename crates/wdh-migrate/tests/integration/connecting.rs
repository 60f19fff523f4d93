//! Connecting as libpq does, against real servers: a password from
//! `PGPASSWORD` or the password file (never printed), a limit on every wait
//! (a server silent at login, a connection silent in the middle of a run),
//! TCP keepalives, `application_name`, several hosts and
//! `target_session_attrs`, and writing refused on a streaming standby or a
//! read-only session before any statement.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use wdh_migrate_core::runner::{RunError, RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{ClusterOptions, Proxy, Tcp, TestCluster, TestDatabase};

use crate::support::*;

/// The password of the role `app` on [`password_cluster`]: a `:` and a `\`
/// for the password file's escapes, and in every 3 characters one that
/// nothing else prints, so that any fragment of it found is a leak.
const RIGHT: &str = "ß:rЖ\\sé漢t€";
/// A wrong one, as recognisable.
const WRONG: &str = "Жwr€on😀g";

/// Slack for a process to start, connect and print, on a busy machine.
const SLACK: Duration = Duration::from_secs(4);

/// Every 3-character window of `secret` that `text` shows.
fn leaks(secret: &str, text: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(3)
        .map(|w| w.iter().collect::<String>())
        .filter(|f| text.contains(f.as_str()))
        .collect()
}

fn assert_hidden(secret: &str, text: &str) {
    let found = leaks(secret, text);
    assert!(found.is_empty(), "shows {found:?} of the password:\n{text}");
}

/// A cluster on 127.0.0.1 and its socket that asks every role but
/// `postgres` for a password, with a role `app`.
fn password_cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let cluster = TestCluster::start_with(ClusterOptions {
            tcp: Some(Tcp::Plain),
            hba: Some(
                "local all postgres trust\nlocal all all scram-sha-256\n\
                 host all all 127.0.0.1/32 scram-sha-256\n"
                    .into(),
            ),
            ..Default::default()
        })
        .unwrap();
        let mut admin = cluster.server().connect("postgres").unwrap();
        admin
            .batch_execute(&format!(
                "CREATE ROLE app LOGIN PASSWORD '{}'",
                RIGHT.replace('\'', "''")
            ))
            .unwrap();
        cluster
    })
}

/// A cluster on 127.0.0.1 with trust authentication.
fn tcp_cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        TestCluster::start_with(ClusterOptions {
            tcp: Some(Tcp::Plain),
            ..Default::default()
        })
        .unwrap()
    })
}

/// A primary and its streaming standby; the standby logs every statement
/// with the client's `application_name` first.
fn replicated() -> &'static (TestCluster, TestCluster) {
    static PAIR: OnceLock<(TestCluster, TestCluster)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let primary = TestCluster::start_with(ClusterOptions {
            replication: true,
            ..Default::default()
        })
        .unwrap();
        let standby = TestCluster::start_standby(
            &primary,
            ClusterOptions {
                settings: vec![
                    ("log_statement".into(), "all".into()),
                    ("log_line_prefix".into(), "%a|%d|".into()),
                ],
                ..Default::default()
            },
        )
        .unwrap();
        (primary, standby)
    })
}

/// A database on the primary, replayed on the standby.
fn replicated_db() -> TestDatabase {
    let (primary, standby) = replicated();
    let db = primary.server().create_database().unwrap();
    primary
        .wait_for_standby(standby, Duration::from_secs(30))
        .unwrap();
    db
}

/// A password file holding `text`, with `mode`.
fn passfile(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// `RIGHT` as a password file writes it.
fn escaped(password: &str) -> String {
    password.replace('\\', "\\\\").replace(':', "\\:")
}

/// A port on 127.0.0.1 that nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A database on `cluster` that the role `app` owns.
fn app_db(cluster: &TestCluster) -> TestDatabase {
    let db = cluster.server().create_database().unwrap();
    cluster
        .server()
        .connect("postgres")
        .unwrap()
        .batch_execute(&format!("ALTER DATABASE {} OWNER TO app", db.name()))
        .unwrap();
    db
}

fn status(url: &str) -> Wdh {
    wdh(&["status"]).url(url).migrations(&bundled_dir())
}

#[test]
fn pgpassword_gives_the_password_the_url_lacks_and_never_shows() {
    let cluster = password_cluster();
    let db = app_db(cluster);
    let port = cluster.tcp_port().unwrap();
    let url = format!("postgresql://app@127.0.0.1:{port}/{}", db.name());
    let ok = status(&url).env("PGPASSWORD", RIGHT).run();
    ok.expect(0, &["(from --database-url; password from PGPASSWORD)"]);
    let wrong = status(&url).env("PGPASSWORD", WRONG).run();
    wrong.expect(
        1,
        &[
            &format!("127.0.0.1:{port}: "),
            "password authentication failed for user \"app\"",
            "(the password came from PGPASSWORD)",
        ],
    );
    // The string's own password wins over the variable.
    let own = format!(
        "host=127.0.0.1 port={port} user=app dbname={} password='{}'",
        db.name(),
        RIGHT.replace('\\', "\\\\")
    );
    status(&own).env("PGPASSWORD", WRONG).run().expect(0, &[]);
    // Nothing shows either password: a verbose run, JSON, a failure.
    let verbose = wdh(&["-vvv", "--json", "status"])
        .url(&url)
        .migrations(&bundled_dir())
        .env("PGPASSWORD", RIGHT)
        .run();
    assert_eq!(verbose.code, 0, "{}", verbose.all());
    let refused = wdh(&["downgrade", "base"])
        .url(&format!("postgresql://app@127.0.0.1:{port}/prod_orders"))
        .migrations(&bundled_dir())
        .env("PGPASSWORD", RIGHT)
        .run();
    assert_eq!(refused.code, 3, "{}", refused.all());
    for run in [&ok, &wrong, &verbose, &refused] {
        assert_hidden(RIGHT, &run.all());
        assert_hidden(WRONG, &run.all());
    }
}

#[test]
fn the_password_file_is_read_as_libpq_reads_it() {
    let cluster = password_cluster();
    let db = app_db(cluster);
    let name = db.name();
    let port = cluster.tcp_port().unwrap();
    let socket = cluster.socket_dir().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let pw = escaped(RIGHT);
    // Comments, a line for another port, another database, a literal `db*`
    // host; then the line that matches (a wildcard host); then one that
    // would match too, but comes later.
    let file = passfile(
        dir.path(),
        "pgpass",
        &format!(
            "# 127.0.0.1:{port}:{name}:app:{WRONG}\n\
             127.0.0.1:1:*:app:{WRONG}\n\
             127.0.0.1:{port}:other_db:app:{WRONG}\n\
             db*:*:*:*:{WRONG}\n\
             *:{port}:{name}:app:{pw}\n\
             *:*:*:*:{WRONG}\n\
             {}:{port}:{name}:app:{pw}\n",
            socket.replace(':', "\\:")
        ),
        0o600,
    );
    let tcp = format!("postgresql://app@127.0.0.1:{port}/{name}");
    let file_text = file.display().to_string();
    let run = status(&tcp).env("PGPASSFILE", &file_text).run();
    run.expect(0, &[&format!("password from {file_text} line 5)")]);
    // Over the unix socket the socket directory is the host field: the
    // wildcard line 5 matches before the socket's own line 7.
    let unix = format!("host={socket} port={port} user=app dbname={name}");
    status(&unix)
        .env("PGPASSFILE", &file_text)
        .run()
        .expect(0, &["line 5)"]);

    // `passfile` in the string wins over PGPASSFILE.
    let other = passfile(dir.path(), "mine", &format!("*:*:*:app:{pw}\n"), 0o600);
    let bad = passfile(dir.path(), "bad", &format!("*:*:*:app:{WRONG}\n"), 0o600);
    let with_passfile = format!("{tcp}?passfile={}", other.display());
    status(&with_passfile)
        .env("PGPASSFILE", bad.display().to_string().as_str())
        .run()
        .expect(0, &[&format!("password from {} line 1)", other.display())]);

    // ~/.pgpass when PGPASSFILE is not set.
    let home = tempfile::tempdir().unwrap();
    passfile(home.path(), ".pgpass", &format!("*:*:*:app:{pw}\n"), 0o600);
    let mut cmd = status(&tcp).cwd(home.path()).command();
    cmd.env_remove("PGPASSFILE").env("HOME", home.path());
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("/.pgpass line 1)"), "{stderr}");

    // No line matches: nothing is sent, and the error says what was looked for.
    let none = passfile(dir.path(), "none", &format!("*:*:*:other:{pw}\n"), 0o600);
    let run_none = status(&tcp)
        .env("PGPASSFILE", none.display().to_string().as_str())
        .run();
    run_none.expect(
        1,
        &[&format!(
            "no password was sent: PGPASSFILE has no line for 127.0.0.1:{port}:{name}:app"
        )],
    );

    // A file its group or others may read is ignored, with libpq's warning.
    let open = passfile(dir.path(), "open", &format!("*:*:*:*:{pw}\n"), 0o644);
    let run_open = status(&tcp)
        .env("PGPASSFILE", open.display().to_string().as_str())
        .run();
    run_open.expect(
        1,
        &[
            &format!(
                "warning: password file \"{}\" has group or world access",
                open.display()
            ),
            "chmod 600",
            "no password was sent",
        ],
    );
    for r in [&run, &run_none, &run_open] {
        assert_hidden(RIGHT, &r.all());
        assert_hidden(WRONG, &r.all());
    }
}

#[test]
fn a_server_silent_at_login_fails_within_the_connect_timeout() {
    let cluster = tcp_cluster();
    let proxy = Proxy::in_front_of(cluster).unwrap();
    proxy.stall();
    let url = format!(
        "postgresql://postgres@127.0.0.1:{}/wdh_test_silent?connect_timeout=2",
        proxy.port()
    );
    let started = Instant::now();
    let run = status(&url).run();
    let took = started.elapsed();
    run.expect(
        1,
        &[
            &format!(
                "127.0.0.1:{}: no answer within the connect timeout (2 s)",
                proxy.port()
            ),
            "authentication and the first query all count",
        ],
    );
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert!(took < Duration::from_secs(2) + SLACK, "{took:?}");
    assert!(proxy.connections() >= 1);

    // The library's own default applies when the string sets none.
    let target = Target::parse(
        &format!(
            "postgresql://postgres@127.0.0.1:{}/wdh_test_silent",
            proxy.port()
        ),
        Source::Explicit,
    )
    .unwrap();
    let runner = Runner::new(
        &target,
        RunOptions {
            connect_timeout: Duration::from_secs(2),
            ..RunOptions::default()
        },
    );
    let started = Instant::now();
    let e = runner.connect().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2) + SLACK);
    assert!(matches!(e, RunError::Connect { .. }), "{e}");
}

#[test]
fn a_connection_silent_mid_run_names_the_migration_whose_outcome_is_unknown() {
    let cluster = tcp_cluster();
    let db = cluster.server().create_database().unwrap();
    let proxy = Proxy::in_front_of(cluster).unwrap();
    let dir = folder(&[
        ("0001_a/up.sql", "CREATE TABLE a (id int);"),
        ("0001_a/down.sql", "DROP TABLE a;"),
        (
            "0002_b/up.sql",
            "-- wdh-stall-here\nCREATE TABLE b (id int);",
        ),
        ("0002_b/down.sql", "DROP TABLE b;"),
    ]);
    proxy.stall_after(b"wdh-stall-here");
    let url = format!(
        "postgresql://postgres@127.0.0.1:{}/{}?connect_timeout=2",
        proxy.port(),
        db.name()
    );
    let started = Instant::now();
    let run = wdh(&["upgrade", "--statement-timeout", "1s"])
        .url(&url)
        .migrations(dir.path())
        .run();
    let took = started.elapsed();
    run.expect(
        1,
        &[
            &format!("the server at 127.0.0.1:{} sent no answer", proxy.port()),
            "while migration 0002_b (up) ran, longer than its statement timeout allows",
            "Its outcome is UNKNOWN: it may have committed on the server",
            "Run `wdh-migrate status` before anything else",
            "1 migration of this run completed before it: 0001_a",
        ],
    );
    // Within the statement timeout plus the connect timeout, and a margin.
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(took < Duration::from_secs(3) + SLACK, "{took:?}");
    assert_eq!(proxy.stalled_after(), 1);
    // The server did get it, and committed it: status (directly) says so.
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    let direct = wdh(&["status"]).db(&db).migrations(dir.path()).run();
    direct.expect(0, &[]);
    assert!(
        direct.stdout.contains("2 applied, 0 pending"),
        "{}",
        direct.stdout
    );
}

#[test]
fn a_connection_silent_in_wdh_migrates_own_statements_is_given_up() {
    let cluster = tcp_cluster();
    let db = cluster.server().create_database().unwrap();
    wdh(&["upgrade"])
        .db(&db)
        .migrations(&bundled_dir())
        .run()
        .expect(0, &[]);
    let proxy = Proxy::in_front_of(cluster).unwrap();
    // The ledger's read, which only `status` sends.
    proxy.stall_after(b"\"statements_done\", \"statements_total\", \"state\"");
    let url = format!(
        "postgresql://postgres@127.0.0.1:{}/{}?connect_timeout=2",
        proxy.port(),
        db.name()
    );
    let before = snapshot(&db);
    let started = Instant::now();
    let run = status(&url).run();
    run.expect(
        1,
        &[
            &format!(
                "database `{}`: the server at 127.0.0.1:{} sent no answer for ",
                db.name(),
                proxy.port()
            ),
            " s while reading the ledger; the connection was given up",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(2) + SLACK);
    assert_eq!(snapshot(&db), before);
}

/// The TCP sockets of this process connected to `port` on 127.0.0.1.
fn sockets_to(port: u16) -> Vec<i32> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let remote = fields.get(2)?;
            let remote_port = u16::from_str_radix(remote.split(':').nth(1)?, 16).ok()?;
            (remote_port == port && fields.get(3) == Some(&"01")).then(|| fields[9].to_string())
        })
        .collect();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let link = std::fs::read_link(entry.path()).ok()?;
            let link = link.to_string_lossy();
            let inode = link.strip_prefix("socket:[")?.strip_suffix(']')?;
            inodes
                .iter()
                .any(|i| i == inode)
                .then(|| entry.file_name().to_string_lossy().parse().ok())?
        })
        .collect()
}

fn sockopt(fd: i32, level: i32, name: i32) -> i32 {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for the call; `fd` is a socket of
    // this process.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "getsockopt");
    value
}

/// Keepalive idle, interval, count, and the user timeout of the one
/// socket connected to `port`; none when keepalives are off.
fn keepalives(port: u16) -> Option<(i32, i32, i32, i32)> {
    let fds = sockets_to(port);
    assert_eq!(fds.len(), 1, "{fds:?}");
    let fd = fds[0];
    if sockopt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE) == 0 {
        return None;
    }
    Some((
        sockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE),
        sockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL),
        sockopt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT),
        sockopt(fd, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT),
    ))
}

#[test]
fn tcp_keepalives_are_on_with_libpqs_settings() {
    // A cluster of its own: every TCP socket of this process to its port
    // is the one this test opens.
    let cluster = TestCluster::start_with(ClusterOptions {
        tcp: Some(Tcp::Plain),
        ..Default::default()
    })
    .unwrap();
    let port = cluster.tcp_port().unwrap();
    for (query, want) in [
        ("", Some((30, 10, 3, 60_000))),
        (
            "?keepalives_idle=7&keepalives_interval=2&keepalives_count=5&tcp_user_timeout=1500",
            Some((7, 2, 5, 1500)),
        ),
        ("?keepalives=0", None),
    ] {
        let target = Target::parse(
            &format!("postgresql://postgres@127.0.0.1:{port}/postgres{query}"),
            Source::Explicit,
        )
        .unwrap();
        let runner = Runner::new(&target, RunOptions::default());
        let connected = runner.connect().unwrap();
        assert_eq!(keepalives(port), want, "{query}");
        // The server sees its peer's keepalives as TCP traffic only; what
        // it reports is the client's address, on loopback.
        assert_eq!(connected.identity().server_port, Some(i32::from(port)));
        drop(connected);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !sockets_to(port).is_empty() {
            assert!(Instant::now() < deadline, "the connection stays open");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn application_name_is_wdh_migrate_unless_the_string_sets_one() {
    let db = db();
    let socket = TestCluster::shared()
        .unwrap()
        .socket_dir()
        .display()
        .to_string();
    for (extra, want) in [
        ("", "wdh-migrate"),
        (" application_name=deploy-42", "deploy-42"),
        (" fallback_application_name=ci", "ci"),
        (
            " application_name=deploy-42 fallback_application_name=ci",
            "deploy-42",
        ),
    ] {
        let target = Target::parse(
            &format!("host={socket} user=postgres dbname={}{extra}", db.name()),
            Source::Explicit,
        )
        .unwrap();
        let connected = Runner::new(&target, RunOptions::default())
            .connect()
            .unwrap();
        let pid = connected.identity().backend_pid;
        let name: String = query_one(
            &db,
            &format!("SELECT application_name FROM pg_stat_activity WHERE pid = {pid}"),
        );
        assert_eq!(name, want, "{extra}");
    }
}

#[test]
fn the_first_host_that_answers_is_the_one_judged() {
    let cluster = tcp_cluster();
    let db = cluster.server().create_database().unwrap();
    let port = cluster.tcp_port().unwrap();
    let down = closed_port();
    let url = format!(
        "host=127.0.0.1,127.0.0.1 port={down},{port} user=postgres dbname={}",
        db.name()
    );
    let run = status(&url).run();
    run.expect(0, &[]);
    assert!(
        run.stdout
            .starts_with(&format!("database `{}` on 127.0.0.1:{port} ", db.name())),
        "{}",
        run.stdout
    );
    // A first host that accepts and then says nothing costs its connect
    // timeout, then the next one is used.
    let proxy = Proxy::in_front_of(cluster).unwrap();
    proxy.stall();
    let url = format!(
        "postgresql://postgres@127.0.0.1:{},127.0.0.1:{port}/{}?connect_timeout=2",
        proxy.port(),
        db.name()
    );
    let started = Instant::now();
    wdh(&["upgrade"])
        .url(&url)
        .migrations(&bundled_dir())
        .run()
        .expect(0, &[]);
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert!(!applied_versions(&db).is_empty());
    // None answers: each is named with its reason.
    let url = format!(
        "postgresql://postgres@127.0.0.1:{down},127.0.0.1:{}/{}?connect_timeout=2",
        proxy.port(),
        db.name()
    );
    status(&url).run().expect(
        1,
        &[
            "no host could be used (tried 2):",
            &format!("\n  127.0.0.1:{down}: "),
            &format!(
                "\n  127.0.0.1:{}: no answer within the connect timeout",
                proxy.port()
            ),
        ],
    );
}

/// The standby's log lines of statements that wdh-migrate sent to
/// `database`.
fn statements_logged_on_standby(database: &str) -> Vec<String> {
    let (_, standby) = replicated();
    let prefix = format!("wdh-migrate|{database}|");
    std::fs::read_to_string(standby.log_file())
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&prefix) && l.contains("statement:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn writing_commands_are_refused_on_a_standby_before_any_statement() {
    let (primary, standby) = replicated();
    let db = replicated_db();
    let on_primary = primary.url(db.name());
    wdh(&["upgrade", "0001"])
        .url(&on_primary)
        .migrations(&bundled_dir())
        .run()
        .expect(0, &[]);
    primary
        .wait_for_standby(standby, Duration::from_secs(30))
        .unwrap();
    let before = snapshot(&db);
    let logged = statements_logged_on_standby(db.name()).len();
    let url = standby.url(db.name());
    let cases: [&[&str]; 9] = [
        &["upgrade"],
        &["downgrade", "base"],
        &["mark", "dev"],
        &["mark", "production", "--locked"],
        &["upgrade", "--json"],
        &["downgrade", "-1", "--retry-failed"],
        &["adopt"],
        &["adopt", "--from", "sqlx"],
        &["baseline", "0001"],
    ];
    for args in cases {
        let run = wdh(args).url(&url).migrations(&bundled_dir()).run();
        run.expect(
            3,
            &[
                &format!("database `{}` on ", db.name()),
                "the server is a hot standby (pg_is_in_recovery() is true), which accepts reads only",
                "nothing was sent to it",
                "A primary is needed",
                "target_session_attrs=read-write",
            ],
        );
    }
    // Each run sent the read of its live facts, and nothing else.
    let sent = statements_logged_on_standby(db.name());
    assert_eq!(sent.len() - logged, cases.len(), "{sent:#?}");
    assert!(
        sent[logged..]
            .iter()
            .all(|l| l.contains("pg_catalog.current_database()")),
        "{sent:#?}"
    );
    assert_eq!(snapshot(&db), before);
    // A dry run shows the plan, and says it would be refused.
    let dry = wdh(&["upgrade", "--dry-run"])
        .url(&url)
        .migrations(&bundled_dir())
        .run();
    dry.expect(0, &[]);
    assert!(
        dry.stdout.contains("-- guard: would be refused: database"),
        "{}",
        dry.stdout
    );
}

#[test]
fn reading_commands_work_on_a_standby_and_say_so() {
    let (primary, standby) = replicated();
    let db = replicated_db();
    wdh(&["upgrade"])
        .url(&primary.url(db.name()))
        .migrations(&bundled_dir())
        .run()
        .expect(0, &[]);
    primary
        .wait_for_standby(standby, Duration::from_secs(30))
        .unwrap();
    let url = standby.url(db.name());
    let run = status(&url).run();
    run.expect(0, &[]);
    assert!(
        run.stdout.contains(", a hot standby (read-only): at "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("read-only: the server is a hot standby")
            && run
                .stdout
                .contains("upgrade, downgrade and mark need a primary"),
        "{}",
        run.stdout
    );
    let head = applied_versions(&db).last().cloned().unwrap();
    for args in [&["current"][..], &["history"]] {
        let r = wdh(args).url(&url).migrations(&bundled_dir()).run();
        r.expect(0, &["note: the server is a hot standby"]);
        assert!(r.stdout.contains(&head), "{}", r.stdout);
    }
    for args in [
        &["--json", "status"][..],
        &["--json", "current"],
        &["--json", "history"],
    ] {
        let r = wdh(args).url(&url).migrations(&bundled_dir()).run();
        assert_eq!(r.code, 0, "{}", r.all());
        let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        let standby = doc
            .pointer("/identity/standby")
            .or_else(|| doc.get("standby"))
            .cloned();
        assert_eq!(standby, Some(serde_json::Value::Bool(true)), "{}", r.stdout);
    }
}

#[test]
fn target_session_attrs_chooses_among_a_primary_and_its_standby() {
    let (primary, standby) = replicated();
    let db = replicated_db();
    let hosts = format!(
        "host={},{} port={},{}",
        standby.socket_dir().display(),
        primary.socket_dir().display(),
        standby.port(),
        primary.port()
    );
    let kv = |attrs: &str| {
        format!(
            "{hosts} user=postgres dbname={} target_session_attrs={attrs}",
            db.name()
        )
    };
    // read-write skips the standby listed first; the upgrade runs on the primary.
    wdh(&["upgrade"])
        .url(&kv("read-write"))
        .migrations(&bundled_dir())
        .run()
        .expect(0, &[]);
    assert!(!applied_versions(&db).is_empty());
    for attrs in ["primary", "read-write"] {
        let r = status(&kv(attrs)).run();
        r.expect(0, &[]);
        assert!(!r.stdout.contains("hot standby"), "{attrs}: {}", r.stdout);
    }
    for attrs in ["standby", "read-only", "prefer-standby", "any"] {
        let r = status(&kv(attrs)).run();
        r.expect(0, &[]);
        assert!(r.stdout.contains("hot standby"), "{attrs}: {}", r.stdout);
    }
    // Only the standby, and a primary asked for: each host's reason.
    let only_standby = format!(
        "host={} port={} user=postgres dbname={} target_session_attrs=primary",
        standby.socket_dir().display(),
        standby.port(),
        db.name()
    );
    status(&only_standby).run().expect(
        1,
        &["it is a hot standby (in recovery: read-only), and target_session_attrs=primary asks for a primary"],
    );
    // Only the primary: prefer-standby takes it; standby refuses it.
    let only_primary = |attrs: &str| {
        format!(
            "host={} port={} user=postgres dbname={} target_session_attrs={attrs}",
            primary.socket_dir().display(),
            primary.port(),
            db.name()
        )
    };
    status(&only_primary("prefer-standby")).run().expect(0, &[]);
    status(&only_primary("standby")).run().expect(
        1,
        &["it is a primary whose session accepts writes, and target_session_attrs=standby asks for a standby"],
    );
}

#[test]
fn a_read_only_session_is_refused_for_writing_like_a_standby() {
    let cluster = TestCluster::shared().unwrap();
    let db = db();
    let mut admin = cluster.server().connect(db.name()).unwrap();
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'wdh_reader') THEN \
             CREATE ROLE wdh_reader LOGIN; END IF; END $$; \
             ALTER ROLE wdh_reader SET default_transaction_read_only = on; \
             GRANT CREATE ON DATABASE {} TO wdh_reader",
            db.name()
        ))
        .unwrap();
    let socket = cluster.socket_dir().display().to_string();
    let before = snapshot(&db);
    let urls = [
        // The role's setting, and the connection string's.
        format!("host={socket} user=wdh_reader dbname={}", db.name()),
        format!(
            "host={socket} user=postgres dbname={} options='-c default_transaction_read_only=on'",
            db.name()
        ),
    ];
    for url in &urls {
        for args in [&["upgrade"][..], &["downgrade", "base"], &["mark", "test"]] {
            let run = wdh(args).url(url).migrations(&bundled_dir()).run();
            run.expect(
                3,
                &[
                    "the session is read-only (transaction_read_only is on: \
                     default_transaction_read_only is on for this role, database, server or connection)",
                    "nothing was sent to it",
                    "target_session_attrs=read-write",
                ],
            );
        }
        let run = status(url).run();
        run.expect(0, &[]);
        assert!(
            run.stdout.contains(", read-only session: at "),
            "{}",
            run.stdout
        );
        // With target_session_attrs=read-write it is no host to use.
        status(&format!("{url} target_session_attrs=read-write"))
            .run()
            .expect(
                1,
                &[
                    "its session is read-only (default_transaction_read_only is on), and \
                   target_session_attrs=read-write asks for a session that accepts writes",
                ],
            );
    }
    // No ledger was created, no audit row written.
    assert_eq!(snapshot(&db), before);
    assert!(audit(&db).is_empty());

    // The database's own setting.
    let ro = crate::support::db();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {} SET default_transaction_read_only = on",
            ro.name()
        ))
        .unwrap();
    let before = snapshot(&ro);
    wdh(&["upgrade"])
        .db(&ro)
        .migrations(&bundled_dir())
        .run()
        .expect(3, &["the session is read-only", "nothing was sent to it"]);
    assert_eq!(snapshot(&ro), before);
}

#[test]
fn a_service_entry_is_refused_with_how_to_write_the_target() {
    for url in [
        "service=prod dbname=orders",
        "postgresql://db1/orders?service=prod",
    ] {
        let run = wdh(&["--print-target", "status"]).url(url).run();
        run.expect(
            2,
            &[
                "the setting `service` names an entry of a service file (pg_service.conf)",
                "write the entry's settings into the string instead (host=… port=… dbname=… user=…)",
            ],
        );
    }
}
