//! The harness against real PostgreSQL clusters.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use wdh_testdb::{ClusterOptions, Error, TestCluster, TestDatabase, TestServer};

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

/// The word after `marker` in a child's output.
fn after(text: &str, marker: &str) -> Option<String> {
    text.split(marker)
        .nth(1)?
        .split_whitespace()
        .next()
        .map(str::to_string)
}

fn databases(server: &TestServer) -> BTreeSet<String> {
    let mut c = server.connect("postgres").unwrap();
    c.query("SELECT datname FROM pg_database", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn postmaster_pid(cluster: &TestCluster) -> i32 {
    let text = std::fs::read_to_string(cluster.root().join("data/postmaster.pid")).unwrap();
    text.lines().next().unwrap().trim().parse().unwrap()
}

fn alive(pid: i32) -> bool {
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

/// Inodes of the TCP sockets in the kernel tables.
fn tcp_socket_inodes() -> BTreeSet<String> {
    let mut inodes = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            if let Some(inode) = line.split_whitespace().nth(9) {
                inodes.insert(inode.to_string());
            }
        }
    }
    inodes
}

#[test]
fn cluster_runs_unprivileged_on_a_unix_socket_only() {
    let cluster = TestCluster::shared().unwrap();
    eprintln!(
        "cluster in {} ({})",
        cluster.root().display(),
        cluster.storage()
    );
    let db = cluster.server().create_database().unwrap();
    let mut c = db.connect().unwrap();
    let listen: String = c
        .query_one(
            "SELECT setting FROM pg_settings WHERE name = 'listen_addresses'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(listen, "");
    for (name, want) in [
        ("fsync", "off"),
        ("synchronous_commit", "off"),
        ("full_page_writes", "off"),
    ] {
        let got: String = c
            .query_one("SELECT setting FROM pg_settings WHERE name = $1", &[&name])
            .unwrap()
            .get(0);
        assert_eq!(got, want, "{name}");
    }
    // No socket of the server processes is a TCP socket.
    let pid = postmaster_pid(cluster);
    let tcp = tcp_socket_inodes();
    let mut pids = vec![pid];
    let backend: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    pids.push(backend);
    for p in pids {
        for fd in std::fs::read_dir(format!("/proc/{p}/fd"))
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
                assert!(!tcp.contains(inode), "process {p} holds TCP socket {inode}");
            }
        }
    }
    // When the tests run as root, the server does not.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert_ne!(uid, "0", "the server runs as root");
}

#[test]
fn a_name_without_the_prefix_is_refused_before_any_statement() {
    let cluster = TestCluster::start_with(ClusterOptions {
        settings: vec![("log_statement".into(), "all".into())],
        ..ClusterOptions::default()
    })
    .unwrap();
    for name in ["business", "postgres", "test_business", "wdh_testx"] {
        let err = cluster.server().create_database_named(name).unwrap_err();
        assert!(matches!(err, Error::NameRefused { .. }), "{name}: {err}");
        assert!(err.to_string().contains("wdh_test_"), "{err}");
        let err = cluster.server().drop_database(name).unwrap_err();
        assert!(matches!(err, Error::NameRefused { .. }), "{name}: {err}");
    }
    let log = std::fs::read_to_string(cluster.log_file()).unwrap();
    assert!(
        !log.contains("business"),
        "a statement reached the server:\n{log}"
    );
    assert!(!databases(cluster.server()).contains("business"));
}

#[test]
fn child_creates_a_database_then_panics() {
    let Ok(admin) = std::env::var("WDH_TESTDB_TEST_CHILD_ADMIN_URL") else {
        return;
    };
    let db = TestDatabase::on_admin_url(&admin).unwrap();
    println!("CREATED {}", db.name());
    panic!("the test body fails while holding {}", db.name());
}

