//! The production guard, the environment marker, the override and secrets,
//! against real databases on private clusters.

use wdh_migrate_core::guard::{Environment, Marker, Override};
use wdh_migrate_core::plan::{DowngradeTo, UpgradeTo};
use wdh_migrate_core::runner::{RunError, RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::TestCluster;

use crate::support::*;

const OVERRIDE: &str = "I_KNOW_WHAT_I_AM_DOING";

#[test]
fn a_protected_claim_is_blocked_without_opening_any_connection() {
    // The socket directory does not exist: any connection attempt would fail
    // with exit 1, so exit 3 and BLOCKED prove none was made.
    let run = wdh(&[
        "downgrade",
        "base",
        "--database-url",
        "postgresql://app@/prod_db?host=/nonexistent/socket/dir",
    ])
    .run();
    run.expect(
        3,
        &[
            "BLOCKED: Refusing to downgrade potential production database.",
            "prod_db",
            "WDH_ALLOW_PRODUCTION_DOWNGRADE",
            "--confirm-database",
        ],
    );
    assert!(!run.stderr.contains("connect"), "{}", run.stderr);
    // The same for the exact command of the incident report.
    let run = wdh(&[
        "downgrade",
        "base",
        "--database-url",
        "postgresql://localhost/prod_db",
    ])
    .run();
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run
        .stderr
        .contains("BLOCKED: Refusing to downgrade potential production database."));
}

#[test]
fn the_target_and_its_source_are_printed_before_anything_and_print_target_does_not_connect() {
    let run = wdh(&[
        "--print-target",
        "status",
        "--database-url",
        "postgresql://app:hunter2@db1:5432/wdh_test_x",
    ])
    .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        run.stderr.trim(),
        "target: postgresql://app:***@db1:5432/wdh_test_x (from --database-url)"
    );
    let run = wdh(&["status", "--print-target"])
        .env("DATABASE_URL", "host=/nowhere dbname=orders user=app")
        .run();
    run.expect(0, &["(from DATABASE_URL)", "orders"]);
    let run = wdh(&["status", "--print-target"])
        .env("DATABASE_URL", "postgresql://h/from_plain")
        .env("WDH_DATABASE_URL", "postgresql://h/from_wdh")
        .run();
    assert!(
        run.stderr.contains("from_wdh (from WDH_DATABASE_URL)"),
        "{}",
        run.stderr
    );
}

/// A folder of stand-ins for the server binaries that only record that
/// they were run; `PG_BINDIR` makes the harness use them and nothing else.
fn recording_bindir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    for bin in ["initdb", "postgres", "pg_ctl", "psql", "pg_dump"] {
        let path = dir.path().join(bin);
        let script = format!(
            "#!/bin/sh\ntouch '{}/ran-{bin}'\nexit 1\n",
            dir.path().display()
        );
        std::fs::write(&path, script).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dir
}

fn ran(bindir: &tempfile::TempDir) -> Vec<String> {
    std::fs::read_dir(bindir.path())
        .expect("read")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("ran-"))
        .collect()
}

#[test]
fn a_bad_argument_fails_before_a_sandbox_starts_or_a_connection_opens() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["--sandbox", "upgrade", "--migrations", "/nonexistent/sets"],
            "error: migration directory /nonexistent/sets does not exist; create it or point to \
             the directory that holds the migrations",
        ),
        (
            &["--sandbox", "status", "--migrations", "/etc/hostname"],
            "error: /etc/hostname is not a directory; point to the directory that holds the migrations",
        ),
        (
            &["sandbox", "--upgrade", "--migrations", "/nonexistent/sets"],
            "error: migration directory /nonexistent/sets does not exist; create it or point to \
             the directory that holds the migrations",
        ),
        (
            &["--sandbox", "downgrade", "garbage"],
            "error: `garbage` is not a downgrade target: use base, a version, or -N",
        ),
        (
            &["--sandbox", "upgrade", "sideways"],
            "error: `sideways` is not an upgrade target: use head, a version, or +N",
        ),
        (
            &["--sandbox", "upgrade", "+0"],
            "error: `0` is not a positive number of steps",
        ),
        (
            &["--sandbox", "downgrade", "-1", "--lock-wait", "soon"],
            "error: --lock-wait: `soon` is not a duration (e.g. 500ms, 30s, 2m)",
        ),
        (
            &["--sandbox", "upgrade", "--statement-timeout", "0"],
            "error: --statement-timeout: `0` is out of range: give at least 1ms and at most 596h (2^31 - 1 ms)",
        ),
        (
            &["--sandbox", "--print-target", "downgrade", "nowhere"],
            "error: `nowhere` is not a downgrade target: use base, a version, or -N",
        ),
    ];
    for (args, stderr) in cases {
        let bindir = recording_bindir();
        let run = wdh(args)
            .env("PG_BINDIR", bindir.path().to_str().expect("utf-8"))
            .run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert_eq!(run.stderr.trim_end(), stderr, "{args:?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(
            ran(&bindir),
            Vec::<String>::new(),
            "{args:?} started a server binary"
        );
    }
    // The same for a configured target: no connection is attempted.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!(
        "postgresql://app@127.0.0.1:{}/wdh_test_x",
        listener.local_addr().expect("addr").port()
    );
    for args in [
        &["downgrade", "garbage"][..],
        &["upgrade", "--lock-timeout", "3 weeks"],
        &["mark", "production", "--lock-wait", "1s"],
    ] {
        let run = wdh(args).url(&url).run();
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.lines().any(|l| l.starts_with("target:")),
            "{args:?}: {}",
            run.stderr
        );
    }
    // A wrong migrations folder: the target line, then the error, and no connection.
    for args in [
        &["upgrade", "--migrations", "/nonexistent/sets"][..],
        &["status", "--migrations", "/nonexistent/sets"],
        &["current", "--migrations", "/nonexistent/sets"],
    ] {
        let run = wdh(args).url(&url).run();
        run.expect(
            2,
            &["error: migration directory /nonexistent/sets does not exist"],
        );
    }
    assert!(
        listener.accept().is_err(),
        "a command with a bad argument opened a connection"
    );
}

