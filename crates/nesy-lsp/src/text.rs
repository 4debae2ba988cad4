//! Byte offsets of a text and the protocol's positions (lines and UTF-16
//! code units); `file:` URIs and paths.

use lsp_types::{Position, Range, Uri};
use std::path::{Path, PathBuf};

/// Where a text's lines start, so that a position costs a binary search
/// and a walk along one line, not a walk from the start of the text.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    /// The position of byte `offset` of `text` (clamped to the text).
    pub(crate) fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let column: usize = text
            .get(start..offset)
            .unwrap_or_default()
            .chars()
            .map(char::len_utf16)
            .sum();
        Position::new(line as u32, column as u32)
    }

    /// The range of bytes `start..end` of `text`.
    pub(crate) fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end))
    }

    /// The byte offset of `position` in `text` (a column past the line's
    /// end is its end; a line past the text's end is the text's end).
    pub(crate) fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return text.len();
        };
        let line = text.get(start..).unwrap_or_default();
        let line = line.split('\n').next().unwrap_or_default();
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= position.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + line.len()
    }
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The file a `file:` URI names (percent-escapes decoded).
pub(crate) fn uri_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let mut bytes = Vec::with_capacity(rest.len());
    let mut iter = rest.bytes();
    while let Some(b) = iter.next() {
        if b == b'%' {
            let hex: Vec<u8> = iter.by_ref().take(2).collect();
            let value = std::str::from_utf8(&hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())?;
            bytes.push(value);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok().map(PathBuf::from)
}

/// The `file:` URI of an absolute path.
pub(crate) fn path_uri(path: &Path) -> Option<Uri> {
    let mut text = String::from("file://");
    for b in path.to_str()?.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            text.push(char::from(b));
        } else {
            text.push_str(&format!("%{b:02X}"));
        }
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units_and_round_trip() {
        let text = "a(\"é𝄞\", x).\nb(1).";
        let index = LineIndex::new(text);
        let position = |at| index.position(text, at);
        let offset = |p| index.offset(text, p);
        let at = text.find("x").unwrap();
        let p = position(at);
        // é is one unit, 𝄞 two.
        assert_eq!(p, Position::new(0, 9));
        assert_eq!(offset(p), at);
        assert_eq!(offset(Position::new(1, 2)), text.find("1").unwrap());
        assert_eq!(offset(Position::new(7, 0)), text.len());
        assert_eq!(offset(Position::new(0, 99)), text.find('\n').unwrap());
    }

    #[test]
    fn file_uris_and_paths() {
        let uri = path_uri(Path::new("/tmp/a b/r.nesy")).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/r.nesy");
        assert_eq!(uri_path(&uri).unwrap(), PathBuf::from("/tmp/a b/r.nesy"));
    }
}
