//! `TestServer` and the `TestDatabase`s it hands out: a PostgreSQL server
//! that test databases are made on — a private
//! [`TestCluster`](crate::TestCluster), or a server meant for tests whose
//! admin URL the caller passes explicitly.
//!
//! The two handles name each other (a server hands out databases, a
//! database keeps its server), so they live together here. The work is
//! done by the modules below: `admin` (connections), `database`
//! (statements), `dropper` (background drops) and `template` (migrated
//! clones).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use postgres::{Client, Config, NoTls};
use wdh_migrate_core::migrations::MigrationSet;

use crate::admin::Admin;
use crate::database;
use crate::dropper::Dropper;
use crate::error::{Error, Result};
use crate::exit;
use crate::names;
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
    admin: Arc<Admin>,
    /// A private cluster: pending drops die with it, nothing to wait for at exit.
    private: bool,
    dropper: Dropper,
    templates: Templates,
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
                admin: Arc::new(Admin::new(admin)),
                private,
                dropper: Dropper::new(private),
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
        server.sweep_stale()?;
        servers.insert(admin_url.to_string(), server.clone());
        // Dropping test databases on explicitly given servers must finish,
        // or they would be left behind (a private cluster simply goes away).
        let at_exit = server.clone();
        exit::register(
            exit::Phase::Finish,
            Box::new(move || {
                at_exit.finish();
            }),
        );
        Ok(server)
    }

    /// Creates an empty database `wdh_test_<pid>_<host>_<random>`.
    pub fn create_database(&self) -> Result<TestDatabase> {
        self.create_database_named(&names::fresh_name())
    }

    /// Creates an empty database with this name, which must carry the
    /// `wdh_test_` prefix: any other name is refused before any statement.
    pub fn create_database_named(&self, name: &str) -> Result<TestDatabase> {
        database::create(&self.inner.admin, name)?;
        Ok(self.handle(name.to_string()))
    }

    /// The template database for `set`, built on first use.
    pub fn template(&self, set: &MigrationSet) -> Result<String> {
        self.inner.templates.template(&self.inner.admin, set)
    }

    /// A test database already migrated with `set`: a clone of the set's
    /// template, taken from the pool of clones made ahead of demand when
    /// one is ready.
    pub fn create_migrated(&self, set: &MigrationSet) -> Result<TestDatabase> {
        let name = self.inner.templates.pooled_clone(&self.inner.admin, set)?;
        Ok(self.handle(name))
    }

    /// A clone of the set's template made now, bypassing the pool.
    pub fn clone_migrated(&self, set: &MigrationSet) -> Result<TestDatabase> {
        let name = self.inner.templates.fresh_clone(&self.inner.admin, set)?;
        Ok(self.handle(name))
    }

    /// How many clones each pool keeps ready (default 2; 0 turns pools off).
    pub fn set_pool_size(&self, size: usize) {
        self.inner.templates.set_pool_size(size);
    }

    /// Connection settings for `database` on this server.
    pub fn config_for(&self, database: &str) -> Config {
        self.inner.admin.config_for(database)
    }

    /// A connection string (URL form) for `database` on this server.
    pub fn url_for(&self, database: &str) -> String {
        self.inner.admin.url_for(database)
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
        database::sweep_stale(&self.inner.admin)
    }

    /// Drops a test database now (terminating its connections). Refuses
    /// names without the prefix before any statement.
    pub fn drop_database(&self, name: &str) -> Result<()> {
        database::drop_now(&self.inner.admin, name)
    }

    /// Waits until every database handed to the background dropper is gone
    /// (at most `timeout`). Returns whether the queue emptied.
    pub fn wait_for_drops(&self, timeout: Duration) -> bool {
        self.inner.dropper.wait(timeout)
    }

    fn handle(&self, name: String) -> TestDatabase {
        TestDatabase {
            server: self.clone(),
            name,
            dropped: false,
        }
    }

    /// Stops the pools, drops their unused clones and waits (at most 30 s)
    /// for the background drops; returns whether they all finished. Done at
    /// process exit for servers given by admin URL, which outlive the
    /// process; a front end whose process may not run exit handlers (a test
    /// worker that ends with `_exit`) calls it when its session ends. Later
    /// migrated databases are cloned on demand, without a pool.
    pub fn finish(&self) -> bool {
        self.inner.templates.drain_pools(&self.inner.admin);
        let done = self.wait_for_drops(Duration::from_secs(30));
        if !done {
            eprintln!("wdh-testdb: gave up waiting for test databases to be dropped; the next sweep removes them");
        }
        done
    }
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("hosts", &self.inner.admin.config().get_hosts())
            .field("private", &self.inner.private)
            .finish()
    }
}

/// A `wdh_test_<random>` database for one test. Dropping it terminates its
/// leftover connections and drops the database — also when the test
/// panicked. The drop runs on a background thread so it does not slow the
/// test; dropping never panics.
///
/// ```no_run
/// use wdh_testdb::TestDatabase;
///
/// let db = TestDatabase::new()?; // on this process's private cluster
/// let mut client = db.connect()?;
/// client.batch_execute("CREATE TABLE t (id int)")?;
/// println!("connect with: psql '{}'", db.url());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TestDatabase {
    server: TestServer,
    name: String,
    dropped: bool,
}

impl TestDatabase {
    /// An empty test database on a server meant for tests, reached through an
    /// admin URL given explicitly ([`TestServer::from_admin_url`]).
    pub fn on_admin_url(admin_url: &str) -> Result<TestDatabase> {
        TestServer::from_admin_url(admin_url)?.create_database()
    }

    /// The database name (`wdh_test_…`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection URL for this database.
    pub fn url(&self) -> String {
        self.server.url_for(&self.name)
    }

    /// Connection settings for this database.
    pub fn config(&self) -> Config {
        self.server.config_for(&self.name)
    }

    /// A new connection to this database.
    pub fn connect(&self) -> Result<Client> {
        self.server.connect(&self.name)
    }

    /// The server it lives on.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// Drops the database now and reports failure, instead of in the background.
    pub fn drop_now(mut self) -> Result<()> {
        self.dropped = true;
        self.server.drop_database(&self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.dropped {
            let inner = &self.server.inner;
            inner
                .dropper
                .schedule(&inner.admin, std::mem::take(&mut self.name));
        }
    }
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .field("private_cluster", &self.server.inner.private)
            .finish()
    }
}
