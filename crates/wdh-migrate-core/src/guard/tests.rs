//! Tests of classification, decisions and refusal messages.

use super::message::shell_word;
use super::*;

fn policy() -> SafetyPolicy {
    SafetyPolicy::default()
}

fn marker(environment: Environment, locked: bool) -> Marker {
    Marker {
        environment,
        locked,
    }
}

/// Every marker the server can carry, plus none.
fn all_markers() -> Vec<Option<Marker>> {
    let mut markers = vec![None];
    for env in Environment::ALL {
        for locked in [false, true] {
            markers.push(Some(marker(env, locked)));
        }
    }
    markers
}

#[test]
fn default_policy() {
    let p = policy();
    assert_eq!(p.safe_words, ["test", "tmp", "dev", "local", "sandbox"]);
    assert_eq!(p.safe_prefixes, ["wdh_test_"]);
}

#[test]
fn names() {
    let p = policy();
    for (name, safe) in [
        ("test", true),
        ("TEST", true),
        ("app_test", true),
        ("app-Test", true),
        ("my-dev.db", true),
        ("wdh_test_abc", true),
        ("orders.tmp", true),
        ("local", true),
        ("sandbox_1", true),
        ("attestation", false),
        ("testing", false),
        ("prod_db", false),
        ("postgres", false),
        ("localhost", false),
        ("app_devops", false),
        ("app test", false),
        ("", false),
        ("app__db", false),
    ] {
        assert_eq!(classify_name(name, &p).is_safe(), safe, "{name:?}");
    }
}

#[test]
fn reasons() {
    let p = policy();
    assert_eq!(
        classify_name("app_TEST", &p),
        Classification::Safe(SafeReason::Word {
            word: "test".to_owned(),
            from: RuleSource::BuiltIn,
        })
    );
    assert_eq!(
        classify_name("app_test", &p).to_string(),
        "safe: its name contains the word `test`"
    );
    let prefixed = SafetyPolicy {
        safe_words: vec![],
        safe_prefixes: vec!["scratch".to_owned()],
        ..SafetyPolicy::default()
    };
    assert_eq!(
        classify_name("ScratchPad", &prefixed),
        Classification::Safe(SafeReason::Prefix {
            prefix: "scratch".to_owned(),
            from: RuleSource::BuiltIn,
        })
    );
    assert_eq!(
        SafeReason::Prefix {
            prefix: "wdh_test_".to_owned(),
            from: RuleSource::BuiltIn,
        }
        .to_string(),
        "its name has the prefix `wdh_test_`"
    );
    assert_eq!(
        classify_name("prod_db", &p).to_string(),
        "protected: its name matches no safe word or prefix (safe words: test, tmp, dev, \
         local, sandbox; prefixes: wdh_test_)"
    );
    assert_eq!(
        classify(
            "app_test",
            Some(&marker(Environment::Production, false)),
            &p
        )
        .to_string(),
        "protected: it is marked `production` on the server"
    );
    assert!(
        classify("prod", Some(&marker(Environment::Test, false)), &p)
            .to_string()
            .ends_with("a marker alone never makes a database safe")
    );
}

#[test]
fn empty_policy_entries_are_ignored() {
    let p = SafetyPolicy {
        safe_words: vec![String::new()],
        safe_prefixes: vec![String::new()],
        ..SafetyPolicy::default()
    };
    for name in ["prod", "prod__db", "", "prod_"] {
        assert!(!classify_name(name, &p).is_safe(), "{name:?}");
    }
}

#[test]
fn prefix_on_non_ascii_boundary() {
    let p = SafetyPolicy {
        safe_words: vec![],
        safe_prefixes: vec!["ab".to_owned()],
        ..SafetyPolicy::default()
    };
    assert!(!classify_name("é", &p).is_safe());
    assert!(!classify_name("aé", &p).is_safe());
    assert!(classify_name("AB_x", &p).is_safe());
}

