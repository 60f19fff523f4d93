//! Tests of connection-string parsing, redaction and display.

use super::*;

const PW: &str = "Sup3r-s3cret";

fn parse(s: &str) -> Result<Target, TargetError> {
    Target::parse(s, Source::Explicit)
}

fn ok(s: &str) -> Target {
    match parse(s) {
        Ok(t) => t,
        Err(e) => panic!("expected {s:?} to parse, got: {e}"),
    }
}

fn err(s: &str) -> TargetError {
    match parse(s) {
        Ok(t) => panic!("expected {s:?} to be refused, got {t:?}"),
        Err(e) => e,
    }
}

#[test]
fn source_display() {
    assert_eq!(Source::Flag.to_string(), "--database-url");
    assert_eq!(Source::WdhDatabaseUrl.to_string(), "WDH_DATABASE_URL");
    assert_eq!(Source::DatabaseUrl.to_string(), "DATABASE_URL");
    assert_eq!(
        Source::ConfigFile(PathBuf::from("./wdh.toml")).to_string(),
        "database_url in ./wdh.toml"
    );
    assert_eq!(Source::Sandbox.to_string(), "--sandbox");
    assert_eq!(Source::Explicit.to_string(), "the caller");
}

#[test]
fn url_forms_name_the_database() {
    for (input, db) in [
        ("postgres://app@db1:5432/orders", "orders"),
        ("postgresql://app@db1/orders", "orders"),
        ("postgres://db1?dbname=orders", "orders"),
        ("postgres://db1/orders?dbname=orders", "orders"),
        ("postgres:///orders?host=/run/postgresql", "orders"),
        ("postgres://db1/my%20db%2Fx", "my db/x"),
        ("postgres://db1/caf%C3%A9", "café"),
        ("postgres://db1/100%", "100%"),
        ("  postgres://db1/orders\n", "orders"),
    ] {
        let t = ok(input);
        assert_eq!(t.database(), db, "{input}");
        assert_eq!(t.config().get_dbname(), Some(db), "{input}");
    }
}

#[test]
fn key_value_forms_name_the_database() {
    for (input, db) in [
        ("host=db1 dbname=orders", "orders"),
        ("host=db1 dbname = orders user=app", "orders"),
        ("dbname='my db' host=db1", "my db"),
        ("dbname=it\\'s host=db1", "it's"),
        ("dbname=orders dbname=orders", "orders"),
    ] {
        assert_eq!(ok(input).database(), db, "{input}");
    }
}

