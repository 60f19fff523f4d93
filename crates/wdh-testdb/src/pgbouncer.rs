//! `PgBouncer`: a real PgBouncer in front of a [`TestCluster`], in session or
//! transaction pooling, for tests that run clients through a pooler.
//!
//! It runs as the cluster's account (PgBouncer refuses root), in a directory
//! of its own under the cluster's root (its socket, `pgbouncer.ini`, the auth
//! file and `pgbouncer.log`), and forwards every database of the cluster. It
//! is stopped on `Drop`, at process exit (for one kept in a static or
//! leaked), and by a watchdog if the process is killed.

mod config;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::{Duration, Instant};

use postgres::{Client, Config, NoTls, SimpleQueryMessage};

pub use config::{PgBouncerOptions, PoolMode};

use crate::account::{as_account, Account};
use crate::binaries::PgBouncerLocator;
use crate::cluster::TestCluster;
use crate::error::{Error, Result};
use crate::exit;
use crate::fsutil;
use crate::watchdog::Watchdog;

/// The port of a PgBouncer that listens on its unix socket only (the
/// directory is its own, so any number is free; this is PgBouncer's default).
const UNIX_ONLY_PORT: u16 = 6432;

/// How many ephemeral TCP ports to try when another process takes the one
/// chosen between choosing and binding it.
const TCP_ATTEMPTS: usize = 5;

/// How long to wait for PgBouncer to exit after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A PgBouncer in front of a [`TestCluster`].
///
/// ```no_run
/// use wdh_testdb::{PgBouncer, PoolMode, TestCluster};
///
/// let cluster = TestCluster::shared()?;
/// let db = cluster.server().create_database()?;
/// let bouncer = PgBouncer::start(cluster, PoolMode::Transaction)?;
/// let mut client = bouncer.connect(db.name())?; // through the pooler
/// client.batch_execute("CREATE TABLE t (id int)")?;
/// println!("psql '{}'", bouncer.url(db.name()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Connections go through PgBouncer's unix socket (and 127.0.0.1 with
/// [`PgBouncerOptions::tcp`]) as the cluster's `postgres` role by default;
/// any other role of the cluster can connect too (change the user of
/// [`PgBouncer::config_for`]). PgBouncer authenticates clients with
/// `trust`, as the cluster does, so a cluster whose `pg_hba.conf` asks for
/// passwords ([`ClusterOptions::hba`](crate::ClusterOptions::hba)) is not
/// reachable through it.
///
/// Stop it before its cluster: a cluster that stops first takes the
/// pooler's directory with it, and the pooler's connections fail.
pub struct PgBouncer {
    dir: PathBuf,
    port: u16,
    tcp_port: Option<u16>,
    pool_mode: PoolMode,
    running: Arc<Running>,
}

/// The process and its directory, shared with the exit hook.
struct Running {
    dir: PathBuf,
    process: Mutex<Option<Process>>,
}

struct Process {
    child: Child,
    watchdog: Option<Watchdog>,
}

/// The PgBouncers of this process not yet stopped, for the exit hook.
static LIVE: Mutex<Vec<Weak<Running>>> = Mutex::new(Vec::new());
static EXIT_HOOK: Once = Once::new();

impl PgBouncer {
    /// Starts a PgBouncer in `mode` in front of `cluster`, with the default
    /// options ([`PgBouncerOptions::new`]).
    pub fn start(cluster: &TestCluster, mode: PoolMode) -> Result<PgBouncer> {
        PgBouncer::start_with(cluster, PgBouncerOptions::new(mode))
    }

