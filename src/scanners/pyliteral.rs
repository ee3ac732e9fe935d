//! Python literals as `ast.literal_eval` reads them: dicts (a repeated key keeps the last
//! value), lists, tuples, sets, `str` and `bytes` with every escape and prefix, adjacent string
//! concatenation, comments and line continuations, ints in every spelling, floats, complex
//! numbers, `True`/`False`/`None`. Loaders that read a header with `literal_eval` (numpy's
//! `.npy` header) see what this sees; a scanner that searched the text instead would be fooled
//! by `'\x4f'`, a second `'descr'` or a decoy in a comment.

use crate::scanners::pickle::pyint::{PyInt, py_int};

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    None,
    Bool(bool),
    Int(PyInt),
    Float,
    Complex,
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Lit>),
    List(Vec<Lit>),
    Set(Vec<Lit>),
    /// Items in order, a repeated key replaced in place by its last value (as a dict does).
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    /// The value of `key` in a dict literal.
    pub fn get(&self, key: &str) -> Option<&Lit> {
        match self {
            Lit::Dict(items) => items.iter().find_map(|(k, v)| match k {
                Lit::Str(s) if s == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// Deepest nesting accepted (CPython's parser stops near 200 too).
const MAX_DEPTH: usize = 100;

pub fn literal_eval(text: &str) -> Result<Lit, String> {
    let mut p = P {
        s: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    let v = p.expr()?;
    p.ws(true);
    if p.i != p.s.len() {
        return Err(format!("unexpected text at character {}", p.i));
    }
    Ok(v)
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    /// Whitespace and comments. The whole header is one expression: inside brackets newlines
    /// are free, and `literal_eval` strips the text, so newlines are accepted everywhere.
    fn ws(&mut self, _newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c => self.i += 1,
                b'\\' if matches!(self.at(1), Some(b'\n')) => self.i += 2,
                b'\\' if self.at(1) == Some(b'\r') && self.at(2) == Some(b'\n') => self.i += 3,
                b'#' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn expr(&mut self) -> Result<Lit, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("literal nested too deeply".into());
        }
        let v = self.expr_inner();
        self.depth -= 1;
        v
    }

    fn expr_inner(&mut self) -> Result<Lit, String> {
        self.ws(true);
        let Some(c) = self.peek() else {
            return Err("unexpected end of literal".into());
        };
        match c {
            b'{' => self.dict_or_set(),
            b'[' => {
                self.i += 1;
                let (items, _) = self.seq(b']')?;
                Ok(Lit::List(items))
            }
            b'(' => {
                self.i += 1;
                self.ws(true);
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Ok(Lit::Tuple(Vec::new()));
                }
                let (mut items, trailing_comma) = self.seq(b')')?;
                if items.len() == 1 && !trailing_comma {
                    return items.pop().ok_or_else(|| "empty".to_string());
                }
                Ok(Lit::Tuple(items))
            }
            b'-' | b'+' => {
                self.i += 1;
                let v = self.expr()?;
                match v {
                    Lit::Int(PyInt::Small(n)) if c == b'-' => Ok(Lit::Int(PyInt::Small(-n))),
                    Lit::Int(_) | Lit::Float | Lit::Complex => Ok(v),
                    _ => Err("unary sign on a non-number".into()),
                }
            }
            b'0'..=b'9' | b'.' => self.number(),
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.i += 1;
                }
                let word = self.s.get(start..self.i).unwrap_or(&[]);
                if matches!(self.peek(), Some(b'\'' | b'"')) {
                    self.i = start;
                    return self.strings();
                }
                match word {
                    b"True" => Ok(Lit::Bool(true)),
                    b"False" => Ok(Lit::Bool(false)),
                    b"None" => Ok(Lit::None),
                    _ => Err(format!(
                        "malformed node or string: {}",
                        String::from_utf8_lossy(word)
                    )),
                }
            }
            b'\'' | b'"' => self.strings(),
            _ => Err(format!("unexpected character {:?}", char::from(c))),
        }
    }

    /// Items up to `close`; whether a comma followed the last one.
    fn seq(&mut self, close: u8) -> Result<(Vec<Lit>, bool), String> {
        let mut items = Vec::new();
        let mut trailing = false;
        loop {
            self.ws(true);
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok((items, trailing));
            }
            items.push(self.expr()?);
            self.ws(true);
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    trailing = true;
                }
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok((items, false));
                }
                _ => return Err("expected ',' or a closing bracket".into()),
            }
        }
    }

    fn dict_or_set(&mut self) -> Result<Lit, String> {
        self.i += 1;
        self.ws(true);
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Lit::Dict(Vec::new()));
        }
        let first = self.expr()?;
        self.ws(true);
        if self.peek() != Some(b':') {
            let mut items = vec![first];
            match self.peek() {
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Lit::Set(items));
                }
                Some(b',') => self.i += 1,
                _ => return Err("expected ',' or '}'".into()),
            }
            let (rest, _) = self.seq(b'}')?;
            items.extend(rest);
            return Ok(Lit::Set(items));
        }
        let mut items: Vec<(Lit, Lit)> = Vec::new();
        let mut key = first;
        loop {
            self.ws(true);
            if self.peek() != Some(b':') {
                return Err("expected ':'".into());
            }
            self.i += 1;
            let value = self.expr()?;
            // A repeated key keeps its first position and its last value.
            if let Some(slot) = items.iter_mut().find(|(k, _)| *k == key) {
                slot.1 = value;
            } else {
                items.push((key, value));
            }
            self.ws(true);
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws(true);
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(Lit::Dict(items));
                    }
                    key = self.expr()?;
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Lit::Dict(items));
                }
                _ => return Err("expected ',' or '}'".into()),
            }
        }
    }

    fn number(&mut self) -> Result<Lit, String> {
        let start = self.i;
        let mut float = false;
        while let Some(c) = self.peek() {
            let exp_sign = matches!(c, b'+' | b'-')
                && matches!(self.s.get(self.i.wrapping_sub(1)), Some(b'e' | b'E'))
                && !self.s.get(start..self.i).is_some_and(|t| {
                    t.len() > 1 && matches!(t.get(1), Some(b'x' | b'X' | b'b' | b'B'))
                });
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exp_sign {
                if c == b'.' || exp_sign {
                    float = true;
                }
                self.i += 1;
            } else {
                break;
            }
        }
        let t = self.s.get(start..self.i).unwrap_or(&[]);
        if matches!(t.last(), Some(b'j' | b'J')) {
            return Ok(Lit::Complex);
        }
        let hex = t.len() > 1 && matches!(t.get(1), Some(b'x' | b'X'));
        if !hex && (float || t.iter().any(|c| matches!(c, b'e' | b'E'))) {
            let clean: String = t
                .iter()
                .filter(|&&c| c != b'_')
                .map(|&c| char::from(c))
                .collect();
            return clean
                .parse::<f64>()
                .map(|_| Lit::Float)
                .map_err(|_| "invalid number".to_string());
        }
        py_int(t, true)
            .map(Lit::Int)
            .ok_or_else(|| format!("invalid number {}", String::from_utf8_lossy(t)))
    }

    /// One or more adjacent string literals (concatenated; str and bytes cannot mix).
    fn strings(&mut self) -> Result<Lit, String> {
        let mut out: Option<Lit> = None;
        loop {
            self.ws(true);
            let start = self.i;
            let mut prefix = Vec::new();
            while let Some(c) = self.peek() {
                if c.is_ascii_alphabetic() {
                    prefix.push(c.to_ascii_lowercase());
                    self.i += 1;
                } else {
                    break;
                }
            }
            if !matches!(self.peek(), Some(b'\'' | b'"')) {
                self.i = start;
                break;
            }
            let bytes = prefix.contains(&b'b');
            let raw = prefix.contains(&b'r');
            if prefix.len() > 2 || prefix.iter().any(|c| !matches!(c, b'b' | b'r' | b'u')) {
                return Err("unsupported string prefix".into());
            }
            let part = self.string_body(raw, bytes)?;
            out = Some(match (out, part) {
                (None, p) => p,
                (Some(Lit::Str(mut a)), Lit::Str(b)) => {
                    a.push_str(&b);
                    Lit::Str(a)
                }
                (Some(Lit::Bytes(mut a)), Lit::Bytes(b)) => {
                    a.extend(b);
                    Lit::Bytes(a)
                }
                _ => return Err("cannot mix bytes and nonbytes literals".into()),
            });
        }
        out.ok_or_else(|| "expected a string".to_string())
    }

    fn string_body(&mut self, raw: bool, bytes: bool) -> Result<Lit, String> {
        let q = self.peek().ok_or("unterminated string")?;
        let triple = self.at(1) == Some(q) && self.at(2) == Some(q);
        self.i += if triple { 3 } else { 1 };
        let mut units: Vec<u32> = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            if c == q && (!triple || (self.at(1) == Some(q) && self.at(2) == Some(q))) {
                self.i += if triple { 3 } else { 1 };
                break;
            }
            if c == b'\n' && !triple {
                return Err("unterminated string".into());
            }
            if c == b'\\' && !raw {
                self.i += 1;
                self.escape(bytes, &mut units)?;
                continue;
            }
            if c == b'\\' && raw {
                // A raw string keeps the backslash, and the quote after it does not end it.
                units.push(u32::from(c));
                self.i += 1;
                if let Some(n) = self.peek() {
                    units.push(u32::from(n));
                    self.i += 1;
                }
                continue;
            }
            // Copy one UTF-8 character.
            let len = utf8_len(c);
            let chunk = self
                .s
                .get(self.i..self.i + len)
                .ok_or("truncated character")?;
            if bytes && c >= 0x80 {
                return Err("bytes can only contain ASCII literal characters".into());
            }
            let ch = std::str::from_utf8(chunk)
                .ok()
                .and_then(|s| s.chars().next())
                .unwrap_or('\u{fffd}');
            units.push(u32::from(ch));
            self.i += len;
        }
        if bytes {
            Ok(Lit::Bytes(
                units.iter().map(|&u| (u & 0xff) as u8).collect(),
            ))
        } else {
            Ok(Lit::Str(
                units
                    .iter()
                    .map(|&u| char::from_u32(u).unwrap_or('\u{fffd}'))
                    .collect(),
            ))
        }
    }

    fn escape(&mut self, bytes: bool, out: &mut Vec<u32>) -> Result<(), String> {
        let c = self.peek().ok_or("truncated escape")?;
        self.i += 1;
        let simple = match c {
            b'\n' => return Ok(()),
            b'\\' => Some(0x5c),
            b'\'' => Some(0x27),
            b'"' => Some(0x22),
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(0x0c),
            b'n' => Some(10),
            b'r' => Some(13),
            b't' => Some(9),
            b'v' => Some(0x0b),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            return Ok(());
        }
        let hex = |p: &mut Self, n: usize| -> Result<u32, String> {
            let t = p.s.get(p.i..p.i + n).ok_or("truncated \\x escape")?;
            let t = std::str::from_utf8(t).map_err(|_| "bad escape")?;
            let v = u32::from_str_radix(t, 16).map_err(|_| "bad escape")?;
            p.i += n;
            Ok(v)
        };
        match c {
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            self.i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(v);
            }
            b'x' => out.push(hex(self, 2)?),
            b'u' if !bytes => out.push(hex(self, 4)?),
            b'U' if !bytes => {
                let v = hex(self, 8)?;
                if char::from_u32(v).is_none() {
                    return Err("illegal Unicode character".into());
                }
                out.push(v);
            }
            b'N' if !bytes => {
                // A named character: its name cannot be looked up here; keep a marker that
                // matches no type code.
                if self.peek() != Some(b'{') {
                    return Err("malformed \\N escape".into());
                }
                while let Some(d) = self.peek() {
                    self.i += 1;
                    if d == b'}' {
                        break;
                    }
                }
                out.push(0xfffd);
            }
            other => {
                // Unknown escapes keep the backslash (a warning in Python, not an error).
                out.push(0x5c);
                self.i -= 1;
                let _ = other;
            }
        }
        Ok(())
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_headers_read_as_python_reads_them() {
        let h = literal_eval("{'descr': '|\\x4f', 'fortran_order': False, 'shape': (3,), }")
            .unwrap_or(Lit::None);
        assert_eq!(h.get("descr"), Some(&Lit::Str("|O".into())));
        assert_eq!(
            h.get("shape"),
            Some(&Lit::Tuple(vec![Lit::Int(PyInt::Small(3))]))
        );
        let h = literal_eval("{'descr': '<f4', 'descr': '|O', 'shape': (1,)}").unwrap_or(Lit::None);
        assert_eq!(h.get("descr"), Some(&Lit::Str("|O".into())));
        let h = literal_eval("{ # 'descr': '<f4'\n 'descr': '|' 'O', 'shape': (0x1,)}")
            .unwrap_or(Lit::None);
        assert_eq!(h.get("descr"), Some(&Lit::Str("|O".into())));
        assert_eq!(literal_eval("(1)").ok(), Some(Lit::Int(PyInt::Small(1))));
        assert_eq!(
            literal_eval("[('a', '<f8'), ('b', 'O', (2,))]")
                .map(|l| matches!(l, Lit::List(v) if v.len() == 2)),
            Ok(true)
        );
        assert_eq!(literal_eval("b'\\x00\\n'"), Ok(Lit::Bytes(vec![0, 10])));
        assert_eq!(literal_eval("r'\\x4f'"), Ok(Lit::Str("\\x4f".into())));
        assert_eq!(literal_eval("'\\117'"), Ok(Lit::Str("O".into())));
        assert_eq!(literal_eval("u'\\u004f'"), Ok(Lit::Str("O".into())));
        assert_eq!(literal_eval("-1.5e-3"), Ok(Lit::Float));
        assert!(literal_eval("__import__('os')").is_err());
        assert!(literal_eval("'a' b'b'").is_err());
        assert!(literal_eval(&"(".repeat(500)).is_err());
    }
}
