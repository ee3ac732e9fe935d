//! String helpers that mirror Python where a template can build a name out of constants:
//! `unicode-escape` decoding of Jinja string literals, `%`-formatting (Jinja's `format` filter
//! and the `%` operator), `str.format` replacement fields (whose `{0.attr}` paths are
//! attribute accesses), and Python's slicing and case mappings on ASCII-ish text. Deciding what
//! a name means is the job of `analysis/`.

/// Decodes a Jinja string literal body the way Jinja does
/// (`value.encode("ascii", "backslashreplace").decode("unicode-escape")`).
/// Returns the text and whether every escape was understood; an unknown `\N{NAME}` or a bad
/// `\x` makes Jinja reject the template, and is kept here as written with `exact = false`.
pub fn decode_py_escapes(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut exact = true;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            // A trailing backslash: Python reports "\\ at end of string".
            out.push('\\');
            exact = false;
            break;
        };
        match e {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v: u32 = 0;
                let mut ok = true;
                for _ in 0..n {
                    match chars.peek().and_then(|c| c.to_digit(16)) {
                        Some(d) => {
                            v = v.wrapping_mul(16).wrapping_add(d);
                            chars.next();
                        }
                        None => {
                            ok = false;
                            break;
                        }
                    }
                }
                match (ok, char::from_u32(v)) {
                    (true, Some(ch)) => out.push(ch),
                    _ => {
                        exact = false;
                        out.push('\u{fffd}');
                    }
                }
            }
            'N' => {
                let mut name = String::new();
                let mut closed = false;
                if chars.peek() == Some(&'{') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                        if name.len() > 128 {
                            break;
                        }
                    }
                }
                match (closed, unicode_char_by_name(&name)) {
                    (true, Some(ch)) => out.push(ch),
                    _ => {
                        exact = false;
                        out.push('\u{fffd}');
                    }
                }
            }
            other => {
                // Unknown escapes stay as written (Python keeps the backslash).
                out.push('\\');
                out.push(other);
            }
        }
    }
    (out, exact)
}

/// The characters an identifier can be spelled with, by their Unicode names (Python's
/// `\N{...}` lookup is case-insensitive). Names outside this table leave the string inexact.
pub fn unicode_char_by_name(name: &str) -> Option<char> {
    let n = name.trim().to_ascii_uppercase();
    let simple = match n.as_str() {
        "LOW LINE" | "SPACING UNDERSCORE" => Some('_'),
        "FULL STOP" | "PERIOD" => Some('.'),
        "SPACE" => Some(' '),
        "SOLIDUS" | "SLASH" => Some('/'),
        "REVERSE SOLIDUS" | "BACKSLASH" => Some('\\'),
        "HYPHEN-MINUS" => Some('-'),
        "APOSTROPHE" => Some('\''),
        "QUOTATION MARK" => Some('"'),
        "LEFT SQUARE BRACKET" => Some('['),
        "RIGHT SQUARE BRACKET" => Some(']'),
        "LEFT PARENTHESIS" => Some('('),
        "RIGHT PARENTHESIS" => Some(')'),
        "LEFT CURLY BRACKET" => Some('{'),
        "RIGHT CURLY BRACKET" => Some('}'),
        "PERCENT SIGN" => Some('%'),
        "COMMA" => Some(','),
        "COLON" => Some(':'),
        "SEMICOLON" => Some(';'),
        "EQUALS SIGN" => Some('='),
        "NUMBER SIGN" => Some('#'),
        "DOLLAR SIGN" => Some('$'),
        "AMPERSAND" => Some('&'),
        "ASTERISK" => Some('*'),
        "PLUS SIGN" => Some('+'),
        "VERTICAL LINE" => Some('|'),
        "TILDE" => Some('~'),
        "COMMERCIAL AT" => Some('@'),
        "LINE FEED" | "LF" | "NEW LINE" => Some('\n'),
        "CHARACTER TABULATION" | "TAB" => Some('\t'),
        _ => None,
    };
    if simple.is_some() {
        return simple;
    }
    const DIGITS: [&str; 10] = [
        "ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE",
    ];
    if let Some(d) = n.strip_prefix("DIGIT ") {
        return DIGITS
            .iter()
            .position(|x| *x == d)
            .and_then(|i| char::from_digit(i as u32, 10));
    }
    for (prefix, upper) in [
        ("LATIN SMALL LETTER ", false),
        ("LATIN CAPITAL LETTER ", true),
    ] {
        if let Some(l) = n.strip_prefix(prefix) {
            let mut it = l.chars();
            if let (Some(c), None) = (it.next(), it.next()) {
                if c.is_ascii_uppercase() {
                    return Some(if upper { c } else { c.to_ascii_lowercase() });
                }
            }
        }
    }
    None
}

