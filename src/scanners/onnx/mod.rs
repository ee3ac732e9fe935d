//! The ONNX scanner. An ONNX model is a protobuf `ModelProto`; loading it runs no code of its
//! own, so the risks are what the loader does on the model's behalf: reading external data
//! files named by the model (path traversal: CVE-2022-25882, CVE-2024-27318, and through
//! symlinks CVE-2026-27489), trusting `external_data` keys (CVE-2026-34445), running
//! Python-backed operators (ONNX Runtime's language-interop `PyOp` imports the module its
//! attributes name), and custom operator domains that need a native library.
//!
//! The scanner decodes the model with the hand-written messages of `proto.rs` from the compact
//! copy the protobuf pass (`protowire`, with the field table of `wire.rs`) makes while reading
//! the file, then walks the main graph, every nested graph (If, Loop, Scan bodies and any
//! other graph attribute), training graphs and model-local functions, with a depth cap. Tensor
//! contents are never read (the pass seeks over them) and external data files are never read
//! (only resolved, for the symlink check). TensorFlow's `.pb` files are another scanner's.

pub mod proto;
pub mod wire;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use wire::Kind;

use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::Severity;
use crate::limits::LimitHit;
use crate::scanners::protowire;
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};
use proto::{AttributeProto, GraphProto, ModelProto, NodeProto, SparseTensorProto, TensorProto};

const FORMAT: &str = "onnx";
const SCANNER: &str = "modelscan.scanners.OnnxScan";

/// Operator domains of the ONNX standard and of ONNX Runtime's built-in (contrib) kernels.
/// Operators in them run code shipped with the runtime, not code named by the model.
const KNOWN_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
    "com.microsoft.mlfeaturizers",
    "com.microsoft.dml",
    "com.ms.internal.nhwc",
    "org.pytorch.aten",
];

pub struct OnnxScanner;

impl Scanner for OnnxScanner {
    fn name(&self) -> &'static str {
        SCANNER
    }
    fn scan_name(&self) -> &'static str {
        FORMAT
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::Onnx
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let model = decode(item, ctx)?;
        let mut walk = Walk::new(item, &model, ctx);
        walk.model(&model)?;
        walk.finish();
        Ok(())
    }
}

/// Decodes the model from the compact copy of its declared fields (`protowire`), which
/// bounds what the decode allocates; tensor contents are skipped, never read.
fn decode(item: &Item, ctx: &mut ScanCtx<'_>) -> Result<ModelProto, ScanError> {
    let cap = ctx.settings.limits.max_in_memory_bytes;
    let (model, read) = protowire::decode::<ModelProto, _>(&item.blob, Kind::Model, cap)
        .map_err(|e| e.into_scan_error(FORMAT))?;
    ctx.budget.charge_bytes(read)?;
    let model = model
        .map_err(|e| ScanError::malformed(FORMAT, None, format!("not a valid ModelProto: {e}")))?;
    // Every ONNX writer sets ir_version and a graph (or, for function libraries, functions);
    // a protobuf that has neither is some other protobuf.
    if model.ir_version.is_none() && model.graph.is_none() && model.functions.is_empty() {
        return Err(ScanError::malformed(
            FORMAT,
            None,
            "not an ONNX model: no ir_version, graph or functions",
        ));
    }
    Ok(model)
}

/// The keys onnx's `ExternalDataInfo` knows (onnx/external_data_helper.py).
const EXTERNAL_DATA_KEYS: &[&str] = &["location", "offset", "length", "checksum", "basepath"];

/// A problem with a tensor's `external_data` entries other than where they point.
fn external_data_anomaly(t: &TensorProto) -> Option<String> {
    for e in &t.external_data {
        let key = text(&e.key);
        if !EXTERNAL_DATA_KEYS.contains(&key.as_str()) {
            return Some(format!("external_data has the unknown key '{key}'"));
        }
        if matches!(key.as_str(), "offset" | "length") {
            let value = text(&e.value);
            let digits = value.trim();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Some(format!(
                    "external_data {key} '{value}' is not a non-negative integer"
                ));
            }
        }
    }
    None
}

