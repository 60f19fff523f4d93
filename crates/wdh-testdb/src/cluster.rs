//! `TestCluster`: a private PostgreSQL server on a unix socket, in a
//! throw-away directory, removed when it stops — also when the process dies.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::account::{as_account, Account};
use crate::binaries::{Locator, PgBinaries};
use crate::error::{Error, Result};
use crate::exit;
use crate::fsutil::{self, Storage};
use crate::server::{TestDatabase, TestServer};
use crate::tls::Tcp;
use crate::watchdog::Watchdog;

/// How many ephemeral TCP ports to try when another process takes the one
/// chosen between choosing and binding it.
const TCP_ATTEMPTS: usize = 5;

/// Settings for tuning a server that holds only throw-away data.
const THROWAWAY_SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", ""),
    ("fsync", "off"),
    ("synchronous_commit", "off"),
    ("full_page_writes", "off"),
    ("wal_level", "minimal"),
    ("max_wal_senders", "0"),
    ("autovacuum", "off"),
    // Segments live in the data directory and go with it, even after a kill.
    ("dynamic_shared_memory_type", "mmap"),
    ("checkpoint_timeout", "1h"),
    ("max_wal_size", "4GB"),
    ("log_min_messages", "warning"),
    ("unix_socket_permissions", "0777"),
];

/// How to start a [`TestCluster`].
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The server binaries; `None` searches with [`Locator::from_env`].
    pub binaries: Option<PgBinaries>,
    /// Where the cluster directory goes; `None` picks [`Storage::detect`].
    pub storage: Option<Storage>,
    /// The socket directory; `None` uses the cluster's own directory.
    pub socket_dir: Option<PathBuf>,
    /// The port, which for a unix socket only names the socket file.
    pub port: u16,
    /// How long to wait for the server to accept connections.
    pub ready_timeout: Duration,
    /// Copy a cached, freshly initialised data directory instead of running initdb.
    pub use_init_cache: bool,
    /// Extra server settings (`-c name=value`), applied after the throw-away tuning.
    pub settings: Vec<(String, String)>,
    /// The contents of `pg_hba.conf`; `None` keeps initdb's (trust for local
    /// connections). For testing password authentication.
    pub hba: Option<String>,
    /// Also listen on 127.0.0.1, on an ephemeral port (which then is the
    /// port, and names the unix socket too), in plain text or with TLS.
    pub tcp: Option<Tcp>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            binaries: None,
            storage: None,
            socket_dir: None,
            port: 5432,
            ready_timeout: Duration::from_secs(30),
            use_init_cache: true,
            settings: Vec::new(),
            hba: None,
            tcp: None,
        }
    }
}

/// A private PostgreSQL cluster: initdb'd into a fresh directory (on a RAM
/// disk when there is one), listening only on a unix socket, tuned for
/// throw-away data (fsync, synchronous_commit and full_page_writes off).
///
/// When the process runs as root the server runs as the `postgres` system
/// account (initdb refuses root). The cluster stops and its directory is
/// removed when the value is dropped; a watchdog process does the same if
/// this process dies without dropping it (a panic with `panic = "abort"`,
/// SIGKILL).
///
/// ```no_run
/// use wdh_testdb::TestCluster;
///
/// let cluster = TestCluster::shared()?; // started once per process, stopped at exit
/// let db = cluster.server().create_database()?; // wdh_test_<random>, dropped on Drop
/// let mut client = db.connect()?;
/// let one: i32 = client.query_one("SELECT 1", &[])?.get(0);
/// assert_eq!(one, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TestCluster {
    root: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    tcp: bool,
    storage: Storage,
    binaries: PgBinaries,
    server: TestServer,
    procs: Mutex<Option<Procs>>,
}

struct Procs {
    postgres: Child,
    watchdog: Option<Watchdog>,
}

static SHARED: OnceLock<std::result::Result<TestCluster, String>> = OnceLock::new();

