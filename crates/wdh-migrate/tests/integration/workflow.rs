//! Everyday workflow: help, init, new, sandbox, configuration, completions,
//! terminal output.

use std::io::BufRead;
use std::time::{Duration, Instant};

use wdh_migrate::settings::ConfigFile;
use wdh_migrate_core::migrations::MigrationSet;

use crate::support::*;

const COMMANDS: &[&str] = &[
    "check",
    "lint",
    "upgrade",
    "downgrade",
    "current",
    "history",
    "status",
    "mark",
    "adopt",
    "baseline",
    "init",
    "new",
    "sandbox",
    "completions",
    "man",
    "import",
];

#[test]
fn help_of_every_command_is_snapshot_tested() {
    let top = wdh(&["--help"]).stdin_null().run();
    assert_eq!(top.code, 0);
    insta::assert_snapshot!("help", top.stdout);
    for command in COMMANDS {
        let run = wdh(&[command, "--help"]).stdin_null().run();
        assert_eq!(run.code, 0, "{}", run.all());
        insta::assert_snapshot!(format!("help_{command}"), run.stdout);
    }
    let run = wdh(&["import", "alembic", "--help"]).stdin_null().run();
    assert_eq!(run.code, 0, "{}", run.all());
    insta::assert_snapshot!("help_import_alembic", run.stdout);
}

#[test]
fn init_creates_the_config_and_the_folder_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let run = wdh(&["init"]).cwd(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    let written = std::fs::read_to_string(dir.path().join("wdh.toml")).unwrap();
    assert_eq!(written, std::fs::read_to_string(reference_path()).unwrap());
    assert!(dir.path().join("migrations").is_dir());
    assert!(
        run.stdout.contains("created wdh.toml") && run.stdout.contains("created migrations"),
        "{}",
        run.stdout
    );
    // The written file parses (every key commented) and the folder loads.
    let _: ConfigFile = toml::from_str(&written).unwrap();
    assert!(MigrationSet::load(&dir.path().join("migrations"))
        .unwrap()
        .migrations
        .is_empty());

    std::fs::write(
        dir.path().join("wdh.toml"),
        "database_url = \"postgresql://h/mine\"\n",
    )
    .unwrap();
    let run = wdh(&["init"]).cwd(dir.path()).run();
    run.expect(2, &["already exists"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("wdh.toml")).unwrap(),
        "database_url = \"postgresql://h/mine\"\n"
    );
}

fn reference_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/wdh.toml")
}

#[test]
fn the_reference_config_documents_every_key_the_code_reads() {
    let text = std::fs::read_to_string(reference_path()).unwrap();
    // Uncomment every `# key = value` line: the result must name every key
    // (a key missing from the reference stays null) and no unknown one.
    let uncommented: String = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("# ").filter(|rest| {
                rest.split_once(" = ")
                    .is_some_and(|(k, _)| !k.contains(' '))
            })
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let parsed: ConfigFile =
        toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    let json = serde_json::to_value(&parsed).unwrap();
    let missing: Vec<&String> = json
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k)
        .collect();
    assert!(
        missing.is_empty(),
        "keys read by the code but missing from docs/wdh.toml: {missing:?}"
    );
}

#[test]
fn config_paths_are_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf/db/sets")).unwrap();
    std::fs::write(dir.path().join("conf/db/sets/README.md"), "notes").unwrap();
    std::fs::write(dir.path().join("conf/wdh.toml"), "database_url = \"postgresql://h/wdh_test_x?host=/nonexistent\"\nmigrations = \"db/sets\"\n").unwrap();
    let run = wdh(&["status", "--config", "conf/wdh.toml"])
        .cwd(dir.path())
        .run();
    // It gets as far as connecting (which fails: nothing listens there), after loading the folder.
    assert!(
        run.stderr.contains("README.md"),
        "the folder relative to the file was loaded: {}",
        run.all()
    );
}

fn new_in(dir: &std::path::Path, name: &str) -> Vec<String> {
    let run = wdh(&["new", name]).migrations(dir).run();
    assert_eq!(run.code, 0, "{}", run.all());
    run.stdout.lines().map(|l| l.to_string()).collect()
}

