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
    assert_eq!(Source::AdminUrl.to_string(), "--admin-url");
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
        ("postgres://db1/100%25", "100%"),
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
        "postgres://db1:notaport/orders",
        "host=db1 dbname",
        "host=db1 dbname='orders",
        "host=db1 colour=blue dbname=orders",
        "host=db1 dbname=orders =junk",
        "postgres://db1/%FF",
        "postgres://db1/100%",
        "postgres://db1/orders?sslmode=disable&&port=5432",
        "POSTGRES://db1/orders",
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
        format!("postgresql://app@db1/orders?password={PW}"),
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
        format!("postgresql://app:{PW}@db1/orders?password={PW}"),
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

/// Refused, with every part of the password masked in the error.
fn refused(input: &str, want_redacted: &str, want_reason: &str) {
    let e = err(input);
    match &e {
        TargetError::Unparseable {
            redacted, reason, ..
        } => {
            assert_eq!(redacted, want_redacted, "{input}");
            assert!(reason.contains(want_reason), "{input}: {reason}");
        }
        other => panic!("{input}: {other:?}"),
    }
}

#[test]
fn urls_that_libpq_would_read_differently_are_refused() {
    for (input, redacted, reason) in [
        // An unencoded `@` in the password, then `/` or `?`: libpq and the
        // driver take the first `@`, and the rest would have been shown.
        (
            "postgres://app:p@ss/wXrd@db1/orders",
            "postgres://app:***@db1/orders",
            "more than one `@`",
        ),
        (
            "postgres://app:p@ss?wXrd@db1/orders",
            "postgres://app:***@db1/orders",
            "more than one `@`",
        ),
        (
            "postgresql://app:p@ss@db1:5432,db2/orders",
            "postgresql://app:***@db1:5432,db2/orders",
            "more than one `@`",
        ),
        // A `/` or `?` before the `@`: libpq reads no credentials at all.
        (
            "postgres://app:pa/ss@db1/orders",
            "postgres://app:***@db1/orders",
            "comes before the URL's `@`",
        ),
        (
            "postgres://app:pa?ss@db1/orders",
            "postgres://app:***@db1/orders",
            "comes before the URL's `@`",
        ),
        (
            "postgres://db1/orders?password=se@cXet",
            "postgres://db1/orders?password=***",
            "comes before the URL's `@`",
        ),
        (
            "postgres://db1/ord@ers",
            "postgres://db1/ord@ers",
            "comes before the URL's `@`",
        ),
        // Broken percent-encoding, which libpq refuses and the driver keeps.
        (
            "postgres://app:50%oXf@db1/orders",
            "postgres://app:***@db1/orders",
            "the password has a `%` that is not followed by two hex digits",
        ),
        (
            "postgres://app:abc%4@db1/orders",
            "postgres://app:***@db1/orders",
            "write a `%` as %25",
        ),
        (
            "postgres://app:nul%00led@db1/orders",
            "postgres://app:***@db1/orders",
            "%00",
        ),
        (
            "postgres://app@db1/orders?password=50%oXf",
            "postgres://app@db1/orders?password=***",
            "the `password` parameter has a `%`",
        ),
        // White space, which libpq refuses in a URL.
        (
            "postgres://app:pass wXrd@db1/orders",
            "postgres://app:***@db1/orders",
            "white space",
        ),
        (
            "postgres://app@db1/orders?password=pass wXrd",
            "postgres://app@db1/orders?password=***",
            "white space",
        ),
        // `&`, `=` in a raw query value; the whole value is masked, up to a
        // parameter that libpq knows.
        (
            "postgres://app@db1/orders?password=se&cXet&sslmode=disable",
            "postgres://app@db1/orders?password=***&sslmode=disable",
            "not shown: it may be part of the password",
        ),
        (
            "postgres://app@db1/orders?password=se&cr=et&sslmode=disable",
            "postgres://app@db1/orders?password=***&sslmode=disable",
            "write `&` in a password as %26",
        ),
        (
            "postgres://app@db1/orders?password=se=cXet",
            "postgres://app@db1/orders?password=***",
            "a second `=`",
        ),
        (
            "postgres://app@db1/orders?password=se#cr&et",
            "postgres://app@db1/orders?password=***",
            "not shown",
        ),
        // The password twice.
        (
            "postgres://app:onX@db1/orders?password=twX",
            "postgres://app:***@db1/orders?password=***",
            "more than once",
        ),
        (
            "postgres://db1/orders?password=onX&password=twX",
            "postgres://db1/orders?password=***&password=***",
            "more than once",
        ),
        // Other secXets, which the driver does not take.
        (
            "postgres://app@db1/orders?sslpassword=s3cXet&sslmode=disable",
            "postgres://app@db1/orders?sslpassword=***&sslmode=disable",
            "`sslpassword` is one that libpq knows",
        ),
        (
            "postgres://app@db1/orders?passfile=/home/app/.pgXass",
            "postgres://app@db1/orders?passfile=***",
            "`passfile`",
        ),
        (
            "postgres://app@db1/orders?oauth_client_secret=s3cXet",
            "postgres://app@db1/orders?oauth_client_secret=***",
            "`oauth_client_secret`",
        ),
        (
            "postgres://app@db1/orders?PASSWORD=s3cXet",
            "postgres://app@db1/orders?PASSWORD=***",
            "unknown query parameter `PASSWORD`; setting names are lower case (`password`)",
        ),
        (
            "postgres://app@db1/orders?p%41ssword=s3cXet",
            "postgres://app@db1/orders?p%41ssword=***",
            "unknown query parameter",
        ),
        // Other schemes, in any case.
        (
            "POSTGRES://app:s3cXet@db1/orders",
            "POSTGRES://app:***@db1/orders",
            "only `postgresql://` and `postgres://` URLs (in lower case)",
        ),
        (
            "mysql://app:s3@cXet@db1/orders",
            "mysql://app:***@db1/orders",
            "only `postgresql://`",
        ),
        // Unknown parameters are named when they cannot be a password.
        (
            "postgres://app:s3cXet@db1/orders?colour=blue",
            "postgres://app:***@db1/orders?colour=blue",
            "unknown query parameter `colour`",
        ),
        // IPv6 and several hosts.
        (
            "postgres://app:s3cXet@[::1/orders",
            "postgres://app:***@[::1/orders",
            "invalid value for option `host`",
        ),
        (
            "postgres://[::1]:5432/orders?password=se@cXet",
            "postgres://[:***",
            "comes before the URL's `@`",
        ),
        (
            "postgres://app:s3@cXet@h1,h2:5433/orders",
            "postgres://app:***@h1,h2:5433/orders",
            "more than one `@`",
        ),
    ] {
        refused(input, redacted, reason);
        let msg = err(input).to_string();
        for fragment in ["ss/w", "ss?w", "cXe", "oXf", "wXr", "twX", "onX", "pgX"] {
            if !input.replace("@cXet", "").contains(fragment) {
                continue;
            }
            assert!(!msg.contains(fragment), "{input} shows `{fragment}`: {msg}");
        }
    }
}

