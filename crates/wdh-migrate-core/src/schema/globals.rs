//! The objects every database of a server shares, for `check` on a server
//! that other databases use: roles (attributes, and whether their password
//! hash changed), memberships, per-role and per-database settings
//! (`pg_db_role_setting`), tablespaces, the other databases (their existence
//! and settings), comments on these, privileges on parameters and the
//! settings of the configuration files (`pg_file_settings`, which shows
//! `ALTER SYSTEM` at once, before any reload).
//!
//! A secret (a password hash; a setting whose name says `password`,
//! `passphrase`, `secret`, `conninfo` or `token`) is compared through a
//! SHA-256 digest computed on the server, and only said to have changed:
//! neither the value nor its digest is ever shown, serialized or printed by
//! `Debug`.

use std::collections::BTreeMap;
use std::fmt;

use postgres::Client;

use super::capture::{insert, rows, server_version, SETTINGS};
use super::{diff, Change, Snapshot};

/// The shared objects of a server, as seen from one of its databases
/// ([`capture_globals`]); compare two with [`diff_globals`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Globals {
    entries: Snapshot,
    /// Key → what the secret is (`password`, `value`) and its digest.
    secrets: BTreeMap<String, (String, String)>,
    unread: Vec<String>,
}

impl Globals {
    /// The objects, keyed like a [`Snapshot`]: `role app`, `membership app
    /// in readers granted by postgres`, `setting search_path for role app in
    /// every database`, `tablespace fast`, `database billing`, `server
    /// setting work_mem in postgresql.auto.conf`, ... (secrets left out).
    pub fn entries(&self) -> &Snapshot {
        &self.entries
    }

    /// What this role could not read, with why: its changes go unseen
    /// (password hashes need a superuser, configuration files a superuser
    /// or `pg_read_all_settings`).
    pub fn unread(&self) -> &[String] {
        &self.unread
    }
}

impl fmt::Debug for Globals {
    /// The entries, and the keys of the secrets only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Globals")
            .field("entries", &self.entries)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("unread", &self.unread)
            .finish()
    }
}

/// Whether this role may read the password hashes and the configuration
/// files (a view it may not read fails the whole query).
const PRIVILEGES: &str = "SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT'), \
     has_table_privilege('pg_catalog.pg_file_settings', 'SELECT') \
     AND has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE')";

/// The query; see `globals.sql`.
const GLOBALS: &str = include_str!("globals.sql");

/// A digest of `{value}`, computed on the server.
const DIGEST: &str = "encode(sha256(convert_to({value}, 'UTF8')), 'hex')";

const PASSWORDS: &str = "SELECT 'role ' || quote_ident(a.rolname), NULL, 'password', {digest} \
     FROM pg_catalog.pg_authid a WHERE a.rolpassword IS NOT NULL";

const NO_ROWS: &str = "SELECT NULL, NULL, NULL, NULL WHERE false";

/// PostgreSQL 16 and later: a membership's INHERIT and SET options.
const MEMBER_OPTIONS: &str = ", CASE WHEN a.inherit_option THEN 'INHERIT' ELSE 'NOINHERIT' END, \
     CASE WHEN a.set_option THEN 'SET' ELSE 'NOSET' END";

/// PostgreSQL 15 and later: `GRANT SET ON PARAMETER`.
const PARAMETER_ACLS: &str = "UNION ALL SELECT 'privileges on parameter ' || p.parname, \
     p.paracl::text, NULL, NULL FROM pg_catalog.pg_parameter_acl p";

const FILE_SETTINGS: &str =
    "UNION ALL SELECT f.key, CASE WHEN f.secret THEN NULL ELSE f.value END, \
     CASE WHEN f.secret THEN 'value' END, CASE WHEN f.secret THEN {digest} END \
     FROM (SELECT 'server setting ' || s.name || ' in ' \
     || regexp_replace(COALESCE(s.sourcefile, 'no file'), '^.*/', '') AS key, \
     COALESCE(s.setting, '') AS value, \
     s.name ~* '(password|passphrase|secret|conninfo|token)' AS secret \
     FROM pg_catalog.pg_file_settings s WHERE s.name IS NOT NULL) f";

/// What a role may read of the shared objects, and the server version:
/// what the query of [`globals_sql`] is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Readable {
    pub(super) version: i32,
    /// `pg_authid` (password hashes).
    pub(super) passwords: bool,
    /// `pg_file_settings` (`ALTER SYSTEM`).
    pub(super) files: bool,
}

impl Readable {
    /// Asks the server what this role may read; `version` is the server's.
    pub(super) fn read(
        client: &mut impl postgres::GenericClient,
        version: i32,
    ) -> Result<Readable, postgres::Error> {
        let (passwords, files) = rows(client.simple_query(PRIVILEGES)?)
            .next()
            .map(|row| (row.get(0) == Some("t"), row.get(1) == Some("t")))
            .unwrap_or_default();
        Ok(Readable {
            version,
            passwords,
            files,
        })
    }

    /// What it may not read, with why.
    pub(super) fn unread(&self) -> Vec<String> {
        let mut unread = Vec::new();
        if !self.passwords {
            unread.push("role password hashes (reading pg_authid needs a superuser)".to_owned());
        }
        if !self.files {
            unread.push(
                "configuration file settings such as ALTER SYSTEM's (reading pg_file_settings \
                 needs a superuser)"
                    .to_owned(),
            );
        }
        unread
    }
}

