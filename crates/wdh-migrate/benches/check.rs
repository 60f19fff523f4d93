//! `wdh-migrate check` on the bundled set and on 200 generated migrations
//! (a CREATE TABLE plus an index each), as a process on a private cluster.
//! Prints the wall time of one run each; asserts nothing.
//!
//! Run with `cargo bench -p wdh-migrate --bench check`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn check(dir: &Path) -> f64 {
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
        "  bundled set (10 migrations)      {:>7.2} s",
        check(&bundled)
    );
    println!(
        "  200 generated migrations         {:>7.2} s",
        check(dir.path())
    );
}
