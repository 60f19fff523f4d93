//! Private, throw-away PostgreSQL clusters and `wdh_test_` databases for tests.
//!
//! Tests never connect to a server they did not create or were not handed
//! explicitly: the harness reads no `DATABASE_URL` or any other setting that
//! names a server. It finds the installed server binaries, runs initdb into a
//! fresh directory (on `/dev/shm` when there is one), and starts the server on
//! a unix socket only.
//!
//! * [`TestCluster`] — one private cluster per test process, started on first
//!   use, stopped and removed at exit (also after panics and failed tests; a
//!   watchdog process cleans up after SIGKILL).
//! * [`TestDatabase`] — a `wdh_test_<pid>_<host>_<random>` database for one
//!   test, dropped (in the background) when the value is dropped.
//! * [`TestServer`] — a server that test databases are made on: a private
//!   cluster, or a server meant for tests whose admin URL is passed explicitly.
//! * [`PgBouncer`] — a real PgBouncer in front of a private cluster, in
//!   session or transaction pooling, stopped with the value or at exit.
//! * [`Tcp`], [`Pki`], [`ServerTls`] — a cluster that also listens on
//!   127.0.0.1 (an ephemeral port), in plain text or with TLS and
//!   certificates of an authority the test makes.
//!
//! ```no_run
//! #[test]
//! fn creates_a_table() -> Result<(), Box<dyn std::error::Error>> {
//!     let db = wdh_testdb::TestDatabase::new()?;
//!     let mut client = db.connect()?;
//!     client.batch_execute("CREATE TABLE t (id int PRIMARY KEY)")?;
//!     Ok(())
//! }
//! ```
//!
//! Finding the binaries: `PG_BINDIR` (used exclusively when set), then
//! `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`, then
//! `PATH`. When the process runs as root, initdb and the server run as the
//! `postgres` system account (or `nobody`), which owns the data directory.
//! PgBouncer: `PGBOUNCER` (used exclusively when set), then `PATH`, then
//! `/usr/sbin/pgbouncer`; it runs as the same account.

mod account;
mod admin;
mod binaries;
mod cluster;
mod database;
mod dropper;
mod error;
mod exit;
mod fsutil;
mod initcache;
mod names;
mod pgbouncer;
mod port;
mod server;
mod template;
mod tls;
mod watchdog;

pub use binaries::{Locator, PgBinaries, PgBouncerLocator};
pub use cluster::{ClusterOptions, TestCluster};
pub use error::{Error, Result};
pub use fsutil::Storage;
pub use names::{check_name, PREFIX};
pub use pgbouncer::{PgBouncer, PgBouncerOptions, PoolMode};
pub use server::{TestDatabase, TestServer};
pub use template::{template_name, TEMPLATE_PREFIX};
pub use tls::{hba_plain, hba_tls_only, Issued, Pki, ServerTls, Tcp};
