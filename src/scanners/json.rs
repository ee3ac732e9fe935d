//! Plain JSON files (model configs, tokenizer files, XGBoost models): parsed with a depth
//! limit so a file is only counted as scanned when it really is JSON. Format-specific checks on
//! JSON (Keras configs, chat templates) are other scanners that accept the same items.

use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::ErrorCategory;
use crate::scanners::{Item, ScanCtx, Scanner};

pub struct JsonScanner;

pub const JSON_SCANNER: &str = "modelscan.scanners.JsonScan";

impl Scanner for JsonScanner {
    fn name(&self) -> &'static str {
        JSON_SCANNER
    }
    fn scan_name(&self) -> &'static str {
        "json"
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::Json
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        // serde_json stops at 128 levels of nesting, which is also what we allow. Nothing is
        // kept: a small file is checked from memory (fast), a large one streamed through a
        // buffer (strings are skipped, not collected), so any size is checked in bounded memory.
        let checked = if item.blob.len() <= IN_MEMORY_JSON {
            let bytes = item.blob.read_vec(0, item.blob.len() as usize)?;
            serde_json::from_slice::<serde::de::IgnoredAny>(&python_json_text(&bytes)).map(drop)
        } else {
            let reader = std::io::BufReader::with_capacity(64 << 10, item.blob.reader());
            serde_json::from_reader::<_, serde::de::IgnoredAny>(reader).map(drop)
        };
        if let Err(e) = checked {
            if e.is_io() {
                return Err(ScanError::Io(e.into()));
            }
            ctx.error(
                "json",
                &item.source,
                ErrorCategory::JsonDecode,
                format!("Not a valid JSON data: {e}"),
            );
        }
        Ok(())
    }
}

/// JSON bytes as Python's `json.loads(bytes)` reads them, as UTF-8 text serde accepts: the
/// encoding detected as `json.detect_encoding` does (UTF-32 and UTF-16 by BOM or by where the
/// NUL bytes are, a UTF-8 BOM dropped), and the `NaN`, `Infinity` and `-Infinity` Python's
/// parser accepts read as `null` (the scanners look at names, not numbers). Repeated keys keep
/// the last value in both. Plain UTF-8 without those words is returned as it is.
pub fn python_json_text(b: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    let decoded: Cow<'_, [u8]> = match python_json_encoding(b) {
        Enc::Utf8 => Cow::Borrowed(b),
        Enc::Utf8Sig => Cow::Borrowed(b.get(3..).unwrap_or(&[])),
        Enc::Utf16 { le, bom } => {
            let body = if bom { b.get(2..).unwrap_or(&[]) } else { b };
            let units = body.chunks_exact(2).map(|c| {
                let pair = [
                    c.first().copied().unwrap_or(0),
                    c.get(1).copied().unwrap_or(0),
                ];
                if le {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            });
            Cow::Owned(
                char::decode_utf16(units)
                    .map(|r| r.unwrap_or('\u{fffd}'))
                    .collect::<String>()
                    .into_bytes(),
            )
        }
        Enc::Utf32 { le, bom } => {
            let body = if bom { b.get(4..).unwrap_or(&[]) } else { b };
            Cow::Owned(
                body.chunks_exact(4)
                    .map(|c| {
                        let mut a = [0u8; 4];
                        a.copy_from_slice(c);
                        let v = if le {
                            u32::from_le_bytes(a)
                        } else {
                            u32::from_be_bytes(a)
                        };
                        char::from_u32(v).unwrap_or('\u{fffd}')
                    })
                    .collect::<String>()
                    .into_bytes(),
            )
        }
    };
    if memchr::memmem::find(&decoded, b"NaN").is_none()
        && memchr::memmem::find(&decoded, b"Infinity").is_none()
    {
        return decoded;
    }
    Cow::Owned(replace_python_constants(&decoded))
}

enum Enc {
    Utf8,
    Utf8Sig,
    Utf16 { le: bool, bom: bool },
    Utf32 { le: bool, bom: bool },
}

