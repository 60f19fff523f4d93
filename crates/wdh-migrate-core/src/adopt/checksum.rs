//! The checksums other tools record, computed as each tool computes them,
//! to verify that a file is the one the tool applied.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha384};
use siphasher::sip::SipHasher13;

use super::Recorded;
use crate::migrations::Migration;

/// Whether `m`'s up script is the file the tool applied, where the tool
/// recorded a checksum (`None`: it recorded none). `version` is the
/// version as the tool records it.
pub(super) fn verify(recorded: &Recorded, m: &Migration, version: &str) -> Option<bool> {
    // The tools read the file with its byte-order mark, if it had one.
    let texts = [m.up.sql.clone(), format!("\u{feff}{}", m.up.sql)];
    Some(match recorded {
        Recorded::Nothing => return None,
        Recorded::Sha384(want) => texts
            .iter()
            .any(|t| Sha384::digest(t.as_bytes()).as_slice() == want.as_slice()),
        Recorded::Crc32(want) => flyway(&m.up.sql) == *want,
        Recorded::SipHash { checksum, wide } => texts
            .iter()
            .any(|t| refinery(&m.name, version, t, *wide) == Some(*checksum)),
    })
}

/// sqlx's checksum (`sqlx-core/src/migrate/migration.rs`): SHA-384 of
/// the file's text.
pub fn sqlx(text: &str) -> Vec<u8> {
    Sha384::digest(text.as_bytes()).to_vec()
}

/// Flyway's checksum (`ChecksumCalculator`): CRC-32 over the file's lines
/// read as `BufferedReader.readLine` reads them (without their line ends,
/// a leading byte-order mark removed), as a signed 32-bit integer.
pub fn flyway(text: &str) -> i32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut crc = Crc32::default();
    for b in text.bytes().filter(|b| *b != b'\n' && *b != b'\r') {
        crc.byte(b);
    }
    crc.value() as i32
}

/// refinery's checksum (`Migration::unapplied`): SipHash-1-3 with zero
/// keys over the name (the `\w+` after `__`), the version (`i32`, or
/// `i64` with `int8-versions`) and the SQL, each hashed as Rust's `Hash`
/// hashes it. `None` when the version is not one refinery writes.
pub fn refinery(name: &str, version: &str, sql: &str, wide: bool) -> Option<u64> {
    let name: String = name
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let mut h = SipHasher13::new();
    name.hash(&mut h);
    if wide {
        version.parse::<i64>().ok()?.hash(&mut h);
    } else {
        version.parse::<i32>().ok()?.hash(&mut h);
    }
    sql.hash(&mut h);
    Some(h.finish())
}

/// CRC-32 (IEEE 802.3, as `java.util.zip.CRC32`), bit by bit.
#[derive(Debug)]
struct Crc32(u32);

impl Default for Crc32 {
    fn default() -> Self {
        Crc32(0xffff_ffff)
    }
}

impl Crc32 {
    fn byte(&mut self, b: u8) {
        self.0 ^= u32::from(b);
        for _ in 0..8 {
            let mask = (self.0 & 1).wrapping_neg();
            self.0 = (self.0 >> 1) ^ (0xedb8_8320 & mask);
        }
    }

    fn value(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_one() {
        let mut c = Crc32::default();
        b"123456789".iter().for_each(|b| c.byte(*b));
        assert_eq!(c.value(), 0xcbf4_3926);
    }

    #[test]
    fn flyways_checksum_ignores_line_ends_and_the_bom() {
        let lf = flyway("CREATE TABLE t (id int);\nSELECT 1;\n");
        assert_eq!(flyway("CREATE TABLE t (id int);\r\nSELECT 1;\r\n"), lf);
        assert_eq!(flyway("\u{feff}CREATE TABLE t (id int);\nSELECT 1;"), lf);
        assert_ne!(flyway("CREATE TABLE t (id int);\nSELECT 2;\n"), lf);
    }

    #[test]
    fn refinerys_checksum_hashes_name_version_and_sql() {
        let a = refinery("initial", "1", "CREATE TABLE t (id int);", false);
        assert_eq!(
            a,
            refinery("initial.sql", "1", "CREATE TABLE t (id int);", false)
        );
        assert_ne!(
            a,
            refinery("initial", "2", "CREATE TABLE t (id int);", false)
        );
        assert_ne!(
            a,
            refinery("initial", "1", "CREATE TABLE t (id int);", true)
        );
        assert_eq!(refinery("x", "3000000000", "", false), None);
    }
}
