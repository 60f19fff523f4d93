//! `Proxy`: a small TCP proxy on 127.0.0.1 (an ephemeral port) in front of
//! a server, which a test can tell to stop forwarding: a server that
//! accepts connections and then says nothing, or a connection that goes
//! silent in the middle of a run, as a stalled network, pooler or load
//! balancer makes them. Nothing is closed while stalled: bytes wait in the
//! sockets, and the client sees silence, not an error.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::cluster::TestCluster;
use crate::error::{Error, Result};

/// How often a stalled or idle forwarder looks at its flags.
const TICK: Duration = Duration::from_millis(5);

/// Where the proxy forwards to.
#[derive(Debug, Clone)]
enum Upstream {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A proxy on 127.0.0.1 in front of a server; it stops on `Drop`.
///
/// ```no_run
/// use wdh_testdb::{ClusterOptions, Proxy, Tcp, TestCluster};
///
/// let cluster = TestCluster::start_with(ClusterOptions { tcp: Some(Tcp::Plain), ..Default::default() })?;
/// let proxy = Proxy::in_front_of(&cluster)?;
/// let url = format!("postgresql://postgres@127.0.0.1:{}/postgres", proxy.port());
/// proxy.stall(); // from now on nothing is forwarded, in either direction
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// What the accept loop, the forwarders and the handle share.
struct Shared {
    upstream: Upstream,
    /// Every connection is stalled.
    stall_all: AtomicBool,
    /// A connection stalls once its client has sent these bytes.
    stall_on: Mutex<Option<Vec<u8>>>,
    /// How many connections stalled on `stall_on`.
    stalled_on: AtomicUsize,
    stop: AtomicBool,
    accepted: AtomicUsize,
    /// Both sockets of every connection, to shut them down on `Drop`.
    sockets: Mutex<Vec<Stream>>,
}

impl Proxy {
    /// A proxy in front of `cluster`: to its TCP port when it listens on
    /// 127.0.0.1 ([`ClusterOptions::tcp`](crate::ClusterOptions::tcp)),
    /// else to its unix socket.
    pub fn in_front_of(cluster: &TestCluster) -> Result<Proxy> {
        let upstream = match cluster.tcp_port() {
            Some(port) => Upstream::Tcp(SocketAddr::from(([127, 0, 0, 1], port))),
            None => Upstream::Unix(
                cluster
                    .socket_dir()
                    .join(format!(".s.PGSQL.{}", cluster.port())),
            ),
        };
        Proxy::start(upstream)
    }

    fn start(upstream: Upstream) -> Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .map_err(Error::io("binding an ephemeral port on", "127.0.0.1"))?;
        let port = listener
            .local_addr()
            .map_err(Error::io("reading the ephemeral port of", "127.0.0.1"))?
            .port();
        listener
            .set_nonblocking(true)
            .map_err(Error::io("configuring the proxy's socket on", "127.0.0.1"))?;
        let shared = Arc::new(Shared {
            upstream,
            stall_all: AtomicBool::new(false),
            stall_on: Mutex::new(None),
            stalled_on: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            sockets: Mutex::new(Vec::new()),
        });
        let accepting = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("wdh-testdb-proxy".into())
            .spawn(move || accept_loop(&listener, &accepting))
            .map_err(Error::io("starting the proxy's thread for", "127.0.0.1"))?;
        Ok(Proxy {
            port,
            shared,
            accept: Some(accept),
        })
    }

    /// The port on 127.0.0.1 that clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops forwarding on every connection, those open and those still
    /// to come (which are accepted, and then hear nothing).
    pub fn stall(&self) {
        self.shared.stall_all.store(true, Ordering::SeqCst);
    }

    /// Forwards again, what waited first.
    pub fn resume(&self) {
        self.shared.stall_all.store(false, Ordering::SeqCst);
    }