/// `json.detect_encoding`.
fn python_json_encoding(b: &[u8]) -> Enc {
    if b.starts_with(&[0, 0, 0xfe, 0xff]) {
        return Enc::Utf32 {
            le: false,
            bom: true,
        };
    }
    if b.starts_with(&[0xff, 0xfe, 0, 0]) {
        return Enc::Utf32 {
            le: true,
            bom: true,
        };
    }
    if b.starts_with(&[0xfe, 0xff]) {
        return Enc::Utf16 {
            le: false,
            bom: true,
        };
    }
    if b.starts_with(&[0xff, 0xfe]) {
        return Enc::Utf16 {
            le: true,
            bom: true,
        };
    }
    if b.starts_with(&[0xef, 0xbb, 0xbf]) {
        return Enc::Utf8Sig;
    }
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    if b.len() >= 4 {
        if at(0) == 0 {
            return if at(1) != 0 {
                Enc::Utf16 {
                    le: false,
                    bom: false,
                }
            } else {
                Enc::Utf32 {
                    le: false,
                    bom: false,
                }
            };
        }
        if at(1) == 0 {
            return if at(2) != 0 || at(3) != 0 {
                Enc::Utf16 {
                    le: true,
                    bom: false,
                }
            } else {
                Enc::Utf32 {
                    le: true,
                    bom: false,
                }
            };
        }
    } else if b.len() == 2 {
        if at(0) == 0 {
            return Enc::Utf16 {
                le: false,
                bom: false,
            };
        }
        if at(1) == 0 {
            return Enc::Utf16 {
                le: true,
                bom: false,
            };
        }
    }
    Enc::Utf8
}

