//! TLS against real servers: private clusters listening on 127.0.0.1 with
//! certificates of an authority each test process makes (`wdh_testdb::Pki`).
//!
//! * a TLS-only server (`hostssl … scram-sha-256`, plain TCP rejected), its
//!   certificate for `localhost` and `127.0.0.1`;
//! * a plain-text server (`ssl = off`);
//! * a TLS-only server with an expired certificate;
//! * a TLS-only server that authenticates by client certificate (`cert`).
//!
//! Every sslmode against the first two; a wrong authority, a host name the
//! certificate does not name, an expired certificate, a revoked one, the
//! system's store; client certificates and a key file others may read;
//! channel binding; the CLI's `PGSSL*` variables and libpq's default files.
//! Each refusal names the host and what to do, shows no password, and
//! leaves the database as it was.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wdh_migrate_core::guard::{Environment, Marker, Override};
use wdh_migrate_core::plan::{DowngradeTo, UpgradeTo};
use wdh_migrate_core::runner::{RunError, RunOptions, Runner};
use wdh_migrate_core::spelling::Library;
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{
    hba_plain, hba_tls_only, ClusterOptions, Issued, Pki, ServerTls, Tcp, TestCluster, TestDatabase,
};

use crate::support::*;

/// The password of `postgres` over TCP on every cluster here.
const PW: &str = "tls-Secret-9q";

/// One test process's servers and files.
struct Servers {
    pki: Pki,
    files: tempfile::TempDir,
    server_cert: Issued,
    tls: TestCluster,
    plain: TestCluster,
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let pki = Pki::new().unwrap();
        let server_cert = pki.server(&["localhost", "127.0.0.1"]).unwrap();
        let tls = cluster(
            Tcp::Tls(ServerTls::new(server_cert.clone())),
            &hba_tls_only("scram-sha-256"),
        );
        let plain = cluster(Tcp::Plain, &hba_plain("scram-sha-256"));
        let files = tempfile::tempdir().unwrap();
        std::fs::write(files.path().join("ca.pem"), pki.ca_pem()).unwrap();
        let other = Pki::named("another CA").unwrap();
        std::fs::write(files.path().join("other-ca.pem"), other.ca_pem()).unwrap();
        Servers {
            pki,
            files,
            server_cert,
            tls,
            plain,
        }
    })
}

/// A cluster on 127.0.0.1 where `postgres` logs in with [`PW`] over TCP.
fn cluster(tcp: Tcp, hba: &str) -> TestCluster {
    let cluster = TestCluster::start_with(ClusterOptions {
        tcp: Some(tcp),
        hba: Some(hba.to_owned()),
        ..ClusterOptions::default()
    })
    .unwrap();
    cluster
        .server()
        .connect("postgres")
        .unwrap()
        .batch_execute(&format!("ALTER ROLE postgres PASSWORD '{PW}'"))
        .unwrap();
    cluster
}

impl Servers {
    fn file(&self, name: &str) -> PathBuf {
        self.files.path().join(name)
    }
}

/// A key=value target for `db` on `cluster` over TCP, named `host`
/// (reached at 127.0.0.1), with `extra` settings.
fn conn(cluster: &TestCluster, db: &TestDatabase, host: &str, extra: &str) -> String {
    format!(
        "host={host} hostaddr=127.0.0.1 port={} user=postgres password={PW} dbname={} \
         connect_timeout=10 {extra}",
        cluster.tcp_port().unwrap(),
        db.name()
    )
}

fn rootcert(name: &str) -> String {
    format!("sslrootcert='{}'", servers().file(name).display())
}

fn target(conn: &str) -> Target {
    Target::parse(conn, Source::Explicit).unwrap()
}

/// Connects as a run does; the live TLS version, or why it failed.
fn connect(conn: &str) -> Result<Option<String>, String> {
    let t = target(conn);
    Runner::new(&t, RunOptions::default())
        .connect()
        .map(|c| c.identity().tls.as_ref().map(|s| s.version.clone()))
        .map_err(|e| e.report(&Library))
}

/// `connect`, which must fail; its text must show no part of the password.
fn refused(conn: &str) -> String {
    let e = connect(conn).expect_err(conn);
    assert!(!e.contains(PW), "the password leaked: {e}");
    e
}