/// Name classes used by the truth tables, with the policy they are
/// classified under.
fn name_classes() -> Vec<(&'static str, SafetyPolicy, bool)> {
    let prefixed = SafetyPolicy {
        safe_words: vec!["test".to_owned()],
        safe_prefixes: vec!["scratch".to_owned()],
        ..SafetyPolicy::default()
    };
    vec![
        ("app_test", policy(), true),
        ("wdh_test_abc", policy(), true),
        ("scratchpad", prefixed.clone(), true),
        ("orders", policy(), false),
        ("attestation", policy(), false),
        ("localhost", policy(), false),
        ("orders", prefixed, false),
    ]
}

#[test]
fn classification_truth_table() {
    use Environment::*;
    // (marker, safe name is safe?, unsafe name is safe?)
    let table: Vec<(Option<Marker>, bool, bool)> = vec![
        (None, true, false),
        (Some(marker(Test, false)), true, false),
        (Some(marker(Test, true)), true, false),
        (Some(marker(Dev, false)), true, false),
        (Some(marker(Dev, true)), true, false),
        (Some(marker(Staging, false)), false, false),
        (Some(marker(Staging, true)), false, false),
        (Some(marker(Production, false)), false, false),
        (Some(marker(Production, true)), false, false),
    ];
    assert_eq!(table.len(), all_markers().len());
    for (name, p, name_safe) in name_classes() {
        for (m, if_safe_name, if_unsafe_name) in &table {
            let want = if name_safe {
                *if_safe_name
            } else {
                *if_unsafe_name
            };
            let got = classify(name, m.as_ref(), &p);
            assert_eq!(got.is_safe(), want, "{name} with {m:?}: {got}");
            if let (Some(m), Classification::Protected(reason)) = (m, &got) {
                if m.environment.rank() > 0 {
                    assert_eq!(reason, &ProtectedReason::Marked { marker: *m });
                }
            }
        }
    }
}

#[test]
fn environment_strings() {
    for env in Environment::ALL {
        assert_eq!(env.to_string().parse::<Environment>(), Ok(env));
        assert_eq!(env.to_string(), env.to_string().to_lowercase());
    }
    assert_eq!(
        " Production ".parse::<Environment>(),
        Ok(Environment::Production)
    );
    let err = "prod".parse::<Environment>().expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "`prod` is not an environment; use one of production, staging, test or dev"
    );
    let long = "x".repeat(500);
    assert!(
        long.parse::<Environment>()
            .expect_err("unknown")
            .to_string()
            .len()
            < 120
    );
    assert_eq!(
        marker(Environment::Staging, true).to_string(),
        "staging (locked)"
    );
    assert_eq!(marker(Environment::Dev, false).to_string(), "dev");
}

#[test]
fn destructive_operations() {
    use Environment::*;
    assert!(!Operation::Upgrade.is_destructive());
    assert!(Operation::Downgrade { steps: 0 }.is_destructive());
    assert!(Operation::Downgrade { steps: 5 }.is_destructive());
    let mark = |from: Option<Marker>, to: Marker| Operation::Mark { from, to };
    for (from, to, destructive) in [
        (None, marker(Production, true), false),
        (None, marker(Test, false), false),
        (
            Some(marker(Production, true)),
            marker(Production, false),
            true,
        ),
        (
            Some(marker(Production, true)),
            marker(Production, true),
            false,
        ),
        (
            Some(marker(Production, false)),
            marker(Production, true),
            false,
        ),
        (Some(marker(Production, false)), marker(Staging, true), true),
        (Some(marker(Production, false)), marker(Test, false), true),
        (
            Some(marker(Staging, false)),
            marker(Production, false),
            false,
        ),
        (Some(marker(Staging, false)), marker(Dev, false), true),
        (Some(marker(Test, false)), marker(Dev, false), false),
        (Some(marker(Dev, false)), marker(Test, false), false),
        (Some(marker(Test, true)), marker(Dev, false), true),
        (Some(marker(Test, false)), marker(Staging, false), false),
    ] {
        assert_eq!(
            mark(from, to).is_destructive(),
            destructive,
            "{from:?} -> {to:?}"
        );
    }
}

