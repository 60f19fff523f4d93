//! Positions: server error positions (characters) and byte offsets mapped
//! to lines and columns.

/// Converts a PostgreSQL error position into a line and column.
///
/// `char_position` is a 1-based *character* (not byte) position into `src`,
/// as reported in the `position` field of a server error. Returns the 1-based
/// `(line, column)`, both counted in characters; lines end at `\n`. A
/// position of 0 is treated as 1; a position past the end maps to just after
/// the last character.
pub fn line_col(src: &str, char_position: usize) -> (usize, usize) {
    let target = char_position.max(1);
    let (mut line, mut col) = (1, 1);
    for (idx, ch) in src.chars().enumerate() {
        if idx + 1 == target {
            return (line, col);
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// The 1-based line of the character at byte offset `byte` of `src`.
pub(crate) fn line_of_byte(src: &str, byte: usize) -> usize {
    let end = byte.min(src.len());
    1 + src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}