/// `NaN`, `Infinity` and `-Infinity` outside strings become `null`.
fn replace_python_constants(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut in_str = false;
    while let Some(&c) = b.get(i) {
        if in_str {
            out.push(c);
            if c == b'\\' {
                if let Some(&n) = b.get(i + 1) {
                    out.push(n);
                    i += 1;
                }
            } else if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        let rest = b.get(i..).unwrap_or(&[]);
        if c == b'"' {
            in_str = true;
        } else if rest.starts_with(b"-Infinity") {
            out.extend_from_slice(b"null");
            i += 9;
            continue;
        } else if rest.starts_with(b"Infinity") {
            out.extend_from_slice(b"null");
            i += 8;
            continue;
        } else if rest.starts_with(b"NaN") {
            out.extend_from_slice(b"null");
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// JSON files up to this size are checked from one read; larger ones are streamed.
const IN_MEMORY_JSON: u64 = 16 << 20;

/// Memory one JSON value may take once parsed into a `serde_json::Value`: the enum (32 bytes),
/// its share of a growing vector or of a map node, and a map key's `String`. Measured: a
/// 100 MB array of 50 million zeros took 3.6 GB (72 bytes per value).
const BYTES_PER_VALUE: u64 = 96;

/// Parses `bytes` into a `Value` if the parse fits in the `memory` bytes left, estimated by a
/// counting pass that allocates nothing: `BYTES_PER_VALUE` per value plus the text itself (an
/// upper bound for the strings); the estimate is taken from `memory`, so that several parses
/// kept together share one cap. A JSON text is up to ~36 times its size in memory, so the size
/// of the file alone bounds nothing. The inner result is serde's own (invalid JSON, the
/// 128-level recursion limit); the outer error is the memory cap.
pub fn value_capped(
    bytes: &[u8],
    memory: &mut u64,
) -> Result<Result<serde_json::Value, serde_json::Error>, crate::limits::LimitHit> {
    use serde::de::DeserializeSeed;
    let text = python_json_text(bytes);
    let bytes: &[u8] = &text;
    let cap = *memory;
    let budget = cap.saturating_sub(bytes.len() as u64) / BYTES_PER_VALUE;
    let mut count = Count {
        values: 0,
        max: budget,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let counted = (&mut count).deserialize(&mut de).and_then(|()| de.end());
    if count.values > budget {
        return Err(crate::limits::LimitHit {
            limit: "max_in_memory_bytes",
            detail: format!(
                "JSON of {} bytes holds more than {budget} values: parsed, it would take more \
                 than {cap} bytes of memory",
                bytes.len()
            ),
        });
    }
    if let Err(e) = counted {
        return Ok(Err(e));
    }
    *memory = cap
        .saturating_sub(bytes.len() as u64)
        .saturating_sub(count.values.saturating_mul(BYTES_PER_VALUE));
    Ok(serde_json::from_slice(bytes))
}

/// Counts the values of a JSON text as serde visits them; stops past `max`.
struct Count {
    values: u64,
    max: u64,
}

impl Count {
    fn one<E: serde::de::Error>(&mut self) -> Result<(), E> {
        self.values += 1;
        if self.values > self.max {
            return Err(E::custom("too many JSON values"));
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for &mut Count {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &mut Count {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.one()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.one()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.one()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.one()
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.one()
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.one()
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.one()?;
        while seq.next_element_seed(&mut *self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.one()?;
        while map.next_key_seed(&mut *self)?.is_some() {
            map.next_value_seed(&mut *self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_is_read_as_python_reads_bytes() {
        let text = r#"{"a": NaN, "b": [Infinity, -Infinity], "s": "NaN \" Infinity"}"#;
        let v: serde_json::Value =
            serde_json::from_slice(&python_json_text(text.as_bytes())).unwrap_or_default();
        assert_eq!(v["s"], "NaN \" Infinity");
        assert!(v["a"].is_null() && v["b"][1].is_null());
        let utf16le: Vec<u8> = "{\"k\": \"v\"}"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let utf16be_bom: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain("{\"k\": \"v\"}".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        let utf32le: Vec<u8> = "{\"k\": \"v\"}"
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        let utf8_bom: Vec<u8> = [0xef, 0xbb, 0xbf]
            .into_iter()
            .chain(*b"{\"k\": \"v\"}")
            .collect();
        for b in [utf16le, utf16be_bom, utf32le, utf8_bom] {
            let v: serde_json::Value =
                serde_json::from_slice(&python_json_text(&b)).unwrap_or_default();
            assert_eq!(v["k"], "v", "{b:?}");
        }
    }

    use super::*;

    #[test]
    fn a_parse_that_would_pass_the_cap_is_a_limit() {
        let text = format!("[{}0]", "0,".repeat(100_000)); // 100,001 numbers + the array
        let r = value_capped(text.as_bytes(), &mut (1 << 20));
        assert!(
            matches!(r, Err(ref h) if h.limit == "max_in_memory_bytes"),
            "{r:?}"
        );
        let mut memory = 64 << 20;
        let v = value_capped(text.as_bytes(), &mut memory).unwrap().unwrap();
        assert_eq!(v.as_array().map(Vec::len), Some(100_001));
        // What it took is gone from the budget: the same text again does not fit in the rest
        // of a cap sized for one and a half of it.
        let mut memory = (text.len() as u64 + 100_002 * BYTES_PER_VALUE) * 3 / 2;
        assert!(value_capped(text.as_bytes(), &mut memory).is_ok());
        assert!(value_capped(text.as_bytes(), &mut memory).is_err());
    }

    #[test]
    fn keys_and_nesting_count_and_errors_stay_serdes() {
        let ok = value_capped(br#"{"a": {"b": [1, "x", null, true]}}"#, &mut (1 << 20)).unwrap();
        assert_eq!(ok.unwrap()["a"]["b"][1], "x");
        // {"a": [1, 2]} is 5 values with its key: a budget of 4 refuses it, 5 takes it.
        let cap = 13 + 4 * BYTES_PER_VALUE;
        assert!(value_capped(br#"{"a": [1, 2]}"#, &mut cap.clone()).is_err());
        let mut memory = cap + BYTES_PER_VALUE;
        assert!(value_capped(br#"{"a": [1, 2]}"#, &mut memory).is_ok());
        assert_eq!(memory, 0);
        let bad = value_capped(b"{\"a\": [1, 2}", &mut (1 << 20)).unwrap();
        assert!(bad.is_err());
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let e = value_capped(deep.as_bytes(), &mut (1 << 20))
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
    }
}