fn last(dir: &std::path::Path) -> (String, String) {
    // What `new` writes is not written SQL yet: only `new` itself reads it.
    let set = MigrationSet::load_drafts(dir).unwrap();
    let m = set.migrations.last().unwrap();
    (m.version.raw().to_string(), m.name.clone())
}

#[test]
fn new_follows_each_layout_and_version_style() {
    // An empty folder: folders with UTC timestamps.
    let empty = tempfile::tempdir().unwrap();
    let paths = new_in(empty.path(), "Create Users!");
    assert_eq!(paths.len(), 2, "{paths:?}");
    let (version, name) = last(empty.path());
    assert_eq!(name, "create_users");
    assert_eq!(version.len(), 14, "{version}");
    assert!(version.starts_with("20"), "{version}");
    assert!(
        paths[0].ends_with("up.sql") && paths[1].ends_with("down.sql"),
        "{paths:?}"
    );
    // A second one in the same second still sorts after it.
    new_in(empty.path(), "second");
    assert_eq!(last(empty.path()).1, "second");

    // Zero-padded sequence numbers, folders.
    let seq = folder(&[("0007_a/up.sql", "SELECT 1;"), ("0007_a/down.sql", "")]);
    new_in(seq.path(), "add index");
    assert_eq!(
        last(seq.path()),
        ("0008".to_string(), "add_index".to_string())
    );

    // Diesel's dashed timestamps, with and without the -0000 tail.
    let diesel = folder(&[
        ("2017-01-20-174200_create_users/up.sql", "SELECT 1;"),
        ("2017-01-20-174200_create_users/down.sql", ""),
    ]);
    new_in(diesel.path(), "add posts");
    let (version, _) = last(diesel.path());
    assert_eq!(version.len(), 17, "{version}");
    assert_eq!(version.matches('-').count(), 3, "{version}");
    let diesel2 = folder(&[
        ("2025-11-19-091444-0000_x/up.sql", "SELECT 1;"),
        ("2025-11-19-091444-0000_x/down.sql", ""),
    ]);
    new_in(diesel2.path(), "y");
    assert!(
        last(diesel2.path()).0.ends_with("-0000"),
        "{:?}",
        last(diesel2.path())
    );

    // Flat pairs with integers, and with timestamps.
    let flat = folder(&[
        ("1_a.up.sql", "SELECT 1;"),
        ("1_a.down.sql", ""),
        ("9_b.up.sql", "SELECT 1;"),
        ("9_b.down.sql", ""),
    ]);
    let paths = new_in(flat.path(), "ten");
    assert!(
        paths[0].ends_with("10_ten.up.sql") && paths[1].ends_with("10_ten.down.sql"),
        "{paths:?}"
    );
    let stamps = folder(&[
        ("20200101000000_a.up.sql", "SELECT 1;"),
        ("20200101000000_a.down.sql", ""),
    ]);
    let paths = new_in(stamps.path(), "later");
    assert!(paths[0].ends_with("_later.up.sql"), "{paths:?}");
    assert_eq!(last(stamps.path()).0.len(), 14);
}

#[test]
fn an_up_that_new_made_and_nobody_wrote_is_refused_before_anything_runs() {
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
    ]);
    let db = db();
    assert_eq!(
        wdh(&["upgrade"]).db(&db).migrations(dir.path()).run().code,
        0
    );
    // Two `new` in a row: the second sees the first, not written yet.
    let first = new_in(dir.path(), "add email");
    let second = new_in(dir.path(), "add phone");
    assert_eq!(
        last(dir.path()),
        ("0003".to_string(), "add_phone".to_string())
    );
    let before = (snapshot(&db), audit(&db));
    for command in [
        &["upgrade"][..],
        &["upgrade", "--dry-run"],
        &["status"],
        &["downgrade", "-1"],
    ] {
        let run = wdh(command).db(&db).migrations(dir.path()).run();
        run.expect(
            2,
            &[
                &format!("{} has no statement yet", first[0]),
                "write the migration's SQL in it, or remove the migration",
            ],
        );
        assert_eq!((snapshot(&db), audit(&db)), before, "{command:?}");
    }
    let run = wdh(&["check"]).migrations(dir.path()).run();
    run.expect(2, &["has no statement yet"]);
    // Written, they run; their empty down.sql files stay deliberate no-ops.
    std::fs::write(&first[0], "ALTER TABLE t ADD COLUMN email text;").unwrap();
    std::fs::write(&second[0], "ALTER TABLE t ADD COLUMN phone text;").unwrap();
    std::fs::write(&second[1], "").unwrap();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&db), ["0001", "0002", "0003"]);
}

