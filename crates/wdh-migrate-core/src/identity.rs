//! What the live connection says about itself: the facts the guard judges,
//! and how the connection is made (its TLS, from `pg_stat_ssl`).
//!
//! The environment marker is stored on the database itself with
//! `ALTER DATABASE … SET wdh.environment = '<env>'` (and
//! `wdh.environment_locked = 'on'` for a locked marker; the lock is read as
//! PostgreSQL reads a boolean, see [`Marker::from_stored`]). It is read from the
//! catalog `pg_db_role_setting` (the database-wide entry), not through
//! `current_setting()`, so a session-level `SET`, `PGOPTIONS` or a role
//! setting cannot fake or weaken it; it survives dropping every schema, and
//! any session of any role can read it.

use postgres::{Client, SimpleQueryMessage};

use crate::guard::Marker;

/// The facts of a live connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    /// `current_database()`.
    pub database: String,
    /// `inet_server_addr()` (none over a unix socket).
    pub server_addr: Option<String>,
    /// `inet_server_port()` (none over a unix socket).
    pub server_port: Option<i32>,
    /// `session_user`.
    pub role: String,
    /// `server_version_num`.
    pub server_version: i32,
    /// The environment marker stored on the database, if any.
    pub marker: Option<Marker>,
    /// A `wdh.environment` value that is not a known environment (shown,
    /// judged as `production`); empty when it is empty, or not set while
    /// `wdh.environment_locked` is.
    pub unknown_marker: Option<String>,
    /// A `wdh.environment_locked` value that is not a boolean as PostgreSQL
    /// reads them (shown, judged as locked).
    pub unreadable_lock: Option<String>,
    /// Whether the ledger schema exists.
    pub ledger_exists: bool,
    /// Whether the ledger has its lock table (format 2).
    #[serde(skip)]
    pub lock_table_exists: bool,
    /// Whether the ledger has everything of the current format: its fence
    /// function, created last by the transaction that makes a ledger of
    /// format 4 (with the lock table, and the audit's `destructive`, `loss`
    /// and `snapshot` columns).
    #[serde(skip)]
    pub ledger_current: bool,
    /// Whether the role may use the ledger's schema (none: there is none).
    #[serde(skip)]
    pub ledger_usage: Option<bool>,
    /// `pg_backend_pid()` when the facts were read.
    pub backend_pid: i32,
    /// The connection's TLS, as the server sees it (`pg_stat_ssl`); none
    /// when it is not encrypted. Behind a pooler it is the pooler's own
    /// connection to the server.
    pub tls: Option<TlsState>,
    /// `pg_is_in_recovery()`: the server is a hot standby, which accepts
    /// reads only.
    pub standby: bool,
    /// `transaction_read_only` as a session starts: on for a standby, and
    /// for a session whose `default_transaction_read_only` is on (the
    /// role's, the database's, the server's or the connection string's).
    pub read_only: bool,
    /// `default_transaction_read_only`.
    pub default_read_only: bool,
}

/// A connection's TLS, from `pg_stat_ssl`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TlsState {
    /// The protocol, such as `TLSv1.3`.
    pub version: String,
    /// The cipher suite, such as `TLS_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The key length in bits.
    pub bits: Option<i32>,
    /// The client certificate's subject, when one was sent.
    pub client_dn: Option<String>,
}

impl TlsState {
    /// `TLSv1.3 (TLS_AES_256_GCM_SHA384, client certificate /CN=app)`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} ({}", self.version, self.cipher);
        if let Some(dn) = &self.client_dn {
            text.push_str(&format!(", client certificate {dn}"));
        }
        text.push(')');
        text
    }
}

/// The query, one round trip. `{marker}` is the marker lookup, or NULL
/// where the operation does not depend on it: on a fresh backend the first
/// read of `pg_db_role_setting` costs about half a millisecond, a tenth of a
/// no-op `upgrade`. `{tls}` is the read of `pg_stat_ssl` ([`TLS`]), or NULL
/// over a unix socket ([`Identity::read_with`]).
///
/// Every name is qualified with `pg_catalog` (operators too): a
/// `search_path` set by the role or the connection string could otherwise
/// put a look-alike `pg_db_role_setting` view or `current_database()`
/// function in front of the real ones and fake the facts. The ledger's
/// tables are looked up with `to_regclass` only where the role may use the
/// schema (it fails for a role without USAGE); for one that may not, the
/// schema's existence stands for the ledger's, and reading the ledger then
/// says which GRANT is missing. (A `to_regclass` inside a subquery would be
/// evaluated when the subquery is planned, whatever the `CASE` says: the
/// subquery `l`, kept apart by `OFFSET 0`, reads only the schema and the
/// privilege, once, and the lookups guarded by them stay in the outer list.)
const QUERY: &str = r#"SELECT pg_catalog.current_database(), pg_catalog.host(pg_catalog.inet_server_addr()),
       pg_catalog.inet_server_port(), session_user,
       pg_catalog.current_setting('server_version_num'), {marker},
       CASE WHEN l.usage THEN pg_catalog.to_regclass('"wdh_migrate"."format"') IS NOT NULL
            ELSE l.schema IS NOT NULL END,
       CASE WHEN l.usage THEN pg_catalog.to_regclass('"wdh_migrate"."lock"') IS NOT NULL
            ELSE l.schema IS NOT NULL END,
       pg_catalog.pg_backend_pid(),
       l.usage,
       {tls},
       CASE WHEN l.usage
            THEN pg_catalog.to_regprocedure('"wdh_migrate"."step_fence"(bigint,text)') IS NOT NULL
            ELSE false END,
       pg_catalog.pg_is_in_recovery(), pg_catalog.current_setting('transaction_read_only'),
       pg_catalog.current_setting('default_transaction_read_only')
