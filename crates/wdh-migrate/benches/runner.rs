//! Applying 200 generated migrations (CREATE TABLE plus an index each) from
//! empty, and a no-op `upgrade head` at 200 applied, on one throw-away
//! cluster; compared with the server's floor (one `BEGIN; <sql>; <ledger
//! row>; COMMIT` message per migration) and `psql -1 -f` of the same SQL.
//! Then both through PgBouncer in session pooling (unix socket) in front of
//! the same cluster. Then the no-op `upgrade head` over TCP to a loopback server (127.0.0.1)
//! that takes both: in plain text (`sslmode=disable`) and over TLS
//! (`sslmode=verify-full`, a fresh handshake each run). Prints medians;
//! asserts nothing.
//!
//! Run with `cargo bench -p wdh-migrate --bench runner` (`-- --tls-only`:
//! only the part over TCP; `-- --no-tcp`: all but that part).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::UpgradeTo;
use wdh_migrate_core::runner::{RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{ClusterOptions, PgBouncer, Pki, PoolMode, ServerTls, Tcp, TestCluster};

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
    let dir = tempfile::tempdir().unwrap();
    if std::env::args().any(|a| a == "--tls-only") {
        let set = generated(dir.path());
        over_tcp(&set, dir.path());
        return;
    }
    let cluster = TestCluster::start().unwrap();
    let set = generated(dir.path());
    let sql_file = dir.path().join("all.sql");
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
    let run_cli = |url: &str| run_cli(url, dir.path());
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
    through_session_pooling(&cluster, &set, dir.path(), [library, noop, noop_library]);
    if !std::env::args().any(|a| a == "--no-tcp") {
        over_tcp(&set, dir.path());
    }
}

/// The apply from empty and the no-op `upgrade head` through PgBouncer in
/// session pooling (unix socket) in front of `cluster`, next to the
/// `direct` figures (apply, no-op process, no-op library).
fn through_session_pooling(
    cluster: &TestCluster,
    set: &MigrationSet,
    migrations: &Path,
    direct: [Duration; 3],
) {
    let bouncer = PgBouncer::start(cluster, PoolMode::Session).unwrap();
    let mut at_head = None;
    let apply = median(
        (0..reps())
            .map(|_| {
                let db = cluster.server().create_database().unwrap();
                let target = Target::parse(&bouncer.url(db.name()), Source::Explicit).unwrap();
                let t = Instant::now();
                let r = Runner::new(&target, RunOptions::default())
                    .upgrade(set, &UpgradeTo::Head, &mut |_| {})
                    .unwrap();
                let took = t.elapsed();
                assert_eq!(r.ran.len(), MIGRATIONS);
                at_head = Some(db);
                took
            })
            .collect(),
    );
    let db = at_head.unwrap();
    let url = bouncer.url(db.name());
    let noop = median((0..20).map(|_| run_cli(&url, migrations)).collect());
    let target = Target::parse(&url, Source::Explicit).unwrap();
    let noop_library = median(
        (0..20)
            .map(|_| {
                let t = Instant::now();
                let r = Runner::new(&target, RunOptions::default())
                    .upgrade(set, &UpgradeTo::Head, &mut |_| {})
                    .unwrap();
                let took = t.elapsed();
                assert!(r.ran.is_empty());
                took
            })
            .collect(),
    );
    println!("through PgBouncer in session pooling (unix socket), {MIGRATIONS} migrations:");
    for (what, took, direct) in [
        (
            format!("upgrade from empty (library), median of {}", reps()),
            apply,
            direct[0],
        ),
        (
            "no-op upgrade head (process), median of 20".to_string(),
            noop,
            direct[1],
        ),
        (
            "no-op upgrade head (library), median of 20".to_string(),
            noop_library,
            direct[2],
        ),
    ] {
        println!(
            "  {what:<46} {:>8.1} ms   {:.2}x direct",
            ms(took),
            ms(took) / ms(direct)
        );
    }
}

/// The generated set in `dir`, and all its SQL in `dir/all.sql`.
fn generated(dir: &Path) -> MigrationSet {
    let mut all_sql = String::new();
    for i in 1..=MIGRATIONS {
        let folder = dir.join(format!("{i:04}_table_{i}"));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("up.sql"), up_sql(i)).unwrap();
        std::fs::write(
            folder.join("down.sql"),
            format!("DROP TABLE \"t_{i:04}\";\n"),
        )
        .unwrap();
        all_sql.push_str(&up_sql(i));
    }
    std::fs::write(dir.join("all.sql"), &all_sql).unwrap();
    MigrationSet::load(dir).unwrap()
}