fn assert_says(text: &str, needles: &[&str]) {
    for n in needles {
        assert!(text.contains(n), "`{n}` missing from:\n{text}");
    }
}

#[test]
fn every_sslmode_against_a_tls_only_server() {
    let s = servers();
    let db = s.tls.server().create_database().unwrap();
    let before = snapshot(&db);
    let ca = rootcert("ca.pem");
    let e = refused(&conn(&s.tls, &db, "localhost", "sslmode=disable"));
    // The server's own refusal: it takes no plain-text connection.
    assert_says(&e, &["could not connect", "no encryption"]);
    for mode in ["allow", "prefer", "require"] {
        let version = connect(&conn(&s.tls, &db, "localhost", &format!("sslmode={mode}")));
        assert_eq!(version, Ok(Some("TLSv1.3".into())), "sslmode={mode}");
    }
    for mode in ["verify-ca", "verify-full"] {
        for host in ["localhost", "127.0.0.1"] {
            let version = connect(&conn(&s.tls, &db, host, &format!("sslmode={mode} {ca}")));
            assert_eq!(
                version,
                Ok(Some("TLSv1.3".into())),
                "sslmode={mode} host={host}"
            );
        }
    }
    // The default is prefer.
    assert_eq!(
        connect(&conn(&s.tls, &db, "localhost", "")),
        Ok(Some("TLSv1.3".into()))
    );
    // The URL form reads the same settings.
    let url = format!(
        "postgresql://postgres:{PW}@localhost:{}/{}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
        s.tls.tcp_port().unwrap(),
        db.name(),
        s.file("ca.pem").display()
    );
    assert_eq!(connect(&url), Ok(Some("TLSv1.3".into())));
    assert_eq!(snapshot(&db), before, "connecting changed nothing");
}

#[test]
fn every_sslmode_against_a_plain_server() {
    let s = servers();
    let db = s.plain.server().create_database().unwrap();
    for mode in ["disable", "allow", "prefer"] {
        let version = connect(&conn(
            &s.plain,
            &db,
            "localhost",
            &format!("sslmode={mode}"),
        ));
        assert_eq!(version, Ok(None), "sslmode={mode}: plain text");
    }
    let ca = rootcert("ca.pem");
    for extra in [
        "sslmode=require".to_owned(),
        format!("sslmode=verify-ca {ca}"),
        format!("sslmode=verify-full {ca}"),
    ] {
        let e = refused(&conn(&s.plain, &db, "localhost", &extra));
        assert_says(
            &e,
            &[
                "the server at localhost does not accept TLS connections",
                "Turn `ssl` on",
                "from the connection string",
            ],
        );
    }
    assert!(ledger(&db).is_empty());
}

#[test]
fn a_certificate_from_another_authority_is_refused() {
    let s = servers();
    let db = s.tls.server().create_database().unwrap();
    let before = snapshot(&db);
    let other = rootcert("other-ca.pem");
    // require and prefer with a root certificate check the chain (libpq's rule),
    // and prefer does not fall back to plain text after a failed handshake.
    for mode in ["verify-ca", "verify-full", "require", "prefer"] {
        let e = refused(&conn(
            &s.tls,
            &db,
            "localhost",
            &format!("sslmode={mode} {other}"),
        ));
        assert_says(
            &e,
            &[
                "the certificate of the server at localhost is not signed by a certificate authority in sslrootcert",
                "other-ca.pem (from the connection string)",
                "sslrootcert=FILE",
            ],
        );
    }
    // Without one, require encrypts and checks nothing (as libpq does).
    assert!(connect(&conn(&s.tls, &db, "localhost", "sslmode=require")).is_ok());
    assert_eq!(snapshot(&db), before);
}

#[test]
fn a_host_name_the_certificate_does_not_name() {
    let s = servers();
    let db = s.tls.server().create_database().unwrap();
    let ca = rootcert("ca.pem");
    let e = refused(&conn(
        &s.tls,
        &db,
        "db.example.test",
        &format!("sslmode=verify-full {ca}"),
    ));
    assert_says(
        &e,
        &[
            "is not issued for the name `db.example.test`",
            "it names localhost, 127.0.0.1",
            "sslmode=verify-ca",
        ],
    );
    // verify-ca checks the authority only.
    let ok = connect(&conn(
        &s.tls,
        &db,
        "db.example.test",
        &format!("sslmode=verify-ca {ca}"),
    ));
    assert_eq!(ok, Ok(Some("TLSv1.3".into())));
    assert!(ledger(&db).is_empty());
}