fn text(b: &Option<Vec<u8>>) -> String {
    String::from_utf8_lossy(b.as_deref().unwrap_or_default()).into_owned()
}

struct Walk<'i, 'c, 'x> {
    item: &'i Item,
    ctx: &'c mut ScanCtx<'x>,
    /// `(domain, name)` of the functions the model defines: nodes calling them are not custom.
    local_functions: HashSet<(Vec<u8>, Vec<u8>)>,
    /// Custom `(domain, op_type)` -> (count, first place seen).
    custom: BTreeMap<(String, String), (usize, String)>,
    /// The model's folder, when the model is a file on disk (external data is resolved there).
    folder: Option<PathBuf>,
    max_depth: u32,
}

impl<'i, 'c, 'x> Walk<'i, 'c, 'x> {
    fn new(item: &'i Item, model: &ModelProto, ctx: &'c mut ScanCtx<'x>) -> Self {
        let local_functions = model
            .functions
            .iter()
            .map(|f| {
                (
                    f.domain.clone().unwrap_or_default(),
                    f.name.clone().unwrap_or_default(),
                )
            })
            .collect();
        let folder = if item.source.members.is_empty() {
            item.source.absolute.parent().map(Path::to_path_buf)
        } else {
            None
        };
        let max_depth = ctx.settings.limits.max_nesting_depth;
        Walk {
            item,
            ctx,
            local_functions,
            custom: BTreeMap::new(),
            folder,
            max_depth,
        }
    }

    fn model(&mut self, model: &ModelProto) -> Result<(), ScanError> {
        if let Some(g) = &model.graph {
            self.graph(g, 0, "")?;
        }
        for (i, t) in model.training_info.iter().enumerate() {
            if let Some(g) = &t.initialization {
                self.graph(g, 0, &format!("training_info[{i}].initialization"))?;
            }
            if let Some(g) = &t.algorithm {
                self.graph(g, 0, &format!("training_info[{i}].algorithm"))?;
            }
        }
        for f in &model.functions {
            let place = format!("function {}:{}", text(&f.domain), text(&f.name));
            for a in &f.attribute_proto {
                self.attribute(a, 1, &place)?;
            }
            for n in &f.node {
                self.node(n, 1, &place)?;
            }
        }
        Ok(())
    }

    fn graph(&mut self, g: &GraphProto, depth: u32, parent: &str) -> Result<(), ScanError> {
        if depth > self.max_depth {
            return Err(ScanError::Limit(LimitHit {
                limit: "max_nesting_depth",
                detail: format!("ONNX graphs nested more than {} deep", self.max_depth),
            }));
        }
        self.ctx.budget.check_time()?;
        let name = g.name.as_deref().filter(|n| !n.is_empty());
        let place = match (name, parent.is_empty()) {
            (Some(n), true) => format!("graph '{}'", String::from_utf8_lossy(n)),
            (Some(n), false) => format!("{parent}, graph '{}'", String::from_utf8_lossy(n)),
            (None, true) => "graph".to_string(),
            (None, false) => format!("{parent}, graph"),
        };
        for t in &g.initializer {
            self.tensor(t, &format!("{place}, initializer"));
        }
        for s in &g.sparse_initializer {
            self.sparse(s, &format!("{place}, sparse initializer"));
        }
        for n in &g.node {
            self.node(n, depth, &place)?;
        }
        Ok(())
    }

    fn node(&mut self, n: &NodeProto, depth: u32, graph_place: &str) -> Result<(), ScanError> {
        let op = text(&n.op_type);
        let domain = text(&n.domain);
        let name = text(&n.name);
        let place = if name.is_empty() {
            format!("{graph_place}, node {op}")
        } else {
            format!("{graph_place}, node '{name}' ({op})")
        };
        // A Python operator is reported as such, not again as a custom-domain operator (PyOp's
        // domain is whatever the model author chose).
        let python = self.python_op(n, &op, &domain, &place);
        let local = self.local_functions.contains(&(
            n.domain.clone().unwrap_or_default(),
            n.op_type.clone().unwrap_or_default(),
        ));
        if !python && !local && !KNOWN_DOMAINS.contains(&domain.as_str()) {
            let entry = self
                .custom
                .entry((domain, op))
                .or_insert_with(|| (0, place.clone()));
            entry.0 += 1;
        }
        for a in &n.attribute {
            self.attribute(a, depth, &place)?;
        }
        Ok(())
    }

