//! Helpers shared by the integration tests: a CLI builder, fixture folders,
//! schema dumps and ledger reads, all against the process's private cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{TestCluster, TestDatabase};

/// The bundled example set.
pub fn bundled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")
}

pub fn bundled() -> MigrationSet {
    MigrationSet::load(&bundled_dir()).expect("the bundled set loads")
}

pub fn db() -> TestDatabase {
    TestDatabase::new().expect("a test database")
}

pub fn target(db: &TestDatabase) -> Target {
    Target::parse(&db.url(), Source::Explicit).expect("the test URL parses")
}

/// A migrations folder made of `(relative path, contents)` pairs.
pub fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

pub fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

/// Schema-only dump, without the ledger and the dump's random restrict key.
pub fn dump(db: &TestDatabase) -> String {
    dump_with(db, &["--exclude-schema=wdh_migrate"])
}

/// Schema-only dump including the ledger schema's structure.
pub fn dump_with(db: &TestDatabase, extra: &[&str]) -> String {
    let bin = TestCluster::shared()
        .expect("cluster")
        .binaries()
        .bin("pg_dump");
    let out = Command::new(bin)
        .arg("--schema-only")
        .args(extra)
        .arg(db.url())
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Everything that can change in a database: the schema dump, the ledger
/// rows and the audit rows.
pub fn snapshot(db: &TestDatabase) -> (String, Vec<String>) {
    (dump(db), ledger(db))
}

/// `version name checksum` of every applied migration, in version order.
pub fn ledger(db: &TestDatabase) -> Vec<String> {
    let mut c = db.connect().expect("connect");
    let exists: bool = c
        .query_one("SELECT to_regclass('wdh_migrate.applied') IS NOT NULL", &[])
        .expect("query")
        .get(0);
    if !exists {
        return vec![];
    }
    c.query("SELECT version || ' ' || name || ' ' || checksum FROM wdh_migrate.applied ORDER BY version", &[])
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

pub fn applied_versions(db: &TestDatabase) -> Vec<String> {
    ledger(db)
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default().to_string())
        .collect()
}

/// Audit rows as `operation outcome override`.
pub fn audit(db: &TestDatabase) -> Vec<String> {
    let mut c = db.connect().expect("connect");
    c.query(
        "SELECT operation || ' ' || outcome || ' ' || override_used FROM wdh_migrate.audit ORDER BY id",
        &[],
    )
    .map(|rows| rows.iter().map(|r| r.get(0)).collect())
    .unwrap_or_default()
}

pub fn query_one<T: for<'a> postgres::types::FromSql<'a>>(db: &TestDatabase, sql: &str) -> T {
    db.connect()
        .expect("connect")
        .query_one(sql, &[])
        .expect("query")
        .get(0)
}

/// A `wdh-migrate` invocation, run in an empty folder with none of the
/// variables that name a database, unless a test sets them.
pub struct Wdh {
    cmd: Command,
    _cwd: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Asserts the exit code and that stderr says every one of `needles`.
    pub fn expect(&self, code: i32, needles: &[&str]) {
        assert_eq!(self.code, code, "{}", self.all());
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "`{needle}` missing from stderr:\n{}",
                self.stderr
            );
        }
    }
}

pub fn wdh(args: &[&str]) -> Wdh {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wdh-migrate"));
    cmd.args(args).current_dir(cwd.path());
    for var in [
        "DATABASE_URL",
        "WDH_DATABASE_URL",
        "WDH_ALLOW_PRODUCTION_DOWNGRADE",
        "PGDATABASE",
        "PGHOST",
        "PGPASSWORD",
    ]
    .into_iter()
    .chain(wdh_migrate::settings::TLS_VARIABLES.iter().map(|(v, _)| *v))
    {
        cmd.env_remove(var);
    }
    // libpq's default TLS files of whoever runs the tests stay out of it.
    cmd.env("HOME", cwd.path());
    Wdh { cmd, _cwd: cwd }
}

impl Wdh {
    pub fn db(mut self, db: &TestDatabase) -> Self {
        self.cmd.arg("--database-url").arg(db.url());
        self
    }

    pub fn url(mut self, url: &str) -> Self {
        self.cmd.arg("--database-url").arg(url);
        self
    }

    pub fn stdin_null(mut self) -> Self {
        self.cmd.stdin(std::process::Stdio::null());
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn migrations(mut self, dir: &Path) -> Self {
        self.cmd.arg("--migrations").arg(dir);
        self
    }

    /// The command itself, for what the builder does not cover.
    pub fn command(self) -> Command {
        self.cmd
    }

    /// Starts it with piped output; keep the returned folder alive while it runs.
    pub fn spawn(mut self) -> (std::process::Child, tempfile::TempDir) {
        use std::process::Stdio;
        let child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wdh-migrate starts");
        (child, self._cwd)
    }

    pub fn run(mut self) -> Run {
        let out: Output = self.cmd.output().expect("wdh-migrate runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
