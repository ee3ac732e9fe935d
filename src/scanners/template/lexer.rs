//! Jinja2 lexer: splits a template into text, `{{ }}`, `{% %}` and `{# #}` parts and tokenizes
//! the expressions inside tags. It mirrors `jinja2/lexer.py` (Jinja 3.1) with the default
//! delimiters: whitespace control (`{%-`, `-%}`, `{{-`, `+%}`), `{% raw %}` blocks, tag ends
//! that are only recognised while brackets are balanced, Python-style string escapes
//! (`unicode-escape`: `\xNN`, `\uNNNN`, `\UNNNNNNNN`, `\N{NAME}`, octal), `_` in numbers and
//! `0b`/`0o`/`0x` integers. Line statements are off by default in Jinja and in every loader of
//! chat templates, so they are not recognised. Building the syntax tree is `parser.rs`' job.

use super::strings::decode_py_escapes;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Template text outside tags.
    Data(String),
    VarBegin,
    VarEnd,
    BlockBegin,
    BlockEnd,
    Name(String),
    /// A string literal after escape decoding. `exact` is false when an escape could not be
    /// decoded (an unknown `\N{...}` name): the value is then only approximate.
    Str {
        value: String,
        exact: bool,
    },
    /// Integer literal (`None` when it does not fit in an i64).
    Int(Option<i64>),
    Float(f64),
    Op(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte offset of the token in the template.
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: usize,
    pub message: String,
    /// The template is not wrong but nests deeper than the configured limit
    /// (`max_nesting_depth`).
    pub depth_limit: bool,
}

impl SyntaxError {
    pub fn new(pos: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            pos,
            message: message.into(),
            depth_limit: false,
        }
    }
}

/// Operators, longest first (Jinja's `operators` table sorted the same way).
const OPERATORS: &[&str] = &[
    "**", "//", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}",
    ">", "<", "=", ".", ":", "|", ",", ";",
];

#[derive(Clone, Copy, PartialEq)]
enum TagKind {
    Block,
    Variable,
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    out: Vec<Token>,
    /// A `-%}`/`-}}`/`-#}` asked for the leading whitespace of the next text to be removed.
    strip_next: bool,
}

/// Tokenizes a whole template.
pub fn lex(src: &str) -> Result<Vec<Token>, SyntaxError> {
    // Jinja drops one trailing newline before lexing (`keep_trailing_newline` is off by
    // default), which decides whether a delimiter ends the template.
    let src = src
        .strip_suffix("\r\n")
        .or_else(|| src.strip_suffix('\n'))
        .or_else(|| src.strip_suffix('\r'))
        .unwrap_or(src);
    let mut lx = Lexer {
        src,
        bytes: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
        strip_next: false,
    };
    lx.run()?;
    Ok(lx.out)
}

