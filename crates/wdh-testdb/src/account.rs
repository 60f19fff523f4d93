//! The account the server runs as: the current user, or an unprivileged
//! system account when the process is root (initdb and postgres refuse root),
//! and running a server program as that account.

use std::process::Command;

use crate::error::{Error, Result};

/// Who owns the data directory and runs the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Account {
    pub uid: u32,
    pub gid: u32,
    /// Whether it differs from the current process's user (so files must be chowned).
    pub switch: bool,
}

impl Account {
    pub(crate) fn for_server() -> Result<Account> {
        // SAFETY: geteuid/getegid have no preconditions.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if euid != 0 {
            return Ok(Account {
                uid: euid,
                gid: egid,
                switch: false,
            });
        }
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        ["postgres", "nobody"]
            .iter()
            .find_map(|name| lookup(&passwd, name))
            .map(|(uid, gid)| Account {
                uid,
                gid,
                switch: true,
            })
            .ok_or(Error::NoServerUser)
    }

    /// Gives `path` to this account (a no-op when no switch is needed).
    pub(crate) fn own(&self, path: &std::path::Path) -> Result<()> {
        if self.switch {
            std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
                .map_err(Error::io("giving ownership of", path))?;
        }
        Ok(())
    }
}

/// Runs `cmd` as `account`, in its own process group so that a Ctrl-C sent
/// to the terminal's foreground group does not stop it before the harness does.
pub(crate) fn as_account(cmd: &mut Command, account: &Account) {
    use std::os::unix::process::CommandExt;
    if account.switch {
        cmd.uid(account.uid).gid(account.gid);
    }
    cmd.process_group(0);
}

fn lookup(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut f = line.split(':');
        if f.next()? != name {
            return None;
        }
        let uid = f.nth(1)?.parse().ok()?;
        let gid = f.next()?.parse().ok()?;
        (uid != 0).then_some((uid, gid))
    })
}

#[cfg(test)]
mod tests {
    use super::lookup;

    #[test]
    fn parses_passwd_lines_and_never_picks_root() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104::/var/lib/postgresql:/bin/bash\n";
        assert_eq!(lookup(passwd, "postgres"), Some((101, 104)));
        assert_eq!(lookup(passwd, "root"), None);
        assert_eq!(lookup(passwd, "nobody"), None);
    }
}
