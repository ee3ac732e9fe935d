//! A bounded reader of Universal Binary JSON (UBJSON draft 12, the format of XGBoost's `.ubj`
//! models, `src/common/json.cc` `UBJReader`): every value is read and checked, whatever its
//! depth, but only the top levels of the document are kept (`keep_depth`); deeper values, long
//! strings and long arrays are walked and dropped. Numbers are big-endian; strings and object
//! keys carry an integer length; containers may be typed (`$`) and counted (`#`).
//!
//! Bounds: nesting depth (`max_depth`), every count and length checked against the bytes left
//! in the item before anything is read or allocated, a cap on what is kept, and the file's time
//! budget. Nothing here allocates in proportion to a count read from the file.

use std::io::{self, BufRead, Read};

/// A kept UBJSON (or JSON) value. `Elided` stands for a value that was read and checked but not
/// kept (past `keep_depth`, or past the keep cap).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
    Elided,
}

impl Value {
    /// The value of `key` in an object (the last one, as a map built from the pairs keeps).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(pairs) => pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug)]
pub enum UbjError {
    /// Not valid UBJSON, at this offset.
    Malformed {
        offset: u64,
        reason: String,
    },
    /// A limit stopped the read.
    Limit {
        limit: &'static str,
        detail: String,
    },
    Io(io::Error),
}

/// What a read may use.
pub struct Bounds<'a> {
    pub max_depth: u32,
    /// Containers at this depth or deeper are read but not kept.
    pub keep_depth: u32,
    /// Values kept in all (strings count their bytes / 16): past it, values are elided.
    pub max_kept: usize,
    pub budget: &'a crate::limits::Budget,
}

/// Longest string kept; longer ones are read and dropped.
const MAX_KEPT_STRING: u64 = 4096;
/// Values between two checks of the time budget.
const TIME_CHECK_EVERY: u64 = 1 << 16;

struct Reader<'a, R> {
    input: R,
    offset: u64,
    len: u64,
    bounds: Bounds<'a>,
    kept: usize,
    /// Values read so far, and the count at which the time budget is checked next.
    values: u64,
    next_time_check: u64,
}

type Res<T> = Result<T, UbjError>;

/// Read the one document at the start of `input` (`len` bytes long). Bytes after it are left
/// unread, as XGBoost's reader leaves them.
pub fn read_document<R: BufRead>(input: R, len: u64, bounds: Bounds<'_>) -> Res<Value> {
    let mut r = Reader {
        input,
        offset: 0,
        len,
        bounds,
        kept: 0,
        values: 0,
        next_time_check: TIME_CHECK_EVERY,
    };
    let marker = r.marker()?;
    r.value(marker, 0)
}

