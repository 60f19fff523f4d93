//! `wdh-migrate check` on the bundled set and on 200 generated migrations
//! (a CREATE TABLE plus an index each), as a process on a private cluster;
//! then, on one private cluster through the library, the work `check`
//! cannot avoid — `upgrade head`, `downgrade base`, `upgrade head` of the
//! generated set on a fresh database — against `check` of the same set on
//! another fresh database, and their ratio. Prints the wall time of one run
//! each; asserts nothing about it.
//!
//! Run with `cargo bench -p wdh-migrate --bench check`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use wdh_migrate_core::check;
use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::{DowngradeTo, UpgradeTo};
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::spelling::Library;
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::TestCluster;

fn check_process(dir: &Path) -> f64 {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_wdh-migrate"))
        .args(["check", "--migrations"])
        .arg(dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let took = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// `upgrade head`, `downgrade base`, `upgrade head` on a fresh database of
/// `cluster`, and `check` on another: seconds each.
fn library(cluster: &TestCluster, set: &MigrationSet) -> (f64, f64) {
    let db = cluster.server().create_database().unwrap();
    let target = Target::parse(&db.url(), Source::Explicit).unwrap();
    let runner = Runner::new(&target, RunOptions::default());
    let t = Instant::now();
    runner.upgrade(set, &UpgradeTo::Head, &mut |_| {}).unwrap();
    runner
        .downgrade(set, &DowngradeTo::Base, &mut |_| {})
        .unwrap();
    runner.upgrade(set, &UpgradeTo::Head, &mut |_| {}).unwrap();
    let up_down_up = t.elapsed().as_secs_f64();
    drop(db);

    let db = cluster.server().create_database().unwrap();
    let target = Target::parse(&db.url(), Source::Explicit).unwrap();
    let t = Instant::now();
    let report = check::run(&target, set, &Library, &mut |_| {}).unwrap();
    let check = t.elapsed().as_secs_f64();
    assert!(report.first_problem().is_none(), "{report:?}");
    assert_eq!(report.migrations.len(), set.migrations.len());
    (up_down_up, check)
}

fn main() {
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    // Under `cargo test` (no --bench) a quick pass over 20 migrations.
    let count = if std::env::args().any(|a| a == "--bench") {
        200
    } else {
        20
    };
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=count {
        let folder = dir.path().join(format!("{i:04}_table_{i}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(
            folder.join("up.sql"),
            format!("CREATE TABLE t_{i:04} (id bigint PRIMARY KEY, name text NOT NULL);\nCREATE INDEX t_{i:04}_name_idx ON t_{i:04} (name);\n"),
        )
        .unwrap();
        std::fs::write(folder.join("down.sql"), format!("DROP TABLE t_{i:04};\n")).unwrap();
    }
    println!("wdh-migrate check (process, private cluster started and removed included):");
    println!(
        "  bundled set (10 migrations)           {:>7.2} s",
        check_process(&bundled)
    );
    println!(
        "  {count} generated migrations{:>w$}{:>7.2} s",
        "",
        check_process(dir.path()),
        w = 15 - count.to_string().len()
    );

    let set = MigrationSet::load(dir.path()).unwrap();
    let cluster = TestCluster::start().unwrap();
    // Alternated, and the fastest of each kept: other work on the machine
    // slows one run more than another, never speeds one up.
    let rounds = if count == 200 { 3 } else { 1 };
    let (mut up_down_up, mut check) = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let (u, c) = library(&cluster, &set);
        up_down_up = up_down_up.min(u);
        check = check.min(c);
    }
    println!(
        "{count} generated migrations through the library, one private cluster, a fresh database \
         each (the fastest of {rounds}):"
    );
    println!("  upgrade head + downgrade base + upgrade head {up_down_up:>7.2} s");
    println!("  check                                        {check:>7.2} s");
    println!("  check / (up+down+up) = {:.1}×", check / up_down_up);
}
