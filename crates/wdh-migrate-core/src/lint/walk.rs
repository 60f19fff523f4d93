//! The walk: each file parsed once, each statement handed to the rule
//! families with what the file did before it (the tables it created, the
//! columns it added, its `search_path`), and what a chain of up scripts
//! did before the file (validated `NOT NULL` checks).

use pg_query::protobuf::node::Node;
use pg_query::protobuf::{AlterTableType, ObjectType};

use super::names::{excerpt, Relation};
use super::rules::{self, Rule};
use super::{
    compat, constraints, destructive, hidden, locking, rewrite, session, types, Job, Severity,
};
use crate::migrations::Direction;
use crate::sql;

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Line starts of a text, to map byte offsets to lines and columns.
pub(super) struct Lines<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(super) fn new(src: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines { src, starts }
    }

    /// The position of byte `byte`.
    pub(super) fn pos(&self, byte: usize) -> Pos {
        let byte = byte.min(self.src.len());
        let line = self.starts.partition_point(|&s| s <= byte);
        let start = self.starts[line - 1];
        let column = self
            .src
            .get(start..byte)
            .map_or(1, |s| s.chars().count() + 1);
        Pos { line, column }
    }

    /// The first character that is not white space on `line` (1-based),
    /// clamped to the text's last line.
    pub(super) fn first_on_line(&self, line: usize) -> Pos {
        let line = line.clamp(1, self.starts.len());
        let start = self.starts[line - 1];
        let text = &self.src[start..];
        let text = text.split('\n').next().unwrap_or("");
        let indent = text.chars().take_while(|c| c.is_whitespace()).count();
        Pos {
            line,
            column: indent + 1,
        }
    }
}

/// A table as a statement names it, with the `search_path` the file set
/// before it (if it set one), to find it in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TableRef {
    pub rel: Relation,
    pub search_path: Option<Vec<String>>,
}

/// What the live catalog is asked about a hit.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ask {
    /// Nothing: the rule is not judged by the target.
    Nothing,
    /// The table's size.
    Size(TableRef),
    /// The column's current type and the table's size: a change that needs
    /// no rewrite is no finding.
    TypeChange {
        table: TableRef,
        column: String,
        to: super::names::TypeSpec,
    },
    /// Whether the column is already `NOT NULL` or has a validated
    /// `CHECK (col IS NOT NULL)`, and the table's size.
    NotNull { table: TableRef, column: String },
    /// The volatility of functions a default calls that lint does not know,
    /// and the table's size: a default calling only non-volatile ones is
    /// no finding.
    Default {
        table: TableRef,
        functions: Vec<String>,
    },
}

impl Ask {
    pub(super) fn table(&self) -> Option<&TableRef> {
        match self {
            Ask::Nothing => None,
            Ask::Size(t)
            | Ask::TypeChange { table: t, .. }
            | Ask::NotNull { table: t, .. }
            | Ask::Default { table: t, .. } => Some(t),
        }
    }
}

/// A statement a rule matched, before the target's facts judge it.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub rule: &'static Rule,
    pub pos: Pos,
    pub message: String,
    pub help: String,
    pub statement: String,
    pub ask: Ask,
}

/// What the up scripts before a file did, in order.
#[derive(Debug, Default)]
pub(super) struct Chain {
    /// Validated `CHECK (col IS NOT NULL)` constraints: `(table, column)`.
    pub not_null_checks: Vec<(Relation, String)>,
    /// `NOT VALID` `CHECK (col IS NOT NULL)` constraints, by name: a later
    /// `VALIDATE CONSTRAINT` makes them count.
    pub not_valid_checks: Vec<(Relation, String, String)>,
}

/// One file being walked.
pub(super) struct FileCx<'a> {
    pub lines: Lines<'a>,
    /// The file runs in a transaction (not `-- wdh:no-transaction`).
    pub transactional: bool,
    /// An up script.
    pub up: bool,
    /// The server's `server_version_num`, when there is a target.
    pub version: Option<i32>,
    /// Tables, views and materialized views the file created so far.
    pub created: Vec<Relation>,
    /// Indexes the file created so far.
    pub created_indexes: Vec<Relation>,
    /// Schemas the file created so far.
    pub created_schemas: Vec<String>,
    /// Columns the file added so far: `(table, column)`.
    pub added: Vec<(Relation, String)>,
    /// Constraints the file added `NOT VALID` so far: `(table, name)`.
    pub not_valid: Vec<(Relation, String)>,
    /// The `search_path` the file set, if it set one.
    pub search_path: Option<Vec<String>>,
    pub chain: &'a mut Chain,
    pub hits: Vec<Hit>,
    /// The statement being walked: its first byte and first line.
    stmt_start: usize,
    stmt_text: String,
    /// Inside a `DO` block: every hit is at this position, and the
    /// statement runs in a transaction whatever the file.
    nested: Option<Pos>,
    /// Between a `BEGIN` and its `COMMIT` or `ROLLBACK` of the file itself.
    explicit: bool,
}

