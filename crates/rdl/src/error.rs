//! Where things are in an RDL file, and what went wrong there.
//!
//! Owns: [`Location`] (line and column of an element or expression), [`ParseError`] (a located
//! refusal naming the problem and its fix), [`Warning`] (a located note that did not stop the
//! parse), and the byte-offset → line/column index the parser and the upload check share.
//!
//! Must not: format messages for a particular front end (HTML, logs): callers decide that.

use std::fmt;

/// A position in the source document: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Location {
    /// 1-based line number (0 when unknown).
    pub line: u32,
    /// 1-based column, counted in characters (0 when unknown).
    pub column: u32,
}

impl Location {
    /// A location from its line and column.
    pub const fn new(line: u32, column: u32) -> Self {
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A report definition that cannot be used, with where, what and how to fix it.
///
/// `path` names the element like `Report/DataSets/DataSet[@Name=Sales]/Fields`, so a user
/// can find it even when the file was reformatted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Where the offending element or text starts.
    pub at: Location,
    /// The element path from the root, with `[@Name=...]` on named elements.
    pub path: String,
    /// What is wrong.
    pub problem: String,
    /// What to change so the definition is accepted.
    pub fix: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.at)?;
        if !self.path.is_empty() {
            write!(f, ", at {}", self.path)?;
        }
        write!(f, ": {}", self.problem)?;
        if !self.fix.is_empty() {
            write!(f, ". Fix: {}", self.fix)?;
        }
        Ok(())
    }
}

/// Something in a definition that was ignored or approximated; the report still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where the element starts.
    pub at: Location,
    /// The element path from the root.
    pub path: String,
    /// What was ignored and why.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, at {}: {}", self.at, self.path, self.message)
    }
}

/// Byte offset → [`Location`] in bounded time: a checkpoint (line, column) every
/// [`Positions::STEP`] bytes, then a scan of at most that many bytes. Linear to build,
/// `len / STEP` entries, so a minified one-line file with many items stays linear overall.
pub(crate) struct Positions<'a> {
    text: &'a [u8],
    checkpoints: Vec<(u32, u32)>,
}

impl<'a> Positions<'a> {
    const STEP: usize = 512;

    pub(crate) fn new(text: &'a [u8]) -> Self {
        let mut checkpoints = Vec::with_capacity(text.len() / Self::STEP + 1);
        let (mut line, mut col) = (1u32, 1u32);
        for (i, &b) in text.iter().enumerate() {
            if i % Self::STEP == 0 {
                checkpoints.push((line, col));
            }
            advance(&mut line, &mut col, b);
        }
        Positions { text, checkpoints }
    }

    /// The location of byte `offset` (clamped to the text).
    pub(crate) fn at(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let k = offset / Self::STEP;
        let Some(&(mut line, mut col)) = self.checkpoints.get(k) else {
            // Only for offset == len on a length that is a multiple of STEP (or empty text).
            let (mut line, mut col) = self.checkpoints.last().copied().unwrap_or((1, 1));
            let start = self.checkpoints.len().saturating_sub(1) * Self::STEP;
            for &b in &self.text[start.min(offset)..offset] {
                advance(&mut line, &mut col, b);
            }
            return Location::new(line, col);
        };
        for &b in &self.text[k * Self::STEP..offset] {
            advance(&mut line, &mut col, b);
        }
        Location::new(line, col)
    }
}

fn advance(line: &mut u32, col: &mut u32, b: u8) {
    if b == b'\n' {
        *line = line.saturating_add(1);
        *col = 1;
    } else if b & 0xC0 != 0x80 {
        // Count characters, not bytes: UTF-8 continuation bytes do not move the column.
        *col = col.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_match_a_naive_count() {
        let mut text = String::new();
        for i in 0..3000 {
            text.push_str(&"é".repeat(i % 7));
            text.push(if i % 5 == 0 { '\n' } else { 'x' });
        }
        let p = Positions::new(text.as_bytes());
        let (mut line, mut col) = (1, 1);
        for (i, c) in text.char_indices() {
            assert_eq!(p.at(i), Location::new(line, col), "offset {i}");
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        assert_eq!(p.at(text.len()), Location::new(line, col));
        assert_eq!(Positions::new(b"").at(0), Location::new(1, 1));
        assert_eq!(Positions::new(&[b'a'; 512]).at(512), Location::new(1, 513));
    }
}
