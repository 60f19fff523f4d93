//! `TestDatabase`: one `wdh_test_` database per test, dropped when the value is.

use postgres::{Client, Config};

use crate::cluster::TestCluster;
use crate::error::Result;
use crate::server::TestServer;

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
    /// An empty test database on the process's shared private cluster
    /// ([`TestCluster::shared`]).
    pub fn new() -> Result<TestDatabase> {
        TestCluster::shared()?.server().create_database()
    }

    /// A test database already migrated with `set`, on the process's shared
    /// private cluster: a clone of the set's template
    /// ([`TestServer::create_migrated`]).
    pub fn migrated(set: &wdh_migrate_core::MigrationSet) -> Result<TestDatabase> {
        TestCluster::shared()?.server().create_migrated(set)
    }

    /// An empty test database on a server meant for tests, reached through an
    /// admin URL given explicitly ([`TestServer::from_admin_url`]).
    pub fn on_admin_url(admin_url: &str) -> Result<TestDatabase> {
        TestServer::from_admin_url(admin_url)?.create_database()
    }

    pub(crate) fn from_parts(server: TestServer, name: String) -> TestDatabase {
        TestDatabase {
            server,
            name,
            dropped: false,
        }
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
            self.server.schedule_drop(std::mem::take(&mut self.name));
        }
    }
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("name", &self.name)
            .field("private_cluster", &self.server.is_private())
            .finish()
    }
}