impl<R: BufRead> Reader<'_, R> {
    fn malformed<T>(&self, reason: impl Into<String>) -> Res<T> {
        Err(UbjError::Malformed {
            offset: self.offset,
            reason: reason.into(),
        })
    }

    fn left(&self) -> u64 {
        self.len.saturating_sub(self.offset)
    }

    fn bytes<const N: usize>(&mut self) -> Res<[u8; N]> {
        let mut b = [0u8; N];
        match self.input.read_exact(&mut b) {
            Ok(()) => {
                self.offset += N as u64;
                Ok(b)
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.malformed("the document ends in the middle of a value")
            }
            Err(e) => Err(UbjError::Io(e)),
        }
    }

    fn byte(&mut self) -> Res<u8> {
        let [b] = self.bytes::<1>()?;
        Ok(b)
    }

    /// The next byte without consuming it.
    fn peek(&mut self) -> Res<u8> {
        match self.input.fill_buf() {
            Ok(buf) => match buf.first() {
                Some(&b) => Ok(b),
                None => self.malformed("the document ends inside a container"),
            },
            Err(e) => Err(UbjError::Io(e)),
        }
    }

    /// The next type marker, past the no-op markers (`N`) the spec allows between values.
    fn marker(&mut self) -> Res<u8> {
        loop {
            let b = self.byte()?;
            if b != b'N' {
                return Ok(b);
            }
        }
    }

    /// Skip `n` bytes, which must be there.
    fn skip(&mut self, n: u64) -> Res<()> {
        if n > self.left() {
            return self.malformed(format!(
                "a length of {n} bytes runs past the end of the document"
            ));
        }
        let copied =
            io::copy(&mut (&mut self.input).take(n), &mut io::sink()).map_err(UbjError::Io)?;
        self.offset += copied;
        if copied < n {
            return self.malformed("the document ends in the middle of a value");
        }
        Ok(())
    }

    /// An integer value of the given marker (a length, a count, or an `Int`).
    fn int_of(&mut self, marker: u8) -> Res<i64> {
        Ok(match marker {
            b'i' => i64::from(i8::from_be_bytes(self.bytes::<1>()?)),
            b'U' => i64::from(self.byte()?),
            b'I' => i64::from(i16::from_be_bytes(self.bytes::<2>()?)),
            b'l' => i64::from(i32::from_be_bytes(self.bytes::<4>()?)),
            b'L' => i64::from_be_bytes(self.bytes::<8>()?),
            m => {
                return self.malformed(format!(
                    "a length must be an integer, not {}",
                    marker_name(m)
                ));
            }
        })
    }

    /// A length or count: an integer marker and value, not negative.
    fn length(&mut self) -> Res<u64> {
        let m = self.byte()?;
        let n = self.int_of(m)?;
        u64::try_from(n).or_else(|_| self.malformed(format!("negative length {n}")))
    }

    /// A length-prefixed string: kept (and checked to be UTF-8) when short and `keep`, skipped
    /// otherwise.
    fn string_body(&mut self, keep: bool) -> Res<Option<String>> {
        let n = self.length()?;
        if !keep || n > MAX_KEPT_STRING {
            self.skip(n)?;
            return Ok(None);
        }
        if n > self.left() {
            return self.malformed(format!(
                "a string of {n} bytes runs past the end of the document"
            ));
        }
        let mut v = Vec::new();
        (&mut self.input)
            .take(n)
            .read_to_end(&mut v)
            .map_err(UbjError::Io)?;
        self.offset += v.len() as u64;
        if (v.len() as u64) < n {
            return self.malformed("the document ends in the middle of a string");
        }
        match String::from_utf8(v) {
            Ok(s) => Ok(Some(s)),
            Err(_) => self.malformed("a string is not valid UTF-8"),
        }
    }

    /// Whether one more value at `depth` may be kept (and count it).
    fn keep_one(&mut self, depth: u32) -> bool {
        if depth > self.bounds.keep_depth || self.kept >= self.bounds.max_kept {
            return false;
        }
        self.kept = self.kept.saturating_add(1);
        true
    }

    /// Count `n` values read, checking the time budget every `TIME_CHECK_EVERY` values.
    fn tick(&mut self, n: u64) -> Res<()> {
        self.values = self.values.saturating_add(n);
        if self.values >= self.next_time_check {
            self.next_time_check = self.values.saturating_add(TIME_CHECK_EVERY);
            if let Err(hit) = self.bounds.budget.check_time() {
                return Err(UbjError::Limit {
                    limit: hit.limit,
                    detail: hit.detail,
                });
            }
        }
        Ok(())
    }

    /// The value whose marker was just read, at `depth` (the document is depth 0).
    fn value(&mut self, marker: u8, depth: u32) -> Res<Value> {
        self.tick(1)?;
        let keep = self.keep_one(depth);
        let v = match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::Int(self.int_of(marker)?),
            b'd' => Value::Float(f64::from(f32::from_be_bytes(self.bytes::<4>()?))),
            b'D' => Value::Float(f64::from_be_bytes(self.bytes::<8>()?)),
            b'C' => {
                let b = self.byte()?;
                if !b.is_ascii() {
                    return self.malformed("a char value is not ASCII");
                }
                Value::Str(char::from(b).to_string())
            }
            b'S' | b'H' => match self.string_body(keep)? {
                Some(s) => {
                    self.kept = self.kept.saturating_add(s.len() / 16);
                    Value::Str(s)
                }
                None => Value::Elided,
            },
            b'[' => self.container(depth, false)?,
            b'{' => self.container(depth, true)?,
            m => {
                self.offset = self.offset.saturating_sub(1);
                return self.malformed(format!("unknown type marker {}", marker_name(m)));
            }
        };
        Ok(if keep { v } else { Value::Elided })
    }

    /// An array or object whose opening bracket was just read: plain (closed by `]`/`}`),
    /// counted (`#`), or typed and counted (`$` type `#`).
    fn container(&mut self, depth: u32, object: bool) -> Res<Value> {
        let inner = depth + 1;
        if inner > self.bounds.max_depth {
            return Err(UbjError::Limit {
                limit: "max_nesting_depth",
                detail: format!(
                    "UBJSON containers nested more than {} levels deep",
                    self.bounds.max_depth
                ),
            });
        }
        let keep = inner <= self.bounds.keep_depth;
        let mut kept = Kept::default();
        let mut elem_type = None;
        let mut counted = false;
        match self.peek()? {
            b'$' => {
                self.byte()?;
                let t = self.byte()?;
                if matches!(t, b'[' | b'{' | b'N' | b'$' | b'#' | b']' | b'}') {
                    return self.malformed(format!(
                        "{} cannot be the type of a typed container",
                        marker_name(t)
                    ));
                }
                elem_type = Some(t);
                if self.byte()? != b'#' {
                    return self.malformed("a typed container without a count ('#')");
                }
                counted = true;
            }
            b'#' => {
                self.byte()?;
                counted = true;
            }
            _ => {}
        }
        if !counted {
            let close = if object { b'}' } else { b']' };
            loop {
                // No-op markers may stand between elements.
                while self.peek()? == b'N' {
                    self.byte()?;
                }
                if self.peek()? == close {
                    self.byte()?;
                    break;
                }
                let key = if object {
                    self.string_body(keep)?
                } else {
                    None
                };
                let m = self.marker()?;
                let v = self.value(m, inner)?;
                if keep && self.kept < self.bounds.max_kept {
                    kept.push(object, key, v);
                }
            }
            return Ok(kept.into_value(object));
        }
        let n = self.length()?;
        // Every element takes at least one byte (a fixed-size typed element its size, an object
        // entry its key too): a count the bytes left cannot hold is refused before anything is
        // read, so no loop runs longer than the document is long.
        let size = elem_type.and_then(fixed_size);
        let per_element = size.unwrap_or(1).max(1) + u64::from(object);
        if n > self.left() / per_element {
            return self.malformed(format!(
                "a count of {n} elements does not fit in the {} bytes left",
                self.left()
            ));
        }
        if let (false, false, Some(size)) = (keep, object, size) {
            // A typed array of numbers that is not kept (XGBoost's tree arrays): one skip.
            self.skip(n.saturating_mul(size))?;
            return self.tick(n).map(|()| Value::Elided);
        }
        for _ in 0..n {
            let key = if object {
                self.string_body(keep)?
            } else {
                None
            };
            let m = match elem_type {
                Some(t) => t,
                None => self.marker()?,
            };
            let v = self.value(m, inner)?;
            if keep && self.kept < self.bounds.max_kept {
                kept.push(object, key, v);
            }
        }
        Ok(kept.into_value(object))
    }
}

