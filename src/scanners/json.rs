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
            serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map(drop)
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