#[test]
fn print_target_under_sandbox_names_the_throw_away_cluster() {
    let bindir = recording_bindir();
    let run = wdh(&["--sandbox", "--print-target", "status"])
        .env("DATABASE_URL", "postgresql://app@db1/orders")
        .env("WDH_DATABASE_URL", "postgresql://app@db1/orders")
        .env("PG_BINDIR", bindir.path().to_str().expect("utf-8"))
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stderr, "target: throw-away cluster (from --sandbox)\n");
    assert_eq!(run.stdout, "");
    assert_eq!(ran(&bindir), Vec::<String>::new());
}

#[test]
fn no_source_at_all_is_an_error_naming_every_source() {
    let run = wdh(&["status"]).run();
    run.expect(
        2,
        &[
            "--database-url",
            "WDH_DATABASE_URL",
            "DATABASE_URL",
            "wdh.toml",
        ],
    );
}

#[test]
fn wdh_toml_is_the_last_source_and_rejects_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wdh.toml"),
        "database_url = \"postgresql://h/from_file\"\nmigrations = \"db\"\n",
    )
    .unwrap();
    let run = wdh(&["status", "--print-target"]).cwd(dir.path()).run();
    assert!(
        run.stderr
            .contains("from_file (from database_url in wdh.toml)"),
        "{}",
        run.stderr
    );
    let run = wdh(&["status", "--print-target"])
        .cwd(dir.path())
        .env("DATABASE_URL", "postgresql://h/from_env")
        .run();
    assert!(
        run.stderr.contains("from_env (from DATABASE_URL)"),
        "{}",
        run.stderr
    );
    std::fs::write(
        dir.path().join("wdh.toml"),
        "database_url = \"postgresql://h/x\"\ndatabse_url = \"typo\"\n",
    )
    .unwrap();
    let run = wdh(&["status"]).cwd(dir.path()).run();
    run.expect(2, &["databse_url", "wdh.toml"]);
}

/// A database with any name on a private cluster, at version 0002 of the
/// bundled set, with the given marker stored on it.
fn marked_database(cluster: &TestCluster, name: &str, marker: Option<Marker>) -> Target {
    let mut admin = cluster.server().connect("postgres").unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .unwrap();
    let target = Target::parse(&cluster.url(name), Source::Explicit).unwrap();
    Runner::new(&target, RunOptions::default())
        .upgrade(&bundled(), &UpgradeTo::Steps(2), &mut |_| {})
        .unwrap();
    if let Some(m) = marker {
        admin
            .batch_execute(&format!(
                "ALTER DATABASE \"{name}\" SET wdh.environment = '{}'",
                m.environment
            ))
            .unwrap();
        if m.locked {
            admin
                .batch_execute(&format!(
                    "ALTER DATABASE \"{name}\" SET wdh.environment_locked = 'on'"
                ))
                .unwrap();
        }
    }
    target
}

