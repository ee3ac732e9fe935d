//! A pass over the protobuf wire format that runs before `prost` decodes a message from a
//! file (ONNX models, TensorFlow SavedModels and frozen graphs, Keras metadata). It reads the
//! message from its blob (never the whole file at once) and writes a compact copy that holds
//! only the fields the hand-written `prost` messages declare: tensor contents, shapes, doc
//! strings and every other undeclared field are skipped by seeking, not read, so a multi-GB
//! file costs the size of what the scanner reads in memory. prost skips undeclared fields, so
//! decoding the compact copy gives the same message as decoding the file (each scanner tests
//! it on its fixtures, with a property test on mutated files).
//!
//! The pass also bounds the decode: prost allocates one struct per sub-message, so a file of
//! millions of two-byte empty messages would cost about a hundred times its size in memory. It
//! counts the messages a decode would create and the nesting depth, and stops past the caps.
//! Wire-format errors found here are reported as malformed input, at their offset in the file
//! (prost would refuse the same bytes).

use std::io::{self, BufReader, Read};

use crate::engine::blob::{Blob, BlobReader};
use crate::error::ScanError;
use crate::limits::LimitHit;

/// The shape of a hand-written `prost` message: which fields it declares, and which of those
/// hold messages (of which kind). `child` must name every message-typed field the decode
/// allocates for, or the census undercounts; `declared` the other declared fields, or the
/// decode loses them.
pub trait Schema: Copy {
    fn child(self, field: u32) -> Option<Self>;
    fn declared(self, field: u32) -> bool;
}

/// Bytes of memory one decoded message may take (the largest hand-written struct plus its share
/// of vector growth); `max_in_memory_bytes / BYTES_PER_MESSAGE` messages are allowed.
pub const BYTES_PER_MESSAGE: u64 = 256;

/// What the pass found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    /// Messages a decode would allocate.
    pub messages: u64,
    /// Deepest message nesting (the model itself is depth 1).
    pub depth: u32,
}

/// The compact copy of a model and what it took.
#[derive(Debug)]
pub struct Compact {
    /// The declared fields only, in their order; decodes as the file does.
    pub bytes: Vec<u8>,
    pub census: Census,
    /// Bytes of the file the pass read (skipped fields are not read).
    pub bytes_read: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub offset: u64,
    pub reason: String,
}

#[derive(Debug)]
pub enum CompactError {
    /// The bytes are not a valid protobuf.
    Wire(WireError),
    /// More than `max_messages` messages.
    TooManyMessages {
        max: u64,
    },
    /// The compact copy would pass `max_bytes`.
    TooLarge {
        max: u64,
    },
    Io(io::Error),
}

impl From<io::Error> for CompactError {
    fn from(e: io::Error) -> Self {
        CompactError::Io(e)
    }
}

fn err(offset: u64, reason: impl Into<String>) -> CompactError {
    CompactError::Wire(WireError {
        offset,
        reason: reason.into(),
    })
}

/// prost's own recursion limit (`RECURSION_LIMIT` in prost 0.14): deeper input fails to decode.
pub const PROST_RECURSION_LIMIT: u32 = 100;

/// Bytes a length placeholder takes: a varint padded to five bytes (prost reads non-minimal
/// varints), enough for any length under 2^35; compact copies stay under 4 GiB.
const LEN_BYTES: usize = 5;

struct Walker {
    input: BufReader<BlobReader>,
    /// Where `input` stands in the file.
    pos: u64,
    out: Vec<u8>,
    census: Census,
    bytes_read: u64,
    max_messages: u64,
    max_bytes: u64,
}