impl Lexer<'_> {
    fn byte(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn run(&mut self) -> Result<(), SyntaxError> {
        while self.pos < self.bytes.len() {
            // The earliest `{{`, `{%` or `{#` ends the text (Jinja's root regex is lazy).
            let start = self.pos;
            let mut tag_at = None;
            let mut i = start;
            while let Some(off) = self.src.get(i..).and_then(|s| s.find('{')) {
                let at = i + off;
                if matches!(self.byte(at + 1), Some(b'{') | Some(b'%') | Some(b'#')) {
                    tag_at = Some(at);
                    break;
                }
                i = at + 1;
            }
            let end = tag_at.unwrap_or(self.bytes.len());
            let mut text = self.src.get(start..end).unwrap_or("");
            // `{%-`, `{{-`, `{#-` strip the whitespace before the tag.
            if tag_at.is_some() && self.byte(end + 2) == Some(b'-') {
                text = text.trim_end();
            }
            self.push_data(start, text);
            let Some(at) = tag_at else {
                self.pos = self.bytes.len();
                break;
            };
            self.pos = at;
            match self.byte(at + 1) {
                Some(b'#') => self.comment()?,
                Some(b'%') => {
                    if !self.raw_block()? {
                        self.tag(TagKind::Block)?;
                    }
                }
                _ => self.tag(TagKind::Variable)?,
            }
        }
        Ok(())
    }

    fn push_data(&mut self, pos: usize, text: &str) {
        let text = if self.strip_next {
            text.trim_start()
        } else {
            text
        };
        self.strip_next = false;
        if !text.is_empty() {
            self.out.push(Token {
                tok: Tok::Data(text.to_string()),
                pos,
            });
        }
    }

    fn comment(&mut self) -> Result<(), SyntaxError> {
        let begin = self.pos;
        let mut body_start = begin + 2;
        if self.byte(body_start) == Some(b'-') {
            body_start += 1;
        }
        // Jinja stops lexing when a delimiter ends the template, without an error.
        if body_start >= self.bytes.len() {
            self.pos = self.bytes.len();
            return Ok(());
        }
        let body_start = begin + 2;
        match self.src.get(body_start..).and_then(|s| s.find("#}")) {
            Some(off) => {
                let end = body_start + off;
                self.strip_next = end > body_start && self.byte(end - 1) == Some(b'-');
                self.pos = end + 2;
                Ok(())
            }
            None => Err(SyntaxError::new(begin, "Missing end of comment tag")),
        }
    }

    /// `{% raw %}...{% endraw %}`: the content is text, whatever it contains.
    fn raw_block(&mut self) -> Result<bool, SyntaxError> {
        let begin = self.pos;
        // The opening tag cannot end with `+%}` (jinja2.lexer `root_raw_re`).
        let Some(after) = match_keyword_tag(self.src, begin, "raw", false) else {
            return Ok(false);
        };
        let strip_inner_start = self.src.get(..after).is_some_and(|s| s.ends_with("-%}"));
        let rest_is_blank = self
            .src
            .get(after..)
            .is_some_and(|r| r.is_empty() || (strip_inner_start && r.trim_start().is_empty()));
        if rest_is_blank {
            // Jinja stops lexing when a delimiter (with the whitespace `-%}` swallows) ends
            // the template, without an error.
            self.pos = self.bytes.len();
            return Ok(true);
        }
        let mut search = after;
        loop {
            let Some(off) = self.src.get(search..).and_then(|s| s.find("{%")) else {
                return Err(SyntaxError::new(begin, "Missing end of raw directive"));
            };
            let at = search + off;
            if let Some(end) = match_keyword_tag(self.src, at, "endraw", true) {
                let mut text = self.src.get(after..at).unwrap_or("");
                if strip_inner_start {
                    text = text.trim_start();
                }
                if self.byte(at + 2) == Some(b'-') {
                    text = text.trim_end();
                }
                self.strip_next = false;
                if !text.is_empty() {
                    self.out.push(Token {
                        tok: Tok::Data(text.to_string()),
                        pos: after,
                    });
                }
                self.strip_next = self.src.get(..end).is_some_and(|s| s.ends_with("-%}"));
                self.pos = end;
                return Ok(true);
            }
            search = at + 2;
        }
    }

    fn tag(&mut self, kind: TagKind) -> Result<(), SyntaxError> {
        let begin = self.pos;
        self.out.push(Token {
            tok: if kind == TagKind::Block {
                Tok::BlockBegin
            } else {
                Tok::VarBegin
            },
            pos: begin,
        });
        self.pos = begin + 2;
        if matches!(self.byte(self.pos), Some(b'-') | Some(b'+')) {
            self.pos += 1;
        }
        let mut balance: Vec<u8> = Vec::new();
        loop {
            if self.pos >= self.bytes.len() {
                return Err(SyntaxError::new(
                    begin,
                    "unexpected end of template, the tag is not closed",
                ));
            }
            // The end of the tag only counts outside brackets (jinja2.lexer `balancing_stack`).
            if balance.is_empty() {
                if let Some(len) = self.tag_end(kind) {
                    let strip = self.byte(self.pos) == Some(b'-');
                    self.out.push(Token {
                        tok: if kind == TagKind::Block {
                            Tok::BlockEnd
                        } else {
                            Tok::VarEnd
                        },
                        pos: self.pos,
                    });
                    self.pos += len;
                    self.strip_next = strip;
                    return Ok(());
                }
            }
            let c = self.byte(self.pos).unwrap_or(0);
            if c.is_ascii_whitespace() {
                self.pos += 1;
                continue;
            }
            let start = self.pos;
            if let Some((tok, len)) = self.number() {
                self.out.push(Token { tok, pos: start });
                self.pos += len;
                continue;
            }
            if let Some(len) = self.name_len() {
                let name = self.src.get(start..start + len).unwrap_or("").to_string();
                self.out.push(Token {
                    tok: Tok::Name(name),
                    pos: start,
                });
                self.pos += len;
                continue;
            }
            if c == b'\'' || c == b'"' {
                let len = self.string_len(c).ok_or_else(|| {
                    SyntaxError::new(start, format!("unexpected char {:?}", c as char))
                })?;
                let inner = self.src.get(start + 1..start + len - 1).unwrap_or("");
                let (value, exact) = decode_py_escapes(&inner.replace("\r\n", "\n"));
                self.out.push(Token {
                    tok: Tok::Str { value, exact },
                    pos: start,
                });
                self.pos += len;
                continue;
            }
            let Some(op) = OPERATORS.iter().find(|op| self.rest().starts_with(**op)) else {
                let ch = self.rest().chars().next().unwrap_or('?');
                return Err(SyntaxError::new(start, format!("unexpected char {ch:?}")));
            };
            match *op {
                "(" | "[" | "{" => balance.push(op.as_bytes().first().copied().unwrap_or(0)),
                ")" | "]" | "}" => {
                    let want = match *op {
                        ")" => b'(',
                        "]" => b'[',
                        _ => b'{',
                    };
                    if balance.pop() != Some(want) {
                        return Err(SyntaxError::new(start, format!("unexpected '{op}'")));
                    }
                }
                _ => {}
            }
            self.out.push(Token {
                tok: Tok::Op(op),
                pos: start,
            });
            self.pos += op.len();
        }
    }

    /// Length of the tag end at the current position, if there is one.
    fn tag_end(&self, kind: TagKind) -> Option<usize> {
        let rest = self.rest();
        let end = if kind == TagKind::Block { "%}" } else { "}}" };
        if rest.starts_with(end) {
            return Some(2);
        }
        if rest.starts_with('-') && rest.get(1..).is_some_and(|r| r.starts_with(end)) {
            return Some(3);
        }
        if kind == TagKind::Block
            && rest.starts_with('+')
            && rest.get(1..).is_some_and(|r| r.starts_with(end))
        {
            return Some(3);
        }
        None
    }

    fn name_len(&self) -> Option<usize> {
        let mut chars = self.rest().char_indices();
        let (_, first) = chars.next()?;
        if !(first == '_' || first.is_alphabetic()) {
            return None;
        }
        let mut len = first.len_utf8();
        for (i, c) in chars {
            if c == '_' || c.is_alphanumeric() {
                len = i + c.len_utf8();
            } else {
                break;
            }
        }
        Some(len)
    }

    /// Length of a string literal starting with `quote` (a backslash escapes any character).
    fn string_len(&self, quote: u8) -> Option<usize> {
        let mut i = self.pos + 1;
        loop {
            match self.byte(i)? {
                b'\\' => i += 2,
                c if c == quote => return Some(i + 1 - self.pos),
                _ => i += 1,
            }
        }
    }

    /// A float or integer literal (Jinja tries its float regex first).
    fn number(&self) -> Option<(Tok, usize)> {
        let b = self.bytes;
        let start = self.pos;
        if !b.get(start)?.is_ascii_digit() {
            return None;
        }
        // `(?<!\.)`: a number right after a dot is an integer subscript (`x.0.1`).
        let after_dot = start > 0 && b.get(start - 1) == Some(&b'.');
        let digits = |mut i: usize| -> usize {
            // (\d+_)*\d+
            while let Some(c) = b.get(i) {
                if c.is_ascii_digit()
                    || (*c == b'_' && b.get(i + 1).is_some_and(|n| n.is_ascii_digit()) && i > start)
                {
                    i += 1;
                } else {
                    break;
                }
            }
            i
        };
        if !after_dot {
            let int_end = digits(start);
            let mut end = int_end;
            let mut is_float = false;
            if b.get(end) == Some(&b'.') && b.get(end + 1).is_some_and(|c| c.is_ascii_digit()) {
                end = digits(end + 1);
                is_float = true;
            }
            if matches!(b.get(end), Some(b'e') | Some(b'E')) {
                let mut j = end + 1;
                if matches!(b.get(j), Some(b'+') | Some(b'-')) {
                    j += 1;
                }
                if b.get(j).is_some_and(|c| c.is_ascii_digit()) {
                    end = digits(j);
                    is_float = true;
                }
            }
            if is_float {
                let text: String = self
                    .src
                    .get(start..end)
                    .unwrap_or("0")
                    .chars()
                    .filter(|c| *c != '_')
                    .collect();
                return Some((Tok::Float(text.parse().unwrap_or(0.0)), end - start));
            }
        }
        // Integers: 0b.., 0o.., 0x.., [1-9](_?\d)*, 0(_?0)*
        let lower = |i: usize| b.get(i).map(|c| c.to_ascii_lowercase());
        let (radix, body_start) = match (b.get(start), lower(start + 1)) {
            (Some(b'0'), Some(b'b')) => (2, start + 2),
            (Some(b'0'), Some(b'o')) => (8, start + 2),
            (Some(b'0'), Some(b'x')) => (16, start + 2),
            _ => (10, start),
        };
        let mut end = body_start;
        let mut value: Option<i64> = Some(0);
        let mut any = false;
        if radix == 10 && b.get(start) == Some(&b'0') {
            // 0(_?0)*
            end = start + 1;
            any = true;
            while b.get(end) == Some(&b'0')
                || (b.get(end) == Some(&b'_') && b.get(end + 1) == Some(&b'0'))
            {
                end += 1;
            }
        } else {
            while let Some(&c) = b.get(end) {
                if c == b'_' && any && b.get(end + 1).is_some_and(|n| (*n as char).is_digit(radix))
                {
                    end += 1;
                    continue;
                }
                match (c as char).to_digit(radix) {
                    Some(d) => {
                        value = value
                            .and_then(|v| v.checked_mul(i64::from(radix)))
                            .and_then(|v| v.checked_add(i64::from(d)));
                        any = true;
                        end += 1;
                    }
                    None => break,
                }
            }
        }
        if !any {
            // "0x" without digits: the integer is just "0".
            return Some((Tok::Int(Some(0)), 1));
        }
        Some((Tok::Int(value), end - start))
    }
}