fn versions_of(target: &Target) -> Vec<String> {
    let mut c = target.config().connect(postgres::NoTls).unwrap();
    c.query(
        "SELECT version FROM wdh_migrate.applied ORDER BY version",
        &[],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn downgrade_one(target: &Target, ov: Override) -> Result<(), RunError> {
    let options = RunOptions {
        override_: ov,
        ..RunOptions::default()
    };
    Runner::new(target, options)
        .downgrade(&bundled(), &DowngradeTo::Steps(1), &mut |_| {})
        .map(|_| ())
}

#[test]
fn every_cell_of_the_truth_table_on_real_databases() {
    let cluster = TestCluster::start().unwrap();
    let markers: [(&str, Option<Marker>); 6] = [
        ("none", None),
        (
            "test",
            Some(Marker {
                environment: Environment::Test,
                locked: false,
            }),
        ),
        (
            "dev",
            Some(Marker {
                environment: Environment::Dev,
                locked: false,
            }),
        ),
        (
            "staging",
            Some(Marker {
                environment: Environment::Staging,
                locked: false,
            }),
        ),
        (
            "production",
            Some(Marker {
                environment: Environment::Production,
                locked: false,
            }),
        ),
        (
            "production_locked",
            Some(Marker {
                environment: Environment::Production,
                locked: true,
            }),
        ),
    ];
    // name class × marker → (allowed without override, allowed with the override)
    let names = [
        ("orders_test", true),
        ("wdh_test_orders", true),
        ("orders", false),
        ("attestation", false),
    ];
    for (i, (name, name_safe)) in names.iter().enumerate() {
        for (j, (marker_name, marker)) in markers.iter().enumerate() {
            let db = match *name {
                "orders_test" => format!("orders_{i}{j}_test"),
                "wdh_test_orders" => format!("wdh_test_orders_{i}{j}"),
                other => format!("{other}_{i}{j}"),
            };
            let target = marked_database(&cluster, &db, *marker);
            let protective = matches!(
                marker_name,
                &"staging" | &"production" | &"production_locked"
            );
            let safe = *name_safe && !protective;
            let before = versions_of(&target);
            let plain = downgrade_one(&target, Override::default());
            if safe {
                assert!(plain.is_ok(), "{db} marked {marker_name}: {plain:?}");
                continue;
            }
            let err = plain.unwrap_err();
            assert!(
                matches!(err, RunError::Blocked(_)),
                "{db} marked {marker_name}: {err}"
            );
            assert!(
                err.to_string()
                    .starts_with("BLOCKED: Refusing to downgrade potential production database."),
                "{err}"
            );
            assert_eq!(versions_of(&target), before, "{db}: refused, so unchanged");
            let with_override = downgrade_one(
                &target,
                Override {
                    allow_variable: Some(OVERRIDE.into()),
                    confirm_database: Some(db.clone()),
                },
            );
            if *marker_name == "production_locked" {
                let err = with_override.unwrap_err();
                assert!(matches!(err, RunError::Blocked(_)), "{db}: {err}");
                assert!(err.to_string().contains("lock"), "{err}");
                assert_eq!(versions_of(&target), before);
            } else {
                assert!(
                    with_override.is_ok(),
                    "{db} marked {marker_name}: {with_override:?}"
                );
                assert_eq!(versions_of(&target).len(), before.len() - 1);
                let mut c = target.config().connect(postgres::NoTls).unwrap();
                let audit: Vec<String> = c
                    .query("SELECT outcome || ' ' || override_used FROM wdh_migrate.audit WHERE operation = 'downgrade' ORDER BY id", &[])
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                // A refusal on the claim opens no connection, so only refusals
                // on the live facts (a protective marker) reach the audit log.
                let expected: &[&str] = if *name_safe {
                    &["refused false", "success true"]
                } else {
                    &["success true"]
                };
                assert_eq!(
                    audit, expected,
                    "{db}: the refusal and the override are audited"
                );
            }
        }
    }
}

#[test]
fn the_override_needs_the_exact_value_and_the_live_database_name() {
    let cluster = TestCluster::start().unwrap();
    let target = marked_database(&cluster, "billing", None);
    let before = versions_of(&target);
    let wrong_value = downgrade_one(
        &target,
        Override {
            allow_variable: Some("yes".into()),
            confirm_database: Some("billing".into()),
        },
    )
    .unwrap_err();
    assert!(
        wrong_value
            .to_string()
            .contains("WDH_ALLOW_PRODUCTION_DOWNGRADE"),
        "{wrong_value}"
    );
    let no_confirm = downgrade_one(
        &target,
        Override {
            allow_variable: Some(OVERRIDE.into()),
            confirm_database: None,
        },
    )
    .unwrap_err();
    assert!(
        no_confirm
            .to_string()
            .contains("`Override::confirm_database` was not given"),
        "{no_confirm}"
    );
    let other = downgrade_one(
        &target,
        Override {
            allow_variable: Some(OVERRIDE.into()),
            confirm_database: Some("wdh_test_other".into()),
        },
    )
    .unwrap_err();
    assert!(other.to_string().contains("wdh_test_other"), "{other}");
    assert_eq!(versions_of(&target), before);
    // Through the CLI: a warning, exit 0, and the audit row says so.
    let run = wdh(&["downgrade", "-1", "--confirm-database", "billing"])
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
        .migrations(&bundled_dir())
        .url(&cluster.url("billing"))
        .run();
    run.expect(0, &["WARNING:", "billing"]);
    assert_eq!(versions_of(&target).len(), before.len() - 1);
    let run = wdh(&["downgrade", "-1"])
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", "true")
        .migrations(&bundled_dir())
        .url(&cluster.url("billing"))
        .run();
    assert_eq!(run.code, 3, "{}", run.all());
}

#[test]
fn a_safe_name_marked_production_is_refused_after_connecting_and_the_refusal_is_audited() {
    let db = db();
    let t = target(&db);
    Runner::new(&t, RunOptions::default())
        .upgrade(&bundled(), &UpgradeTo::Head, &mut |_| {})
        .unwrap();
    let run = wdh(&["mark", "production"]).db(&db).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("marked production"), "{}", run.stdout);
    let before = snapshot(&db);
    let run = wdh(&["downgrade", "base"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    run.expect(3, &["BLOCKED", "production"]);
    assert_eq!(snapshot(&db), before);
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("downgrade refused false")
    );
    // The audit row says what stderr said, flags and all.
    let recorded: String = query_one(
        &db,
        "SELECT error FROM wdh_migrate.audit ORDER BY id DESC LIMIT 1",
    );
    let printed = run.stderr.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(recorded, printed);
    assert!(
        recorded.contains("AND pass --confirm-database "),
        "{recorded}"
    );
    let status = wdh(&["status"]).db(&db).migrations(&bundled_dir()).run();
    assert!(
        status.stdout.contains("marked production"),
        "{}",
        status.stdout
    );
}

#[test]
fn a_locked_marker_blocks_every_override_and_unlocking_is_guarded() {
    let db = db();
    let t = target(&db);
    Runner::new(&t, RunOptions::default())
        .upgrade(&bundled(), &UpgradeTo::Head, &mut |_| {})
        .unwrap();
    assert_eq!(
        wdh(&["mark", "production", "--locked"]).db(&db).run().code,
        0
    );
    let before = snapshot(&db);
    let run = wdh(&["downgrade", "-1", "--confirm-database", db.name()])
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    run.expect(3, &["lock"]);
    assert_eq!(snapshot(&db), before);
    // Weakening the marker needs the override too.
    for weaker in [&["mark", "production"][..], &["mark", "test"][..]] {
        let run = wdh(weaker).db(&db).run();
        assert_eq!(run.code, 3, "{}", run.all());
    }
    let marker: Option<Vec<String>> = query_one(&db, "SELECT setconfig FROM pg_db_role_setting WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())");
    assert_eq!(
        marker.unwrap(),
        ["wdh.environment=production", "wdh.environment_locked=on"]
    );
    let run = wdh(&["mark", "production", "--confirm-database", db.name()])
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
        .db(&db)
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    let run = wdh(&["downgrade", "-1", "--confirm-database", db.name()])
        .env("WDH_ALLOW_PRODUCTION_DOWNGRADE", OVERRIDE)
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    // Strengthening never needs the override.
    assert_eq!(
        wdh(&["mark", "production", "--locked"]).db(&db).run().code,
        0
    );
    let outcomes: Vec<String> = audit(&db)
        .into_iter()
        .filter(|a| a.starts_with("mark"))
        .collect();
    assert_eq!(
        outcomes,
        [
            "mark success false",
            "mark refused false",
            "mark refused false",
            "mark success true",
            "mark success false"
        ]
    );
}

#[test]
fn the_lock_is_read_as_postgresql_reads_booleans_and_an_unreadable_one_counts_as_locked() {
    use wdh_migrate_core::guard::RefusalKind;
    let cluster = TestCluster::start().unwrap();
    let production = Some(Marker {
        environment: Environment::Production,
        locked: false,
    });
    let mut admin = cluster.server().connect("postgres").unwrap();
    let cases = [
        (" TRUE ", true),
        ("y", true),
        ("On", true),
        ("1", true),
        ("maybe", true),
        ("o", true),
        ("of", false),
        ("N", false),
        ("fal", false),
    ];
    for (i, (value, locked)) in cases.into_iter().enumerate() {
        let name = format!("orders_{i}");
        let target = marked_database(&cluster, &name, production);
        admin
            .batch_execute(&format!(
                "ALTER DATABASE \"{name}\" SET wdh.environment_locked = '{value}'"
            ))
            .unwrap();
        let before = versions_of(&target);
        let result = downgrade_one(
            &target,
            Override {
                allow_variable: Some(OVERRIDE.into()),
                confirm_database: Some(name.clone()),
            },
        );
        if locked {
            match result {
                Err(RunError::Blocked(r)) => assert_eq!(r.kind, RefusalKind::Locked, "{value:?}"),
                other => panic!("{value:?} must count as locked: {other:?}"),
            }
            assert_eq!(versions_of(&target), before, "{value:?}");
        } else {
            result.unwrap_or_else(|e| panic!("{value:?} is not locked: {e}"));
            assert_eq!(versions_of(&target).len(), before.len() - 1, "{value:?}");
        }
    }
    // `status` shows what it could not read.
    let run = wdh(&["status"])
        .url(&cluster.url("orders_4"))
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains(
            "marked production (locked) (wdh.environment_locked is \"maybe\", not a boolean)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn a_session_setting_cannot_fake_a_weaker_marker() {
    let db = db();
    assert_eq!(wdh(&["mark", "production"]).db(&db).run().code, 0);
    // A role-level setting, and a startup option in the URL, both say "test".
    db.connect()
        .unwrap()
        .batch_execute(&format!(
            "ALTER ROLE postgres IN DATABASE \"{}\" SET wdh.environment = 'test'",
            db.name()
        ))
        .unwrap();
    let seen: String = query_one(&db, "SELECT current_setting('wdh.environment')");
    assert_eq!(seen, "test", "the session does see the spoofed value");
    let url = format!("{}&options=-c%20wdh.environment%3Dtest", db.url());
    let run = wdh(&["downgrade", "base", "--database-url", &url])
        .migrations(&bundled_dir())
        .run();
    run.expect(3, &["production"]);
}

#[test]
fn passwords_never_appear_in_any_output() {
    let secret = "S3cr3t-Pa55word";
    let db = db();
    // Trust authentication ignores the password, so the run gets far enough to fail in a migration.
    let url = db.url().replacen(
        "postgresql://postgres@",
        &format!("postgresql://postgres:{secret}@"),
        1,
    );
    let dir = folder(&[
        ("0001_bad/up.sql", "SELECT no_such_function();"),
        ("0001_bad/down.sql", ""),
    ]);
    let mut outputs = Vec::new();
    for args in [
        &["upgrade"][..],
        &["upgrade", "--json"][..],
        &["upgrade", "--dry-run", "--json"][..],
        &["status", "--json"][..],
        &["history"][..],
        &["--print-target", "status"][..],
        &["downgrade", "base"][..],
    ] {
        let run = wdh(args).url(&url).migrations(dir.path()).run();
        outputs.push(run.all());
    }
    // A server message that quotes the password, in text and in the --json document.
    let quoting = folder(&[
        ("0001_bad/up.sql", &format!("SELECT '{secret}'::int;")),
        ("0001_bad/down.sql", ""),
    ]);
    for args in [&["upgrade"][..], &["upgrade", "--json"][..]] {
        let run = wdh(args).url(&url).migrations(quoting.path()).run();
        run.expect(1, &["invalid input syntax for type integer"]);
        outputs.push(run.all());
    }
    let unreachable = format!("postgresql://app:{secret}@/wdh_test_x?host=/nonexistent/socket");
    for args in [&["upgrade"][..], &["upgrade", "--json"][..]] {
        outputs.push(
            wdh(args)
                .url(&unreachable)
                .migrations(dir.path())
                .run()
                .all(),
        );
    }
    outputs.push(
        wdh(&["status", "--json"])
            .url(&format!("postgresql://app:{secret}@h/"))
            .run()
            .all(),
    );
    let admin = format!("postgresql://postgres:{secret}@/postgres?host=/nonexistent/socket");
    for args in [
        &["check", "--admin-url", admin.as_str()][..],
        &["check", "--json", "--admin-url", admin.as_str()][..],
    ] {
        let run = wdh(args).migrations(dir.path()).run();
        assert_eq!(run.code, 1, "{}", run.all());
        outputs.push(run.all());
    }
    outputs.push(
        wdh(&["status"])
            .env(
                "DATABASE_URL",
                &format!("host=/nonexistent dbname=orders password={secret}"),
            )
            .run()
            .all(),
    );
    outputs.push(
        wdh(&["status"])
            .url(&format!("postgresql://app:{secret}@h/"))
            .run()
            .all(),
    );
    for out in &outputs {
        assert!(!out.contains(secret), "the password leaked:\n{out}");
    }
    assert!(
        outputs[0].contains("no_such_function"),
        "the failing run did run: {}",
        outputs[0]
    );
    let audit_targets: Vec<String> = db
        .connect()
        .unwrap()
        .query(
            "SELECT target || coalesce(error, '') FROM wdh_migrate.audit",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!audit_targets.is_empty());
    assert!(
        audit_targets.iter().all(|t| !t.contains(secret)),
        "{audit_targets:?}"
    );
}

/// A stand-in for a pooler alias: a unix-socket proxy that forwards to the
/// real server but rewrites the database of every startup message.
struct RedirectingProxy {
    dir: tempfile::TempDir,
}

impl RedirectingProxy {
    fn start(server_socket: std::path::PathBuf, to_database: &str) -> RedirectingProxy {
        use std::io::{Read, Write};
        use std::os::unix::net::{UnixListener, UnixStream};
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join(".s.PGSQL.5432")).unwrap();
        let to_database = to_database.to_string();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let Ok(mut server) = UnixStream::connect(&server_socket) else {
                    return;
                };
                // The startup message: length, protocol, then key\0value\0 pairs.
                let mut len = [0u8; 4];
                client.read_exact(&mut len).unwrap();
                let mut body = vec![0u8; u32::from_be_bytes(len) as usize - 4];
                client.read_exact(&mut body).unwrap();
                let (protocol, params) = body.split_at(4);
                let mut fields: Vec<String> = params
                    .split(|b| *b == 0)
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                for pair in fields.chunks_mut(2) {
                    if pair.len() == 2 && pair[0] == "database" {
                        pair[1] = to_database.clone();
                    }
                }
                let mut out = protocol.to_vec();
                for f in fields.iter().filter(|f| !f.is_empty()) {
                    out.extend_from_slice(f.as_bytes());
                    out.push(0);
                }
                out.push(0);
                server
                    .write_all(&((out.len() + 4) as u32).to_be_bytes())
                    .unwrap();
                server.write_all(&out).unwrap();
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut s2, &mut c2));
                std::thread::spawn(move || std::io::copy(&mut client, &mut server));
            }
        });
        RedirectingProxy { dir }
    }

    fn url(&self, database: &str) -> String {
        format!(
            "postgresql://postgres@/{database}?host={}",
            self.dir.path().display()
        )
    }
}

