//! `adopt` and `baseline` against real servers: each other tool's ledger
//! created exactly as the tool's source creates it (or by the real tool,
//! where it is installed: sqlx-cli, dbmate), adopted without running any
//! SQL; every refusal leaves the database and both ledgers as they were.

use std::path::{Path, PathBuf};

use wdh_migrate_core::adopt::{checksum, Tool};
use wdh_testdb::TestDatabase;

use crate::support::*;

fn exec(db: &TestDatabase, sql: &str) {
    db.connect()
        .expect("connect")
        .batch_execute(sql)
        .expect(sql);
}

/// The other tool's rows, as text, in a stable order.
fn foreign(db: &TestDatabase, table: &str) -> Vec<String> {
    let mut c = db.connect().expect("connect");
    c.query(&format!("SELECT t::text FROM {table} t ORDER BY 1"), &[])
        .expect("query")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything a refused adopt must leave alone: schema, wdh-migrate's
/// ledger (no schema at all), the other tool's rows.
fn unchanged(db: &TestDatabase, table: &str) -> (String, Vec<String>, bool, Vec<String>) {
    let no_ledger: bool = query_one(db, "SELECT to_regnamespace('wdh_migrate') IS NULL");
    (
        dump_with(db, &[]),
        ledger(db),
        no_ledger,
        foreign(db, table),
    )
}

/// A migration set and the database as `tool` left it: the first two
/// migrations applied (their SQL run, the tool's rows written).
struct Adopted {
    db: TestDatabase,
    dir: tempfile::TempDir,
    table: &'static str,
}

const T1: &str = "CREATE TABLE a (id int);\n";
const T2: &str = "CREATE TABLE b (id int);\n";

fn set_up(tool: Tool) -> Adopted {
    let db = db();
    let (files, rows): (Vec<(&str, String)>, String) = match tool {
        Tool::Sqlx => (
            vec![
                ("1_a.up.sql", T1.into()),
                ("1_a.down.sql", "DROP TABLE a;\n".into()),
                ("2_b.up.sql", T2.into()),
            ],
            format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES \
                 (1, 'a', true, '\\x{}', 1), (2, 'b', true, '\\x{}', 1);",
                hex(&checksum::sqlx(T1)),
                hex(&checksum::sqlx(T2))
            ),
        ),
        Tool::Diesel => (
            vec![("2017-01-20-174200_a/up.sql", T1.into()), ("20170121000000_b/up.sql", T2.into())],
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('20170120174200'), ('20170121000000');".into(),
        ),
        Tool::GolangMigrate => (
            vec![("000001_a.up.sql", T1.into()), ("000002_b.up.sql", T2.into())],
            "INSERT INTO schema_migrations (version, dirty) VALUES (2, false);".into(),
        ),
        Tool::Dbmate => (
            vec![
                ("20200101000000_a.sql", format!("-- migrate:up\n{T1}-- migrate:down\nDROP TABLE a;\n")),
                ("20200102000000_b.sql", format!("-- migrate:up\n{T2}-- migrate:down\nDROP TABLE b;\n")),
            ],
            "INSERT INTO schema_migrations (version) VALUES ('20200101000000'), ('20200102000000');".into(),
        ),
        Tool::Goose => (
            vec![
                ("00001_a.sql", format!("-- +goose Up\n{T1}-- +goose Down\nDROP TABLE a;\n")),
                ("00002_b.sql", format!("-- +goose Up\n{T2}-- +goose Down\nDROP TABLE b;\n")),
                ("00003_c.sql", "-- +goose Up\nCREATE TABLE never (id int);\n".into()),
            ],
            // goose writes version 0 when it creates the table; 3 was
            // applied, then reverted (older goose inserts is_applied = false).
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true), (3, false);".into(),
        ),
        Tool::Flyway => (
            vec![("V1__a.sql", T1.into()), ("V1_1__b.sql", T2.into())],
            format!(
                "INSERT INTO flyway_schema_history VALUES \
                 (1, '1', 'a', 'SQL', 'V1__a.sql', {}, 'app', now(), 3, true), \
                 (2, '1.1', 'b', 'SQL', 'V1_1__b.sql', {}, 'app', now(), 3, true);",
                checksum::flyway(T1),
                checksum::flyway(T2)
            ),
        ),
        Tool::Refinery => (
            vec![("V1__a.sql", T1.into()), ("V2__b.sql", T2.into())],
            format!(
                "INSERT INTO refinery_schema_history VALUES (1, 'a', '2024-01-01T00:00:00Z', '{}'), (2, 'b', '2024-01-01T00:00:00Z', '{}');",
                checksum::refinery("a", "1", T1, false).unwrap(),
                checksum::refinery("b", "2", T2, false).unwrap()
            ),
        ),
        Tool::SqlMigrate => (
            vec![
                ("1-a.sql", format!("-- +migrate Up\n{T1}-- +migrate Down\nDROP TABLE a;\n")),
                ("2-b.sql", format!("-- +migrate Up\n{T2}-- +migrate Down\nDROP TABLE b;\n")),
            ],
            "INSERT INTO gorp_migrations (id, applied_at) VALUES ('1-a.sql', now()), ('2-b.sql', now());".into(),
        ),
        // As `import alembic` writes the set; the table holds the head.
        Tool::Alembic => (
            vec![
                ("0001_a/up.sql", T1.into()),
                ("0001_a/down.sql", "DROP TABLE a;\n".into()),
                ("0001_a/metadata.toml", "[alembic]\nrevision = \"1a2b\"\ndown_revision = []\n".into()),
                ("0002_b/up.sql", T2.into()),
                ("0002_b/metadata.toml", "[alembic]\nrevision = \"3c4d\"\ndown_revision = [\"1a2b\"]\n".into()),
            ],
            "INSERT INTO alembic_version (version_num) VALUES ('3c4d');".into(),
        ),
        _ => unreachable!("every tool is set up"),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, text) in &files {
        write(dir.path(), path, text);
    }
    exec(&db, tool.ddl());
    exec(&db, &format!("{T1}{T2}{rows}"));
    Adopted {
        db,
        dir,
        table: tool.table(),
    }
}