/// Matches `{%[-+]?\s*KEYWORD\s*(-|+)?%}` at `at` (`+%}` only if `plus_close`); returns the
/// offset after it.
fn match_keyword_tag(src: &str, at: usize, keyword: &str, plus_close: bool) -> Option<usize> {
    let s = src.get(at..)?;
    let mut rest = s.strip_prefix("{%")?;
    rest = rest
        .strip_prefix('-')
        .or_else(|| rest.strip_prefix('+'))
        .unwrap_or(rest);
    rest = rest.trim_start();
    rest = rest.strip_prefix(keyword)?;
    // The keyword must end here (`{% rawx %}` is another tag).
    if rest
        .chars()
        .next()
        .is_some_and(|c| c == '_' || c.is_alphanumeric())
    {
        return None;
    }
    rest = rest.trim_start();
    rest = match rest.strip_prefix('-') {
        Some(r) => r,
        None if plus_close => rest.strip_prefix('+').unwrap_or(rest),
        None => rest,
    };
    rest = rest.strip_prefix("%}")?;
    Some(src.len() - rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn text_variables_and_blocks_are_split() {
        assert_eq!(
            toks("a{{ x }}b{% if y %}c{% endif %}"),
            vec![
                Tok::Data("a".into()),
                Tok::VarBegin,
                Tok::Name("x".into()),
                Tok::VarEnd,
                Tok::Data("b".into()),
                Tok::BlockBegin,
                Tok::Name("if".into()),
                Tok::Name("y".into()),
                Tok::BlockEnd,
                Tok::Data("c".into()),
                Tok::BlockBegin,
                Tok::Name("endif".into()),
                Tok::BlockEnd,
            ]
        );
    }

    #[test]
    fn whitespace_control_strips_neighbouring_text() {
        assert_eq!(
            toks("a  {%- x -%}  b"),
            vec![
                Tok::Data("a".into()),
                Tok::BlockBegin,
                Tok::Name("x".into()),
                Tok::BlockEnd,
                Tok::Data("b".into()),
            ]
        );
    }

    #[test]
    fn tag_end_inside_brackets_is_an_operator() {
        let t = toks("{{ {'a': {'b': 1}} }}");
        assert_eq!(t.last(), Some(&Tok::VarEnd));
        assert_eq!(t.iter().filter(|t| **t == Tok::Op("}")).count(), 2);
    }

    #[test]
    fn tag_end_inside_a_string_is_part_of_the_string() {
        let t = toks("{{ '%}' }}");
        assert_eq!(
            t,
            vec![
                Tok::VarBegin,
                Tok::Str {
                    value: "%}".into(),
                    exact: true
                },
                Tok::VarEnd
            ]
        );
    }

    #[test]
    fn comments_and_raw_blocks_are_not_code() {
        assert_eq!(
            toks("{# {{ x }} #}{% raw %}{{ y }}{% endraw %}"),
            vec![Tok::Data("{{ y }}".into())]
        );
    }

    #[test]
    fn string_escapes_are_decoded_like_python() {
        let t = toks(r#"{{ "\x5f\x5fclass\u005f\N{LOW LINE}" }}"#);
        assert_eq!(
            t.get(1),
            Some(&Tok::Str {
                value: "__class__".into(),
                exact: true
            })
        );
    }

    #[test]
    fn numbers_follow_jinja_rules() {
        assert_eq!(
            toks("{{ 1_000 + 0x1F + 1.5e2 }}"),
            vec![
                Tok::VarBegin,
                Tok::Int(Some(1000)),
                Tok::Op("+"),
                Tok::Int(Some(31)),
                Tok::Op("+"),
                Tok::Float(150.0),
                Tok::VarEnd
            ]
        );
    }

    #[test]
    fn a_comment_or_raw_opener_ending_the_template_is_ignored_like_jinja_does() {
        assert_eq!(toks("x {#"), vec![Tok::Data("x ".into())]);
        assert_eq!(toks("{%- raw -%}  "), vec![]);
        assert!(lex("{# a").is_err());
    }

    #[test]
    fn unclosed_tags_and_comments_are_errors() {
        assert!(lex("{{ x ").is_err());
        assert!(lex("{# x ").is_err());
        assert!(lex("{% raw %} x").is_err());
        assert!(lex("{{ 'abc }}").is_err());
    }
}
