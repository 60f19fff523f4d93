//! Starts a throw-away cluster, creates a test database, shows how to
//! connect to it, and removes everything on exit.

use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cluster = wdh_testdb::TestCluster::start()?;
    let db = cluster.server().create_database()?;
    println!(
        "cluster:  {} ({})",
        cluster.root().display(),
        cluster.storage()
    );
    println!("database: {}", db.name());
    println!("url:      {}", db.url());
    let psql = cluster.binaries().bin("psql");
    println!("connect:  {} '{}'", psql.display(), db.url());
    let out = Command::new(&psql)
        .arg(db.url())
        .args(["-XAtc", "SELECT version()"])
        .output()?;
    println!("server:   {}", String::from_utf8_lossy(&out.stdout).trim());
    Ok(())
}
