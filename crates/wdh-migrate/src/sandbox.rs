//! `--sandbox`: a throw-away local cluster and database for one command.

use anyhow::{Context, Result};

use crate::error::{CliError, Flags};
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

/// `wdh-migrate sandbox`: starts a sandbox, optionally applies the
/// migrations, prints how to connect, and keeps it until SIGINT or SIGTERM;
/// then removes everything.
pub fn serve(upgrade: Option<&std::path::Path>, quiet: bool) -> Result<(), CliError> {
    // Block the stop signals before any thread starts, so every thread
    // inherits the mask and only the wait below receives them.
    let signals = stop_signals();
    // SAFETY: `signals` is an initialised signal set.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &signals, std::ptr::null_mut()) };
    let sandbox = Sandbox::start().map_err(CliError::Failed)?;
    let target = sandbox.target().map_err(CliError::Usage)?;
    println!(
        "sandbox: cluster in {} ({})",
        sandbox.cluster.root().display(),
        sandbox.cluster.storage()
    );
    println!("sandbox: database {}", sandbox.database.name());
    println!("url: {}", sandbox.database.url());
    println!(
        "psql: {} '{}'",
        sandbox.cluster.binaries().bin("psql").display(),
        sandbox.database.url()
    );
    if let Some(dir) = upgrade {
        let set = crate::commands::load(dir)?;
        let mut progress = crate::term::Progress::new(quiet);
        let report = wdh_migrate_core::Runner::new(&target, Default::default())
            .with_spelling(&Flags)
            .upgrade(&set, &wdh_migrate_core::UpgradeTo::Head, &mut |e| {
                progress.event(e)
            })
            .map_err(CliError::from)?;
        drop(progress);
        crate::output::report(&report, "upgrade");
    }
    println!("sandbox: ready; Ctrl-C or SIGTERM stops it and removes everything");
    let mut received = 0;
    // SAFETY: both pointers are valid for the call.
    unsafe { libc::sigwait(&signals, &mut received) };
    let root = sandbox.cluster.root().to_path_buf();
    drop(sandbox);
    println!("sandbox: stopped; removed {}", root.display());
    Ok(())
}

fn stop_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset uses it.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}
