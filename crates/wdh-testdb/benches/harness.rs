//! Prints medians of 20 runs (3 when run by `cargo test`): cluster start-to-ready (cold: initdb; cached:
//! copy of the init cache), and create / drop of an empty test database.
//!
//! Run with `cargo bench -p wdh-testdb --bench harness`.

use std::time::{Duration, Instant};

use wdh_testdb::{ClusterOptions, TestCluster};

/// 20 runs under `cargo bench`; a quick pass of 3 when run as a test.
fn runs() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        20
    } else {
        3
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn time_start(options: impl Fn() -> ClusterOptions) -> (Duration, Duration) {
    let (mut start, mut stop) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        let t = Instant::now();
        let cluster = TestCluster::start_with(options()).expect("cluster starts");
        start.push(t.elapsed());
        let t = Instant::now();
        drop(cluster);
        stop.push(t.elapsed());
    }
    (median(start), median(stop))
}

fn main() {
    // Warm the init cache once so "cached" measures the copy, not initdb.
    drop(TestCluster::start().expect("cluster starts"));
    let (cold, cold_stop) = time_start(|| ClusterOptions {
        use_init_cache: false,
        ..ClusterOptions::default()
    });
    let (cached, cached_stop) = time_start(ClusterOptions::default);
    let cluster = TestCluster::start().expect("cluster starts");
    println!("storage: {}", cluster.storage());
    println!(
        "cluster start-to-ready, cold (initdb):     {}  (stop {})",
        ms(cold),
        ms(cold_stop)
    );
    println!(
        "cluster start-to-ready, from init cache:   {}  (stop {})",
        ms(cached),
        ms(cached_stop)
    );

    let server = cluster.server();
    // What a test process would pay to join a cluster shared across processes.
    let joins: Vec<Duration> = (0..runs())
        .map(|_| {
            let t = Instant::now();
            let client = server.connect("postgres").expect("connects");
            let took = t.elapsed();
            drop(client);
            took
        })
        .collect();
    println!(
        "joining a running cluster (one connection): {}",
        ms(median(joins))
    );
    let mut admin = server.connect("postgres").expect("connects");
    for strategy in ["FILE_COPY", "WAL_LOG"] {
        let (mut create, mut drop_) = (Vec::new(), Vec::new());
        for i in 0..runs() {
            let name = format!("wdh_test_bench_{}_{i}", strategy.to_lowercase());
            let t = Instant::now();
            admin
                .batch_execute(&format!("CREATE DATABASE \"{name}\" STRATEGY {strategy}"))
                .expect("create");
            create.push(t.elapsed());
            let t = Instant::now();
            admin
                .batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                .expect("drop");
            drop_.push(t.elapsed());
        }
        println!(
            "CREATE DATABASE STRATEGY {strategy:<9}         {}  (DROP {})",
            ms(median(create)),
            ms(median(drop_))
        );
    }

    // What a test sees: TestServer::create_database (pooled admin connection),
    // then Drop hands the drop to the background thread.
    let (mut create, mut release) = (Vec::new(), Vec::new());
    for _ in 0..runs() {
        let t = Instant::now();
        let db = server.create_database().expect("create");
        create.push(t.elapsed());
        let t = Instant::now();
        drop(db);
        release.push(t.elapsed());
    }
    server.wait_for_drops(Duration::from_secs(60));
    println!(
        "TestServer::create_database:               {}",
        ms(median(create))
    );
    println!(
        "TestDatabase drop (background, test's side): {}",
        ms(median(release))
    );

    let mut sync_drop = Vec::new();
    for _ in 0..runs() {
        let db = server.create_database().expect("create");
        let t = Instant::now();
        db.drop_now().expect("drop");
        sync_drop.push(t.elapsed());
    }
    println!(
        "TestDatabase::drop_now (synchronous):      {}",
        ms(median(sync_drop))
    );
}