fn wdh_on(a: &Adopted, args: &[&str]) -> Run {
    wdh(args).db(&a.db).migrations(a.dir.path()).run()
}

#[test]
fn every_tools_ledger_is_adopted_without_running_anything() {
    for tool in Tool::ALL {
        let a = set_up(tool);
        let schema = dump(&a.db);
        let theirs = foreign(&a.db, a.table);
        // Detected without --from, as the only ledger there.
        let dry = wdh_on(&a, &["adopt", "--dry-run"]);
        assert_eq!(dry.code, 0, "{tool}: {}", dry.all());
        assert!(
            dry.stdout.contains("would record 2 migration(s)"),
            "{tool}: {}",
            dry.stdout
        );
        assert!(ledger(&a.db).is_empty(), "{tool}: a dry run writes nothing");
        let run = wdh_on(&a, &["adopt"]);
        assert_eq!(run.code, 0, "{tool}: {}", run.all());
        assert!(
            run.stdout.contains(&format!("from {tool}")),
            "{tool}: {}",
            run.stdout
        );
        assert_eq!(
            applied_versions(&a.db).len(),
            2,
            "{tool}: {:?}",
            ledger(&a.db)
        );
        assert_eq!(dump(&a.db), schema, "{tool}: no SQL ran");
        assert_eq!(
            foreign(&a.db, a.table),
            theirs,
            "{tool}: their ledger is left alone"
        );
        let audited = audit(&a.db);
        assert_eq!(
            audited,
            [format!("adopt from {tool} success false")],
            "{tool}"
        );
        // Again: a no-op.
        let again = wdh_on(&a, &["adopt", "--from", tool.name()]);
        assert_eq!(again.code, 0, "{tool}: {}", again.all());
        assert!(
            again.stdout.contains("recorded 0 migration(s)")
                && again.stdout.contains("2 already recorded"),
            "{tool}: {}",
            again.stdout
        );
        assert_eq!(audit(&a.db).len(), 1, "{tool}: nothing written");
        // Upgrade runs only what is new.
        let new = match tool {
            Tool::Sqlx | Tool::GolangMigrate => {
                ("3_c.up.sql", "CREATE TABLE c (id int);\n".to_string())
            }
            Tool::Diesel => (
                "20170122000000_c/up.sql",
                "CREATE TABLE c (id int);\n".to_string(),
            ),
            Tool::Dbmate => (
                "20200103000000_c.sql",
                "-- migrate:up\nCREATE TABLE c (id int);\n-- migrate:down\n".to_string(),
            ),
            Tool::Goose => (
                "00004_c.sql",
                "-- +goose Up\nCREATE TABLE c (id int);\n".to_string(),
            ),
            Tool::Flyway => ("V1_2__c.sql", "CREATE TABLE c (id int);\n".to_string()),
            Tool::Refinery => ("V3__c.sql", "CREATE TABLE c (id int);\n".to_string()),
            Tool::SqlMigrate => (
                "3-c.sql",
                "-- +migrate Up\nCREATE TABLE c (id int);\n".to_string(),
            ),
            Tool::Alembic => ("0003_c/up.sql", "CREATE TABLE c (id int);\n".to_string()),
            _ => unreachable!(),
        };
        write(a.dir.path(), new.0, &new.1);
        let up = wdh_on(&a, &["upgrade", "--allow-out-of-order"]);
        assert_eq!(up.code, 0, "{tool}: {}", up.all());
        let c: bool = query_one(&a.db, "SELECT to_regclass('c') IS NOT NULL");
        assert!(c, "{tool}");
    }
}