#[test]
fn a_connection_that_reaches_another_database_stops_before_any_statement() {
    let claimed = db();
    let reached = db();
    let cluster = wdh_testdb::TestCluster::shared().unwrap();
    let proxy = RedirectingProxy::start(
        cluster
            .socket_dir()
            .join(format!(".s.PGSQL.{}", cluster.port())),
        reached.name(),
    );
    let url = proxy.url(claimed.name());
    let before = (snapshot(&claimed), snapshot(&reached));
    for args in [
        &["upgrade"][..],
        &["downgrade", "base"][..],
        &["mark", "test"][..],
        &["status"][..],
    ] {
        let run = wdh(args).url(&url).migrations(&bundled_dir()).run();
        assert_eq!(run.code, 3, "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains(&format!(
                "reached database `{}`, but the target names `{}`",
                reached.name(),
                claimed.name()
            )),
            "{args:?}: {}",
            run.stderr
        );
    }
    assert_eq!(
        (snapshot(&claimed), snapshot(&reached)),
        before,
        "neither database was touched"
    );
    let no_ledger: bool = query_one(&reached, "SELECT to_regnamespace('wdh_migrate') IS NULL");
    assert!(no_ledger);
}

#[test]
fn look_alike_catalog_objects_on_the_search_path_cannot_fake_the_facts() {
    let db = db();
    let t = target(&db);
    Runner::new(&t, RunOptions::default())
        .upgrade(&bundled(), &UpgradeTo::Steps(2), &mut |_| {})
        .unwrap();
    assert_eq!(wdh(&["mark", "production"]).db(&db).run().code, 0);
    db.connect()
        .unwrap()
        .batch_execute(
            "CREATE VIEW public.pg_db_role_setting AS SELECT * FROM pg_catalog.pg_db_role_setting WHERE false;
             CREATE VIEW public.pg_database AS SELECT * FROM pg_catalog.pg_database WHERE false;
             CREATE FUNCTION public.current_database() RETURNS name LANGUAGE sql AS $$ SELECT 'somewhere_else'::name $$;",
        )
        .unwrap();
    let before = snapshot(&db);
    let url = format!(
        "{}&options=-c%20search_path%3Dpublic%2Cpg_catalog",
        db.url()
    );
    let run = wdh(&["downgrade", "base"])
        .url(&url)
        .migrations(&bundled_dir())
        .run();
    run.expect(3, &["BLOCKED", "production"]);
    assert_eq!(snapshot(&db), before);
}

