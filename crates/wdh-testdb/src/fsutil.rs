//! Small file-system helpers: where throw-away data lives, tree copies, log tails.

use std::path::{Path, PathBuf};

use crate::account::Account;
use crate::error::{Error, Result};

/// Where cluster directories are put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A RAM file system (`/dev/shm`): fast create/delete churn.
    RamDisk(PathBuf),
    /// The system temporary directory (no RAM file system available).
    TempDir(PathBuf),
}

impl Storage {
    /// `/dev/shm` when it is a writable directory, else the temp dir.
    pub fn detect() -> Storage {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() && writable(shm) {
            Storage::RamDisk(shm.to_path_buf())
        } else {
            Storage::TempDir(std::env::temp_dir())
        }
    }

    /// The base directory.
    pub fn path(&self) -> &Path {
        match self {
            Storage::RamDisk(p) | Storage::TempDir(p) => p,
        }
    }
}

impl std::fmt::Display for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Storage::RamDisk(p) => write!(f, "RAM disk {}", p.display()),
            Storage::TempDir(p) => write!(f, "temp dir {} (no RAM disk available)", p.display()),
        }
    }
}

fn writable(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// A fresh private directory `base/prefix-<pid>-<random>`, owned by `account`, mode 0700.
pub(crate) fn fresh_dir(base: &Path, prefix: &str, account: &Account) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    loop {
        let dir = base.join(format!(
            "{prefix}-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                account.own(&dir)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("creating", dir)(e)),
        }
    }
}

/// Copies a directory tree, keeping permission bits, and gives every copy to `account`.
pub(crate) fn copy_tree(from: &Path, to: &Path, account: &Account) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(from).map_err(Error::io("reading", from))?;
    std::fs::DirBuilder::new()
        .mode(meta.permissions().mode() & 0o7777)
        .create(to)
        .map_err(Error::io("creating", to))?;
    account.own(to)?;
    for entry in std::fs::read_dir(from).map_err(Error::io("reading", from))? {
        let entry = entry.map_err(Error::io("reading", from))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(Error::io("reading", &src))?;
        if kind.is_dir() {
            copy_tree(&src, &dst, account)?;
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&src).map_err(Error::io("reading", &src))?;
            std::os::unix::fs::symlink(link, &dst).map_err(Error::io("creating", &dst))?;
        } else {
            std::fs::copy(&src, &dst).map_err(Error::io("copying to", &dst))?;
            account.own(&dst)?;
        }
    }
    Ok(())
}

/// The last `lines` lines of a text file, or a note that it could not be read.
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}