#[test]
fn an_expired_certificate_is_refused_where_it_is_checked() {
    let s = servers();
    let expired = cluster(
        Tcp::Tls(ServerTls::new(
            s.pki.expired_server(&["localhost", "127.0.0.1"]).unwrap(),
        )),
        &hba_tls_only("scram-sha-256"),
    );
    let db = expired.server().create_database().unwrap();
    let ca = rootcert("ca.pem");
    for mode in ["verify-ca", "verify-full"] {
        let e = refused(&conn(
            &expired,
            &db,
            "localhost",
            &format!("sslmode={mode} {ca}"),
        ));
        assert_says(
            &e,
            &[
                "the certificate of the server at localhost has expired",
                "renewed certificate",
            ],
        );
    }
    assert!(connect(&conn(&expired, &db, "localhost", "sslmode=require")).is_ok());
    assert!(ledger(&db).is_empty());
}

#[test]
fn a_revoked_certificate_is_refused_with_the_revocation_list() {
    let s = servers();
    let db = s.tls.server().create_database().unwrap();
    let revoked = s.file("revoked.crl");
    std::fs::write(&revoked, s.pki.crl(&[&s.server_cert]).unwrap()).unwrap();
    let clean = s.file("clean.crl");
    std::fs::write(&clean, s.pki.crl(&[]).unwrap()).unwrap();
    let ca = rootcert("ca.pem");
    let e = refused(&conn(
        &s.tls,
        &db,
        "localhost",
        &format!("sslmode=verify-full {ca} sslcrl='{}'", revoked.display()),
    ));
    assert_says(&e, &["has been revoked according to sslcrl", "revoked.crl"]);
    let ok = connect(&conn(
        &s.tls,
        &db,
        "localhost",
        &format!("sslmode=verify-full {ca} sslcrl='{}'", clean.display()),
    ));
    assert_eq!(ok, Ok(Some("TLSv1.3".into())));
}

#[test]
fn the_system_store_does_not_trust_a_private_authority() {
    let s = servers();
    let db = s.tls.server().create_database().unwrap();
    let e = refused(&conn(&s.tls, &db, "localhost", "sslrootcert=system"));
    // verify-full by default; the private CA is in no system store.
    assert!(
        e.contains("is not signed by a certificate authority in the system's trusted roots")
            || e.contains("the system's trusted root certificates could not be read"),
        "{e}"
    );
    let weaker = Target::parse(
        &conn(
            &s.tls,
            &db,
            "localhost",
            "sslrootcert=system sslmode=verify-ca",
        ),
        Source::Explicit,
    )
    .unwrap_err()
    .to_string();
    assert!(weaker.contains("weak sslmode \"verify-ca\" may not be used with sslrootcert=system"));
    assert!(!weaker.contains(PW));
    assert!(ledger(&db).is_empty());
}

#[test]
fn channel_binding_is_used_over_tls() {
    let s = servers();
    let tls_db = s.tls.server().create_database().unwrap();
    // SCRAM-SHA-256-PLUS with the server certificate's hash, or no login.
    let ok = connect(&conn(
        &s.tls,
        &tls_db,
        "localhost",
        "sslmode=require channel_binding=require",
    ));
    assert_eq!(ok, Ok(Some("TLSv1.3".into())));
    let plain_db = s.plain.server().create_database().unwrap();
    let e = refused(&conn(
        &s.plain,
        &plain_db,
        "localhost",
        "sslmode=prefer channel_binding=require",
    ));
    assert_says(&e, &["could not connect", "channel binding"]);
    // TLS 1.2 too.
    let ok = connect(&conn(
        &s.tls,
        &tls_db,
        "localhost",
        "sslmode=require channel_binding=require ssl_max_protocol_version=TLSv1.2",
    ));
    assert_eq!(ok, Ok(Some("TLSv1.2".into())));
}