/// The outcome class of a decision, for table comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Allow,
    Override,
    Refuse(RefusalKind),
    BadValue,
}

fn outcome(result: Result<Decision, GuardError>) -> Outcome {
    match result {
        Ok(Decision::Allow | Decision::AllowSafe(_)) => Outcome::Allow,
        Ok(Decision::AllowWithOverride { .. }) => Outcome::Override,
        Ok(Decision::Refuse(refusal)) => Outcome::Refuse(refusal.kind),
        Err(GuardError::BadOverrideValue { .. }) => Outcome::BadValue,
        Err(other) => panic!("unexpected error {other}"),
    }
}

/// Override combinations and the outcome each gives for a destructive,
/// non-locked operation on a protected database.
fn overrides(database: &str) -> Vec<(Override, Outcome)> {
    let set = |value: Option<&str>, confirm: Option<&str>| Override {
        allow_variable: value.map(str::to_owned),
        confirm_database: confirm.map(str::to_owned),
    };
    vec![
        (set(None, None), Outcome::Refuse(RefusalKind::Protected)),
        (
            set(None, Some(database)),
            Outcome::Refuse(RefusalKind::Protected),
        ),
        (set(Some("yes"), None), Outcome::BadValue),
        (set(Some(""), Some(database)), Outcome::BadValue),
        (
            set(Some("i_know_what_i_am_doing"), Some(database)),
            Outcome::BadValue,
        ),
        (
            set(Some("I_KNOW_WHAT_I_AM_DOING "), Some(database)),
            Outcome::BadValue,
        ),
        (
            set(Some(OVERRIDE_VALUE), None),
            Outcome::Refuse(RefusalKind::ConfirmationMissing),
        ),
        (
            set(Some(OVERRIDE_VALUE), Some("other_db")),
            Outcome::Refuse(RefusalKind::ConfirmationMismatch {
                confirmed: "other_db".to_owned(),
            }),
        ),
        (
            set(Some(OVERRIDE_VALUE), Some(&database.to_uppercase())),
            Outcome::Refuse(RefusalKind::ConfirmationMismatch {
                confirmed: database.to_uppercase(),
            }),
        ),
        (set(Some(OVERRIDE_VALUE), Some(database)), Outcome::Override),
    ]
}

fn drop_statement() -> DestructiveStatement {
    DestructiveStatement {
        file: "0003_drop/up.sql".into(),
        line: 2,
        column: 1,
        rule: "drop-table".into(),
        statement: "DROP TABLE legacy".into(),
    }
}

fn operations() -> Vec<Operation> {
    let mut ops = vec![
        Operation::Upgrade,
        Operation::Downgrade { steps: 0 },
        Operation::Downgrade { steps: 1 },
        Operation::Downgrade { steps: usize::MAX },
        Operation::DestructiveUpgrade {
            statements: vec![drop_statement()],
        },
    ];
    for from in all_markers() {
        for to in all_markers().into_iter().flatten() {
            ops.push(Operation::Mark { from, to });
        }
    }
    ops
}

