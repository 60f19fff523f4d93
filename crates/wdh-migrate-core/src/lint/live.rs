//! The live facts lint judges against: the size of the tables the findings
//! name, the current type and `NOT NULL` state of the columns they change,
//! and the volatility of the functions a new default calls. Read in at
//! most three catalog queries, only for what the findings ask; every name
//! qualified with `pg_catalog`, every value a quoted literal (simple query
//! protocol, as behind a transaction pooler).

use postgres::{Client, SimpleQueryMessage};

use super::walk::TableRef;
use crate::sql::quote_literal;

/// What lint asks the catalog.
#[derive(Debug, Default)]
pub(super) struct Questions {
    /// Tables, by the name a statement gives them.
    pub tables: Vec<TableRef>,
    /// Columns: `(table, column)`.
    pub columns: Vec<(TableRef, String)>,
    /// Functions a default calls, as written (`f` or `schema.f`).
    pub functions: Vec<String>,
}

/// A table found in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Found {
    /// `schema.name`, as the catalog names it.
    pub qualified: String,
    /// The planner's row estimate; none when never vacuumed or analyzed.
    pub rows: Option<u64>,
    /// `pg_total_relation_size` (of every partition, for a partitioned
    /// table).
    pub bytes: u64,
    /// The heap alone (`pg_relation_size`): zero for a table that never
    /// held a row.
    pub heap_bytes: u64,
    /// Its `pg_class.oid`.
    pub oid: u32,
}

impl Found {
    /// Never held a row, as far as the catalog tells.
    pub(super) fn is_empty(&self) -> bool {
        self.heap_bytes == 0 && self.rows.unwrap_or(0) == 0
    }
}

/// A column found in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Column {
    /// `pg_type.typname` (`varchar`, `numeric`, `int4`, …).
    pub typname: String,
    /// `pg_attribute.atttypmod`.
    pub typmod: i32,
    /// `pg_attribute.attnotnull`.
    pub not_null: bool,
    /// A validated `CHECK (col IS NOT NULL)` exists.
    pub checked: bool,
}

/// The live facts.
#[derive(Debug, Default)]
pub struct Facts {
    /// The server's `server_version_num`.
    pub version: i32,
    tables: Vec<(TableRef, Option<Found>)>,
    columns: Vec<(TableRef, String, Column)>,
    functions: Vec<(String, bool)>,
}

impl Facts {
    /// The table `table` names, if it is in the database.
    pub(super) fn table(&self, table: &TableRef) -> Option<&Found> {
        self.tables
            .iter()
            .find(|(t, _)| t == table)
            .and_then(|(_, f)| f.as_ref())
    }

    /// The column, if found.
    pub(super) fn column(&self, table: &TableRef, column: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|(t, c, _)| t == table && c == column)
            .map(|(_, _, col)| col)
    }

    /// Whether the function is known not to be volatile (every function of
    /// that name is STABLE or IMMUTABLE).
    pub(super) fn not_volatile(&self, function: &str) -> bool {
        self.functions
            .iter()
            .any(|(f, stable)| f == function && *stable)
    }
}

#[cfg(test)]
impl Facts {
    /// Facts as a test gives them.
    pub(super) fn given(version: i32, tables: Vec<(TableRef, Option<Found>)>) -> Facts {
        Facts {
            version,
            tables,
            ..Facts::default()
        }
    }

    pub(super) fn with_column(&mut self, table: TableRef, column: &str, c: Column) {
        self.columns.push((table, column.to_string(), c));
    }

    pub(super) fn with_function(&mut self, function: &str, not_volatile: bool) {
        self.functions.push((function.to_string(), not_volatile));
    }
}

/// Where a table may be: `(schema, name)` pairs in order, the schema empty
/// for a name the session's `search_path` resolves. The statement's own
/// schema, else each schema of the `search_path` the file set, else the
/// session's.
fn candidates(t: &TableRef) -> Vec<(String, String)> {
    let name = t.rel.name.clone();
    match (&t.rel.schema, &t.search_path) {
        (Some(s), _) => vec![(s.clone(), name)],
        (None, Some(path)) => path
            .iter()
            .filter(|s| s.as_str() != "$user")
            .map(|s| (s.clone(), name.clone()))
            .collect(),
        (None, None) => vec![(String::new(), name)],
    }
}