    fn attribute(
        &mut self,
        a: &AttributeProto,
        depth: u32,
        node_place: &str,
    ) -> Result<(), ScanError> {
        let place = format!("{node_place}, attribute '{}'", text(&a.name));
        if let Some(t) = &a.t {
            self.tensor(t, &place);
        }
        for t in &a.tensors {
            self.tensor(t, &place);
        }
        if let Some(s) = &a.sparse_tensor {
            self.sparse(s, &place);
        }
        for s in &a.sparse_tensors {
            self.sparse(s, &place);
        }
        if let Some(g) = &a.g {
            self.graph(g, depth + 1, &place)?;
        }
        for g in &a.graphs {
            self.graph(g, depth + 1, &place)?;
        }
        Ok(())
    }

    fn sparse(&mut self, s: &SparseTensorProto, place: &str) {
        if let Some(t) = &s.values {
            self.tensor(t, place);
        }
        if let Some(t) = &s.indices {
            self.tensor(t, place);
        }
    }

    /// External data: every `location` entry is checked (readers differ on which of several
    /// wins; onnx's `ExternalDataInfo` keeps the last).
    fn tensor(&mut self, t: &TensorProto, place: &str) {
        if let Some(problem) = external_data_anomaly(t) {
            let tensor = text(&t.name);
            self.ctx.issue(
                SCANNER,
                &self.item.source,
                IssueBuilder::new("onnx.external-data-anomaly")
                    .operator("external_data", tensor.clone())
                    .description(format!("Tensor '{tensor}' ({place}): {problem}")),
            );
        }
        let locations = t
            .external_data
            .iter()
            .filter(|e| e.key.as_deref() == Some(b"location".as_slice()));
        for entry in locations {
            let location = text(&entry.value);
            let Some(reason) = self.location_problem(&location) else {
                continue;
            };
            let tensor = text(&t.name);
            self.ctx.issue(
                SCANNER,
                &self.item.source,
                IssueBuilder::new("onnx.external-data-traversal")
                    .operator("external_data", location.clone())
                    .description(format!(
                        "Tensor '{tensor}' ({place}) loads its data from '{location}', which {reason}"
                    ))
                    .why(
                        "onnx.load and ONNX Runtime read the external file into the tensor: a \
                         location outside the model's folder turns loading the model into \
                         reading any file the user can read.",
                    ),
            );
        }
    }

    /// Why an external-data location is unsafe, if it is.
    fn location_problem(&self, location: &str) -> Option<String> {
        if location.contains('\0') {
            return Some("contains a NUL byte (path truncation)".into());
        }
        let b = location.as_bytes();
        let drive = b.len() >= 2
            && b.first().is_some_and(u8::is_ascii_alphabetic)
            && b.get(1) == Some(&b':');
        if location.starts_with('/') || location.starts_with('\\') || drive {
            return Some("is an absolute path".into());
        }
        if location.split(['/', '\\']).any(|c| c == "..") {
            return Some("climbs out of the model's folder with '..'".into());
        }
        // On disk: the file may be a symlink (or sit under one) that leads out of the folder.
        let folder = self.folder.as_ref()?;
        let real_folder = std::fs::canonicalize(folder).ok()?;
        let real = std::fs::canonicalize(folder.join(location)).ok()?;
        if real.starts_with(&real_folder) {
            None
        } else {
            Some(format!(
                "resolves through a symlink to '{}', outside the model's folder",
                real.display()
            ))
        }
    }

