//! Name rules several layouts share: `<version>_<name>`, with a version of
//! digits and dashes that starts with a digit.

use std::path::Path;

use wdh_migrate_layout::looks_versioned;

use super::Rules;
use crate::migrations::{LoadError, Version};

/// The digits of a version written as digits and dashes starting with a
/// digit (`2017-01-20-174200` gives `20170120174200`), or `None`.
pub(super) fn digits_and_dashes(raw: &str) -> Option<String> {
    if !raw.starts_with(|c: char| c.is_ascii_digit())
        || !raw.chars().all(|c| c.is_ascii_digit() || c == '-')
    {
        return None;
    }
    Some(raw.chars().filter(char::is_ascii_digit).collect())
}

/// Splits `<version>_<name>` into its version and name, or describes what is
/// wrong with it.
pub(super) fn split_version(stem: &str) -> Result<(&str, &str), String> {
    if !looks_versioned(stem) {
        return Err("does not start with a version".to_string());
    }
    let end = stem
        .find(|c: char| !(c.is_ascii_digit() || c == '-'))
        .unwrap_or(stem.len());
    let (version, rest) = stem.split_at(end);
    match rest.strip_prefix('_') {
        Some("") => Err(format!("has no name after `{version}_`")),
        Some(name) => Ok((version, name)),
        None => match rest.chars().next() {
            None => Err(format!("has no `_<name>` after the version `{version}`")),
            Some(c) => Err(format!(
                "its version `{version}` is followed by `{c}` instead of `_`"
            )),
        },
    }
}

/// Parses `raw` with `rules`, or names `path` as malformed, with the
/// expected `form`.
pub(super) fn version(
    rules: &dyn Rules,
    raw: &str,
    path: &Path,
    form: &str,
) -> Result<Version, LoadError> {
    rules
        .parse_version(raw)
        .ok_or_else(|| LoadError::MalformedName {
            path: path.to_path_buf(),
            problem: format!("`{raw}` is not a version; {form}"),
        })
}
