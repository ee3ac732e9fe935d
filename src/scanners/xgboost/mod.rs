//! XGBoost models as `Booster.save_model` writes them: UBJSON (`.ubj`, the default since
//! XGBoost 2.1) and JSON (`.json`). The document is read whole (UBJSON by `ubjson.rs`, every
//! value checked, within the depth, count and size bounds; JSON by serde), and the model is
//! recognised by what `LearnerIO::LoadModel` reads first: `{"learner": {"gradient_booster":
//! {"name": ...}, "objective": {"name": ...}, "learner_model_param": {...}}, "version": [...]}`.
//! A valid model is scanned and clean; a document that is not one is an error, as a broken
//! file of any other format.
//!
//! Why clean: such a model holds no code. `XGBoosterLoadModel` (`src/c_api/c_api.cc`) parses
//! the document into its own JSON tree and `Learner::LoadModel` reads trees, numbers and
//! parameter strings from it; the objective, booster, metric and tree-updater names are looked
//! up in XGBoost's compiled-in registries (an unknown name fails the load), and nothing in the
//! file is imported, evaluated or handed to a plugin loader. The Python wrapper
//! (`XGBModel.load_model`) reads one more thing, the `scikit_learn` attribute, with
//! `json.loads` and only compares its `_estimator_type`. The pickle-based ways to save a
//! booster (`pickle`, `joblib`) are pickles and go to the pickle scanner; the legacy binary
//! format (`.model`, `.bst` before 1.0) is not read here.
//!
//! JSON models are also read by the plain JSON scanner (syntax); this one only adds the check
//! that a JSON document with `learner` and `version` at its top is an XGBoost model, and
//! leaves syntax errors, and JSON that is no model, to it. A UBJSON document (recognised by its
//! first key, or named `.ubj`) has no other reader: anything but a model is an error.

pub mod ubjson;

use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::limits::LimitHit;
use crate::scanners::{Item, ScanCtx, Scanner};
use ubjson::{Bounds, UbjError, Value};

pub struct XgboostScanner;

pub const XGBOOST_SCANNER: &str = "modelscan.scanners.XGBoostModelScan";

/// Levels of the document kept for the model check: `learner.objective.name` is at depth 3.
const KEEP_DEPTH: u32 = 3;
/// Values kept in all (the rest are read and checked, then dropped).
const MAX_KEPT: usize = 100_000;

impl Scanner for XgboostScanner {
    fn name(&self) -> &'static str {
        XGBOOST_SCANNER
    }
    fn scan_name(&self) -> &'static str {
        "xgboost"
    }
    fn accepts(&self, item: &Item) -> bool {
        match item.format {
            Format::Ubjson => true,
            Format::Json => {
                let text = crate::scanners::json::python_json_text(&item.head);
                matches!(first_json_key(&text), Some("learner" | "version"))
            }
            _ => false,
        }
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        if item.format == Format::Json {
            return scan_json(item, ctx);
        }
        ctx.budget.charge_bytes(item.blob.len())?;
        let reader = std::io::BufReader::with_capacity(64 << 10, item.blob.reader());
        let bounds = Bounds {
            max_depth: ctx.settings.limits.max_nesting_depth,
            keep_depth: KEEP_DEPTH,
            max_kept: MAX_KEPT,
            budget: &ctx.budget,
        };
        let doc = match ubjson::read_document(reader, item.blob.len(), bounds) {
            Ok(v) => v,
            Err(UbjError::Malformed { offset, reason }) => {
                return Err(ScanError::malformed("ubjson", Some(offset), reason));
            }
            Err(UbjError::Limit { limit, detail }) => {
                return Err(ScanError::Limit(LimitHit { limit, detail }));
            }
            Err(UbjError::Io(e)) => return Err(ScanError::Io(e)),
        };
        check_model(&doc).map_err(|why| ScanError::malformed("xgboost", None, why))
    }
}

/// JSON read whole up to this size (as Python reads it: encodings, `NaN`), streamed past it;
/// the JSON scanner draws the same line.
const IN_MEMORY_JSON: u64 = 16 << 20;

/// A JSON document with both `learner` and `version` at its top is an XGBoost model, and gets
/// the model check; any other JSON is the JSON scanner's alone, as are syntax errors. Only the
/// top levels are kept, so any size is read in bounded memory.
fn scan_json(item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
    let mut kept = 0usize;
    let seed = json_seed::Seed {
        depth: 0,
        kept: &mut kept,
    };
    let len = item.blob.len();
    let parsed = if len <= IN_MEMORY_JSON.min(ctx.settings.limits.max_in_memory_bytes) {
        let bytes = item.blob.read_vec(0, len as usize)?;
        let text = crate::scanners::json::python_json_text(&bytes);
        let mut de = serde_json::Deserializer::from_slice(&text);
        serde::de::DeserializeSeed::deserialize(seed, &mut de).and_then(|v| de.end().map(|()| v))
    } else {
        let reader = std::io::BufReader::with_capacity(64 << 10, item.blob.reader());
        let mut de = serde_json::Deserializer::from_reader(reader);
        serde::de::DeserializeSeed::deserialize(seed, &mut de).and_then(|v| de.end().map(|()| v))
    };
    let doc = match parsed {
        Ok(v) => v,
        Err(e) if e.is_io() => return Err(ScanError::Io(e.into())),
        Err(_) => return Ok(()),
    };
    if doc.get("learner").is_none() || doc.get("version").is_none() {
        return Ok(());
    }
    check_model(&doc).map_err(|why| ScanError::malformed("xgboost", None, why))
}

