//! Tests of snapshots, their comparison and the rendering of changes.

use super::render::{line_diff, Op};
use super::*;

fn snap(entries: &[(&str, &str)]) -> Snapshot {
    Snapshot::from_entries(entries.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

#[test]
fn accessors() {
    let s = snap(&[("table public.b", "table (x)"), ("schema public", "")]);
    assert_eq!(s.len(), 2);
    assert!(!s.is_empty());
    assert!(Snapshot::default().is_empty());
    assert_eq!(s.get("table public.b"), Some("table (x)"));
    assert_eq!(s.get("table public.c"), None);
    assert_eq!(
        s.keys().collect::<Vec<_>>(),
        ["schema public", "table public.b"]
    );
    assert_eq!(s.iter().next(), Some(("schema public", "")));
}

#[test]
fn diff_of_equal_snapshots_is_empty() {
    let s = snap(&[("a", "1"), ("b", "2")]);
    assert!(diff(&s, &s.clone()).is_empty());
    assert!(diff(&Snapshot::default(), &Snapshot::default()).is_empty());
}

#[test]
fn diff_finds_added_removed_and_changed_in_key_order() {
    let before = snap(&[("a", "1"), ("b", "2"), ("d", "4"), ("e", "5")]);
    let after = snap(&[("b", "2"), ("c", "3"), ("d", "four"), ("f", "6")]);
    assert_eq!(
        diff(&before, &after),
        [
            Change::Removed {
                key: "a".into(),
                before: "1".into()
            },
            Change::Added {
                key: "c".into(),
                after: "3".into()
            },
            Change::Changed {
                key: "d".into(),
                before: "4".into(),
                after: "four".into()
            },
            Change::Removed {
                key: "e".into(),
                before: "5".into()
            },
            Change::Added {
                key: "f".into(),
                after: "6".into()
            },
        ]
    );
    let keys: Vec<_> = diff(&after, &before)
        .iter()
        .map(|c| c.key().to_string())
        .collect();
    assert_eq!(keys, ["a", "c", "d", "e", "f"]);
}

#[test]
fn render_single_line_changes() {
    let before = snap(&[
        ("column public.t.a", "integer"),
        (
            "index public.t_a_idx",
            "CREATE INDEX t_a_idx ON public.t USING btree (a)",
        ),
        ("schema old", ""),
    ]);
    let after = snap(&[("column public.t.a", "bigint NOT NULL"), ("schema new", "")]);
    assert_eq!(
        render(&diff(&before, &after)),
        "- column public.t.a: integer\n\
         + column public.t.a: bigint NOT NULL\n\
         - index public.t_a_idx: CREATE INDEX t_a_idx ON public.t USING btree (a)\n\
         + schema new\n\
         - schema old\n"
    );
    assert_eq!(render(&[]), "");
}

#[test]
fn render_multi_line_definitions_line_by_line() {
    let added = Change::Added {
        key: "view public.v".into(),
        after: "view\n SELECT 1;".into(),
    };
    assert_eq!(
        render(&[added]),
        "+ view public.v:\n+     view\n+      SELECT 1;\n"
    );
    let changed = Change::Changed {
        key: "function public.f()".into(),
        before: "head\nbody 1\ntail".into(),
        after: "head\nbody 2\nextra\ntail".into(),
    };
    assert_eq!(
        render(&[changed]),
        "~ function public.f():\n\
         \x20     head\n\
         -     body 1\n\
         +     body 2\n\
         +     extra\n\
         \x20     tail\n"
    );
    // A single-line definition becoming multi-line is shown line by line too.
    let grown = Change::Changed {
        key: "table public.t".into(),
        before: "table (a)".into(),
        after: "table (a)\nrow level security enabled".into(),
    };
    assert_eq!(
        render(&[grown]),
        "~ table public.t:\n\
         \x20     table (a)\n\
         +     row level security enabled\n"
    );
}

#[test]
fn render_elides_distant_unchanged_lines() {
    let before: Vec<String> = (1..=20).map(|i| format!("line {i}")).collect();
    let mut after = before.clone();
    after[9] = "line ten".into();
    let change = Change::Changed {
        key: "function public.long()".into(),
        before: before.join("\n"),
        after: after.join("\n"),
    };
    assert_eq!(
        render(&[change]),
        "~ function public.long():\n\
         \x20     ...\n\
         \x20     line 7\n\
         \x20     line 8\n\
         \x20     line 9\n\
         -     line 10\n\
         +     line ten\n\
         \x20     line 11\n\
         \x20     line 12\n\
         \x20     line 13\n\
         \x20     ...\n"
    );
}

#[test]
fn line_diff_is_a_shortest_edit() {
    let a = ["a", "b", "c", "d"];
    let b = ["a", "c", "x", "d", "e"];
    assert_eq!(
        line_diff(&a, &b),
        [
            Op::Same("a"),
            Op::Del("b"),
            Op::Same("c"),
            Op::Ins("x"),
            Op::Same("d"),
            Op::Ins("e"),
        ]
    );
    assert_eq!(line_diff(&[], &["x"]), [Op::Ins("x")]);
    assert_eq!(line_diff(&["x"], &[]), [Op::Del("x")]);
    assert_eq!(
        line_diff(&["x", "x"], &["x"]),
        [Op::Same("x"), Op::Del("x")]
    );
}
