//! Statements lint cannot see at first sight: a `DO` block's body (parsed
//! with libpg_query's PL/pgSQL parser, its static statements linted at
//! their line), `EXECUTE` of a string built at run time, and `CALL`.

use pg_query::protobuf::node::Node;
use pg_query::protobuf::DoStmt;
use serde_json::Value;

use super::rules;
use super::walk::{Ask, FileCx, Pos};

const ACKNOWLEDGE: &str = "write the statements in the file itself, where lint sees them; or check them by hand and acknowledge it with `-- wdh:allow hidden-sql <reason>`";

pub(super) fn call(cx: &mut FileCx<'_>) {
    cx.hit(
        &rules::HIDDEN_SQL,
        -1,
        "`CALL` runs the procedure's statements, which lint cannot see".into(),
        ACKNOWLEDGE.into(),
        Ask::Nothing,
    );
}

pub(super) fn do_block(cx: &mut FileCx<'_>, s: &DoStmt) {
    let mut body = None;
    let mut language = "plpgsql".to_string();
    for arg in &s.args {
        let Some(Node::DefElem(d)) = arg.node.as_ref() else {
            continue;
        };
        let Some(Node::String(v)) = d.arg.as_ref().and_then(|a| a.node.as_ref()) else {
            continue;
        };
        match d.defname.as_str() {
            "as" => body = Some((v.sval.clone(), d.location)),
            "language" => language = v.sval.to_ascii_lowercase(),
            _ => {}
        }
    }
    let Some((body, location)) = body else {
        return;
    };
    if language != "plpgsql" {
        cx.hit(
            &rules::HIDDEN_SQL,
            -1,
            format!("a `DO` block in `{language}`: lint cannot see its statements"),
            ACKNOWLEDGE.into(),
            Ask::Nothing,
        );
        return;
    }
    let mut tag = String::from("wdh_lint");
    while body.contains(&format!("${tag}$")) {
        tag.push('_');
    }
    let function = format!(
        "CREATE FUNCTION pg_temp.wdh_lint() RETURNS void LANGUAGE plpgsql AS ${tag}${body}${tag}$"
    );
    let tree = match pg_query::parse_plpgsql(&function) {
        Ok(tree) => tree,
        Err(e) => {
            let e = e.to_string();
            cx.hit(
                &rules::HIDDEN_SQL,
                -1,
                format!(
                    "lint could not parse this `DO` block ({}), so its statements are not checked",
                    e.strip_prefix("Parse error: ").unwrap_or(&e)
                ),
                ACKNOWLEDGE.into(),
                Ask::Nothing,
            );
            return;
        }
    };
    // Line 1 of the body is the line its opening quote is on.
    let first_line = cx.nested_pos().unwrap_or_else(|| cx.pos_of(location)).line;
    let mut statements = Vec::new();
    collect(&tree, &mut statements);
    for (lineno, statement) in statements {
        let pos = cx.nested_pos().unwrap_or_else(|| {
            cx.lines
                .first_on_line(first_line + lineno.saturating_sub(1))
        });
        match statement {
            Inner::Static(sql) => {
                // PL/pgSQL accepted it; a statement the SQL parser rejects
                // (it names a variable where SQL takes none) is skipped.
                let _ = cx.nested(&sql, pos);
            }
            Inner::Dynamic(what) => hidden_at(cx, pos, what),
        }
    }
}

