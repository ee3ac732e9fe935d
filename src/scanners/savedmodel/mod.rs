//! TensorFlow SavedModel files (`Format::SavedModel`, any `.pb`), decoded with the hand-written
//! messages of `proto.rs`; nothing is imported from TensorFlow and no graph is run.
//!
//! * `SavedModelTensorflowOpScan` (ModelScan's name): `saved_model.pb` and frozen `GraphDef`
//!   files. Op names are collected from every graph node, from every function of the graph's
//!   library (TF2 exports keep their file ops only there) and from `stripped_op_list`; each op
//!   name is judged once against `ops.rs` and the settings' `unsafe_tf_operators`.
//!   `fingerprint.pb` is accepted and has nothing to check.
//! * `SavedModelLambdaDetectScan`: `keras_metadata.pb` (tf_keras `SavedMetadata`): the JSON
//!   metadata of each layer goes through the Keras config walker (`keras::config`).
//!
//! The variables and assets of a SavedModel folder are other files, not read here.

pub mod ops;
pub mod pbtxt;
pub mod proto;

use crate::engine::blob::Blob;
use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::{ErrorCategory, Severity};
use crate::rules;
use crate::scanners::keras::config::Walker;
use crate::scanners::protowire::{self, CompactError};
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};
use ops::When;
use proto::{GraphDef, Kind, NodeDef, SavedMetadata, SavedModel, lossy};
use std::collections::{BTreeMap, HashMap, HashSet};

pub const OP_RULE: &str = "tensorflow.dangerous-op";
pub const UNKNOWN_OP_RULE: &str = "tensorflow.unknown-op";

const OP_SCANNER: &str = "modelscan.scanners.SavedModelTensorflowOpScan";
const LAMBDA_SCANNER: &str = "modelscan.scanners.SavedModelLambdaDetectScan";
const SCAN_NAME: &str = "saved_model";
const KERAS_METADATA: &str = "keras_metadata.pb";
/// The format named in error messages.
const FORMAT: &str = "savedmodel";

fn leaf_file_name(item: &Item) -> &str {
    crate::engine::detect::file_name(item.name())
}

pub struct SavedModelOpScanner;

impl Scanner for SavedModelOpScanner {
    fn name(&self) -> &'static str {
        OP_SCANNER
    }
    fn scan_name(&self) -> &'static str {
        SCAN_NAME
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::SavedModel && leaf_file_name(item) != KERAS_METADATA
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        // A FingerprintDef holds hashes of the other files: nothing that runs.
        if leaf_file_name(item) == "fingerprint.pb" {
            return Ok(());
        }
        let graphs = if leaf_file_name(item).ends_with(".pbtxt") {
            // The text format, which TensorFlow loads when there is no saved_model.pb.
            let cap = ctx.settings.limits.max_in_memory_bytes;
            let Some(text) = item.blob.to_vec_capped(cap)? else {
                return Err(ScanError::Limit(crate::limits::LimitHit {
                    limit: "max_in_memory_bytes",
                    detail: format!("a text SavedModel of {} bytes", item.blob.len()),
                }));
            };
            ctx.budget.charge_bytes(text.len() as u64)?;
            let wire = pbtxt::to_wire(&text).map_err(|e| {
                ScanError::malformed(FORMAT, None, format!("not a text-format SavedModel ({e})"))
            })?;
            decode_graphs(&crate::engine::blob::Blob::from_vec(wire), ctx)?
        } else {
            match decode_graphs(&item.blob, ctx) {
                // A `.pb` that TensorFlow's loaders do not open by name (not saved_model.pb)
                // and that is a well-formed protobuf of another schema (ONNX's test tensors
                // are TensorProto files named input_0.pb) holds no graph: nothing to report.
                Err(ScanError::Malformed { .. })
                    if !leaf_file_name(item).eq_ignore_ascii_case("saved_model.pb")
                        && item.blob.len() <= ctx.settings.limits.max_in_memory_bytes
                        && item
                            .blob
                            .to_vec_capped(ctx.settings.limits.max_in_memory_bytes)
                            .ok()
                            .flatten()
                            .is_some_and(|b| protowire::is_well_formed(&b)) =>
                {
                    return Ok(());
                }
                r => r?,
            }
        };
        let mut ops = OpIndex::default();
        for g in &graphs {
            ops.add_graph(g);
        }
        ctx.budget.check_time()?;
        report_ops(ctx, item, &ops);
        Ok(())
    }
}