/// Runs `wdh` and gives up after 20 seconds: a FIFO read would block it forever.
fn run_within_seconds(w: Wdh) -> Run {
    let (mut child, _cwd) = w.spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("wdh-migrate blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_dangling_or_special_wdh_toml_is_an_error_not_an_absent_file() {
    use std::os::unix::fs::symlink;
    let cwd = tempfile::tempdir().unwrap();
    symlink("elsewhere/wdh.toml", cwd.path().join("wdh.toml")).unwrap();
    let run = wdh(&["--sandbox", "status"]).cwd(cwd.path()).run();
    run.expect(
        2,
        &["wdh.toml is a symbolic link to elsewhere/wdh.toml, which does not exist"],
    );
    let explicit = cwd.path().join("wdh.toml");
    let run = wdh(&[
        "--sandbox",
        "status",
        "--config",
        explicit.to_str().unwrap(),
    ])
    .run();
    run.expect(2, &["is a symbolic link", "does not exist"]);

    let fifo = tempfile::tempdir().unwrap();
    mkfifo(&fifo.path().join("wdh.toml"));
    let run = run_within_seconds(wdh(&["--sandbox", "status"]).cwd(fifo.path()));
    run.expect(2, &["wdh.toml is not a regular file", "not read"]);
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("wdh.toml")).unwrap();
    let run = wdh(&["--sandbox", "status"]).cwd(folder.path()).run();
    run.expect(2, &["wdh.toml is a folder"]);
}

#[test]
fn a_fifo_or_a_link_outside_the_folder_is_refused_and_nothing_runs() {
    use std::os::unix::fs::symlink;
    let db = db();
    let dir = folder(&[
        ("0001_t/up.sql", "CREATE TABLE t (id int);"),
        ("0001_t/down.sql", "DROP TABLE t;"),
    ]);
    assert_eq!(
        wdh(&["upgrade"]).db(&db).migrations(dir.path()).run().code,
        0
    );
    let before = (snapshot(&db), audit(&db));

    std::fs::create_dir(dir.path().join("0002_fifo")).unwrap();
    let fifo = dir.path().join("0002_fifo/up.sql");
    mkfifo(&fifo);
    for command in [&["upgrade"][..], &["downgrade", "-1"], &["status"]] {
        let run = run_within_seconds(wdh(command).db(&db).migrations(dir.path()));
        run.expect(
            2,
            &[&format!(
                "{} is a FIFO (named pipe), not a regular file",
                fifo.display()
            )],
        );
        assert_eq!((snapshot(&db), audit(&db)), before, "{command:?}");
    }
    std::fs::remove_dir_all(dir.path().join("0002_fifo")).unwrap();

    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("up.sql"), "DROP TABLE t;").unwrap();
    std::fs::create_dir(dir.path().join("0002_far")).unwrap();
    let link = dir.path().join("0002_far/up.sql");
    symlink(outside.path().join("up.sql"), &link).unwrap();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    run.expect(
        2,
        &[
            &format!("{} is a symbolic link to", link.display()),
            "outside the migration directory",
        ],
    );
    assert_eq!((snapshot(&db), audit(&db)), before);
    let run = wdh(&["check"]).migrations(dir.path()).run();
    run.expect(2, &["outside the migration directory"]);

    // A link that stays inside is followed.
    std::fs::remove_file(&link).unwrap();
    std::fs::create_dir(dir.path().join("shared")).unwrap();
    std::fs::write(dir.path().join("shared/u.sql"), "CREATE TABLE u (id int);").unwrap();
    symlink("../shared/u.sql", &link).unwrap();
    let run = wdh(&["upgrade"]).db(&db).migrations(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(applied_versions(&db), ["0001", "0002"]);
}

