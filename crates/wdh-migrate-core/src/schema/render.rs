//! Rendering changes as a unified-diff-like text, with a line-by-line diff
//! of multi-line definitions.

use std::fmt::Write as _;

use super::Change;

/// Indentation of the lines of a multi-line definition.
const INDENT: &str = "    ";

/// Unchanged lines shown around the changed lines of a multi-line
/// definition.
const CONTEXT: usize = 3;

/// A readable, unified-diff-like rendering of `changes`, one or more lines
/// per change, each line ending with a newline:
///
/// ```text
/// - column public.t.name: text
/// + column public.t.name: character varying(40) NOT NULL
/// + comment table public.t: people
/// ~ function public.greet():
///       CREATE OR REPLACE FUNCTION public.greet()
///        RETURNS text
///        LANGUAGE sql
/// -     AS $function$SELECT 'hi'$function$
/// +     AS $function$SELECT 'hello'$function$
/// + index public.t_name_idx: CREATE INDEX t_name_idx ON public.t USING btree (name)
/// - view public.names:
/// -     view
/// -      SELECT t.name
/// -        FROM public.t;
/// ```
///
/// - an added or removed object is one `+ key: definition` or
///   `- key: definition` line (just the key when the definition is empty);
///   a multi-line definition follows its `+ key:`/`- key:` line, one
///   indented line each, prefixed with the same sign;
/// - a secret that changed is one `~ key: what` line, e.g.
///   `~ role app: password changed`, never with a value;
/// - a changed object with single-line definitions is a `- key: before`
///   line then a `+ key: after` line;
/// - a changed object with a multi-line definition is a `~ key:` line
///   followed by a line-by-line diff of the definition: `-` and `+` for
///   removed and added lines, a space for unchanged ones, at most three
///   unchanged lines around each change and `...` for the rest.
pub fn render(changes: &[Change]) -> String {
    let mut out = String::new();
    for change in changes {
        match change {
            Change::Added { key, after } => render_whole(&mut out, '+', key, after),
            Change::Removed { key, before } => render_whole(&mut out, '-', key, before),
            Change::Secret { key, what } => {
                let _ = writeln!(out, "~ {key}: {what}");
            }
            Change::Changed { key, before, after } => {
                if before.contains('\n') || after.contains('\n') {
                    let _ = writeln!(out, "~ {key}:");
                    render_line_diff(&mut out, before, after);
                } else {
                    render_whole(&mut out, '-', key, before);
                    render_whole(&mut out, '+', key, after);
                }
            }
        }
    }
    out
}

fn render_whole(out: &mut String, sign: char, key: &str, def: &str) {
    if def.is_empty() {
        let _ = writeln!(out, "{sign} {key}");
    } else if !def.contains('\n') {
        let _ = writeln!(out, "{sign} {key}: {def}");
    } else {
        let _ = writeln!(out, "{sign} {key}:");
        for line in def.lines() {
            detail(out, sign, line);
        }
    }
}

fn detail(out: &mut String, sign: char, line: &str) {
    let _ = writeln!(out, "{sign} {INDENT}{line}");
}

/// One line of a line-by-line diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op<'a> {
    Same(&'a str),
    Del(&'a str),
    Ins(&'a str),
}

impl Op<'_> {
    fn is_change(&self) -> bool {
        !matches!(self, Op::Same(_))
    }
}

fn render_line_diff(out: &mut String, before: &str, after: &str) {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let ops = line_diff(&a, &b);
    // Show every change and up to CONTEXT unchanged lines on either side.
    let mut shown = vec![false; ops.len()];
    for (i, op) in ops.iter().enumerate() {
        if op.is_change() {
            let from = i.saturating_sub(CONTEXT);
            let to = (i + CONTEXT).min(ops.len() - 1);
            for s in &mut shown[from..=to] {
                *s = true;
            }
        }
    }
    let mut skipping = false;
    for (op, show) in ops.iter().zip(shown) {
        if !show {
            if !skipping {
                let _ = writeln!(out, "  {INDENT}...");
                skipping = true;
            }
            continue;
        }
        skipping = false;
        match op {
            Op::Same(l) => detail(out, ' ', l),
            Op::Del(l) => detail(out, '-', l),
            Op::Ins(l) => detail(out, '+', l),
        }
    }
}

/// Above this many cells, the longest-common-subsequence table is not
/// built: the differing middle is shown as all removed, then all added.
const MAX_DIFF_CELLS: usize = 4_000_000;

/// A shortest line-by-line edit from `a` to `b` (longest common
/// subsequence), removals before additions within each changed run.
pub(super) fn line_diff<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<Op<'a>> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops: Vec<Op<'a>> = a[..prefix].iter().map(|l| Op::Same(l)).collect();
    let (n, m) = (am.len(), bm.len());
    if n.saturating_mul(m) > MAX_DIFF_CELLS {
        ops.extend(am.iter().map(|l| Op::Del(l)));
        ops.extend(bm.iter().map(|l| Op::Ins(l)));
    } else {
        // lcs[i * (m + 1) + j]: length of the LCS of am[i..] and bm[j..].
        let w = m + 1;
        let mut lcs = vec![0u32; (n + 1) * w];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * w + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && am[i] == bm[j] {
                ops.push(Op::Same(am[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                ops.push(Op::Del(am[i]));
                i += 1;
            } else {
                ops.push(Op::Ins(bm[j]));
                j += 1;
            }
        }
    }
    ops.extend(a[a.len() - suffix..].iter().map(|l| Op::Same(l)));
    ops
}
