//! Integers in text operands, read exactly as CPython's C unpickler reads them
//! (`Modules/_pickle.c`): `INT` first tries C `strtol(s, &end, 0)` (so `010` is octal 8 and
//! `0x10` is 16) and falls back to `int(s, 0)` when that does not consume the line (`0o7`,
//! `1_0`); `LONG` is `int(s, 0)` after dropping one trailing `L`; `GET` and `PUT` indices are
//! `int(s, 10)` (`1_0` is 10, `010` is 10). A scanner that reads these differently resolves
//! another memo slot or extension code than the loader does.

/// A parsed integer: exact when it fits in an `i128`, otherwise only known to be an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyInt {
    Small(i128),
    Big,
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `strtol(s, &end, 0)` on a 64-bit `long`: `Some(value)` when the whole text was consumed
/// (a trailing newline or NUL may remain) and no overflow happened; `None` when `_pickle.c`
/// would fall back to `PyLong_FromString`.
fn c_strtol_base0_whole(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while s.get(i).copied().is_some_and(is_c_space) {
        i += 1;
    }
    let mut neg = false;
    if let Some(&c) = s.get(i) {
        if c == b'+' || c == b'-' {
            neg = c == b'-';
            i += 1;
        }
    }
    let mut base = 10u32;
    if s.get(i) == Some(&b'0') {
        let x = s.get(i + 1).copied();
        if matches!(x, Some(b'x' | b'X')) && s.get(i + 2).is_some_and(u8::is_ascii_hexdigit) {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    let start = i;
    let mut acc: i128 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(base)) {
        acc = acc * i128::from(base) + i128::from(d);
        if acc > i128::from(i64::MAX) + 1 {
            overflow = true;
            acc = i128::from(i64::MAX) + 1;
        }
        i += 1;
    }
    if i == start {
        // No digits: strtol leaves `end` at the start of the text.
        return None;
    }
    let value = if neg { -acc } else { acc };
    if overflow || value > i128::from(i64::MAX) || value < i128::from(i64::MIN) {
        return None;
    }
    match s.get(i) {
        None | Some(b'\n') | Some(0) => i64::try_from(value).ok(),
        Some(_) => None,
    }
}

/// Python's `int(text, base)` for base 0 or 10 (`PyLong_FromString`): surrounding whitespace,
/// a sign, `0x`/`0o`/`0b` prefixes for base 0 (an underscore may follow the prefix), single
/// underscores between digits, and no leading zeros on a non-zero decimal in base 0.
pub fn py_int(text: &[u8], base0: bool) -> Option<PyInt> {
    let t = trim_py_space(text);
    let (neg, t) = match t.first() {
        Some(b'-') => (true, t.get(1..)?),
        Some(b'+') => (false, t.get(1..)?),
        _ => (false, t),
    };
    let mut radix = 10u32;
    let mut digits = t;
    let mut decimal_with_leading_zero = false;
    if base0 && t.first() == Some(&b'0') {
        match t.get(1) {
            Some(b'x' | b'X') => radix = 16,
            Some(b'o' | b'O') => radix = 8,
            Some(b'b' | b'B') => radix = 2,
            _ => decimal_with_leading_zero = true,
        }
        if radix != 10 {
            digits = t.get(2..)?;
            // One underscore may separate the prefix from the digits.
            if digits.first() == Some(&b'_') {
                digits = digits.get(1..)?;
            }
        }
    }
    if digits.is_empty() || digits.first() == Some(&b'_') || digits.last() == Some(&b'_') {
        return None;
    }
    let mut acc: Option<i128> = Some(0);
    let mut prev_underscore = false;
    let mut nonzero = false;
    for &c in digits {
        if c == b'_' {
            if prev_underscore {
                return None;
            }
            prev_underscore = true;
            continue;
        }
        prev_underscore = false;
        let d = (c as char).to_digit(radix)?;
        nonzero |= d != 0;
        acc = acc
            .and_then(|a| a.checked_mul(i128::from(radix)))
            .and_then(|a| a.checked_add(i128::from(d)));
    }
    if decimal_with_leading_zero && nonzero {
        // "leading zeros in decimal integer literals are not permitted"
        return None;
    }
    Some(match acc {
        Some(a) => PyInt::Small(if neg { -a } else { a }),
        None => PyInt::Big,
    })
}

/// Python's `str.strip()` of ASCII whitespace, as `PyLong_FromString` skips it.
fn trim_py_space(t: &[u8]) -> &[u8] {
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let start = t.iter().position(|c| !is_space(c)).unwrap_or(t.len());
    let end = t
        .iter()
        .rposition(|c| !is_space(c))
        .map_or(start, |e| e + 1);
    t.get(start..end).unwrap_or(&[])
}

/// What `load_int` makes of an `INT` line (without its newline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOperand {
    /// `00` or `01`: protocol 0's booleans.
    Bool,
    Int(PyInt),
    /// CPython raises.
    Invalid,
}

pub fn load_int(line: &[u8]) -> IntOperand {
    if line == b"00" || line == b"01" {
        return IntOperand::Bool;
    }
    if let Some(v) = c_strtol_base0_whole(line) {
        return IntOperand::Int(PyInt::Small(i128::from(v)));
    }
    py_int(line, true).map_or(IntOperand::Invalid, IntOperand::Int)
}

/// What `load_long` makes of a `LONG` line (without its newline).
pub fn load_long(line: &[u8]) -> Option<PyInt> {
    let t = line.strip_suffix(b"L").unwrap_or(line);
    py_int(t, true)
}

/// A `GET`/`PUT` index line (without its newline), as `int(s, 10)`.
pub fn memo_index(line: &[u8]) -> Option<PyInt> {
    py_int(line, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str) -> Option<i128> {
        match load_int(s.as_bytes()) {
            IntOperand::Int(PyInt::Small(v)) => Some(v),
            _ => None,
        }
    }

    #[test]
    fn int_operands_follow_strtol_then_python() {
        assert_eq!(int("10"), Some(10));
        assert_eq!(int("010"), Some(8)); // C octal
        assert_eq!(int("0x10"), Some(16));
        assert_eq!(int("-0x10"), Some(-16));
        assert_eq!(int("0o7"), Some(7)); // strtol stops at 'o'; int('0o7', 0)
        assert_eq!(int("0b11"), Some(3));
        assert_eq!(int("1_0"), Some(10));
        assert_eq!(int(" 42"), Some(42));
        assert_eq!(int("9223372036854775808"), Some(9_223_372_036_854_775_808));
        assert_eq!(load_int(b"01"), IntOperand::Bool);
        assert_eq!(load_int(b"1__0"), IntOperand::Invalid);
        assert_eq!(load_int(b"0_8"), IntOperand::Invalid); // not octal for strtol, leading zero for int()
        assert_eq!(load_int(b"abc"), IntOperand::Invalid);
        assert_eq!(load_int(b""), IntOperand::Invalid);
        assert_eq!(
            load_int("1".repeat(60).as_bytes()),
            IntOperand::Int(PyInt::Big)
        );
    }

    #[test]
    fn long_and_memo_indices_follow_python() {
        assert_eq!(load_long(b"0o1_7L"), Some(PyInt::Small(15)));
        assert_eq!(load_long(b"12L"), Some(PyInt::Small(12)));
        assert_eq!(load_long(b"010L"), None);
        assert_eq!(memo_index(b"1_0"), Some(PyInt::Small(10)));
        assert_eq!(memo_index(b"010"), Some(PyInt::Small(10)));
        assert_eq!(memo_index(b"0x10"), None);
        assert_eq!(memo_index(b"-1"), Some(PyInt::Small(-1)));
    }
}