/// Spawns `wdh-migrate upgrade` on `url`; how long it took.
fn run_cli(url: &str, migrations: &Path) -> Duration {
    let t = Instant::now();
    let ok = Command::new(env!("CARGO_BIN_EXE_wdh-migrate"))
        .args(["upgrade", "--database-url", url, "--migrations"])
        .arg(migrations)
        .env_remove("DATABASE_URL")
        .env_remove("WDH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    t.elapsed()
}

/// The no-op `upgrade head` over TCP to 127.0.0.1, in plain text and over
/// TLS, on a server that takes both (trust, so only the transport differs);
/// medians and minimums, the two alternated so that both see the same
/// machine.
fn over_tcp(set: &MigrationSet, migrations: &Path) {
    let pki = Pki::new().unwrap();
    let cluster = TestCluster::start_with(ClusterOptions {
        tcp: Some(Tcp::Tls(ServerTls::new(
            pki.server(&["localhost", "127.0.0.1"]).unwrap(),
        ))),
        hba: Some("local all all trust\nhost all all 127.0.0.1/32 trust\n".into()),
        ..ClusterOptions::default()
    })
    .unwrap();
    let ca = migrations.join("ca.pem");
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let db = cluster.server().create_database().unwrap();
    let url = |mode: &str| {
        format!(
            "postgresql://postgres@127.0.0.1:{}/{}?sslmode={mode}&sslrootcert={}",
            cluster.tcp_port().unwrap(),
            db.name(),
            ca.display()
        )
    };
    let (plain_url, tls_url) = (url("disable"), url("verify-full"));
    let plain = Target::parse(&plain_url, Source::Explicit).unwrap();
    let tls = Target::parse(&tls_url, Source::Explicit).unwrap();
    Runner::new(&plain, RunOptions::default())
        .upgrade(set, &UpgradeTo::Head, &mut |_| {})
        .unwrap();
    let library = |target: &Target| {
        let t = Instant::now();
        let r = Runner::new(target, RunOptions::default())
            .upgrade(set, &UpgradeTo::Head, &mut |_| {})
            .unwrap();
        let took = t.elapsed();
        assert!(r.ran.is_empty());
        took
    };
    let (mut plain_lib, mut tls_lib, mut plain_cli, mut tls_cli) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // CPU time of this process (the library) and of the spawned ones: what
    // TLS costs the client, whatever else the machine is doing.
    let (mut cpu_lib, mut cpu_cli) = ([Duration::ZERO; 2], [Duration::ZERO; 2]);
    for _ in 0..40 {
        for (i, (target, out)) in [(&plain, &mut plain_lib), (&tls, &mut tls_lib)]
            .into_iter()
            .enumerate()
        {
            let before = cpu(libc::RUSAGE_SELF);
            out.push(library(target));
            cpu_lib[i] += cpu(libc::RUSAGE_SELF) - before;
        }
    }
    for _ in 0..20 {
        for (i, (url, out)) in [(&plain_url, &mut plain_cli), (&tls_url, &mut tls_cli)]
            .into_iter()
            .enumerate()
        {
            let before = cpu(libc::RUSAGE_CHILDREN);
            out.push(run_cli(url, migrations));
            cpu_cli[i] += cpu(libc::RUSAGE_CHILDREN) - before;
        }
    }
    let show = |what: &str, plain: Vec<Duration>, tls: Vec<Duration>| {
        let (pmin, tmin) = (
            ms(*plain.iter().min().unwrap()),
            ms(*tls.iter().min().unwrap()),
        );
        let (pmed, tmed) = (ms(median(plain)), ms(median(tls)));
        println!(
            "  {what}, plain text (sslmode=disable)   median {pmed:>7.2} ms   min {pmin:>7.2} ms"
        );
        println!(
            "  {what}, TLS (sslmode=verify-full)      median {tmed:>7.2} ms   min {tmin:>7.2} ms   TLS adds {:+.2} ms (median), {:+.2} ms (min)",
            tmed - pmed,
            tmin - pmin
        );
    };
    println!("no-op upgrade head at {MIGRATIONS} applied over TCP to 127.0.0.1 (a fresh connection and handshake each run):");
    show("library", plain_lib, tls_lib);
    show("process", plain_cli, tls_cli);
    println!(
        "  client CPU per run: library {:.2} ms plain, {:.2} ms TLS; process {:.2} ms plain, {:.2} ms TLS",
        ms(cpu_lib[0]) / 40.0,
        ms(cpu_lib[1]) / 40.0,
        ms(cpu_cli[0]) / 20.0,
        ms(cpu_cli[1]) / 20.0
    );
}

/// User and system CPU time of `who` (`RUSAGE_SELF`, `RUSAGE_CHILDREN`).
fn cpu(who: i32) -> Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