/// A statement inside a `DO` block.
enum Inner {
    /// Static SQL, or a constant string given to `EXECUTE`.
    Static(String),
    /// Built when the block runs; what it is.
    Dynamic(&'static str),
}

/// The statements of a PL/pgSQL parse tree, with their line in the body.
fn collect(value: &Value, out: &mut Vec<(usize, Inner)>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        Value::Object(map) => {
            for (key, v) in map {
                let line = || {
                    v.get("lineno")
                        .and_then(Value::as_u64)
                        .and_then(|l| usize::try_from(l).ok())
                        .unwrap_or(1)
                };
                let query = |field: &str| {
                    v.get(field)
                        .and_then(|e| e.get("PLpgSQL_expr"))
                        .and_then(|e| e.get("query"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                };
                match key.as_str() {
                    "PLpgSQL_stmt_execsql" => {
                        if let Some(q) = query("sqlstmt") {
                            out.push((line(), Inner::Static(q)));
                        }
                    }
                    "PLpgSQL_stmt_dynexecute" => {
                        let constant = query("query").and_then(|q| constant_string(&q));
                        out.push((
                            line(),
                            match constant {
                                Some(sql) => Inner::Static(sql),
                                None => Inner::Dynamic(
                                    "`EXECUTE` of a string built when the block runs",
                                ),
                            },
                        ));
                    }
                    "PLpgSQL_stmt_dynfors" => {
                        out.push((
                            line(),
                            Inner::Dynamic(
                                "`FOR … IN EXECUTE` of a string built when the block runs",
                            ),
                        ));
                    }
                    "PLpgSQL_stmt_call" => {
                        out.push((line(), Inner::Dynamic("`CALL` of a procedure")))
                    }
                    _ => {}
                }
                collect(v, out);
            }
        }
        _ => {}
    }
}

/// The value of an expression that is one string constant (`'DROP TABLE
/// t'`), as `EXECUTE` would run it.
fn constant_string(expr: &str) -> Option<String> {
    let parsed =
        pg_query::parse(&format!("SELECT {expr}"), pg_query::ParserOptions::DEFAULT).ok()?;
    let Node::SelectStmt(s) = parsed
        .protobuf
        .stmts
        .first()?
        .stmt
        .as_ref()?
        .node
        .as_ref()?
    else {
        return None;
    };
    let [target] = s.target_list.as_slice() else {
        return None;
    };
    let Node::ResTarget(t) = target.node.as_ref()? else {
        return None;
    };
    match t.val.as_ref()?.node.as_ref()? {
        Node::AConst(c) => match c.val.as_ref()? {
            pg_query::protobuf::a_const::Val::Sval(s) => Some(s.sval.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn hidden_at(cx: &mut FileCx<'_>, pos: Pos, what: &str) {
    let saved = cx.hits.len();
    cx.hit(
        &rules::HIDDEN_SQL,
        -1,
        format!("{what} inside a `DO` block: lint cannot see the statement"),
        ACKNOWLEDGE.into(),
        Ask::Nothing,
    );
    if let Some(h) = cx.hits.get_mut(saved) {
        h.pos = pos;
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fires, hits, quiet};

    #[test]
    fn statements_inside_a_do_block_are_linted_at_their_line() {
        let sql =
            "SELECT 1;\nDO $$\nBEGIN\n  IF true THEN\n    DROP TABLE legacy;\n  END IF;\nEND $$;";
        fires("drop-table", sql, (5, 5));
        fires(
            "index-without-concurrently",
            "DO LANGUAGE plpgsql 'BEGIN CREATE INDEX i ON t (a); END';",
            (1, 1),
        );
        fires(
            "truncate",
            "DO $$\nBEGIN\n  EXECUTE 'TRUNCATE t';\nEND $$;",
            (3, 3),
        );
        quiet(
            "drop-table",
            "DO $$ BEGIN RAISE NOTICE 'no drop here'; END $$;",
        );
    }

    #[test]
    fn what_lint_cannot_see() {
        fires(
            "hidden-sql",
            "DO $$\nBEGIN\n  EXECUTE format('DROP TABLE %I', 't');\nEND $$;",
            (3, 3),
        );
        fires("hidden-sql", "DO LANGUAGE plpython3u $$ pass $$;", (1, 1));
        fires(
            "hidden-sql",
            "DO $$ BEGIN this is not plpgsql; END $$;",
            (1, 1),
        );
        fires("hidden-sql", "CALL app.cleanup();", (1, 1));
        quiet(
            "hidden-sql",
            "DO $$ BEGIN UPDATE t SET a = 1 WHERE a IS NULL; END $$;",
        );
        assert!(hits(
            "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN DROP TABLE t; END $$;",
            true,
            None
        )
        .is_empty());
    }
}