impl TestCluster {
    /// The cluster shared by every test of this process, started on first use
    /// and stopped (directory removed) when the process exits, whether its tests
    /// passed, failed or panicked.
    ///
    /// Each test process has its own cluster: nothing is shared between
    /// processes, so `cargo nextest` (a process per test) and `cargo test`
    /// (a process per test binary) are both isolated.
    pub fn shared() -> Result<&'static TestCluster> {
        let cluster = SHARED.get_or_init(|| {
            let started = TestCluster::start().map_err(|e| e.report());
            if started.is_ok() {
                // After the hooks that finish work on other servers.
                exit::register(exit::Phase::Shutdown, Box::new(stop_shared));
            }
            started
        });
        cluster
            .as_ref()
            .map_err(|e| Error::SharedClusterFailed(e.clone()))
    }

    /// Starts a new cluster with default options.
    pub fn start() -> Result<TestCluster> {
        TestCluster::start_with(ClusterOptions::default())
    }

    /// Starts a new cluster. With [`ClusterOptions::tcp`] it listens on an
    /// ephemeral port of 127.0.0.1, chosen again when another process takes
    /// it first.
    pub fn start_with(options: ClusterOptions) -> Result<TestCluster> {
        let binaries = match options.binaries.clone() {
            Some(b) => b,
            None => Locator::from_env().locate()?,
        };
        let account = Account::for_server()?;
        let storage = options.storage.clone().unwrap_or_else(Storage::detect);
        if options.tcp.is_none() {
            return start_once(options, binaries, &account, storage);
        }
        let mut tried = Vec::new();
        loop {
            let port = crate::port::free_tcp_port()?;
            let attempt = ClusterOptions {
                port,
                ..options.clone()
            };
            match start_once(attempt, binaries.clone(), &account, storage.clone()) {
                Err(Error::SocketTaken { .. }) => {
                    tried.push(port);
                    if tried.len() >= TCP_ATTEMPTS {
                        return Err(Error::TcpPortTaken { tried });
                    }
                }
                other => return other,
            }
        }
    }
}

fn start_once(
    options: ClusterOptions,
    binaries: PgBinaries,
    account: &Account,
    storage: Storage,
) -> Result<TestCluster> {
    let root = fsutil::fresh_dir(storage.path(), "wdh-testdb", account)?;
    match start_in(&root, &binaries, account, &options) {
        Ok((postgres, socket_dir)) => {
            let watchdog = Watchdog::spawn(postgres.id(), "QUIT", &root);
            let server = TestServer::for_cluster(&socket_dir, options.port);
            Ok(TestCluster {
                root,
                socket_dir,
                port: options.port,
                tcp: options.tcp.is_some(),
                storage,
                binaries,
                server,
                procs: Mutex::new(Some(Procs { postgres, watchdog })),
            })
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&root);
            Err(e)
        }
    }
}

impl TestCluster {
    /// The server handle that creates test databases on this cluster.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// The directory holding the data directory, the socket and the log.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The unix socket directory.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The port (the socket is `<socket_dir>/.s.PGSQL.<port>`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TCP port on 127.0.0.1, when [`ClusterOptions::tcp`] was set.
    pub fn tcp_port(&self) -> Option<u16> {
        self.tcp.then_some(self.port)
    }

    /// Where the cluster lives (RAM disk or temp dir).
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The server binaries in use.
    pub fn binaries(&self) -> &PgBinaries {
        &self.binaries
    }

    /// The server's log file.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// A connection string for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        self.server.url_for(database)
    }

    /// Stops the server and removes its directory. Idempotent; also done on drop.
    pub fn stop(&self) {
        let procs = self.procs.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(mut procs) = procs else { return };
        if let Some(watchdog) = procs.watchdog.take() {
            watchdog.dismiss();
        }
        // Immediate shutdown: the data is thrown away, so no checkpoint is needed.
        signal(procs.postgres.id(), libc::SIGQUIT);
        let _ = procs.postgres.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The shortcuts that make test databases on the shared cluster.
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
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for TestCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCluster")
            .field("root", &self.root)
            .field("socket_dir", &self.socket_dir)
            .field("port", &self.port)
            .field("storage", &self.storage)
            .finish()
    }
}

/// Stops the shared cluster (at process exit).
fn stop_shared() {
    if let Some(Ok(cluster)) = SHARED.get() {
        cluster.stop();
    }
}

fn signal(pid: u32, sig: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: sending a signal to a child we spawned.
        unsafe { libc::kill(pid, sig) };
    }
}

