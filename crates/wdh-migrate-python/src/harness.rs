//! The test harness (`wdh-testdb`) for Python: private clusters, servers
//! given by admin URL, `wdh_test_` databases, migrated templates and their
//! pools. The pytest plugin is built on these; `wdh_migrate.testing`
//! re-exports them. Like the harness, nothing here reads the environment.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::SimpleQueryMessage;
use pyo3::prelude::*;
use wdh_migrate_core::migrations::MigrationSet as CoreSet;
use wdh_migrate_core::target::{server_secrets, Secrets, Source};
use wdh_testdb::{
    TestCluster as CoreCluster, TestDatabase as CoreDatabase, TestServer as CoreServer,
};

use crate::errors::Failure;
use crate::spelling::python_str;

/// Rows of a query, every value as text (`None` for NULL).
type Rows = Vec<Vec<Option<String>>>;

/// A migration set loaded once, to build templates and clones from.
#[pyclass(frozen, module = "wdh_migrate.testing", name = "MigrationSet")]
pub struct MigrationSet {
    set: Arc<CoreSet>,
    path: PathBuf,
}

#[pymethods]
impl MigrationSet {
    /// Loads and checks the migration set in `path` (a `ConfigError` names
    /// the file that is wrong).
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<MigrationSet> {
        let loaded = py.detach(|| CoreSet::load(&path).map_err(|e| Failure::config(&e)));
        Ok(MigrationSet {
            set: Arc::new(loaded.map_err(|f| f.into_pyerr(py))?),
            path,
        })
    }

    /// The folder it was loaded from.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The versions, in the order they apply.
    #[getter]
    fn versions(&self) -> Vec<String> {
        self.set
            .migrations
            .iter()
            .map(|m| m.version.to_string())
            .collect()
    }

    /// The SHA-256 of the whole set, hex: a changed set has a new one.
    #[getter]
    fn checksum(&self) -> String {
        self.set.checksum_hex()
    }

    /// The name of the set's template database (`wdh_test_tpl_…`).
    #[getter]
    fn template_name(&self) -> String {
        wdh_testdb::template_name(&self.set)
    }

    fn __repr__(&self) -> String {
        format!(
            "MigrationSet(path={}, migrations={})",
            python_str(&self.path.display().to_string()),
            self.set.migrations.len()
        )
    }
}

/// A private PostgreSQL cluster for this process: on a unix socket only, in
/// a throw-away directory (on `/dev/shm` when there is one), removed by
/// `stop()`, at process exit, or by a watchdog when the process is killed.
#[pyclass(frozen, module = "wdh_migrate.testing", name = "TestCluster")]
pub struct TestCluster {
    cluster: Mutex<Option<CoreCluster>>,
    server: CoreServer,
    root: PathBuf,
}

#[pymethods]
impl TestCluster {
    /// Not a test class, for pytest's collection.
    #[classattr]
    #[pyo3(name = "__test__")]
    const NOT_A_TEST: bool = false;

    /// Starts a new private cluster (a copy of the cached initialised data
    /// directory; about 40 ms).
    #[staticmethod]
    fn start(py: Python<'_>) -> PyResult<TestCluster> {
        let cluster = py
            .detach(|| CoreCluster::start().map_err(harness_failure(&Secrets::default())))
            .map_err(|f| f.into_pyerr(py))?;
        Ok(TestCluster {
            server: cluster.server().clone(),
            root: cluster.root().to_path_buf(),
            cluster: Mutex::new(Some(cluster)),
        })
    }

    /// The server that makes test databases on this cluster.
    #[getter]
    fn server(&self) -> TestServer {
        TestServer {
            server: self.server.clone(),
            secrets: Secrets::default(),
        }
    }

    /// The cluster's directory (data, socket, log).
    #[getter]
    fn root(&self) -> PathBuf {
        self.root.clone()
    }