/// The graphs of a SavedModel, or the single graph of a frozen GraphDef. Each is decoded from
/// the compact copy of its declared fields (`protowire`): constant tensors' contents are
/// skipped, not read, and the number of messages is capped.
fn decode_graphs(blob: &Blob, ctx: &mut ScanCtx<'_>) -> Result<Vec<GraphsOwned>, ScanError> {
    let cap = ctx.settings.limits.max_in_memory_bytes;
    // Bytes that are not a valid SavedModel may still be a frozen GraphDef: a malformed
    // SavedModel is kept as the answer for when they are not; caps and read errors end here.
    let saved = match protowire::decode::<SavedModel, _>(blob, Kind::SavedModel, cap) {
        Ok((m, read)) => {
            ctx.budget.charge_bytes(read)?;
            m.map_err(|e| {
                ScanError::malformed(FORMAT, None, format!("not a SavedModel protobuf ({e})"))
            })
        }
        Err(CompactError::Wire(w)) => Err(ScanError::malformed(
            FORMAT,
            Some(w.offset),
            format!("not a SavedModel protobuf ({})", w.reason),
        )),
        Err(e) => return Err(e.into_scan_error(FORMAT)),
    };
    if let Ok(sm) = &saved {
        if !sm.meta_graphs.is_empty() {
            return Ok(sm
                .meta_graphs
                .iter()
                .map(|mg| GraphsOwned {
                    graph: mg.graph_def.clone(),
                    stripped: mg
                        .meta_info_def
                        .as_ref()
                        .and_then(|m| m.stripped_op_list.as_ref())
                        .map(|l| l.op.iter().map(|o| lossy(&o.name)).collect())
                        .unwrap_or_default(),
                })
                .collect());
        }
    }
    // A frozen graph (`GraphDef` at the top level) fails as a SavedModel on the wire type of
    // field 1, or decodes to an empty one.
    let graph = match protowire::decode::<GraphDef, _>(blob, Kind::Graph, cap) {
        Ok((g, read)) => {
            ctx.budget.charge_bytes(read)?;
            g.ok()
        }
        Err(CompactError::Wire(_)) => None,
        Err(e) => return Err(e.into_scan_error(FORMAT)),
    };
    match graph {
        Some(g)
            if !g.node.is_empty() || g.library.as_ref().is_some_and(|l| !l.function.is_empty()) =>
        {
            Ok(vec![GraphsOwned {
                graph: Some(g),
                stripped: Vec::new(),
            }])
        }
        _ => match saved {
            Err(e) => Err(e),
            Ok(_) => Err(ScanError::malformed(
                FORMAT,
                None,
                "no meta graph and no graph node: not a SavedModel or GraphDef",
            )),
        },
    }
}

/// One meta graph: its graph and the op names of its `stripped_op_list`.
struct GraphsOwned {
    graph: Option<GraphDef>,
    stripped: Vec<String>,
}

/// Where an op was seen, with what the scanner could tell about that use.
#[derive(Debug, Clone, Default)]
struct Use {
    /// "graph", a function name, or "stripped_op_list".
    scope: String,
    /// Constant string inputs at the indices a rule asks for, and notable attributes.
    const_paths: Vec<String>,
    output_stream: Option<String>,
    debug_urls: Vec<String>,
    memory_region: Option<String>,
    /// A path input built by an op this reading does not follow (so not proven to stay in
    /// the checkpoint folder the runtime passes).
    computed_path: Option<String>,
}

#[derive(Default)]
struct OpIndex {
    uses: BTreeMap<String, Vec<Use>>,
    functions: HashSet<String>,
}

/// Most uses kept per op (the count goes on, the details do not).
const MAX_USES: usize = 64;

impl OpIndex {
    fn add_graph(&mut self, g: &GraphsOwned) {
        if let Some(graph) = &g.graph {
            if let Some(lib) = &graph.library {
                for f in &lib.function {
                    if let Some(sig) = &f.signature {
                        self.functions.insert(lossy(&sig.name));
                    }
                }
            }
            self.add_nodes("graph", &graph.node);
            if let Some(lib) = &graph.library {
                for f in &lib.function {
                    let name = f
                        .signature
                        .as_ref()
                        .map(|s| lossy(&s.name))
                        .unwrap_or_else(|| "<unnamed function>".into());
                    self.add_nodes(&name, &f.node_def);
                }
            }
        }
        for op in &g.stripped {
            self.uses.entry(op.clone()).or_default();
        }
    }

