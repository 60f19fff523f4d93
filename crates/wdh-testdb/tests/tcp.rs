//! Clusters on 127.0.0.1: plain text and TLS, with the test's own
//! certificate authority.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::MetadataExt;

use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{hba_plain, hba_tls_only, ClusterOptions, Pki, ServerTls, Tcp, TestCluster};

fn started(tcp: Tcp, hba: &str) -> TestCluster {
    TestCluster::start_with(ClusterOptions {
        tcp: Some(tcp),
        hba: Some(hba.to_owned()),
        ..ClusterOptions::default()
    })
    .unwrap()
}

#[test]
fn a_plain_cluster_listens_on_an_ephemeral_port_of_127_0_0_1() {
    let cluster = started(Tcp::Plain, &hba_plain("trust"));
    let port = cluster.tcp_port().unwrap();
    assert_ne!(port, 5432);
    assert_eq!(cluster.port(), port, "the port names the socket too");
    let mut c = postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname("postgres")
        .connect(postgres::NoTls)
        .unwrap();
    let row = c
        .query_one(
            "SELECT inet_server_addr()::text, current_setting('ssl')",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "127.0.0.1/32");
    assert_eq!(row.get::<_, String>(1), "off");
    // The harness still reaches it over its socket.
    let db = cluster.server().create_database().unwrap();
    db.connect().unwrap();
    assert_eq!(TestCluster::start().unwrap().tcp_port(), None);
}

#[test]
fn a_tls_cluster_takes_tls_only_with_its_files_for_the_server_alone() {
    let pki = Pki::new().unwrap();
    let cluster = started(
        Tcp::Tls(ServerTls::new(pki.server(&["127.0.0.1"]).unwrap()).with_client_ca(pki.ca_pem())),
        &hba_tls_only("trust"),
    );
    let port = cluster.tcp_port().unwrap();
    let data = cluster.root().join("data");
    let key = std::fs::metadata(data.join("server.key")).unwrap();
    assert_eq!(key.mode() & 0o777, 0o600);
    let data_owner = std::fs::metadata(&data).unwrap().uid();
    assert_eq!(key.uid(), data_owner, "owned by the server's account");
    assert!(data.join("client-ca.crt").is_file());

    // Plain text over TCP is rejected by pg_hba.conf.
    let plain = postgres::Config::new()
        .host("127.0.0.1")
        .port(port)
        .user("postgres")
        .dbname("postgres")
        .connect(postgres::NoTls)
        .map(|_| ())
        .unwrap_err();
    assert!(
        plain.to_string().contains("db error") || plain.as_db_error().is_some(),
        "{plain}"
    );
    // TLS, verified against the test's authority.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), pki.ca_pem()).unwrap();
    let target = Target::parse(
        &format!(
            "host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=verify-full sslrootcert={}",
            dir.path().join("ca.pem").display()
        ),
        Source::Explicit,
    )
    .unwrap();
    let mut c = target
        .connector()
        .unwrap()
        .connect(target.config())
        .unwrap();
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(ssl);
}
