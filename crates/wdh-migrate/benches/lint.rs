//! How long `lint` takes: the bundled set (`migrations/`) and a generated
//! set of 300 migrations written like a real project's (tables with
//! indexes and foreign keys, columns added and backfilled, concurrent
//! index builds, renames, views, enum types, PL/pgSQL functions and `DO`
//! blocks, acknowledged drops), in the library and as a process, and
//! against a live database (half the set applied, its tables filled).
//! Prints medians; asserts nothing.
//!
//! Run with `cargo bench -p wdh-migrate --bench lint`.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use wdh_migrate_core::lint;
use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::UpgradeTo;
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::TestCluster;

const MIGRATIONS: usize = 300;

fn reps() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        21
    } else {
        1
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn time(reps: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// A small deterministic generator, so every run lints the same set.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

/// Migration `i` of the generated set: `(up, down, no_transaction)`.
fn migration(
    i: usize,
    rng: &mut Lcg,
    tables: &mut Vec<String>,
    not_valid: &mut Vec<(String, String)>,
) -> (String, String, bool) {
    let pick = |rng: &mut Lcg, tables: &[String]| tables[rng.next(tables.len())].clone();
    if tables.len() < 3 || rng.next(5) == 0 {
        let t = format!("t_{i:04}");
        let parent = (!tables.is_empty()).then(|| pick(rng, tables));
        let fk = parent
            .as_ref()
            .map(|p| {
                format!(",\n    \"{p}_id\" bigint REFERENCES \"{p}\" (\"id\") ON DELETE CASCADE")
            })
            .unwrap_or_default();
        let index = parent
            .as_ref()
            .map(|p| format!("CREATE INDEX \"{t}_{p}_idx\" ON \"{t}\" (\"{p}_id\");\n"))
            .unwrap_or_default();
        tables.push(t.clone());
        return (
            format!(
                "-- {t}: one of the tables of the domain.\nCREATE TABLE \"{t}\" (\n    \"id\" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n    \"name\" text NOT NULL,\n    \"status\" text NOT NULL DEFAULT 'new',\n    \"amount\" numeric(18, 2) NOT NULL DEFAULT 0,\n    \"created_at\" timestamptz NOT NULL DEFAULT now(),\n    \"updated_at\" timestamptz{fk}\n);\n{index}COMMENT ON TABLE \"{t}\" IS 'Rows of {t}';\n"
            ),
            format!("DROP TABLE \"{t}\";\n"),
            false,
        );
    }
    let t = pick(rng, tables);
    match rng.next(10) {
        0 => (
            format!("ALTER TABLE \"{t}\" ADD COLUMN \"note_{i}\" text;\nUPDATE \"{t}\" SET \"note_{i}\" = \"name\" WHERE \"id\" < 1000;\n"),
            format!("ALTER TABLE \"{t}\" DROP COLUMN \"note_{i}\";\n"),
            false,
        ),
        1 => (
            format!("-- wdh:no-transaction\n-- Built without blocking writes.\nCREATE INDEX CONCURRENTLY \"{t}_{i}_idx\" ON \"{t}\" (\"status\", \"created_at\");\n"),
            format!("-- wdh:no-transaction\nDROP INDEX CONCURRENTLY \"{t}_{i}_idx\";\n"),
            true,
        ),
        2 => {
            not_valid.push((t.clone(), format!("{t}_amount_{i}")));
            (
                format!("ALTER TABLE \"{t}\" ADD CONSTRAINT \"{t}_amount_{i}\" CHECK (\"amount\" >= 0) NOT VALID;\n"),
                format!("ALTER TABLE \"{t}\" DROP CONSTRAINT \"{t}_amount_{i}\";\n"),
                false,
            )
        }
        3 if !not_valid.is_empty() => {
            let (t, c) = not_valid.remove(0);
            (
                format!("-- Validated apart from its NOT VALID addition: no blocking lock.\nALTER TABLE \"{t}\" VALIDATE CONSTRAINT \"{c}\";\n"),
                String::new(),
                false,
            )
        }
        4 => (
            format!("CREATE OR REPLACE FUNCTION \"touch_{i}\"() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    NEW.\"updated_at\" := now();\n    RETURN NEW;\nEND;\n$$;\nCREATE TRIGGER \"{t}_touch_{i}\" BEFORE UPDATE ON \"{t}\" FOR EACH ROW EXECUTE FUNCTION \"touch_{i}\"();\n"),
            format!("DROP TRIGGER \"{t}_touch_{i}\" ON \"{t}\";\nDROP FUNCTION \"touch_{i}\"();\n"),
            false,
        ),
        5 => (
            format!("CREATE VIEW \"v_{i}\" AS\nSELECT \"status\", count(*) AS \"n\", sum(\"amount\") AS \"total\"\n  FROM \"{t}\"\n GROUP BY \"status\";\n"),
            format!("DROP VIEW \"v_{i}\";\n"),
            false,
        ),
        6 => (
            format!("DO $$\nBEGIN\n    IF NOT EXISTS (SELECT FROM pg_type WHERE typname = 'kind_{i}') THEN\n        CREATE TYPE \"kind_{i}\" AS ENUM ('a', 'b', 'c');\n    END IF;\nEND\n$$;\nALTER TABLE \"{t}\" ADD COLUMN \"kind_{i}\" \"kind_{i}\";\n"),
            format!("ALTER TABLE \"{t}\" DROP COLUMN \"kind_{i}\";\nDROP TYPE \"kind_{i}\";\n"),
            false,
        ),
        7 => (
            format!("ALTER TABLE \"{t}\" RENAME COLUMN \"status\" TO \"state_{i}\";\nALTER TABLE \"{t}\" RENAME COLUMN \"state_{i}\" TO \"status\";\n"),
            String::new(),
            false,
        ),
        8 => (
            format!("-- wdh:allow drop-column the column was never read\nALTER TABLE \"{t}\" ADD COLUMN \"tmp_{i}\" integer;\nALTER TABLE \"{t}\" DROP COLUMN \"updated_at\";\nALTER TABLE \"{t}\" ADD COLUMN \"updated_at\" timestamptz;\n"),
            String::new(),
            false,
        ),
        _ => (
            format!("ALTER TABLE \"{t}\" ALTER COLUMN \"name\" SET DEFAULT '';\nCREATE INDEX \"{t}_name_{i}\" ON \"{t}\" (lower(\"name\"));\n"),
            format!("DROP INDEX \"{t}_name_{i}\";\nALTER TABLE \"{t}\" ALTER COLUMN \"name\" DROP DEFAULT;\n"),
            false,
        ),
    }
}

fn generate(dir: &Path) {
    let mut rng = Lcg(13);
    let mut tables = Vec::new();
    let mut not_valid = Vec::new();
    for i in 1..=MIGRATIONS {
        let (up, down, _) = migration(i, &mut rng, &mut tables, &mut not_valid);
        let folder = dir.join(format!("{i:04}_step_{i}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("up.sql"), up).unwrap();
        std::fs::write(folder.join("down.sql"), down).unwrap();
    }
}

fn process(reps: usize, dir: &Path) -> Duration {
    time(reps, || {
        let out = Command::new(env!("CARGO_BIN_EXE_wdh-migrate"))
            .args(["lint", "--offline", "--migrations"])
            .arg(dir)
            .env_remove("DATABASE_URL")
            .env_remove("WDH_DATABASE_URL")
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 4)), "{out:?}");
    })
}

fn main() {
    let reps = reps();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    let generated = tempfile::tempdir().unwrap();
    generate(generated.path());

    for (label, dir) in [
        ("bundled set (migrations/)", bundled.as_path()),
        ("300 generated migrations", generated.path()),
    ] {
        let set = MigrationSet::load(dir).unwrap();
        let load = time(reps, || {
            MigrationSet::load(dir).unwrap();
        });
        let mut report = lint::Report::default();
        let linted = time(reps, || {
            report = lint::offline(&lint::every_file(&set));
        });
        let spawned = process(reps, dir);
        println!(
            "lint, {label}: {} migrations, {} files, {} findings ({} errors, {} warnings, {} acknowledged); \
             load {}, lint {}, `wdh-migrate lint` process {}",
            set.migrations.len(),
            report.files,
            report.findings.len(),
            report.errors(),
            report.warnings(),
            report.acknowledged(),
            ms(load),
            ms(linted),
            ms(spawned)
        );
    }

    // What an upgrade adds: it lints the up scripts it applies. The runner
    // bench's 200 migrations (a table and an index each; no statement asks
    // the catalog anything).
    let runner_like = tempfile::tempdir().unwrap();
    for i in 1..=200 {
        let folder = runner_like.path().join(format!("{i:04}_table_{i}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(
            folder.join("up.sql"),
            format!(
                "CREATE TABLE \"t_{i:04}\" (\"id\" bigint PRIMARY KEY, \"name\" text NOT NULL, \"created_at\" timestamptz NOT NULL DEFAULT now());\n\
                 CREATE INDEX \"t_{i:04}_name_idx\" ON \"t_{i:04}\" (\"name\");\n"
            ),
        )
        .unwrap();
        std::fs::write(
            folder.join("down.sql"),
            format!("DROP TABLE \"t_{i:04}\";\n"),
        )
        .unwrap();
    }
    let set = MigrationSet::load(runner_like.path()).unwrap();
    let ups: Vec<lint::Job<'_>> = lint::every_file(&set)
        .into_iter()
        .filter(|j| j.direction == wdh_migrate_core::migrations::Direction::Up)
        .collect();
    let upgrade_lint = time(reps, || {
        lint::offline(&ups);
    });
    println!(
        "lint of the up scripts an upgrade of the runner bench's 200 migrations applies: {}",
        ms(upgrade_lint)
    );

    // Against a live database: the first half applied, its tables filled.
    let cluster = TestCluster::start().unwrap();
    let db = cluster.server().create_database().unwrap();
    let target = Target::parse(&db.url(), Source::Explicit).unwrap();
    let set = MigrationSet::load(generated.path()).unwrap();
    let runner = Runner::new(&target, RunOptions::default());
    runner
        .upgrade(&set, &UpgradeTo::Steps(MIGRATIONS / 2), &mut |_| {})
        .unwrap();
    let mut c = db.connect().unwrap();
    let tables: Vec<String> = c
        .query(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in &tables {
        c.batch_execute(&format!(
            "INSERT INTO \"{t}\" (\"name\") SELECT 'n' || g FROM generate_series(1, 2000) g; ANALYZE \"{t}\";"
        ))
        .unwrap();
    }
    let mut report = lint::Report::default();
    let live = time(reps, || {
        report = runner.lint(&set).unwrap().1;
    });
    println!(
        "lint against a live database, 300 generated migrations ({} applied, {} tables of 2,000 rows): {} files, {} findings; {} (connection, ledger and catalog queries included)",
        MIGRATIONS / 2,
        tables.len(),
        report.files,
        report.findings.len(),
        ms(live)
    );
}