#[test]
fn new_refuses_a_name_without_letters() {
    let dir = tempfile::tempdir().unwrap();
    let run = wdh(&["new", "--", "---"]).migrations(dir.path()).run();
    assert_eq!(run.code, 2, "{}", run.all());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn sandbox_serves_until_sigterm_and_removes_everything() {
    let (mut child, _cwd) = wdh(&["sandbox", "--upgrade"])
        .migrations(&bundled_dir())
        .spawn();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let (mut url, mut root) = (String::new(), String::new());
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(u) = line.strip_prefix("url: ") {
            url = u.to_string();
        }
        if let Some(r) = line.strip_prefix("sandbox: cluster in ") {
            root = r.split(" (").next().unwrap().to_string();
        }
        if line.starts_with("sandbox: ready") {
            break;
        }
        assert!(Instant::now() < deadline);
    }
    assert!(!url.is_empty() && !root.is_empty());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let applied: i64 = c
        .query_one("SELECT count(*) FROM wdh_migrate.applied", &[])
        .unwrap()
        .get(0);
    assert_eq!(applied, 10);
    drop(c);
    let pid_file = std::path::Path::new(&root).join("data/postmaster.pid");
    let server_pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert!(
        rest.iter().any(|l| l.starts_with("sandbox: stopped")),
        "{rest:?}"
    );
    assert!(!std::path::Path::new(&root).exists(), "{root} left behind");
    assert!(
        !std::path::Path::new(&format!("/proc/{server_pid}")).exists(),
        "server {server_pid} still running"
    );
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let run = wdh(&["completions", shell]).run();
        assert_eq!(run.code, 0, "{}", run.all());
        assert!(
            run.stdout.contains("wdh-migrate")
                && run.stdout.contains("downgrade")
                && run.stdout.contains("database-url"),
            "{shell}"
        );
    }
    let man = wdh(&["man"]).run();
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.contains(".TH wdh-migrate") && man.stdout.contains("database\\-url"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
}

#[test]
fn quiet_verbose_and_rust_log() {
    let db = db();
    let run = wdh(&["upgrade", "-q"])
        .db(&db)
        .migrations(&bundled_dir())
        .stdin_null()
        .run();
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let run = wdh(&["status", "-vv"])
        .db(&db)
        .migrations(&bundled_dir())
        .run();
    assert!(
        run.stderr.contains("connected"),
        "debug logs with -vv: {}",
        run.stderr
    );
    let run = wdh(&["status"])
        .db(&db)
        .migrations(&bundled_dir())
        .env("RUST_LOG", "debug")
        .run();
    assert!(
        run.stderr.contains("connected"),
        "RUST_LOG honoured: {}",
        run.stderr
    );
    let run = wdh(&["status"]).db(&db).migrations(&bundled_dir()).run();
    assert!(!run.stderr.contains("connected"), "{}", run.stderr);
    assert!(
        !run.all().contains('\x1b'),
        "no colour when not on a terminal"
    );
}

/// Runs the CLI under a pseudo-terminal (util-linux `script`); `None` where
/// `script` is not installed.
fn on_a_terminal(args: &str, extra_env: &[(&str, &str)]) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_wdh-migrate");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .env_remove("NO_COLOR")
        .env("TERM", "xterm");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn colour_and_the_progress_bar_only_on_a_terminal_and_never_with_no_color() {
    let db = db();
    let args = format!(
        "--database-url '{}' --migrations '{}' upgrade",
        db.url(),
        bundled_dir().display()
    );
    let Some(tty) = on_a_terminal(&args, &[]) else {
        eprintln!("note: `script` is not installed; the terminal behaviour is not checked");
        return;
    };
    assert!(tty.contains("applying 0010_company_branch"), "{tty}");
    assert!(
        tty.contains('\x1b'),
        "colour and the bar on a terminal: {tty:?}"
    );
    let status = on_a_terminal(
        &format!(
            "--database-url '{}' --migrations '{}' status",
            db.url(),
            bundled_dir().display()
        ),
        &[("NO_COLOR", "1")],
    )
    .unwrap();
    assert!(status.contains("10 applied"), "{status}");
    assert!(
        !status.contains('\x1b'),
        "no colour with NO_COLOR: {status:?}"
    );
    let status = on_a_terminal(
        &format!(
            "--database-url '{}' --migrations '{}' status",
            db.url(),
            bundled_dir().display()
        ),
        &[],
    )
    .unwrap();
    assert!(
        status.contains("\x1b[32mapplied"),
        "applied in green on a terminal: {status:?}"
    );
}