#[test]
fn key_value_strings_that_libpq_would_read_differently_are_refused() {
    for (input, redacted, reason) in [
        // An unquoted space: everything up to the next known setting could
        // be the password, so it is masked and not named.
        (
            "host=db1 password=pass wXrd dbname=orders",
            "host=db1 password=*** dbname=orders",
            "not shown: it may be part of the password",
        ),
        (
            "host=db1 password=pass wo=rXd dbname=orders",
            "host=db1 password=*** dbname=orders",
            "put a password that contains spaces in quotes",
        ),
        (
            "host=db1 password=pass wXrd",
            "host=db1 password=***",
            "not shown",
        ),
        // Quotes: text glued to the closing quote, an escaped quote that
        // leaves the value open, an unescaped quote inside.
        (
            "host=db1 password='it's' dbname=orders",
            "host=db1 password=*** dbname=orders",
            "not shown",
        ),
        (
            r"host=db1 password='it\'s dbname=orders",
            "host=db1 password=***",
            "not terminated",
        ),
        (
            "host=db1 password='' secXet dbname=orders",
            "host=db1 password=*** dbname=orders",
            "not shown",
        ),
        // A non-ASCII space outside quotes: libpq reads on, the driver stops.
        (
            "host=db1 password=pass\u{a0}wXrd dbname=orders",
            "host=db1 password=*** dbname=orders",
            "non-ASCII space",
        ),
        (
            "host=db1 password=pass\u{a0}host=evXl dbname=orders",
            "host=db1 password=*** dbname=orders",
            "non-ASCII space",
        ),
        // The password twice, other secXets, upper case.
        (
            "host=db1 password=onX password=twX dbname=orders",
            "host=db1 password=*** password=*** dbname=orders",
            "more than once",
        ),
        (
            "host=db1 sslpassword=s3cXet dbname=orders",
            "host=db1 sslpassword=*** dbname=orders",
            "`sslpassword`",
        ),
        (
            "host=db1 passfile='/home/app/.pgXass' dbname=orders",
            "host=db1 passfile=*** dbname=orders",
            "`passfile`",
        ),
        (
            "host=db1 PASSWORD=s3cXet dbname=orders",
            "host=db1 PASSWORD=*** dbname=orders",
            "unknown setting `PASSWORD`; setting names are lower case (`password`)",
        ),
        (
            "host=db1 Password = 's3 cXet' dbname=orders",
            "host=db1 Password = *** dbname=orders",
            "unknown setting `Password`",
        ),
        (
            "host=db1 password=",
            "host=db1 password=",
            "`password` has no value",
        ),
        // Unknown settings are named when they cannot be a password.
        (
            "host=db1 password='s3cXet' dbname=orders colour=blue",
            "host=db1 password=*** dbname=orders colour=blue",
            "unknown setting `colour`",
        ),
        (
            "host=db1 colour=blue password=s3cXet dbname=orders",
            "host=db1 colour=blue password=*** dbname=orders",
            "unknown setting `colour`",
        ),
        (
            "host=db1 dbname=orders password=s3cXet trXiling",
            "host=db1 dbname=orders password=***",
            "not shown",
        ),
    ] {
        refused(input, redacted, reason);
        let msg = err(input).to_string();
        for fragment in [
            "wXr", "wo=", "it's", "cXe", "twX", "onX", "pgX", "evX", "trX",
        ] {
            if !input.contains(fragment) {
                continue;
            }
            assert!(!msg.contains(fragment), "{input} shows `{fragment}`: {msg}");
        }
    }
}