    fn add_nodes(&mut self, scope: &str, nodes: &[NodeDef]) {
        let by_name: HashMap<&[u8], &NodeDef> =
            nodes.iter().map(|n| (n.name.as_slice(), n)).collect();
        for n in nodes {
            let op = lossy(&n.op);
            let mut u = Use {
                scope: scope.to_string(),
                ..Use::default()
            };
            if let Some(rule) = ops::rule_for(&op) {
                match rule.when {
                    When::ConstPathOutside(indices) => {
                        for &i in indices {
                            let Some(inp) = n.input.get(i) else { continue };
                            let mut origin = PathOrigin::default();
                            origin.walk(&by_name, inp, 0);
                            if let Some(op) = origin.opaque {
                                u.computed_path = Some(op);
                            }
                            // Each constant piece, and the pieces joined as StringJoin would.
                            if origin.consts.len() > 1 {
                                u.const_paths.push(origin.consts.concat());
                            }
                            u.const_paths.extend(origin.consts);
                        }
                    }
                    When::OutputStreamIsFile => {
                        u.output_stream = n.attr("output_stream").map(|a| lossy(&a.s));
                    }
                    When::HasDebugUrls => {
                        u.debug_urls = n
                            .attr("debug_urls")
                            .and_then(|a| a.list.as_ref())
                            .map(|l| {
                                l.s.iter()
                                    .map(|s| lossy(s))
                                    .filter(|s| !s.is_empty())
                                    .collect()
                            })
                            .unwrap_or_default();
                    }
                    When::Always => {
                        if op == "ImmutableConst" {
                            u.memory_region = n.attr("memory_region_name").map(|a| lossy(&a.s));
                        }
                        if let Some(p) = n.input.first().and_then(|inp| const_string(&by_name, inp))
                        {
                            u.const_paths.push(p);
                        }
                    }
                }
            }
            let entry = self.uses.entry(op).or_default();
            if entry.len() < MAX_USES {
                entry.push(u);
            }
        }
    }
}

/// The constant string a node input comes from, following Identity nodes. Graph inputs read
/// `node:index`, function inputs `node:output_arg:index`; `^node` is a control input.
fn const_string(by_name: &HashMap<&[u8], &NodeDef>, input: &[u8]) -> Option<String> {
    let mut name = input.strip_prefix(b"^").unwrap_or(input);
    for _ in 0..8 {
        let base = name.split(|&b| b == b':').next().unwrap_or(name);
        let node = by_name.get(base)?;
        match node.op.as_slice() {
            b"Const" => {
                let t = node.attr("value")?.tensor.as_ref()?;
                return t.string_val.first().map(|s| lossy(s));
            }
            b"Identity" | b"Snapshot" | b"StopGradient" => {
                name = node.input.first()?;
            }
            _ => return None,
        }
    }
    None
}

/// Where a file op's path comes from: the constants it is built of, whether it reaches an
/// argument the runtime fills (a placeholder or a function argument: the checkpoint folder),
/// and the first op on the way that is not a known string operation (its result cannot be
/// proven to stay inside the model's folder).
#[derive(Default)]
struct PathOrigin {
    consts: Vec<String>,
    runtime: bool,
    opaque: Option<String>,
    visited: usize,
}

impl PathOrigin {
    fn walk(&mut self, by_name: &HashMap<&[u8], &NodeDef>, input: &[u8], depth: u32) {
        if input.starts_with(b"^") {
            return;
        }
        self.visited += 1;
        if depth > 24 || self.visited > 256 {
            self.opaque
                .get_or_insert_with(|| "a chain too long to follow".into());
            return;
        }
        let base = input.split(|&b| b == b':').next().unwrap_or(input);
        let Some(node) = by_name.get(base) else {
            // Not a node of this graph or function: a function argument, which the
            // runtime (or the caller) passes.
            self.runtime = true;
            return;
        };
        match node.op.as_slice() {
            b"Const" => {
                if let Some(t) = node.attr("value").and_then(|a| a.tensor.as_ref()) {
                    self.consts
                        .extend(t.string_val.iter().take(16).map(|s| lossy(s)));
                }
            }
            b"Placeholder" | b"PlaceholderWithDefault" | b"_Arg" => {
                self.runtime = true;
                // A default is used when nothing is fed: follow it too.
                for i in &node.input {
                    self.walk(by_name, i, depth + 1);
                }
            }
            // String operations that build a path from their inputs.
            b"Identity"
            | b"IdentityN"
            | b"Snapshot"
            | b"StopGradient"
            | b"StringJoin"
            | b"ShardedFilename"
            | b"ShardedFilespec"
            | b"Select"
            | b"SelectV2"
            | b"StaticRegexFullMatch"
            | b"Pack"
            | b"Reshape"
            | b"Squeeze"
            | b"ExpandDims"
            | b"Add"
            | b"AddV2"
            | b"Cast"
            | b"StringStrip" => {
                for i in &node.input {
                    self.walk(by_name, i, depth + 1);
                }
            }
            other => {
                self.opaque
                    .get_or_insert_with(|| String::from_utf8_lossy(other).into_owned());
            }
        }
    }
}