/// Runs a refused adopt and shows nothing changed.
fn refused(a: &Adopted, args: &[&str], code: i32, needles: &[&str]) {
    let before = unchanged(&a.db, a.table);
    let run = wdh_on(a, args);
    run.expect(code, needles);
    assert_eq!(unchanged(&a.db, a.table), before, "{args:?}");
}

#[test]
fn refusals_write_nothing_and_name_the_versions() {
    // A missing file.
    let a = set_up(Tool::Sqlx);
    std::fs::remove_file(a.dir.path().join("2_b.up.sql")).unwrap();
    refused(
        &a,
        &["adopt"],
        4,
        &["no file in the migration set: 2", "nothing was recorded"],
    );
    // A changed file.
    let a = set_up(Tool::Sqlx);
    write(a.dir.path(), "2_b.up.sql", "CREATE TABLE b (id bigint);\n");
    refused(
        &a,
        &["adopt"],
        4,
        &["no longer matches the checksum sqlx recorded: 2 (2_b.up.sql)"],
    );
    let a = set_up(Tool::Flyway);
    write(a.dir.path(), "V1_1__b.sql", "CREATE TABLE b (id bigint);\n");
    refused(&a, &["adopt"], 4, &["1.1 (V1_1__b.sql)"]);
    let a = set_up(Tool::Refinery);
    write(a.dir.path(), "V1__a.sql", "CREATE TABLE a (id bigint);\n");
    refused(&a, &["adopt"], 4, &["1 (V1__a.sql)"]);
    // Failed and dirty rows.
    let a = set_up(Tool::Sqlx);
    exec(
        &a.db,
        "UPDATE _sqlx_migrations SET success = false WHERE version = 2",
    );
    refused(&a, &["adopt"], 4, &["version(s) 2 as failed"]);
    let a = set_up(Tool::GolangMigrate);
    exec(&a.db, "UPDATE schema_migrations SET dirty = true");
    refused(
        &a,
        &["adopt"],
        4,
        &["version 2 as dirty", "migrate force 2"],
    );
    let a = set_up(Tool::Flyway);
    exec(&a.db, "INSERT INTO flyway_schema_history VALUES (3, '1.2', 'c', 'SQL', 'V1_2__c.sql', 0, 'app', now(), 3, false)");
    refused(
        &a,
        &["adopt"],
        4,
        &["failed migration(s) 1.2", "flyway repair"],
    );
    // No ledger of the tool named; two ledgers and none named.
    let a = set_up(Tool::Goose);
    refused(&a, &["adopt", "--from", "flyway"], 4, &["no flyway ledger"]);
    exec(&a.db, Tool::Dbmate.ddl());
    refused(
        &a,
        &["adopt"],
        2,
        &["found two ledgers", "--from dbmate or --from goose"],
    );
}

#[test]
fn a_flyway_baseline_marks_everything_below_it() {
    let a = set_up(Tool::Flyway);
    exec(&a.db, "TRUNCATE flyway_schema_history; INSERT INTO flyway_schema_history VALUES (1, '1.1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL, 'app', now(), 0, true)");
    let run = wdh_on(&a, &["adopt"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&a.db), ["1", "1.1"]);
    assert!(run.stdout.contains("records no checksum"), "{}", run.stdout);
}