fn start_in(
    root: &Path,
    binaries: &PgBinaries,
    account: &Account,
    options: &ClusterOptions,
) -> Result<(Child, PathBuf)> {
    let data = root.join("data");
    if options.use_init_cache {
        let cached = crate::initcache::cached_data_dir(binaries, account)?;
        fsutil::copy_tree(&cached, &data, account)?;
    } else {
        crate::initcache::initdb(binaries, account, &data)?;
    }
    if let Some(hba) = &options.hba {
        let path = data.join("pg_hba.conf");
        std::fs::write(&path, hba).map_err(Error::io("writing", &path))?;
        account.own(&path)?;
    }
    let tcp_settings = match &options.tcp {
        None => Vec::new(),
        Some(tcp) => tcp_settings(tcp, &data, account)?,
    };
    let socket_dir = options
        .socket_dir
        .clone()
        .unwrap_or_else(|| root.to_path_buf());
    let socket = socket_dir.join(format!(".s.PGSQL.{}", options.port));
    if socket.exists() {
        return Err(Error::SocketTaken { socket });
    }
    let log_path = root.join("server.log");
    let log = std::fs::File::create(&log_path).map_err(Error::io("creating", &log_path))?;
    let log_err = log.try_clone().map_err(Error::io("opening", &log_path))?;
    let mut cmd = Command::new(binaries.bin("postgres"));
    cmd.arg("-D").arg(&data);
    cmd.arg("-k").arg(&socket_dir);
    cmd.arg("-p").arg(options.port.to_string());
    for (name, value) in THROWAWAY_SETTINGS {
        cmd.arg("-c").arg(format!("{name}={value}"));
    }
    for (name, value) in tcp_settings.iter().chain(&options.settings) {
        cmd.arg("-c").arg(format!("{name}={value}"));
    }
    cmd.stdin(Stdio::null()).stdout(log).stderr(log_err);
    as_account(&mut cmd, account);
    let mut child = cmd
        .spawn()
        .map_err(Error::io("starting", binaries.bin("postgres")))?;
    match wait_ready(&mut child, &data, &log_path, &socket, options.ready_timeout) {
        Ok(()) => Ok((child, socket_dir)),
        Err(e) => {
            signal(child.id(), libc::SIGQUIT);
            let _ = child.wait();
            Err(e)
        }
    }
}

/// The settings that make the server listen on 127.0.0.1, and its TLS
/// files, written into the data directory for the server's account (the
/// key readable by it alone, as the server demands).
fn tcp_settings(tcp: &Tcp, data: &Path, account: &Account) -> Result<Vec<(String, String)>> {
    let mut settings = vec![("listen_addresses".to_owned(), "127.0.0.1".to_owned())];
    let Tcp::Tls(tls) = tcp else {
        settings.push(("ssl".into(), "off".into()));
        return Ok(settings);
    };
    let write = |name: &str, text: &str, mode: u32| -> Result<String> {
        use std::os::unix::fs::PermissionsExt;
        let path = data.join(name);
        std::fs::write(&path, text).map_err(Error::io("writing", &path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(Error::io("setting the mode of", &path))?;
        account.own(&path)?;
        Ok(path.display().to_string())
    };
    settings.push(("ssl".into(), "on".into()));
    settings.push((
        "ssl_cert_file".into(),
        write("server.crt", &tls.server.cert_pem, 0o644)?,
    ));
    settings.push((
        "ssl_key_file".into(),
        write("server.key", &tls.server.key_pem, 0o600)?,
    ));
    if let Some(ca) = &tls.client_ca_pem {
        settings.push(("ssl_ca_file".into(), write("client-ca.crt", ca, 0o644)?));
    }
    Ok(settings)
}

/// Polls `postmaster.pid` every 2 ms for the `ready` status (what pg_ctl
/// polls at 10 Hz) and watches the child for an early exit.
fn wait_ready(
    child: &mut Child,
    data: &Path,
    log: &Path,
    socket: &Path,
    timeout: Duration,
) -> Result<()> {
    let pidfile = data.join("postmaster.pid");
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(&pidfile) {
            if text
                .lines()
                .nth(7)
                .is_some_and(|status| status.trim() == "ready")
            {
                return Ok(());
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log_tail = fsutil::tail(log, 20);
            if log_tail.contains("could not bind") || log_tail.contains("lock file") {
                return Err(Error::SocketTaken {
                    socket: socket.to_path_buf(),
                });
            }
            return Err(Error::ServerStartFailed {
                status: status.to_string(),
                log: log.to_path_buf(),
                log_tail,
            });
        }
        if Instant::now() >= deadline {
            return Err(Error::ServerNotReady {
                timeout_ms: timeout.as_millis(),
                log: log.to_path_buf(),
                log_tail: fsutil::tail(log, 20),
            });
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}