/// Writes the compact copy of the message of schema `root` in `blob`. Stops with an error once
/// `max_messages` messages are passed, the copy would pass `max_bytes`, or the nesting exceeds
/// prost's limit.
pub fn compact<S: Schema>(
    blob: &Blob,
    root: S,
    max_messages: u64,
    max_bytes: u64,
) -> Result<Compact, CompactError> {
    let mut w = Walker {
        input: BufReader::with_capacity(64 * 1024, blob.reader()),
        pos: 0,
        out: Vec::new(),
        census: Census::default(),
        bytes_read: 0,
        max_messages,
        max_bytes: max_bytes.min(u64::from(u32::MAX)),
    };
    w.message(root, blob.len(), 1)?;
    Ok(Compact {
        bytes: w.out,
        census: w.census,
        bytes_read: w.bytes_read,
    })
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

impl Walker {
    fn byte(&mut self) -> Result<u8, CompactError> {
        let mut b = [0u8; 1];
        self.input.read_exact(&mut b)?;
        self.pos += 1;
        self.bytes_read += 1;
        Ok(b[0])
    }

    /// Moves the input to `to` (forwards over a skipped field, or back to copy one).
    fn seek(&mut self, to: u64) -> Result<(), CompactError> {
        if to != self.pos {
            let delta = i64::try_from(i128::from(to) - i128::from(self.pos))
                .map_err(|_| err(self.pos, "offset too large"))?;
            self.input.seek_relative(delta)?;
            self.pos = to;
        }
        Ok(())
    }

    /// Reserves `n` more bytes of output, or fails with the size cap.
    fn room(&mut self, n: u64) -> Result<(), CompactError> {
        let total = (self.out.len() as u64).saturating_add(n);
        if total > self.max_bytes {
            return Err(CompactError::TooLarge {
                max: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Copies the file's bytes `[from, to)` to the output; the input ends at `to`.
    fn copy(&mut self, from: u64, to: u64) -> Result<(), CompactError> {
        let n = to.saturating_sub(from);
        self.room(n)?;
        self.seek(from)?;
        let copied = (&mut self.input).take(n).read_to_end(&mut self.out)? as u64;
        self.pos += copied;
        self.bytes_read += copied;
        if copied != n {
            return Err(err(from, "field runs past the end of the data"));
        }
        Ok(())
    }

    /// Reads a varint that must end before `end`.
    fn varint(&mut self, end: u64) -> Result<u64, CompactError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10u32 {
            if self.pos >= end {
                return Err(err(start, "varint runs past the end of the data"));
            }
            let b = self.byte()?;
            // The tenth byte holds bit 63 only; prost refuses more (an overflow).
            if i == 9 && b > 1 {
                return Err(err(start, "varint overflows 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(err(start, "varint longer than 10 bytes"))
    }

    /// Reads a field key: where it starts, the key, its field number. prost refuses a key
    /// past `u32::MAX` (field numbers have 29 bits) and field 0.
    fn key(&mut self, end: u64) -> Result<(u64, u64, u32), CompactError> {
        let key_at = self.pos;
        let key = self.varint(end)?;
        match u32::try_from(key).map(|k| k >> 3) {
            Ok(0) => Err(err(key_at, "field number 0")),
            Ok(field) => Ok((key_at, key, field)),
            Err(_) => Err(err(key_at, "field number too large")),
        }
    }

    /// Walks the fields up to `end` as a message of `kind` at nesting `depth`, writing the
    /// declared ones to the output. prost's recursion budget at depth `d` is `101 - d`: it may
    /// enter a sub-message while the budget is not 0 (so messages nest 101 deep), and skipping
    /// an undeclared field also needs a budget that is not 0, one less inside each group. The
    /// pass refuses exactly what prost refuses, so that what it drops cannot change the
    /// outcome of the decode.
    fn message<S: Schema>(&mut self, kind: S, end: u64, depth: u32) -> Result<(), CompactError> {
        if depth > PROST_RECURSION_LIMIT + 1 {
            return Err(err(self.pos, "messages nested more than 100 deep"));
        }
        let budget = (PROST_RECURSION_LIMIT + 1).saturating_sub(depth);
        self.census.messages += 1;
        self.census.depth = self.census.depth.max(depth);
        if self.census.messages > self.max_messages {
            return Err(CompactError::TooManyMessages {
                max: self.max_messages,
            });
        }
        while self.pos < end {
            let (key_at, key, field) = self.key(end)?;
            let keep = kind.child(field).is_some() || kind.declared(field);
            if !keep && budget == 0 {
                return Err(err(key_at, "messages nested more than 100 deep"));
            }
            let past = || err(key_at, format!("field {field} runs past its message"));
            let stop = match key & 7 {
                0 => {
                    self.varint(end)?;
                    self.pos
                }
                1 | 5 => {
                    let width = if key & 7 == 1 { 8 } else { 4 };
                    self.pos
                        .checked_add(width)
                        .filter(|&s| s <= end)
                        .ok_or_else(past)?
                }
                2 => {
                    let len = self.varint(end)?;
                    let stop = self
                        .pos
                        .checked_add(len)
                        .filter(|&s| s <= end)
                        .ok_or_else(past)?;
                    if let Some(k) = kind.child(field) {
                        self.room(1 + 10 + LEN_BYTES as u64)?;
                        put_varint(&mut self.out, key);
                        let at = self.out.len();
                        self.out.extend([0x80, 0x80, 0x80, 0x80, 0x00]);
                        self.message(k, stop, depth + 1)?;
                        let n = self.out.len() - at - LEN_BYTES;
                        if let Some(slot) = self.out.get_mut(at..at + LEN_BYTES) {
                            for (i, b) in slot.iter_mut().enumerate() {
                                let bits = (n >> (7 * i)) as u8 & 0x7f;
                                *b = if i + 1 < LEN_BYTES { bits | 0x80 } else { bits };
                            }
                        }
                        continue;
                    }
                    stop
                }
                3 => self.skip_group(field, end, budget.saturating_sub(1))?,
                _ => return Err(err(key_at, format!("invalid wire type {}", key & 7))),
            };
            if keep {
                self.copy(key_at, stop)?;
            } else {
                self.seek(stop)?;
            }
        }
        Ok(())
    }

    /// Skips a proto2 group started by `field`; returns the position after its end tag.
    /// `budget` is prost's recursion budget for the fields inside (see `message`).
    fn skip_group(&mut self, field: u32, end: u64, budget: u32) -> Result<u64, CompactError> {
        while self.pos < end {
            let (key_at, key, inner) = self.key(end)?;
            if key & 7 != 4 && budget == 0 {
                return Err(err(key_at, "groups nested more than 100 deep"));
            }
            let skip = match key & 7 {
                0 => {
                    self.varint(end)?;
                    0
                }
                1 => 8,
                5 => 4,
                2 => self.varint(end)?,
                3 => {
                    self.skip_group(inner, end, budget - 1)?;
                    0
                }
                4 if inner == field => return Ok(self.pos),
                _ => return Err(err(key_at, "unexpected wire type in group")),
            };
            let to = self.pos.saturating_add(skip);
            if to > end {
                break;
            }
            self.seek(to)?;
        }
        Err(err(self.pos, "group without its end tag"))
    }
}

impl CompactError {
    /// The scan error for `format`: the caps are `max_in_memory_bytes` limits, wire errors
    /// malformed input.
    pub fn into_scan_error(self, format: &'static str) -> ScanError {
        match self {
            CompactError::TooManyMessages { max } => ScanError::Limit(LimitHit {
                limit: "max_in_memory_bytes",
                detail: format!(
                    "the {format} file holds more than {max} protobuf messages (decoding them \
                     would pass the memory cap)"
                ),
            }),
            CompactError::TooLarge { max } => ScanError::Limit(LimitHit {
                limit: "max_in_memory_bytes",
                detail: format!(
                    "what the {format} scanner reads of the file, without its tensor data, \
                     takes more than {max} bytes"
                ),
            }),
            CompactError::Wire(e) => ScanError::malformed(
                format,
                Some(e.offset),
                format!("not a valid protobuf: {}", e.reason),
            ),
            CompactError::Io(e) => ScanError::Io(e),
        }
    }
}

/// Compacts `blob` with the memory cap `max_in_memory_bytes` (messages and bytes) and decodes
/// the copy as `M`; returns the message and the bytes of the file read.
pub fn decode<M: prost::Message + Default, S: Schema>(
    blob: &Blob,
    root: S,
    max_in_memory_bytes: u64,
) -> Result<(Result<M, prost::DecodeError>, u64), CompactError> {
    let max_messages = (max_in_memory_bytes / BYTES_PER_MESSAGE).max(1);
    let c = compact(blob, root, max_messages, max_in_memory_bytes)?;
    Ok((M::decode(c.bytes.as_slice()), c.bytes_read))
}

/// Whether `bytes` is one well-formed protobuf message of any schema: every key has a valid
/// field number and wire type, every varint ends, every length stays inside the message, and
/// groups close. (Length-delimited fields are not looked into.) Used to tell another protobuf
/// (an ONNX TensorProto saved as `.pb`) from a damaged TensorFlow file.
pub fn is_well_formed(bytes: &[u8]) -> bool {
    fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let c = *b.get(*i)?;
            *i += 1;
            v |= u64::from(c & 0x7f) << shift;
            if c & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut i = 0usize;
    let mut groups: Vec<u64> = Vec::new();
    while i < bytes.len() {
        let Some(key) = varint(bytes, &mut i) else {
            return false;
        };
        let field = key >> 3;
        if field == 0 || field > 536_870_911 {
            return false;
        }
        match key & 7 {
            0 => {
                if varint(bytes, &mut i).is_none() {
                    return false;
                }
            }
            1 => i = i.saturating_add(8),
            2 => {
                let Some(n) = varint(bytes, &mut i) else {
                    return false;
                };
                i = i.saturating_add(usize::try_from(n).unwrap_or(usize::MAX));
            }
            3 => {
                if groups.len() > 64 {
                    return false;
                }
                groups.push(field);
            }
            4 => {
                if groups.pop() != Some(field) {
                    return false;
                }
            }
            5 => i = i.saturating_add(4),
            _ => return false,
        }
        if i > bytes.len() {
            return false;
        }
    }
    groups.is_empty()
}