/// A TLS-only server that logs `postgres` in by client certificate.
fn cert_auth_cluster() -> &'static TestCluster {
    static CLUSTER: OnceLock<TestCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let s = servers();
        cluster(
            Tcp::Tls(ServerTls::new(s.server_cert.clone()).with_client_ca(s.pki.ca_pem())),
            &hba_tls_only("cert"),
        )
    })
}

/// The client certificate and key of `postgres`, the key with `mode`.
fn client_files(dir: &Path, mode: u32) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let issued = servers().pki.client("postgres").unwrap();
    let (cert, key) = (dir.join("postgresql.crt"), dir.join("postgresql.key"));
    std::fs::write(&cert, issued.cert_pem).unwrap();
    std::fs::write(&key, issued.key_pem).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
    (cert, key)
}

#[test]
fn client_certificate_authentication() {
    let cluster = cert_auth_cluster();
    let db = cluster.server().create_database().unwrap();
    let before = snapshot(&db);
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = client_files(dir.path(), 0o600);
    let ca = rootcert("ca.pem");
    let files = format!("sslcert='{}' sslkey='{}'", cert.display(), key.display());
    let t = target(&conn(
        cluster,
        &db,
        "localhost",
        &format!("sslmode=verify-full {ca} {files}"),
    ));
    let c = Runner::new(&t, RunOptions::default()).connect().unwrap();
    let tls = c.identity().tls.clone().unwrap();
    assert_eq!(tls.client_dn.as_deref(), Some("/CN=postgres"));
    assert!(c
        .identity()
        .describe()
        .contains("client certificate /CN=postgres"));
    drop(c);

    // Without a certificate the server refuses the login.
    let e = refused(&conn(
        cluster,
        &db,
        "localhost",
        &format!("sslmode=verify-full {ca}"),
    ));
    assert_says(&e, &["could not connect", "certificate"]);
    // sslcertmode=disable sends none.
    let e = refused(&conn(
        cluster,
        &db,
        "localhost",
        &format!("sslmode=verify-full {ca} {files} sslcertmode=disable"),
    ));
    assert_says(&e, &["could not connect", "certificate"]);
    assert_eq!(snapshot(&db), before);
}

#[test]
fn a_key_file_others_may_read_is_refused_before_connecting() {
    let cluster = cert_auth_cluster();
    let db = cluster.server().create_database().unwrap();
    let before = snapshot(&db);
    let ca = rootcert("ca.pem");
    for mode in [0o644, 0o640, 0o604, 0o660] {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = client_files(dir.path(), mode);
        let kv = conn(
            cluster,
            &db,
            "localhost",
            &format!(
                "sslmode=verify-full {ca} sslcert='{}' sslkey='{}'",
                cert.display(),
                key.display()
            ),
        );
        let owned_by_root = unsafe { libc::geteuid() } == 0;
        if owned_by_root && mode == 0o640 {
            // libpq allows root's own key at 0640.
            assert!(connect(&kv).is_ok(), "root-owned 0640");
            continue;
        }
        let t = target(&kv);
        let e = Runner::new(&t, RunOptions::default())
            .connect()
            .unwrap_err();
        assert!(matches!(e, RunError::Tls { .. }), "{e:?}");
        let text = e.report(&Library);
        assert_says(
            &text,
            &[
                &format!("private key file \"{}\"", key.display()),
                "has group or world access",
                &format!("chmod 0600 {}", key.display()),
                "No connection was made",
            ],
        );
        assert!(!text.contains(PW));
    }
    // Owned by another user, 0640 is too open.
    if unsafe { libc::geteuid() } == 0 {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = client_files(dir.path(), 0o640);
        std::os::unix::fs::chown(&key, Some(65534), None).unwrap();
        let kv = conn(
            cluster,
            &db,
            "localhost",
            &format!(
                "sslmode=verify-full {ca} sslcert='{}' sslkey='{}'",
                cert.display(),
                key.display()
            ),
        );
        assert!(refused(&kv).contains("has group or world access"));
    }
    // A certificate without its key, and a missing file, are refused too.
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = client_files(dir.path(), 0o600);
    let e = refused(&conn(
        cluster,
        &db,
        "localhost",
        &format!("sslmode=verify-full {ca} sslcert='{}'", cert.display()),
    ));
    assert_says(
        &e,
        &[
            "certificate present, but not private key file",
            "sslkey=FILE",
        ],
    );
    let e = refused(&conn(
        cluster,
        &db,
        "localhost",
        "sslmode=verify-full sslrootcert=/nonexistent/ca.pem",
    ));
    assert_says(
        &e,
        &[
            "the root certificate file /nonexistent/ca.pem",
            "cannot read it",
        ],
    );
    let e = refused(&conn(cluster, &db, "localhost", "sslmode=verify-ca"));
    assert_says(&e, &["no root certificate is given", "sslrootcert=system"]);
    assert_eq!(snapshot(&db), before, "nothing ran");
}