FROM (SELECT n.schema, pg_catalog.has_schema_privilege(n.schema, 'USAGE') AS usage
        FROM (SELECT pg_catalog.to_regnamespace('wdh_migrate') AS schema) n OFFSET 0) l"#;

/// The connection's TLS as the server sees it (one text array, NULL when
/// it is not encrypted). Planning it is most of the identity query's cost
/// on a warm server session (`pg_stat_ssl` is a view over every server
/// process's status).
const TLS: &str =
    "(SELECT ARRAY[s.version, s.cipher, s.bits::pg_catalog.text, COALESCE(s.client_dn, '')]
          FROM pg_catalog.pg_stat_ssl s
         WHERE s.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() AND s.ssl)";

const MARKER: &str = "(SELECT s.setconfig FROM pg_catalog.pg_db_role_setting s \
     WHERE s.setrole OPERATOR(pg_catalog.=) 0 AND s.setdatabase OPERATOR(pg_catalog.=) \
     (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()))";

impl Identity {
    /// Reads the facts from the connection; the environment marker only
    /// when `with_marker` (every operation the marker decides asks for it).
    pub fn read(client: &mut Client, with_marker: bool) -> Result<Identity, postgres::Error> {
        Identity::read_with(client, with_marker, false)
    }

    /// [`Identity::read`] on a connection made over a unix socket when
    /// `unix_socket`: no TLS is used there, so the server is asked for the
    /// connection's TLS only when it sees a TCP connection — a pooler or a
    /// proxy in between, whose own connection it is — in a second round
    /// trip. A server never encrypts a unix-socket connection.
    pub fn read_with(
        client: &mut Client,
        with_marker: bool,
        unix_socket: bool,
    ) -> Result<Identity, postgres::Error> {
        let query = QUERY
            .replace(
                "{marker}",
                if with_marker { MARKER } else { "NULL::text[]" },
            )
            .replace("{tls}", if unix_socket { "NULL::text[]" } else { TLS });
        let mut identity = Identity::parse(&client.simple_query(&query)?);
        if unix_socket && identity.server_addr.is_some() {
            let tls = client.simple_query(&format!("SELECT {TLS}"))?;
            identity.tls = first_row(&tls).and_then(|r| r.get(0)).map(tls_state);
        }
        Ok(identity)
    }

    /// The facts from the identity query's answer.
    fn parse(messages: &[SimpleQueryMessage]) -> Identity {
        let row = first_row(messages);
        let get = |i: usize| row.and_then(|r| r.get(i)).map(str::to_string);
        let (mut environment, mut locked) = (None, None);
        for setting in parse_text_array(&get(5).unwrap_or_default()) {
            if let Some(v) = setting.strip_prefix("wdh.environment=") {
                environment = Some(v.to_string());
            } else if let Some(v) = setting.strip_prefix("wdh.environment_locked=") {
                locked = Some(v.to_string());
            }
        }
        // What cannot be read protects as much as the strongest reading.
        let stored = Marker::from_stored(environment.as_deref(), locked.as_deref());
        Identity {
            database: get(0).unwrap_or_default(),
            server_addr: get(1),
            server_port: get(2).and_then(|p| p.parse().ok()),
            role: get(3).unwrap_or_default(),
            server_version: get(4).and_then(|v| v.parse().ok()).unwrap_or(0),
            marker: stored.marker,
            unknown_marker: stored.unknown_environment,
            unreadable_lock: stored.unreadable_lock,
            ledger_exists: get(6).as_deref() == Some("t"),
            lock_table_exists: get(7).as_deref() == Some("t"),
            backend_pid: get(8).and_then(|p| p.parse().ok()).unwrap_or(0),
            ledger_usage: get(9).map(|v| v == "t"),
            tls: get(10).map(|array| tls_state(&array)),
            ledger_current: get(7).as_deref() == Some("t") && get(11).as_deref() == Some("t"),
            standby: get(12).as_deref() == Some("t"),
            read_only: get(13).as_deref() == Some("on"),
            default_read_only: get(14).as_deref() == Some("on"),
        }
    }