    /// A connection stops forwarding, in both directions, right after its
    /// client has sent `needle` (which the server does get): the server
    /// runs the statement, and its answer never comes back.
    pub fn stall_after(&self, needle: &[u8]) {
        *self
            .shared
            .stall_on
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(needle.to_vec());
    }

    /// How many connections stalled after [`Proxy::stall_after`]'s bytes.
    pub fn stalled_after(&self) -> usize {
        self.shared.stalled_on.load(Ordering::SeqCst)
    }

    /// How many connections the proxy has accepted.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for s in self
            .shared
            .sockets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            s.shutdown();
        }
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("port", &self.port)
            .field("upstream", &self.shared.upstream)
            .finish()
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.accepted.fetch_add(1, Ordering::SeqCst);
                if let Err(e) = connect(client, shared) {
                    eprintln!("wdh-testdb proxy: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(TICK),
            Err(e) => {
                eprintln!("wdh-testdb proxy: accepting a connection failed: {e}");
                std::thread::sleep(TICK);
            }
        }
    }
}

/// Connects `client` to the upstream server and starts both forwarders.
fn connect(client: TcpStream, shared: &Arc<Shared>) -> io::Result<()> {
    client.set_nonblocking(false)?;
    let server = match &shared.upstream {
        Upstream::Tcp(addr) => Stream::Tcp(TcpStream::connect(addr)?),
        Upstream::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
    };
    let client = Stream::Tcp(client);
    {
        let mut sockets = shared.sockets.lock().unwrap_or_else(|p| p.into_inner());
        sockets.push(client.try_clone()?);
        sockets.push(server.try_clone()?);
    }
    let stalled = Arc::new(AtomicBool::new(false));
    let up = (client.try_clone()?, server.try_clone()?);
    let down = (server, client);
    for (direction, (from, to)) in [("up", up), ("down", down)] {
        let shared = Arc::clone(shared);
        let stalled = Arc::clone(&stalled);
        std::thread::Builder::new()
            .name(format!("wdh-testdb-proxy-{direction}"))
            .spawn(move || forward(from, to, &shared, &stalled, direction == "up"))?;
    }
    Ok(())
}

/// Copies `from` to `to` until either ends or the proxy stops; pauses
/// while stalled. `from_client` watches for [`Proxy::stall_after`]'s bytes.
fn forward(
    mut from: Stream,
    mut to: Stream,
    shared: &Shared,
    stalled: &AtomicBool,
    from_client: bool,
) {
    let _ = from.set_read_timeout(Some(TICK * 4));
    let mut buf = vec![0u8; 16 * 1024];
    // The end of what came before, so that a needle split across two reads
    // is found.
    let mut tail: Vec<u8> = Vec::new();
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if stalled.load(Ordering::SeqCst) || shared.stall_all.load(Ordering::SeqCst) {
            std::thread::sleep(TICK);
            continue;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => {
                to.shutdown_write();
                return;
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => {
                to.shutdown_write();
                return;
            }
        };
        if from_client {
            // Stalled before the bytes go on: the answer cannot overtake.
            let needle = shared
                .stall_on
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(needle) = needle.filter(|n| !n.is_empty()) {
                tail.extend_from_slice(&buf[..n]);
                if tail.windows(needle.len()).any(|w| w == needle.as_slice()) {
                    stalled.store(true, Ordering::SeqCst);
                    shared.stalled_on.fetch_add(1, Ordering::SeqCst);
                    tail.clear();
                    // The client's bytes do reach the server.
                    if to.write_all(&buf[..n]).is_err() {
                        return;
                    }
                    continue;
                }
                let keep = tail.len().saturating_sub(needle.len() - 1);
                tail.drain(..keep);
            }
        }
        // What was read while a stall began waits for the stall to end.
        while stalled.load(Ordering::SeqCst) || shared.stall_all.load(Ordering::SeqCst) {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(TICK);
        }
        if to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// A TCP or unix socket.
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        })
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
    }

    fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }

    fn shutdown_write(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
        };
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}