    /// The directory of the server binaries it runs (`pg_dump`, `psql`, …).
    #[getter]
    fn bindir(&self) -> PyResult<PathBuf> {
        lock(&self.cluster)
            .as_ref()
            .map(|c| c.binaries().bindir().to_path_buf())
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("the cluster was stopped"))
    }

    /// An admin URL of the cluster (role `postgres`, database `postgres`),
    /// to hand to another process as `--wdh-admin-url`.
    #[getter]
    fn admin_url(&self) -> String {
        self.server.url_for("postgres")
    }

    /// Whether it still runs.
    #[getter]
    fn running(&self) -> bool {
        lock(&self.cluster).is_some()
    }

    /// Stops the server and removes its directory. Idempotent.
    fn stop(&self, py: Python<'_>) {
        let cluster = lock(&self.cluster).take();
        py.detach(|| drop(cluster));
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _kind: Option<Bound<'_, PyAny>>,
        _value: Option<Bound<'_, PyAny>>,
        _traceback: Option<Bound<'_, PyAny>>,
    ) {
        self.stop(py);
    }

    fn __repr__(&self) -> String {
        format!(
            "TestCluster(root={})",
            python_str(&self.root.display().to_string())
        )
    }
}

/// A server that hands out `wdh_test_` databases: a private cluster's, or
/// one meant for tests given by its admin URL.
#[pyclass(frozen, module = "wdh_migrate.testing", name = "TestServer")]
pub struct TestServer {
    server: CoreServer,
    secrets: Secrets,
}

#[pymethods]
impl TestServer {
    /// Not a test class, for pytest's collection.
    #[classattr]
    #[pyo3(name = "__test__")]
    const NOT_A_TEST: bool = false;

    /// A server meant for tests, reached through an admin URL given
    /// explicitly (its role needs CREATEDB). The first use in a process
    /// sweeps the test databases that dead processes of this host left on it.
    #[staticmethod]
    fn from_admin_url(py: Python<'_>, admin_url: String) -> PyResult<TestServer> {
        let secrets = server_secrets(&admin_url, Source::AdminUrl)
            .map_err(|e| Failure::config(&e).into_pyerr(py))?;
        let server = py
            .detach(|| CoreServer::from_admin_url(&admin_url).map_err(harness_failure(&secrets)))
            .map_err(|f| f.into_pyerr(py))?;
        Ok(TestServer { server, secrets })
    }

    /// A new empty database `wdh_test_<pid>_<host>_<random>`.
    fn create_database(&self, py: Python<'_>) -> PyResult<TestDatabase> {
        self.database(py, |s| s.create_database())
    }

    /// A database already at the head of `set`: a clone of the set's
    /// template (built on first use, once per server), from the pool of
    /// clones made ahead of demand when one is ready.
    fn create_migrated(&self, py: Python<'_>, set: &MigrationSet) -> PyResult<TestDatabase> {
        let set = Arc::clone(&set.set);
        self.database(py, move |s| s.create_migrated(&set))
    }

    /// A clone of the set's template made now, bypassing the pool.
    fn clone_migrated(&self, py: Python<'_>, set: &MigrationSet) -> PyResult<TestDatabase> {
        let set = Arc::clone(&set.set);
        self.database(py, move |s| s.clone_migrated(&set))
    }

    /// The set's template database, built now if it is not yet.
    fn template(&self, py: Python<'_>, set: &MigrationSet) -> PyResult<String> {
        let set = Arc::clone(&set.set);
        py.detach(|| {
            self.server
                .template(&set)
                .map_err(harness_failure(&self.secrets))
        })
        .map_err(|f| f.into_pyerr(py))
    }

    /// How many clones each template's pool keeps ready (default 2; 0: none).
    fn set_pool_size(&self, size: usize) {
        self.server.set_pool_size(size);
    }

    /// Drops the `wdh_test_` databases that dead processes of this host
    /// created and nobody is connected to; returns their names.
    fn sweep_stale(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        py.detach(|| {
            self.server
                .sweep_stale()
                .map_err(harness_failure(&self.secrets))
        })
        .map_err(|f| f.into_pyerr(py))
    }

    /// Stops the pools, drops their unused clones and waits for the
    /// background drops; returns whether they all finished.
    fn finish(&self, py: Python<'_>) -> bool {
        py.detach(|| self.server.finish())
    }