impl FileCx<'_> {
    /// Whether the file created `rel` before this statement.
    pub(super) fn is_new(&self, rel: &Relation) -> bool {
        self.created.iter().any(|c| c.same(rel))
    }

    /// Whether the file added column `column` of `rel` before this
    /// statement (or created the table).
    pub(super) fn is_new_column(&self, rel: &Relation, column: &str) -> bool {
        self.is_new(rel) || self.added.iter().any(|(t, c)| t.same(rel) && c == column)
    }

    /// Whether the statement runs inside a transaction block.
    pub(super) fn in_transaction(&self) -> bool {
        self.transactional || self.nested.is_some() || self.explicit
    }

    /// Whether the server is at least `version` (`server_version_num`);
    /// without a target, lint advises for a current server.
    pub(super) fn at_least(&self, version: i32) -> bool {
        self.version.is_none_or(|v| v >= version)
    }

    /// A reference to `rel` for the live catalog.
    pub(super) fn table(&self, rel: &Relation) -> TableRef {
        TableRef {
            rel: rel.clone(),
            search_path: self.search_path.clone(),
        }
    }

    /// Records a hit of `rule` at byte `location` of the file (or of the
    /// statement's start when the parser gives none). The destructive
    /// family is not looked for in down scripts.
    pub(super) fn hit(
        &mut self,
        rule: &'static Rule,
        location: i32,
        message: String,
        help: String,
        ask: Ask,
    ) {
        if rule.is_destructive() && !self.up {
            return;
        }
        let pos = match self.nested {
            Some(pos) => pos,
            None => {
                let byte = usize::try_from(location)
                    .ok()
                    .filter(|&b| b >= self.stmt_start)
                    .unwrap_or(self.stmt_start);
                self.lines.pos(byte)
            }
        };
        self.hits.push(Hit {
            rule,
            pos,
            message,
            help,
            statement: excerpt(&self.stmt_text),
            ask,
        });
    }

    /// The position every hit has inside a `DO` block being walked.
    pub(super) fn nested_pos(&self) -> Option<Pos> {
        self.nested
    }

    /// The position of byte `byte` of the file.
    pub(super) fn pos_of(&self, byte: i32) -> Pos {
        self.lines
            .pos(usize::try_from(byte).unwrap_or(self.stmt_start))
    }

    /// Walks the statements of `sql` (a `DO` block's body statement) as if
    /// they were at `pos`.
    pub(super) fn nested(&mut self, sql: &str, pos: Pos) -> Result<(), String> {
        let parsed =
            pg_query::parse(sql, pg_query::ParserOptions::DEFAULT).map_err(|e| e.to_string())?;
        let saved = (
            self.nested.replace(pos),
            std::mem::replace(&mut self.stmt_text, sql.to_string()),
        );
        for raw in &parsed.protobuf.stmts {
            if let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                visit(self, node);
            }
        }
        (self.nested, self.stmt_text) = saved;
        Ok(())
    }
}