fn array(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote_literal(v)).collect();
    format!("ARRAY[{}]::pg_catalog.text[]", items.join(", "))
}

fn rows(client: &mut Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, postgres::Error> {
    Ok(client
        .simple_query(sql)?
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect())
}

fn number<T: std::str::FromStr>(v: &Option<String>) -> Option<T> {
    v.as_deref().and_then(|s| s.parse().ok())
}

/// Reads the facts `questions` asks for.
pub(super) fn read(
    client: &mut Client,
    version: i32,
    questions: &Questions,
) -> Result<Facts, postgres::Error> {
    let mut facts = Facts {
        version,
        ..Facts::default()
    };
    // Tables: each candidate, then the first found per table. Names are
    // looked up in the catalog, which any role can read (`to_regclass`
    // fails for a schema the role may not use).
    let mut schemas = Vec::new();
    let mut names = Vec::new();
    let mut owner = Vec::new();
    for (i, t) in questions.tables.iter().enumerate() {
        for (schema, name) in candidates(t) {
            schemas.push(schema);
            names.push(name);
            owner.push(i);
        }
    }
    let mut found: Vec<Option<(usize, Found)>> = vec![None; questions.tables.len()];
    if !names.is_empty() {
        let partitions = version >= 120_000;
        let per_partition = |leaf: &str, whole: &str| {
            if partitions {
                format!(
                    "CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'p' THEN (SELECT pg_catalog.sum({leaf}) FROM pg_catalog.pg_partition_tree(c.oid) p JOIN pg_catalog.pg_class pc ON pc.oid OPERATOR(pg_catalog.=) p.relid WHERE p.isleaf) ELSE {whole} END"
                )
            } else {
                whole.to_string()
            }
        };
        let sql = format!(
            "SELECT q.i, pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname), \
                    ({rows})::pg_catalog.float8, ({bytes})::pg_catalog.int8, ({heap})::pg_catalog.int8, c.oid \
             FROM ROWS FROM (pg_catalog.unnest({schemas}), pg_catalog.unnest({names})) WITH ORDINALITY AS q(schema, name, i) \
             CROSS JOIN LATERAL ( \
                 SELECT k.oid FROM pg_catalog.pg_class k \
                 JOIN pg_catalog.pg_namespace kn ON kn.oid OPERATOR(pg_catalog.=) k.relnamespace \
                 LEFT JOIN ROWS FROM (pg_catalog.unnest(pg_catalog.current_schemas(true))) WITH ORDINALITY AS p(nsp, ord) \
                      ON p.nsp OPERATOR(pg_catalog.=) kn.nspname \
                 WHERE k.relname OPERATOR(pg_catalog.=) q.name \
                   AND CASE WHEN q.schema OPERATOR(pg_catalog.=) '' THEN p.ord IS NOT NULL \
                            ELSE kn.nspname OPERATOR(pg_catalog.=) q.schema END \
                 ORDER BY p.ord LIMIT 1) AS r \
             LEFT JOIN pg_catalog.pg_index x ON x.indexrelid OPERATOR(pg_catalog.=) r.oid \
             JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) COALESCE(x.indrelid, r.oid) \
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace",
            rows = per_partition("GREATEST(pc.reltuples, 0)", "c.reltuples"),
            bytes = per_partition("pg_catalog.pg_total_relation_size(pc.oid)", "pg_catalog.pg_total_relation_size(c.oid)"),
            heap = per_partition("pg_catalog.pg_relation_size(pc.oid)", "pg_catalog.pg_relation_size(c.oid)"),
            schemas = array(&schemas),
            names = array(&names),
        );
        for row in rows(client, &sql)? {
            let Some(i) = number::<usize>(&row[0]).and_then(|i| i.checked_sub(1)) else {
                continue;
            };
            let Some(&table) = owner.get(i) else {
                continue;
            };
            let rows_estimate = number::<f64>(&row[2]);
            let f = Found {
                qualified: row[1].clone().unwrap_or_default(),
                // reltuples is -1 for a table never vacuumed or analyzed
                // (PostgreSQL 14+; 0 before).
                rows: rows_estimate
                    .filter(|r| *r >= 0.0)
                    .map(|r| r.round() as u64),
                bytes: number(&row[3]).unwrap_or(0),
                heap_bytes: number(&row[4]).unwrap_or(0),
                oid: number(&row[5]).unwrap_or(0),
            };
            // The first candidate in search_path order wins.
            if found[table].as_ref().is_none_or(|(j, _)| i < *j) {
                found[table] = Some((i, f));
            }
        }
    }
    facts.tables = questions
        .tables
        .iter()
        .cloned()
        .zip(found.into_iter().map(|f| f.map(|(_, f)| f)))
        .collect();
    // Columns of the tables found.
    let asked: Vec<(TableRef, String, String)> = questions
        .columns
        .iter()
        .filter_map(|(t, c)| {
            facts
                .table(t)
                .map(|f| (t.clone(), c.clone(), f.oid.to_string()))
        })
        .collect();
    if !asked.is_empty() {
        let tables: Vec<String> = asked.iter().map(|(_, _, q)| q.clone()).collect();
        let columns: Vec<String> = asked.iter().map(|(_, c, _)| c.clone()).collect();
        let sql = format!(
            "SELECT q.i, t.typname, a.atttypmod, a.attnotnull, \
                    EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conrelid OPERATOR(pg_catalog.=) a.attrelid \
                            AND k.contype OPERATOR(pg_catalog.=) 'c' AND k.convalidated \
                            AND pg_catalog.pg_get_constraintdef(k.oid) OPERATOR(pg_catalog.=) \
                                ('CHECK ((' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname) OPERATOR(pg_catalog.||) ' IS NOT NULL))')) \
             FROM ROWS FROM (pg_catalog.unnest({tables}), pg_catalog.unnest({columns})) WITH ORDINALITY AS q(rel, col, i) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) q.rel::pg_catalog.oid \
                  AND a.attname OPERATOR(pg_catalog.=) q.col AND NOT a.attisdropped \
             JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid",
            tables = array(&tables),
            columns = array(&columns),
        );
        for row in rows(client, &sql)? {
            let Some((t, c, _)) = number::<usize>(&row[0])
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| asked.get(i))
            else {
                continue;
            };
            facts.columns.push((
                t.clone(),
                c.clone(),
                Column {
                    typname: row[1].clone().unwrap_or_default(),
                    typmod: number(&row[2]).unwrap_or(-1),
                    not_null: row[3].as_deref() == Some("t"),
                    checked: row[4].as_deref() == Some("t"),
                },
            ));
        }
    }
    // Functions: every function of that name (in that schema, if given).
    if !questions.functions.is_empty() {
        let (schemas, names): (Vec<String>, Vec<String>) = questions
            .functions
            .iter()
            .map(|f| match f.rsplit_once('.') {
                Some((s, n)) => (s.to_string(), n.to_string()),
                None => (String::new(), f.clone()),
            })
            .unzip();
        let sql = format!(
            "SELECT q.i, pg_catalog.bool_and(p.provolatile OPERATOR(pg_catalog.<>) 'v') \
             FROM ROWS FROM (pg_catalog.unnest({schemas}), pg_catalog.unnest({names})) WITH ORDINALITY AS q(schema, name, i) \
             JOIN pg_catalog.pg_proc p ON p.proname OPERATOR(pg_catalog.=) q.name \
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace \
             WHERE q.schema OPERATOR(pg_catalog.=) '' OR n.nspname OPERATOR(pg_catalog.=) q.schema \
             GROUP BY q.i",
            schemas = array(&schemas),
            names = array(&names),
        );
        for row in rows(client, &sql)? {
            if let Some(f) = number::<usize>(&row[0])
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| questions.functions.get(i))
            {
                facts
                    .functions
                    .push((f.clone(), row[1].as_deref() == Some("t")));
            }
        }
    }
    Ok(facts)
}

