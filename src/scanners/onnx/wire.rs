//! A counting pass over the protobuf wire format, run before `prost` decodes an ONNX model.
//! prost allocates one struct per sub-message, so a file of millions of two-byte empty nodes
//! would cost about a hundred times its size in memory. This pass walks exactly the
//! message-typed fields that `proto.rs` declares, counts the messages a decode would create and
//! the nesting depth, and allocates nothing. Wire-format errors found here are reported as
//! malformed input (prost would refuse the same bytes).

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

/// What the counting pass found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    /// Messages a decode would allocate.
    pub messages: u64,
    /// Deepest message nesting (the model itself is depth 1).
    pub depth: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub offset: u64,
    pub reason: String,
}

fn err(offset: usize, reason: impl Into<String>) -> WireError {
    WireError {
        offset: offset as u64,
        reason: reason.into(),
    }
}

/// prost's own recursion limit (`RECURSION_LIMIT` in prost 0.14): deeper input fails to decode.
pub const PROST_RECURSION_LIMIT: u32 = 100;

struct Walker<'a> {
    buf: &'a [u8],
    census: Census,
    max_messages: u64,
}

/// Counts the messages `ModelProto::decode(buf)` would allocate. Stops with an error once
/// `max_messages` is passed or the nesting exceeds prost's limit.
pub fn census(buf: &[u8], max_messages: u64) -> Result<Census, WireError> {
    let mut w = Walker {
        buf,
        census: Census::default(),
        max_messages,
    };
    w.message(Kind::Model, 0, buf.len(), 1)?;
    Ok(w.census)
}

impl Walker<'_> {
    fn varint(&self, pos: &mut usize) -> Result<u64, WireError> {
        let start = *pos;
        let mut value = 0u64;
        for i in 0..10u32 {
            let b = *self
                .buf
                .get(*pos)
                .ok_or_else(|| err(start, "varint runs past the end of the data"))?;
            *pos += 1;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(err(start, "varint longer than 10 bytes"))
    }

    /// Walks the fields in `[start, end)` as a message of `kind` at nesting `depth`.
    fn message(
        &mut self,
        kind: Kind,
        start: usize,
        end: usize,
        depth: u32,
    ) -> Result<(), WireError> {
        if depth > PROST_RECURSION_LIMIT {
            return Err(err(start, "messages nested more than 100 deep"));
        }
        self.census.messages += 1;
        self.census.depth = self.census.depth.max(depth);
        if self.census.messages > self.max_messages {
            return Err(err(start, "too many protobuf messages"));
        }
        let mut pos = start;
        while pos < end {
            let key_at = pos;
            let key = self.varint(&mut pos)?;
            let field =
                u32::try_from(key >> 3).map_err(|_| err(key_at, "field number too large"))?;
            if field == 0 {
                return Err(err(key_at, "field number 0"));
            }
            match key & 7 {
                0 => {
                    self.varint(&mut pos)?;
                }
                1 => pos = pos.checked_add(8).ok_or_else(|| err(key_at, "overflow"))?,
                5 => pos = pos.checked_add(4).ok_or_else(|| err(key_at, "overflow"))?,
                2 => {
                    let len = self.varint(&mut pos)?;
                    let len = usize::try_from(len).map_err(|_| err(key_at, "length too large"))?;
                    let stop = pos.checked_add(len).filter(|&s| s <= end).ok_or_else(|| {
                        err(key_at, format!("field {field} runs past its message"))
                    })?;
                    if let Some(k) = child(kind, field) {
                        self.message(k, pos, stop, depth + 1)?;
                    }
                    pos = stop;
                }
                3 => pos = self.skip_group(field, pos, end, depth + 1)?,
                _ => return Err(err(key_at, format!("invalid wire type {}", key & 7))),
            }
            if pos > end {
                return Err(err(key_at, format!("field {field} runs past its message")));
            }
        }
        Ok(())
    }

    /// Skips a proto2 group started by `field`; returns the position after its end tag.
    fn skip_group(
        &mut self,
        field: u32,
        mut pos: usize,
        end: usize,
        depth: u32,
    ) -> Result<usize, WireError> {
        if depth > PROST_RECURSION_LIMIT {
            return Err(err(pos, "groups nested more than 100 deep"));
        }
        while pos < end {
            let key_at = pos;
            let key = self.varint(&mut pos)?;
            let inner =
                u32::try_from(key >> 3).map_err(|_| err(key_at, "field number too large"))?;
            match key & 7 {
                0 => {
                    self.varint(&mut pos)?;
                }
                1 => pos = pos.saturating_add(8),
                5 => pos = pos.saturating_add(4),
                2 => {
                    let len = self.varint(&mut pos)?;
                    let len = usize::try_from(len).map_err(|_| err(key_at, "length too large"))?;
                    pos = pos.saturating_add(len);
                }
                3 => pos = self.skip_group(inner, pos, end, depth + 1)?,
                4 if inner == field => return Ok(pos),
                _ => return Err(err(key_at, "unexpected wire type in group")),
            }
        }
        Err(err(pos, "group without its end tag"))
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