    /// Reports a Python-backed operator; true if `n` is one.
    fn python_op(&mut self, n: &NodeProto, op: &str, domain: &str, place: &str) -> bool {
        let lower = op.to_ascii_lowercase();
        let attr = |name: &str| {
            n.attribute
                .iter()
                .find(|a| a.name.as_deref() == Some(name.as_bytes()))
                .map(|a| text(&a.s))
        };
        if lower == "pyop" {
            // ONNX Runtime's language-interop PyOp imports `module` and instantiates
            // `class_name` when the session is created (onnxruntime/core/language_interop_ops).
            let module = attr("module").unwrap_or_default();
            let class = attr("class_name").unwrap_or_default();
            let compute = attr("compute").unwrap_or_default();
            let (severity, description) = if module.is_empty() {
                (
                    Severity::High,
                    format!("Python operator PyOp (domain '{domain}') at {place}"),
                )
            } else {
                (
                    Severity::Critical,
                    format!(
                        "Python operator PyOp at {place} imports module '{module}' and \
                         instantiates '{class}'{}",
                        if compute.is_empty() {
                            String::new()
                        } else {
                            format!(" (compute method '{compute}')")
                        }
                    ),
                )
            };
            let (m, o) = if module.is_empty() {
                (domain.to_string(), op.to_string())
            } else {
                (module, class)
            };
            self.ctx.issue(
                SCANNER,
                &self.item.source,
                IssueBuilder::new("onnx.python-op")
                    .operator(m, o)
                    .severity(severity)
                    .description(description),
            );
            true
        } else if lower.contains("python") || lower.starts_with("pyfunc") || lower == "pyfunction" {
            // PythonOp (torch.onnx fallthrough of autograd.Function; ONNX Runtime training's
            // com.microsoft PythonOp calls back into Python by the name in its attributes).
            let callee = attr("func_name")
                .or_else(|| attr("name"))
                .unwrap_or_default();
            let mut description = format!("Python operator {op} (domain '{domain}') at {place}");
            if !callee.is_empty() {
                description.push_str(&format!(" calls '{callee}'"));
            }
            self.ctx.issue(
                SCANNER,
                &self.item.source,
                IssueBuilder::new("onnx.python-op")
                    .operator(domain, op)
                    .severity(Severity::High)
                    .description(description),
            );
            true
        } else {
            false
        }
    }