/// The query of the shared objects a role that may read `readable` sees:
/// `(key, definition, secret noun, secret digest)` rows.
pub(super) fn globals_sql(readable: Readable) -> String {
    let digest = |value: &str| DIGEST.replace("{value}", value);
    GLOBALS
        .replace(
            "{passwords}",
            &if readable.passwords {
                PASSWORDS.replace("{digest}", &digest("a.rolpassword"))
            } else {
                NO_ROWS.to_owned()
            },
        )
        .replace(
            "{member_options}",
            if readable.version >= 160_000 {
                MEMBER_OPTIONS
            } else {
                ""
            },
        )
        .replace(
            "{parameter_acls}",
            if readable.version >= 150_000 {
                PARAMETER_ACLS
            } else {
                ""
            },
        )
        .replace(
            "{file_settings}",
            &if readable.files {
                FILE_SETTINGS.replace("{digest}", &digest("f.value"))
            } else {
                String::new()
            },
        )
}

/// Captures the shared objects of the server `client` is connected to.
///
/// Runs in its own read-only transaction, so the client must not be inside
/// one; the session's settings are untouched afterwards.
pub fn capture_globals(client: &mut Client) -> Result<Globals, postgres::Error> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    let version = server_version(tx.simple_query(SETTINGS)?);
    let readable = Readable::read(&mut tx, version)?;
    let messages = tx.simple_query(&globals_sql(readable))?;
    tx.rollback()?;
    Ok(Globals::from_rows(
        readable.unread(),
        rows(messages).map(|row| [0, 1, 2, 3].map(|i| row.get(i).map(str::to_owned))),
    ))
}

impl Globals {
    /// The shared objects from the rows of [`globals_sql`]: `[key,
    /// definition, secret noun, secret digest]`.
    pub(super) fn from_rows(
        unread: Vec<String>,
        rows: impl IntoIterator<Item = [Option<String>; 4]>,
    ) -> Globals {
        let mut globals = Globals {
            unread,
            ..Globals::default()
        };
        // Key → what the secret is and its digests.
        let mut secrets: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for [key, def, noun, digest] in rows {
            let Some(key) = key else { continue };
            match (noun, digest) {
                (Some(noun), Some(digest)) => {
                    // Two values under one key (a setting given twice):
                    // both count, in an order that does not depend on the
                    // order of the rows.
                    secrets
                        .entry(key)
                        .or_insert_with(|| (noun, Vec::new()))
                        .1
                        .push(digest);
                }
                _ => insert(&mut globals.entries.entries, &key, def.as_deref()),
            }
        }
        globals.secrets = secrets
            .into_iter()
            .map(|(key, (noun, mut digests))| {
                digests.sort();
                (key, (noun, digests.concat()))
            })
            .collect();
        globals
    }
}

/// The differences from `before` to `after`, sorted by key: the entries'
/// as [`diff`] gives them, and a [`Change::Secret`] for each secret that
/// differs, saying only that it changed.
pub fn diff_globals(before: &Globals, after: &Globals) -> Vec<Change> {
    let mut changes = diff(&before.entries, &after.entries);
    let keys: std::collections::BTreeSet<&String> =
        before.secrets.keys().chain(after.secrets.keys()).collect();
    for key in keys {
        let what = match (before.secrets.get(key), after.secrets.get(key)) {
            (Some((noun, b)), Some((_, a))) if a != b => format!("{noun} changed"),
            (Some((noun, _)), None) => format!("{noun} changed (removed)"),
            (None, Some((noun, _))) => format!("{noun} changed (set where there was none)"),
            _ => continue,
        };
        changes.push(Change::Secret {
            key: key.clone(),
            what,
        });
    }
    // Stable: an object's entry change comes before its secret's.
    changes.sort_by(|a, b| a.key().cmp(b.key()));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::render;
    #[test]
    fn shared_objects_differ_by_entry_and_a_secret_only_says_it_changed() {
        let globals = |entries: &[(&str, &str)], secrets: &[(&str, &str)]| Globals {
            entries: Snapshot::from_entries(
                entries.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            ),
            secrets: secrets
                .iter()
                .map(|(k, d)| (k.to_string(), ("password".to_string(), d.to_string())))
                .collect(),
            unread: vec![],
        };
        let before = globals(
            &[
                ("role a", "LOGIN"),
                ("role b", "LOGIN"),
                ("role c", "LOGIN"),
            ],
            &[("role a", "d1"), ("role b", "d2"), ("role c", "d3")],
        );
        let after = globals(
            &[
                ("role a", "LOGIN"),
                ("role b", "NOLOGIN"),
                ("role c", "LOGIN"),
                ("role d", "LOGIN"),
            ],
            &[("role a", "d1-other"), ("role d", "d4"), ("role c", "d3")],
        );
        let changes = diff_globals(&before, &after);
        assert_eq!(
            render(&changes),
            "~ role a: password changed\n\
             - role b: LOGIN\n\
             + role b: NOLOGIN\n\
             ~ role b: password changed (removed)\n\
             + role d: LOGIN\n\
             ~ role d: password changed (set where there was none)\n"
        );
        assert!(diff_globals(&before, &before.clone()).is_empty());
        let shown = format!("{before:?} {changes:?}");
        for digest in ["d1", "d2", "d3", "d4"] {
            assert!(!shown.contains(&format!("\"{digest}")), "{shown}");
        }
    }
}