/// The whole truth table: every name class x every marker x every
/// operation x every override combination.
#[test]
fn decision_truth_table() {
    let mut rows = 0;
    for (name, p, name_safe) in name_classes() {
        for m in all_markers() {
            let marked_protected = m.is_some_and(|m| m.environment.rank() > 0);
            let protected = marked_protected || !name_safe;
            let locked_production = m.is_some_and(|m| m.is_locked_production());
            for op in operations() {
                let destructive = match &op {
                    Operation::Upgrade => false,
                    Operation::Downgrade { .. } | Operation::DestructiveUpgrade { .. } => true,
                    Operation::Mark { from, to } => [from.as_ref(), m.as_ref()]
                        .into_iter()
                        .flatten()
                        .any(|current| current.is_weakened_by(to)),
                };
                let is_downgrade = matches!(
                    op,
                    Operation::Downgrade { .. } | Operation::DestructiveUpgrade { .. }
                );
                for (ov, when_protected) in overrides(name) {
                    let want = if !destructive || !protected {
                        Outcome::Allow
                    } else if locked_production && is_downgrade {
                        Outcome::Refuse(RefusalKind::Locked)
                    } else {
                        when_protected
                    };
                    let got = outcome(decide(&op, name, m.as_ref(), &p, &ov));
                    assert_eq!(got, want, "{op:?} on {name} marked {m:?} with {ov:?}");
                    rows += 1;
                }
            }
        }
    }
    assert!(rows > 5000, "{rows}");
}

#[test]
fn key_rows() {
    use Environment::*;
    let p = policy();
    let none = Override::default();
    let full = |db: &str| Override {
        allow_variable: Some(OVERRIDE_VALUE.to_owned()),
        confirm_database: Some(db.to_owned()),
    };
    let down = Operation::Downgrade { steps: 1 };
    let prod_locked = marker(Production, true);
    let prod = marker(Production, false);

    // The claim phase: the name alone decides.
    assert_eq!(
        outcome(decide(&down, "wdh_test_x", None, &p, &none)),
        Outcome::Allow
    );
    assert_eq!(
        outcome(decide(&down, "prod_db", None, &p, &none)),
        Outcome::Refuse(RefusalKind::Protected)
    );
    // A safe name marked production is protected.
    assert_eq!(
        outcome(decide(&down, "app_test", Some(&prod), &p, &none)),
        Outcome::Refuse(RefusalKind::Protected)
    );
    assert_eq!(
        outcome(decide(
            &down,
            "app_test",
            Some(&prod),
            &p,
            &full("app_test")
        )),
        Outcome::Override
    );
    // A locked production marker refuses a downgrade whatever the override.
    assert_eq!(
        outcome(decide(&down, "app", Some(&prod_locked), &p, &full("app"))),
        Outcome::Refuse(RefusalKind::Locked)
    );
    // Unlocking needs the override; with it, it is allowed.
    let unlock = Operation::Mark {
        from: Some(prod_locked),
        to: prod,
    };
    assert_eq!(
        outcome(decide(&unlock, "app", Some(&prod_locked), &p, &none)),
        Outcome::Refuse(RefusalKind::Protected)
    );
    assert_eq!(
        outcome(decide(&unlock, "app", Some(&prod_locked), &p, &full("app"))),
        Outcome::Override
    );
    // A `from` that disagrees with the server cannot hide a weakening.
    let sneaky = Operation::Mark {
        from: Some(marker(Test, false)),
        to: marker(Test, false),
    };
    assert_eq!(
        outcome(decide(&sneaky, "app", Some(&prod), &p, &none)),
        Outcome::Refuse(RefusalKind::Protected)
    );
    // Strengthening is always allowed.
    let lock = Operation::Mark {
        from: Some(prod),
        to: prod_locked,
    };
    assert_eq!(
        outcome(decide(&lock, "app", Some(&prod), &p, &none)),
        Outcome::Allow
    );
    // A bad override value on a safe database is irrelevant.
    let bad = Override {
        allow_variable: Some("yes".to_owned()),
        confirm_database: None,
    };
    assert_eq!(
        outcome(decide(&down, "app_test", None, &p, &bad)),
        Outcome::Allow
    );
}