/// The hits of each job, in the jobs' order. Up scripts marked live share
/// one chain, in order (a pending upgrade's steps); so do the others.
pub(super) fn analyze(jobs: &[Job<'_>], version: Option<i32>) -> Vec<Vec<Hit>> {
    let mut live_chain = Chain::default();
    let mut offline_chain = Chain::default();
    jobs.iter()
        .map(|job| {
            let mut fresh = Chain::default();
            let chain = match (job.direction, job.live) {
                (Direction::Up, true) => &mut live_chain,
                (Direction::Up, false) => &mut offline_chain,
                (Direction::Down, _) => &mut fresh,
            };
            file(
                &job.script.sql,
                !job.script.no_transaction,
                job.direction == Direction::Up,
                version,
                chain,
            )
        })
        .collect()
}

/// The hits of one file.
pub(super) fn file(
    src: &str,
    transactional: bool,
    up: bool,
    version: Option<i32>,
    chain: &mut Chain,
) -> Vec<Hit> {
    let mut cx = FileCx {
        lines: Lines::new(src),
        transactional,
        up,
        version,
        created: Vec::new(),
        created_indexes: Vec::new(),
        created_schemas: Vec::new(),
        added: Vec::new(),
        not_valid: Vec::new(),
        search_path: None,
        chain,
        hits: Vec::new(),
        stmt_start: 0,
        stmt_text: String::new(),
        nested: None,
        explicit: false,
    };
    match pg_query::parse(src, pg_query::ParserOptions::DEFAULT) {
        Ok(parsed) => {
            for raw in &parsed.protobuf.stmts {
                let from = usize::try_from(raw.stmt_location).unwrap_or(0);
                let to = match usize::try_from(raw.stmt_len).unwrap_or(0) {
                    0 => src.len(),
                    len => (from + len).min(src.len()),
                };
                cx.stmt_start = skip_trivia(src, from).min(to);
                cx.stmt_text = src.get(cx.stmt_start..to).unwrap_or("").to_string();
                if let Some(node) = raw.stmt.as_ref().and_then(|n| n.node.as_ref()) {
                    visit(&mut cx, node);
                }
            }
        }
        Err(e) => syntax_error(&mut cx, src, &e.to_string()),
    }
    long_identifiers(&mut cx, src);
    cx.hits
        .sort_by_key(|h| (h.pos.line, h.pos.column, h.rule.severity != Severity::Error));
    cx.hits
}

/// Hands one statement to the families.
fn visit(cx: &mut FileCx<'_>, node: &Node) {
    match node {
        Node::TransactionStmt(s) => {
            use pg_query::protobuf::TransactionStmtKind as K;
            match K::try_from(s.kind) {
                Ok(K::TransStmtBegin | K::TransStmtStart) => cx.explicit = true,
                Ok(K::TransStmtCommit | K::TransStmtRollback | K::TransStmtPrepare) => {
                    cx.explicit = false;
                }
                _ => {}
            }
        }
        Node::IndexStmt(s) => locking::create_index(cx, s),
        Node::ReindexStmt(s) => locking::reindex(cx, s),
        Node::VacuumStmt(s) => {
            session::vacuum(cx, s);
            locking::vacuum(cx, s);
        }
        Node::ClusterStmt(s) => locking::cluster(cx, s),
        Node::RefreshMatViewStmt(s) => locking::refresh(cx, s),
        Node::AlterTableStmt(s) => {
            let Some(range) = s.relation.as_ref() else {
                return;
            };
            if ObjectType::try_from(s.objtype) != Ok(ObjectType::ObjectTable) {
                return;
            }
            let rel = Relation::of(range);
            for cmd in &s.cmds {
                if let Some(Node::AlterTableCmd(cmd)) = cmd.node.as_ref() {
                    alter_table(cx, &rel, range.location, cmd);
                }
            }
        }
        Node::DropStmt(s) => {
            session::drop(cx, s);
            locking::drop_index(cx, s);
            destructive::drop(cx, s);
        }
        Node::DropdbStmt(s) => {
            session::not_in_transaction(cx, "DROP DATABASE");
            destructive::drop_database(cx, s);
        }
        Node::CreatedbStmt(_) => session::not_in_transaction(cx, "CREATE DATABASE"),
        Node::AlterSystemStmt(_) => session::not_in_transaction(cx, "ALTER SYSTEM"),
        Node::CreateTableSpaceStmt(_) => session::not_in_transaction(cx, "CREATE TABLESPACE"),
        Node::AlterEnumStmt(s) => session::alter_enum(cx, s),
        Node::TruncateStmt(s) => destructive::truncate(cx, s),
        Node::DeleteStmt(s) => destructive::delete(cx, s),
        Node::UpdateStmt(s) => rewrite::update(cx, s),
        Node::VariableSetStmt(s) => session::set(cx, s),
        Node::RenameStmt(s) => compat::rename(cx, s),
        Node::DoStmt(s) => hidden::do_block(cx, s),
        Node::CallStmt(_) => hidden::call(cx),
        Node::AlterDomainStmt(s) => constraints::alter_domain(cx, s),
        Node::CreateStmt(s) => {
            if let Some(r) = s.relation.as_ref() {
                cx.created.push(Relation::of(r));
            }
            types::create_table(cx, s);
        }
        Node::CreateSchemaStmt(s) => cx.created_schemas.push(s.schemaname.clone()),
        Node::CreateTableAsStmt(s) => {
            if let Some(r) = s.into.as_ref().and_then(|i| i.rel.as_ref()) {
                cx.created.push(Relation::of(r));
            }
        }
        Node::ViewStmt(s) => {
            if let Some(r) = s.view.as_ref() {
                cx.created.push(Relation::of(r));
            }
        }
        Node::SelectStmt(s) => {
            if let Some(r) = s.into_clause.as_ref().and_then(|i| i.rel.as_ref()) {
                cx.created.push(Relation::of(r));
            }
        }
        _ => {}
    }
}

/// Hands one `ALTER TABLE` subcommand to the families.
fn alter_table(
    cx: &mut FileCx<'_>,
    rel: &Relation,
    location: i32,
    cmd: &pg_query::protobuf::AlterTableCmd,
) {
    let def = cmd.def.as_ref().and_then(|d| d.node.as_ref());
    match AlterTableType::try_from(cmd.subtype) {
        Ok(AlterTableType::AtAddColumn) => {
            if let Some(Node::ColumnDef(col)) = def {
                rewrite::add_column(cx, rel, col);
                constraints::add_column(cx, rel, col);
                types::column(cx, col, false);
                cx.added.push((rel.clone(), col.colname.clone()));
            }
        }
        Ok(AlterTableType::AtAlterColumnType) => {
            if let Some(Node::ColumnDef(col)) = def {
                rewrite::type_change(cx, rel, location, &cmd.name, col);
            }
        }
        Ok(AlterTableType::AtSetNotNull) => constraints::set_not_null(cx, rel, location, &cmd.name),
        Ok(AlterTableType::AtDropNotNull) => compat::drop_not_null(cx, rel, location, &cmd.name),
        Ok(AlterTableType::AtAddConstraint) => {
            if let Some(Node::Constraint(c)) = def {
                constraints::add_constraint(cx, rel, c);
            }
        }
        Ok(AlterTableType::AtValidateConstraint) => {
            constraints::validate(cx, rel, location, &cmd.name);
        }
        Ok(AlterTableType::AtDropColumn) => destructive::drop_column(cx, rel, location, cmd),
        Ok(
            t @ (AlterTableType::AtSetTableSpace
            | AlterTableType::AtSetLogged
            | AlterTableType::AtSetUnLogged
            | AlterTableType::AtSetAccessMethod
            | AlterTableType::AtSetExpression),
        ) => rewrite::table_rewrite(cx, rel, location, t),
        Ok(AlterTableType::AtDetachPartition) => {
            if let Some(Node::PartitionCmd(p)) = def {
                locking::detach(cx, rel, location, p);
            }
        }
        _ => {}
    }
}

/// The first byte at or after `from` that is not white space or a comment
/// (the parser's statement location includes what precedes the
/// statement).
fn skip_trivia(src: &str, mut from: usize) -> usize {
    let bytes = src.as_bytes();
    loop {
        while from < bytes.len() && bytes[from].is_ascii_whitespace() {
            from += 1;
        }
        if bytes[from..].starts_with(b"--") {
            from = src[from..].find('\n').map_or(src.len(), |i| from + i + 1);
        } else if bytes[from..].starts_with(b"/*") {
            let mut depth = 0usize;
            let mut i = from;
            while i + 1 < bytes.len() {
                if bytes[i] == b'/' && bytes[i + 1] == b'*' {
                    depth += 1;
                    i += 2;
                } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            from = i.clamp(from + 2, bytes.len());
        } else {
            return from;
        }
    }
}

/// A file the parser rejects: one error, at the first statement that does
/// not parse on its own.
fn syntax_error(cx: &mut FileCx<'_>, src: &str, message: &str) {
    let stmts = sql::split_statements(src);
    let bad = stmts
        .iter()
        .find(|s| pg_query::parse(&s.sql, pg_query::ParserOptions::DEFAULT).is_err());
    let (start, text) = bad.map_or((0, src), |s| (s.start, s.sql.as_str()));
    cx.stmt_start = start;
    cx.stmt_text = text.to_string();
    let message = message.strip_prefix("Parse error: ").unwrap_or(message);
    cx.hit(
        &rules::SYNTAX_ERROR,
        -1,
        format!("PostgreSQL's parser rejects this file ({message}), so nothing in it is checked"),
        "fix the SQL; the server would reject it too".into(),
        Ask::Nothing,
    );
}

/// Identifiers longer than PostgreSQL's 63 bytes.
fn long_identifiers(cx: &mut FileCx<'_>, src: &str) {
    for (start, name) in sql::long_identifiers(src) {
        cx.stmt_start = start;
        cx.stmt_text = name.clone();
        cx.hit(
            &rules::IDENTIFIER_TOO_LONG,
            -1,
            format!(
                "the identifier `{}…` has {} bytes; PostgreSQL cuts it to its first 63, so the object is not named what the file says, and two long names that share those 63 bytes are one",
                name.chars().take(40).collect::<String>(),
                name.len()
            ),
            "use a name of at most 63 bytes".into(),
            Ask::Nothing,
        );
    }
}
