//! Fixtures for the rules' unit tests: lint a text as an up (or down)
//! script and look for a rule at a position.

use super::walk::{self, Chain, Hit};

/// The hits of `sql` as an up (`up`) or down script, without a target
/// unless `version` is given. `-- wdh:no-transaction` in it makes it run
/// outside a transaction.
pub(super) fn hits(sql: &str, up: bool, version: Option<i32>) -> Vec<Hit> {
    let transactional = !sql.contains("-- wdh:no-transaction");
    walk::file(sql, transactional, up, version, &mut Chain::default())
}

/// Asserts that `rule` fires in the up script `sql` at `(line, column)`.
#[track_caller]
pub(super) fn fires(rule: &str, sql: &str, at: (usize, usize)) {
    assert!(super::rule(rule).is_some(), "no rule {rule}");
    let found = hits(sql, true, None);
    assert!(
        found
            .iter()
            .any(|h| h.rule.id == rule && (h.pos.line, h.pos.column) == at),
        "{rule} should fire at {at:?} in {sql:?}; found {:#?}",
        found
            .iter()
            .map(|h| (h.rule.id, h.pos.line, h.pos.column, &h.message))
            .collect::<Vec<_>>()
    );
}

/// Asserts that `rule` does not fire in the up script `sql`.
#[track_caller]
pub(super) fn quiet(rule: &str, sql: &str) {
    assert!(super::rule(rule).is_some(), "no rule {rule}");
    let found = hits(sql, true, None);
    assert!(
        found.iter().all(|h| h.rule.id != rule),
        "{rule} should not fire in {sql:?}; found {:#?}",
        found
            .iter()
            .map(|h| (h.rule.id, h.pos.line, h.pos.column, &h.message))
            .collect::<Vec<_>>()
    );
}