#[test]
fn a_marker_set_while_a_downgrade_waits_for_the_lock_is_honoured() {
    let db = db();
    let t = target(&db);
    Runner::new(&t, RunOptions::default())
        .upgrade(&bundled(), &UpgradeTo::Head, &mut |_| {})
        .unwrap();
    // Another run holds the lock (its row, renewed now, a long lease).
    let mut holder = db.connect().unwrap();
    holder
        .batch_execute(
            "UPDATE wdh_migrate.lock SET holder = 'elsewhere', client = 'another run', \
             heartbeat_at = now(), acquired_at = now(), lease_ms = 600000 WHERE id = 1",
        )
        .unwrap();
    let (child, _cwd) = wdh(&["downgrade", "base", "--lock-wait", "30s"])
        .db(&db)
        .migrations(&bundled_dir())
        .spawn();
    // Wait until the downgrade is trying for the lock, then mark the database.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let waiting: i64 = holder
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wdh-migrate' \
                 AND query LIKE '%\"taken\" AS%'",
                &[],
            )
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the downgrade never waited for the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    holder
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET wdh.environment = 'production'",
            db.name()
        ))
        .unwrap();
    let before = snapshot(&db);
    holder
        .batch_execute("UPDATE wdh_migrate.lock SET holder = NULL WHERE id = 1")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("BLOCKED") && stderr.contains("production"),
        "{stderr}"
    );
    assert_eq!(snapshot(&db), before);
}