    /// Starts a PgBouncer in front of `cluster` and waits until it accepts
    /// connections. The options are checked before anything starts.
    pub fn start_with(cluster: &TestCluster, options: PgBouncerOptions) -> Result<PgBouncer> {
        config::validate(&options)?;
        if options.server_over_tcp && cluster.tcp_port().is_none() {
            return Err(Error::PgBouncerOptionRefused {
                option: "server_over_tcp".into(),
                reason: "the cluster does not listen on TCP; start it with `ClusterOptions::tcp`"
                    .into(),
            });
        }
        config::check_path("the cluster's directory", cluster.root())?;
        config::check_path("the cluster's socket directory", cluster.socket_dir())?;
        let program = match &options.program {
            Some(program) if program.is_file() => program.clone(),
            Some(program) => {
                return Err(Error::PgBouncerNotFound {
                    searched: vec![program.clone()],
                })
            }
            None => PgBouncerLocator::from_env().locate()?,
        };
        let account = Account::for_server()?;
        let dir = fsutil::fresh_dir(cluster.root(), "pgbouncer", &account)?;
        let started = launch(
            cluster,
            &options,
            &program,
            &account,
            &dir,
            &mut crate::port::free_tcp_port,
        );
        match started {
            Ok((process, port)) => {
                let running = Arc::new(Running {
                    dir: dir.clone(),
                    process: Mutex::new(Some(process)),
                });
                register(&running);
                Ok(PgBouncer {
                    dir,
                    port,
                    tcp_port: options.tcp.then_some(port),
                    pool_mode: options.pool_mode,
                    running,
                })
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    /// The pool mode.
    pub fn pool_mode(&self) -> PoolMode {
        self.pool_mode
    }

    /// PgBouncer's directory (under the cluster's root): its socket,
    /// `pgbouncer.ini`, the auth file and the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The unix socket directory (the socket is `<dir>/.s.PGSQL.<port>`).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The port: the unix socket's name, and the TCP port when listening on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TCP port on 127.0.0.1, when [`PgBouncerOptions::tcp`] was set.
    pub fn tcp_port(&self) -> Option<u16> {
        self.tcp_port
    }

    /// PgBouncer's log (its standard output and error).
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("pgbouncer.log")
    }

    /// The process id, until it is stopped.
    pub fn pid(&self) -> Option<u32> {
        self.running
            .process
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|p| p.child.id())
    }

    /// Connection settings for `database` of the cluster, through the
    /// pooler's unix socket, as the `postgres` role.
    pub fn config_for(&self, database: &str) -> Config {
        let mut config = Config::new();
        config
            .host_path(&self.dir)
            .port(self.port)
            .user(config::ADMIN_USER)
            .dbname(database)
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// A connection string (URL form) for `database`, through the pooler's unix socket.
    pub fn url(&self, database: &str) -> String {
        crate::admin::url_for(&self.config_for(database), database)
    }

    /// Connection settings for `database` through 127.0.0.1, when listening there.
    pub fn tcp_config_for(&self, database: &str) -> Option<Config> {
        let port = self.tcp_port?;
        let mut config = Config::new();
        config
            .host("127.0.0.1")
            .port(port)
            .user(config::ADMIN_USER)
            .dbname(database)
            .connect_timeout(Duration::from_secs(10));
        Some(config)
    }

    /// A connection string (URL form) for `database` through 127.0.0.1, when listening there.
    pub fn tcp_url(&self, database: &str) -> Option<String> {
        self.tcp_config_for(database)
            .map(|c| crate::admin::url_for(&c, database))
    }

    /// Connects to `database` of the cluster through the pooler.
    pub fn connect(&self, database: &str) -> Result<Client> {
        self.config_for(database)
            .connect(NoTls)
            .map_err(Error::pg(format!(
                "connecting to {database} through PgBouncer at {}",
                self.dir.display()
            )))
    }

    /// A connection to PgBouncer's admin console (the virtual database
    /// `pgbouncer`), which speaks the simple query protocol only: use
    /// `simple_query` and `batch_execute` (`SHOW POOLS`, `PAUSE`, `RELOAD`).
    pub fn admin(&self) -> Result<Client> {
        admin_config(&self.dir, self.port)
            .connect(NoTls)
            .map_err(Error::pg(format!(
                "connecting to the admin console of PgBouncer at {}",
                self.dir.display()
            )))
    }

    /// The rows of an admin console `SHOW` command (`show("POOLS")`), each
    /// a map from column name to value (`None` for NULL).
    pub fn show(&self, what: &str) -> Result<Vec<BTreeMap<String, Option<String>>>> {
        if what.is_empty() || !what.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') {
            return Err(Error::AdminCommandRefused {
                what: what.to_string(),
                reason:
                    "what is shown is one word of letters and `_` (POOLS, CLIENTS, SERVERS, STATS)",
            });
        }
        let command = format!("SHOW {what}");
        let messages = self
            .admin()?
            .simple_query(&command)
            .map_err(Error::pg(format!(
                "running {command} on the admin console of PgBouncer at {}",
                self.dir.display()
            )))?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(row) => Some(
                    row.columns()
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.name().to_string(), row.get(i).map(str::to_string)))
                        .collect(),
                ),
                _ => None,
            })
            .collect())
    }

    /// Stops PgBouncer and removes its directory. Idempotent; also done on drop.
    pub fn stop(&self) {
        self.running.stop();
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for PgBouncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBouncer")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("tcp_port", &self.tcp_port)
            .field("pool_mode", &self.pool_mode)
            .finish()
    }
}

impl Running {
    fn stop(&self) {
        let process = self
            .process
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(process) = process {
            stop_process(process);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Keeps `running` where the exit hook finds it, installing the hook once.
fn register(running: &Arc<Running>) {
    EXIT_HOOK.call_once(|| exit::register(exit::Phase::Poolers, Box::new(stop_live)));
    let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    live.retain(|r| r.strong_count() > 0);
    live.push(Arc::downgrade(running));
}

/// Stops every PgBouncer still running (at process exit).
fn stop_live() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|p| p.into_inner()));
    for running in live.iter().filter_map(Weak::upgrade) {
        running.stop();
    }
}

