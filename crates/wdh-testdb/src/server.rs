//! `TestServer`: a PostgreSQL server that test databases are made on — a
//! private [`TestCluster`](crate::TestCluster), or a server meant for tests
//! whose admin URL the caller passes explicitly.

use std::collections::HashMap;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use crate::database::TestDatabase;
use crate::error::{Error, Result};
use crate::names::{self, check_name};
use crate::template::Templates;

/// A server that hands out `wdh_test_` databases. Cheap to clone.
///
/// It keeps a few admin connections for creating databases, and one
/// background thread that drops databases once their tests are done, so a
/// drop (which forces a checkpoint) never sits on a test's critical path.
#[derive(Clone)]
pub struct TestServer {
    inner: Arc<Inner>,
}

struct Inner {
    admin: Config,
    /// A private cluster: pending drops die with it, nothing to wait for at exit.
    private: bool,
    pool: Mutex<Vec<Client>>,
    dropper: Mutex<Option<Sender<String>>>,
    pending: Arc<(Mutex<usize>, Condvar)>,
    server_version: OnceLock<u32>,
    templates: Templates,
}

/// A handle that does not keep the server alive (for background threads).
pub(crate) struct WeakServer(std::sync::Weak<Inner>);

impl WeakServer {
    pub(crate) fn upgrade(&self) -> Option<TestServer> {
        self.0.upgrade().map(|inner| TestServer { inner })
    }
}

static EXTERNAL: OnceLock<Mutex<HashMap<String, TestServer>>> = OnceLock::new();

impl TestServer {
    pub(crate) fn for_cluster(socket_dir: &std::path::Path, port: u16) -> TestServer {
        let mut admin = Config::new();
        admin
            .host_path(socket_dir)
            .port(port)
            .user("postgres")
            .dbname("postgres");
        admin.connect_timeout(Duration::from_secs(10));
        TestServer::new(admin, true)
    }

    fn new(admin: Config, private: bool) -> TestServer {
        TestServer {
            inner: Arc::new(Inner {
                admin,
                private,
                pool: Mutex::new(Vec::new()),
                dropper: Mutex::new(None),
                pending: Arc::new((Mutex::new(0), Condvar::new())),
                server_version: OnceLock::new(),
                templates: Templates::new(),
            }),
        }
    }

    /// A server meant for tests, reached through an admin URL (URL or
    /// key=value form) given explicitly by the caller. Nothing is ever read
    /// from the environment. The role needs CREATEDB.
    ///
    /// The first use in a process sweeps stale test databases left on that
    /// server by killed runs of this host (see [`TestServer::sweep_stale`]).
    pub fn from_admin_url(admin_url: &str) -> Result<TestServer> {
        let registry = EXTERNAL.get_or_init(Default::default);
        let mut servers = registry.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(server) = servers.get(admin_url) {
            return Ok(server.clone());
        }
        let mut admin: Config = admin_url
            .parse()
            .map_err(Error::pg("parsing the admin URL"))?;
        if admin.get_connect_timeout().is_none() {
            admin.connect_timeout(Duration::from_secs(10));
        }
        let server = TestServer::new(admin, false);
        crate::exit::register();
        server.sweep_stale()?;
        servers.insert(admin_url.to_string(), server.clone());
        Ok(server)
    }

    /// Creates an empty database `wdh_test_<pid>_<host>_<random>`.
    pub fn create_database(&self) -> Result<TestDatabase> {
        self.create_database_named(&names::fresh_name())
    }

    /// Creates an empty database with this name, which must carry the
    /// `wdh_test_` prefix: any other name is refused before any statement.
    pub fn create_database_named(&self, name: &str) -> Result<TestDatabase> {
        check_name(name)?;
        self.with_admin(|client, version| {
            // FILE_COPY beats the default WAL_LOG for small templates (see the bench).
            let strategy = if version >= 150_000 {
                " STRATEGY FILE_COPY"
            } else {
                ""
            };
            client.batch_execute(&format!("CREATE DATABASE \"{name}\"{strategy}"))
        })
        .map_err(Error::pg(format!("creating database {name}")))?;
        Ok(TestDatabase::from_parts(self.clone(), name.to_string()))
    }

    /// Connection settings of the admin connection (its own database).
    pub(crate) fn admin_config(&self) -> Config {
        self.inner.admin.clone()
    }

    /// Connection settings for `database` on this server.
    pub fn config_for(&self, database: &str) -> Config {
        let mut config = self.inner.admin.clone();
        config.dbname(database);
        config
    }