/// Whether changing a column of type `from` to `to` needs no rewrite: the
/// new type is binary coercible and its modifier does not shrink
/// (`varchar(n)` to a longer `varchar` or `text`, `numeric(p,s)` to a higher
/// precision of the same scale, the same type and modifier).
pub(super) fn no_rewrite(from: &Column, to: &super::names::TypeSpec) -> bool {
    if to.array {
        return false;
    }
    let mods = to.mods.as_deref();
    let old = from.typname.as_str();
    let new = match to.name.as_str() {
        "character varying" => "varchar",
        other => other,
    };
    match (old, new) {
        ("varchar" | "text", "text") => true,
        ("varchar" | "text", "varchar") => match mods {
            None => false,
            Some([]) => true,
            Some([n]) => old == "varchar" && from.typmod >= 4 && i64::from(from.typmod - 4) <= *n,
            Some(_) => false,
        },
        ("numeric", "numeric") => {
            let (p, s) = if from.typmod >= 4 {
                let m = from.typmod - 4;
                (i64::from(m >> 16), i64::from(m & 0xffff))
            } else {
                return mods == Some(&[]);
            };
            match mods {
                Some([]) => true,
                Some([p2]) => s == 0 && *p2 >= p,
                Some([p2, s2]) => *s2 == s && *p2 >= p,
                _ => false,
            }
        }
        ("cidr", "inet") => true,
        (a, b) if a == b => mods == Some(&[]) && from.typmod < 0,
        _ => false,
    }
}

