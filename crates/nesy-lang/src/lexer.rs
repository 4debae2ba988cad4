//! A small scanner used only around syntax errors: it knows where strings and
//! comments begin and end, so the parser can find the end of a broken item and
//! say "unterminated string" instead of "expected `\"`".

use crate::ast::Span;
use crate::diagnostic::Diagnostic;

/// What the scanner is inside of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Code,
    LineComment,
    BlockComment(usize),
    ShortString(usize),
    LongString(usize),
}

/// Walks `source` from `start`, calling `visit(pos, byte, mode_before)` for each
/// byte in code; returns the mode at the first position >= `stop` and where it
/// began. `visit` returns `true` to stop early.
fn scan(
    source: &str,
    start: usize,
    stop: usize,
    mut visit: impl FnMut(usize, u8) -> bool,
) -> (Mode, usize) {
    let bytes = source.as_bytes();
    let mut mode = Mode::Code;
    let mut i = start;
    while i < bytes.len() && i < stop {
        let b = bytes.get(i).copied().unwrap_or(0);
        let next = bytes.get(i + 1).copied().unwrap_or(0);
        match mode {
            Mode::Code => {
                if b == b'/' && next == b'/' {
                    mode = Mode::LineComment;
                    i += 2;
                    continue;
                }
                if b == b'/' && next == b'*' {
                    mode = Mode::BlockComment(i);
                    i += 2;
                    continue;
                }
                if source.get(i..).is_some_and(|r| r.starts_with("\"\"\"")) {
                    mode = Mode::LongString(i);
                    i += 3;
                    continue;
                }
                if b == b'"' {
                    mode = Mode::ShortString(i);
                    i += 1;
                    continue;
                }
                if visit(i, b) {
                    return (Mode::Code, i);
                }
            }
            Mode::LineComment => {
                if b == b'\n' {
                    mode = Mode::Code;
                }
            }
            Mode::BlockComment(_) => {
                if b == b'*' && next == b'/' {
                    mode = Mode::Code;
                    i += 2;
                    continue;
                }
            }
            Mode::ShortString(_) => {
                if b == b'\\' {
                    i += 2;
                    continue;
                }
                if b == b'"' || b == b'\n' || b == b'\r' {
                    // A newline ends an unterminated string too, so one
                    // missing quote does not swallow the rest of the file.
                    mode = Mode::Code;
                }
            }
            Mode::LongString(_) => {
                if source.get(i..).is_some_and(|r| r.starts_with("\"\"\"")) {
                    mode = Mode::Code;
                    i += 3;
                    continue;
                }
            }
        }
        i += 1;
    }
    (mode, i)
}

/// Where parsing resumes after a syntax error at `error_at` in the item that
/// starts at `item_start`: after the item's final `.` (or the closing `}` of a
/// test block). Always a char boundary after `item_start`.
pub(crate) fn recovery_point(source: &str, item_start: usize, error_at: usize) -> usize {
    let is_test = source
        .get(item_start..)
        .is_some_and(|r| r.starts_with("@test"));
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut found = None;
    scan(source, item_start, source.len(), |i, b| {
        let next = bytes.get(i + 1).copied();
        if is_test {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 && i >= error_at {
                        found = Some(i + 1);
                        return true;
                    }
                }
                // A directive at the start of a line ends a test block left open.
                b'@' | b'?' if i > error_at && i > 0 && bytes.get(i - 1) == Some(&b'\n') => {
                    found = Some(i);
                    return true;
                }
                _ => {}
            }
            false
        } else if b == b'.'
            && i >= error_at
            && next.is_none_or(|n| n.is_ascii_whitespace() || n == b'/')
        {
            found = Some(i + 1);
            true
        } else {
            false
        }
    });
    let mut pos = found.unwrap_or(source.len()).max(item_start + 1);
    while pos < source.len() && !source.is_char_boundary(pos) {
        pos += 1;
    }
    pos.min(source.len())
}

/// If `error_at` lies in a string or comment that is never closed, the error
/// to report instead of the parser's.
pub(crate) fn unterminated(source: &str, item_start: usize, error_at: usize) -> Option<Diagnostic> {
    let (mut mode, _) = scan(source, item_start, error_at, |_, _| false);
    if mode == Mode::Code {
        // The error may sit on the opening delimiter itself.
        let rest = source.get(error_at..).unwrap_or("");
        if rest.starts_with("\"\"\"") {
            mode = Mode::LongString(error_at);
        } else if rest.starts_with('"') {
            mode = Mode::ShortString(error_at);
        } else if rest.starts_with("/*") && !rest.contains("*/") {
            mode = Mode::BlockComment(error_at);
        }
    }
    match mode {
        Mode::ShortString(start) if !string_closed_on_line(source, start) => Some(
            Diagnostic::error("unterminated-string", Span::new(start, start + 1), "unterminated string")
                .with_label("this string is never closed")
                .with_help("close it with `\"` on the same line; for text over several lines use `\"\"\"...\"\"\"`"),
        ),
        Mode::LongString(start) if !source.get(start + 3..).is_some_and(|r| r.contains("\"\"\"")) => Some(
            Diagnostic::error("unterminated-string", Span::new(start, start + 3), "unterminated string")
                .with_label("this string is never closed")
                .with_help("close it with `\"\"\"`"),
        ),
        Mode::BlockComment(start) => Some(
            Diagnostic::error("unterminated-comment", Span::new(start, start + 2), "unterminated block comment")
                .with_label("this comment is never closed")
                .with_help("close it with `*/`"),
        ),
        _ => None,
    }
}