#[test]
fn missing_database_is_refused() {
    for input in [
        "postgres://app@db1:5432",
        "postgres://app@db1/",
        "postgres://db1?sslmode=disable",
        "postgres://db1/orders?dbname=",
        "host=db1 user=app",
        "host=db1 dbname=''",
        "host=db1 dbname=' '",
        "",
    ] {
        let e = err(input);
        assert!(
            matches!(e, TargetError::NoDatabase { .. }),
            "{input}: {e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains("names no database"), "{msg}");
        assert!(msg.contains("Name the database explicitly"), "{msg}");
    }
}

#[test]
fn contradicting_database_names_are_refused() {
    let e = err("postgres://db1/app_test?dbname=app");
    match &e {
        TargetError::ConflictingDatabases {
            first,
            second,
            first_in,
            second_in,
            ..
        } => {
            assert_eq!(first, "app_test");
            assert_eq!(second, "app");
            assert_eq!(*first_in, DatabasePlace::UrlPath);
            assert_eq!(*second_in, DatabasePlace::UrlParameter);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("names two different databases"));

    for input in [
        "postgres://db1/a%5Fb?dbname=a_c",
        "postgres://db1?dbname=a&dbname=b",
        "host=db1 dbname=a dbname=b",
    ] {
        let e = err(input);
        assert!(
            matches!(e, TargetError::ConflictingDatabases { .. }),
            "{input}: {e:?}"
        );
    }
    // The same name written twice, once encoded, is fine.
    assert_eq!(ok("postgres://db1/a%5Fb?dbname=a_b").database(), "a_b");
}

#[test]
fn unparseable_strings_are_refused() {
    for input in [
        "mysql://app@db1/orders",
        "postgres://db1/orders?sslmode",
        "postgres://db1/orders?sslmode=sometimes",
        "postgres://db1:notaport/orders",
        "host=db1 dbname",
        "host=db1 dbname='orders",
        "host=db1 colour=blue dbname=orders",
        "host=db1 dbname=orders =junk",
        "postgres://db1/%FF",
    ] {
        let e = err(input);
        assert!(
            matches!(e, TargetError::Unparseable { .. }),
            "{input}: {e:?}"
        );
        assert!(e
            .to_string()
            .starts_with("cannot parse the connection string"));
    }
}

#[test]
fn at_sign_in_host_part_is_refused() {
    let e = err(&format!("postgres://app:{PW}@x@db1/orders"));
    assert!(matches!(e, TargetError::Unparseable { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("%40"), "{msg}");
    assert!(!msg.contains(PW), "{msg}");
    assert!(!msg.contains("x@db1"), "over-redaction expected: {msg}");
}

#[test]
fn redacted_url_forms() {
    for (input, want) in [
        (
            format!("postgres://app:{PW}@db1:5432/orders"),
            "postgres://app:***@db1:5432/orders".to_owned(),
        ),
        (
            format!("postgres://app@db1/orders?password={PW}&sslmode=disable"),
            "postgres://app@db1/orders?password=***&sslmode=disable".to_owned(),
        ),
        (
            format!("postgres://db1/orders?p%61ssword={PW}"),
            "postgres://db1/orders?p%61ssword=***".to_owned(),
        ),
        (
            "postgres://app:p%40ss@db1/orders".to_owned(),
            "postgres://app:***@db1/orders".to_owned(),
        ),
        (
            "postgres://app@db1/orders".to_owned(),
            "postgres://app@db1/orders".to_owned(),
        ),
    ] {
        assert_eq!(ok(&input).redacted(), want);
    }
}

#[test]
fn redacted_key_value_forms() {
    for (input, want) in [
        (
            format!("host=db1 password={PW} dbname=orders"),
            "host=db1 password=*** dbname=orders".to_owned(),
        ),
        (
            format!("host=db1 password = '{PW} x\\'y' dbname=orders"),
            "host=db1 password = *** dbname=orders".to_owned(),
        ),
        (
            "host=db1 dbname=orders".to_owned(),
            "host=db1 dbname=orders".to_owned(),
        ),
    ] {
        assert_eq!(ok(&input).redacted(), want);
    }
}

#[test]
fn display_and_accessors() {
    let t = Target::parse(
        &format!("postgres://app:{PW}@db1/orders"),
        Source::ConfigFile(PathBuf::from("./wdh.toml")),
    )
    .expect("valid");
    assert_eq!(
        t.to_string(),
        "postgres://app:***@db1/orders (from database_url in ./wdh.toml)"
    );
    assert_eq!(t.source(), &Source::ConfigFile(PathBuf::from("./wdh.toml")));
    assert_eq!(t.config().get_password(), Some(PW.as_bytes()));
    assert_eq!(t.config().get_user(), Some("app"));
}

#[test]
fn hosts_display() {
    for (input, want) in [
        ("postgres://db1/orders", "db1:5432"),
        ("postgres://db1:6543/orders", "db1:6543"),
        ("postgres://db1,db2:5433/orders", "db1:5432, db2:5433"),
        ("postgres://[::1]:5433/orders", "[::1]:5433"),
        (
            "postgres:///orders?host=%2Fdev%2Fshm%2Fx",
            "/dev/shm/x (unix socket)",
        ),
        (
            "host=/dev/shm/x port=5433 dbname=orders",
            "/dev/shm/x (unix socket, port 5433)",
        ),
        (
            "host=db1 hostaddr=10.0.0.1 dbname=orders",
            "db1:5432 (address 10.0.0.1)",
        ),
        ("hostaddr=10.0.0.1 dbname=orders", "10.0.0.1:5432"),
        ("dbname=orders", "no host given"),
    ] {
        assert_eq!(ok(input).hosts_display(), want, "{input}");
    }
}

#[test]
fn password_never_shown() {
    let valid = [
        format!("postgres://app:{PW}@db1/orders"),
        format!("postgresql://app:{PW}@db1/orders?password={PW}"),
        format!("host=db1 user=app password={PW} dbname=orders"),
        format!("host=db1 password='{PW}' dbname=orders"),
    ];
    for input in &valid {
        let t = ok(input);
        for text in [
            t.to_string(),
            format!("{t:?}"),
            format!("{t:#?}"),
            t.redacted(),
            t.scrub(&format!("server said: password {PW} is wrong")),
        ] {
            assert!(!text.contains(PW), "{input} leaked in {text}");
        }
    }

    let invalid = [
        format!("postgres://app:{PW}@db1"),
        format!("postgres://app:{PW}@db1/a?dbname=b"),
        format!("postgres://app:{PW}@db1/orders?sslmode=sometimes"),
        format!("postgres://app:{PW}@db1/orders?sslmode"),
        format!("postgres://app:{PW}@h@db1/orders"),
        format!("postgres://app@db1/orders?password={PW}&colour=blue"),
        format!("postgres://app@db1/orders?PASSWORD={PW}"),
        format!("  postgres://app:{PW}@db1/orders?x"),
        format!("host=db1 password={PW} colour=blue dbname=orders"),
        format!("host=db1 password={PW}"),
        format!("host=db1 password='{PW}"),
        format!("host=db1 PASSWORD={PW} dbname=orders"),
        format!("host=db1 password = '{PW} x' dbname"),
        format!("host=db1 dbname=orders =x password={PW}"),
        format!("mysql://app:{PW}@db1/orders"),
        format!("app:{PW}@db1/orders"),
    ];
    for input in &invalid {
        let e = err(input);
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(PW), "{input} leaked in {text}");
        }
    }
}

#[test]
fn redact_helper() {
    assert_eq!(
        redact(&format!("FATAL: password {PW} rejected"), PW),
        "FATAL: password *** rejected"
    );
    assert_eq!(redact("nothing to hide", ""), "nothing to hide");
    assert_eq!(
        redact(&format!("could not connect to postgres://u:{PW}@h/db"), ""),
        "could not connect to postgres://u:***@h/db"
    );
    assert_eq!(
        redact(&format!("conninfo: host=h password={PW} dbname=d"), ""),
        "conninfo: host=h password=*** dbname=d"
    );
    assert_eq!(
        redact(&format!("password = '{PW} with spaces' dbname=d"), ""),
        "password = *** dbname=d"
    );
}

#[test]
fn scrub_also_removes_encoded_password() {
    let t = ok("postgres://app:p%40ssw0rd@db1/orders");
    assert_eq!(t.scrub("p@ssw0rd and p%40ssw0rd"), "*** and ***".to_owned());
}
