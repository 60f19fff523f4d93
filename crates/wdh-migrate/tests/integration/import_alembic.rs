//! `import alembic` on real Alembic projects: Alembic, SQLAlchemy and
//! psycopg2-binary installed from the package registry into a virtual
//! environment the test makes (kept under the target directory for the next
//! run). The schema Alembic builds and the one the converted set builds
//! compare equal under `check`'s catalog capture, and `check` passes on the
//! converted set.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::schema;
use wdh_migrate_core::UpgradeTo;
use wdh_testdb::TestCluster;

use crate::support::{db, target, write};

const PACKAGES: &[&str] = &[
    "alembic>=1.13,<2",
    "SQLAlchemy>=2,<3",
    "psycopg2-binary>=2.9,<3",
];

/// The virtual environment with Alembic, made once (under a file lock, as
/// several test processes may ask at once) and reused while its packages
/// are the ones asked for.
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("alembic-venv");
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let lock = std::fs::File::create(dir.with_extension("lock")).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: a valid descriptor; the lock goes with the file.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        let stamp = dir.join("wdh-packages");
        let wanted = PACKAGES.join("\n");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
            let _ = std::fs::remove_dir_all(&dir);
            run_ok(Command::new("python3").args(["-m", "venv"]).arg(&dir));
            run_ok(
                Command::new(dir.join("bin/python"))
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                    ])
                    .args(PACKAGES),
            );
            std::fs::write(&stamp, wanted).unwrap();
        }
        dir
    })
}

fn run_ok(command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The CLI with the venv's `alembic` first on PATH.
fn wdh(args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        venv().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(env!("CARGO_BIN_EXE_wdh-migrate"))
        .args(args)
        .env("PATH", path)
        .env_remove("DATABASE_URL")
        .env_remove("WDH_DATABASE_URL")
        .output()
        .unwrap()
}

const INI: &str = "\
[alembic]
script_location = %(here)s/migrations
# Only names the dialect for offline runs: nothing connects to it.
sqlalchemy.url = postgresql+psycopg2://nobody@/unused?host=/nonexistent
";

const ENV_PY: &str = r#"
from alembic import context
from sqlalchemy import create_engine

config = context.config
url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")

if context.is_offline_mode():
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()
else:
    with create_engine(url).connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
"#;

fn revision(id: &str, down: &str, message: &str, upgrade: &str, downgrade: &str) -> String {
    format!(
        "\"\"\"{message}\n\nRevision ID: {id}\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
         revision = {id:?}\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\n\
         def upgrade():\n{upgrade}\n\n\ndef downgrade():\n{downgrade}\n"
    )
}

/// An Alembic project in a temporary folder: alembic.ini, env.py and the
/// revisions `(file, text)`.
fn project(revisions: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "alembic.ini", INI);
    write(dir.path(), "migrations/env.py", ENV_PY);
    for (file, text) in revisions {
        write(dir.path(), &format!("migrations/versions/{file}"), text);
    }
    dir
}

/// A branch, a merge, an enum type, foreign keys, an index built
/// concurrently in an autocommit block, and a data migration whose
/// downgrade raises NotImplementedError.
fn history() -> Vec<(&'static str, String)> {
    vec![
        (
            "a1_create_users.py",
            revision(
                "a1b2c3d4e5f6",
                "None",
                "Create users",
                r#"    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("status", sa.Enum("active", "blocked", name="user_status"), nullable=False, server_default="active"),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    op.create_index("users_name_idx", "users", ["name"])"#,
                r#"    op.drop_index("users_name_idx", table_name="users")
    op.drop_table("users")
    op.execute("DROP TYPE user_status")"#,
            ),
        ),
        (
            "b2_email.py",
            revision(
                "b2",
                "\"a1b2c3d4e5f6\"",
                "add e-mail (unique)",
                r#"    op.add_column("users", sa.Column("email", sa.String(200)))
    op.create_unique_constraint("users_email_key", "users", ["email"])"#,
                r#"    op.drop_constraint("users_email_key", "users", type_="unique")
    op.drop_column("users", "email")"#,
            ),
        ),
        (
            "c3_orders.py",
            revision(
                "c3",
                "\"a1b2c3d4e5f6\"",
                "orders",
                r#"    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), sa.CheckConstraint("amount >= 0", name="orders_amount_check")),
        comment="what users ordered",
    )"#,
                r#"    op.drop_table("orders")"#,
            ),
        ),
        (
            "d4_merge.py",
            revision(
                "d4",
                "(\"b2\", \"c3\")",
                "merge",
                r#"    op.execute("COMMENT ON TABLE users IS 'people'")"#,
                r#"    op.execute("COMMENT ON TABLE users IS NULL")"#,
            ),
        ),
        (
            "e5_index.py",
            revision(
                "e5",
                "\"d4\"",
                "index orders concurrently",
                r#"    with op.get_context().autocommit_block():
        op.create_index("orders_user_idx", "orders", ["user_id"], postgresql_concurrently=True)"#,
                r#"    with op.get_context().autocommit_block():
        op.drop_index("orders_user_idx", table_name="orders", postgresql_concurrently=True)"#,
            ),
        ),
        (
            "f6_seed.py",
            revision(
                "f6",
                "\"e5\"",
                "seed the admin",
                r#"    op.execute("INSERT INTO users (name) VALUES ('admin')")"#,
                r#"    raise NotImplementedError("the admin's rows cannot be told from later ones")"#,
            ),
        ),
    ]
}

