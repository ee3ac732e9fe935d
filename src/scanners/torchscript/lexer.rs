//! Tokens and logical lines of a TorchScript source member, as the TorchScript lexer
//! (`torch/csrc/jit/frontend/lexer.h`, which follows Python's) reads them: names, string and
//! number literals, operators; comments dropped; a backslash before a newline joins lines;
//! newlines inside brackets do not end a statement; `;` ends one. Each logical line keeps the
//! indentation of its first physical line, which is how the parser finds blocks.
//!
//! Nothing here judges a name; a literal's text is decoded only as far as the analysis needs
//! (`getattr(torch, "from_file")`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Name,
    Str,
    Num,
    Op,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Tok,
    pub text: &'a str,
    /// Byte offset in the member.
    pub start: usize,
}

impl Token<'_> {
    pub fn is_op(&self, s: &str) -> bool {
        self.kind == Tok::Op && self.text == s
    }
    pub fn is_name(&self, s: &str) -> bool {
        self.kind == Tok::Name && self.text == s
    }
}

/// One statement: its tokens and the indentation (columns) of the line it starts on.
#[derive(Debug, Clone, Default)]
pub struct Line<'a> {
    pub indent: usize,
    pub toks: Vec<Token<'a>>,
    /// Follows a `;` on the same physical line (it belongs to the same block as the
    /// statement before it, which may be the inline body of a `def` or `if`).
    pub after_semicolon: bool,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Length of a string-literal prefix (`r`, `b`, `f`, `rb`, `Br` ...) at `i`, if a quote follows.
fn string_prefix(b: &[u8], i: usize) -> Option<usize> {
    let is_prefix = |c: u8| matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f');
    let mut n = 0;
    while n < 2 && b.get(i + n).copied().is_some_and(is_prefix) {
        n += 1;
    }
    matches!(b.get(i + n), Some(b'\'' | b'"')).then_some(n)
}

/// End of the string literal whose opening quote is at `q` (exclusive).
fn string_end(b: &[u8], q: usize) -> usize {
    let Some(&quote) = b.get(q) else {
        return b.len();
    };
    let triple = b.get(q + 1) == Some(&quote) && b.get(q + 2) == Some(&quote);
    let mut i = if triple { q + 3 } else { q + 1 };
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            i += 2;
            continue;
        }
        if triple {
            if c == quote && b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote) {
                return i + 3;
            }
        } else if c == quote {
            return i + 1;
        } else if c == b'\n' {
            // Unterminated single-line string: it ends with the line.
            return i;
        }
        i += 1;
    }
    b.len()
}

/// Operators of two or three characters, longest first.
const LONG_OPS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "->", "<<", ">>", "+=",
    "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":=",
];

