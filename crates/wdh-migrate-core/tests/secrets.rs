//! No part of a password shows in anything a target prints: generated
//! passwords of every character class, in every form of connection string.

#![allow(clippy::unwrap_used)]

#[path = "support/conn_strings.rs"]
mod conn_strings;

use conn_strings::{assert_hidden, case, Case, Expect, Place};
use proptest::prelude::*;
use wdh_migrate_core::target::{redact, server_secrets, Source, Target};

fn check(case: &Case) {
    let parsed = Target::parse(&case.conn, Source::Flag);
    match (&parsed, case.expect) {
        (Ok(_), Expect::Refuse) => panic!("{case:?} must be refused"),
        (Err(e), Expect::Parse) => panic!("{case:?} must parse: {e}"),
        _ => {}
    }
    match &parsed {
        Ok(target) => {
            if case.expect != Expect::Anything {
                assert_eq!(
                    target.config().get_password(),
                    Some(case.password.as_bytes()),
                    "{case:?}: the driver reads another password"
                );
            }
            let mut texts = vec![
                ("the target line", format!("target: {target}")),
                ("Debug", format!("{target:?}")),
                ("redacted()", target.redacted()),
                ("hosts_display()", target.hosts_display()),
                ("database()", target.database().to_owned()),
            ];
            if case.expect != Expect::Anything {
                // The password the target read is the one written: scrubbing
                // removes it however a message quotes it.
                let server_says = format!("FATAL: password \"{}\" is wrong", case.password);
                texts.push(("scrub()", target.scrub(&server_says)));
                texts.push(("scrub() of the string", target.scrub(&case.conn)));
                texts.push(("redact()", redact(&server_says, &case.password)));
            }
            assert_hidden(case, &texts);
        }
        Err(e) => assert_hidden(
            case,
            &[
                ("the error", e.to_string()),
                ("its Debug", format!("{e:?}")),
            ],
        ),
    }
    match server_secrets(&case.conn, Source::Explicit) {
        Ok(secrets) if case.expect != Expect::Anything => assert_hidden(
            case,
            &[
                ("server_secrets().scrub()", secrets.scrub(&case.conn)),
                ("Secrets' Debug", format!("{secrets:?}")),
            ],
        ),
        Ok(secrets) => assert_hidden(case, &[("Secrets' Debug", format!("{secrets:?}"))]),
        Err(e) => assert_hidden(case, &[("the server_secrets error", e.to_string())]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_part_of_a_password_shows(case in case(Place::any())) {
        check(&case);
    }
}
