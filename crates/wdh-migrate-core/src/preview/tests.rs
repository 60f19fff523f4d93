use super::parse::named;
use super::*;

fn loss(lost: Lost, name: &str, count: Option<Count>) -> Loss {
    Loss {
        lost,
        name: name.into(),
        table: None,
        count,
    }
}

#[test]
fn losses_read_as_the_issue_says() {
    let exact = |n| Some(Count { n, exact: true });
    assert_eq!(
        loss(Lost::Table, "business.company", exact(1000)).to_string(),
        "drop table business.company (1,000 rows)"
    );
    assert_eq!(
        loss(Lost::Column, "business.plan.code", exact(12_345)).to_string(),
        "drop column business.plan.code (12,345 non-null values)"
    );
    assert_eq!(
        loss(
            Lost::Table,
            "t",
            Some(Count {
                n: 1_200_000,
                exact: false
            })
        )
        .to_string(),
        "drop table t (about 1,200,000 rows, estimated)"
    );
    assert_eq!(
        loss(Lost::Table, "t", exact(1)).to_string(),
        "drop table t (1 row)"
    );
    assert_eq!(
        loss(Lost::Table, "t", None).to_string(),
        "drop table t (rows: unknown)"
    );
    assert_eq!(
        loss(Lost::Schema, "business", None).to_string(),
        "drop schema business"
    );
    assert_eq!(
        loss(Lost::Deleted, "s.t", exact(42)).to_string(),
        "delete 42 rows from s.t"
    );
    assert_eq!(
        loss(Lost::Deleted, "s.t", None).to_string(),
        "delete rows from s.t (how many is not known without a rehearsal)"
    );
    assert_eq!(
        loss(Lost::Truncated, "s.t", exact(0)).to_string(),
        "truncate s.t (0 rows)"
    );
}

#[test]
fn thousands_are_grouped() {
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn a_preview_lists_its_lines_tables_and_json() {
    let mut company = loss(
        Lost::Table,
        "business.company",
        Some(Count { n: 3, exact: true }),
    );
    company.table = Some(("business".into(), "company".into()));
    let mut code = loss(
        Lost::Column,
        "business.company.code",
        Some(Count { n: 2, exact: true }),
    );
    code.table = Some(("business".into(), "company".into()));
    let p = Preview {
        steps: vec![
            StepPreview {
                migration: "0002_b".into(),
                method: Method::Rehearsed,
                losses: vec![code, company],
            },
            StepPreview {
                migration: "0001_a".into(),
                method: Method::ParseTree {
                    why: "no-transaction".into(),
                },
                losses: vec![],
            },
        ],
    };
    assert!(!p.is_empty());
    assert!(p.any_unrehearsed());
    assert_eq!(
        p.lines(),
        [
            "0002_b: would drop column business.company.code (2 non-null values)",
            "0002_b: would drop table business.company (3 rows)"
        ]
    );
    assert_eq!(
        p.tables_with_data(),
        [("business".to_string(), "company".to_string())]
    );
    let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    assert_eq!(json[0]["migration"], "0002_b");
    assert_eq!(json[0]["method"], "rehearsed");
    assert_eq!(json[0]["losses"][1]["lost"], "table");
    assert_eq!(json[0]["losses"][1]["count"]["n"], 3);
    assert_eq!(json[0]["losses"][1]["count"]["exact"], true);
    assert_eq!(json[1]["method"], "parse_tree");
    assert_eq!(json[1]["why"], "no-transaction");
    assert!(Preview::default().is_empty());
}

#[test]
fn the_parse_tree_names_what_a_script_destroys() {
    let got = named(
        "CREATE TABLE scratch (a int);
         DROP TABLE scratch;
         DROP TABLE business.company, \"Odd\" CASCADE;
         DROP SCHEMA mapping CASCADE;
         CREATE SCHEMA tmp; DROP SCHEMA tmp;
         ALTER TABLE business.plan DROP COLUMN code, ADD COLUMN x int;
         ALTER TABLE business.plan DROP COLUMN x;
         TRUNCATE a.t1;
         DELETE FROM a.t2 WHERE id > 3;
         DELETE FROM t3;
         DROP VIEW v; DROP INDEX i;",
    );
    let summary: Vec<String> = got
        .iter()
        .map(|n| {
            format!(
                "{:?} {} {:?} cascade={} every={}",
                n.lost, n.relation, n.column, n.cascade, n.every_row
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            "Table `business.company` None cascade=true every=true",
            "Table `\"Odd\"` None cascade=true every=true",
            "Schema `mapping` None cascade=true every=true",
            "Column `business.plan` Some(\"code\") cascade=false every=true",
            "Truncated `a.t1` None cascade=false every=true",
            "Deleted `a.t2` None cascade=false every=false",
            "Deleted `t3` None cascade=false every=true",
        ]
    );
    assert!(named("not sql at all").is_empty());
}