#[test]
fn passwords_never_appear_with_real_password_authentication() {
    let cluster = TestCluster::start_with(wdh_testdb::ClusterOptions {
        hba: Some("local all postgres trust\nlocal all all scram-sha-256\n".into()),
        ..Default::default()
    })
    .unwrap();
    let (secret, wrong) = ("Sc-r4m_S3cret!word", "Wr0ng_S3cret!word");
    let mut admin = cluster.server().connect("postgres").unwrap();
    admin
        .batch_execute(&format!("CREATE ROLE app LOGIN PASSWORD '{secret}'"))
        .unwrap();
    admin
        .batch_execute("CREATE DATABASE wdh_test_scram OWNER app")
        .unwrap();
    let url = |pw: &str| {
        format!(
            "postgresql://app:{}@/wdh_test_scram?host={}",
            pw.replace('!', "%21"),
            cluster.socket_dir().display()
        )
    };
    let dir = folder(&[
        ("0001_ok/up.sql", "CREATE TABLE ok (id int);"),
        ("0001_ok/down.sql", "DROP TABLE ok;"),
        ("0002_bad/up.sql", "SELECT no_such_function();"),
        ("0002_bad/down.sql", ""),
    ]);
    let mut outputs = Vec::new();
    let run = wdh(&["upgrade"])
        .url(&url(secret))
        .migrations(dir.path())
        .run();
    assert_eq!(
        run.code,
        1,
        "authenticated, then the migration failed: {}",
        run.all()
    );
    assert!(run.stderr.contains("no_such_function"), "{}", run.stderr);
    outputs.push(run.all());
    for args in [
        &["status", "--json"][..],
        &["history", "--json"][..],
        &["downgrade", "base", "--dry-run", "--json"][..],
        &["-vvv", "current"][..],
    ] {
        outputs.push(
            wdh(args)
                .url(&url(secret))
                .migrations(dir.path())
                .run()
                .all(),
        );
    }
    let refused = wdh(&["status"])
        .url(&url(wrong))
        .migrations(dir.path())
        .run();
    refused.expect(1, &["password authentication failed"]);
    outputs.push(refused.all());
    for out in &outputs {
        for pw in [
            secret,
            wrong,
            &secret.replace('!', "%21"),
            &wrong.replace('!', "%21"),
        ] {
            assert!(!out.contains(pw), "a password leaked:\n{out}");
        }
    }
}