fn refusal(op: &Operation, db: &str, m: Option<&Marker>, ov: &Override) -> Refusal {
    match decide(op, db, m, &policy(), ov) {
        Ok(Decision::Refuse(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn refusal_messages() {
    use Environment::*;
    let down = Operation::Downgrade { steps: 2 };
    let text = refusal(&down, "prod_db", None, &Override::default()).to_string();
    assert!(text.starts_with("BLOCKED: Refusing to downgrade potential production database.\n"));
    assert!(text.contains("Database: `prod_db`"), "{text}");
    assert!(
        text.contains("its name matches no safe word or prefix"),
        "{text}"
    );
    assert!(text.contains(
        "set WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING AND pass \
         `Override::confirm_database` = \"prod_db\";"
    ));
    assert!(text.contains("e.g. `wdh_test_...`"), "{text}");

    let r = refusal(
        &down,
        "app",
        Some(&marker(Production, true)),
        &Override::default(),
    );
    assert_eq!(r.kind, RefusalKind::Locked);
    assert_eq!(r.database, "app");
    let text = r.to_string();
    assert!(text.contains("it is marked `production` on the server and the marker is locked"));
    assert!(
        text.contains("`Runner::mark` with an unlocked `production` marker"),
        "{text}"
    );
    assert!(text.contains("itself guarded"), "{text}");

    let text = refusal(
        &down,
        "app",
        Some(&marker(Staging, false)),
        &Override {
            allow_variable: Some(OVERRIDE_VALUE.to_owned()),
            confirm_database: Some("other".to_owned()),
        },
    )
    .to_string();
    assert!(
        text.contains("`Override::confirm_database` names `other`, not `app`"),
        "{text}"
    );
    assert!(!text.contains("marks it safe"), "{text}");

    let text = refusal(
        &down,
        "app",
        None,
        &Override {
            allow_variable: Some(OVERRIDE_VALUE.to_owned()),
            confirm_database: None,
        },
    )
    .to_string();
    assert!(
        text.contains("`Override::confirm_database` was not given"),
        "{text}"
    );

    let weaken = Operation::Mark {
        from: Some(marker(Production, false)),
        to: marker(Dev, false),
    };
    let text = refusal(
        &weaken,
        "app",
        Some(&marker(Production, false)),
        &Override::default(),
    )
    .to_string();
    assert!(text.starts_with(
        "BLOCKED: Refusing to weaken the environment marker of potential production database.\n"
    ));
}

#[test]
fn override_warning_names_database() {
    let ov = Override {
        allow_variable: Some(OVERRIDE_VALUE.to_owned()),
        confirm_database: Some("prod_db".to_owned()),
    };
    match decide(
        &Operation::Downgrade { steps: 1 },
        "prod_db",
        None,
        &policy(),
        &ov,
    ) {
        Ok(Decision::AllowWithOverride { warning }) => {
            let warning = warning.to_string();
            assert!(warning.contains("`prod_db`"), "{warning}");
            assert!(warning.starts_with("WARNING: downgrading"), "{warning}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_override_value_is_shortened_and_escaped() {
    let ov = Override {
        allow_variable: Some(format!("line1\nline2{}", "y".repeat(1000))),
        confirm_database: Some("prod_db".to_owned()),
    };
    let err = decide(
        &Operation::Downgrade { steps: 1 },
        "prod_db",
        None,
        &policy(),
        &ov,
    )
    .expect_err("bad value");
    let text = err.to_string();
    assert!(text.starts_with("WDH_ALLOW_PRODUCTION_DOWNGRADE is set to `line1\\nline2"));
    assert!(!text.contains('\n'), "{text}");
    assert!(text.contains("...`"), "{text}");
    assert!(!text.contains(&"y".repeat(41)), "{text}");
    assert!(text.contains("protected database `prod_db`"), "{text}");
}

#[test]
fn confirm_hint_is_one_shell_word() {
    assert_eq!(shell_word("prod_db"), "prod_db");
    assert_eq!(shell_word("my db"), "'my db'");
    assert_eq!(shell_word("it's"), "'it'\\''s'");
    assert_eq!(shell_word("a`b`$(x)"), "'a`b`$(x)'");
    assert_eq!(shell_word(""), "''");
    let text = refusal(
        &Operation::Downgrade { steps: 1 },
        "my db",
        None,
        &Override::default(),
    )
    .to_string();
    assert!(
        text.contains("`Override::confirm_database` = \"my db\""),
        "{text}"
    );
}

#[test]
fn strange_names_cannot_forge_lines() {
    let r = refusal(
        &Operation::Downgrade { steps: 1 },
        "prod\nBLOCKED: nothing",
        None,
        &Override::default(),
    );
    assert_eq!(
        r.to_string()
            .lines()
            .filter(|l| l.starts_with("BLOCKED"))
            .count(),
        1
    );
}

#[test]
fn booleans_are_read_as_postgresql_reads_them() {
    for yes in [
        "on", "ON", " true ", "t", "tr", "tru", "TRUE", "yes", "y", "ye", "1", "\tOn\n",
    ] {
        assert_eq!(parse_bool(yes), Some(true), "{yes:?}");
    }
    for no in [
        "off", "of", "OFF", "false", "f", "fa", "fals", "no", "n", "N", "0", " 0 ",
    ] {
        assert_eq!(parse_bool(no), Some(false), "{no:?}");
    }
    for neither in [
        "", " ", "o", "onn", "offf", "truex", "yess", "2", "-1", "01", "enabled", "nope", "t f",
    ] {
        assert_eq!(parse_bool(neither), None, "{neither:?}");
    }
}

#[test]
fn a_stored_marker_is_never_read_as_less_protected_than_it_may_be() {
    let production = |locked| Some(marker(Environment::Production, locked));
    let read = |env: Option<&str>, lock: Option<&str>| Marker::from_stored(env, lock);
    assert_eq!(read(None, None), StoredMarker::default());
    assert_eq!(
        read(Some(" Dev "), None).marker,
        Some(marker(Environment::Dev, false))
    );
    for locked in ["on", "Yes", " t ", "1"] {
        let stored = read(Some("production"), Some(locked));
        assert_eq!(stored.marker, production(true), "{locked:?}");
        assert_eq!(stored.unreadable_lock, None);
    }
    for unlocked in ["off", "n", "FALSE", "0"] {
        assert_eq!(
            read(Some("production"), Some(unlocked)).marker,
            production(false),
            "{unlocked:?}"
        );
    }
    // An unreadable lock counts as locked, and is reported.
    let stored = read(Some("production"), Some("maybe"));
    assert_eq!(stored.marker, production(true));
    assert_eq!(stored.unreadable_lock.as_deref(), Some("maybe"));
    // An unknown environment counts as production, and is reported.
    let stored = read(Some("prod"), Some("off"));
    assert_eq!(stored.marker, production(false));
    assert_eq!(stored.unknown_environment.as_deref(), Some("prod"));
    // A lock without an environment counts as a locked production marker.
    let stored = read(None, Some("on"));
    assert_eq!(stored.marker, production(true));
    assert_eq!(stored.unknown_environment.as_deref(), Some(""));
    assert_eq!(read(None, Some("off")).marker, None);
    assert_eq!(read(None, Some("??")).marker, production(true));
}

fn from_file(words: &[&str], prefixes: Option<&[&str]>) -> SafetyPolicy {
    let file = RuleSource::File("/srv/app/wdh.toml".into());
    let mut p = SafetyPolicy {
        safe_words: words.iter().map(|w| w.to_string()).collect(),
        words_from: file.clone(),
        ..SafetyPolicy::default()
    };
    if let Some(prefixes) = prefixes {
        p.safe_prefixes = prefixes.iter().map(|w| w.to_string()).collect();
        p.prefixes_from = file;
    }
    p
}

#[test]
fn a_policy_that_could_mark_the_wrong_databases_safe_is_refused() {
    assert_eq!(SafetyPolicy::default().check(), Ok(()));
    assert_eq!(
        from_file(&["qa_env"], Some(&["ci_"])).check(),
        Err(GuardError::UnsafePolicy {
            kind: RuleKind::Word,
            entry: "`qa_env`".into(),
            from: RuleSource::File("/srv/app/wdh.toml".into()),
            problem: PolicyProblem::SplitsIntoWords,
        })
    );
    const NONE: &[&str] = &[];
    let problem = |words: &[&str], prefixes: &[&str]| match from_file(words, Some(prefixes)).check()
    {
        Err(GuardError::UnsafePolicy { problem, kind, .. }) => Some((kind, problem)),
        Ok(()) => None,
        Err(other) => panic!("{other}"),
    };
    let short = Some((RuleKind::Word, PolicyProblem::TooShort));
    assert_eq!(problem(&["ci"], NONE), short);
    assert_eq!(problem(&[""], NONE), short);
    assert_eq!(problem(&["é"], NONE), short);
    assert_eq!(
        problem(NONE, &["c_"]),
        Some((RuleKind::Prefix, PolicyProblem::TooShort))
    );
    for (words, prefixes, database) in [
        (&["Postgres"][..], NONE, "postgres"),
        (&["template0"], NONE, "template0"),
        (&["TEMPLATE1"], NONE, "template1"),
        (NONE, &["pos"], "postgres"),
        (NONE, &["POSTGRES"], "postgres"),
        (NONE, &["tem"], "template0"),
        (NONE, &["template1"], "template1"),
    ] {
        let kind = if words.is_empty() {
            RuleKind::Prefix
        } else {
            RuleKind::Word
        };
        assert_eq!(
            problem(words, prefixes),
            Some((kind, PolicyProblem::MakesSystemDatabaseSafe { database })),
            "{words:?} {prefixes:?}"
        );
    }
    for (words, prefixes) in [
        (NONE, &["ci_"][..]),
        (&["scratch", "tmp"], &["wdh_test_", "ci_", "postgres_"]),
        (&["template"], &["templates_"]),
        (NONE, &["pg_test_"]),
    ] {
        assert_eq!(problem(words, prefixes), None, "{words:?} {prefixes:?}");
    }
    let e = from_file(&["ci"], None).check().unwrap_err();
    assert_eq!(
        e.to_string(),
        "the safe word `ci` (from /srv/app/wdh.toml) is shorter than 3 characters, so it \
         could mark databases safe by accident; use a longer one"
    );
    let e = from_file(&["scratch"], Some(&["post"]))
        .check()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the safe prefix `post` (from /srv/app/wdh.toml) would mark the system database \
         `postgres` safe to downgrade; remove it or make it more specific"
    );
    // The guard refuses to decide under such a policy, even on a safe-looking name.
    let bad = from_file(&["ci"], None);
    for name in ["ci", "app_ci", "postgres"] {
        let d = decide(
            &Operation::Downgrade { steps: 1 },
            name,
            None,
            &bad,
            &Override::default(),
        );
        assert!(
            matches!(d, Err(GuardError::UnsafePolicy { .. })),
            "{name}: {d:?}"
        );
    }
    // An upgrade is not judged, so it does not care.
    assert_eq!(
        decide(&Operation::Upgrade, "ci", None, &bad, &Override::default()),
        Ok(Decision::Allow)
    );
}

#[test]
fn a_destructive_run_on_a_safe_database_says_which_configured_rule_made_it_safe() {
    let down = Operation::Downgrade { steps: 1 };
    let note =
        |name: &str, p: &SafetyPolicy| match decide(&down, name, None, p, &Override::default()) {
            Ok(Decision::AllowSafe(note)) => note,
            other => panic!("{name}: {other:?}"),
        };
    // Built in: nothing to name.
    let built_in = note("wdh_test_x", &policy());
    assert!(!built_in.names_a_source());
    assert_eq!(
        built_in.to_string(),
        "`wdh_test_x` is safe by the built-in word `test`"
    );
    let widened = from_file(&["scratch"], Some(&["ci_"]));
    let n = note("ci_42", &widened);
    assert!(n.names_a_source());
    assert_eq!(
        n.to_string(),
        "`ci_42` is safe by the prefix `ci_` from /srv/app/wdh.toml"
    );
    assert_eq!(
        note("orders_scratch", &widened).to_string(),
        "`orders_scratch` is safe by the word `scratch` from /srv/app/wdh.toml"
    );
    // A built-in rule under a policy whose other list comes from a file.
    let words_only = from_file(&["scratch"], None);
    let n = note("wdh_test_y", &words_only);
    assert!(n.names_a_source());
    assert_eq!(
        n.to_string(),
        "`wdh_test_y` is safe by the built-in prefix `wdh_test_`; the safe words come from \
         /srv/app/wdh.toml"
    );
    // A refusal names the file its lists come from.
    let refused = match decide(
        &down,
        "orders_test",
        None,
        &words_only,
        &Override::default(),
    ) {
        Ok(Decision::Refuse(r)) => r.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(
        refused.contains(
            "Protected because its name matches no safe word or prefix (safe words: scratch \
             (from /srv/app/wdh.toml); prefixes: wdh_test_)."
        ),
        "{refused}"
    );
    // Not destructive: nothing was judged, so there is no note.
    assert_eq!(
        decide(
            &Operation::Upgrade,
            "ci_42",
            None,
            &widened,
            &Override::default()
        ),
        Ok(Decision::Allow)
    );
}

#[test]
fn a_destructive_upgrade_is_refused_naming_its_statements() {
    let p = policy();
    let op = Operation::DestructiveUpgrade {
        statements: vec![drop_statement()],
    };
    let r = refusal(&op, "orders", None, &Override::default());
    assert_eq!(
        r.to_string(),
        "BLOCKED: Refusing a destructive upgrade of potential production database.\n  \
         Database: `orders`\n  \
         Destructive: 0003_drop/up.sql:2:1 DROP TABLE legacy (drop-table)\n  \
         Protected because its name matches no safe word or prefix (safe words: test, tmp, dev, local, sandbox; prefixes: wdh_test_).\n  \
         To proceed: if the loss is intended, acknowledge it in the file, a reviewed and committed decision: `-- wdh:allow drop-table <reason>` among its first comment lines;\n  \
         or set WDH_ALLOW_PRODUCTION_DOWNGRADE=I_KNOW_WHAT_I_AM_DOING AND pass `Override::confirm_database` = \"orders\";\n  \
         or use a database whose name marks it safe, e.g. `wdh_test_...`."
    );
    // A statement cannot forge a line of the message.
    let mut forged = drop_statement();
    forged.statement = "DROP TABLE x\nBLOCKED: fake".into();
    let r = refusal(
        &Operation::DestructiveUpgrade {
            statements: vec![forged],
        },
        "orders",
        None,
        &Override::default(),
    );
    assert!(
        r.to_string().contains("DROP TABLE x\\nBLOCKED: fake"),
        "{r}"
    );
    // The override lets it run, with a warning that lists the statements.
    let ov = Override {
        allow_variable: Some(OVERRIDE_VALUE.to_owned()),
        confirm_database: Some("orders".to_owned()),
    };
    match decide(&op, "orders", None, &p, &ov) {
        Ok(Decision::AllowWithOverride { warning }) => assert!(
            warning.to_string().starts_with(
                "WARNING: running a destructive upgrade on protected database `orders` because "
            ) && warning
                .to_string()
                .ends_with("\n  Destructive: 0003_drop/up.sql:2:1 DROP TABLE legacy (drop-table)"),
            "{warning}"
        ),
        other => panic!("{other:?}"),
    }
    // A locked production marker takes no override.
    let locked = marker(Environment::Production, true);
    let r = refusal(&op, "wdh_test_x", Some(&locked), &ov);
    assert_eq!(r.kind, RefusalKind::Locked);
    assert!(
        r.to_string()
            .contains("To proceed: acknowledge each statement in its file, or unlock it first"),
        "{r}"
    );
}
