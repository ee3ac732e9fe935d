//! Decoders of operands and of the payloads the VM evaluates: protocol 0 string escapes,
//! base64, hex, zlib/gzip/bz2/xz with a size cap.

use super::*;

/// The bytes of a protocol 0 STRING operand: quoted, with Python escapes
/// (`codecs.escape_decode`, as `load_string` in `_pickle.c`).
pub(super) fn unquote_string(line: &[u8]) -> Option<Vec<u8>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let q = *line.first()?;
    if (q != b'\'' && q != b'"') || line.len() < 2 || line.last() != Some(&q) {
        return None;
    }
    let inner = line.get(1..line.len() - 1)?;
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = inner.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'\n' => {}
            b'x' => {
                let h = inner.get(i..i + 2)?;
                let v = u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
                out.push(v);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match inner.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// `raw-unicode-escape` decoding of a protocol 0 UNICODE operand.
pub(super) fn raw_unicode_escape(line: &[u8]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while let Some(&c) = line.get(i) {
        if c == b'\\' {
            let (len, hex) = match line.get(i + 1) {
                Some(b'u') => (4, line.get(i + 2..i + 6)),
                Some(b'U') => (8, line.get(i + 2..i + 10)),
                _ => (0, None),
            };
            if let Some(h) = hex {
                if let Some(ch) = std::str::from_utf8(h)
                    .ok()
                    .and_then(|s| u32::from_str_radix(s, 16).ok())
                    .and_then(char::from_u32)
                {
                    out.push(ch);
                    i += 2 + len;
                    continue;
                }
            }
        }
        out.push(char::from(c));
        i += 1;
    }
    out
}

pub(super) fn decode_base64(data: &[u8], urlsafe: bool) -> Option<Vec<u8>> {
    use base64::Engine;
    let cleaned: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let engines = if urlsafe {
        [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ]
    } else {
        [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
        ]
    };
    engines.iter().find_map(|e| e.decode(&cleaned).ok())
}

pub(super) fn decode_hex(data: &[u8]) -> Option<Vec<u8>> {
    let s: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|t| u8::from_str_radix(t, 16).ok())
        })
        .collect()
}

pub(super) fn read_capped(mut r: impl Read, cap: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    (&mut r).take(cap as u64 + 1).read_to_end(&mut out).ok()?;
    if out.len() > cap {
        return None;
    }
    Some(out)
}

pub(super) fn inflate(data: &[u8], cap: usize, zlib: bool) -> Option<Vec<u8>> {
    if zlib {
        read_capped(flate2::read::ZlibDecoder::new(data), cap)
            .or_else(|| read_capped(flate2::read::DeflateDecoder::new(data), cap))
    } else {
        read_capped(flate2::read::DeflateDecoder::new(data), cap)
    }
}

pub(super) fn gunzip(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    read_capped(flate2::read::GzDecoder::new(data), cap)
}

pub(super) fn bunzip(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    read_capped(bzip2::read::BzDecoder::new(data), cap)
}

pub(super) fn unxz(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    let r = lzma_rust2::XzReader::new(data, true);
    read_capped(r, cap).or_else(|| {
        lzma_rust2::LzmaReader::new_mem_limit(data, u32::MAX, None)
            .ok()
            .and_then(|r| read_capped(r, cap))
    })
}
