//! One freshly initialised data directory per server build and account,
//! copied for each new cluster instead of running initdb (~300 ms of CPU).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::account::{as_account, Account};
use crate::binaries::PgBinaries;
use crate::error::{Error, Result};
use crate::fsutil::{self, Storage};

/// Runs initdb into `data` (which must not exist) as `account`.
pub(crate) fn initdb(binaries: &PgBinaries, account: &Account, data: &Path) -> Result<()> {
    let parent = data.parent().unwrap_or(Path::new("/"));
    let log_path = parent.join("initdb.log");
    let log = std::fs::File::create(&log_path).map_err(Error::io("creating", &log_path))?;
    let log_err = log.try_clone().map_err(Error::io("opening", &log_path))?;
    let mut cmd = Command::new(binaries.bin("initdb"));
    cmd.arg("-D")
        .arg(data)
        .args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    as_account(&mut cmd, account);
    let status = cmd
        .status()
        .map_err(Error::io("running", binaries.bin("initdb")))?;
    if status.success() {
        let _ = std::fs::remove_file(&log_path);
        Ok(())
    } else {
        Err(Error::InitdbFailed {
            dir: data.to_path_buf(),
            status: status.to_string(),
            log_tail: fsutil::tail(&log_path, 20),
        })
    }
}

/// What identifies a server build: the binaries' paths, sizes, modification
/// times and inodes. A package upgrade changes it, and the cache is rebuilt.
fn stamp(binaries: &PgBinaries, account: &Account) -> Result<String> {
    let mut stamp = format!("uid={}\n", account.uid);
    for name in ["initdb", "postgres"] {
        let path = binaries.bin(name);
        let m = std::fs::metadata(&path).map_err(Error::io("reading", &path))?;
        stamp.push_str(&format!(
            "{} {} {} {}\n",
            path.display(),
            m.len(),
            m.mtime(),
            m.ino()
        ));
    }
    Ok(stamp)
}

fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The cached data directory for these binaries and account, built on first
/// use and rebuilt when its stamp no longer matches the binaries.
///
/// The cache lives in a directory of this user's own (`wdh-testdb-cache-<uid>`,
/// mode 0711, checked for owner and mode, never a symbolic link), so no
/// other local user can plant a data directory in it. Concurrent builders
/// race safely: a fresh entry is never replaced, only a stale one.
pub(crate) fn cached_data_dir(binaries: &PgBinaries, account: &Account) -> Result<PathBuf> {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    let base = Storage::detect()
        .path()
        .join(format!("wdh-testdb-cache-{euid}"));
    ensure_private_dir(&base, euid)?;
    let stamp = stamp(binaries, account)?;
    let entry = base.join(format!(
        "u{}-{:016x}",
        account.uid,
        fnv1a(&binaries.bindir().display().to_string())
    ));
    if fresh(&entry, &stamp, account)? {
        return Ok(entry.join("data"));
    }
    let building = fsutil::fresh_dir(&base, "building", account)?;
    let result = initdb(binaries, account, &building.join("data")).and_then(|()| {
        std::fs::write(building.join("stamp"), &stamp)
            .map_err(Error::io("writing", building.join("stamp")))
    });
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&building);
        return Err(e);
    }
    // Installing is serialised by a lock file, so a fresh entry another
    // builder installs is never moved aside by this one.
    let _install = InstallLock::take(&base.join(".install.lock"))?;
    if fresh(&entry, &stamp, account)? {
        // Another process installed a fresh entry meanwhile: use it.
        let _ = std::fs::remove_dir_all(&building);
        return Ok(entry.join("data"));
    }
    if entry.exists() {
        // Stale (or half-removed): move it aside atomically, then delete it.
        let trash = base.join(format!(
            "stale-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        if std::fs::rename(&entry, &trash).is_ok() {
            let _ = std::fs::remove_dir_all(&trash);
        }
    }
    if std::fs::rename(&building, &entry).is_err() {
        // Another process installed its entry first; use theirs.
        let _ = std::fs::remove_dir_all(&building);
    }
    Ok(entry.join("data"))
}

/// An exclusive `flock` on a file, released when dropped (or when the process dies).
struct InstallLock(std::fs::File);

impl InstallLock {
    fn take(path: &Path) -> Result<InstallLock> {
        use std::os::unix::io::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(Error::io("opening", path))?;
        // SAFETY: flock on a file descriptor this value owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(Error::io("locking", path)(std::io::Error::last_os_error()));
        }
        Ok(InstallLock(file))
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        use std::os::unix::io::AsRawFd;
        // SAFETY: unlocking our own descriptor.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Whether `entry` is a complete cache entry for `stamp`, owned by `account`.
fn fresh(entry: &Path, stamp: &str, account: &Account) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(entry) else {
        return Ok(false);
    };
    if !meta.is_dir() || meta.uid() != account.uid {
        return Err(Error::CacheUnsafe {
            path: entry.to_path_buf(),
            reason: "not a directory owned by the server account",
        });
    }
    Ok(
        std::fs::read_to_string(entry.join("stamp")).is_ok_and(|s| s == stamp)
            && entry.join("data/PG_VERSION").is_file(),
    )
}

/// Creates `dir` (mode 0711, owned by this user) or checks that it is one.
fn ensure_private_dir(dir: &Path, euid: u32) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o711).create(dir) {
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
            .map_err(Error::io("setting the mode of", dir)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::symlink_metadata(dir).map_err(Error::io("reading", dir))?;
            if !meta.is_dir() || meta.uid() != euid || meta.mode() & 0o022 != 0 {
                return Err(Error::CacheUnsafe {
                    path: dir.to_path_buf(),
                    reason: "not a directory of this user's, closed to others' writes",
                });
            }
            Ok(())
        }
        Err(e) => Err(Error::io("creating", dir)(e)),
    }
}
