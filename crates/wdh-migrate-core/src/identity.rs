//! What the live connection says about itself: the facts the guard judges.
//!
//! The environment marker is stored on the database itself with
//! `ALTER DATABASE … SET wdh.environment = '<env>'` (and
//! `wdh.environment_locked = 'on'` for a locked marker). It is read from the
//! catalog `pg_db_role_setting` (the database-wide entry), not through
//! `current_setting()`, so a session-level `SET`, `PGOPTIONS` or a role
//! setting cannot fake or weaken it; it survives dropping every schema, and
//! any session of any role can read it.

use postgres::{Client, SimpleQueryMessage};

use crate::guard::{Environment, Marker};

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
    #[serde(serialize_with = "marker_json")]
    pub marker: Option<Marker>,
    /// A marker value that is not a known environment (shown, treated as protected).
    pub unknown_marker: Option<String>,
    /// Whether the ledger schema exists.
    pub ledger_exists: bool,
}

fn marker_json<S: serde::Serializer>(m: &Option<Marker>, s: S) -> Result<S::Ok, S::Error> {
    match m {
        Some(m) => s.serialize_some(&m.to_string()),
        None => s.serialize_none(),
    }
}

/// The query, one round trip.
const QUERY: &str = r#"SELECT current_database(), host(inet_server_addr()), inet_server_port(), session_user,
       current_setting('server_version_num'),
       (SELECT string_agg(c, E'\n') FROM pg_db_role_setting s, unnest(s.setconfig) c
         WHERE s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND (c LIKE 'wdh.environment=%' OR c LIKE 'wdh.environment_locked=%')),
       to_regclass('"wdh_migrate"."format"') IS NOT NULL"#;

impl Identity {
    /// Reads the facts from the connection.
    pub fn read(client: &mut Client) -> Result<Identity, postgres::Error> {
        let messages = client.simple_query(QUERY)?;
        let row = messages.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        });
        let get = |i: usize| row.and_then(|r| r.get(i)).map(str::to_string);
        let (mut environment, mut locked) = (None, false);
        for setting in get(5).unwrap_or_default().lines() {
            if let Some(v) = setting.strip_prefix("wdh.environment=") {
                environment = Some(v.to_string());
            } else if let Some(v) = setting.strip_prefix("wdh.environment_locked=") {
                locked = matches!(v, "on" | "true" | "1" | "yes");
            }
        }
        let (marker, unknown_marker) = match environment {
            None => (None, None),
            Some(v) => match v.parse::<Environment>() {
                Ok(environment) => (
                    Some(Marker {
                        environment,
                        locked,
                    }),
                    None,
                ),
                // An unreadable marker protects as much as the strongest one.
                Err(_) => (
                    Some(Marker {
                        environment: Environment::Production,
                        locked,
                    }),
                    Some(v),
                ),
            },
        };
        Ok(Identity {
            database: get(0).unwrap_or_default(),
            server_addr: get(1),
            server_port: get(2).and_then(|p| p.parse().ok()),
            role: get(3).unwrap_or_default(),
            server_version: get(4).and_then(|v| v.parse().ok()).unwrap_or(0),
            marker,
            unknown_marker,
            ledger_exists: get(6).as_deref() == Some("t"),
        })
    }

    /// `database on host:port as role`, for messages.
    pub fn describe(&self) -> String {
        let server = match (&self.server_addr, self.server_port) {
            (Some(a), Some(p)) => format!("{a}:{p}"),
            _ => "a unix socket".to_string(),
        };
        let marker = match &self.marker {
            Some(m) => format!(", marked {m}"),
            None => String::new(),
        };
        format!(
            "database `{}` on {server} as role `{}`{marker}",
            self.database, self.role
        )
    }
}
