//! Positions: server error positions (characters) and byte offsets mapped
//! to lines and columns.
//!
//! Lines end as libpq counts them for an error's `LINE n:` (and as the
//! server's scanner ends a `--` comment): at every `\n` and every `\r`, a
//! `\r\n` pair counting once. A file with carriage-return line ends only
//! has as many lines as an editor shows.

/// Converts a PostgreSQL error position into a line and column.
///
/// `char_position` is a 1-based *character* (not byte) position into `src`,
/// as reported in the `position` field of a server error. Returns the 1-based
/// `(line, column)`, both counted in characters; lines end at `\n`, `\r`
/// and `\r\n`. A position of 0 is treated as 1; a position past the end maps
/// to just after the last character.
pub fn line_col(src: &str, char_position: usize) -> (usize, usize) {
    let target = char_position.max(1);
    let (mut line, mut col) = (1, 1);
    let mut prev = None;
    for (idx, ch) in src.chars().enumerate() {
        if idx + 1 == target {
            return (line, col);
        }
        match ch {
            // The second half of a `\r\n`: the line already ended.
            '\n' if prev == Some('\r') => {}
            '\n' | '\r' => {
                line += 1;
                col = 1;
            }
            _ => col += 1,
        }
        prev = Some(ch);
    }
    (line, col)
}

/// The 1-based line of the character at byte offset `byte` of `src` (lines
/// end at `\n`, `\r` and `\r\n`).
pub(crate) fn line_of_byte(src: &str, byte: usize) -> usize {
    let before = &src.as_bytes()[..byte.min(src.len())];
    1 + before
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\r' || (b == b'\n' && (i == 0 || before[i - 1] != b'\r')))
        .count()
}