/// `alembic upgrade <to>` on `db`, online.
fn alembic(ini: &Path, db: &wdh_testdb::TestDatabase, to: &str) {
    let cluster = TestCluster::shared().unwrap();
    let url = format!(
        "url=postgresql+psycopg2://postgres@/{}?host={}&port={}",
        db.name(),
        cluster.socket_dir().display(),
        cluster.port()
    );
    run_ok(
        Command::new(venv().join("bin/alembic"))
            .arg("-c")
            .arg(ini)
            .args(["-x", &url, "upgrade", to])
            .env("PYTHONDONTWRITEBYTECODE", "1"),
    );
}

/// The versions wdh-migrate's ledger records, in order.
fn applied(db: &wdh_testdb::TestDatabase) -> Vec<String> {
    db.connect()
        .unwrap()
        .query(
            "SELECT version FROM wdh_migrate.applied ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_converted_set_builds_alembic_s_schema_and_passes_check() {
    let project = project(&history());
    let ini = project.path().join("alembic.ini");
    let out = project.path().join("converted");
    let run = wdh(&[
        "import",
        "alembic",
        "--config",
        ini.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );

    // Ordered by the graph: each branch of the merge whole, as it lists them.
    let set = MigrationSet::load(&out).unwrap();
    let names: Vec<(String, String)> = set
        .migrations
        .iter()
        .map(|m| {
            (
                format!("{}_{}", m.version, m.name),
                m.alembic.clone().unwrap().revision,
            )
        })
        .collect();
    let expected = [
        ("0001_create_users", "a1b2c3d4e5f6"),
        ("0002_add_e_mail_unique", "b2"),
        ("0003_orders", "c3"),
        ("0004_merge", "d4"),
        ("0005_index_orders_concurrently", "e5"),
        ("0006_seed_the_admin", "f6"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect();
    assert_eq!(names, expected);
    assert!(stdout.contains("0004_merge"), "{stdout}");
    for m in &set.migrations {
        for script in [Some(&m.up), m.down.script()].into_iter().flatten() {
            let text = read(&out.join(&script.path));
            assert!(
                !text.to_lowercase().contains("alembic_version"),
                "{}",
                script.path.display()
            );
            assert!(!text.contains("BEGIN;") && !text.contains("COMMIT;"));
        }
    }
    assert!(read(&out.join("0004_merge/metadata.toml"))
        .contains("revision = \"d4\"\ndown_revision = [\"b2\", \"c3\"]"));
    // The autocommit block made it a no-transaction migration.
    assert!(set.migrations[4].up.no_transaction);
    assert!(read(&out.join("0005_index_orders_concurrently/up.sql"))
        .contains("CREATE INDEX CONCURRENTLY orders_user_idx"));
    // NotImplementedError in downgrade(): irreversible.
    assert!(!set.migrations[5].is_reversible());
    assert!(read(&out.join("0006_seed_the_admin/down.sql")).starts_with("-- wdh:irreversible\n"));

    // Alembic builds one database, the converted set another.
    let by_alembic = db();
    alembic(&ini, &by_alembic, "heads");
    // Alembic's ledger adopted: every revision recorded, none run again.
    let dir = out.to_str().unwrap();
    let adopt = wdh(&[
        "--database-url",
        &by_alembic.url(),
        "--migrations",
        dir,
        "adopt",
    ]);
    let said = String::from_utf8_lossy(&adopt.stdout);
    assert!(
        adopt.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&adopt.stderr)
    );
    assert!(said.contains("from alembic"), "{said}");
    assert_eq!(
        applied(&by_alembic),
        ["0001", "0002", "0003", "0004", "0005", "0006"]
    );
    let up = wdh(&[
        "--database-url",
        &by_alembic.url(),
        "--migrations",
        dir,
        "upgrade",
    ]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(
        String::from_utf8_lossy(&up.stdout).contains("upgrade: nothing to do"),
        "{}",
        String::from_utf8_lossy(&up.stdout)
    );
    let mut a = by_alembic.connect().unwrap();
    a.batch_execute("DROP TABLE alembic_version").unwrap();
    let by_wdh = db();
    Runner::new(&target(&by_wdh), RunOptions::default())
        .upgrade(&set, &UpgradeTo::Head, &mut |_| {})
        .unwrap();
    let mut b = by_wdh.connect().unwrap();
    let alembic_schema = schema::capture(&mut a, &["wdh_migrate"]).unwrap();
    let wdh_schema = schema::capture(&mut b, &["wdh_migrate"]).unwrap();
    let changes = schema::diff(&alembic_schema, &wdh_schema);
    assert!(changes.is_empty(), "{}", schema::render(&changes));
    assert!(alembic_schema.len() > 10, "{}", alembic_schema.len());
    // A database Alembic took along one branch only: exactly that branch is
    // adopted, and upgrade runs the rest.
    let one_branch = db();
    alembic(&ini, &one_branch, "b2");
    let adopt = wdh(&[
        "--database-url",
        &one_branch.url(),
        "--migrations",
        dir,
        "adopt",
        "--from",
        "alembic",
    ]);
    assert!(
        adopt.status.success(),
        "{}",
        String::from_utf8_lossy(&adopt.stderr)
    );
    assert_eq!(applied(&one_branch), ["0001", "0002"]);
    let up = wdh(&[
        "--database-url",
        &one_branch.url(),
        "--migrations",
        dir,
        "upgrade",
    ]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    let mut c = one_branch.connect().unwrap();
    c.batch_execute("DROP TABLE alembic_version").unwrap();
    let changes = schema::diff(
        &wdh_schema,
        &schema::capture(&mut c, &["wdh_migrate"]).unwrap(),
    );
    assert!(changes.is_empty(), "{}", schema::render(&changes));

    // The data migration ran too.
    let admins: i64 = b
        .query_one("SELECT count(*) FROM users WHERE name = 'admin'", &[])
        .unwrap()
        .get(0);
    assert_eq!(admins, 1);

    let check = wdh(&["check", "--migrations", out.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        report.contains("irreversible: 0006_seed_the_admin"),
        "{report}"
    );
    assert!(report.contains("check: ok:"), "{report}");
}

#[test]
fn revisions_that_cannot_run_offline_are_listed_and_nothing_is_written() {
    let mut revisions = history();
    revisions.truncate(2);
    revisions.push((
        "c3_reads.py",
        revision(
            "c3",
            "\"b2\"",
            "reads the database",
            r#"    n = op.get_bind().execute(sa.text("SELECT count(*) FROM users")).scalar()
    op.execute(f"ALTER SEQUENCE users_id_seq RESTART WITH {n + 1}")"#,
            r#"    pass"#,
        ),
    ));
    revisions.push((
        "d4_fails.py",
        revision(
            "d4",
            "\"c3\"",
            "fails",
            r#"    raise RuntimeError("needs the production data")"#,
            r#"    raise RuntimeError("cannot go back either")"#,
        ),
    ));
    let project = project(&revisions);
    let ini = project.path().join("alembic.ini");
    let out = project.path().join("converted");
    let run = wdh(&[
        "import",
        "alembic",
        "--config",
        ini.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "3 Alembic revision step(s) cannot run offline, so nothing was written:\n  c3 (upgrade: `alembic upgrade b2:c3 --sql`): "
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "d4 (upgrade: `alembic upgrade c3:d4 --sql`): RuntimeError: needs the production data"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "d4 (downgrade: `alembic downgrade d4:c3 --sql`): RuntimeError: cannot go back either"
        ),
        "{stderr}"
    );
    assert!(!out.exists());
    let mut left: Vec<String> = std::fs::read_dir(project.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["alembic.ini", "migrations"]);
    // Nothing written into the project either.
    assert!(!project
        .path()
        .join("migrations/versions/__pycache__")
        .exists());
}

#[test]
fn an_occupied_destination_or_a_missing_configuration_is_a_usage_error() {
    let project = project(&history()[..1]);
    let ini = project.path().join("alembic.ini");
    let out = project.path().join("taken");
    write(&out, "0001_mine/up.sql", "CREATE TABLE mine (id int);");
    let run = wdh(&[
        "import",
        "alembic",
        "--config",
        ini.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already exists and is not an empty folder; nothing was written"),
        "{stderr}"
    );
    assert_eq!(
        read(&out.join("0001_mine/up.sql")),
        "CREATE TABLE mine (id int);"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);

    let missing = project.path().join("nowhere.ini");
    let run = wdh(&["import", "alembic", "--config", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nowhere.ini does not exist"), "{stderr}");

    let run = wdh(&[
        "--database-url",
        "postgresql://h/app",
        "import",
        "alembic",
        "--config",
        ini.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("it takes no database"));
}