#[test]
fn safe_words_and_prefixes_come_from_wdh_toml() {
    // The socket does not exist: passing the claim shows as a failed connection (exit 1),
    // a refusal on the claim as exit 3 without any connection.
    let url = "postgresql://app@/orders_scratch?host=/nonexistent/socket/dir";
    let cwd = tempfile::tempdir().unwrap();
    let run = wdh(&["downgrade", "base", "--database-url", url])
        .cwd(cwd.path())
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 3, "{}", run.all());
    std::fs::write(cwd.path().join("wdh.toml"), "safe_words = [\"scratch\"]\n").unwrap();
    let run = wdh(&["downgrade", "base", "--database-url", url])
        .cwd(cwd.path())
        .migrations(&bundled_dir())
        .run();
    assert_eq!(
        run.code,
        1,
        "the claim passes with the configured word: {}",
        run.all()
    );
    assert!(run.stderr.contains("could not connect"), "{}", run.stderr);
    // The configured lists replace the defaults: `test` is no longer a safe
    // word, and the refusal says where the list comes from.
    let run = wdh(&[
        "downgrade",
        "base",
        "--database-url",
        "postgresql://app@/orders_test?host=/nonexistent",
    ])
    .cwd(cwd.path())
    .migrations(&bundled_dir())
    .run();
    let file = cwd.path().join("wdh.toml");
    run.expect(
        3,
        &[&format!(
            "(safe words: scratch (from {}); prefixes: wdh_test_)",
            file.display()
        )],
    );
    std::fs::write(&file, "safe_prefixes = [\"scratch_\"]\n").unwrap();
    let run = wdh(&[
        "downgrade",
        "base",
        "--database-url",
        "postgresql://app@/scratch_orders?host=/nonexistent",
    ])
    .cwd(cwd.path())
    .migrations(&bundled_dir())
    .run();
    assert_eq!(run.code, 1, "{}", run.all());
}

#[test]
fn a_widened_guard_names_its_file_and_rule_on_every_destructive_run() {
    let cluster = TestCluster::start().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let file = cwd.path().join("wdh.toml");
    std::fs::write(
        &file,
        "safe_words = [\"scratch\"]\nsafe_prefixes = [\"ci_\"]\n",
    )
    .unwrap();
    let by_prefix = format!(
        "guard: `ci_42` is safe by the prefix `ci_` from {}",
        file.display()
    );
    let target = marked_database(&cluster, "ci_42", None);
    let down = |extra: &[&str]| {
        let mut args = vec!["downgrade", "-1"];
        args.extend_from_slice(extra);
        wdh(&args)
            .cwd(cwd.path())
            .url(&cluster.url("ci_42"))
            .migrations(&bundled_dir())
            .run()
    };
    let run = down(&[]);
    run.expect(0, &[&by_prefix]);
    assert_eq!(versions_of(&target).len(), 1);
    // Never hidden, in JSON or quiet runs either.
    for flag in ["--quiet", "--json"] {
        Runner::new(&target, RunOptions::default())
            .upgrade(&bundled(), &UpgradeTo::Steps(1), &mut |_| {})
            .unwrap();
        down(&[flag]).expect(0, &[&by_prefix]);
    }
    let run = down(&["--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stdout.contains(&format!(
            "allowed: `ci_42` is safe by the prefix `ci_` from {}",
            file.display()
        )),
        "{}",
        run.stdout
    );
    // A weaker marker is judged the same way.
    let mark = |args: &[&str]| wdh(args).cwd(cwd.path()).url(&cluster.url("ci_42")).run();
    assert_eq!(mark(&["mark", "dev", "--locked"]).code, 0);
    mark(&["mark", "dev"]).expect(0, &[&by_prefix]);

    // A built-in rule under a file that changes the other list: the file is named too.
    std::fs::write(&file, "safe_words = [\"scratch\"]\n").unwrap();
    let t = marked_database(&cluster, "wdh_test_by_default", None);
    let run = wdh(&["downgrade", "-1"])
        .cwd(cwd.path())
        .url(&cluster.url("wdh_test_by_default"))
        .migrations(&bundled_dir())
        .run();
    run.expect(
        0,
        &[&format!(
            "guard: `wdh_test_by_default` is safe by the built-in prefix `wdh_test_`; the safe \
             words come from {}",
            file.display()
        )],
    );
    assert_eq!(versions_of(&t).len(), 1);
    // Without a file that changes the lists, nothing is added.
    std::fs::remove_file(&file).unwrap();
    let run = wdh(&["downgrade", "-1"])
        .cwd(cwd.path())
        .url(&cluster.url("wdh_test_by_default"))
        .migrations(&bundled_dir())
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.stderr.contains("guard:"), "{}", run.stderr);
}