/// A value that `%`-formatting or `str.format` can substitute.
#[derive(Debug, Clone, PartialEq)]
pub enum FmtArg {
    Str(String),
    Int(i64),
}

impl FmtArg {
    fn as_str(&self) -> String {
        match self {
            FmtArg::Str(s) => s.clone(),
            FmtArg::Int(i) => i.to_string(),
        }
    }
}

/// Python's `fmt % args` for the conversions that can spell a name (`%s`, `%r`, `%d`, `%i`,
/// `%c`, `%x`, `%o`, `%%`, `%(key)s`). `None` when the format needs what we cannot compute.
pub fn percent_format(fmt: &str, args: &[FmtArg], named: &[(String, FmtArg)]) -> Option<String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next_arg = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut key: Option<String> = None;
        if chars.peek() == Some(&'(') {
            chars.next();
            let mut k = String::new();
            for c in chars.by_ref() {
                if c == ')' {
                    break;
                }
                k.push(c);
            }
            key = Some(k);
        }
        // Flags, width and precision do not change the text of a name; skip them.
        while chars
            .peek()
            .is_some_and(|c| matches!(c, '-' | '+' | ' ' | '#' | '0'..='9' | '.'))
        {
            chars.next();
        }
        let conv = chars.next()?;
        if conv == '%' {
            out.push('%');
            continue;
        }
        let arg = match &key {
            Some(k) => named.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())?,
            None => {
                let a = args.get(next_arg)?.clone();
                next_arg += 1;
                a
            }
        };
        match conv {
            's' | 'a' => out.push_str(&arg.as_str()),
            'r' => match &arg {
                FmtArg::Str(s) => out.push_str(&format!("'{s}'")),
                FmtArg::Int(i) => out.push_str(&i.to_string()),
            },
            'd' | 'i' | 'u' => match arg {
                FmtArg::Int(i) => out.push_str(&i.to_string()),
                FmtArg::Str(_) => return None,
            },
            'c' => match arg {
                FmtArg::Int(i) => out.push(char::from_u32(u32::try_from(i).ok()?)?),
                FmtArg::Str(s) => {
                    let mut it = s.chars();
                    match (it.next(), it.next()) {
                        (Some(c), None) => out.push(c),
                        _ => return None,
                    }
                }
            },
            'x' => match arg {
                FmtArg::Int(i) => out.push_str(&format!("{i:x}")),
                FmtArg::Str(_) => return None,
            },
            'X' => match arg {
                FmtArg::Int(i) => out.push_str(&format!("{i:X}")),
                FmtArg::Str(_) => return None,
            },
            'o' => match arg {
                FmtArg::Int(i) => out.push_str(&format!("{i:o}")),
                FmtArg::Str(_) => return None,
            },
            _ => return None,
        }
    }
    Some(out)
}

/// One replacement field of a `str.format` string: which argument, and the attribute /
/// index path after it (`{0.__class__.__mro__[1]}` -> arg "0", path [".__class__",
/// ".__mro__", "[1]"]).
#[derive(Debug, Clone, PartialEq)]
pub struct FormatField {
    pub arg: String,
    /// `(is_attribute, name)` for each `.name` / `[key]` step.
    pub path: Vec<(bool, String)>,
}

/// Parses the replacement fields of a `str.format` string (`{{`/`}}` are literal braces).
pub fn format_fields(fmt: &str) -> Vec<FormatField> {
    let mut fields = Vec::new();
    let mut chars = fmt.chars().peekable();
    let mut auto = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
            }
            '{' => {
                let mut depth = 1;
                let mut body = String::new();
                for c in chars.by_ref() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    body.push(c);
                }
                // field_name ends at '!' or ':' (outside brackets).
                let mut name = String::new();
                let mut in_bracket = false;
                for c in body.chars() {
                    match c {
                        '[' => in_bracket = true,
                        ']' => in_bracket = false,
                        '!' | ':' if !in_bracket => break,
                        _ => {}
                    }
                    name.push(c);
                }
                let split = name.find(['.', '[']).unwrap_or(name.len());
                let (arg, rest) = name.split_at(split);
                let arg = if arg.is_empty() {
                    let a = auto.to_string();
                    auto += 1;
                    a
                } else {
                    arg.to_string()
                };
                let mut path = Vec::new();
                let mut cur = String::new();
                let mut mode: Option<bool> = None;
                for c in rest.chars() {
                    match (c, mode) {
                        ('.', Some(false)) => cur.push(c),
                        ('.', _) => {
                            if let Some(m) = mode {
                                path.push((m, std::mem::take(&mut cur)));
                            }
                            mode = Some(true);
                        }
                        ('[', Some(false)) => cur.push(c),
                        ('[', _) => {
                            if let Some(m) = mode {
                                path.push((m, std::mem::take(&mut cur)));
                            }
                            mode = Some(false);
                        }
                        (']', Some(false)) => {
                            path.push((false, std::mem::take(&mut cur)));
                            mode = None;
                        }
                        _ => cur.push(c),
                    }
                }
                if let Some(m) = mode {
                    if !cur.is_empty() || m {
                        path.push((m, cur));
                    }
                }
                fields.push(FormatField { arg, path });
            }
            _ => {}
        }
    }
    fields
}

