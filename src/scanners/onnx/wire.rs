//! The pass over the protobuf wire format that runs before `prost` decodes an ONNX model. It
//! reads the model from its blob (never the whole file at once) and writes a compact copy that
//! holds only the fields `proto.rs` declares: tensor contents (`raw_data`, `float_data`, ...),
//! shapes, doc strings and every other undeclared field are skipped by seeking, not read, so a
//! multi-GB model with inline weights costs the size of its graph in memory. prost skips
//! undeclared fields, so decoding the compact copy gives the same messages as decoding the
//! file (a test checks it on the fixtures, a property test on mutated models).
//!
//! The pass also bounds the decode: prost allocates one struct per sub-message, so a file of
//! millions of two-byte empty nodes would cost about a hundred times its size in memory. It
//! counts the messages a decode would create and the nesting depth, and stops past the caps.
//! Wire-format errors found here are reported as malformed input, at their offset in the file
//! (prost would refuse the same bytes).

use std::io::{self, BufReader, Read};

use crate::engine::blob::{Blob, BlobReader};

/// The messages of `proto.rs` that hold other messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Model,
    Graph,
    Node,
    Attribute,
    Tensor,
    SparseTensor,
    Training,
    Function,
    /// A message with no declared message-typed fields (entries, opset ids).
    Leaf,
}

/// Which declared field of `kind` holds a message, and of what kind (`proto.rs` tags).
fn child(kind: Kind, field: u32) -> Option<Kind> {
    use Kind::*;
    Some(match (kind, field) {
        (Model, 7) => Graph,
        (Model, 8) => Leaf,
        (Model, 20) => Training,
        (Model, 25) => Function,
        (Graph, 1) => Node,
        (Graph, 5) => Tensor,
        (Graph, 15) => SparseTensor,
        (Node, 5) => Attribute,
        (Attribute, 5 | 10) => Tensor,
        (Attribute, 6 | 11) => Graph,
        (Attribute, 22 | 23) => SparseTensor,
        (Tensor, 13) => Leaf,
        (SparseTensor, 1 | 2) => Tensor,
        (Training, 1 | 2) => Graph,
        (Function, 7) => Node,
        (Function, 9) => Leaf,
        (Function, 11) => Attribute,
        _ => return None,
    })
}

/// Whether `proto.rs` declares `field` in `kind` (message-typed or not): the fields the
/// compact copy keeps.
fn declared(kind: Kind, field: u32) -> bool {
    use Kind::*;
    child(kind, field).is_some()
        || matches!(
            (kind, field),
            (Model, 1 | 2)
                | (Graph, 2)
                | (Node, 3 | 4 | 7)
                | (Attribute, 1 | 4)
                | (Tensor, 8 | 14)
                | (Function, 1 | 10 | 13)
                | (Leaf, 1 | 2)
        )
}

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

/// Writes the compact copy of the `ModelProto` in `blob`. Stops with an error once
/// `max_messages` messages are passed, the copy would pass `max_bytes`, or the nesting exceeds
/// prost's limit.
pub fn compact(blob: &Blob, max_messages: u64, max_bytes: u64) -> Result<Compact, CompactError> {
    let mut w = Walker {
        input: BufReader::with_capacity(64 * 1024, blob.reader()),
        pos: 0,
        out: Vec::new(),
        census: Census::default(),
        bytes_read: 0,
        max_messages,
        max_bytes: max_bytes.min(u64::from(u32::MAX)),
    };
    w.message(Kind::Model, blob.len(), 1)?;
    Ok(Compact {
        bytes: w.out,
        census: w.census,
        bytes_read: w.bytes_read,
    })
}

/// The census of a model held in memory (tests and fuzzing).
pub fn census(buf: &[u8], max_messages: u64) -> Result<Census, CompactError> {
    compact(&Blob::from_vec(buf.to_vec()), max_messages, u64::MAX).map(|c| c.census)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
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
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(err(start, "varint longer than 10 bytes"))
    }

    /// Walks the fields up to `end` as a message of `kind` at nesting `depth`, writing the
    /// declared ones to the output.
    fn message(&mut self, kind: Kind, end: u64, depth: u32) -> Result<(), CompactError> {
        if depth > PROST_RECURSION_LIMIT {
            return Err(err(self.pos, "messages nested more than 100 deep"));
        }
        self.census.messages += 1;
        self.census.depth = self.census.depth.max(depth);
        if self.census.messages > self.max_messages {
            return Err(CompactError::TooManyMessages {
                max: self.max_messages,
            });
        }
        while self.pos < end {
            let key_at = self.pos;
            let key = self.varint(end)?;
            let field =
                u32::try_from(key >> 3).map_err(|_| err(key_at, "field number too large"))?;
            if field == 0 {
                return Err(err(key_at, "field number 0"));
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
                    if let Some(k) = child(kind, field) {
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
                3 => self.skip_group(field, end, depth + 1)?,
                _ => return Err(err(key_at, format!("invalid wire type {}", key & 7))),
            };
            if declared(kind, field) {
                self.copy(key_at, stop)?;
            } else {
                self.seek(stop)?;
            }
        }
        Ok(())
    }

    /// Skips a proto2 group started by `field`; returns the position after its end tag.
    fn skip_group(&mut self, field: u32, end: u64, depth: u32) -> Result<u64, CompactError> {
        if depth > PROST_RECURSION_LIMIT {
            return Err(err(self.pos, "groups nested more than 100 deep"));
        }
        while self.pos < end {
            let key_at = self.pos;
            let key = self.varint(end)?;
            let inner =
                u32::try_from(key >> 3).map_err(|_| err(key_at, "field number too large"))?;
            let skip = match key & 7 {
                0 => {
                    self.varint(end)?;
                    0
                }
                1 => 8,
                5 => 4,
                2 => self.varint(end)?,
                3 => {
                    self.skip_group(inner, end, depth + 1)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_nodes_are_counted_without_allocating() {
        // ModelProto { graph (7): GraphProto { node (1) x 1000, empty } }
        let mut graph = Vec::new();
        for _ in 0..1000 {
            graph.extend([0x0a, 0x00]);
        }
        let mut model = vec![0x3a];
        let mut n = graph.len();
        while n >= 0x80 {
            model.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        model.push(n as u8);
        model.extend(graph);
        let c = census(&model, u64::MAX).unwrap();
        assert_eq!(c.messages, 1002);
        assert_eq!(c.depth, 3);
        assert!(census(&model, 500).is_err());
    }

    #[test]
    fn truncated_length_is_a_wire_error() {
        assert!(census(&[0x3a, 0x10, 0x0a], u64::MAX).is_err());
    }

    #[test]
    fn deep_graph_nesting_is_refused_like_prost_does() {
        // Graph.node (1) -> Node.attribute (5) -> Attribute.g (6) -> ... 40 times.
        let mut inner: Vec<u8> = Vec::new();
        for _ in 0..40 {
            for tag in [0x32u8, 0x2a, 0x0a] {
                let mut m = vec![tag];
                let mut n = inner.len();
                while n >= 0x80 {
                    m.push((n as u8 & 0x7f) | 0x80);
                    n >>= 7;
                }
                m.push(n as u8);
                m.extend(&inner);
                inner = m;
            }
        }
        let mut model = vec![0x3a];
        let mut n = inner.len();
        while n >= 0x80 {
            model.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        model.push(n as u8);
        model.extend(&inner);
        assert!(census(&model, u64::MAX).is_err());
    }
}