/// Elements kept of one container, at most `MAX_KEPT_ELEMENTS`.
#[derive(Default)]
struct Kept {
    items: Vec<Value>,
    pairs: Vec<(String, Value)>,
}

/// Elements kept per container: the model check reads a few keys and a three-number version.
const MAX_KEPT_ELEMENTS: usize = 4096;

impl Kept {
    fn push(&mut self, object: bool, key: Option<String>, v: Value) {
        if object {
            if self.pairs.len() < MAX_KEPT_ELEMENTS {
                self.pairs.push((key.unwrap_or_default(), v));
            }
        } else if self.items.len() < MAX_KEPT_ELEMENTS {
            self.items.push(v);
        }
    }

    fn into_value(self, object: bool) -> Value {
        if object {
            Value::Object(self.pairs)
        } else {
            Value::Array(self.items)
        }
    }
}

/// Bytes of one element of a typed container of type `t` (no marker), when fixed.
fn fixed_size(t: u8) -> Option<u64> {
    match t {
        b'Z' | b'T' | b'F' => Some(0),
        b'i' | b'U' | b'C' => Some(1),
        b'I' => Some(2),
        b'l' | b'd' => Some(4),
        b'L' | b'D' => Some(8),
        _ => None,
    }
}

/// A marker byte as text for a message (`'x'` or `0x07`).
fn marker_name(m: u8) -> String {
    if m.is_ascii_graphic() {
        format!("'{}'", char::from(m))
    } else {
        format!("0x{m:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Budget;

    fn read(doc: &[u8]) -> Res<Value> {
        let budget = Budget::unlimited();
        let bounds = Bounds {
            max_depth: 16,
            keep_depth: 3,
            max_kept: 1000,
            budget: &budget,
        };
        read_document(doc, doc.len() as u64, bounds)
    }

    fn key(k: &str) -> Vec<u8> {
        let mut v = vec![b'i', k.len() as u8];
        v.extend_from_slice(k.as_bytes());
        v
    }

    #[test]
    fn plain_counted_and_typed_containers_read_alike() {
        let mut doc = b"{".to_vec();
        doc.extend(key("a"));
        doc.extend(b"[i\x01U\xffI\x01\x00]");
        doc.extend(key("b"));
        doc.extend(b"[#i\x02Si\x02hiZ");
        doc.extend(key("c"));
        doc.extend(b"[$l#i\x02\x00\x00\x00\x07\xff\xff\xff\xff");
        doc.extend(key("d"));
        doc.extend(b"{$T#i\x01");
        doc.extend(key("t"));
        doc.extend(b"N}");
        let v = read(&doc).unwrap();
        assert_eq!(
            v.get("a"),
            Some(&Value::Array(vec![
                Value::Int(1),
                Value::Int(255),
                Value::Int(256)
            ]))
        );
        assert_eq!(
            v.get("b"),
            Some(&Value::Array(vec![Value::Str("hi".into()), Value::Null]))
        );
        assert_eq!(
            v.get("c"),
            Some(&Value::Array(vec![Value::Int(7), Value::Int(-1)]))
        );
        assert_eq!(
            v.get("d"),
            Some(&Value::Object(vec![("t".into(), Value::Bool(true))]))
        );
    }

    #[test]
    fn deep_typed_arrays_are_skipped_in_one_read_and_checked_for_length() {
        // Depth 4 (past keep_depth): read, not kept.
        let doc = b"[[[[$d#i\x02\x3f\x80\x00\x00\x40\x00\x00\x00]]]]";
        let v = read(doc).unwrap();
        assert_eq!(
            v,
            Value::Array(vec![Value::Array(vec![Value::Array(vec![Value::Elided])])])
        );
        // One float short.
        let doc = b"[[[[$d#i\x02\x3f\x80\x00\x00]]]]";
        assert!(matches!(read(doc), Err(UbjError::Malformed { .. })));
    }

    #[test]
    fn counts_and_lengths_the_document_cannot_hold_are_refused_before_reading() {
        for doc in [
            &b"[#L\x7f\xff\xff\xff\xff\xff\xff\xffZ"[..],
            b"[$Z#L\x00\x00\x00\x00\xff\xff\xff\xff",
            b"SL\x00\x00\x00\x00\xff\xff\xff\xffabc",
            b"Si\xffabc",
            b"{#i\x05}",
        ] {
            match read(doc) {
                Err(UbjError::Malformed { .. }) => {}
                other => panic!("{doc:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_markers_and_unclosed_containers_are_malformed() {
        for doc in [
            &b"X"[..],
            b"[",
            b"{i\x01a",
            b"[$[#i\x01",
            b"[$i i\x01",
            b"Si\x01\xff",
        ] {
            assert!(
                matches!(read(doc), Err(UbjError::Malformed { .. })),
                "{doc:?}"
            );
        }
        let deep = vec![b'['; 64];
        assert!(matches!(read(&deep), Err(UbjError::Limit { .. })));
    }

    #[test]
    fn every_prefix_of_a_real_model_is_malformed_never_a_panic() {
        let model = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/xgboost/benign/booster_binary_logistic.ubj"
        ))
        .unwrap();
        assert!(read(&model).is_ok());
        for cut in 0..model.len() {
            assert!(
                matches!(read(&model[..cut]), Err(UbjError::Malformed { .. })),
                "cut at {cut}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        #[test]
        fn corrupted_models_never_panic(
            edits in proptest::collection::vec((0usize..2400, proptest::num::u8::ANY), 1..8),
        ) {
            let mut bytes = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/xgboost/benign/booster_binary_logistic.ubj"
            ))
            .unwrap();
            for (at, v) in edits {
                if let Some(b) = bytes.get_mut(at) {
                    *b = v;
                }
            }
            let _ = read(&bytes);
        }
    }
}