#[test]
fn a_safe_word_or_prefix_that_could_mark_the_wrong_databases_safe_is_a_configuration_error() {
    let cluster = TestCluster::start().unwrap();
    let target = marked_database(&cluster, "ci", None);
    let before = versions_of(&target);
    for (config, entry, problem) in [
        (
            "safe_words = [\"ci\"]",
            "safe word `ci`",
            "is shorter than 3 characters",
        ),
        (
            "safe_prefixes = [\"c\"]",
            "safe prefix `c`",
            "is shorter than 3 characters",
        ),
        (
            "safe_words = [\"\"]",
            "safe word ``",
            "is shorter than 3 characters",
        ),
        (
            "safe_words = [\"scratch\", \"Postgres\"]",
            "safe word `Postgres`",
            "would mark the system database `postgres` safe",
        ),
        (
            "safe_words = [\"template1\"]",
            "safe word `template1`",
            "would mark the system database `template1` safe",
        ),
        (
            "safe_prefixes = [\"post\"]",
            "safe prefix `post`",
            "would mark the system database `postgres` safe",
        ),
        (
            "safe_prefixes = [\"tem\"]",
            "safe prefix `tem`",
            "would mark the system database `template0` safe",
        ),
        (
            "safe_words = [\"ci_env\"]",
            "safe word `ci_env`",
            "holds `_`, `-` or `.`, which split a name into words, so it can never match",
        ),
    ] {
        let cwd = tempfile::tempdir().unwrap();
        let file = cwd.path().join("wdh.toml");
        std::fs::write(&file, format!("{config}\n")).unwrap();
        let expected = format!("the {entry} (from {}) {problem}", file.display());
        // Every command, before any work: no server binary runs, no target line.
        for args in [
            &["--sandbox", "downgrade", "-1"][..],
            &["--sandbox", "status"],
            &["check"],
            &["new", "x"],
        ] {
            let bindir = recording_bindir();
            let run = wdh(args)
                .cwd(cwd.path())
                .env("PG_BINDIR", bindir.path().to_str().unwrap())
                .run();
            run.expect(2, &[&expected]);
            assert!(!run.stderr.contains("target:"), "{}", run.stderr);
            assert_eq!(ran(&bindir), Vec::<String>::new(), "{args:?}");
        }
        assert!(!cwd.path().join("migrations").exists());
        let run = wdh(&["downgrade", "-1"])
            .cwd(cwd.path())
            .url(&cluster.url("ci"))
            .migrations(&bundled_dir())
            .run();
        run.expect(2, &[&expected]);
        assert_eq!(versions_of(&target), before);
    }
    // The library refuses to judge under such a policy too.
    let bad = wdh_migrate_core::guard::SafetyPolicy {
        safe_words: vec!["ci".into()],
        ..Default::default()
    };
    let err = Runner::new(
        &target,
        RunOptions {
            policy: bad,
            ..RunOptions::default()
        },
    )
    .downgrade(&bundled(), &DowngradeTo::Steps(1), &mut |_| {})
    .unwrap_err();
    assert!(err.to_string().contains("the safe word `ci`"), "{err}");
    assert_eq!(versions_of(&target), before);
}

#[test]
fn a_variable_that_is_not_utf8_is_an_error_not_a_fall_through() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"postgresql://h/wdh_test_\xff");
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = wdh(&["status", "--print-target"])
        .env("DATABASE_URL", "postgresql://h/production")
        .cwd(cwd.path())
        .command();
    cmd.env("WDH_DATABASE_URL", bad);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("WDH_DATABASE_URL is set but is not valid UTF-8"),
        "{stderr}"
    );
    assert!(!stderr.contains("production"), "{stderr}");
}

#[test]
fn a_refusal_on_the_live_facts_does_not_wait_for_the_lock() {
    let db = db();
    assert_eq!(wdh(&["mark", "production"]).db(&db).run().code, 0);
    let mut holder = db.connect().unwrap();
    holder
        .batch_execute(&format!(
            "SELECT pg_advisory_lock({})",
            wdh_migrate_core::runner::LOCK_KEY
        ))
        .unwrap();
    let before = snapshot(&db);
    let started = std::time::Instant::now();
    let run = wdh(&["downgrade", "base", "--lock-wait", "20s"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    run.expect(3, &["BLOCKED", "production"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "refused without waiting for the lock"
    );
    assert_eq!(snapshot(&db), before);
    assert_eq!(
        audit(&db).last().map(String::as_str),
        Some("downgrade refused false")
    );
}