/// What makes a document an XGBoost model to `LearnerIO::LoadModel` (`src/learner.cc`): the
/// parts it reads before anything else.
pub fn check_model(doc: &Value) -> Result<(), String> {
    let Value::Object(_) = doc else {
        return Err("the document is not an object".into());
    };
    let version = doc
        .get("version")
        .ok_or("the document has no \"version\"")?;
    match version {
        Value::Array(parts)
            if !parts.is_empty() && parts.iter().all(|p| matches!(p, Value::Int(n) if *n >= 0)) => {
        }
        _ => return Err("\"version\" is not a list of version numbers".into()),
    }
    let learner = doc
        .get("learner")
        .ok_or("the document has no \"learner\"")?;
    if !matches!(learner, Value::Object(_)) {
        return Err("\"learner\" is not an object".into());
    }
    for part in ["gradient_booster", "objective"] {
        let named = learner
            .get(part)
            .ok_or_else(|| format!("\"learner\" has no \"{part}\""))?;
        if !matches!(named.get("name"), Some(Value::Str(_))) {
            return Err(format!("\"learner.{part}\" has no \"name\""));
        }
    }
    match learner.get("learner_model_param") {
        Some(Value::Object(_)) => Ok(()),
        _ => Err("\"learner\" has no \"learner_model_param\" object".into()),
    }
}

/// The first key of a JSON object text (`{"learner": ...` -> `learner`), if it is a plain
/// string (no escapes).
fn first_json_key(text: &[u8]) -> Option<&str> {
    let rest = text.trim_ascii_start().strip_prefix(b"{")?;
    let rest = rest.trim_ascii_start().strip_prefix(b"\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    if rest.get(end) != Some(&b'"') {
        return None;
    }
    std::str::from_utf8(rest.get(..end)?).ok()
}

/// Whether `head` starts an XGBoost UBJSON model: an object whose first key (a length-prefixed
/// string, XGBoost writes `L` lengths) is `learner` or `version`.
pub fn looks_like_xgboost_ubj(head: &[u8]) -> bool {
    let Some(rest) = head.strip_prefix(b"{") else {
        return false;
    };
    let (len, key) = match rest.split_first() {
        Some((b'i' | b'U', r)) => (r.first().map(|&b| u64::from(b)), r.get(1..)),
        Some((b'I', r)) => (
            r.get(..2)
                .map(|b| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x))),
            r.get(2..),
        ),
        Some((b'l', r)) => (
            r.get(..4)
                .map(|b| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x))),
            r.get(4..),
        ),
        Some((b'L', r)) => (
            r.get(..8)
                .map(|b| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x))),
            r.get(8..),
        ),
        _ => return false,
    };
    match (len, key) {
        (Some(7), Some(k)) => k.starts_with(b"learner") || k.starts_with(b"version"),
        _ => false,
    }
}

/// serde reading of a JSON document into `Value`, keeping the top `KEEP_DEPTH` levels.
mod json_seed {
    use super::{KEEP_DEPTH, MAX_KEPT, Value};
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    pub struct Seed<'k> {
        pub depth: u32,
        pub kept: &'k mut usize,
    }

    impl<'de> DeserializeSeed<'de> for Seed<'_> {
        type Value = Value;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
            if self.depth > KEEP_DEPTH || *self.kept >= MAX_KEPT {
                d.deserialize_ignored_any(IgnoredAny)?;
                return Ok(Value::Elided);
            }
            *self.kept += 1;
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Seed<'_> {
        type Value = Value;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
            Ok(Value::Bool(b))
        }
        fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
            Ok(Value::Int(n))
        }
        fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
            Ok(i64::try_from(n).map_or(Value::Float(n as f64), Value::Int))
        }
        fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
            Ok(Value::Float(n))
        }
        fn visit_str<E>(self, s: &str) -> Result<Value, E> {
            Ok(if s.len() > 4096 {
                Value::Elided
            } else {
                Value::Str(s.to_string())
            })
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            loop {
                let seed = Seed {
                    depth: self.depth + 1,
                    kept: &mut *self.kept,
                };
                match seq.next_element_seed(seed)? {
                    Some(v) if items.len() < 4096 => items.push(v),
                    Some(_) => {}
                    None => break,
                }
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut pairs = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                let seed = Seed {
                    depth: self.depth + 1,
                    kept: &mut *self.kept,
                };
                let v = map.next_value_seed(seed)?;
                if pairs.len() < 4096 {
                    pairs.push((key, v));
                }
            }
            Ok(Value::Object(pairs))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_of_a_json_object_is_found_without_parsing_the_rest() {
        assert_eq!(first_json_key(b" {\n \"learner\": {"), Some("learner"));
        assert_eq!(first_json_key(b"{\"lea\\u0072ner\": 1}"), None);
        assert_eq!(first_json_key(b"[\"learner\"]"), None);
    }

    #[test]
    fn a_ubjson_head_is_an_xgboost_model_by_its_first_key() {
        assert!(looks_like_xgboost_ubj(b"{L\0\0\0\0\0\0\0\x07learner{"));
        assert!(looks_like_xgboost_ubj(b"{i\x07version[#"));
        assert!(!looks_like_xgboost_ubj(b"{L\0\0\0\0\0\0\0\x05model{"));
        assert!(!looks_like_xgboost_ubj(b"{\"learner\": {}}"));
        assert!(!looks_like_xgboost_ubj(b"{L\0\0"));
    }
}
