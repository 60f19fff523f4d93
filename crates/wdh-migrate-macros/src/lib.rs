//! `embed_migrations!`: compiles a migration directory into the binary.
//!
//! ```ignore
//! use wdh_migrate_core::migrations::EmbeddedMigrations;
//!
//! static MIGRATIONS: EmbeddedMigrations = wdh_migrate_macros::embed_migrations!("migrations");
//!
//! let set = MIGRATIONS.load()?;
//! ```
//!
//! The path is relative to the directory of the calling crate's
//! `Cargo.toml`; without an argument it is `"migrations"`. The macro lists
//! the directory with the same walk as `MigrationSet::load`
//! (`wdh_migrate_layout::walk`: its entries, and the entries directly inside
//! the folders a layout lists, such as folders whose name starts with a
//! digit; names starting with `.` are skipped) and embeds each file a layout
//! reads with `include_bytes!`, so editing a file rebuilds the crate. Files
//! that cannot be part of a migration are listed with empty contents.
//!
//! Adding or removing a file is only seen after a rebuild. To rebuild
//! automatically, give the crate a `build.rs` containing
//! `println!("cargo:rerun-if-changed=migrations");`.
//!
//! The expansion names `::wdh_migrate_core`, so the calling crate must
//! depend on `wdh-migrate-core`.

use std::path::{Path, PathBuf};

use proc_macro::{Delimiter, TokenStream, TokenTree};

/// Embeds a migration directory; expands to a
/// `wdh_migrate_core::migrations::EmbeddedMigrations` constant expression.
///
/// Takes one string literal: the directory, relative to the calling crate's
/// `Cargo.toml` (default `"migrations"`). See the [crate documentation](crate).
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    match expand(input) {
        Ok(tokens) => tokens,
        Err(message) => format!("::core::compile_error!({message:?})")
            .parse()
            .unwrap_or_default(),
    }
}

fn expand(input: TokenStream) -> Result<TokenStream, String> {
    let rel = parse_input(input)?;
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| "embed_migrations!: CARGO_MANIFEST_DIR is not set; build with cargo")?;
    let root = Path::new(&manifest_dir).join(&rel);
    let entries = list(&root)?;
    let mut out = String::from("{ const __WDH_MIGRATION_FILES: &[(&str, &[u8])] = &[");
    for entry in &entries {
        let bytes = match &entry.include {
            Some(path) => {
                let path = path.to_str().ok_or_else(|| {
                    format!("embed_migrations!: {} is not valid UTF-8", path.display())
                })?;
                format!("::core::include_bytes!({path:?}) as &[u8]")
            }
            None => "b\"\" as &[u8]".to_string(),
        };
        out.push_str(&format!("({:?}, {bytes}),", entry.rel));
    }
    out.push_str(&format!(
        "]; ::wdh_migrate_core::migrations::EmbeddedMigrations::new(__WDH_MIGRATION_FILES)\
         .with_root({rel:?}) }}"
    ));
    out.parse()
        .map_err(|e| format!("embed_migrations!: internal expansion error: {e}"))
}

/// Reads the single optional string literal argument.
fn parse_input(input: TokenStream) -> Result<String, String> {
    let usage = "embed_migrations! takes one string literal, the migration directory \
                 relative to Cargo.toml, e.g. embed_migrations!(\"migrations\")";
    let mut tokens = Vec::new();
    flatten(input, &mut tokens);
    if matches!(tokens.last(), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
        tokens.pop();
    }
    match tokens.as_slice() {
        [] => Ok("migrations".to_string()),
        [TokenTree::Literal(lit)] => {
            parse_str_literal(&lit.to_string()).ok_or_else(|| usage.to_string())
        }
        _ => Err(usage.to_string()),
    }
}

/// Flattens invisible groups (from `macro_rules!` forwarding).
fn flatten(input: TokenStream, out: &mut Vec<TokenTree>) {
    for tree in input {
        match tree {
            TokenTree::Group(g) if g.delimiter() == Delimiter::None => flatten(g.stream(), out),
            other => out.push(other),
        }
    }
}

