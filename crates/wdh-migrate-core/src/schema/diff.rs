//! Comparing two snapshots, entry by entry in key order.

use super::{Change, Snapshot};

/// The differences from `before` to `after`, sorted by key.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut b = before.entries.iter().peekable();
    let mut a = after.entries.iter().peekable();
    loop {
        match (b.peek(), a.peek()) {
            (None, None) => break,
            (Some((bk, bv)), Some((ak, av))) if bk == ak => {
                if bv != av {
                    changes.push(Change::Changed {
                        key: bk.to_string(),
                        before: bv.to_string(),
                        after: av.to_string(),
                    });
                }
                b.next();
                a.next();
            }
            (Some((bk, bv)), Some((ak, _))) if bk < ak => {
                changes.push(Change::Removed {
                    key: bk.to_string(),
                    before: bv.to_string(),
                });
                b.next();
            }
            (Some((bk, bv)), None) => {
                changes.push(Change::Removed {
                    key: bk.to_string(),
                    before: bv.to_string(),
                });
                b.next();
            }
            (_, Some((ak, av))) => {
                changes.push(Change::Added {
                    key: ak.to_string(),
                    after: av.to_string(),
                });
                a.next();
            }
        }
    }
    changes
}