/// SIGTERM (PgBouncer 1.18's immediate shutdown), then SIGKILL if it lingers.
fn stop_process(mut process: Process) {
    if let Some(watchdog) = process.watchdog.take() {
        watchdog.dismiss();
    }
    signal(process.child.id(), libc::SIGTERM);
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        match process.child.try_wait() {
            Ok(Some(_)) | Err(_) => return,
            Ok(None) if Instant::now() >= deadline => {
                let _ = process.child.kill();
                let _ = process.child.wait();
                return;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

fn signal(pid: u32, sig: i32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: sending a signal to a child we spawned and have not reaped.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Writes the files and starts PgBouncer until it listens, retrying with
/// another TCP port (from `choose_port`) when the chosen one was taken.
/// Returns the process and its port.
fn launch(
    cluster: &TestCluster,
    options: &PgBouncerOptions,
    program: &Path,
    account: &Account,
    dir: &Path,
    choose_port: &mut dyn FnMut() -> Result<u16>,
) -> Result<(Process, u16)> {
    let auth_file = dir.join(config::AUTH_FILE);
    write_owned(&auth_file, &config::render_auth_file(), account)?;
    let mut tried = Vec::new();
    loop {
        let port = if options.tcp {
            choose_port()?
        } else {
            UNIX_ONLY_PORT
        };
        let ini = config::render_ini(
            options,
            &config::Layout {
                dir,
                port,
                tcp: options.tcp,
                server_socket_dir: cluster.socket_dir(),
                server_port: cluster.port(),
                server_tcp_port: cluster.tcp_port().filter(|_| options.server_over_tcp),
            },
        );
        let ini_path = dir.join("pgbouncer.ini");
        write_owned(&ini_path, &ini, account)?;
        match start_once(program, &ini_path, account, dir, port, options) {
            Ok(process) => return Ok((process, port)),
            Err(Attempt::PortTaken(process)) => {
                stop_process(process);
                tried.push(port);
                if tried.len() >= TCP_ATTEMPTS {
                    return Err(Error::PgBouncerPortTaken { tried });
                }
            }
            Err(Attempt::Failed(e)) => return Err(e),
        }
    }
}

/// Why one start did not give a ready PgBouncer.
enum Attempt {
    /// It runs, but another process holds its TCP port.
    PortTaken(Process),
    /// It could not start; it has been stopped.
    Failed(Error),
}

fn start_once(
    program: &Path,
    ini_path: &Path,
    account: &Account,
    dir: &Path,
    port: u16,
    options: &PgBouncerOptions,
) -> std::result::Result<Process, Attempt> {
    let log_path = dir.join("pgbouncer.log");
    let failed = |e: Error| Attempt::Failed(e);
    // Appended to: the log keeps earlier attempts (a taken port) too.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| failed(Error::io("opening", &log_path)(e)))?;
    account.own(&log_path).map_err(failed)?;
    let log_err = log
        .try_clone()
        .map_err(|e| failed(Error::io("opening", &log_path)(e)))?;
    let mut cmd = Command::new(program);
    cmd.arg(ini_path)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    as_account(&mut cmd, account);
    let child = cmd
        .spawn()
        .map_err(|e| failed(Error::io("starting", program)(e)))?;
    let watchdog = Watchdog::spawn(child.id(), "TERM", dir);
    let mut process = Process { child, watchdog };
    match wait_ready(&mut process.child, dir, port, &log_path, options) {
        Ok(Ready::Listening) => Ok(process),
        Ok(Ready::PortTaken) => Err(Attempt::PortTaken(process)),
        Err(e) => {
            stop_process(process);
            Err(Attempt::Failed(e))
        }
    }
}

enum Ready {
    Listening,
    PortTaken,
}

/// Polls every 5 ms until the admin console answers on the unix socket,
/// watching the child for an early exit, as long as the ready timeout has
/// not passed; then checks the TCP listener.
fn wait_ready(
    child: &mut Child,
    dir: &Path,
    port: u16,
    log: &Path,
    options: &PgBouncerOptions,
) -> Result<Ready> {
    let socket = dir.join(format!(".s.PGSQL.{port}"));
    let deadline = Instant::now() + options.ready_timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(Error::PgBouncerStartFailed {
                status: status.to_string(),
                log: log.to_path_buf(),
                log_tail: fsutil::tail(log, 20),
            });
        }
        // Only a check begun before the deadline counts: with no time
        // left (a zero timeout), PgBouncer is not ready however fast it is.
        if Instant::now() >= deadline {
            return Err(Error::PgBouncerNotReady {
                timeout_ms: options.ready_timeout.as_millis(),
                log: log.to_path_buf(),
                log_tail: fsutil::tail(log, 20),
            });
        }
        if socket.exists() && ping(admin_config(dir, port)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if !options.tcp {
        return Ok(Ready::Listening);
    }
    // PgBouncer binds every listener before it accepts a connection, and
    // carries on without one it could not bind (a warning in its log).
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if text.contains(&format!("cannot listen on 127.0.0.1:{port}:")) {
        return Ok(Ready::PortTaken);
    }
    let mut tcp_only = Config::new();
    tcp_only
        .host("127.0.0.1")
        .port(port)
        .user(config::ADMIN_USER)
        .dbname("pgbouncer")
        .connect_timeout(Duration::from_secs(2));
    if ping(tcp_only) {
        Ok(Ready::Listening)
    } else {
        Err(Error::PgBouncerNotReady {
            timeout_ms: options.ready_timeout.as_millis(),
            log: log.to_path_buf(),
            log_tail: fsutil::tail(log, 20),
        })
    }
}

/// Whether the admin console answers `SHOW VERSION`.
fn ping(config: Config) -> bool {
    config
        .connect(NoTls)
        .and_then(|mut c| c.simple_query("SHOW VERSION"))
        .is_ok()
}

fn admin_config(dir: &Path, port: u16) -> Config {
    let mut config = Config::new();
    config
        .host_path(dir)
        .port(port)
        .user(config::ADMIN_USER)
        .dbname("pgbouncer")
        .connect_timeout(Duration::from_secs(2));
    config
}

/// A port on 127.0.0.1 that was free a moment ago (the kernel's choice).
fn write_owned(path: &Path, text: &str, account: &Account) -> Result<()> {
    std::fs::write(path, text).map_err(Error::io("writing", path))?;
    account.own(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The `pgbouncer` processes whose command line names `dir`.
    fn processes_in(dir: &Path) -> Vec<String> {
        let needle = dir.display().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .filter(|e| {
                let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                String::from_utf8_lossy(&cmdline).contains(&needle)
                    && stat.contains("(pgbouncer) ")
                    && !stat.contains(") Z ")
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }

    struct Setup {
        cluster: TestCluster,
        account: Account,
        program: PathBuf,
        dir: PathBuf,
        options: PgBouncerOptions,
    }

    fn setup() -> Setup {
        let cluster = TestCluster::start().unwrap();
        let account = Account::for_server().unwrap();
        let dir = fsutil::fresh_dir(cluster.root(), "pgbouncer", &account).unwrap();
        Setup {
            program: PgBouncerLocator::from_env().locate().unwrap(),
            options: PgBouncerOptions {
                tcp: true,
                ..PgBouncerOptions::new(PoolMode::Session)
            },
            cluster,
            account,
            dir,
        }
    }

    #[test]
    fn a_taken_tcp_port_is_retried_with_another() {
        let s = setup();
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let mut offered = vec![taken_port, taken_port].into_iter();
        let mut choose = || offered.next().map_or_else(crate::port::free_tcp_port, Ok);
        let (process, port) = launch(
            &s.cluster,
            &s.options,
            &s.program,
            &s.account,
            &s.dir,
            &mut choose,
        )
        .unwrap();
        assert_ne!(port, taken_port);
        let log = std::fs::read_to_string(s.dir.join("pgbouncer.log")).unwrap();
        assert_eq!(
            log.matches(&format!("cannot listen on 127.0.0.1:{taken_port}:"))
                .count(),
            2,
            "{log}"
        );
        // Only the last attempt runs, and it answers on 127.0.0.1.
        assert_eq!(processes_in(&s.dir).len(), 1);
        let mut tcp = Config::new();
        tcp.host("127.0.0.1")
            .port(port)
            .user(config::ADMIN_USER)
            .dbname("postgres");
        let one: i32 = tcp
            .connect(NoTls)
            .unwrap()
            .query_one("SELECT 1", &[])
            .unwrap()
            .get(0);
        assert_eq!(one, 1);
        stop_process(process);
        assert!(processes_in(&s.dir).is_empty());
    }

    #[test]
    fn ports_taken_at_every_attempt_are_an_error_listing_them() {
        let s = setup();
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let mut choose = || Ok(taken_port);
        let Err(err) = launch(
            &s.cluster,
            &s.options,
            &s.program,
            &s.account,
            &s.dir,
            &mut choose,
        ) else {
            panic!("started on a taken port");
        };
        assert!(
            matches!(&err, Error::PgBouncerPortTaken { tried } if tried == &[taken_port; TCP_ATTEMPTS]),
            "{err}"
        );
        assert!(err.to_string().contains(&taken_port.to_string()), "{err}");
        assert!(
            processes_in(&s.dir).is_empty(),
            "a PgBouncer was left running"
        );
    }
}
