//! Replays incident 001: a test fixture's teardown ran `downgrade base`
//! with an explicit temporary URL, a settings layer replaced it with the
//! production URL from the environment, and production's `business` and
//! `mapping` schemas were dropped.
//!
//! Here a production stand-in named `postgres` (on a private cluster) is at
//! head with rows in `business` and `mapping`; `DATABASE_URL` and
//! `WDH_DATABASE_URL` point at it; a `wdh_test_` database is upgraded
//! through the library with its explicit target, the test body fails, and
//! teardown downgrades it to base. Production must be unchanged: schema
//! dump, row counts and ledger.
//!
//! The replay also runs over TLS: production and the temp database on a
//! TLS-only server on 127.0.0.1, every URL `sslmode=verify-full`.
//!
//! These tests change the process environment, so they take a lock.
#![allow(clippy::unwrap_used)]

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use wdh_migrate_core::guard::Override;
use wdh_migrate_core::migrations::MigrationSet;
use wdh_migrate_core::plan::{DowngradeTo, UpgradeTo};
use wdh_migrate_core::runner::{RunError, RunOptions, Runner};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{hba_tls_only, ClusterOptions, Pki, ServerTls, Tcp, TestCluster, TestDatabase};

static ENV: Mutex<()> = Mutex::new(());

fn bundled() -> MigrationSet {
    MigrationSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations")).unwrap()
}

/// The scene: a private cluster whose `postgres` database is production.
struct Scene {
    _env: MutexGuard<'static, ()>,
    cluster: TestCluster,
    /// Production's URL over the unix socket, for inspecting it.
    prod_url: String,
    /// The URL the runs use: the socket's, or over TLS.
    run_prod_url: String,
    /// Over TLS: the authority's certificate file.
    ca: Option<tempfile::TempDir>,
}

/// The password of `postgres` over TLS.
const TLS_PASSWORD: &str = "incident-Pw-7";

impl Scene {
    fn new() -> Scene {
        Scene::start(false)
    }

    /// The scene on a TLS-only server on 127.0.0.1: every run connects
    /// with `sslmode=verify-full`.
    fn over_tls() -> Scene {
        Scene::start(true)
    }

