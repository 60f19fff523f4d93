//! One deterministic order for the revision graph.
//!
//! Every revision comes after its down revisions and its `depends_on`.
//! Heads (revisions nothing builds on) are taken in order of revision id;
//! from each, the graph is walked depth-first: a revision's down revisions
//! first, in the order its `down_revision` lists them, then its
//! `depends_on`, then the revision itself. So each branch of a merge is
//! placed whole, in the order the merge names them, before the merge.

use std::collections::HashMap;

use super::history::Revision;

/// The revisions' indices in the order they apply.
pub fn order(revisions: &[Revision]) -> Result<Vec<usize>, String> {
    let index: HashMap<&str, usize> = revisions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let mut has_child = vec![false; revisions.len()];
    for r in revisions {
        for p in r.parents.iter().chain(&r.depends_on) {
            let Some(&i) = index.get(p.as_str()) else {
                return Err(format!(
                    "revision {} names {p}, which is not among the revisions alembic lists",
                    r.id
                ));
            };
            has_child[i] = true;
        }
    }
    let mut heads: Vec<usize> = (0..revisions.len()).filter(|&i| !has_child[i]).collect();
    heads.sort_by(|&a, &b| revisions[a].id.cmp(&revisions[b].id));
    let mut state = vec![Mark::New; revisions.len()];
    let mut out = Vec::with_capacity(revisions.len());
    for head in heads {
        visit(head, revisions, &index, &mut state, &mut out)?;
    }
    if out.len() != revisions.len() {
        // Only a cycle leaves revisions unreached from every head.
        let stuck: Vec<&str> = (0..revisions.len())
            .filter(|&i| state[i] == Mark::New)
            .map(|i| revisions[i].id.as_str())
            .collect();
        return Err(format!("the revisions {} form a cycle", stuck.join(", ")));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    Visiting,
    Done,
}

fn visit(
    i: usize,
    revisions: &[Revision],
    index: &HashMap<&str, usize>,
    state: &mut [Mark],
    out: &mut Vec<usize>,
) -> Result<(), String> {
    match state[i] {
        Mark::Done => return Ok(()),
        Mark::Visiting => {
            return Err(format!(
                "the revision graph has a cycle through {}",
                revisions[i].id
            ))
        }
        Mark::New => {}
    }
    state[i] = Mark::Visiting;
    let r = &revisions[i];
    for p in r.parents.iter().chain(&r.depends_on) {
        // Every name was checked to be known.
        if let Some(&j) = index.get(p.as_str()) {
            visit(j, revisions, index, state, out)?;
        }
    }
    state[i] = Mark::Done;
    out.push(i);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str, parents: &[&str], depends_on: &[&str]) -> Revision {
        Revision {
            id: id.into(),
            parents: parents.iter().map(|s| s.to_string()).collect(),
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            message: String::new(),
            path: None,
        }
    }

    fn ids(revisions: &[Revision]) -> Vec<&str> {
        order(revisions)
            .unwrap()
            .into_iter()
            .map(|i| revisions[i].id.as_str())
            .collect()
    }

    #[test]
    fn branches_are_placed_whole_in_the_order_the_merge_names_them() {
        // a → (b1 → b2) and (c1) → m(c1, b2) → n
        let revs = [
            rev("n", &["m"], &[]),
            rev("m", &["c1", "b2"], &[]),
            rev("b2", &["b1"], &[]),
            rev("c1", &["a"], &[]),
            rev("b1", &["a"], &[]),
            rev("a", &[], &[]),
        ];
        assert_eq!(ids(&revs), ["a", "c1", "b1", "b2", "m", "n"]);
        // The listing's order does not matter.
        let mut reversed = revs.to_vec();
        reversed.reverse();
        assert_eq!(ids(&reversed), ids(&revs));
    }

    #[test]
    fn several_heads_by_revision_id_and_dependencies_first() {
        let revs = [
            rev("z_head", &["a"], &[]),
            rev("b_head", &["a"], &["x"]),
            rev("x", &[], &[]),
            rev("a", &[], &[]),
        ];
        assert_eq!(ids(&revs), ["a", "x", "b_head", "z_head"]);
    }

    #[test]
    fn unknown_parents_and_cycles_are_errors() {
        assert!(order(&[rev("a", &["nowhere"], &[])])
            .unwrap_err()
            .contains("names nowhere"));
        let cycle = order(&[rev("a", &["b"], &[]), rev("b", &["a"], &[])]).unwrap_err();
        assert!(cycle.contains("cycle"), "{cycle}");
        let behind_a_head = order(&[
            rev("h", &["a"], &[]),
            rev("a", &["b"], &[]),
            rev("b", &["a"], &[]),
        ])
        .unwrap_err();
        assert!(behind_a_head.contains("cycle"), "{behind_a_head}");
    }
}
