//! Per-test database provisioning, median and p95 of 100, for the bundled
//! set and for 200 generated migrations: a template clone, a checkout from
//! a warm pool, running the set per test database (the `#[sqlx::test]`
//! approach), and an empty database; and clone strategies compared.
//!
//! Run with `cargo bench -p wdh-testdb --bench provision`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::UpgradeTo;
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{TestCluster, TestServer};

fn runs() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        100
    } else {
        3
    }
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "p50 {:>7.2} ms   p95 {:>7.2} ms",
        ms(v[v.len() / 2]),
        ms(v[(v.len() * 95 / 100).min(v.len() - 1)])
    )
}

fn generated(dir: &Path) -> MigrationSet {
    for i in 1..=200 {
        let folder = dir.join(format!("{i:04}_table_{i}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(
            folder.join("up.sql"),
            format!("CREATE TABLE t_{i:04} (id bigint PRIMARY KEY, name text NOT NULL);\nCREATE INDEX t_{i:04}_name_idx ON t_{i:04} (name);\n"),
        )
        .unwrap();
        std::fs::write(folder.join("down.sql"), format!("DROP TABLE t_{i:04};\n")).unwrap();
    }
    MigrationSet::load(dir).unwrap()
}

fn time(n: usize, mut f: impl FnMut() -> Duration) -> Vec<Duration> {
    (0..n).map(|_| f()).collect()
}

fn bench_set(label: &str, server: &TestServer, set: &MigrationSet) {
    let n = runs();
    println!(
        "{label} ({} migrations), {n} runs each:",
        set.migrations.len()
    );
    server.set_pool_size(0);
    let t = Instant::now();
    server.template(set).unwrap();
    println!(
        "  template build (once)                    {:>7.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let clone = time(n, || {
        let t = Instant::now();
        let db = server.clone_migrated(set).unwrap();
        let took = t.elapsed();
        drop(db);
        took
    });
    server.wait_for_drops(Duration::from_secs(120));
    println!(
        "  template clone (FILE_COPY)               {}",
        stats(clone.clone())
    );

    let tpl = server.template(set).unwrap();
    let mut admin = server.connect("postgres").unwrap();
    let wal_log = time(n.min(30), || {
        let name = format!("wdh_test_walbench_{}", fastrand_name());
        let t = Instant::now();
        admin
            .batch_execute(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{tpl}\" STRATEGY WAL_LOG"
            ))
            .unwrap();
        let took = t.elapsed();
        admin
            .batch_execute(&format!("DROP DATABASE \"{name}\""))
            .unwrap();
        took
    });
    println!(
        "  template clone (WAL_LOG, for comparison) {}",
        stats(wal_log)
    );

    let per_test = time(n, || {
        let t = Instant::now();
        let db = server.create_database().unwrap();
        let target = Target::parse(&db.url(), Source::Explicit).unwrap();
        Runner::new(&target, RunOptions::default())
            .upgrade(set, &UpgradeTo::Head, &mut |_| {})
            .unwrap();
        let took = t.elapsed();
        drop(db);
        took
    });
    server.wait_for_drops(Duration::from_secs(120));
    println!(
        "  migrate per test database                {}",
        stats(per_test.clone())
    );

    let empty = time(n, || {
        let t = Instant::now();
        let db = server.create_database().unwrap();
        let took = t.elapsed();
        drop(db);
        took
    });
    server.wait_for_drops(Duration::from_secs(120));
    println!(
        "  empty database                           {}",
        stats(empty)
    );

    // A warm pool: tests take a clone, run a body (~20 ms), and drop it.
    server.set_pool_size(2);
    let _prime = server.create_migrated(set).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pooled = time(n, || {
        let t = Instant::now();
        let db = server.create_migrated(set).unwrap();
        let took = t.elapsed();
        std::thread::sleep(Duration::from_millis(20));
        drop(db);
        took
    });
    server.wait_for_drops(Duration::from_secs(120));
    println!(
        "  checkout from a warm pool (20 ms bodies) {}",
        stats(pooled)
    );
    let (c, m) = (median(clone), median(per_test));
    println!("  clone / migrate-per-test                 {:.3}", c / m);
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64()
}

fn fastrand_name() -> String {
    format!(
        "{:012x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            & 0xffff_ffff_ffff
    )
}

fn main() {
    let bundled =
        MigrationSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations"))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let two_hundred = generated(dir.path());
    {
        let cluster = TestCluster::start().unwrap();
        println!("cluster on {}", cluster.storage());
        bench_set("bundled set", cluster.server(), &bundled);
    }
    {
        let cluster = TestCluster::start().unwrap();
        bench_set("200 generated migrations", cluster.server(), &two_hundred);
    }
}
