//! Applying 200 generated migrations (CREATE TABLE plus an index each) from
//! empty, and a no-op `upgrade head` at 200 applied, on one throw-away
//! cluster; compared with the server's floor (one `BEGIN; <sql>; <ledger
//! row>; COMMIT` message per migration) and `psql -1 -f` of the same SQL.
//! Then the no-op `upgrade head` over TCP to a loopback server (127.0.0.1)
//! that takes both: in plain text (`sslmode=disable`) and over TLS
//! (`sslmode=verify-full`, a fresh handshake each run). Prints medians;
//! asserts nothing.
//!
//! Run with `cargo bench -p wdh-migrate --bench runner`.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::UpgradeTo;
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{ClusterOptions, Pki, ServerTls, Tcp, TestCluster};

const MIGRATIONS: usize = 200;

fn reps() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        7
    } else {
        1
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn up_sql(i: usize) -> String {
    format!(
        "CREATE TABLE \"t_{i:04}\" (\"id\" bigint PRIMARY KEY, \"name\" text NOT NULL, \"created_at\" timestamptz NOT NULL DEFAULT now());\n\
         CREATE INDEX \"t_{i:04}_name_idx\" ON \"t_{i:04}\" (\"name\");\n"
    )
}

fn main() {
    let cluster = TestCluster::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut all_sql = String::new();
    for i in 1..=MIGRATIONS {
        let folder = dir.path().join(format!("{i:04}_table_{i}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("up.sql"), up_sql(i)).unwrap();
        std::fs::write(
            folder.join("down.sql"),
            format!("DROP TABLE \"t_{i:04}\";\n"),
        )
        .unwrap();
        all_sql.push_str(&up_sql(i));
    }
    let sql_file = dir.path().join("all.sql");
    std::fs::write(&sql_file, &all_sql).unwrap();
    let set = MigrationSet::load(dir.path()).unwrap();
    let fresh = || cluster.server().create_database().unwrap();

    // The floor: one message per migration with its ledger row.
    let floor = median(
        (0..reps())
            .map(|_| {
                let db = fresh();
                let mut c = db.connect().unwrap();
                c.batch_execute("CREATE TABLE ledger (version text PRIMARY KEY, checksum text, execution_ms float8)").unwrap();
                let t = Instant::now();
                for i in 1..=MIGRATIONS {
                    c.batch_execute(&format!(
                        "BEGIN;\n{}\n;\nINSERT INTO ledger VALUES ('{i:04}', 'x', 1000 * extract(epoch FROM clock_timestamp() - statement_timestamp()));\nCOMMIT;",
                        up_sql(i)
                    ))
                    .unwrap();
                }
                t.elapsed()
            })
            .collect(),
    );

    // The same floor with wdh-migrate's own ledger row (applied_at, applied_by,
    // client address, execution time), to tell the tool's overhead from the row's.
    let floor_own_row = median(
        (0..reps())
            .map(|_| {
                let db = fresh();
                let mut c = db.connect().unwrap();
                wdh_migrate_core::ledger::ensure(&mut c, Duration::from_secs(10)).unwrap();
                let t = Instant::now();
                for i in 1..=MIGRATIONS {
                    let row = wdh_migrate_core::ledger::statements::record_applied(
                        &format!("{i:04}"),
                        "t",
                        "x",
                        false,
                        None,
                    );
                    c.batch_execute(&format!("BEGIN;\n{}\n;\n{row}\nCOMMIT;", up_sql(i)))
                        .unwrap();
                }
                t.elapsed()
            })
            .collect(),
    );

    // psql -1 -f: one transaction, no ledger, process start included.
    let psql = cluster.binaries().bin("psql");
    let psql_time = median(
        (0..reps())
            .map(|_| {
                let db = fresh();
                let t = Instant::now();
                let ok = Command::new(&psql)
                    .args(["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f"])
                    .arg(&sql_file)
                    .arg(db.url())
                    .stdout(Stdio::null())
                    .status()
                    .unwrap()
                    .success();
                assert!(ok);
                t.elapsed()
            })
            .collect(),
    );

    // wdh-migrate through the library, and as a process.
    let library = median(
        (0..reps())
            .map(|_| {
                let db = fresh();
                let target = Target::parse(&db.url(), Source::Explicit).unwrap();
                let t = Instant::now();
                let r = Runner::new(&target, RunOptions::default())
                    .upgrade(&set, &UpgradeTo::Head, &mut |_| {})
                    .unwrap();
                let took = t.elapsed();
                assert_eq!(r.ran.len(), MIGRATIONS);
                took
            })
            .collect(),
    );
    let bin = env!("CARGO_BIN_EXE_wdh-migrate");
    let run_cli = |url: &str| {
        let t = Instant::now();
        let ok = Command::new(bin)
            .args(["upgrade", "--database-url", url, "--migrations"])
            .arg(dir.path())
            .env_remove("DATABASE_URL")
            .env_remove("WDH_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok);
        t.elapsed()
    };
    let mut at_head = None;
    let cli = median(
        (0..reps())
            .map(|_| {
                let db = fresh();
                let took = run_cli(&db.url());
                at_head = Some(db);
                took
            })
            .collect(),
    );
    let db = at_head.unwrap();
    let noop = median((0..20).map(|_| run_cli(&db.url())).collect());
    let version = median(
        (0..20)
            .map(|_| {
                let t = Instant::now();
                Command::new(bin)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                t.elapsed()
            })
            .collect(),
    );
    let noop_library = {
        let target = Target::parse(&db.url(), Source::Explicit).unwrap();
        median(
            (0..20)
                .map(|_| {
                    let t = Instant::now();
                    Runner::new(&target, RunOptions::default())
                        .upgrade(&set, &UpgradeTo::Head, &mut |_| {})
                        .unwrap();
                    t.elapsed()
                })
                .collect(),
        )
    };

    // The same no-op over TCP to 127.0.0.1, in plain text and over TLS, on a
    // server that takes both (trust, so only the transport differs).
    let pki = Pki::new().unwrap();
    let tcp_cluster = TestCluster::start_with(ClusterOptions {
        tcp: Some(Tcp::Tls(ServerTls::new(
            pki.server(&["localhost", "127.0.0.1"]).unwrap(),
        ))),
        hba: Some("local all all trust\nhost all all 127.0.0.1/32 trust\n".into()),
        ..ClusterOptions::default()
    })
    .unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let tcp_db = tcp_cluster.server().create_database().unwrap();
    let tcp_url = |mode: &str| {
        format!(
            "postgresql://postgres@127.0.0.1:{}/{}?sslmode={mode}&sslrootcert={}",
            tcp_cluster.tcp_port().unwrap(),
            tcp_db.name(),
            ca.display()
        )
    };
    let (plain_url, tls_url) = (tcp_url("disable"), tcp_url("verify-full"));
    let plain_target = Target::parse(&plain_url, Source::Explicit).unwrap();
    let tls_target = Target::parse(&tls_url, Source::Explicit).unwrap();
    Runner::new(&plain_target, RunOptions::default())
        .upgrade(&set, &UpgradeTo::Head, &mut |_| {})
        .unwrap();
    let noop_on = |target: &Target| {
        median(
            (0..40)
                .map(|_| {
                    let t = Instant::now();
                    let r = Runner::new(target, RunOptions::default())
                        .upgrade(&set, &UpgradeTo::Head, &mut |_| {})
                        .unwrap();
                    let took = t.elapsed();
                    assert!(r.ran.is_empty());
                    took
                })
                .collect(),
        )
    };
    // Alternate, so that both see the same machine.
    let (mut plain_lib, mut tls_lib) = (Vec::new(), Vec::new());
    let (mut plain_cli, mut tls_cli) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        plain_lib.push(noop_on(&plain_target));
        tls_lib.push(noop_on(&tls_target));
        plain_cli.push(median((0..8).map(|_| run_cli(&plain_url)).collect()));
        tls_cli.push(median((0..8).map(|_| run_cli(&tls_url)).collect()));
    }
    let (plain_lib, tls_lib) = (median(plain_lib), median(tls_lib));
    let (plain_cli, tls_cli) = (median(plain_cli), median(tls_cli));

    println!("{MIGRATIONS} migrations (CREATE TABLE + index each) from empty, median of {} runs, cluster on {}:", reps(), cluster.storage());
    println!(
        "  server floor (one message per migration)   {:>8.1} ms",
        ms(floor)
    );
    println!(
        "  the same with wdh-migrate's ledger row     {:>8.1} ms   {:.2}x floor",
        ms(floor_own_row),
        ms(floor_own_row) / ms(floor)
    );
    println!(
        "  psql -1 -f (no ledger, one transaction)     {:>8.1} ms",
        ms(psql_time)
    );
    println!(
        "  wdh-migrate upgrade (library)               {:>8.1} ms   {:.2}x floor, {:.2}x floor with its row",
        ms(library),
        ms(library) / ms(floor),
        ms(library) / ms(floor_own_row)
    );
    println!(
        "  wdh-migrate upgrade (process)               {:>8.1} ms   {:.2}x floor, {:.2}x psql",
        ms(cli),
        ms(cli) / ms(floor),
        ms(cli) / ms(psql_time)
    );
    println!("no-op upgrade head at {MIGRATIONS} applied, median of 20:");
    println!(
        "  wdh-migrate (process start included)        {:>8.1} ms",
        ms(noop)
    );
    println!(
        "  wdh-migrate (library, connection included)  {:>8.1} ms",
        ms(noop_library)
    );
    println!(
        "  (spawning `wdh-migrate --version` from here: {:.1} ms)",
        ms(version)
    );
    println!("no-op upgrade head at {MIGRATIONS} applied over TCP to 127.0.0.1, medians:");
    println!(
        "  library, plain text (sslmode=disable)       {:>8.2} ms",
        ms(plain_lib)
    );
    println!(
        "  library, TLS (sslmode=verify-full)          {:>8.2} ms   {:+.2} ms",
        ms(tls_lib),
        ms(tls_lib) - ms(plain_lib)
    );
    println!(
        "  process, plain text                          {:>8.2} ms",
        ms(plain_cli)
    );
    println!(
        "  process, TLS                                 {:>8.2} ms   {:+.2} ms",
        ms(tls_cli),
        ms(tls_cli) - ms(plain_cli)
    );
}
