//! numpy `.npy` files, read natively (format versions 1.0, 2.0, 3.0; `numpy/lib/format.py`):
//! the magic, the header dict, and for object dtypes the pickle that follows the header, which is
//! scanned. Non-object arrays are checked for a data size that matches the header.

use super::vm::StreamKind;
use crate::engine::detect::{Format, NPY_MAGIC};
use crate::error::ScanError;
use crate::scanners::{Item, ScanCtx, Scanner};

pub struct NumpyScanner;

pub const NUMPY_SCANNER: &str = "modelscan.scanners.NumpyUnsafeOpScan";

/// The parts of an `.npy` header the scanner needs.
#[derive(Debug, PartialEq, Eq)]
pub struct NpyHeader {
    pub data_offset: u64,
    pub has_object: bool,
    /// Bytes of array data the header promises (None for object arrays).
    pub data_len: Option<u64>,
}

pub fn parse_header(bytes: &[u8]) -> Result<NpyHeader, ScanError> {
    let bad = |reason: &str| ScanError::malformed("numpy", Some(0), reason.to_string());
    if !bytes.starts_with(NPY_MAGIC) {
        return Err(bad("missing the \\x93NUMPY magic"));
    }
    let major = *bytes.get(6).ok_or_else(|| bad("truncated header"))?;
    let (hlen, start) = match major {
        1 => {
            let b = bytes.get(8..10).ok_or_else(|| bad("truncated header"))?;
            (
                u64::from(u16::from_le_bytes([
                    b.first().copied().unwrap_or(0),
                    b.get(1).copied().unwrap_or(0),
                ])),
                10u64,
            )
        }
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| bad("truncated header"))?;
            let mut a = [0u8; 4];
            a.copy_from_slice(b);
            (u64::from(u32::from_le_bytes(a)), 12u64)
        }
        v => return Err(bad(&format!("unsupported format version {v}"))),
    };
    let end = start + hlen;
    let text = bytes
        .get(start as usize..end as usize)
        .ok_or_else(|| bad("header length runs past the end of the file"))?;
    let text = String::from_utf8_lossy(text);
    if !text.trim_end().ends_with('}') || !text.trim_start().starts_with('{') {
        return Err(bad("the header is not a complete dict literal"));
    }
    let descr = dict_value(&text, "descr").ok_or_else(|| bad("header has no 'descr'"))?;
    let shape = dict_value(&text, "shape").ok_or_else(|| bad("header has no 'shape'"))?;
    let type_codes = quoted_strings(descr);
    let has_object = type_codes.iter().any(|t| {
        let t = t.trim_start_matches(['<', '>', '|', '=']);
        t.starts_with('O')
    });
    let data_len = if has_object {
        None
    } else {
        let mut count: u64 = 1;
        for dim in shape
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let d: u64 = dim
                .trim_end_matches('L')
                .parse()
                .map_err(|_| bad("shape is not a tuple of ints"))?;
            count = count.checked_mul(d).ok_or_else(|| bad("shape overflows"))?;
        }
        let itemsize: u64 = if descr.trim_start().starts_with('[') {
            // Structured dtype: sizes are not checked.
            return Ok(NpyHeader {
                data_offset: end,
                has_object,
                data_len: None,
            });
        } else {
            let t = type_codes.first().map(String::as_str).unwrap_or("");
            let t = t.trim_start_matches(['<', '>', '|', '=']);
            let kind = t.chars().next().unwrap_or('?');
            let n: u64 = t
                .get(1..)
                .unwrap_or("")
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .unwrap_or(0);
            match kind {
                // A huge itemsize is the file's claim, not ours to overflow on.
                'U' => n.checked_mul(4).ok_or_else(|| bad("itemsize overflows"))?,
                '?' => 1,
                _ => n,
            }
        };
        count.checked_mul(itemsize)
    };
    Ok(NpyHeader {
        data_offset: end,
        has_object,
        data_len,
    })
}

/// The text of `'key': value` in a Python dict literal (up to the next top-level comma).
fn dict_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let pat = format!("'{key}'");
    let at = text.find(&pat)? + pat.len();
    let rest = text.get(at..)?.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') if depth > 0 => depth -= 1,
            (None, ',' | '}') if depth == 0 => return rest.get(..i),
            _ => {}
        }
    }
    None
}

fn quoted_strings(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<(char, String)> = None;
    for c in s.chars() {
        match &mut cur {
            Some((q, buf)) => {
                if c == *q {
                    out.push(std::mem::take(buf));
                    cur = None;
                } else {
                    buf.push(c);
                }
            }
            None if c == '\'' || c == '"' => cur = Some((c, String::new())),
            None => {}
        }
    }
    out
}

impl Scanner for NumpyScanner {
    fn name(&self) -> &'static str {
        NUMPY_SCANNER
    }
    fn scan_name(&self) -> &'static str {
        "numpy"
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::Numpy
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        if !ctx.settings.scanner_enabled(NUMPY_SCANNER) {
            return Ok(());
        }
        let header = parse_header(&item.head)?;
        if header.has_object {
            let r = item.blob.slice(header.data_offset, u64::MAX).reader();
            super::scan_seekable(
                NUMPY_SCANNER,
                &item.source,
                r,
                StreamKind::Single,
                header.data_offset,
                Some(&item.blob),
                ctx,
            )?;
            return Ok(());
        }
        if let Some(len) = header.data_len {
            let have = item.blob.len().saturating_sub(header.data_offset);
            if have < len {
                return Err(ScanError::malformed(
                    "numpy",
                    Some(header.data_offset),
                    format!("the header promises {len} bytes of array data, the file has {have}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_header_is_parsed() {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let h = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }          \n";
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h);
        let p = parse_header(&b).unwrap();
        assert!(!p.has_object);
        assert_eq!(p.data_len, Some(96));
        assert_eq!(p.data_offset, 10 + h.len() as u64);
    }

    #[test]
    fn object_dtype_is_recognised() {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let h = b"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n";
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h);
        assert!(parse_header(&b).unwrap().has_object);
    }

    #[test]
    fn unicode_itemsize_that_overflows_is_malformed_not_a_panic() {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let h = b"{'descr': '<U9999999999999999999', 'fortran_order': False, 'shape': (1,), }\n";
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h);
        let e = parse_header(&b).unwrap_err().to_string();
        assert!(e.contains("itemsize overflows"), "{e}");
    }

    #[test]
    fn header_length_past_the_end_is_malformed() {
        let b = b"\x93NUMPY\x01\x00\xff\x00{'descr'".to_vec();
        assert!(parse_header(&b).is_err());
    }
}