/// A column's current type as SQL spells it, for messages.
pub(super) fn spelled(c: &Column) -> String {
    let mods = match (c.typname.as_str(), c.typmod) {
        ("varchar" | "bpchar", m) if m >= 4 => vec![i64::from(m - 4)],
        ("numeric", m) if m >= 4 => vec![i64::from((m - 4) >> 16), i64::from((m - 4) & 0xffff)],
        _ => vec![],
    };
    super::names::TypeSpec {
        schema: None,
        name: c.typname.clone(),
        mods: Some(mods),
        array: false,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::super::names::TypeSpec;
    use super::*;

    fn column(typname: &str, typmod: i32) -> Column {
        Column {
            typname: typname.into(),
            typmod,
            not_null: false,
            checked: false,
        }
    }

    fn spec(name: &str, mods: &[i64]) -> TypeSpec {
        TypeSpec {
            schema: Some("pg_catalog".into()),
            name: name.into(),
            mods: Some(mods.to_vec()),
            array: false,
        }
    }

    #[test]
    fn which_type_changes_need_no_rewrite() {
        assert!(no_rewrite(&column("varchar", 14), &spec("varchar", &[20])));
        assert!(no_rewrite(&column("varchar", 14), &spec("varchar", &[10])));
        assert!(!no_rewrite(&column("varchar", 14), &spec("varchar", &[9])));
        assert!(no_rewrite(&column("varchar", 14), &spec("text", &[])));
        assert!(no_rewrite(&column("text", -1), &spec("varchar", &[])));
        assert!(!no_rewrite(&column("text", -1), &spec("varchar", &[16])));
        let n = |p: i32, s: i32| column("numeric", ((p << 16) | s) + 4);
        assert!(no_rewrite(&n(10, 2), &spec("numeric", &[12, 2])));
        assert!(!no_rewrite(&n(10, 2), &spec("numeric", &[12, 3])));
        assert!(!no_rewrite(&n(10, 2), &spec("numeric", &[8, 2])));
        assert!(no_rewrite(&n(10, 2), &spec("numeric", &[])));
        assert!(!no_rewrite(&column("int4", -1), &spec("int8", &[])));
        assert!(no_rewrite(&column("int4", -1), &spec("int4", &[])));
    }
}