    /// `database on host:port as role, over TLS…`, for messages.
    pub fn describe(&self) -> String {
        let server = match (&self.server_addr, self.server_port) {
            (Some(a), Some(p)) => format!("{a}:{p}"),
            _ => "a unix socket".to_string(),
        };
        let mut marker = match &self.marker {
            Some(m) => format!(", marked {m}"),
            None => String::new(),
        };
        match self.unknown_marker.as_deref() {
            Some("") => marker.push_str(" (wdh.environment is empty or not set)"),
            Some(v) => marker.push_str(&format!(" (wdh.environment is {v:?}, not an environment)")),
            None => {}
        }
        if let Some(v) = &self.unreadable_lock {
            marker.push_str(&format!(
                " (wdh.environment_locked is {v:?}, not a boolean)"
            ));
        }
        let tls = match (&self.tls, &self.server_addr) {
            (Some(tls), _) => format!(" over {}", tls.describe()),
            (None, Some(_)) => " without TLS".to_owned(),
            (None, None) => String::new(),
        };
        let session = if self.standby {
            ", a hot standby (read-only)"
        } else if self.read_only {
            ", read-only session"
        } else {
            ""
        };
        format!(
            "database `{}` on {server} as role `{}`{tls}{marker}{session}",
            self.database, self.role
        )
    }

    /// Why nothing may be written on this connection, if nothing may: a
    /// hot standby, or a read-only session.
    pub fn read_only_reason(&self) -> Option<String> {
        if self.standby {
            Some("the server is a hot standby (pg_is_in_recovery() is true), which accepts reads only".into())
        } else if self.read_only {
            Some(format!(
                "the session is read-only (transaction_read_only is on{})",
                if self.default_read_only {
                    ": default_transaction_read_only is on for this role, database, server or connection"
                } else {
                    ""
                }
            ))
        } else {
            None
        }
    }
}

/// The TLS state from `{version,cipher,bits,client_dn}`.
/// The first row of an answer.
fn first_row(messages: &[SimpleQueryMessage]) -> Option<&postgres::SimpleQueryRow> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    })
}

fn tls_state(array: &str) -> TlsState {
    let mut items = parse_text_array(array).into_iter();
    let mut next = || items.next().unwrap_or_default();
    TlsState {
        version: next(),
        cipher: next(),
        bits: next().parse().ok(),
        client_dn: Some(next()).filter(|dn| !dn.is_empty()),
    }
}

/// The elements of a PostgreSQL text array literal (`{a,"b c"}`).
fn parse_text_array(literal: &str) -> Vec<String> {
    let inner = literal.trim().trim_start_matches('{').trim_end_matches('}');
    let mut items = Vec::new();
    let mut chars = inner.chars().peekable();
    while chars.peek().is_some() {
        let mut item = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => item.extend(chars.next()),
                    '"' => break,
                    c => item.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != ',') {
                item.push(c);
                chars.next();
            }
        }
        chars.next();
        items.push(item);
    }
    items
}

#[cfg(test)]
mod tests {
    use super::parse_text_array;

    #[test]
    fn parses_text_arrays() {
        assert_eq!(
            parse_text_array("{wdh.environment=production,wdh.environment_locked=on}"),
            ["wdh.environment=production", "wdh.environment_locked=on"]
        );
        assert_eq!(
            parse_text_array(r#"{"search_path=a, b",x=\"q\"}"#),
            ["search_path=a, b", r#"x=\"q\""#]
        );
        assert_eq!(parse_text_array(r#"{"a=\"q\""}"#), [r#"a="q""#]);
        assert!(parse_text_array("").is_empty());
    }

    #[test]
    fn reads_the_tls_state() {
        let t = super::tls_state(r#"{TLSv1.3,TLS_AES_256_GCM_SHA384,256,"/CN=app, x"}"#);
        assert_eq!(t.version, "TLSv1.3");
        assert_eq!(t.bits, Some(256));
        assert_eq!(t.client_dn.as_deref(), Some("/CN=app, x"));
        assert_eq!(
            t.describe(),
            "TLSv1.3 (TLS_AES_256_GCM_SHA384, client certificate /CN=app, x)"
        );
        let t = super::tls_state(r#"{TLSv1.2,ECDHE-RSA-AES256-GCM-SHA384,256,""}"#);
        assert_eq!(t.client_dn, None);
    }
}
