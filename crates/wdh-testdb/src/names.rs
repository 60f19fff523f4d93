//! Test database names: `wdh_test_<pid>_<host>_<random>`.
//!
//! The creating process's id and a tag of its host are part of the name, so a
//! sweep can tell a leftover of a killed run (its process is gone) from a
//! database another live process is using.

use crate::error::{Error, Result};

/// The prefix every test database carries.
pub const PREFIX: &str = "wdh_test_";

/// The prefix of template databases (see `template`).
pub const TEMPLATE_PREFIX: &str = "wdh_test_tpl_";

/// PostgreSQL truncates identifiers longer than this many bytes.
const MAX_NAME_BYTES: usize = 63;

/// Refuses a name that is not a test database name. Called before any statement.
pub fn check_name(name: &str) -> Result<()> {
    let refuse = |reason| {
        Err(Error::NameRefused {
            name: name.to_string(),
            reason,
        })
    };
    if !name.starts_with(PREFIX) {
        return refuse("test databases must carry the `wdh_test_` prefix");
    }
    if name.len() == PREFIX.len() {
        return refuse("the name has nothing after the `wdh_test_` prefix");
    }
    if name.len() > MAX_NAME_BYTES {
        return refuse("PostgreSQL names are at most 63 bytes");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return refuse("test database names use only a-z, 0-9 and _");
    }
    Ok(())
}

/// A fresh name for this process.
pub(crate) fn fresh_name() -> String {
    format!(
        "{PREFIX}{}_{}_{:012x}",
        std::process::id(),
        host_tag(),
        fastrand::u64(..) >> 16
    )
}

/// Who created a test database, as read back from its name.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Creator {
    pub pid: u32,
    pub host: String,
}

/// Who created the test database `name`, if its name is one
/// [`fresh_name`] makes: a valid name (see [`check_name`]) of the form
/// `wdh_test_<pid>_<host>_<random>`.
pub(crate) fn creator(name: &str) -> Option<Creator> {
    check_name(name).ok()?;
    let rest = name.strip_prefix(PREFIX)?;
    let mut parts = rest.split('_');
    let pid = parts.next()?.parse().ok()?;
    let host = parts.next()?.to_string();
    let random = parts.next()?;
    (host.len() == 8 && random.len() == 12 && parts.next().is_none())
        .then_some(Creator { pid, host })
}

/// Eight hex digits naming where process ids mean something: the machine,
/// the host name and the PID namespace. Containers that share a host name
/// but not a PID namespace get different tags, so a sweep never judges
/// another namespace's processes. (Not the boot: leftovers from before a
/// reboot must still be swept; a reused pid only makes one look alive.)
pub(crate) fn host_tag() -> String {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(compute_host_tag).clone()
}

fn compute_host_tag() -> String {
    let mut identity = String::new();
    identity.push_str(
        std::fs::read_to_string("/etc/machine-id")
            .unwrap_or_default()
            .trim(),
    );
    identity.push('\n');
    identity.push_str(
        &std::fs::read_link("/proc/self/ns/pid")
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        identity.push_str(&String::from_utf8_lossy(
            buf.split(|b| *b == 0).next().unwrap_or(&[]),
        ));
    }
    let hash = identity.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{hash:08x}")
}

/// Whether a process with this id exists on this host.
pub(crate) fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_names_pass_the_check_and_carry_their_creator() {
        let name = fresh_name();
        check_name(&name).unwrap();
        assert!(name.len() <= 63);
        assert_eq!(
            creator(&name),
            Some(Creator {
                pid: std::process::id(),
                host: host_tag()
            })
        );
    }

    #[test]
    fn names_without_the_prefix_or_too_long_are_refused() {
        for bad in [
            "business",
            "postgres",
            "wdh_test_",
            "WDH_TEST_x",
            "wdh_test_A",
            "wdh_test_x;drop",
            &format!("wdh_test_{}", "a".repeat(60)),
        ] {
            assert!(
                matches!(check_name(bad), Err(Error::NameRefused { .. })),
                "{bad}"
            );
        }
        check_name("wdh_test_ok_1").unwrap();
    }

    #[test]
    fn foreign_prefixed_names_have_no_creator() {
        assert_eq!(creator("wdh_test_tpl_abc"), None);
        assert_eq!(creator("wdh_test_123_ab_cdef"), None);
        assert_eq!(
            creator("wdh_test_123_abcd_0123456789ab"),
            None,
            "old 4-digit tags are not judged"
        );
        assert_eq!(creator("business"), None);
        assert_eq!(
            creator("wdh_test_123_abcdef12_0123456789AB"),
            None,
            "a name the check refuses has no creator"
        );
        assert_eq!(creator("wdh_test_123_abcdef12_0123456789a-"), None);
    }

    #[test]
    fn this_process_is_alive() {
        assert!(process_alive(std::process::id()));
    }
}
