//! `check::run` on real throw-away databases: what a down leaves behind is
//! reported whatever kind of change it is (the captures keep what cannot
//! have changed, so each kind goes another way through them), and a
//! definition made from the current time is a warning, not a difference.

#![allow(clippy::unwrap_used)]

use wdh_migrate_core::check::{self, CheckReport, CheckWarning, Outcome};
use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::spelling::Library;
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::TestDatabase;

/// A migrations folder made of `(relative path, contents)` pairs.
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

fn run(files: &[(&str, &str)]) -> CheckReport {
    let dir = folder(files);
    let set = MigrationSet::load(dir.path()).unwrap();
    let db = TestDatabase::new().unwrap();
    let target = Target::parse(&db.url(), Source::Explicit).unwrap();
    check::run(&target, &set, &Library, &mut |_| {}).unwrap()
}

/// The migration reported as not inverse, and its diff.
fn not_inverse(report: &CheckReport) -> (String, String) {
    let m = report.first_problem().expect("a problem");
    match &m.outcome {
        Outcome::NotInverse { diff, .. } => (format!("{}_{}", m.version, m.name), diff.clone()),
        other => panic!("{other:?}"),
    }
}

const BASE_UP: &str = "CREATE TABLE t (a integer, b integer);
CREATE TABLE other (id integer PRIMARY KEY);
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_keep BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f();
COMMENT ON TABLE t IS 'kept';
CREATE VIEW v AS SELECT a FROM t;";
const BASE_DOWN: &str = "DROP VIEW v; DROP TABLE t; DROP TABLE other; DROP FUNCTION f();";

/// Each down leaves one thing behind, or takes one away, on a table or an
/// object an earlier migration made (which its up or down touched, or did
/// not): the exact difference is reported at that migration.
#[test]
fn what_a_down_leaves_behind_or_takes_away_is_reported_exactly() {
    let cases: &[(&str, &str, &str)] = &[
        // A new index on an older table, left behind.
        (
            "CREATE INDEX t_b_idx ON t (b);",
            "SELECT 1;",
            "+ index public.t_b_idx: CREATE INDEX t_b_idx ON public.t USING btree (b)\n",
        ),
        // A default on an older table's column, left behind.
        (
            "ALTER TABLE t ALTER COLUMN b SET DEFAULT 7;",
            "SELECT 1;",
            "- column public.t.b: integer\n+ column public.t.b: integer DEFAULT 7\n",
        ),
        // A comment on an older table's column, left behind.
        (
            "COMMENT ON COLUMN t.a IS 'the a';",
            "SELECT 1;",
            "+ comment column public.t.a: the a\n",
        ),
        // A grant on an older table, left behind.
        (
            "GRANT SELECT ON t TO PUBLIC;",
            "SELECT 1;",
            "+ grant table public.t: GRANT SELECT TO PUBLIC\n",
        ),
        // The down takes away what the up did not make: an older table's
        // comment, trigger, a foreign key onto another table.
        (
            "CREATE TABLE u (id integer);",
            "DROP TABLE u; COMMENT ON TABLE t IS NULL;",
            "- comment table public.t: kept\n",
        ),
        (
            "CREATE TABLE u (id integer);",
            "DROP TABLE u; DROP TRIGGER t_keep ON t;",
            "- trigger public.t.t_keep: CREATE TRIGGER t_keep BEFORE UPDATE ON public.t FOR EACH ROW EXECUTE FUNCTION public.f()\n",
        ),
        // The rest of the schema: a view the down does not put back as it was.
        (
            "CREATE TABLE u (id integer);",
            "DROP TABLE u; CREATE OR REPLACE VIEW v AS SELECT a, b FROM t;",
            "~ view public.v:\n      view\n-      SELECT t.a\n+      SELECT t.a,\n+         t.b\n         FROM public.t;\n",
        ),
    ];
    for (up, down, diff) in cases {
        let report = run(&[
            ("0001_base/up.sql", BASE_UP),
            ("0001_base/down.sql", BASE_DOWN),
            ("0002_change/up.sql", up),
            ("0002_change/down.sql", down),
            ("0003_later/up.sql", "CREATE TABLE later (id integer);"),
            ("0003_later/down.sql", "DROP TABLE later;"),
        ]);
        let (label, shown) = not_inverse(&report);
        assert_eq!(label, "0002_change", "{up} / {down}");
        assert_eq!(&shown, diff, "{up} / {down}");
    }
}

/// Two creations of a view (or a default) made from the current time
/// differ only in that time: a warning naming the object and both literals,
/// at the migration where it shows, and the check passes.
#[test]
fn a_definition_made_from_the_current_time_is_a_warning() {
    let report = run(&[
        (
            "0001_recent/up.sql",
            "DO $$BEGIN
  EXECUTE format('CREATE VIEW recent AS SELECT %L::timestamptz AS since', clock_timestamp());
  EXECUTE format('CREATE TABLE stamped (at timestamptz DEFAULT %L)', clock_timestamp());
END$$;",
        ),
        (
            "0001_recent/down.sql",
            "DROP VIEW recent; DROP TABLE stamped;",
        ),
        ("0002_t/up.sql", "CREATE TABLE t (id integer);"),
        ("0002_t/down.sql", "DROP TABLE t;"),
    ]);
    assert!(report.first_problem().is_none(), "{report:#?}");
    let warned: Vec<(String, &CheckWarning)> = report.warnings().collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    for (label, w) in &warned {
        assert_eq!(label, "0002_t");
        let CheckWarning::TimeLiteral {
            key,
            literals,
            message,
        } = w
        else {
            panic!("{w:?}")
        };
        assert_eq!(literals.len(), 1, "{w:?}");
        let [before, after] = &literals[0];
        assert_ne!(before, after);
        assert!(
            message.starts_with(&format!(
                "{key}'s definition embeds a time literal that differs between runs ('{before}' vs '{after}'): "
            )) && message.ends_with("so its re-creation differs; not counted as a difference"),
            "{message}"
        );
    }
    let keys: Vec<&str> = warned
        .iter()
        .map(|(_, w)| match w {
            CheckWarning::TimeLiteral { key, .. } => key.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(keys, ["column public.stamped.at", "view public.recent"]);
    let (_, view) = &warned[1];
    assert!(
        view.message()
            .contains("the view is created from the current time"),
        "{}",
        view.message()
    );
}

/// A view whose re-creation differs in anything but a time literal (here a
/// random number; there a time and a number) is a difference.
#[test]
fn a_definition_that_differs_in_another_literal_is_a_difference() {
    for body in [
        "EXECUTE format('CREATE VIEW tagged AS SELECT %L::text AS tag', random()::text);",
        "EXECUTE format('CREATE VIEW tagged AS SELECT %L::timestamptz AS at, %L::text AS tag', clock_timestamp(), random()::text);",
    ] {
        let report = run(&[
            ("0001_tagged/up.sql", &format!("DO $$BEGIN {body} END$$;")),
            ("0001_tagged/down.sql", "DROP VIEW tagged;"),
            ("0002_t/up.sql", "CREATE TABLE t (id integer);"),
            ("0002_t/down.sql", "DROP TABLE t;"),
        ]);
        let (label, diff) = not_inverse(&report);
        assert_eq!(label, "0002_t", "{body}");
        assert!(diff.starts_with("~ view public.tagged:\n"), "{diff}");
        assert!(report.warnings().next().is_none(), "{body}");
    }
}