#[test]
fn every_form_that_both_read_alike_parses_with_its_password() {
    for (input, password, redacted) in [
        (
            "postgres://app:p%40ss%2Fw%3Fd%25@db1/orders",
            "p@ss/w?d%",
            "postgres://app:***@db1/orders",
        ),
        (
            "postgres://app:pa:ss,[x]#&=;@db1/orders",
            "pa:ss,[x]#&=;",
            "postgres://app:***@db1/orders",
        ),
        (
            "postgres://:s3cret@db1/orders",
            "s3cret",
            "postgres://:***@db1/orders",
        ),
        (
            "postgres://app:s3cret@[::1]:5433/orders",
            "s3cret",
            "postgres://app:***@[::1]:5433/orders",
        ),
        (
            "postgresql://app:s3cret@h1,h2:5433/orders",
            "s3cret",
            "postgresql://app:***@h1,h2:5433/orders",
        ),
        (
            "postgres://db1/orders?password=a%26b%3Dc%23d&sslmode=disable",
            "a&b=c#d",
            "postgres://db1/orders?password=***&sslmode=disable",
        ),
        (
            "postgres://db1/orders?password=caf%C3%A9",
            "café",
            "postgres://db1/orders?password=***",
        ),
        (
            r"host=db1 password='it\'s a \\ test' dbname=orders",
            r"it's a \ test",
            "host=db1 password=*** dbname=orders",
        ),
        (
            r"host=db1 password=it\'s\ a\\b dbname=orders",
            r"it's a\b",
            "host=db1 password=*** dbname=orders",
        ),
        (
            "host=db1 password='pass\u{a0}word' dbname=orders",
            "pass\u{a0}word",
            "host=db1 password=*** dbname=orders",
        ),
        (
            "dbname=orders password=ends\\ ",
            "ends ",
            "dbname=orders password=***",
        ),
        (
            "host=db1 password='aXa'dbname=orders",
            "aXa",
            "host=db1 password=***dbname=orders",
        ),
    ] {
        let t = ok(input);
        assert_eq!(
            t.config().get_password(),
            Some(password.as_bytes()),
            "{input}"
        );
        assert_eq!(t.redacted(), redacted, "{input}");
        assert_eq!(t.scrub(&format!("said {password}")), "said ***", "{input}");
    }
    // A URL's user info without a password shows the user.
    assert_eq!(
        ok("postgres://app@[::1]/orders").redacted(),
        "postgres://app@[::1]/orders"
    );
}

