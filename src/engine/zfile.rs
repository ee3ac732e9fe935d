//! joblib's z-files, the compressed format of joblib before 0.10 (`joblib/numpy_pickle.py`
//! `write_zfile` / `read_zfile`, still read by today's `numpy_pickle_compat`): `ZF`, then the
//! length of the uncompressed data as Python's `hex()` text left-justified in 19 bytes
//! (`_MAX_LEN = len(hex(2 ** 64))`), then one zlib stream. Joblib before 0.8.4 under Python 2
//! wrote one more space, which `read_zfile` skips when the byte after the field is a space.
//! `joblib.dump(..., compress=n)` writes the pickle itself as a z-file, and with arrays larger
//! than its cache, each array's raw bytes as a z-file beside it (`ZNDArrayWrapper`, `*.z`).
//!
//! This module reads the header and hands the zlib stream on; decompression limits, the pickle
//! walk and the reports are `containers.rs`'s, as for every compressed stream.

use std::io::{self, Read};

/// `ZF` and the 19-byte length field.
pub const HEADER_LEN: usize = 2 + LENGTH_FIELD;
const LENGTH_FIELD: usize = 19;

/// The declared uncompressed length, as `int(field, 16)` reads the field: surrounding ASCII
/// whitespace, an optional sign, an optional `0x`, hex digits with single underscores between
/// them. `None` where Python raises (the load fails before anything is unpickled).
pub fn declared_length(header: &[u8]) -> Option<i128> {
    let field = header.strip_prefix(b"ZF")?.get(..LENGTH_FIELD)?;
    let trimmed = field.trim_ascii();
    let (negative, rest) = match trimmed.split_first() {
        Some((b'-', r)) => (true, r),
        Some((b'+', r)) => (false, r),
        _ => (false, trimmed),
    };
    let digits = match rest {
        [b'0', b'x' | b'X', tail @ ..] => tail.strip_prefix(b"_").unwrap_or(tail),
        _ => rest,
    };
    if digits.is_empty() || digits.starts_with(b"_") || digits.ends_with(b"_") {
        return None;
    }
    let mut value: i128 = 0;
    let mut last_underscore = false;
    for &b in digits {
        if b == b'_' {
            if last_underscore {
                return None;
            }
            last_underscore = true;
            continue;
        }
        last_underscore = false;
        let d = char::from(b).to_digit(16)?;
        // 19 bytes hold at most 17 hex digits: no overflow of an i128.
        value = value.checked_mul(16)?.checked_add(i128::from(d))?;
    }
    Some(if negative { -value } else { value })
}

/// Whether `head` starts a z-file that `read_zfile` accepts up to its zlib stream: the magic,
/// a length field Python parses to a size `zlib.decompress` takes, and a zlib header where the
/// stream starts (after the optional extra space).
pub fn is_zfile(head: &[u8]) -> bool {
    if !head.starts_with(b"ZF") {
        return false;
    }
    let Some(n) = declared_length(head) else {
        return false;
    };
    if n < 0 {
        return false;
    }
    let at = if head.get(HEADER_LEN) == Some(&b' ') {
        HEADER_LEN + 1
    } else {
        HEADER_LEN
    };
    match (head.get(at), head.get(at + 1)) {
        (Some(&cmf), Some(&flg)) => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0
        }
        _ => false,
    }
}

/// `r` past the z-file header: the zlib stream (`read_zfile`'s reading, the optional space
/// dropped).
pub fn zlib_stream<R: Read>(mut r: R) -> io::Result<impl Read> {
    let mut header = [0u8; HEADER_LEN];
    r.read_exact(&mut header)?;
    if declared_length(&header).is_none_or(|n| n < 0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "joblib z-file header without a valid length",
        ));
    }
    let mut next = [0u8; 1];
    let got = r.read(&mut next)?;
    // A byte other than the space starts the zlib stream: it is put back in front.
    let keep = match (got, next) {
        (0, _) | (_, [b' ']) => Vec::new(),
        (_, b) => b.to_vec(),
    };
    Ok(io::Cursor::new(keep).chain(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zfile(payload: &[u8], extra_space: bool) -> Vec<u8> {
        use std::io::Write;
        let mut v = b"ZF".to_vec();
        v.extend_from_slice(format!("{:<19}", format!("{:#x}", payload.len())).as_bytes());
        if extra_space {
            v.push(b' ');
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(3));
        z.write_all(payload).unwrap();
        v.extend(z.finish().unwrap());
        v
    }

    #[test]
    fn the_length_field_is_read_as_python_int_base_16_reads_it() {
        assert_eq!(declared_length(b"ZF0xf6               "), Some(0xf6));
        assert_eq!(declared_length(b"ZF  0X1_0           "), None); // 18 bytes: too short
        assert_eq!(declared_length(b"ZF  0X1_0            "), Some(0x10));
        assert_eq!(declared_length(b"ZFff                 "), Some(0xff));
        assert_eq!(declared_length(b"ZF-0x5               "), Some(-5));
        assert_eq!(declared_length(b"ZF0x                 "), None);
        assert_eq!(declared_length(b"ZF0x1__0             "), None);
        assert_eq!(declared_length(b"ZF0x1 0              "), None);
        assert_eq!(declared_length(b"ZF0x1g               "), None);
    }

    #[test]
    fn both_header_widths_decompress_to_the_payload() {
        for extra in [false, true] {
            let z = zfile(b"\x80\x02}q\x00.", extra);
            assert!(is_zfile(&z));
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(zlib_stream(z.as_slice()).unwrap())
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, b"\x80\x02}q\x00.");
        }
    }

    #[test]
    fn text_starting_with_zf_is_not_a_zfile() {
        assert!(!is_zfile(b"ZF is a file format, 0x10 bytes long"));
        assert!(!is_zfile(b"ZF0x10               not zlib"));
        assert!(!is_zfile(b"ZF-0x10              x^"));
    }
}
