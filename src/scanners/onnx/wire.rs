//! The shape of the ONNX messages of `proto.rs` for the protobuf pass (`protowire`): which
//! fields the scanner declares and which hold messages. `proto.rs` and this table must agree;
//! a test decodes every fixture both ways.

use crate::engine::blob::Blob;
pub use crate::scanners::protowire::{
    Census, Compact, CompactError, PROST_RECURSION_LIMIT, Schema, WireError,
};

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

impl Schema for Kind {
    fn child(self, field: u32) -> Option<Kind> {
        child(self, field)
    }
    fn declared(self, field: u32) -> bool {
        declared(self, field)
    }
}

/// The compact copy of the `ModelProto` in `blob` (`protowire::compact`).
pub fn compact(blob: &Blob, max_messages: u64, max_bytes: u64) -> Result<Compact, CompactError> {
    crate::scanners::protowire::compact(blob, Kind::Model, max_messages, max_bytes)
}

/// The census of a model held in memory (tests and fuzzing).
pub fn census(buf: &[u8], max_messages: u64) -> Result<Census, CompactError> {
    compact(&Blob::from_vec(buf.to_vec()), max_messages, u64::MAX).map(|c| c.census)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-delimited field: its one-byte key, then `body` with its length.
    fn field(key: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![key];
        crate::scanners::protowire::put_varint(&mut m, body.len() as u64);
        m.extend(body);
        m
    }

    #[test]
    fn empty_nodes_are_counted_without_allocating() {
        // ModelProto { graph (7): GraphProto { node (1) x 1000, empty } }
        let mut graph = Vec::new();
        for _ in 0..1000 {
            graph.extend([0x0a, 0x00]);
        }
        let model = field(0x3a, &graph);
        let c = census(&model, u64::MAX).unwrap();
        assert_eq!(c.messages, 1002);
        assert_eq!(c.depth, 3);
        assert!(census(&model, 500).is_err());
    }

    /// A model whose messages nest `depth` deep (Model, Graph, Node, Attribute, Graph, ...),
    /// with `inner` as the fields of the innermost one.
    fn nested(depth: u32, inner: &[u8]) -> Vec<u8> {
        let mut body = inner.to_vec();
        for d in (2..=depth).rev() {
            let tag: u8 = match (d, (d - 2) % 3) {
                (2, _) => 7,
                (_, 0) => 6,
                (_, 1) => 1,
                _ => 5,
            };
            body = field(tag << 3 | 2, &body);
        }
        body
    }

    #[test]
    fn the_pass_refuses_exactly_what_prost_refuses_at_the_recursion_limit() {
        use crate::scanners::onnx::proto::ModelProto;
        use prost::Message;
        // Field 99 is declared by no message.
        let inners: [&[u8]; 5] = [
            b"",
            b"\x98\x06\x01",                     // field 99, a varint
            b"\x9b\x06\x9c\x06",                 // an empty group 99
            b"\x9b\x06\x08\x01\x9c\x06",         // a group holding a varint
            b"\x9b\x06\x13\x08\x01\x14\x9c\x06", // a group in a group
        ];
        for inner in inners {
            for depth in 96..=104 {
                let bytes = nested(depth, inner);
                let prost_ok = ModelProto::decode(bytes.as_slice()).is_ok();
                let ours = compact(&Blob::from_vec(bytes.clone()), u64::MAX, u64::MAX);
                let copy_ok = ours
                    .as_ref()
                    .is_ok_and(|c| ModelProto::decode(c.bytes.as_slice()).is_ok());
                assert_eq!(ours.is_ok(), prost_ok, "depth {depth}, inner {inner:x?}");
                assert_eq!(copy_ok, prost_ok, "depth {depth}, inner {inner:x?}");
                if let Ok(c) = ours {
                    assert_eq!(c.census.depth, depth);
                }
            }
        }
    }

    #[test]
    fn keys_and_varints_prost_refuses_are_refused() {
        // A key past u32::MAX (field number 4093378243 of a 36-bit key) and a ten-byte
        // varint whose last byte overflows 64 bits.
        assert!(census(b"\x9d\xec\xff\xfe\x79\x00", u64::MAX).is_err());
        assert!(census(b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", u64::MAX).is_err());
        assert!(census(b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", u64::MAX).is_ok());
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
                inner = field(tag, &inner);
            }
        }
        assert!(census(&field(0x3a, &inner), u64::MAX).is_err());
    }
}