/// Decodes a Rust string literal (plain or raw) as written in source.
fn parse_str_literal(lit: &str) -> Option<String> {
    if let Some(rest) = lit.strip_prefix('r') {
        let hashes = rest.len() - rest.trim_start_matches('#').len();
        let closing = format!("\"{}", "#".repeat(hashes));
        let inner = rest[hashes..]
            .strip_prefix('"')?
            .strip_suffix(closing.as_str())?;
        return Some(inner.to_string());
    }
    unescape(lit.strip_prefix('"')?.strip_suffix('"')?)
}

fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            '0' => out.push('\0'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'x' => {
                let hex: String = [chars.next()?, chars.next()?].iter().collect();
                out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
            }
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let mut hex = String::new();
                loop {
                    match chars.next()? {
                        '}' => break,
                        '_' => {}
                        h => hex.push(h),
                    }
                }
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            '\n' => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// One entry of the listing: the relative path (`/` separators, trailing `/`
/// for a folder) and the file to embed, if its contents can matter.
struct Entry {
    rel: String,
    include: Option<PathBuf>,
}

/// Lists `root` the way `MigrationSet::load` does, with the walk both
/// share (`wdh_migrate_layout::walk`).
fn list(root: &Path) -> Result<Vec<Entry>, String> {
    if !root.is_dir() {
        return Err(format!(
            "embed_migrations!: migration directory {} does not exist or is not a directory",
            root.display()
        ));
    }
    let walk = wdh_migrate_layout::walk(root).map_err(|e| format!("embed_migrations!: {e}"))?;
    let mut out = Vec::new();
    for listed in walk {
        let listed = listed.map_err(|e| format!("embed_migrations!: {e}"))?;
        let rel = listed.rel.into_os_string().into_string().map_err(|_| {
            format!(
                "embed_migrations!: {} is not valid UTF-8; rename it",
                listed.path.display()
            )
        })?;
        out.push(Entry {
            rel,
            include: listed.wanted.then_some(listed.path),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn parses_string_literals() {
        assert_eq!(
            parse_str_literal(r#""migrations""#).as_deref(),
            Some("migrations")
        );
        assert_eq!(
            parse_str_literal(r#""a\\b\"c\x41\u{e9}""#).as_deref(),
            Some("a\\b\"cAé")
        );
        assert_eq!(
            parse_str_literal(r##"r"raw\path""##).as_deref(),
            Some(r"raw\path")
        );
        assert_eq!(
            parse_str_literal(r###"r#"with "quote""#"###).as_deref(),
            Some(r#"with "quote""#)
        );
        assert_eq!(parse_str_literal("b\"bytes\""), None);
        assert_eq!(parse_str_literal("42"), None);
        assert_eq!(parse_str_literal(r#""bad\q""#), None);
    }

    #[test]
    fn lists_like_the_loader() {
        let dir = std::env::temp_dir().join(format!("wdh-embed-list-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mk = |rel: &str| {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, b"x").expect("write");
        };
        mk("0001_a/up.sql");
        mk("0001_a/notes.txt");
        mk("0001_a/sub/deep.sql");
        mk("seeds/s.sql");
        mk("2_b.up.sql");
        mk("README.md");
        mk(".hidden");
        let listed: Vec<(String, bool)> = list(&dir)
            .expect("list")
            .into_iter()
            .map(|e| (e.rel, e.include.is_some()))
            .collect();
        fs::remove_dir_all(&dir).expect("cleanup");
        let want = [
            ("0001_a/", false),
            ("0001_a/notes.txt", false),
            ("0001_a/sub/", false),
            ("0001_a/up.sql", true),
            ("2_b.up.sql", true),
            ("README.md", false),
            ("seeds/", false),
        ];
        let want: Vec<(String, bool)> = want.iter().map(|(p, i)| (p.to_string(), *i)).collect();
        assert_eq!(listed, want);
    }
}