#[test]
fn server_secrets_need_no_database() {
    let secrets = server_secrets("postgres://postgres:p%40ss@db1", Source::Explicit)
        .expect("an admin URL without a database");
    assert_eq!(secrets.scrub("p@ss and p%40ss"), "*** and ***");
    assert_eq!(format!("{secrets:?}"), "Secrets(2 hidden)");
    assert!(server_secrets("postgres://postgres@db1", Source::Explicit)
        .expect("no password")
        .is_empty());
    let e = server_secrets("postgres://postgres:p@ss@db1", Source::Explicit).unwrap_err();
    assert!(
        !e.to_string().contains("ss@db1") && e.to_string().contains("%40"),
        "{e}"
    );
}

#[test]
fn redact_masks_other_secret_settings_in_text() {
    assert_eq!(
        redact(
            "conninfo: host=h sslpassword=k3y passfile='/a b' dbname=d",
            ""
        ),
        "conninfo: host=h sslpassword=*** passfile=*** dbname=d"
    );
    assert_eq!(
        redact(
            "see postgres://u@h/d?oauth_client_secret=x&sslmode=require now",
            ""
        ),
        "see postgres://u@h/d?oauth_client_secret=***&sslmode=require now"
    );
}

#[test]
fn tls_settings_are_read_with_libpq_meaning_and_kept_from_the_driver() {
    use crate::tls::{Origin, RootCert, SslMode};
    for input in [
        "postgres://db1/orders?sslmode=verify-full&sslrootcert=/etc/ca%20dir/ca.pem&sslcert=/c.pem&sslkey=/k.pem",
        "host=db1 dbname=orders sslmode = verify-full sslrootcert='/etc/ca dir/ca.pem' sslcert=/c.pem sslkey=/k.pem",
    ] {
        let t = ok(input);
        let tls = t.tls();
        assert_eq!(tls.mode(), SslMode::VerifyFull, "{input}");
        assert_eq!(
            tls.rootcert.as_ref().map(|g| g.value.clone()),
            Some(RootCert::File("/etc/ca dir/ca.pem".into()))
        );
        assert_eq!(tls.key.as_ref().map(|g| g.origin.clone()), Some(Origin::ConnectionString));
        assert_eq!(t.config().get_ssl_mode(), postgres::config::SslMode::Require);
        // Shown as written; nothing from elsewhere.
        assert!(t.to_string().ends_with("(from the caller)"), "{t}");
    }
    // Every mode, both forms; prefer is the default.
    for mode in [
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ] {
        assert_eq!(
            ok(&format!("postgres://db1/o?sslmode={mode}"))
                .tls()
                .mode()
                .as_str(),
            mode
        );
        assert_eq!(
            ok(&format!("host=db1 dbname=o sslmode={mode}"))
                .tls()
                .mode()
                .as_str(),
            mode
        );
    }
    assert_eq!(ok("postgres://db1/o").tls().mode(), SslMode::Prefer);
    // The query without its TLS settings still parses for the driver.
    let t = ok("postgres://db1/o?sslmode=require&application_name=x&sslsni=0");
    assert_eq!(t.config().get_application_name(), Some("x"));
    let t = ok("postgres://db1/o?sslmode=require");
    assert_eq!(t.config().get_dbname(), Some("o"));
}