    /// One issue per custom (domain, operator), with how often it is used.
    fn finish(self) {
        for ((domain, op), (count, place)) in self.custom {
            let times = if count == 1 {
                String::new()
            } else {
                format!(" ({count} nodes)")
            };
            self.ctx.issue(
                SCANNER,
                &self.item.source,
                IssueBuilder::new("onnx.custom-domain")
                    .operator(domain.clone(), op.clone())
                    .description(format!(
                        "Operator '{op}' from custom domain '{domain}' at {place}{times}"
                    )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::blob::Blob;
    use crate::findings::Outcome;
    use crate::findings::Source;
    use crate::limits::Budget;
    use crate::settings::Settings;
    use prost::Message;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/onnx");

    fn scan_path(path: &Path, members: Vec<String>) -> (Outcome, Result<(), ScanError>) {
        let bytes = std::fs::read(path).unwrap();
        let head = bytes.iter().take(64).copied().collect();
        let mut source = Source::file(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            path.to_path_buf(),
        );
        source.members = members;
        let item = Item {
            source,
            blob: Blob::from_vec(bytes),
            format: Format::Onnx,
            head,
        };
        let settings = Settings::defaults();
        let mut out = Outcome::default();
        let res = {
            let mut ctx = ScanCtx {
                settings: &settings,
                budget: Budget::unlimited(),
                out: &mut out,
                depth: 0,
            };
            OnnxScanner.scan(&item, &mut ctx)
        };
        (out, res)
    }

    fn scan(rel: &str) -> (Outcome, Result<(), ScanError>) {
        scan_path(&PathBuf::from(format!("{DIR}/{rel}")), Vec::new())
    }

    fn rules(out: &Outcome) -> Vec<&'static str> {
        out.issues.iter().map(|i| i.rule).collect()
    }

    #[test]
    fn benign_models_built_with_onnx_helper_are_clean() {
        for f in [
            "benign/mlp.onnx",
            "benign/if_loop.onnx",
            "benign/local_function.onnx",
            "benign/external_data/model.onnx",
        ] {
            let (out, res) = scan(f);
            assert!(res.is_ok(), "{f}: {res:?}");
            assert!(out.issues.is_empty(), "{f}: {:?}", out.issues);
        }
    }

    #[test]
    fn relative_traversal_in_external_data_is_high() {
        let (out, res) = scan("malicious/extdata_relative/model.onnx");
        assert!(res.is_ok());
        assert_eq!(rules(&out), ["onnx.external-data-traversal"]);
        let i = &out.issues[0];
        assert_eq!(i.severity, Severity::High);
        assert_eq!(i.operator, "../../../etc/passwd");
        assert!(i.description.contains("climbs out"), "{}", i.description);
    }

    #[test]
    fn absolute_external_data_location_is_high() {
        let (out, _) = scan("malicious/extdata_absolute/model.onnx");
        assert_eq!(rules(&out), ["onnx.external-data-traversal"]);
        assert!(out.issues[0].description.contains("absolute path"));
    }

    #[test]
    fn traversal_inside_an_if_branch_constant_is_found() {
        let (out, _) = scan("malicious/extdata_nested/model.onnx");
        assert_eq!(rules(&out), ["onnx.external-data-traversal"]);
        let d = &out.issues[0].description;
        assert!(
            d.contains("attribute 'then_branch', graph 'then', node Constant"),
            "{d}"
        );
        assert!(d.contains("'K'"), "{d}");
    }

    #[test]
    fn symlinked_external_data_leading_outside_the_folder_is_high() {
        let tmp = tempfile::tempdir().unwrap();
        let model_dir = tmp.path().join("model");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&model_dir).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.bin"), [0u8; 8]).unwrap();
        let model = model_dir.join("model.onnx");
        std::fs::copy(
            format!("{DIR}/malicious/extdata_symlink/model.onnx"),
            &model,
        )
        .unwrap();

        // A regular data file in the folder: clean.
        std::fs::write(model_dir.join("weights.bin"), [0u8; 8]).unwrap();
        let (out, _) = scan_path(&model, Vec::new());
        assert!(out.issues.is_empty(), "{:?}", out.issues);

        // The same name as a symlink to a file outside the folder: reported.
        std::fs::remove_file(model_dir.join("weights.bin")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.bin"), model_dir.join("weights.bin"))
            .unwrap();
        let (out, _) = scan_path(&model, Vec::new());
        assert_eq!(rules(&out), ["onnx.external-data-traversal"]);
        assert!(out.issues[0].description.contains("symlink"));

        // Inside an archive there is no folder to resolve against: not reported.
        let (out, _) = scan_path(&model, vec!["model.onnx".into()]);
        assert!(out.issues.is_empty());
    }

    #[test]
    fn symlink_to_a_file_inside_the_folder_is_clean() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("real.bin"), [0u8; 8]).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("real.bin"), tmp.path().join("weights.bin"))
            .unwrap();
        let model = tmp.path().join("model.onnx");
        std::fs::copy(
            format!("{DIR}/malicious/extdata_symlink/model.onnx"),
            &model,
        )
        .unwrap();
        let (out, _) = scan_path(&model, Vec::new());
        assert!(out.issues.is_empty(), "{:?}", out.issues);
    }