fn is_file_stream(s: &str) -> bool {
    // PrintV2 accepts "stdout", "stderr", "log(info)"... and "file://<path>".
    s.starts_with("file://")
}

fn report_ops(ctx: &mut ScanCtx<'_>, item: &Item, index: &OpIndex) {
    for (op, uses) in &index.uses {
        if index.functions.contains(op) {
            // A call of a function from the library, not an op.
            continue;
        }
        let configured = ctx.settings.tf_operator_severity(op);
        let rule = ops::rule_for(op);
        let mut notes: Vec<String> = Vec::new();
        let flagged = match (configured, rule) {
            (Some(_), _) => true,
            (None, Some(r)) => match r.when {
                When::Always => true,
                When::OutputStreamIsFile => uses
                    .iter()
                    .any(|u| u.output_stream.as_deref().is_some_and(is_file_stream)),
                When::HasDebugUrls => uses.iter().any(|u| !u.debug_urls.is_empty()),
                When::ConstPathOutside(_) => uses.iter().any(|u| {
                    u.computed_path.is_some() || u.const_paths.iter().any(|p| ops::path_escapes(p))
                }),
            },
            (None, None) => false,
        };
        for u in uses {
            let mut bits = Vec::new();
            for p in &u.const_paths {
                bits.push(format!("path '{}'", p.escape_debug()));
            }
            if let Some(s) = u.output_stream.as_deref().filter(|s| is_file_stream(s)) {
                bits.push(format!("output_stream '{}'", s.escape_debug()));
            }
            for d in &u.debug_urls {
                bits.push(format!("debug url '{}'", d.escape_debug()));
            }
            if let Some(op) = &u.computed_path {
                bits.push(format!("a path computed by {}", op.escape_debug()));
            }
            if let Some(m) = &u.memory_region {
                bits.push(format!("memory region '{}'", m.escape_debug()));
            }
            let place = if bits.is_empty() {
                format!("in {}", u.scope)
            } else {
                format!("in {} ({})", u.scope, bits.join(", "))
            };
            if !notes.contains(&place) && notes.len() < 8 {
                notes.push(place);
            }
        }
        let where_ = if notes.is_empty() {
            "listed in the meta graph's stripped_op_list".to_string()
        } else {
            notes.join("; ")
        };
        if flagged {
            let (severity, why) = match (configured, rule) {
                (Some(s), Some(r)) => (s, r.why),
                (Some(s), None) => (s, "is listed in the settings' unsafe_tf_operators"),
                (None, Some(r)) => (r.severity, r.why),
                (None, None) => (Severity::Medium, ""),
            };
            ctx.issue(
                OP_SCANNER,
                &item.source,
                IssueBuilder::new(OP_RULE)
                    .operator("Tensorflow", op.clone())
                    .severity(severity)
                    .why(format!(
                        "The {op} op {why}; TensorFlow runs it when the graph is called. Seen {where_}."
                    )),
            );
        } else if rule.is_none() && !ops::is_known_op(op) {
            let severity = rules::lookup(UNKNOWN_OP_RULE)
                .map(|r| r.severity)
                .unwrap_or(Severity::Medium);
            ctx.issue(
                OP_SCANNER,
                &item.source,
                IssueBuilder::new(UNKNOWN_OP_RULE)
                    .operator("Tensorflow", op.clone())
                    .severity(severity)
                    .why(format!(
                        "{op} is not an op of stock TensorFlow: loading needs a custom kernel \
                         library (native code) that registers it. Seen {where_}."
                    )),
            );
        }
    }
}

pub struct KerasMetadataScanner;

