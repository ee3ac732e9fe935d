//! numpy `.npy` files, read natively (format versions 1.0, 2.0, 3.0; `numpy/lib/format.py`):
//! the magic, the header dict, and for object dtypes the pickle that follows the header, which is
//! scanned. Non-object arrays are checked for a data size that matches the header.

use super::vm::StreamKind;
use crate::engine::detect::{Format, NPY_MAGIC};
use crate::error::ScanError;
use crate::scanners::pickle::pyint::PyInt;
use crate::scanners::pyliteral::{Lit, literal_eval};
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
    // numpy decodes v1/v2 headers as latin-1 and v3 as UTF-8, then `ast.literal_eval`s them.
    let text: String = if major == 3 {
        String::from_utf8_lossy(text).into_owned()
    } else {
        text.iter().map(|&b| char::from(b)).collect()
    };
    let lit = match literal_eval(text.trim()) {
        Ok(l) => l,
        // numpy retries v1/v2 headers with Python 2 `L` suffixes removed (`_filter_header`).
        Err(_) if major <= 2 => literal_eval(&strip_long_suffixes(text.trim()))
            .map_err(|e| bad(&format!("the header is not a complete dict literal ({e})")))?,
        Err(e) => {
            return Err(bad(&format!(
                "the header is not a complete dict literal ({e})"
            )));
        }
    };
    if !matches!(lit, Lit::Dict(_)) {
        return Err(bad("the header is not a complete dict literal"));
    }
    let descr = lit
        .get("descr")
        .ok_or_else(|| bad("header has no 'descr'"))?;
    let shape = lit
        .get("shape")
        .ok_or_else(|| bad("header has no 'shape'"))?;
    let has_object = descr_has_object(descr);
    let data_len = if has_object {
        None
    } else {
        let Lit::Tuple(dims) = shape else {
            return Err(bad("shape is not a tuple of ints"));
        };
        let mut count: u64 = 1;
        for dim in dims {
            let d = match dim {
                Lit::Int(PyInt::Small(d)) => u64::try_from(*d).ok(),
                _ => None,
            }
            .ok_or_else(|| bad("shape is not a tuple of ints"))?;
            count = count.checked_mul(d).ok_or_else(|| bad("shape overflows"))?;
        }
        let Lit::Str(code) = descr else {
            // Structured dtype: sizes are not checked.
            return Ok(NpyHeader {
                data_offset: end,
                has_object,
                data_len: None,
            });
        };
        if code.contains(',') || code.contains('(') {
            return Ok(NpyHeader {
                data_offset: end,
                has_object,
                data_len: None,
            });
        }
        let t = code.trim_start_matches(['<', '>', '|', '=']);
        let kind = t.chars().next().unwrap_or('?');
        let n: u64 = t
            .get(1..)
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0);
        let itemsize = match kind {
            // A huge itemsize is the file's claim, not ours to overflow on.
            'U' => n.checked_mul(4).ok_or_else(|| bad("itemsize overflows"))?,
            '?' => 1,
            _ => n,
        };
        count.checked_mul(itemsize)
    };
    Ok(NpyHeader {
        data_offset: end,
        has_object,
        data_len,
    })
}

/// numpy's `_filter_header`: Python 2 wrote long ints as `3L`; drop an `L` after a digit.
fn strip_long_suffixes(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut prev_digit = false;
    for c in t.chars() {
        if c == 'L' && prev_digit {
            prev_digit = false;
            continue;
        }
        prev_digit = c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// Whether numpy's `descr_to_dtype` makes a dtype that holds Python objects: a type string
/// (also a comma list such as `'f4,O'`, with shape prefixes such as `'(2,)O'` or `'2O'`), or a
/// structured list of `(name, format[, shape])` whose formats nest.
fn descr_has_object(descr: &Lit) -> bool {
    match descr {
        Lit::Str(s) => s.split(',').any(|tok| {
            let mut t = tok.trim();
            if t.starts_with('(') {
                t = t.find(')').and_then(|k| t.get(k + 1..)).unwrap_or("");
            }
            let t = t.trim_start_matches(|c: char| c.is_ascii_digit());
            let t = t.trim_start_matches(['<', '>', '|', '=']);
            matches!(t, "O" | "O4" | "O8" | "object" | "object_")
        }),
        Lit::List(fields) | Lit::Tuple(fields) => fields.iter().any(|f| match f {
            Lit::Tuple(parts) | Lit::List(parts) => parts.get(1).is_some_and(descr_has_object),
            other => descr_has_object(other),
        }),
        _ => false,
    }
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