    #[test]
    fn unknown_external_data_key_is_an_anomaly() {
        use proto::{GraphProto, StringStringEntryProto};
        let entry = |k: &str, v: &str| StringStringEntryProto {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        let tensor = TensorProto {
            name: Some(b"W".to_vec()),
            external_data: vec![
                entry("location", "w.bin"),
                entry("__class__", "x"),
                entry("length", "-1"),
            ],
            data_location: Some(proto::DATA_LOCATION_EXTERNAL),
        };
        let model = ModelProto {
            ir_version: Some(10),
            graph: Some(GraphProto {
                initializer: vec![tensor],
                ..Default::default()
            }),
            ..Default::default()
        };
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("model.onnx");
        std::fs::write(&p, model.encode_to_vec()).unwrap();
        let (out, _) = scan_path(&p, Vec::new());
        assert_eq!(rules(&out), ["onnx.external-data-anomaly"]);
        assert_eq!(
            out.issues[0].description,
            "Tensor 'W' (graph, initializer): external_data has the unknown key '__class__'"
        );
        assert_eq!(out.issues[0].severity, Severity::Medium);
    }

    #[test]
    fn pyop_naming_a_module_is_critical() {
        let (out, res) = scan("malicious/pyop.onnx");
        assert!(res.is_ok());
        // Reported once, as a Python operator (not again for its made-up domain).
        assert_eq!(rules(&out), ["onnx.python-op"]);
        let i = &out.issues[0];
        assert_eq!(i.severity, Severity::Critical);
        assert_eq!((i.module.as_str(), i.operator.as_str()), ("os", "system"));
        assert!(
            i.description.contains("imports module 'os'"),
            "{}",
            i.description
        );
    }

    #[test]
    fn custom_domain_operator_is_listed_once_at_low() {
        let (out, _) = scan("malicious/custom_domain.onnx");
        assert_eq!(rules(&out), ["onnx.custom-domain"]);
        let i = &out.issues[0];
        assert_eq!(i.severity, Severity::Low);
        assert_eq!(
            (i.module.as_str(), i.operator.as_str()),
            ("com.example.ops", "FancyGelu")
        );
    }

    #[test]
    fn bytes_that_are_not_protobuf_are_malformed() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("junk.onnx");
        std::fs::write(&p, b"\xff\xff\xff\xff not a model").unwrap();
        let (_, res) = scan_path(&p, Vec::new());
        assert!(
            matches!(res, Err(ScanError::Malformed { format: "onnx", .. })),
            "{res:?}"
        );
    }