#[test]
fn upgrade_status_and_a_guarded_downgrade_over_tls() {
    let s = servers();
    let db = s.tls.server().create_database().unwrap();
    let ca = rootcert("ca.pem");
    let t = target(&conn(
        &s.tls,
        &db,
        "localhost",
        &format!("sslmode=verify-full {ca}"),
    ));
    let runner = Runner::new(&t, RunOptions::default());
    let report = runner
        .upgrade(&bundled(), &UpgradeTo::Head, &mut |_| {})
        .unwrap();
    assert!(!report.ran.is_empty());
    assert_eq!(report.identity.tls.as_ref().unwrap().version, "TLSv1.3");
    let status = runner.status(&bundled()).unwrap();
    assert!(
        status.identity.describe().contains("over TLSv1.3 ("),
        "{}",
        status.identity.describe()
    );
    // The guard judges the live facts over TLS too: a production marker
    // refuses the downgrade, which is audited, and nothing is reverted.
    Runner::new(&t, RunOptions::default())
        .mark(
            Marker {
                environment: Environment::Production,
                locked: false,
            },
            &mut |_| {},
        )
        .unwrap();
    let before = snapshot(&db);
    let e = Runner::new(
        &t,
        RunOptions {
            override_: Override::default(),
            ..RunOptions::default()
        },
    )
    .downgrade(&bundled(), &DowngradeTo::Base, &mut |_| {})
    .unwrap_err();
    assert!(matches!(e, RunError::Blocked(_)), "{e:?}");
    assert_eq!(snapshot(&db), before);
    assert!(
        audit(&db)
            .iter()
            .any(|a| a.starts_with("downgrade refused")),
        "{:?}",
        audit(&db)
    );
}

#[test]
fn the_cli_reads_pgssl_variables_and_ignores_pghost_and_pgdatabase() {
    let s = servers();
    let db = s.tls.server().create_database().unwrap();
    let url = format!(
        "postgresql://postgres:{PW}@localhost:{}/{}?hostaddr=127.0.0.1",
        s.tls.tcp_port().unwrap(),
        db.name()
    );
    let home = tempfile::tempdir().unwrap();
    let run = |extra: &[(&str, String)]| {
        let mut w = wdh(&["-v", "status"])
            .url(&url)
            .migrations(&bundled_dir())
            .env("HOME", &home.path().display().to_string())
            .env("PGHOST", "/nonexistent")
            .env("PGPORT", "1")
            .env("PGDATABASE", "postgres")
            .env("PGUSER", "nobody");
        for (k, v) in extra {
            w = w.env(k, v);
        }
        w.run()
    };
    let ok = run(&[
        ("PGSSLMODE", "verify-full".into()),
        ("PGSSLROOTCERT", s.file("ca.pem").display().to_string()),
    ]);
    ok.expect(
        0,
        &["sslmode=verify-full from PGSSLMODE", "from PGSSLROOTCERT"],
    );
    assert!(
        ok.stdout
            .contains(&format!("database `{}` on 127.0.0.1:", db.name())),
        "{}",
        ok.all()
    );
    assert!(ok.stdout.contains("over TLSv1.3 ("), "{}", ok.all());
    assert!(
        ok.stderr.contains("over TLSv1.3"),
        "-v shows it: {}",
        ok.stderr
    );
    assert!(!ok.all().contains(PW));

    let json = wdh(&["--json", "status"])
        .url(&url)
        .migrations(&bundled_dir())
        .env("HOME", &home.path().display().to_string())
        .env("PGSSLMODE", "require")
        .run();
    assert_eq!(json.code, 0, "{}", json.all());
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["identity"]["tls"]["version"], "TLSv1.3",
        "{}",
        json.stdout
    );

    // A wrong authority from the variable: refused, naming it and the host.
    let wrong = run(&[
        ("PGSSLMODE", "verify-ca".into()),
        (
            "PGSSLROOTCERT",
            s.file("other-ca.pem").display().to_string(),
        ),
    ]);
    wrong.expect(
        1,
        &[
            "is not signed by a certificate authority",
            "from PGSSLROOTCERT",
            "localhost",
        ],
    );
    assert!(!wrong.all().contains(PW));
    // A bad value, or an empty variable, is a usage error before any connection.
    run(&[("PGSSLMODE", "sometimes".into())]).expect(2, &["`sslmode` is `sometimes`", "PGSSLMODE"]);
    run(&[("PGSSLMODE", String::new())]).expect(2, &["PGSSLMODE is set but empty"]);
    // A key file others may read: exit 2, nothing connected.
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = client_files(dir.path(), 0o644);
    run(&[
        ("PGSSLCERT", cert.display().to_string()),
        ("PGSSLKEY", key.display().to_string()),
    ])
    .expect(2, &["has group or world access", "from PGSSLKEY"]);

    // libpq's default root certificate: require then checks the chain.
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    std::fs::write(
        home.path().join(".postgresql/root.crt"),
        Pki::named("a stranger CA").unwrap().ca_pem(),
    )
    .unwrap();
    let defaulted = run(&[("PGSSLMODE", "require".into())]);
    defaulted.expect(
        1,
        &[
            "from libpq's default location",
            "is not signed by a certificate authority",
        ],
    );
    std::fs::write(home.path().join(".postgresql/root.crt"), s.pki.ca_pem()).unwrap();
    run(&[("PGSSLMODE", "require".into())]).expect(0, &["root.crt from libpq's default location"]);
    assert!(ledger(&db).is_empty(), "status writes nothing");
}

