//! No part of a password shows in anything the binary prints: generated
//! connection strings of every form, given to the real binary, which
//! prints the target line (`--print-target`), fails to connect (a closed
//! port on 127.0.0.1, or a server that asks for a password and gets a
//! wrong one), logs with `-vvv` and answers with `--json`.

#[path = "../../../wdh-migrate-core/tests/support/conn_strings.rs"]
mod conn_strings;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{ClusterOptions, TestCluster};

use conn_strings::{assert_hidden, case, encode, Case, Place, DATABASE};

use crate::support::*;

/// The password of the role `app`; no generated password is it.
const RIGHT: &str = "right-password";

/// A cluster that asks every role but `postgres` for a password, with a
/// role `app` that owns [`DATABASE`].
fn password_cluster() -> TestCluster {
    let cluster = TestCluster::start_with(ClusterOptions {
        hba: Some("local all postgres trust\nlocal all all scram-sha-256\n".into()),
        ..Default::default()
    })
    .unwrap();
    let mut admin = cluster.server().connect("postgres").unwrap();
    admin
        .batch_execute(&format!("CREATE ROLE app LOGIN PASSWORD '{RIGHT}'"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {DATABASE} OWNER app"))
        .unwrap();
    cluster
}

/// A port on 127.0.0.1 that nobody listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The strings of a JSON document on stdout, decoded, if there is one.
fn json_strings(stdout: &str) -> Vec<String> {
    fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(doc) = serde_json::from_str::<serde_json::Value>(stdout) {
        strings(&doc, &mut out);
    }
    out
}

/// Runs the binary on `case` in every way that prints, and checks that
/// none of it shows part of the password. Returns the failing run's
/// stderr.
fn run_all(case: &Case) -> String {
    let parses = Target::parse(&case.conn, Source::Flag).is_ok();
    let print = wdh(&["--print-target", "status"]).url(&case.conn).run();
    if parses {
        assert_eq!(print.code, 0, "{case:?}: {}", print.all());
        assert!(print.stderr.starts_with("target: "), "{}", print.stderr);
    } else {
        assert_eq!(print.code, 2, "{case:?}: {}", print.all());
        assert!(
            print
                .stderr
                .starts_with("error: cannot parse the connection string"),
            "{}",
            print.stderr
        );
    }
    let failing = wdh(&["status"])
        .env("DATABASE_URL", &case.conn)
        .migrations(&bundled_dir())
        .stdin_null()
        .run();
    assert_ne!(failing.code, 0, "{case:?}: {}", failing.all());
    let verbose = wdh(&["-vvv", "status"])
        .url(&case.conn)
        .migrations(&bundled_dir())
        .run();
    let json = wdh(&["--json", "status"])
        .url(&case.conn)
        .migrations(&bundled_dir())
        .run();
    assert_ne!(json.code, 0, "{case:?}: {}", json.all());
    let mut texts = vec![
        ("--print-target", print.all()),
        ("a failing run", failing.all()),
        ("-vvv", verbose.all()),
        ("--json", json.all()),
    ];
    texts.extend(
        json_strings(&json.stdout)
            .into_iter()
            .map(|s| ("a --json string", s)),
    );
    assert_hidden(case, &texts);
    failing.stderr
}

#[test]
fn the_binary_shows_no_part_of_a_password() {
    let cluster = password_cluster();
    let socket = cluster.socket_dir().display().to_string();
    let port = closed_port();

    // Known cases first: a wrong password that reaches the server, and a
    // closed port, so that both failures are surely among the runs.
    let wrong = "ß@/?&#=%'\\ :,[]Жwrong€";
    let reached = Case {
        password: wrong.into(),
        form: conn_strings::Form::UrlEncoded,
        conn: format!(
            "postgresql://app:{}@/{DATABASE}?host={socket}",
            encode(wrong, true)
        ),
        expect: conn_strings::Expect::Parse,
    };
    let stderr = run_all(&reached);
    assert!(
        stderr.contains("password authentication failed"),
        "{stderr}"
    );
    let refused = Case {
        password: "ß'Ж x€".into(),
        form: conn_strings::Form::KeyValueQuoted,
        conn: format!("host=127.0.0.1 port={port} user=app password='ß\\'Ж x€' dbname={DATABASE}"),
        expect: conn_strings::Expect::Parse,
    };
    let stderr = run_all(&refused);
    assert!(stderr.contains("could not connect"), "{stderr}");

    // Then generated ones, to the closed port or to the server.
    let places = prop_oneof![
        Just(Place::Tcp {
            hosts: vec!["127.0.0.1".into()],
            port
        }),
        Just(Place::Socket(socket)),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(places), |case| {
            run_all(&case);
            Ok(())
        })
        .unwrap();

    // Nothing reached the database: no ledger was made.
    let untouched: bool = cluster
        .server()
        .connect(DATABASE)
        .unwrap()
        .query_one("SELECT to_regnamespace('wdh_migrate') IS NULL", &[])
        .unwrap()
        .get(0);
    assert!(untouched);
}

/// Generated passwords given by `PGPASSWORD` and by a password file, to a
/// server that asks for a password and gets a wrong one: no part shows in
/// the target line, the failure, `-vvv` or `--json`.
#[test]
fn a_password_from_pgpassword_or_a_password_file_never_shows() {
    use std::os::unix::fs::PermissionsExt;
    let cluster = password_cluster();
    let socket = cluster.socket_dir().display().to_string();
    let conn = format!("host={socket} user=app dbname={DATABASE}");
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 6,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&conn_strings::password(), |password| {
            let file = dir.path().join("pgpass");
            let escaped = password.replace('\\', "\\\\").replace(':', "\\:");
            std::fs::write(&file, format!("*:*:*:app:{escaped}\n")).unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
            let file = file.display().to_string();
            let case = Case {
                password: password.clone(),
                form: conn_strings::Form::KeyValueQuoted,
                conn: conn.clone(),
                expect: conn_strings::Expect::Parse,
            };
            let mut texts = Vec::new();
            for (var, value) in [("PGPASSWORD", password.as_str()), ("PGPASSFILE", &file)] {
                for args in [
                    &["--print-target", "status"][..],
                    &["status"],
                    &["-vvv", "status"],
                    &["--json", "status"],
                    &["upgrade"],
                ] {
                    let run = wdh(args)
                        .url(&conn)
                        .migrations(&bundled_dir())
                        .env(var, value)
                        .run();
                    if args[0] != "--print-target" {
                        assert_eq!(run.code, 1, "{var}: {}", run.all());
                        assert!(
                            run.stderr.contains("password authentication failed"),
                            "{var}: {}",
                            run.stderr
                        );
                    }
                    texts.push((var, run.all()));
                    texts.extend(json_strings(&run.stdout).into_iter().map(|s| (var, s)));
                }
            }
            assert_hidden(&case, &texts);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_refused_admin_url_stops_check_before_anything_runs() {
    let port = closed_port();
    for (url, shown) in [
        (
            format!("postgresql://postgres:p@ss/wXrd@127.0.0.1:{port}"),
            format!("postgresql://postgres:***@127.0.0.1:{port}"),
        ),
        (
            format!("host=127.0.0.1 port={port} user=postgres password=pass wXrd"),
            format!("host=127.0.0.1 port={port} user=postgres password=***"),
        ),
        (
            format!("postgresql://postgres@127.0.0.1:{port}?sslpassword=k3yXpass"),
            format!("postgresql://postgres@127.0.0.1:{port}?sslpassword=***"),
        ),
    ] {
        for args in [&["check"][..], &["check", "--json"]] {
            let mut args = args.to_vec();
            args.extend(["--admin-url", url.as_str()]);
            let run = wdh(&args).migrations(&bundled_dir()).run();
            // Exit 2 and no `could not connect`: nothing was tried.
            run.expect(
                2,
                &[&format!(
                    "cannot parse the connection string {shown} (from --admin-url)"
                )],
            );
            assert!(!run.all().contains("connect to"), "{}", run.all());
            for fragment in ["ss/w", "wXr", "k3y", "Xpa"] {
                assert!(!run.all().contains(fragment), "{url}: {}", run.all());
            }
        }
    }
}

/// A protected downgrade over a password login writes its snapshot (the
/// password reaches `pg_dump` in its environment) and no part of the
/// password shows in what it prints, `-vvv` and `--json` included, nor in
/// the audit rows.
#[test]
fn a_snapshot_over_a_password_login_shows_no_part_of_the_password() {
    let cluster = password_cluster();
    let socket = cluster.socket_dir().display().to_string();
    let url = format!(
        "postgresql://app:{}@/{DATABASE}?host={socket}",
        encode(RIGHT, true)
    );
    let dir = folder(&[
        (
            "0001_t/up.sql",
            "CREATE TABLE t (id integer PRIMARY KEY);\nINSERT INTO t SELECT generate_series(1, 3);\n",
        ),
        ("0001_t/down.sql", "DROP TABLE t;\n"),
    ]);
    let up = wdh(&["upgrade"]).url(&url).migrations(dir.path()).run();
    assert_eq!(up.code, 0, "{}", up.all());
    // The marker, set as the database's administrator.
    let admin = format!("postgresql://postgres@/{DATABASE}?host={socket}");
    let mark = wdh(&["mark", "production"]).url(&admin).run();
    assert_eq!(mark.code, 0, "{}", mark.all());
    let snapshots = tempfile::tempdir().unwrap();
    let run = wdh(&[
        "-vvv",
        "--json",
        "downgrade",
        "base",
        "--confirm-database",
        DATABASE,
        "--snapshot-dir",
        snapshots.path().to_str().unwrap(),
    ])
    .url(&url)
    .migrations(dir.path())
    .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", "I_KNOW_WHAT_I_AM_DOING")
    .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("snapshot: "), "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(doc["snapshot"].as_str().unwrap().ends_with(".dump"));
    let audit: Vec<String> = cluster
        .server()
        .connect(DATABASE)
        .unwrap()
        .query("SELECT row_to_json(a)::text FROM wdh_migrate.audit a", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut texts = vec![("the run", run.all())];
    texts.extend(audit.into_iter().map(|a| ("an audit row", a)));
    texts.extend(
        json_strings(&run.stdout)
            .into_iter()
            .map(|s| ("a --json string", s)),
    );
    let case = Case {
        password: RIGHT.into(),
        form: conn_strings::Form::UrlEncoded,
        conn: url.clone(),
        expect: conn_strings::Expect::Parse,
    };
    assert_hidden(&case, &texts);
}