#[test]
fn baseline_marks_up_to_a_version_and_refuses_a_ledger_with_rows() {
    let dir = folder(&[
        ("0001_a/up.sql", T1),
        ("0002_b/up.sql", T2),
        ("0003_c/up.sql", "CREATE TABLE c (id int);"),
    ]);
    let db = db();
    exec(&db, &format!("{T1}{T2}"));
    let schema = dump(&db);
    let bad = wdh(&["baseline", "0009"])
        .db(&db)
        .migrations(dir.path())
        .run();
    bad.expect(2, &["0009"]);
    let dry = wdh(&["baseline", "0002", "--dry-run"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(dry.code, 0, "{}", dry.all());
    assert!(
        dry.stdout.contains("would mark 0001_a as applied"),
        "{}",
        dry.stdout
    );
    let no_ledger: bool = query_one(&db, "SELECT to_regnamespace('wdh_migrate') IS NULL");
    assert!(no_ledger);
    let run = wdh(&["baseline", "0002"])
        .db(&db)
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("marked 0002_b as applied"),
        "{}",
        run.stdout
    );
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
    assert_eq!(dump(&db), schema);
    assert_eq!(audit(&db), ["baseline success false"]);
    let before = (dump_with(&db, &[]), ledger(&db), audit(&db));
    let again = wdh(&["baseline", "0003"])
        .db(&db)
        .migrations(dir.path())
        .run();
    again.expect(
        4,
        &[
            "already records 2 migration(s) (newest 0002_b)",
            "Use `upgrade`",
        ],
    );
    assert_eq!((dump_with(&db, &[]), ledger(&db), audit(&db)), before);
    let up = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(up.code, 0, "{}", up.all());
    assert_eq!(applied_versions(&db), ["0001", "0002", "0003"]);
}

/// A tool installed where the tests can run it: `WDH_<NAME>` or the
/// places `scripts/setup` installs it.
fn installed(var: &str, places: &[&str]) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .into_iter()
        .chain(places.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_real_sqlx_cli_ledger_is_adopted() {
    let places = [root().join("target/tools/sqlx/bin/sqlx")];
    let places: Vec<&str> = places.iter().filter_map(|p| p.to_str()).collect();
    let Some(sqlx) = installed("WDH_SQLX", &places) else {
        eprintln!("sqlx-cli is not installed (scripts/setup installs it with WDH_INSTALL_SQLX=1); the table sqlx's source creates is tested above");
        return;
    };
    let db = db();
    let dir = folder(&[
        ("1_a.up.sql", T1),
        ("1_a.down.sql", "DROP TABLE a;\n"),
        ("2_b.up.sql", "CREATE TABLE b (id int);\r\n"),
        ("2_b.down.sql", "DROP TABLE b;\n"),
    ]);
    let out = std::process::Command::new(sqlx)
        .args(["migrate", "run", "--source"])
        .arg(dir.path())
        // sqlx wants a host in the URL; `host=` then names the socket's folder.
        .args(["--database-url", &db.url().replacen("@/", "@localhost/", 1)])
        .output()
        .expect("sqlx runs");
    assert!(
        out.status.success(),
        "{} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = foreign(&db, "_sqlx_migrations");
    let run = wdh(&["adopt"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("every file matches the checksum sqlx recorded"),
        "{}",
        run.stdout
    );
    assert_eq!(applied_versions(&db), ["1", "2"]);
    assert_eq!(foreign(&db, "_sqlx_migrations"), theirs);
}

#[test]
fn the_real_dbmate_ledger_is_adopted() {
    let places = [root().join("target/tools/dbmate/node_modules/.bin/dbmate")];
    let places: Vec<&str> = places.iter().filter_map(|p| p.to_str()).collect();
    let Some(dbmate) = installed("WDH_DBMATE", &places) else {
        eprintln!("dbmate is not installed (scripts/setup installs it with npm); the table dbmate's source creates is tested above");
        return;
    };
    let db = db();
    let dir = real_world_dbmate();
    let url = db.url().replace("?host=", "?sslmode=disable&socket=");
    let out = std::process::Command::new(dbmate)
        .args(["--no-dump-schema", "--url", &url, "--migrations-dir"])
        .arg(&dir)
        .arg("up")
        .output()
        .expect("dbmate runs");
    assert!(
        out.status.success(),
        "{} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let schema = dump(&db);
    let run = wdh(&["adopt", "--from", "dbmate"])
        .db(&db)
        .migrations(&dir)
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&db), ["20151129054053", "20200227231541"]);
    assert_eq!(dump(&db), schema);
    let down = wdh(&["downgrade", "base"]).db(&db).migrations(&dir).run();
    assert_eq!(down.code, 0, "{}", down.all());
}

fn real_world_dbmate() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-world/dbmate")
}