#[test]
fn tls_values_and_rules_are_refused_naming_the_setting() {
    let cases = [
        (
            "postgres://db1/orders?sslmode=sometimes",
            "`sslmode` is `sometimes`",
        ),
        (
            "host=db1 dbname=o sslmode=verify",
            "libpq accepts disable, allow",
        ),
        (
            "host=db1 dbname=o sslrootcert=system sslmode=require",
            "weak sslmode \"require\" may not be used with sslrootcert=system",
        ),
        (
            "host=db1 dbname=o sslnegotiation=direct",
            "weak sslmode \"prefer\" may not be used with sslnegotiation=direct",
        ),
        ("host=db1 dbname=o sslkey=/k.pem", "without sslcert"),
        (
            "hostaddr=127.0.0.1 dbname=o sslmode=verify-full",
            "only hostaddr is given",
        ),
        (
            "host=/tmp,db1 dbname=o sslmode=require",
            "mixes unix sockets with TCP hosts",
        ),
        (
            "host=db1 dbname=o ssl_max_protocol_version=TLSv1",
            "only TLSv1.2 and TLSv1.3",
        ),
        (
            "host=db1 dbname=o channel_binding=maybe",
            "`channel_binding` is `maybe`",
        ),
    ];
    for (input, needle) in cases {
        let e = err(input);
        assert!(matches!(e, TargetError::Tls { .. }), "{input}: {e:?}");
        let text = e.to_string();
        assert!(text.contains(needle), "{input}: {text}");
        assert!(text.contains("No database was contacted"), "{text}");
    }
    // Still refused: what is not supported (encrypted keys).
    assert!(matches!(
        err("host=db1 dbname=o sslpassword=x"),
        TargetError::Unparseable { .. }
    ));
    // A unix socket alone takes any mode (libpq ignores it there).
    assert!(Target::parse("host=/tmp dbname=o sslmode=verify-full", Source::Explicit).is_ok());
}

#[test]
fn tls_defaults_fill_gaps_and_show_where_they_came_from() {
    use crate::tls::{Origin, SslMode};
    let var = |v: &str| Origin::Variable(v.to_owned());
    let t = ok("postgres://db1/orders?sslmode=require")
        .with_tls_defaults(&[
            ("sslmode", "disable".into(), var("PGSSLMODE")),
            ("sslrootcert", "/ca.pem".into(), var("PGSSLROOTCERT")),
            (
                "sslcrl",
                "/home/u/.postgresql/root.crl".into(),
                Origin::DefaultFile,
            ),
        ])
        .unwrap();
    assert_eq!(t.tls().mode(), SslMode::Require, "the string wins");
    assert_eq!(
        t.to_string(),
        "postgres://db1/orders?sslmode=require (from the caller; sslrootcert=/ca.pem from \
         PGSSLROOTCERT, sslcrl=/home/u/.postgresql/root.crl from libpq's default location)"
    );
    let e = ok("postgres://db1/orders")
        .with_tls_defaults(&[("sslmode", "bogus".into(), var("PGSSLMODE"))])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`sslmode` is `bogus`") && e.contains("(from PGSSLMODE)"),
        "{e}"
    );
    // libpq's rule holds across the string and the variables.
    let e = ok("postgres://db1/orders?sslrootcert=system")
        .with_tls_defaults(&[("sslmode", "require".into(), var("PGSSLMODE"))])
        .unwrap_err()
        .to_string();
    assert!(e.contains("sslrootcert=system"), "{e}");
    // A default key without a certificate is not an error (libpq ignores it).
    assert!(ok("postgres://db1/orders")
        .with_tls_defaults(&[("sslkey", "/k".into(), Origin::DefaultFile)])
        .is_ok());
}
