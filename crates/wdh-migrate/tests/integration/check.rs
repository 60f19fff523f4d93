//! `wdh-migrate check`: up/down/up with a schema diff, on throw-away databases only.

use std::collections::BTreeSet;

use crate::support::*;

#[test]
fn the_bundled_set_is_exactly_reversible() {
    let run = wdh(&["check"]).migrations(&bundled_dir()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stdout.matches("  ok ").count(), 10, "{}", run.stdout);
    let json = wdh(&["check", "--json"]).migrations(&bundled_dir()).run();
    assert_eq!(json.code, 0, "{}", json.all());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let outcomes: BTreeSet<&str> = v["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, BTreeSet::from(["inverse"]));
}

#[test]
fn the_first_down_that_is_not_the_inverse_is_reported_with_a_diff() {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int PRIMARY KEY, name text);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
        ("0002_idx/up.sql", "CREATE INDEX t_name_idx ON t (name);\nALTER TABLE t ALTER COLUMN name SET DEFAULT 'x';"),
        ("0002_idx/down.sql", "ALTER TABLE t ALTER COLUMN name DROP DEFAULT;"),
        ("0003_later/up.sql", "CREATE TABLE later (id int);"),
        ("0003_later/down.sql", "-- forgot it too, but the check stops at the first"),
    ]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stdout.contains("NOT INVERSE") && run.stdout.contains("0002_idx"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("t_name_idx"),
        "the diff names the index: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("0003_later"), "{}", run.stdout);
    let json = wdh(&["check", "--json"]).migrations(dir.path()).run();
    assert_eq!(json.code, 4);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let last = v["migrations"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["outcome"], "not-inverse");
    assert_eq!(last["version"], "0002");
    assert!(
        last["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["key"].as_str().unwrap().contains("t_name_idx")),
        "{last}"
    );
}

#[test]
fn missing_irreversible_and_no_op_downs_are_reported_and_skipped() {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
        ("0002_nodown/up.sql", "CREATE TABLE u (id int);"),
        (
            "0003_irrev/up.sql",
            "-- wdh:irreversible\nINSERT INTO t VALUES (1);",
        ),
        ("0003_irrev/down.sql", ""),
        ("0004_noop/up.sql", "UPDATE t SET id = id;"),
        ("0004_noop/down.sql", "-- nothing to undo\n"),
        ("0005_v/up.sql", "CREATE VIEW v AS SELECT id FROM t;"),
        ("0005_v/down.sql", "DROP VIEW v;"),
        ("notes.md", "not a migration"),
    ]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains("missing down.sql: 0002_nodown"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("irreversible: 0003_irrev"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no-op down") && run.stdout.contains("0004_noop"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("ignored: notes.md"), "{}", run.stdout);
    assert!(run.stdout.contains("ok           0005_v"), "{}", run.stdout);
}

#[test]
fn a_migration_that_does_not_run_fails_the_check() {
    let dir = folder(&[
        (
            "0001_bad/up.sql",
            "CREATE TABLE t (id int REFERENCES nowhere (id));",
        ),
        ("0001_bad/down.sql", "DROP TABLE t;"),
    ]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("FAILED") && run.stdout.contains("nowhere"),
        "{}",
        run.stdout
    );
}

#[test]
fn layout_problems_fail_before_anything_starts() {
    let dir = folder(&[("0001-a.up.sql", "SELECT 1;")]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    run.expect(2, &["0001-a.up.sql"]);
}

#[test]
fn check_never_reads_or_touches_the_configured_database() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(
        cwd.path().join("wdh.toml"),
        "database_url = \"postgresql://app@/production?host=/nonexistent\"\n",
    )
    .unwrap();
    let run = wdh(&["check"])
        .cwd(cwd.path())
        .env(
            "DATABASE_URL",
            "postgresql://app@/production?host=/nonexistent",
        )
        .env(
            "WDH_DATABASE_URL",
            "postgresql://app@/production?host=/nonexistent",
        )
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        !run.all().contains("production") && !run.all().contains("target:"),
        "{}",
        run.all()
    );
    let run = wdh(&[
        "check",
        "--database-url",
        "postgresql://app@/production?host=/nonexistent",
    ])
    .migrations(&bundled_dir())
    .run();
    run.expect(2, &["--admin-url"]);
}

#[test]
fn check_runs_on_a_server_given_with_admin_url_and_cleans_up() {
    let cluster = wdh_testdb::TestCluster::start().unwrap();
    let run = wdh(&["check", "--admin-url", &cluster.url("postgres")])
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    let mut c = cluster.server().connect("postgres").unwrap();
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'wdh\\_test\\_%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the check's database is dropped");
}

/// A cluster with a role `r` that has a password, and the text of its hash.
fn cluster_with_a_role_that_has_a_password() -> (wdh_testdb::TestCluster, String) {
    let cluster = wdh_testdb::TestCluster::start().unwrap();
    let mut c = cluster.server().connect("postgres").unwrap();
    c.batch_execute("CREATE ROLE r LOGIN PASSWORD 'Secret-r-Pa55'")
        .unwrap();
    let hash: String = c
        .query_one("SELECT rolpassword FROM pg_authid WHERE rolname = 'r'", &[])
        .unwrap()
        .get(0);
    assert!(hash.starts_with("SCRAM-SHA-256$"), "{hash}");
    (cluster, hash)
}

/// Every trace a password hash could leave in a text: the hash, its parts,
/// the password, and hex digests a capture could compute of it.
fn assert_no_secret(text: &str, hash: &str) {
    assert!(!text.contains("Secret-r-Pa55"), "{text}");
    for part in hash.split(['$', ':', '*']).filter(|p| p.len() >= 8) {
        assert!(!text.contains(part), "a piece of the hash is shown: {text}");
    }
    assert!(!text.contains("SCRAM-SHA-256"), "{text}");
}

fn role_r(cluster: &wdh_testdb::TestCluster) -> (String, bool) {
    let mut c = cluster.server().connect("postgres").unwrap();
    let row = c
        .query_one(
            "SELECT coalesce(rolpassword, ''), rolcanlogin FROM pg_authid WHERE rolname = 'r'",
            &[],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn a_migration_that_recreates_a_role_on_a_shared_server_fails_and_never_shows_the_hash() {
    let (cluster, hash) = cluster_with_a_role_that_has_a_password();
    let admin = cluster.url("postgres");
    // Down reverts nothing: only the whole check's before and after differ.
    let noop_down = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
        ("0002_role/up.sql", "DROP ROLE IF EXISTS r; CREATE ROLE r;"),
        ("0002_role/down.sql", "-- nothing to undo\n"),
    ]);
    let run = wdh(&["check", "--admin-url", &admin])
        .migrations(noop_down.path())
        .run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stderr
            .starts_with(&format!("server: {admin} (from --admin-url)\n")),
        "the server is named first: {}",
        run.stderr
    );
    assert!(
        run.stdout.contains("SHARED OBJECTS CHANGED")
            && run.stdout.contains("~ role r: password changed (removed)")
            && run.stdout.contains("- role r: NOSUPERUSER INHERIT")
            && run.stdout.contains("+ role r: NOSUPERUSER INHERIT"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("changed roles, settings or databases"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("check: ok"), "{}", run.stdout);
    assert_no_secret(&run.all(), &hash);
    // The damage is real: that is why a shared server must be told.
    assert_eq!(role_r(&cluster), (String::new(), false));

    let mut c = cluster.server().connect("postgres").unwrap();
    c.batch_execute("ALTER ROLE r LOGIN PASSWORD 'Secret-r-Pa55'")
        .unwrap();
    let (hash, _) = role_r(&cluster);
    let json = wdh(&["check", "--json", "--admin-url", &admin])
        .migrations(noop_down.path())
        .run();
    assert_eq!(json.code, 4, "{}", json.all());
    assert_no_secret(&json.all(), &hash);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        v["global_changes"].as_array().unwrap().iter().any(|c| c
            == &serde_json::json!({"change": "secret", "key": "role r", "what": "password changed (removed)"})),
        "{v}"
    );
}

#[test]
fn a_down_must_restore_the_shared_objects_too_and_a_new_password_is_only_said_to_differ() {
    let (cluster, hash) = cluster_with_a_role_that_has_a_password();
    let admin = cluster.url("postgres");
    // The down re-creates the role with another password: everything but the hash is back.
    let dir = folder(&[
        (
            "0001_role/up.sql",
            "DROP ROLE IF EXISTS r; CREATE ROLE r LOGIN;",
        ),
        (
            "0001_role/down.sql",
            "DROP ROLE r; CREATE ROLE r LOGIN PASSWORD 'another-one';",
        ),
    ]);
    let run = wdh(&["check", "--admin-url", &admin])
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stdout.contains("NOT INVERSE") && run.stdout.contains("0001_role"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("      ~ role r: password changed\n"),
        "{}",
        run.stdout
    );
    assert_no_secret(&run.all(), &hash);
    let (now, _) = role_r(&cluster);
    assert_no_secret(&run.all(), &now);

    // A role, membership, setting, database and ALTER SYSTEM left behind on a shared server.
    let (cluster, hash) = cluster_with_a_role_that_has_a_password();
    let admin = cluster.url("postgres");
    cluster
        .server()
        .connect("postgres")
        .unwrap()
        .batch_execute("CREATE DATABASE billing")
        .unwrap();
    let dir = folder(&[
        (
            "0001_shared/up.sql",
            "CREATE ROLE app_reader; GRANT app_reader TO r; \
             ALTER ROLE r SET work_mem = '64MB'; \
             ALTER DATABASE billing SET statement_timeout = '5s'; \
             COMMENT ON ROLE r IS 'reader';",
        ),
        ("0001_shared/down.sql", ""),
    ]);
    let run = wdh(&["check", "--admin-url", &admin])
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 4, "{}", run.all());
    for line in [
        "+ role app_reader: NOSUPERUSER",
        "+ membership r in app_reader granted by postgres: WITHOUT ADMIN OPTION",
        "+ setting work_mem for role r in every database: 64MB",
        "+ setting statement_timeout for every role in database billing: 5s",
        "+ comment on role r: reader",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
    assert_no_secret(&run.all(), &hash);
}

#[test]
fn alter_system_and_other_databases_are_shared_objects_too() {
    let cluster = wdh_testdb::TestCluster::start().unwrap();
    let admin = cluster.url("postgres");
    let mut c = cluster.server().connect("postgres").unwrap();
    c.batch_execute("CREATE DATABASE billing").unwrap();
    // ALTER SYSTEM and DROP DATABASE cannot run in a transaction.
    let dir = folder(&[
        (
            "0001_system/up.sql",
            "-- wdh:no-transaction\nALTER SYSTEM SET work_mem = '77MB';\nDROP DATABASE billing;\n",
        ),
        ("0001_system/down.sql", ""),
    ]);
    let run = wdh(&["check", "--admin-url", &admin])
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 4, "{}", run.all());
    for line in [
        "+ server setting work_mem in postgresql.auto.conf: 77MB",
        "- database billing: OWNER postgres",
    ] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
    c.batch_execute("ALTER SYSTEM RESET ALL").unwrap();
}