/// `str.format` with plain fields substituted (fields with a path or a spec make it `None`).
pub fn brace_format(fmt: &str, args: &[FmtArg], named: &[(String, FmtArg)]) -> Option<String> {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut auto = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut body = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    body.push(c);
                }
                let (name, conv) = match body.split_once('!') {
                    Some((n, c)) => (n, Some(c)),
                    None => (body.as_str(), None),
                };
                if name.contains([':', '.', '[']) || conv.is_some_and(|c| c != "s") {
                    return None;
                }
                let arg = if name.is_empty() {
                    let a = args.get(auto)?.clone();
                    auto += 1;
                    a
                } else if let Ok(i) = name.parse::<usize>() {
                    args.get(i)?.clone()
                } else {
                    named.iter().find(|(n, _)| n == name)?.1.clone()
                };
                out.push_str(&arg.as_str());
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// Python slicing `s[start:stop:step]` over characters.
pub fn py_slice<T: Clone>(
    items: &[T],
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Option<Vec<T>> {
    let len = i64::try_from(items.len()).ok()?;
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let norm = |v: i64, lo: i64, hi: i64| -> i64 {
        let v = if v < 0 { v + len } else { v };
        v.clamp(lo, hi)
    };
    let mut out = Vec::new();
    if step > 0 {
        let s = start.map_or(0, |v| norm(v, 0, len));
        let e = stop.map_or(len, |v| norm(v, 0, len));
        let mut i = s;
        while i < e {
            out.push(items.get(usize::try_from(i).ok()?)?.clone());
            i = i.checked_add(step)?;
        }
    } else {
        let s = start.map_or(len - 1, |v| norm(v, -1, len - 1));
        let e = stop.map_or(-1, |v| norm(v, -1, len - 1));
        let mut i = s;
        while i > e {
            out.push(items.get(usize::try_from(i).ok()?)?.clone());
            i = i.checked_add(step)?;
        }
    }
    Some(out)
}

/// Python's `str.capitalize`.
pub fn capitalize(s: &str) -> String {
    let mut it = s.chars();
    match it.next() {
        Some(f) => f
            .to_uppercase()
            .chain(it.flat_map(|c| c.to_lowercase()))
            .collect(),
        None => String::new(),
    }
}

/// Python's `str.title` (Jinja's `title` filter is close enough for names).
pub fn title(s: &str) -> String {
    let mut out = String::new();
    let mut prev_cased = false;
    for c in s.chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = c.is_alphabetic();
    }
    out
}

/// Python's `str.swapcase`.
pub fn swapcase(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_uppercase() {
                c.to_lowercase().collect::<Vec<_>>()
            } else {
                c.to_uppercase().collect::<Vec<_>>()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_escapes_decode_to_the_same_text() {
        assert_eq!(
            decode_py_escapes(r"\x5f\137\u005F\U0000005f\N{low line}\q"),
            ("_____\\q".to_string(), true)
        );
        assert!(!decode_py_escapes(r"\N{SNOWMAN}").1);
    }

    #[test]
    fn percent_formatting_builds_names() {
        let args = [FmtArg::Str("cla".into()), FmtArg::Str("ss".into())];
        assert_eq!(
            percent_format("__%s%s__", &args, &[]),
            Some("__class__".to_string())
        );
        assert_eq!(
            percent_format("%c%c", &[FmtArg::Int(95), FmtArg::Int(95)], &[]),
            Some("__".to_string())
        );
    }

    #[test]
    fn format_fields_expose_attribute_paths() {
        let f = format_fields("{0.__class__.__mro__[1]} {{literal}} {x}");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].arg, "0");
        assert_eq!(
            f[0].path,
            vec![
                (true, "__class__".to_string()),
                (true, "__mro__".to_string()),
                (false, "1".to_string())
            ]
        );
        assert_eq!(f[1].arg, "x");
    }

    #[test]
    fn slicing_matches_python() {
        let s: Vec<char> = "__ssalc__".chars().collect();
        let r: String = py_slice(&s, None, None, Some(-1))
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(r, "__class__");
        let r: String = py_slice(&s, Some(2), Some(-2), None)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(r, "ssalc");
    }
}