    /// A connection string (URL form) for `database` on this server.
    pub fn url_for(&self, database: &str) -> String {
        url_for(&self.inner.admin, database)
    }

    /// Connects to `database` on this server.
    pub fn connect(&self, database: &str) -> Result<Client> {
        self.config_for(database)
            .connect(NoTls)
            .map_err(Error::pg(format!("connecting to {database}")))
    }

    /// Drops every `wdh_test_` database that a process of this host created
    /// and that process is gone, if nobody is connected to it. Databases
    /// without the prefix, and databases of live processes or other hosts,
    /// are never touched. Returns the names dropped.
    pub fn sweep_stale(&self) -> Result<Vec<String>> {
        let host = names::host_tag();
        let rows = self
            .with_admin(|c, _| {
                c.query(
                    "SELECT d.datname, (SELECT count(*) FROM pg_stat_activity a WHERE a.datid = d.oid) \
                     FROM pg_database d WHERE starts_with(d.datname, $1)",
                    &[&names::PREFIX],
                )
            })
            .map_err(Error::pg("listing test databases"))?;
        let stale: Vec<String> = rows
            .iter()
            .filter(|row| row.get::<_, i64>(1) == 0)
            .map(|row| row.get::<_, String>(0))
            .filter(|name| {
                names::creator(name).is_some_and(|c| c.host == host && !names::process_alive(c.pid))
            })
            .collect();
        let mut dropped = Vec::new();
        for name in stale {
            check_name(&name)?;
            // A plain DROP: a session that connected since the listing makes
            // it fail, instead of being terminated as WITH (FORCE) would.
            match self
                .with_admin(|c, _| c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\"")))
            {
                Ok(()) => dropped.push(name),
                Err(e) => eprintln!("wdh-testdb: left stale test database {name} in place: {e}"),
            }
        }
        Ok(dropped)
    }

    /// Drops a test database now (terminating its connections). Refuses
    /// names without the prefix before any statement.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.with_admin(|c, version| drop_test_database(c, name, version))
            .map_err(Error::pg(format!("dropping database {name}")))
    }

    /// Waits until every database handed to the background dropper is gone
    /// (at most `timeout`). Returns whether the queue emptied.
    pub fn wait_for_drops(&self, timeout: Duration) -> bool {
        let (count, cond) = &*self.inner.pending;
        let guard = count.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = cond
            .wait_timeout_while(guard, timeout, |n| *n > 0)
            .unwrap_or_else(|p| p.into_inner());
        *guard == 0
    }

    /// Queues a drop on the background thread; falls back to dropping now.
    pub(crate) fn schedule_drop(&self, name: String) {
        let sender = {
            let mut dropper = self.inner.dropper.lock().unwrap_or_else(|p| p.into_inner());
            dropper
                .get_or_insert_with(|| {
                    spawn_dropper(
                        self.admin_config(),
                        self.inner.private,
                        Arc::clone(&self.inner.pending),
                    )
                })
                .clone()
        };
        *self
            .inner
            .pending
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner()) += 1;
        if let Err(mpsc::SendError(name)) = sender.send(name) {
            finish_one(&self.inner.pending);
            if let Err(e) = self.drop_database(&name) {
                eprintln!("wdh-testdb: could not drop test database {name}: {e}");
            }
        }
    }

    pub(crate) fn is_private(&self) -> bool {
        self.inner.private
    }

    pub(crate) fn templates(&self) -> &Templates {
        &self.inner.templates
    }

    pub(crate) fn downgrade(&self) -> WeakServer {
        WeakServer(Arc::downgrade(&self.inner))
    }

    /// Runs `f` on a pooled admin connection (with the server version).
    pub(crate) fn with_admin<T>(
        &self,
        f: impl FnOnce(&mut Client, u32) -> std::result::Result<T, postgres::Error>,
    ) -> std::result::Result<T, postgres::Error> {
        let pooled = self
            .inner
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.inner.admin.connect(NoTls)?,
        };
        let version = match self.inner.server_version.get() {
            Some(v) => *v,
            None => {
                let v: i32 = client
                    .query_one("SELECT current_setting('server_version_num')::int", &[])?
                    .get(0);
                *self
                    .inner
                    .server_version
                    .get_or_init(|| u32::try_from(v).unwrap_or(0))
            }
        };
        let result = f(&mut client, version);
        if result.is_ok() || !client.is_closed() {
            self.inner
                .pool
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(client);
        }
        result
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("hosts", &self.inner.admin.get_hosts())
            .field("private", &self.inner.private)
            .finish()
    }
}