fn string_closed_on_line(source: &str, start: usize) -> bool {
    let bytes = source.as_bytes();
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return true,
            b'\n' | b'\r' => return false,
            _ => i += 1,
        }
    }
    false
}

/// Decodes the escapes of a short string's body. On error, the byte offset
/// (within `body`) of the bad escape and a message.
pub(crate) fn unescape(body: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, '0')) => out.push('\0'),
            Some((_, 'u')) => {
                let mut hex = String::new();
                if chars.next().map(|(_, c)| c) != Some('{') {
                    return Err((i, "expected `{` after `\\u`".to_string()));
                }
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    hex.push(c);
                }
                let decoded = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| (i, format!("`\\u{{{hex}}}` is not a Unicode scalar value")))?;
                out.push(decoded);
            }
            Some((_, other)) => return Err((i, format!("unknown escape `\\{other}`"))),
            None => return Err((i, "a string cannot end with `\\`".to_string())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_resumes_after_the_items_final_dot() {
        let source = "p(X :- q(X).\nr(1).";
        // The error sits at `:-`; the next item starts after `q(X).`.
        assert_eq!(&source[recovery_point(source, 0, 4)..], "\nr(1).");
    }

    #[test]
    fn a_dot_inside_a_number_string_or_comment_does_not_end_the_item() {
        let source = "p(1.5, \"a. b\") /* c. d */ :- bad x.\nr(1).";
        let error_at = source.find("bad").unwrap();
        assert_eq!(&source[recovery_point(source, 0, error_at)..], "\nr(1).");
    }

    #[test]
    fn a_test_block_ends_at_its_closing_brace_or_the_next_directive() {
        let source = "@test \"t\" { p(1) q. }\nr(1).";
        let error_at = source.find('q').unwrap();
        assert_eq!(&source[recovery_point(source, 0, error_at)..], "\nr(1).");
        let open = "@test \"t\" { p(1) q.\n@input r.";
        let error_at = open.find('q').unwrap();
        assert_eq!(&open[recovery_point(open, 0, error_at)..], "@input r.");
    }

    #[test]
    fn recovery_always_moves_forward_to_a_char_boundary() {
        let source = "é";
        let at = recovery_point(source, 0, 0);
        assert_eq!(at, source.len());
        assert!(recovery_point("", 0, 0) <= 1);
    }

    #[test]
    fn an_unclosed_string_is_reported_where_it_opens() {
        let source = "p(\"abc).\nq(1).";
        // The parser fails at the end of the line the string swallowed.
        let d = unterminated(source, 0, source.find('\n').unwrap()).expect("unterminated");
        assert_eq!(d.code, "unterminated-string");
        assert_eq!(d.span.start, 2);
        // Closed on its line, with an escaped quote inside: fine.
        assert!(unterminated("p(\"a\\\"b\").", 0, 9).is_none());
    }

    #[test]
    fn long_strings_and_block_comments_must_close() {
        let long = "p(\"\"\"abc\n).";
        assert_eq!(
            unterminated(long, 0, 8).unwrap().code,
            "unterminated-string"
        );
        assert!(unterminated("p(\"\"\"a\nb\"\"\").", 0, 7).is_none());
        let comment = "p(1). /* never closed";
        let d = unterminated(comment, 0, 6).unwrap();
        assert_eq!(d.code, "unterminated-comment");
        assert_eq!(d.span.start, 6);
    }

    #[test]
    fn escapes_decode_and_bad_ones_say_where() {
        assert_eq!(unescape(r#"a\"b\\c\n\t\u{e9}"#).unwrap(), "a\"b\\c\n\té");
        assert_eq!(unescape(r"ab\q").unwrap_err().0, 2);
        assert!(
            unescape(r"\u{d800}")
                .unwrap_err()
                .1
                .contains("Unicode scalar")
        );
        assert!(unescape(r"\u41").unwrap_err().1.contains("expected `{`"));
        assert!(unescape("x\\").unwrap_err().1.contains("cannot end"));
    }
}
