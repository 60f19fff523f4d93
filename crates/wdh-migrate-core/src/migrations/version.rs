//! Migration versions and their ordering keys.
//!
//! Each layout parses the versions of its own names and builds their
//! ordering key from [`KeyPart`]s, so a layout can order as text (Diesel),
//! as one integer (sqlx) or part by part (dotted versions).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use super::Layout;

/// One part of a version's ordering key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyPart {
    /// Compared as text.
    Text(String),
    /// Digits without leading zeros, compared as an integer (length, then
    /// text), so any length works without overflow.
    Number(String),
}

impl KeyPart {
    /// A number part from its digits; leading zeros are ignored.
    pub(crate) fn number(digits: &str) -> KeyPart {
        KeyPart::Number(digits.trim_start_matches('0').to_string())
    }
}

impl Ord for KeyPart {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            (Self::Number(a), Self::Number(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Self::Text(_), Self::Number(_)) => Ordering::Less,
            (Self::Number(_), Self::Text(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for KeyPart {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A migration version.
///
/// Equality, ordering and hashing use the ordering key of the set's layout
/// (see the [layouts](super::layout)): in the flat layout `0001` and `1` are
/// equal. [`Display`](fmt::Display) shows the normalized form.
#[derive(Debug, Clone)]
pub struct Version {
    raw: String,
    normalized: String,
    /// Compared part by part.
    key: Vec<KeyPart>,
}

impl Version {
    /// Parses a version as written in `layout`'s names, with the ordering
    /// of `layout` ([`Layout::Empty`] orders like [`Layout::Folders`]).
    /// Returns `None` if `raw` is not a version of that layout.
    pub fn parse(raw: &str, layout: Layout) -> Option<Version> {
        layout.rules().parse_version(raw)
    }

    /// A version written `raw`, recorded as `normalized` and ordered by
    /// `key`; for the layouts' version parsers.
    pub(crate) fn new(raw: &str, normalized: String, key: Vec<KeyPart>) -> Version {
        Version {
            raw: raw.to_string(),
            normalized,
            key,
        }
    }

    /// The version as written in the file or folder name, dashes included.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The version in the form the ledger records (for the folder and flat
    /// layouts: the digits without dashes).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.normalized)
    }
}