#[test]
fn a_test_that_panics_leaves_no_database_behind() {
    let cluster = TestCluster::start().unwrap();
    let out = run_child(
        "child_creates_a_database_then_panics",
        &[("WDH_TESTDB_TEST_CHILD_ADMIN_URL", &cluster.url("postgres"))],
    );
    let stdout = both(&out);
    assert!(!out.status.success(), "the child test should fail");
    let name = after(&stdout, "CREATED ").unwrap_or_else(|| panic!("child said: {stdout}"));
    assert!(name.starts_with("wdh_test_"));
    let left: Vec<String> = databases(cluster.server())
        .into_iter()
        .filter(|d| d.starts_with("wdh_test_"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn twenty_databases_created_and_dropped_concurrently() {
    let cluster = TestCluster::start().unwrap();
    let names: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let server = cluster.server().clone();
                s.spawn(move || {
                    let db = server.create_database().unwrap();
                    let mut c = db.connect().unwrap();
                    c.batch_execute(&format!(
                        "CREATE TABLE t{i} (id int); INSERT INTO t{i} VALUES ({i})"
                    ))
                    .unwrap();
                    let n: i32 = c
                        .query_one(&format!("SELECT id FROM t{i}"), &[])
                        .unwrap()
                        .get(0);
                    assert_eq!(n, i);
                    db.name().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        names.iter().collect::<BTreeSet<_>>().len(),
        20,
        "names collide"
    );
    assert!(cluster.server().wait_for_drops(Duration::from_secs(60)));
    let left: Vec<String> = databases(cluster.server())
        .into_iter()
        .filter(|d| d.starts_with("wdh_test_"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn child_creates_a_database_and_waits_to_be_killed() {
    let Ok(admin) = std::env::var("WDH_TESTDB_TEST_CHILD_ADMIN_URL") else {
        return;
    };
    let db = TestDatabase::on_admin_url(&admin).unwrap();
    println!("CREATED {}", db.name());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn the_sweep_drops_leftovers_of_killed_runs_only() {
    let cluster = TestCluster::start().unwrap();
    let server = cluster.server();
    let mut admin = server.connect("postgres").unwrap();
    admin.batch_execute("CREATE DATABASE business").unwrap();
    admin
        .batch_execute("CREATE DATABASE wdh_test_tpl_manual")
        .unwrap();

    // A run killed with SIGKILL leaves its database behind.
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_creates_a_database_and_waits_to_be_killed",
            "--exact",
            "--nocapture",
        ])
        .env("WDH_TESTDB_TEST_CHILD_ADMIN_URL", cluster.url("postgres"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut name = String::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
        if let Some(n) = after(&line.unwrap(), "CREATED ") {
            name = n;
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        databases(server).contains(&name),
        "the killed run's database {name} should be left over"
    );

    let live = server.create_database().unwrap();
    let swept = server.sweep_stale().unwrap();
    assert_eq!(swept, vec![name.clone()]);
    let after = databases(server);
    assert!(!after.contains(&name));
    for kept in ["business", "wdh_test_tpl_manual", "postgres", live.name()] {
        assert!(after.contains(kept), "{kept} must survive the sweep");
    }
}

#[test]
fn child_opens_a_server_by_its_admin_url() {
    let Ok(admin) = std::env::var("WDH_TESTDB_TEST_CHILD_SWEEP_URL") else {
        return;
    };
    // The first use of an admin URL sweeps it; a failed sweep fails here.
    TestServer::from_admin_url(&admin).unwrap();
    println!("OPENED");
}

#[test]
fn the_sweep_skips_names_it_cannot_parse_and_goes_on() {
    let cluster = TestCluster::start().unwrap();
    let server = cluster.server();
    // This host's tag, as the harness writes it into its names.
    let probe = server.create_database().unwrap();
    let host = probe.name().split('_').nth(3).unwrap().to_string();
    // No process has an id above the kernel's largest pid_max (2^22).
    let dead = 4_194_305;
    let stale = format!("wdh_test_{dead}_{host}_0123456789ab");
    let unparsable = [
        format!("wdh_test_{dead}_{host}_0123456789AB"),
        format!("wdh_test_{dead}_{host}_01234567-9ab"),
        format!("wdh_test_{dead}_{host}_0123456789ab_x"),
        "wdh_test_kept by hand".to_string(),
    ];
    let mut admin = server.connect("postgres").unwrap();
    for name in unparsable.iter().chain([&stale]) {
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
    }

    let out = run_child(
        "child_opens_a_server_by_its_admin_url",
        &[("WDH_TESTDB_TEST_CHILD_SWEEP_URL", &cluster.url("postgres"))],
    );
    let text = both(&out);
    assert!(out.status.success() && text.contains("OPENED"), "{text}");
    for name in &unparsable {
        assert!(
            text.contains(&format!("the sweep skipped test database {name:?}")),
            "a log line names {name}: {text}"
        );
    }
    let after = databases(server);
    assert!(
        !after.contains(&stale),
        "the sweep went on and dropped {stale}"
    );
    for name in unparsable.iter().map(String::as_str).chain([probe.name()]) {
        assert!(after.contains(name), "{name} must survive the sweep");
    }
    assert_eq!(server.sweep_stale().unwrap(), Vec::<String>::new());
}

#[test]
fn child_starts_a_cluster_with_the_environment_it_is_given() {
    if std::env::var_os("WDH_TESTDB_TEST_CHILD_START").is_none() {
        return;
    }
    match TestCluster::start() {
        Ok(c) => println!("STARTED {}", c.binaries().bindir().display()),
        Err(e) => println!("ERROR {}", e.report()),
    }
}

#[test]
fn missing_binaries_give_the_documented_error() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().display().to_string();
    let out = run_child(
        "child_starts_a_cluster_with_the_environment_it_is_given",
        &[
            ("WDH_TESTDB_TEST_CHILD_START", "1"),
            ("PG_BINDIR", &dir),
            ("PATH", &dir),
        ],
    );
    let stdout = both(&out);
    let line = stdout
        .lines()
        .find(|l| l.contains("ERROR "))
        .unwrap_or_else(|| panic!("child said: {stdout}"));
    assert!(
        line.contains("PostgreSQL server binaries (initdb, postgres) not found"),
        "{line}"
    );
    assert!(line.contains(&dir), "{line}");
    assert!(stdout.contains("apt-get install postgresql"), "{stdout}");
}

#[test]
fn a_taken_socket_is_reported() {
    let first = TestCluster::start().unwrap();
    let err = TestCluster::start_with(ClusterOptions {
        socket_dir: Some(first.socket_dir().to_path_buf()),
        port: first.port(),
        ..ClusterOptions::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::SocketTaken { .. }), "{err}");
    assert!(err.to_string().contains(".s.PGSQL."), "{err}");
}

#[test]
fn a_server_that_fails_to_start_shows_its_log() {
    let err = TestCluster::start_with(ClusterOptions {
        settings: vec![("shared_buffers".into(), "not-a-size".into())],
        ..ClusterOptions::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::ServerStartFailed { .. }), "{err}");
    assert!(err.to_string().contains("shared_buffers"), "{err}");
}

#[test]
fn a_server_not_ready_in_time_is_an_error_not_a_hang() {
    let err = TestCluster::start_with(ClusterOptions {
        ready_timeout: Duration::ZERO,
        ..ClusterOptions::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::ServerNotReady { .. }), "{err}");
}

#[test]
fn stopping_removes_the_directory_and_the_server() {
    let cluster = TestCluster::start().unwrap();
    let (root, pid) = (cluster.root().to_path_buf(), postmaster_pid(&cluster));
    assert!(alive(pid));
    drop(cluster);
    assert!(!root.exists(), "{} left behind", root.display());
    assert!(
        wait_until(Duration::from_secs(5), || !alive(pid)),
        "server {pid} still running"
    );
}

#[test]
fn child_starts_a_cluster_and_waits_to_be_killed() {
    if std::env::var_os("WDH_TESTDB_TEST_CHILD_WAIT").is_none() {
        return;
    }
    let cluster = TestCluster::start().unwrap();
    println!(
        "ROOT {} {}",
        cluster.root().display(),
        postmaster_pid(&cluster)
    );
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_killed_process_leaves_no_cluster_behind() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_starts_a_cluster_and_waits_to_be_killed",
            "--exact",
            "--nocapture",
        ])
        .env("WDH_TESTDB_TEST_CHILD_WAIT", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map(|l| l.unwrap())
        .find(|l| l.contains("ROOT "))
        .unwrap();
    let mut parts = line.split("ROOT ").nth(1).unwrap().split_whitespace();
    let root = PathBuf::from(parts.next().unwrap());
    let pid: i32 = parts.next().unwrap().parse().unwrap();
    assert!(root.exists() && alive(pid));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || !root.exists() && !alive(pid)),
        "cluster {} (pid {pid}) survived",
        root.display()
    );
}

#[test]
fn cold_start_without_the_cache_works() {
    let cluster = TestCluster::start_with(ClusterOptions {
        use_init_cache: false,
        ..ClusterOptions::default()
    })
    .unwrap();
    let db = cluster.server().create_database().unwrap();
    let n: i32 = db
        .connect()
        .unwrap()
        .query_one("SELECT 41 + 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 42);
}

#[test]
fn database_urls_work_with_psql() {
    let db = TestDatabase::new().unwrap();
    let psql = TestCluster::shared().unwrap().binaries().bin("psql");
    let out = Command::new(psql)
        .arg(db.url())
        .args(["-XAtc", "SELECT current_database()"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        db.name(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