/// The logical lines of `text`.
pub fn lines(text: &str) -> Vec<Line<'_>> {
    let b = text.as_bytes();
    let mut out: Vec<Line<'_>> = Vec::new();
    let mut cur = Line::default();
    let mut depth = 0usize;
    // Column of the first token of the current physical line, while none has been seen.
    let mut at_line_start = true;
    let mut col = 0usize;
    let mut i = 0;
    let tok = |kind, start: usize, end: usize| Token {
        kind,
        text: text.get(start..end).unwrap_or_default(),
        start,
    };
    while let Some(&c) = b.get(i) {
        // Indentation of a physical line (only matters when a new logical line starts).
        if at_line_start {
            match c {
                b' ' => {
                    col += 1;
                    i += 1;
                    continue;
                }
                b'\t' => {
                    col = (col / 8 + 1) * 8;
                    i += 1;
                    continue;
                }
                b'\x0c' | b'\r' => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        let starts_token = !matches!(c, b'#' | b'\n' | b' ' | b'\t' | b'\r' | b'\x0c' | b'\\');
        if starts_token && at_line_start {
            at_line_start = false;
            if cur.toks.is_empty() {
                cur.indent = col;
            }
        }
        match c {
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'\n' => {
                i += 1;
                at_line_start = true;
                col = 0;
                if depth == 0 && !cur.toks.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            b'\\' if matches!(b.get(i + 1), Some(b'\n')) => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b' ' | b'\t' | b'\r' | b'\x0c' => i += 1,
            b'\'' | b'"' => {
                let end = string_end(b, i);
                cur.toks.push(tok(Tok::Str, i, end));
                i = end.max(i + 1);
            }
            _ if is_name_start(c) => {
                if let Some(p) = string_prefix(b, i) {
                    let end = string_end(b, i + p);
                    cur.toks.push(tok(Tok::Str, i, end));
                    i = end.max(i + 1);
                    continue;
                }
                let start = i;
                while b.get(i).copied().is_some_and(is_name_char) {
                    i += 1;
                }
                cur.toks.push(tok(Tok::Name, start, i));
            }
            _ if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let start = i;
                while b
                    .get(i)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                {
                    // `1.e5.x` is not a number followed by an attribute in TorchScript
                    // either; the exponent sign is part of the number.
                    i += 1;
                    if matches!(b.get(i - 1), Some(b'e' | b'E'))
                        && matches!(b.get(i), Some(b'+' | b'-'))
                    {
                        i += 1;
                    }
                }
                cur.toks.push(tok(Tok::Num, start, i));
            }
            b';' if depth == 0 => {
                i += 1;
                if !cur.toks.is_empty() {
                    let indent = cur.indent;
                    out.push(std::mem::take(&mut cur));
                    cur.indent = indent;
                    cur.after_semicolon = true;
                }
            }
            _ => {
                let rest = text.get(i..).unwrap_or_default();
                let len = LONG_OPS
                    .iter()
                    .find(|op| rest.starts_with(**op))
                    .map_or(1, |op| op.len());
                // One byte, or a whole UTF-8 character for bytes no rule above took.
                let len = if len == 1 {
                    rest.chars().next().map_or(1, char::len_utf8)
                } else {
                    len
                };
                match c {
                    b'(' | b'[' | b'{' => depth = depth.saturating_add(1),
                    b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                cur.toks.push(tok(Tok::Op, i, i + len));
                i += len;
            }
        }
    }
    if !cur.toks.is_empty() {
        out.push(cur);
    }
    out
}

/// The value of a string literal token, when it is a plain literal whose escapes are all
/// understood (`None` otherwise: the analysis then treats the string as unknown).
pub fn string_value(tok: &str) -> Option<String> {
    let b = tok.as_bytes();
    let q = b.iter().position(|&c| c == b'\'' || c == b'"')?;
    let prefix = tok.get(..q)?.to_ascii_lowercase();
    if prefix.contains('f') || prefix.contains('b') {
        return None;
    }
    let raw = prefix.contains('r');
    let quote = *b.get(q)?;
    let triple = b.get(q + 1) == Some(&quote) && b.get(q + 2) == Some(&quote);
    let open = if triple { 3 } else { 1 };
    let body = tok.get(q + open..)?;
    let body = body.strip_suffix(if triple {
        if quote == b'"' { "\"\"\"" } else { "'''" }
    } else if quote == b'"' {
        "\""
    } else {
        "'"
    })?;
    if raw || !body.contains('\\') {
        return Some(body.to_string());
    }
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            '\n' => {}
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(l: &Line<'_>) -> Vec<String> {
        l.toks.iter().map(|t| t.text.to_string()).collect()
    }

    #[test]
    fn brackets_continuations_and_semicolons_shape_logical_lines() {
        let ls = lines("def f(a,\n    b):\n  x = ops.aten.\\\n  from_file(a) ; y = 1 # c\n");
        assert_eq!(ls.len(), 3);
        assert_eq!(ls[0].indent, 0);
        assert_eq!(texts(&ls[0]), ["def", "f", "(", "a", ",", "b", ")", ":"]);
        assert_eq!(ls[1].indent, 2);
        assert_eq!(
            texts(&ls[1]),
            [
                "x",
                "=",
                "ops",
                ".",
                "aten",
                ".",
                "from_file",
                "(",
                "a",
                ")"
            ]
        );
        assert_eq!(ls[2].indent, 2);
        assert_eq!(texts(&ls[2]), ["y", "=", "1"]);
    }

    #[test]
    fn operators_are_read_longest_first() {
        let ls = lines("a //= b ** -1 -> c != d");
        assert_eq!(
            texts(&ls[0]),
            ["a", "//=", "b", "**", "-", "1", "->", "c", "!=", "d"]
        );
    }

    #[test]
    fn string_values_are_decoded_only_when_plain() {
        assert_eq!(string_value("\"from_file\"").as_deref(), Some("from_file"));
        assert_eq!(string_value("'a\\'b'").as_deref(), Some("a'b"));
        assert_eq!(string_value("r'\\x41'").as_deref(), Some("\\x41"));
        assert_eq!(string_value("'''x'''").as_deref(), Some("x"));
        assert_eq!(string_value("'\\x41'"), None);
        assert_eq!(string_value("f'x'"), None);
        assert_eq!(string_value("'unterminated"), None);
    }
}
