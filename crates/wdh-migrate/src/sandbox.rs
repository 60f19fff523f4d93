//! `--sandbox`: a throw-away local cluster and database for one command.

use anyhow::{Context, Result};
use wdh_migrate_core::target::{Source, Target};
use wdh_testdb::{TestCluster, TestDatabase};

/// A running sandbox; dropping it removes the database and the cluster.
pub struct Sandbox {
    // Field order matters: the database goes before its cluster.
    database: TestDatabase,
    cluster: TestCluster,
}

impl Sandbox {
    pub fn start() -> Result<Sandbox> {
        let cluster = TestCluster::start().context("starting the sandbox cluster")?;
        let database = cluster
            .server()
            .create_database()
            .context("creating the sandbox database")?;
        Ok(Sandbox { database, cluster })
    }

    pub fn target(&self) -> Result<Target> {
        Ok(Target::parse(&self.database.url(), Source::Sandbox)?)
    }

    pub fn describe(&self) -> String {
        format!(
            "sandbox: throw-away cluster in {} ({}); removed when this command ends\n\
             sandbox: connect while it runs with: {} '{}'",
            self.cluster.root().display(),
            self.cluster.storage(),
            self.cluster.binaries().bin("psql").display(),
            self.database.url()
        )
    }
}
