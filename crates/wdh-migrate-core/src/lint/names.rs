//! Names as the parser gives them: relations, strings of name lists, type
//! names and the columns of an expression.

use pg_query::protobuf::{node::Node, RangeVar, TypeName};

use crate::sql::quote_ident;

/// A relation as a statement names it: an optional schema and a name, both
/// as the parser folded them (unquoted names in lower case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Relation {
    /// The schema, if the statement names one.
    pub schema: Option<String>,
    /// The name.
    pub name: String,
}

impl Relation {
    /// The relation a `RangeVar` names.
    pub(crate) fn of(range: &RangeVar) -> Relation {
        Relation {
            schema: (!range.schemaname.is_empty()).then(|| range.schemaname.clone()),
            name: range.relname.clone(),
        }
    }

    /// The relation a list of `String` nodes names (`[schema, ] name`), as
    /// in `DROP TABLE` and `DROP INDEX`.
    pub(super) fn of_names(names: &[pg_query::protobuf::Node]) -> Option<Relation> {
        let parts = strings(names);
        match parts.as_slice() {
            [name] => Some(Relation {
                schema: None,
                name: name.clone(),
            }),
            [.., schema, name] => Some(Relation {
                schema: Some(schema.clone()),
                name: name.clone(),
            }),
            [] => None,
        }
    }

    /// Whether `other` may be the same relation: equal names, and equal
    /// schemas where both name one.
    pub(crate) fn same(&self, other: &Relation) -> bool {
        self.name == other.name
            && match (&self.schema, &other.schema) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part = |s: &str| {
            if s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                s.to_string()
            } else {
                quote_ident(s)
            }
        };
        match &self.schema {
            Some(s) => write!(f, "`{}.{}`", part(s), part(&self.name)),
            None => write!(f, "`{}`", part(&self.name)),
        }
    }
}

/// The `sval` of each `String` node of a list.
pub(super) fn strings(nodes: &[pg_query::protobuf::Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| match n.node.as_ref() {
            Some(Node::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

/// A type as written: its name (the last part, e.g. `varchar`, `int4`,
/// `timestamp`) and its integer modifiers (`varchar(10)` → `[10]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TypeSpec {
    /// The schema if one was written (`pg_catalog` for SQL's own type
    /// names).
    pub schema: Option<String>,
    /// The type's name.
    pub name: String,
    /// Integer modifiers; `None` where one is not an integer.
    pub mods: Option<Vec<i64>>,
    /// An array type.
    pub array: bool,
}

impl TypeSpec {
    pub(super) fn of(t: &TypeName) -> TypeSpec {
        let names = strings(&t.names);
        let (schema, name) = match names.as_slice() {
            [.., schema, name] => (Some(schema.clone()), name.clone()),
            [name] => (None, name.clone()),
            [] => (None, String::new()),
        };
        let mods = t
            .typmods
            .iter()
            .map(|m| match m.node.as_ref() {
                Some(Node::AConst(c)) => match c.val.as_ref() {
                    Some(pg_query::protobuf::a_const::Val::Ival(i)) => Some(i64::from(i.ival)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        TypeSpec {
            schema,
            name,
            mods,
            array: !t.array_bounds.is_empty(),
        }
    }

    /// Whether it is the built-in type `name` (as the parser spells it:
    /// `int4`, `timestamp`, `bpchar`, …), not an array of it.
    pub(super) fn is(&self, name: &str) -> bool {
        !self.array && self.name == name && self.schema.as_deref().is_none_or(|s| s == "pg_catalog")
    }
}

impl std::fmt::Display for TypeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.name.as_str() {
            "int2" => "smallint",
            "int4" => "integer",
            "int8" => "bigint",
            "float4" => "real",
            "float8" => "double precision",
            "bool" => "boolean",
            "bpchar" => "char",
            other => other,
        };
        match &self.schema {
            Some(s) if s != "pg_catalog" => write!(f, "{s}.{name}")?,
            _ => f.write_str(name)?,
        }
        if let Some(mods) = self.mods.as_ref().filter(|m| !m.is_empty()) {
            let mods: Vec<String> = mods.iter().map(i64::to_string).collect();
            write!(f, "({})", mods.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

/// The text of a statement's first line, cut to 60 characters.
pub(super) fn excerpt(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    let mut out: String = first.chars().take(60).collect();
    if out.len() < first.len() {
        out.push_str("...");
    }
    out
}

/// The value of the boolean option `name` of a list of `DefElem`s
/// (`(CONCURRENTLY)`, `(FULL false)`): `None` when it is not there, `true`
/// when it is there without a value.
pub(super) fn option(params: &[pg_query::protobuf::Node], name: &str) -> Option<bool> {
    params.iter().find_map(|p| match p.node.as_ref() {
        Some(Node::DefElem(d)) if d.defname == name => {
            Some(match d.arg.as_ref().and_then(|a| a.node.as_ref()) {
                None => true,
                Some(Node::Boolean(b)) => b.boolval,
                Some(Node::Integer(i)) => i.ival != 0,
                Some(Node::String(s)) => crate::guard::parse_bool(&s.sval).unwrap_or(true),
                Some(_) => true,
            })
        }
        _ => None,
    })
}

/// The names a `DROP` lists: each a `List` of `String` nodes (or a lone
/// `String`, as for schemas).
pub(crate) fn dropped(objects: &[pg_query::protobuf::Node]) -> Vec<Relation> {
    objects
        .iter()
        .filter_map(|o| match o.node.as_ref() {
            Some(Node::List(l)) => Relation::of_names(&l.items),
            Some(Node::String(s)) => Some(Relation {
                schema: None,
                name: s.sval.clone(),
            }),
            _ => None,
        })
        .collect()
}