    /// Waits at most `timeout` seconds for the background drops; returns
    /// whether they all finished.
    fn wait_for_drops(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            Failure::Config(format!("timeout: {timeout} is not a number of seconds")).into_pyerr(py)
        })?;
        Ok(py.detach(|| self.server.wait_for_drops(timeout)))
    }

    /// Drops a test database now; a name without the `wdh_test_` prefix is
    /// refused before any statement.
    fn drop_database(&self, py: Python<'_>, name: String) -> PyResult<()> {
        py.detach(|| {
            self.server
                .drop_database(&name)
                .map_err(harness_failure(&self.secrets))
        })
        .map_err(|f| f.into_pyerr(py))
    }

    /// A connection URL for `database` on this server.
    fn url_for(&self, database: &str) -> String {
        self.server.url_for(database)
    }

    /// Runs `sql` (one or more statements, simple protocol) on `database`
    /// of this server; the rows of every statement, values as text.
    fn query(&self, py: Python<'_>, database: String, sql: String) -> PyResult<Rows> {
        py.detach(|| query(&self.server, &database, &sql, &self.secrets))
            .map_err(|f| f.into_pyerr(py))
    }

    fn __repr__(&self) -> String {
        format!(
            "TestServer({})",
            self.secrets.scrub(&self.server.url_for("postgres"))
        )
    }
}

impl TestServer {
    fn database(
        &self,
        py: Python<'_>,
        make: impl FnOnce(&CoreServer) -> wdh_testdb::Result<CoreDatabase> + Send,
    ) -> PyResult<TestDatabase> {
        let db = py
            .detach(|| make(&self.server).map_err(harness_failure(&self.secrets)))
            .map_err(|f| f.into_pyerr(py))?;
        Ok(TestDatabase {
            name: db.name().to_string(),
            url: db.url(),
            server: self.server.clone(),
            secrets: self.secrets.clone(),
            db: Mutex::new(Some(db)),
        })
    }
}

/// A `wdh_test_` database for one test. `close()` (or leaving its `with`
/// block, or its garbage collection) drops it in the background; `drop()`
/// drops it now and reports failure. `str()` is its URL.
#[pyclass(frozen, module = "wdh_migrate.testing", name = "TestDatabase")]
pub struct TestDatabase {
    db: Mutex<Option<CoreDatabase>>,
    name: String,
    url: String,
    server: CoreServer,
    secrets: Secrets,
}

#[pymethods]
impl TestDatabase {
    /// Not a test class, for pytest's collection.
    #[classattr]
    #[pyo3(name = "__test__")]
    const NOT_A_TEST: bool = false;

    /// The database's name (`wdh_test_…`).
    #[getter]
    fn name(&self) -> String {
        self.name.clone()
    }

    /// A connection URL for it.
    #[getter]
    fn url(&self) -> String {
        self.url.clone()
    }

    /// Whether it still exists (neither closed nor dropped).
    #[getter]
    fn open(&self) -> bool {
        lock(&self.db).is_some()
    }

    /// Runs `sql` on it (simple protocol); the rows of every statement,
    /// values as text.
    fn query(&self, py: Python<'_>, sql: String) -> PyResult<Rows> {
        py.detach(|| query(&self.server, &self.name, &sql, &self.secrets))
            .map_err(|f| f.into_pyerr(py))
    }

    /// Drops it in the background (terminating its connections). Idempotent.
    fn close(&self) {
        drop(lock(&self.db).take());
    }

    /// Drops it now and reports failure. Idempotent.
    fn drop(&self, py: Python<'_>) -> PyResult<()> {
        let Some(db) = lock(&self.db).take() else {
            return Ok(());
        };
        py.detach(|| db.drop_now().map_err(harness_failure(&self.secrets)))
            .map_err(|f| f.into_pyerr(py))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        _kind: Option<Bound<'_, PyAny>>,
        _value: Option<Bound<'_, PyAny>>,
        _traceback: Option<Bound<'_, PyAny>>,
    ) {
        self.close();
    }

    fn __str__(&self) -> String {
        self.url.clone()
    }

    fn __repr__(&self) -> String {
        format!("TestDatabase(name={})", python_str(&self.name))
    }
}

fn query(
    server: &CoreServer,
    database: &str,
    sql: &str,
    secrets: &Secrets,
) -> Result<Rows, Failure> {
    let fail = |e: postgres::Error| Failure::Database {
        message: secrets.scrub(&format!(
            "database `{database}`: {}",
            wdh_migrate_core::causes::describe(&e)
        )),
        database: Some(database.to_string()),
    };
    let mut client = server.connect(database).map_err(harness_failure(secrets))?;
    let messages = client.simple_query(sql).map_err(fail)?;
    Ok(messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|i| row.get(i).map(str::to_string))
                    .collect(),
            ),
            _ => None,
        })
        .collect())
}

fn harness_failure(secrets: &Secrets) -> impl Fn(wdh_testdb::Error) -> Failure + '_ {
    move |e| Failure::Database {
        message: secrets.scrub(&e.report()),
        database: None,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
