//! The harness's servers for connection tests: a streaming hot standby,
//! and a proxy that stops forwarding (clusters on 127.0.0.1: `tcp.rs`).

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use wdh_testdb::{ClusterOptions, Proxy, Tcp, TestCluster};

fn tcp_cluster() -> TestCluster {
    TestCluster::start_with(ClusterOptions {
        tcp: Some(Tcp::Plain),
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn a_standby_streams_from_its_primary_and_accepts_reads_only() {
    let primary = TestCluster::start_with(ClusterOptions {
        replication: true,
        ..Default::default()
    })
    .unwrap();
    let db = primary.server().create_database().unwrap();
    let standby = TestCluster::start_standby(&primary, ClusterOptions::default()).unwrap();
    assert!(standby.is_standby() && !primary.is_standby());
    db.connect()
        .unwrap()
        .batch_execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)")
        .unwrap();
    primary
        .wait_for_standby(&standby, Duration::from_secs(30))
        .unwrap();
    let mut on_standby = standby.server().connect(db.name()).unwrap();
    let in_recovery: bool = on_standby
        .query_one("SELECT pg_is_in_recovery()", &[])
        .unwrap()
        .get(0);
    assert!(in_recovery);
    let rows: i64 = on_standby
        .query_one("SELECT count(*) FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 2);
    let refused = on_standby
        .batch_execute("CREATE TABLE u (id int)")
        .unwrap_err();
    assert!(
        refused.to_string().contains("read-only") || format!("{refused:?}").contains("25006"),
        "{refused:?}"
    );
    standby.stop();
    assert!(!standby.root().exists());
}

#[test]
fn the_proxy_forwards_until_told_to_stall() {
    let cluster = tcp_cluster();
    let proxy = Proxy::in_front_of(&cluster).unwrap();
    let url = format!("postgresql://postgres@127.0.0.1:{}/postgres", proxy.port());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    assert_eq!(proxy.connections(), 1);

    // Stalled: a new connection is accepted and hears nothing.
    proxy.stall();
    let mut raw = TcpStream::connect(("127.0.0.1", proxy.port())).unwrap();
    raw.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    // An SSLRequest, which a server answers with one byte at once.
    raw.write_all(&[0, 0, 0, 8, 4, 210, 22, 47]).unwrap();
    let mut byte = [0u8; 1];
    let started = Instant::now();
    let silent = raw.read(&mut byte).unwrap_err();
    assert!(
        matches!(
            silent.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{silent:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    // Resumed: what waited goes through.
    proxy.resume();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    raw.read_exact(&mut byte).unwrap();
    assert!(byte == *b"N" || byte == *b"S", "{byte:?}");
    let one: i32 = client.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(one, 1);
}

#[test]
fn the_proxy_stalls_a_connection_after_the_bytes_it_was_given() {
    let cluster = tcp_cluster();
    let proxy = Proxy::in_front_of(&cluster).unwrap();
    let url = format!("postgresql://postgres@127.0.0.1:{}/postgres", proxy.port());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS proxied (id int)")
        .unwrap();
    proxy.stall_after(b"stall-here");
    // The statement reaches the server, which runs it; its answer never
    // comes back, so ask from a thread and give up waiting.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(client.batch_execute("INSERT INTO proxied VALUES (1) -- stall-here"));
    });
    assert!(rx.recv_timeout(Duration::from_millis(500)).is_err());
    assert_eq!(proxy.stalled_after(), 1);
    // Other connections are not stalled, and see the row.
    let mut other = cluster.server().connect("postgres").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n: i64 = other
            .query_one("SELECT count(*) FROM proxied", &[])
            .unwrap()
            .get(0);
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the statement never ran");
        std::thread::sleep(Duration::from_millis(10));
    }
}
