//! Hand-written `prost` messages for the parts of TensorFlow's protobufs the scanners read:
//! `SavedModel` (saved_model.proto, meta_graph.proto, graph.proto, node_def.proto,
//! function.proto, attr_value.proto, tensor.proto, op_def.proto) and tf_keras'
//! `SavedMetadata` (keras_metadata.pb). Field numbers follow those `.proto` files. Every
//! `string` is declared as `bytes` so that a hostile non-UTF-8 name cannot fail the whole
//! decode; undeclared fields (weights in `tensor_content`, shapes, versions) are skipped by the
//! decoder without being copied.

/// `tensorflow.SavedModel`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SavedModel {
    #[prost(int64, tag = "1")]
    pub saved_model_schema_version: i64,
    #[prost(message, repeated, tag = "2")]
    pub meta_graphs: Vec<MetaGraphDef>,
}

/// `tensorflow.MetaGraphDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetaGraphDef {
    #[prost(message, optional, tag = "1")]
    pub meta_info_def: Option<MetaInfoDef>,
    #[prost(message, optional, tag = "2")]
    pub graph_def: Option<GraphDef>,
}

/// `tensorflow.MetaGraphDef.MetaInfoDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetaInfoDef {
    #[prost(bytes = "vec", tag = "1")]
    pub meta_graph_version: Vec<u8>,
    #[prost(message, optional, tag = "2")]
    pub stripped_op_list: Option<OpList>,
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub tags: Vec<Vec<u8>>,
    #[prost(bytes = "vec", tag = "5")]
    pub tensorflow_version: Vec<u8>,
}

/// `tensorflow.GraphDef` (also the whole content of a frozen-graph `.pb`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphDef {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeDef>,
    #[prost(message, optional, tag = "2")]
    pub library: Option<FunctionDefLibrary>,
}

/// `tensorflow.NodeDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeDef {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub op: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub input: Vec<Vec<u8>>,
    #[prost(bytes = "vec", tag = "4")]
    pub device: Vec<u8>,
    /// `map<string, AttrValue> attr = 5`, read as its wire form (repeated key/value entries).
    #[prost(message, repeated, tag = "5")]
    pub attr: Vec<AttrEntry>,
}

/// One entry of a protobuf map: `key = 1`, `value = 2`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttrEntry {
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AttrValue>,
}

/// `tensorflow.AttrValue` (a oneof; only the members the scanner reads).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttrValue {
    #[prost(message, optional, tag = "1")]
    pub list: Option<ListValue>,
    #[prost(bytes = "vec", tag = "2")]
    pub s: Vec<u8>,
    #[prost(message, optional, tag = "8")]
    pub tensor: Option<TensorProto>,
    #[prost(message, optional, tag = "10")]
    pub func: Option<NameAttrList>,
}

/// `tensorflow.AttrValue.ListValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListValue {
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub s: Vec<Vec<u8>>,
}

/// `tensorflow.TensorProto`: the dtype and string values only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
}

/// `tensorflow.NameAttrList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NameAttrList {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
}

/// `tensorflow.FunctionDefLibrary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionDefLibrary {
    #[prost(message, repeated, tag = "1")]
    pub function: Vec<FunctionDef>,
}

/// `tensorflow.FunctionDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionDef {
    #[prost(message, optional, tag = "1")]
    pub signature: Option<OpDef>,
    #[prost(message, repeated, tag = "3")]
    pub node_def: Vec<NodeDef>,
}

/// `tensorflow.OpDef`: the name only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpDef {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
}

/// `tensorflow.OpList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpList {
    #[prost(message, repeated, tag = "1")]
    pub op: Vec<OpDef>,
}

/// tf_keras `third_party.tensorflow.python.keras.protobuf.SavedMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SavedMetadata {
    #[prost(message, repeated, tag = "1")]
    pub nodes: Vec<SavedObject>,
}

/// tf_keras `SavedObject`: one layer, model or metric with its JSON metadata.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SavedObject {
    #[prost(int32, tag = "2")]
    pub node_id: i32,
    #[prost(bytes = "vec", tag = "3")]
    pub node_path: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    pub identifier: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    pub metadata: Vec<u8>,
}

impl NodeDef {
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attr
            .iter()
            .rev()
            .find(|e| e.key == key.as_bytes())
            .and_then(|e| e.value.as_ref())
    }
}

pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The messages above, for the protobuf pass (`protowire`) that runs before a decode. A field
/// declared above and missing here would be dropped from the compact copy: the tests decode
/// every fixture both ways, and mutated ones too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SavedModel,
    MetaGraph,
    MetaInfo,
    Graph,
    Node,
    AttrEntry,
    AttrValue,
    ListValue,
    Tensor,
    NameAttrList,
    Library,
    Function,
    OpDef,
    OpList,
    SavedMetadata,
    SavedObject,
}

impl crate::scanners::protowire::Schema for Kind {
    fn child(self, field: u32) -> Option<Kind> {
        use Kind::*;
        Some(match (self, field) {
            (SavedModel, 2) => MetaGraph,
            (MetaGraph, 1) => MetaInfo,
            (MetaGraph, 2) => Graph,
            (MetaInfo, 2) => OpList,
            (Graph, 1) => Node,
            (Graph, 2) => Library,
            (Node, 5) => AttrEntry,
            (AttrEntry, 2) => AttrValue,
            (AttrValue, 1) => ListValue,
            (AttrValue, 8) => Tensor,
            (AttrValue, 10) => NameAttrList,
            (Library, 1) => Function,
            (Function, 1) => OpDef,
            (Function, 3) => Node,
            (OpList, 1) => OpDef,
            (SavedMetadata, 1) => SavedObject,
            _ => return None,
        })
    }

    fn declared(self, field: u32) -> bool {
        use Kind::*;
        matches!(
            (self, field),
            (SavedModel, 1)
                | (MetaInfo, 1 | 4 | 5)
                | (Node, 1..=4)
                | (AttrEntry, 1)
                | (AttrValue, 2)
                | (ListValue, 2)
                | (Tensor, 1 | 8)
                | (NameAttrList, 1)
                | (OpDef, 1)
                | (SavedObject, 2..=5)
        )
    }
}