impl Scanner for KerasMetadataScanner {
    fn name(&self) -> &'static str {
        LAMBDA_SCANNER
    }
    fn scan_name(&self) -> &'static str {
        SCAN_NAME
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::SavedModel && leaf_file_name(item) == KERAS_METADATA
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let cap = ctx.settings.limits.max_in_memory_bytes;
        let (meta, read) =
            protowire::decode::<SavedMetadata, _>(&item.blob, Kind::SavedMetadata, cap)
                .map_err(|e| e.into_scan_error("keras_metadata"))?;
        ctx.budget.charge_bytes(read)?;
        let meta = meta.map_err(|e| {
            ScanError::malformed(
                "keras_metadata",
                None,
                format!("not a SavedMetadata protobuf ({e})"),
            )
        })?;
        let mut parsed = Vec::with_capacity(meta.nodes.len());
        let mut json_errors = 0usize;
        // The parsed metadata of every node is kept at once: one memory cap for all.
        let mut memory = cap;
        for node in &meta.nodes {
            match crate::scanners::json::value_capped(&node.metadata, &mut memory)? {
                Ok(v) => parsed.push((node, v)),
                Err(e) => {
                    json_errors += 1;
                    if json_errors <= 10 {
                        ctx.error(
                            SCAN_NAME,
                            &item.source,
                            ErrorCategory::JsonDecode,
                            format!(
                                "Not a valid JSON data (node '{}': {e})",
                                lossy(&node.node_path).escape_debug()
                            ),
                        );
                    }
                }
            }
        }
        // Layers first, as ModelScan counts Lambdas (one per `_tf_keras_layer` node); the
        // same layers inside their models' configs are then recognized and skipped.
        let mut walker = Walker::new(ctx.settings).deduplicated();
        let mut result = Ok(());
        for pass_layers in [true, false] {
            for (node, v) in &parsed {
                let is_layer = node.identifier == b"_tf_keras_layer";
                if is_layer != pass_layers {
                    continue;
                }
                if let Err(e) = walker.walk(v) {
                    result = Err(e);
                }
            }
        }
        crate::scanners::keras::report_walk(ctx, LAMBDA_SCANNER, &item.source, walker);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Severity;
    use crate::scanners::keras::tests::{run, scan_file};
    use prost::Message;

    fn ops_of(rel: &str) -> Vec<(String, Severity, &'static str)> {
        let out = scan_file(&SavedModelOpScanner, rel, Format::SavedModel);
        assert!(out.errors.is_empty(), "{rel}: {:?}", out.errors);
        out.issues
            .iter()
            .map(|i| (i.operator.clone(), i.severity, i.rule))
            .collect()
    }

    #[test]
    fn benign_savedmodels_have_no_issue() {
        for rel in [
            "savedmodel/benign/tf_module/saved_model.pb",
            "savedmodel/benign/keras_export/saved_model.pb",
            "savedmodel/benign/tfkeras/saved_model.pb",
            "savedmodel/benign/tf_module/fingerprint.pb",
        ] {
            assert_eq!(ops_of(rel), vec![], "{rel}");
        }
        let out = scan_file(
            &KerasMetadataScanner,
            "savedmodel/benign/tfkeras/keras_metadata.pb",
            Format::SavedModel,
        );
        assert!(
            out.issues.is_empty() && out.errors.is_empty(),
            "{:?}",
            out.issues
        );
    }

    #[test]
    fn file_ops_in_library_functions_are_found() {
        let read = ops_of("savedmodel/malicious/read_file/saved_model.pb");
        assert_eq!(read, vec![("ReadFile".into(), Severity::High, OP_RULE)]);
        let out = scan_file(
            &SavedModelOpScanner,
            "savedmodel/malicious/read_file/saved_model.pb",
            Format::SavedModel,
        );
        let i = &out.issues[0];
        assert_eq!(
            i.description,
            "Use of unsafe operator 'ReadFile' from module 'Tensorflow'"
        );
        assert_eq!(i.scanner, OP_SCANNER);
        assert!(
            i.why.contains("'/etc/hostname'") && i.why.contains("__inference"),
            "{}",
            i.why
        );
        assert_eq!(
            ops_of("savedmodel/malicious/write_file/saved_model.pb"),
            vec![("WriteFile".into(), Severity::High, OP_RULE)]
        );
    }

    fn node(name: &str, op: &str, inputs: &[&str], value: Option<&str>) -> NodeDef {
        use super::proto::{AttrEntry, AttrValue, TensorProto};
        NodeDef {
            name: name.into(),
            op: op.into(),
            input: inputs.iter().map(|i| i.as_bytes().to_vec()).collect(),
            device: Vec::new(),
            attr: value
                .map(|v| AttrEntry {
                    key: b"value".to_vec(),
                    value: Some(AttrValue {
                        tensor: Some(TensorProto {
                            dtype: 7,
                            string_val: vec![v.as_bytes().to_vec()],
                        }),
                        ..AttrValue::default()
                    }),
                })
                .into_iter()
                .collect(),
        }
    }

    fn origin(nodes: &[NodeDef], input: &str) -> PathOrigin {
        let by_name: HashMap<&[u8], &NodeDef> =
            nodes.iter().map(|n| (n.name.as_slice(), n)).collect();
        let mut o = PathOrigin::default();
        o.walk(&by_name, input.as_bytes(), 0);
        o
    }

    #[test]
    fn another_protobuf_named_pb_is_not_an_error_but_a_damaged_savedmodel_is() {
        // An ONNX TensorProto (dims 2, data_type 1, raw_data 8 bytes) saved as input_0.pb.
        let tensor = [
            0x08, 0x02, 0x10, 0x01, 0x4a, 0x08, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40,
        ];
        assert!(protowire::is_well_formed(&tensor));
        let (out, r) = crate::scanners::keras::tests::run_bytes_with(
            &SavedModelOpScanner,
            "test_data_set_0/input_0.pb",
            &tensor,
            &crate::settings::Settings::defaults(),
        );
        assert!(r.is_ok() && out.issues.is_empty(), "{r:?}");
        let (_, r) = crate::scanners::keras::tests::run_bytes_with(
            &SavedModelOpScanner,
            "m/saved_model.pb",
            &tensor,
            &crate::settings::Settings::defaults(),
        );
        assert!(r.is_err());
        assert!(!protowire::is_well_formed(&[0x0a, 0x05, 1]));
    }

    #[test]
    fn checkpoint_paths_are_followed_through_string_ops() {
        // TF2's save function: the runtime's prefix joined with constant suffixes.
        let benign = [
            node("c", "Const", &[], Some("_temp/part")),
            node("j", "StringJoin", &["saver_filename", "c:output:0"], None),
            node("s", "ShardedFilename", &["j:output:0", "n"], None),
            node("n", "Const", &[], None),
        ];
        let o = origin(&benign, "s:filename:0");
        assert!(o.runtime && o.opaque.is_none(), "{:?}", o.consts);
        assert!(!o.consts.iter().any(|p| ops::path_escapes(p)));
        // A path joined from constants alone, somewhere outside the model.
        let joined = [
            node("a", "Const", &[], Some("/tmp/")),
            node("b", "Const", &[], Some("x")),
            node("j", "StringJoin", &["a", "b"], None),
        ];
        let o = origin(&joined, "j");
        assert!(!o.runtime);
        assert!(o.consts.concat() == "/tmp/x" && ops::path_escapes(&o.consts.concat()));
        // Built by an op the reading does not follow: not proven inside the folder.
        let formatted = [
            node("a", "Const", &[], Some("x")),
            node("f", "StringFormat", &["a"], None),
        ];
        assert_eq!(
            origin(&formatted, "f").opaque.as_deref(),
            Some("StringFormat")
        );
        // A cycle ends.
        let cyc = [
            node("a", "Identity", &["b"], None),
            node("b", "Identity", &["a"], None),
        ];
        assert!(origin(&cyc, "a").opaque.is_some());
    }

    #[test]
    fn python_callbacks_are_critical() {
        assert_eq!(
            ops_of("savedmodel/malicious/py_function/saved_model.pb"),
            vec![("EagerPyFunc".into(), Severity::Critical, OP_RULE)]
        );
    }

    #[test]
    fn print_to_a_file_is_reported_with_its_path() {
        let out = scan_file(
            &SavedModelOpScanner,
            "savedmodel/malicious/print_to_file/saved_model.pb",
            Format::SavedModel,
        );
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert_eq!(out.issues[0].operator, "PrintV2");
        assert!(
            out.issues[0]
                .why
                .contains("file:///tmp/modelscan_fixture_print.txt")
        );
    }

    #[test]
    fn settings_change_the_severity_of_listed_ops() {
        let mut settings = crate::settings::Settings::defaults();
        if let Some(s) = settings
            .scanners
            .get_mut("modelscan.scanners.SavedModelTensorflowOpScan")
        {
            s.unsafe_tf_operators
                .insert("ReadFile".into(), Severity::Critical);
            s.unsafe_tf_operators.insert("MatMul".into(), Severity::Low);
        }
        let (out, r) = crate::scanners::keras::tests::run_with(
            &SavedModelOpScanner,
            "savedmodel/benign/tf_module/saved_model.pb",
            Format::SavedModel,
            &settings,
        );
        r.unwrap();
        assert_eq!(out.issues.len(), 1);
        assert_eq!(
            (out.issues[0].operator.as_str(), out.issues[0].severity),
            ("MatMul", Severity::Low)
        );
        let (out, _) = crate::scanners::keras::tests::run_with(
            &SavedModelOpScanner,
            "savedmodel/malicious/read_file/saved_model.pb",
            Format::SavedModel,
            &settings,
        );
        assert_eq!(out.issues[0].severity, Severity::Critical);
    }

    #[test]
    fn keras_metadata_lambda_is_reported_once() {
        let out = scan_file(
            &KerasMetadataScanner,
            "savedmodel/malicious/tfkeras_lambda_os_system/keras_metadata.pb",
            Format::SavedModel,
        );
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert_eq!(out.issues[0].severity, Severity::Critical);
        assert_eq!(out.issues[0].scanner, LAMBDA_SCANNER);
        let out = scan_file(
            &KerasMetadataScanner,
            "savedmodel/malicious/tfkeras_lambda_harmless/keras_metadata.pb",
            Format::SavedModel,
        );
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert_eq!(out.issues[0].rule, "keras.lambda-layer");
        assert_eq!(out.issues[0].severity, Severity::Medium);
    }

    #[test]
    fn malformed_protobufs_give_exact_errors() {
        let (_, r) = run(
            &SavedModelOpScanner,
            "savedmodel/malformed/truncated/saved_model.pb",
            Format::SavedModel,
        );
        let e = r.unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Malformed);
        assert_eq!(
            e.to_string(),
            "savedmodel: not a SavedModel protobuf (field 2 runs past its message) (at byte 2)"
        );
        let (_, r) = run(
            &SavedModelOpScanner,
            "savedmodel/malformed/not_protobuf/saved_model.pb",
            Format::SavedModel,
        );
        assert_eq!(
            r.unwrap_err().to_string(),
            "savedmodel: not a SavedModel protobuf (varint overflows 64 bits) (at byte 0)"
        );
    }

    #[test]
    fn bad_metadata_json_is_a_json_decode_error_and_other_nodes_still_count() {
        let (out, r) = run(
            &KerasMetadataScanner,
            "savedmodel/malformed/bad_metadata_json/keras_metadata.pb",
            Format::SavedModel,
        );
        r.unwrap();
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(out.errors[0].category, ErrorCategory::JsonDecode);
        assert_eq!(
            out.errors[0].description,
            "Not a valid JSON data (node 'root.layer-1': EOF while parsing an object at line 1 column 36)"
        );
        // The Lambda is still seen inside the model's own config.
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
    }

    #[test]
    fn damaged_protobufs_never_panic() {
        let settings = crate::settings::Settings::defaults();
        for (rel, scanner) in [
            (
                "savedmodel/malicious/read_file/saved_model.pb",
                &SavedModelOpScanner as &dyn Scanner,
            ),
            (
                "savedmodel/malicious/tfkeras_lambda_os_system/keras_metadata.pb",
                &KerasMetadataScanner,
            ),
        ] {
            let good = std::fs::read(crate::scanners::keras::tests::fixture_path(rel)).unwrap();
            let name = rel.rsplit('/').next().unwrap().to_string();
            for at in (0..good.len()).step_by(7) {
                for v in [good[..at].to_vec(), {
                    let mut v = good.clone();
                    v[at] ^= 0x5a;
                    v
                }] {
                    let item = crate::scanners::keras::tests::item_from(
                        v,
                        crate::findings::Source::file(name.clone(), name.clone().into()),
                        Format::SavedModel,
                    );
                    let _ = crate::scanners::keras::tests::run_item_with(scanner, &item, &settings);
                }
            }
        }
    }

    /// Scans a frozen GraphDef of one node; the scan must succeed.
    fn scan_frozen(node: proto::NodeDef) -> crate::findings::Outcome {
        let g = GraphDef {
            node: vec![node],
            library: None,
        };
        let item = crate::scanners::keras::tests::item_from(
            g.encode_to_vec(),
            crate::findings::Source::file("frozen.pb".into(), "frozen.pb".into()),
            Format::SavedModel,
        );
        let (out, r) = crate::scanners::keras::tests::run_item_with(
            &SavedModelOpScanner,
            &item,
            &crate::settings::Settings::defaults(),
        );
        r.unwrap();
        out
    }

    #[test]
    fn a_frozen_graphdef_is_read_too() {
        let node = proto::NodeDef {
            name: b"r".to_vec(),
            op: b"ReadFile".to_vec(),
            ..Default::default()
        };
        let out = scan_frozen(node);
        assert!(
            out.issues.iter().any(|i| i.operator == "ReadFile"),
            "{:?}",
            out.issues
        );
    }

    /// (fixture, root message) pairs: every protobuf the two scanners read.
    const PROTOBUFS: &[(&str, Kind)] = &[
        (
            "savedmodel/benign/tf_module/saved_model.pb",
            Kind::SavedModel,
        ),
        (
            "savedmodel/benign/keras_export/saved_model.pb",
            Kind::SavedModel,
        ),
        ("savedmodel/benign/tfkeras/saved_model.pb", Kind::SavedModel),
        (
            "savedmodel/malicious/read_file/saved_model.pb",
            Kind::SavedModel,
        ),
        (
            "savedmodel/benign/tfkeras/keras_metadata.pb",
            Kind::SavedMetadata,
        ),
        (
            "savedmodel/malicious/tfkeras_lambda_os_system/keras_metadata.pb",
            Kind::SavedMetadata,
        ),
    ];

    fn whole_and_copy(bytes: &[u8], kind: Kind) -> Option<(String, String)> {
        let c =
            protowire::compact(&Blob::from_vec(bytes.to_vec()), kind, u64::MAX, u64::MAX).ok()?;
        let copy = c.bytes.as_slice();
        Some(match kind {
            Kind::SavedMetadata => (
                format!("{:?}", SavedMetadata::decode(bytes).ok()),
                format!("{:?}", SavedMetadata::decode(copy).ok()),
            ),
            Kind::Graph => (
                format!("{:?}", GraphDef::decode(bytes).ok()),
                format!("{:?}", GraphDef::decode(copy).ok()),
            ),
            _ => (
                format!("{:?}", SavedModel::decode(bytes).ok()),
                format!("{:?}", SavedModel::decode(copy).ok()),
            ),
        })
    }

    #[test]
    fn the_compact_copy_decodes_as_the_file_on_every_fixture() {
        for &(rel, kind) in PROTOBUFS {
            let bytes = std::fs::read(crate::scanners::keras::tests::fixture_path(rel)).unwrap();
            let (whole, copy) = whole_and_copy(&bytes, kind).unwrap();
            assert!(!whole.starts_with("None"), "{rel} does not decode");
            assert_eq!(whole, copy, "{rel}");
            // As a frozen graph too: the fallback decode of the same bytes.
            let (whole, copy) = whole_and_copy(&bytes, Kind::Graph).unwrap_or_default();
            assert_eq!(whole, copy, "{rel} as a GraphDef");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
        /// Whatever the bytes, the compact copy decodes as the file does (or both fail).
        #[test]
        fn the_compact_copy_decodes_as_the_file(which in 0usize..6, edits in proptest::collection::vec((0usize..1 << 16, proptest::prelude::any::<u8>()), 1..4), cut in 0usize..64) {
            let (rel, kind) = PROTOBUFS[which];
            let mut b = std::fs::read(crate::scanners::keras::tests::fixture_path(rel)).unwrap();
            let len = b.len();
            for (pos, byte) in edits {
                b[pos % len] = byte;
            }
            b.truncate(len - cut.min(len));
            for k in [kind, Kind::Graph] {
                if let Some((whole, copy)) = whole_and_copy(&b, k) {
                    proptest::prop_assert_eq!(whole, copy);
                }
            }
        }
    }

    #[test]
    fn a_flood_of_empty_nodes_stops_at_the_memory_cap() {
        // 10,000 empty `node` fields of a frozen GraphDef: two bytes each, ~150 bytes each
        // once decoded. A 1 MiB cap allows 4,096 messages.
        let bytes: Vec<u8> = [0x0a_u8, 0x00].repeat(10_000);
        let item = crate::scanners::keras::tests::item_from(
            bytes,
            crate::findings::Source::file("flood.pb".into(), "flood.pb".into()),
            Format::SavedModel,
        );
        let mut settings = crate::settings::Settings::defaults();
        settings.limits.max_in_memory_bytes = 1 << 20;
        let (_, r) =
            crate::scanners::keras::tests::run_item_with(&SavedModelOpScanner, &item, &settings);
        let e = r.unwrap_err();
        assert_eq!(
            e.category(),
            crate::findings::ErrorCategory::LimitExceeded,
            "{e}"
        );
        // Within the default cap the same file is scanned (each empty node an unknown op '').
        let (out, r) = crate::scanners::keras::tests::run_item_with(
            &SavedModelOpScanner,
            &item,
            &crate::settings::Settings::defaults(),
        );
        r.unwrap();
        assert!(!out.issues.is_empty());
    }

    #[test]
    fn an_unregistered_op_is_medium() {
        let node = proto::NodeDef {
            name: b"x".to_vec(),
            op: b"EvilCustomOp".to_vec(),
            ..Default::default()
        };
        let out = scan_frozen(node);
        assert_eq!(out.issues.len(), 1);
        assert_eq!(out.issues[0].rule, UNKNOWN_OP_RULE);
        assert_eq!(out.issues[0].severity, Severity::Medium);
    }
}