#[test]
fn the_cli_upgrades_over_tls_and_a_refusal_leaves_the_ledger_alone() {
    let s = servers();
    let db = s.tls.server().create_database().unwrap();
    let ca = s.file("ca.pem");
    let url = format!(
        "postgresql://postgres:{PW}@127.0.0.1:{}/{}?sslmode=verify-full&sslrootcert={}",
        s.tls.tcp_port().unwrap(),
        db.name(),
        ca.display()
    );
    wdh(&["upgrade"])
        .url(&url)
        .migrations(&bundled_dir())
        .run()
        .expect(0, &[]);
    wdh(&["mark", "production"]).url(&url).run().expect(0, &[]);
    let before = snapshot(&db);
    let blocked = wdh(&["downgrade", "base"])
        .url(&url)
        .migrations(&bundled_dir())
        .run();
    assert_eq!(blocked.code, 3, "{}", blocked.all());
    assert!(!blocked.all().contains(PW));
    assert_eq!(snapshot(&db), before);
    // The wrong name over the same server: nothing runs.
    let mismatch = format!(
        "host=db.example.test hostaddr=127.0.0.1 port={} user=postgres password={PW} dbname={} sslmode=verify-full sslrootcert='{}'",
        s.tls.tcp_port().unwrap(),
        db.name(),
        ca.display()
    );
    let r = wdh(&["upgrade"])
        .url(&mismatch)
        .migrations(&bundled_dir())
        .run();
    r.expect(1, &["not issued for the name `db.example.test`"]);
    assert!(!r.all().contains(PW));
    assert_eq!(snapshot(&db), before);
}

#[test]
fn check_refuses_an_admin_url_with_tls_settings_before_connecting() {
    let s = servers();
    let port = s.tls.tcp_port().unwrap();
    for extra in [
        "sslmode=require".to_owned(),
        format!(
            "sslmode=verify-full&sslrootcert={}",
            s.file("ca.pem").display()
        ),
        "sslmode=allow".to_owned(),
    ] {
        let url = format!("postgresql://postgres:{PW}@127.0.0.1:{port}/postgres?{extra}");
        let run = wdh(&["check", "--admin-url", &url])
            .migrations(&bundled_dir())
            .run();
        run.expect(
            2,
            &[
                "check --admin-url is given TLS settings",
                "without --admin-url",
            ],
        );
        assert!(!run.all().contains("connect to"), "{}", run.all());
        assert!(!run.all().contains(PW));
    }
}