    fn start(tls: bool) -> Scene {
        let guard = ENV.lock().unwrap_or_else(|p| p.into_inner());
        let (cluster, ca) = if tls {
            let pki = Pki::new().unwrap();
            let cluster = TestCluster::start_with(ClusterOptions {
                tcp: Some(Tcp::Tls(ServerTls::new(
                    pki.server(&["localhost", "127.0.0.1"]).unwrap(),
                ))),
                hba: Some(hba_tls_only("scram-sha-256")),
                ..ClusterOptions::default()
            })
            .unwrap();
            cluster
                .server()
                .connect("postgres")
                .unwrap()
                .batch_execute(&format!("ALTER ROLE postgres PASSWORD '{TLS_PASSWORD}'"))
                .unwrap();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("ca.pem"), pki.ca_pem()).unwrap();
            (cluster, Some(dir))
        } else {
            (TestCluster::start().unwrap(), None)
        };
        let prod_url = cluster.url("postgres");
        let mut scene = Scene {
            _env: guard,
            cluster,
            prod_url: prod_url.clone(),
            run_prod_url: prod_url,
            ca,
        };
        scene.run_prod_url = scene.run_url("postgres");
        let prod_url = scene.run_prod_url.clone();
        let prod = Target::parse(&prod_url, Source::Explicit).unwrap();
        Runner::new(&prod, RunOptions::default())
            .upgrade(&bundled(), &UpgradeTo::Head, &mut |_| {})
            .unwrap();
        let mut c = scene.cluster.server().connect("postgres").unwrap();
        c.batch_execute(
            "INSERT INTO enterprise.company (company_id, legal_name, short_name) VALUES ('C1', 'Acme Annuity Ltd', 'Acme'), ('C2', 'Beta Pensions', 'Beta');
             INSERT INTO mapping.product_line VALUES ('PL1', 'Enterprise annuity');
             INSERT INTO mapping.plan_company VALUES ('PLAN0001', 'C1', 'PL1'), ('PLAN0002', 'C2', 'PL1');
             INSERT INTO business.annuity_performance (report_month, plan_code, company_id, ending_assets)
             VALUES ('2026-01-01', 'PLAN0001', 'C1', 100.00), ('2026-01-01', 'PLAN0002', 'C2', 250.50), ('2026-02-01', 'PLAN0001', 'C1', 101.25);",
        )
        .unwrap();
        // The ambient settings point at production, as in the incident.
        std::env::set_var("DATABASE_URL", &prod_url);
        std::env::set_var("WDH_DATABASE_URL", &prod_url);
        std::env::remove_var("WDH_ALLOW_PRODUCTION_DOWNGRADE");
        scene
    }

    /// The URL runs use for `database`: the unix socket's, or over TLS
    /// (`verify-full`, the scene's authority).
    fn run_url(&self, database: &str) -> String {
        match &self.ca {
            None => self.cluster.url(database),
            Some(dir) => format!(
                "postgresql://postgres:{TLS_PASSWORD}@localhost:{}/{database}?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
                self.cluster.tcp_port().unwrap(),
                dir.path().join("ca.pem").display()
            ),
        }
    }

    fn temp(&self) -> TestDatabase {
        self.cluster.server().create_database().unwrap()
    }

    /// Everything about production that a downgrade could change.
    fn production(&self) -> (String, Vec<i64>, Vec<String>, Vec<String>) {
        let out = Command::new(self.cluster.binaries().bin("pg_dump"))
            .arg("--schema-only")
            .arg(&self.prod_url)
            .output()
            .unwrap();
        assert!(out.status.success());
        let dump: String = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut c = postgres::Client::connect(&self.prod_url, postgres::NoTls).unwrap();
        let counts = [
            "enterprise.company",
            "mapping.product_line",
            "mapping.plan_company",
            "business.annuity_performance",
        ]
        .iter()
        .map(|t| {
            c.query_one(&format!("SELECT count(*) FROM {t}"), &[])
                .unwrap()
                .get(0)
        })
        .collect();
        let ledger = c
            .query(
                "SELECT version || ' ' || checksum FROM wdh_migrate.applied ORDER BY version",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let audit = c
            .query(
                "SELECT operation || ' ' || outcome FROM wdh_migrate.audit ORDER BY id",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        (dump, counts, ledger, audit)
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        std::env::remove_var("DATABASE_URL");
        std::env::remove_var("WDH_DATABASE_URL");
        std::env::remove_var("WDH_ALLOW_PRODUCTION_DOWNGRADE");
    }
}

fn upgrade(url: &str) -> Result<(), RunError> {
    let target = Target::parse(url, Source::Explicit).unwrap();
    Runner::new(&target, RunOptions::default())
        .upgrade(&bundled(), &UpgradeTo::Head, &mut |_| {})
        .map(|_| ())
}

fn downgrade_base(url: &str) -> Result<(), String> {
    let target = Target::parse(url, Source::Explicit).map_err(|e| e.to_string())?;
    Runner::new(&target, RunOptions::default())
        .downgrade(&bundled(), &DowngradeTo::Base, &mut |_| {})
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn at_base(db: &TestDatabase) -> bool {
    let mut c = db.connect().unwrap();
    let schemas: i64 = c.query_one("SELECT count(*) FROM pg_namespace WHERE nspname IN ('business', 'mapping', 'enterprise')", &[]).unwrap().get(0);
    let applied: i64 = c
        .query_one("SELECT count(*) FROM wdh_migrate.applied", &[])
        .unwrap()
        .get(0);
    schemas == 0 && applied == 0
}

/// The fixture of the incident: upgrade the temp database, run a failing
/// body, and downgrade in teardown with `teardown_url`.
fn fixture(temp_url: &str, teardown_url: &str, between: impl FnOnce()) -> Result<(), String> {
    upgrade(temp_url).unwrap();
    let body = std::panic::catch_unwind(AssertUnwindSafe(|| {
        between();
        panic!("the test body fails");
    }));
    assert!(body.is_err());
    downgrade_base(teardown_url)
}

#[test]
fn incident_001_replay() {
    let scene = Scene::new();
    let before = scene.production();
    let temp = scene.temp();
    fixture(&temp.url(), &temp.url(), || {}).unwrap();
    assert!(at_base(&temp), "the temp database is at base");
    assert_eq!(scene.production(), before, "production is unchanged");
}

#[test]
fn incident_001_replay_over_tls() {
    let scene = Scene::over_tls();
    let before = scene.production();
    let temp = scene.temp();
    let temp_url = scene.run_url(temp.name());
    fixture(&temp_url, &temp_url, || {}).unwrap();
    assert!(at_base(&temp), "the temp database is at base");
    assert_eq!(scene.production(), before, "production is unchanged");
    // The CLI over TLS, with the environment at production: the flag wins,
    // and without it production's downgrade is refused.
    let (code, out) = cli(&["upgrade", "--database-url", &temp_url]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli(&["downgrade", "base", "--database-url", &temp_url]);
    assert_eq!(code, 0, "{out}");
    assert!(at_base(&temp));
    let (code, out) = cli(&["downgrade", "base"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("BLOCKED") && !out.contains(TLS_PASSWORD),
        "{out}"
    );
    assert_eq!(scene.production(), before);
}

#[test]
fn incident_001_replay_with_a_url_that_names_no_database() {
    let scene = Scene::new();
    let before = scene.production();
    let temp = scene.temp();
    // libpq would connect to the database named like the user: `postgres`, production.
    let no_database = temp.url().replacen(&format!("/{}?", temp.name()), "/?", 1);
    let err = fixture(&temp.url(), &no_database, || {}).unwrap_err();
    assert!(err.contains("names no database"), "{err}");
    assert_eq!(scene.production(), before);
}

#[test]
fn incident_001_replay_with_a_dbname_parameter_contradicting_the_path() {
    let scene = Scene::new();
    let before = scene.production();
    let temp = scene.temp();
    let contradicting = format!("{}&dbname=postgres", temp.url());
    let err = fixture(&temp.url(), &contradicting, || {}).unwrap_err();
    assert!(
        err.contains("postgres") && err.contains(temp.name()),
        "{err}"
    );
    assert_eq!(scene.production(), before);
}

#[test]
fn incident_001_replay_with_the_environment_changed_between_upgrade_and_teardown() {
    let scene = Scene::new();
    let before = scene.production();
    let temp = scene.temp();
    let temp_url = temp.url();
    // The old fixture pointed the environment at the temp database, then lost it.
    std::env::set_var("DATABASE_URL", &temp_url);
    fixture(&temp_url, &temp_url, || {
        std::env::set_var("DATABASE_URL", &scene.prod_url);
        std::env::set_var("WDH_DATABASE_URL", &scene.prod_url);
    })
    .unwrap();
    assert!(at_base(&temp));
    assert_eq!(scene.production(), before);
}

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wdh-migrate"))
        .args(args)
        .arg("--migrations")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn incident_001_replay_with_the_override_set_to_a_wrong_value() {
    let scene = Scene::new();
    let before = scene.production();
    std::env::set_var("WDH_ALLOW_PRODUCTION_DOWNGRADE", "yes");
    // The CLI, with the ambient production URL and the wrong value.
    let (code, out) = cli(&["downgrade", "base", "--confirm-database", "postgres"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("WDH_ALLOW_PRODUCTION_DOWNGRADE") && out.contains("I_KNOW_WHAT_I_AM_DOING"),
        "{out}"
    );
    // The library, with the override passed explicitly.
    let prod = Target::parse(&scene.prod_url, Source::Explicit).unwrap();
    let options = RunOptions {
        override_: Override {
            allow_variable: Some("yes".into()),
            confirm_database: Some("postgres".into()),
        },
        ..RunOptions::default()
    };
    let err = Runner::new(&prod, options)
        .downgrade(&bundled(), &DowngradeTo::Base, &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, RunError::Guard(_)), "{err}");
    assert_eq!(scene.production(), before);
}

#[test]
fn incident_001_replay_with_the_override_confirming_another_database() {
    let scene = Scene::new();
    let before = scene.production();
    let temp = scene.temp();
    upgrade(&temp.url()).unwrap();
    std::env::set_var("WDH_ALLOW_PRODUCTION_DOWNGRADE", "I_KNOW_WHAT_I_AM_DOING");
    let (code, out) = cli(&["downgrade", "base", "--confirm-database", temp.name()]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("BLOCKED") && out.contains(temp.name()),
        "{out}"
    );
    // Refused on the claim (the ambient URL names `postgres`): no connection,
    // so not even an audit row.
    assert_eq!(scene.production(), before);
}

#[test]
fn incident_001_replay_through_the_cli_with_database_url_at_production() {
    let scene = Scene::new();
    let before = scene.production();
    let temp = scene.temp();
    let (code, out) = cli(&["upgrade", "--database-url", &temp.url()]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = cli(&["downgrade", "base", "--database-url", &temp.url()]);
    assert_eq!(code, 0, "{out}");
    // The exact target line: the temp database, from the flag, not the environment's production URL.
    assert!(
        out.contains(&format!("target: {} (from --database-url)", temp.url())),
        "{out}"
    );
    assert!(at_base(&temp));
    assert_eq!(scene.production(), before);
    // Without the flag, the environment's production URL is used — and refused.
    let (code, out) = cli(&["downgrade", "base"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("(from WDH_DATABASE_URL)") && out.contains("BLOCKED"),
        "{out}"
    );
    assert_eq!(scene.production(), before);
}