/// Waits for the background drops of every explicitly given server (called at exit).
pub(crate) fn flush_external() {
    if let Some(registry) = EXTERNAL.get() {
        let servers: Vec<TestServer> = registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for server in servers {
            server.drain_pools();
            if !server.wait_for_drops(Duration::from_secs(30)) {
                eprintln!("wdh-testdb: gave up waiting for test databases to be dropped; the next sweep removes them");
            }
        }
    }
}

/// Drops a test database, terminating its sessions first. Before
/// PostgreSQL 13 (no `WITH (FORCE)`) that takes two messages: `DROP
/// DATABASE` cannot share a message with another statement.
fn drop_test_database(
    client: &mut Client,
    name: &str,
    version: u32,
) -> std::result::Result<(), postgres::Error> {
    if version >= 130_000 {
        return client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
    }
    client.execute(
        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()",
        &[&name],
    )?;
    client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
}

fn finish_one(pending: &(Mutex<usize>, Condvar)) {
    let mut n = pending.0.lock().unwrap_or_else(|p| p.into_inner());
    *n = n.saturating_sub(1);
    pending.1.notify_all();
}

/// The background dropper. On a private cluster a failed drop is not
/// reported: the cluster (stopping, or already gone) takes the database with it.
fn spawn_dropper(
    admin: Config,
    private: bool,
    pending: Arc<(Mutex<usize>, Condvar)>,
) -> Sender<String> {
    let (tx, rx) = mpsc::channel::<String>();
    let spawned = std::thread::Builder::new()
        .name("wdh-testdb-dropper".into())
        .spawn(move || {
            let mut client: Option<Client> = None;
            let mut version = 0;
            for name in rx {
                if check_name(&name).is_ok() {
                    let outcome = (|| -> std::result::Result<(), postgres::Error> {
                        if client.as_ref().is_none_or(Client::is_closed) {
                            let mut c = admin.connect(NoTls)?;
                            version = c
                                .query_one(
                                    "SELECT current_setting('server_version_num')::int",
                                    &[],
                                )?
                                .get::<_, i32>(0) as u32;
                            client = Some(c);
                        }
                        match client.as_mut() {
                            Some(c) => drop_test_database(c, &name, version),
                            None => Ok(()),
                        }
                    })();
                    if let Err(e) = outcome {
                        client = None;
                        if !private {
                            eprintln!("wdh-testdb: could not drop test database {name}: {e}");
                        }
                    }
                }
                finish_one(&pending);
            }
        });
    if spawned.is_err() {
        // No thread: the receiver is gone, so sends fail and drops happen inline.
        let (tx, _) = mpsc::channel();
        return tx;
    }
    tx
}

/// Renders a connection URL from a config, with every host in the query so
/// unix socket paths need no encoding in the authority.
fn url_for(config: &Config, database: &str) -> String {
    let mut url = String::from("postgresql://");
    if let Some(user) = config.get_user() {
        url.push_str(&encode(user));
        if let Some(password) = config.get_password() {
            url.push(':');
            url.push_str(&encode(&String::from_utf8_lossy(password)));
        }
        url.push('@');
    }
    url.push('/');
    url.push_str(&encode(database));
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let mut params = Vec::new();
    if !hosts.is_empty() {
        params.push(format!(
            "host={}",
            hosts
                .iter()
                .map(|h| encode(h))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if !config.get_ports().is_empty() {
        params.push(format!(
            "port={}",
            config
                .get_ports()
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if !params.is_empty() {
        url.push('?');
        url.push_str(&params.join("&"));
    }
    url
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_round_trip_through_the_config_parser() {
        let mut config = Config::new();
        config
            .host_path("/dev/shm/wdh-testdb-1/")
            .port(5432)
            .user("postgres")
            .password("p@ss:w/rd");
        let url = url_for(&config, "wdh_test_x");
        let parsed: Config = url.parse().unwrap();
        assert_eq!(parsed.get_dbname(), Some("wdh_test_x"));
        assert_eq!(parsed.get_hosts(), config.get_hosts());
        assert_eq!(parsed.get_password(), Some(&b"p@ss:w/rd"[..]));
        assert_eq!(parsed.get_ports(), &[5432]);
    }
}
