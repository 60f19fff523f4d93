//! File names of the flat-pairs layout (sqlx, golang-migrate):
//! `<version>_<name>.up.sql` and `<version>_<name>.down.sql` side by side at
//! the top of the directory.

use crate::FileRules;

/// The ending of an up script.
pub const UP_SUFFIX: &str = ".up.sql";
/// The ending of a down script.
pub const DOWN_SUFFIX: &str = ".down.sql";

/// Which side of a migration a flat file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// An `.up.sql` file.
    Up,
    /// A `.down.sql` file.
    Down,
}

/// Splits a top-level file name into its stem (`<version>_<name>`) and side,
/// if it ends in `.up.sql` or `.down.sql`.
pub fn split(name: &str) -> Option<(&str, Side)> {
    if let Some(stem) = name.strip_suffix(UP_SUFFIX) {
        Some((stem, Side::Up))
    } else {
        name.strip_suffix(DOWN_SUFFIX)
            .map(|stem| (stem, Side::Down))
    }
}

/// The flat-pairs layout's [`FileRules`].
#[derive(Debug, Clone, Copy)]
pub struct FlatPairs;

impl FileRules for FlatPairs {
    fn lists_folder(&self, _name: &str) -> bool {
        false
    }

    fn reads(&self, parts: &[&str]) -> bool {
        matches!(parts, [name] if split(name).is_some())
    }
}
