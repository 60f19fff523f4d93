//! How long the readers of a table wait behind a migration that waits for
//! its lock: a session holds ACCESS SHARE on the table in a 4 s
//! transaction (1.5 s in the quick pass under `cargo test`) while readers query it every 100 ms, and `upgrade` applies
//! an `ALTER TABLE` on it, with the default lock schedule and with none
//! (`--lock-timeout 0`: the server's lock_timeout, no retries). Prints the
//! longest reader wait of each run and the median; asserts nothing.
//!
//! Run with `cargo bench -p wdh-migrate --bench locks`.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::UpgradeTo;
use wdh_migrate_core::runner::{Event, LockSchedule, RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{TestCluster, TestDatabase};

const READERS: usize = 4;

fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn reps() -> usize {
    if benching() {
        5
    } else {
        1
    }
}

/// How long the transaction holds its lock (shorter in the quick pass
/// under `cargo test`).
fn held() -> Duration {
    if benching() {
        Duration::from_secs(4)
    } else {
        Duration::from_millis(1500)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One run: the longest reader wait, how long the upgrade took and how
/// many times it retried.
fn run(
    cluster: &TestCluster,
    set: &MigrationSet,
    schedule: Option<LockSchedule>,
) -> (Duration, Duration, usize) {
    let db: TestDatabase = cluster.server().create_database().unwrap();
    db.connect()
        .unwrap()
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 1000);")
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let mut c = db.connect().unwrap();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis((100 * i / READERS) as u64));
                let mut longest = Duration::ZERO;
                while !stop.load(Ordering::SeqCst) {
                    let t = Instant::now();
                    c.query_one("SELECT count(*) FROM t", &[]).unwrap();
                    longest = longest.max(t.elapsed());
                    std::thread::sleep(Duration::from_millis(100).saturating_sub(t.elapsed()));
                }
                longest
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut holder = db.connect().unwrap();
    holder
        .batch_execute("BEGIN; SELECT count(*) FROM t;")
        .unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(held());
        holder.batch_execute("COMMIT").unwrap();
    });
    let target = Target::parse(&db.url(), Source::Explicit).unwrap();
    let options = RunOptions {
        lock_timeout: schedule,
        ..RunOptions::default()
    };
    let mut retries = 0;
    let t = Instant::now();
    Runner::new(&target, options)
        .upgrade(set, &UpgradeTo::Head, &mut |e| {
            if matches!(e, Event::Retrying { .. }) {
                retries += 1;
            }
        })
        .unwrap();
    let took = t.elapsed();
    release.join().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let longest = readers
        .into_iter()
        .map(|r| r.join().unwrap())
        .max()
        .unwrap();
    (longest, took, retries)
}

fn main() {
    let cluster = TestCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("0001_add_column");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("up.sql"), "ALTER TABLE t ADD COLUMN c int;\n").unwrap();
    std::fs::write(folder.join("down.sql"), "ALTER TABLE t DROP COLUMN c;\n").unwrap();
    let set = MigrationSet::load(dir.path()).unwrap();
    println!(
        "{READERS} readers every 100 ms; a transaction holds ACCESS SHARE for {:.1} s; upgrade: ALTER TABLE t ADD COLUMN",
        held().as_secs_f64()
    );
    for (label, schedule) in [
        (
            "default schedule (100ms..1s, budget 60s)",
            Some(LockSchedule::DEFAULT),
        ),
        ("no schedule (--lock-timeout 0)", None),
    ] {
        let mut waits = Vec::new();
        for _ in 0..reps() {
            let (longest, took, retries) = run(&cluster, &set, schedule);
            println!(
                "  {label}: longest reader wait {:.0} ms; upgrade {:.1} s, {retries} retries",
                ms(longest),
                took.as_secs_f64()
            );
            waits.push(longest);
        }
        waits.sort();
        println!(
            "{label}: median longest reader wait {:.0} ms (of {})",
            ms(waits[waits.len() / 2]),
            waits.len()
        );
    }
}