    #[test]
    fn protobuf_without_graph_or_version_is_not_an_onnx_model() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("other.onnx");
        // Field 2 (producer_name) only.
        std::fs::write(&p, b"\x12\x03abc").unwrap();
        let (_, res) = scan_path(&p, Vec::new());
        assert_eq!(
            res.unwrap_err().to_string(),
            "onnx: not an ONNX model: no ir_version, graph or functions"
        );
    }

    #[test]
    fn message_flood_stops_at_the_memory_cap() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("flood.onnx");
        let mut graph = Vec::new();
        for _ in 0..10_000 {
            graph.extend([0x0a, 0x00]);
        }
        let mut model = vec![0x08, 0x0a, 0x3a, 0xa0, 0x9c, 0x01]; // ir_version 10; graph len 20000
        model.extend(graph);
        std::fs::write(&p, &model).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let item = Item {
            source: Source::file("flood.onnx".into(), p.clone()),
            blob: Blob::from_vec(bytes),
            format: Format::Onnx,
            head: Vec::new(),
        };
        let mut settings = Settings::defaults();
        settings.limits.max_in_memory_bytes = 1 << 20; // 4096 messages at most
        let mut out = Outcome::default();
        let mut ctx = ScanCtx {
            settings: &settings,
            budget: Budget::unlimited(),
            out: &mut out,
            depth: 0,
        };
        let res = OnnxScanner.scan(&item, &mut ctx);
        assert!(matches!(res, Err(ScanError::Limit(_))), "{res:?}");
    }

    fn count_graph(g: &GraphProto) -> u64 {
        1 + g.node.iter().map(count_node).sum::<u64>()
            + g.initializer.iter().map(count_tensor).sum::<u64>()
            + g.sparse_initializer.iter().map(count_sparse).sum::<u64>()
    }
    fn count_node(n: &NodeProto) -> u64 {
        1 + n.attribute.iter().map(count_attr).sum::<u64>()
    }
    fn count_attr(a: &AttributeProto) -> u64 {
        1 + a.t.iter().chain(&a.tensors).map(count_tensor).sum::<u64>()
            + a.g.iter().chain(&a.graphs).map(count_graph).sum::<u64>()
            + a.sparse_tensor
                .iter()
                .chain(&a.sparse_tensors)
                .map(count_sparse)
                .sum::<u64>()
    }
    fn count_tensor(t: &TensorProto) -> u64 {
        1 + t.external_data.len() as u64
    }
    fn count_sparse(s: &SparseTensorProto) -> u64 {
        1 + s
            .values
            .iter()
            .chain(&s.indices)
            .map(count_tensor)
            .sum::<u64>()
    }
    fn count_model(m: &ModelProto) -> u64 {
        1 + m.graph.iter().map(count_graph).sum::<u64>()
            + m.opset_import.len() as u64
            + m.training_info
                .iter()
                .map(|t| {
                    1 + t
                        .initialization
                        .iter()
                        .chain(&t.algorithm)
                        .map(count_graph)
                        .sum::<u64>()
                })
                .sum::<u64>()
            + m.functions
                .iter()
                .map(|f| {
                    1 + f.node.iter().map(count_node).sum::<u64>()
                        + f.opset_import.len() as u64
                        + f.attribute_proto.iter().map(count_attr).sum::<u64>()
                })
                .sum::<u64>()
    }

    #[test]
    fn census_counts_exactly_the_messages_the_decode_creates_and_the_copy_decodes_the_same() {
        for f in [
            "benign/mlp.onnx",
            "benign/if_loop.onnx",
            "benign/local_function.onnx",
            "benign/external_data/model.onnx",
            "malicious/extdata_nested/model.onnx",
            "malicious/pyop.onnx",
        ] {
            let bytes = std::fs::read(format!("{DIR}/{f}")).unwrap();
            let compact =
                wire::compact(&Blob::from_vec(bytes.clone()), u64::MAX, u64::MAX).unwrap();
            let model = ModelProto::decode(bytes.as_slice()).unwrap();
            assert_eq!(compact.census.messages, count_model(&model), "{f}");
            let from_copy = ModelProto::decode(compact.bytes.as_slice()).unwrap();
            assert_eq!(from_copy, model, "{f}");
            assert!(compact.bytes.len() <= bytes.len(), "{f}");
        }
    }

    #[test]
    fn fuzz_regressions_decode_the_same_from_the_compact_copy() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions/onnx");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            if let Ok(c) = wire::compact(&Blob::from_vec(bytes.clone()), 100_000, 32 << 20) {
                let whole = ModelProto::decode(bytes.as_slice()).ok();
                assert_eq!(whole, ModelProto::decode(c.bytes.as_slice()).ok());
            }
            seen += 1;
        }
        assert!(seen > 0);
    }

    fn scan_bytes(bytes: Vec<u8>) {
        let item = Item {
            source: Source::file("fuzz.onnx".into(), PathBuf::from("/nonexistent/fuzz.onnx")),
            blob: Blob::from_vec(bytes),
            format: Format::Onnx,
            head: Vec::new(),
        };
        let settings = Settings::defaults();
        let mut out = Outcome::default();
        let mut ctx = ScanCtx {
            settings: &settings,
            budget: Budget::unlimited(),
            out: &mut out,
            depth: 0,
        };
        let _ = OnnxScanner.scan(&item, &mut ctx);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            scan_bytes(data);
        }

        /// Whatever the bytes, the compact copy decodes as the file does (or both fail).
        #[test]
        fn the_compact_copy_decodes_as_the_file(which in 0usize..3, edits in proptest::collection::vec((0usize..1 << 16, proptest::prelude::any::<u8>()), 1..4), cut in 0usize..64) {
            let f = ["benign/if_loop.onnx", "benign/local_function.onnx", "malicious/extdata_nested/model.onnx"][which];
            let mut b = std::fs::read(format!("{DIR}/{f}")).unwrap();
            let len = b.len();
            for (pos, byte) in edits {
                b[pos % len] = byte;
            }
            b.truncate(len - cut.min(len));
            if let Ok(c) = wire::compact(&Blob::from_vec(b.clone()), u64::MAX, u64::MAX) {
                let whole = ModelProto::decode(b.as_slice()).ok();
                let copy = ModelProto::decode(c.bytes.as_slice()).ok();
                proptest::prop_assert_eq!(whole, copy);
            }
        }

        #[test]
        fn mutated_model_never_panics(pos in 0usize..4096, byte in proptest::prelude::any::<u8>(), cut in 0usize..64) {
            let mut b = std::fs::read(format!("{DIR}/malicious/extdata_nested/model.onnx")).unwrap();
            let len = b.len();
            b[pos % len] = byte;
            b.truncate(len - cut.min(len));
            scan_bytes(b);
        }
    }
}