#[test]
fn on_a_private_cluster_shared_objects_are_a_note_and_what_cannot_be_read_is_said() {
    let dir = folder(&[
        ("0001_role/up.sql", "CREATE ROLE app_reader;"),
        ("0001_role/down.sql", "DROP ROLE app_reader;"),
    ]);
    // The down restores it; the final up leaves it, which a private cluster tolerates.
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .starts_with("server: a private throw-away cluster in "),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("note: the migrations change what every database")
            && run.stdout.contains("+ role app_reader: NOSUPERUSER"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("check: ok"), "{}", run.stdout);
    // The same migrations on a shared server fail.
    let cluster = wdh_testdb::TestCluster::start().unwrap();
    let run = wdh(&["check", "--admin-url", &cluster.url("postgres")])
        .migrations(dir.path())
        .run();
    assert_eq!(run.code, 4, "{}", run.all());
    // A role that may create databases but is no superuser: what it cannot read is named.
    let mut c = cluster.server().connect("postgres").unwrap();
    c.batch_execute("CREATE ROLE tester LOGIN CREATEDB; DROP ROLE app_reader;")
        .unwrap();
    let url = cluster.url("postgres").replacen("postgres@", "tester@", 1);
    let bundled_like = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
    ]);
    let run = wdh(&["check", "--admin-url", &url])
        .migrations(bundled_like.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout
            .contains("not compared: role password hashes (reading pg_authid needs a superuser)")
            && run
                .stdout
                .contains("not compared: configuration file settings"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_view_made_from_the_current_time_is_a_warning_not_a_difference() {
    let dir = folder(&[
        (
            "0001_recent/up.sql",
            "DO $$BEGIN\n  EXECUTE format('CREATE VIEW recent AS SELECT %L::timestamptz AS since', clock_timestamp());\nEND$$;",
        ),
        ("0001_recent/down.sql", "DROP VIEW recent;"),
        ("0002_t/up.sql", "CREATE TABLE t (id int);"),
        ("0002_t/down.sql", "DROP TABLE t;"),
    ]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    let warning = run
        .stdout
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("warning: view public.recent's definition")
        })
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let re = regex::Regex::new(
        r"^      warning: view public\.recent's definition embeds a time literal that differs between runs \('(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[.\d]*\+00)' vs '(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[.\d]*\+00)'\): the view is created from the current time, so its re-creation differs; not counted as a difference$",
    )
    .unwrap();
    let caps = re.captures(warning).unwrap_or_else(|| panic!("{warning}"));
    assert_ne!(&caps[1], &caps[2]);
    assert!(
        run.stdout.contains("ok           0002_t") && run.stdout.contains("check: ok"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("NOT INVERSE"), "{}", run.stdout);

    let json = wdh(&["check", "--json"]).migrations(dir.path()).run();
    assert_eq!(json.code, 0, "{}", json.all());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let m = &v["migrations"][1];
    assert_eq!(m["outcome"], "inverse", "{v}");
    let w = &m["warnings"][0];
    assert_eq!(w["warning"], "time-literal", "{w}");
    assert_eq!(w["key"], "view public.recent", "{w}");
    assert_eq!(w["literals"].as_array().unwrap().len(), 1, "{w}");
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .ends_with("not counted as a difference"),
        "{w}"
    );
    assert!(v["migrations"][0].get("warnings").is_none(), "{v}");
}

#[test]
fn a_view_that_differs_in_another_literal_is_not_the_inverse() {
    let dir = folder(&[
        (
            "0001_tagged/up.sql",
            "DO $$BEGIN\n  EXECUTE format('CREATE VIEW tagged AS SELECT %L::text AS tag', random()::text);\nEND$$;",
        ),
        ("0001_tagged/down.sql", "DROP VIEW tagged;"),
        ("0002_t/up.sql", "CREATE TABLE t (id int);"),
        ("0002_t/down.sql", "DROP TABLE t;"),
    ]);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stdout.contains("NOT INVERSE") && run.stdout.contains("~ view public.tagged:"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("warning:"), "{}", run.stdout);
}
