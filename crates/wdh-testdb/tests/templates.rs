//! Migrated test databases from templates, against real clusters.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use wdh_migrate_core::migrations::MigrationSet;
use wdh_testdb::{template_name, Error, TestCluster, TestDatabase, TestServer};

fn bundled() -> MigrationSet {
    MigrationSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")).unwrap()
}

/// A one-table set; `variant` changes its checksum.
fn small_set(variant: &str) -> (tempfile::TempDir, MigrationSet) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("0001_t")).unwrap();
    std::fs::write(
        dir.path().join("0001_t/up.sql"),
        format!("CREATE TABLE t (id int); -- {variant}"),
    )
    .unwrap();
    std::fs::write(dir.path().join("0001_t/down.sql"), "DROP TABLE t;").unwrap();
    let set = MigrationSet::load(dir.path()).unwrap();
    (dir, set)
}

fn databases(server: &TestServer) -> BTreeSet<String> {
    let mut c = server.connect("postgres").unwrap();
    c.query("SELECT datname FROM pg_database", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn both(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_migrated_database_is_at_head_with_its_ledger() {
    let db = TestDatabase::migrated(&bundled()).unwrap();
    let mut c = db.connect().unwrap();
    let applied: i64 = c
        .query_one("SELECT count(*) FROM wdh_migrate.applied", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, 10);
    let rows: i64 = c
        .query_one("SELECT count(*) FROM business.annuity_performance", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    // Each test gets its own copy.
    c.batch_execute("INSERT INTO mapping.product_line VALUES ('X', 'x')")
        .unwrap();
    let other = TestDatabase::migrated(&bundled()).unwrap();
    let n: i64 = other
        .connect()
        .unwrap()
        .query_one("SELECT count(*) FROM mapping.product_line", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

#[test]
fn the_template_is_built_once_when_threads_ask_at_once() {
    let cluster = TestCluster::start().unwrap();
    let server = cluster.server();
    server.set_pool_size(0);
    let set = bundled();
    let names: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| server.create_migrated(&set).unwrap().name().to_string()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), 6);
    let templates: Vec<String> = databases(server)
        .into_iter()
        .filter(|d| d.starts_with("wdh_test_tpl_"))
        .collect();
    assert_eq!(templates, [template_name(&set)]);
    let mut c = server.connect("postgres").unwrap();
    let (is_template, allow): (bool, bool) = c
        .query_one(
            "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1",
            &[&template_name(&set)],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert!(
        is_template && !allow,
        "the template is sealed: no connection can block a clone"
    );
}

#[test]
fn child_uses_a_template_on_the_given_server() {
    let (Ok(admin), Ok(dir)) = (
        std::env::var("WDH_TESTDB_TEST_ADMIN"),
        std::env::var("WDH_TESTDB_TEST_SET"),
    ) else {
        return;
    };
    let set = MigrationSet::load(Path::new(&dir)).unwrap();
    let server = TestServer::from_admin_url(&admin).unwrap();
    let db = server.create_migrated(&set).unwrap();
    let n: i64 = db
        .connect()
        .unwrap()
        .query_one("SELECT count(*) FROM wdh_migrate.applied", &[])
        .unwrap()
        .get(0);
    println!("MIGRATED {} {n}", db.name());
}

fn child(admin: &str, set_dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "child_uses_a_template_on_the_given_server",
            "--exact",
            "--nocapture",
        ])
        .env("WDH_TESTDB_TEST_ADMIN", admin)
        .env("WDH_TESTDB_TEST_SET", set_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn processes_asking_at_once_share_one_template_and_leave_no_clones_behind() {
    let cluster = TestCluster::start().unwrap();
    let (dir, set) = small_set("a");
    let children: Vec<_> = (0..4)
        .map(|_| child(&cluster.url("postgres"), dir.path()))
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", both(&out));
        assert!(
            both(&out).contains("MIGRATED wdh_test_") && both(&out).contains(" 1\n"),
            "{}",
            both(&out)
        );
    }
    let left = databases(cluster.server());
    let templates: Vec<&String> = left
        .iter()
        .filter(|d| d.starts_with("wdh_test_tpl_"))
        .collect();
    assert_eq!(templates, [&template_name(&set)]);
    let clones: Vec<&String> = left
        .iter()
        .filter(|d| d.starts_with("wdh_test_") && !d.starts_with("wdh_test_tpl_"))
        .collect();
    assert!(
        clones.is_empty(),
        "clones and pooled clones are dropped at exit: {clones:?}"
    );

    // The set changes: a new template, and the old one (no longer used by a
    // live process) is swept.
    let (dir_b, set_b) = small_set("b");
    let out = child(&cluster.url("postgres"), dir_b.path())
        .wait_with_output()
        .unwrap();
    assert!(out.status.success(), "{}", both(&out));
    let templates: Vec<String> = databases(cluster.server())
        .into_iter()
        .filter(|d| d.starts_with("wdh_test_tpl_"))
        .collect();
    assert_eq!(templates, [template_name(&set_b)]);
}

#[test]
fn a_template_held_by_a_connection_gives_a_clear_error() {
    let cluster = TestCluster::start().unwrap();
    let server = cluster.server();
    server.set_pool_size(0);
    let (_dir, set) = small_set("held");
    let tpl = server.template(&set).unwrap();
    let mut admin = server.connect("postgres").unwrap();
    admin
        .batch_execute(&format!(
            "ALTER DATABASE \"{tpl}\" WITH ALLOW_CONNECTIONS true"
        ))
        .unwrap();
    let _holder = server.connect(&tpl).unwrap();
    let started = Instant::now();
    let err = server.create_migrated(&set).unwrap_err();
    assert!(matches!(err, Error::TemplateInUse { .. }), "{err}");
    assert!(
        err.to_string().contains(&tpl) && err.to_string().contains("close them"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_failing_set_gives_a_template_build_error_and_leaves_no_template() {
    let cluster = TestCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("0001_bad")).unwrap();
    std::fs::write(
        dir.path().join("0001_bad/up.sql"),
        "CREATE TABLE t (id int); SELECT 1/0;",
    )
    .unwrap();
    let set = MigrationSet::load(dir.path()).unwrap();
    let err = cluster.server().create_migrated(&set).unwrap_err();
    assert!(matches!(err, Error::TemplateBuild { .. }), "{err}");
    assert!(
        err.report().contains("division by zero"),
        "{}",
        err.report()
    );
    assert!(!databases(cluster.server())
        .iter()
        .any(|d| d.starts_with("wdh_test_tpl_")));
}

#[test]
fn the_pool_hands_out_ready_clones_and_refills() {
    let cluster = TestCluster::start().unwrap();
    let server = cluster.server();
    server.set_pool_size(2);
    let set = bundled();
    let first = server.create_migrated(&set).unwrap();
    // Let the pool fill, then take from it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while databases(server)
        .iter()
        .filter(|d| d.starts_with("wdh_test_") && !d.starts_with("wdh_test_tpl_"))
        .count()
        < 3
    {
        assert!(Instant::now() < deadline, "the pool never filled");
        std::thread::sleep(Duration::from_millis(10));
    }
    let taken: Vec<TestDatabase> = (0..4)
        .map(|_| server.create_migrated(&set).unwrap())
        .collect();
    for db in taken.iter().chain([&first]) {
        let n: i64 = db
            .connect()
            .unwrap()
            .query_one("SELECT count(*) FROM wdh_migrate.applied", &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 10, "{}", db.name());
    }
    let distinct: BTreeSet<&str> = taken.iter().map(TestDatabase::name).collect();
    assert_eq!(distinct.len(), 4);
}
