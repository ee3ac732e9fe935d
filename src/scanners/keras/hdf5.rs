//! Keras HDF5 files (`.h5`, `.hdf5`, `.weights.h5`, any file with the HDF5 signature): the
//! root attributes `model_config` and `training_config` (JSON, stored as variable-length
//! strings, fixed-length strings or the bytes old Keras wrote) go to the config walker, and the
//! group tree is walked for references that make a loader touch other files: external links,
//! external raw-data storage and virtual datasets. Dataset contents are never read.
//!
//! The file is parsed with `hdf5-reader` over the item's blob (`BlobStorage`): the parser reads
//! the byte ranges it needs (superblock, object headers, heaps, B-tree nodes) through a small
//! block cache, so a multi-GB weights file costs its metadata in memory, not its size. Nothing
//! is memory-mapped: a file truncated under a mapping raises SIGBUS.

use super::config::Walker;
use crate::engine::blob::Blob;
use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::{ErrorCategory, Severity, Source};
use crate::limits::LimitHit;
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};
use hdf5_reader::messages::HdfMessage;
use hdf5_reader::messages::datatype::{Datatype, StringSize, VarLenKind};
use hdf5_reader::{
    Attribute, BlockCacheStorage, ExternalLinkResolver, Hdf5File, OpenOptions, Storage,
    StorageBuffer,
};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const EXTERNAL_RULE: &str = "keras.hdf5-external-reference";

pub struct H5Scanner;

const NAME: &str = "modelscan.scanners.H5LambdaDetectScan";
const SCAN_NAME: &str = "hdf5";

/// Most groups and datasets visited in one file.
const MAX_OBJECTS: usize = 200_000;

impl Scanner for H5Scanner {
    fn name(&self) -> &'static str {
        NAME
    }
    fn scan_name(&self) -> &'static str {
        SCAN_NAME
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::Hdf5
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let max_read = ctx.settings.limits.max_in_memory_bytes;
        let blocks = BlockCacheStorage::new(
            Arc::new(BlobStorage(item.blob.clone())),
            CACHE_BLOCK,
            CACHE_BLOCKS,
        );
        let storage = Arc::new(CappedStorage {
            inner: blocks,
            max_read,
            refused: AtomicU64::new(0),
        });
        let result = scan_file(item, ctx, storage.clone());
        match storage.refused.load(Ordering::Relaxed) {
            0 => result,
            needed => Err(ScanError::Limit(LimitHit {
                limit: "max_in_memory_bytes",
                detail: format!(
                    "the HDF5 parser needed a read of {needed} bytes; the limit is {max_read}"
                ),
            })),
        }
    }
}

fn scan_file(
    item: &Item,
    ctx: &mut ScanCtx<'_>,
    storage: Arc<CappedStorage>,
) -> Result<(), ScanError> {
    let links = Arc::new(LinkRecorder::default());
    let options = OpenOptions::default()
        .with_external_link_resolver(links.clone())
        .with_chunk_cache_bytes(0)
        .with_max_read_bytes(1 << 20);
    let file = Hdf5File::from_storage_with_options(storage, options).map_err(|e| malformed(&e))?;
    // libhdf5 refuses a file shorter than the end-of-file address its superblock records
    // ("truncated file"); so do we, with the numbers.
    let sb = file.superblock();
    // The end-of-file address libhdf5 writes counts the user block (a file with a 512-byte user
    // block records its whole size), so it is compared with the whole file.
    let available = item.blob.len();
    let _ = sb.base_address;
    if sb.eof_address != u64::MAX && sb.eof_address > available {
        return Err(ScanError::malformed(
            "hdf5",
            None,
            format!(
                "truncated file: {available} bytes, the superblock's end-of-file address is {}",
                sb.eof_address
            ),
        ));
    }
    let root = file.root_group().map_err(|e| malformed(&e))?;
    let attributes = root.attributes().map_err(|e| malformed(&e))?;
    let offset_size = file.superblock().offset_size;
    // A Keras model or weights file (what a loader opens and reads every group of), as
    // opposed to HDF5 data that no model loader reads.
    let keras = attributes.iter().any(|a| {
        matches!(
            a.name.as_str(),
            "model_config" | "training_config" | "keras_version" | "layer_names" | "backend"
        )
    });
    for key in ["model_config", "training_config"] {
        let Some(attr) = attributes.iter().find(|a| a.name == key) else {
            continue;
        };
        let text = attribute_text(attr, offset_size).map_err(|reason| {
            ScanError::malformed("hdf5", None, format!("attribute '{key}': {reason}"))
        })?;
        let mut memory = ctx.settings.limits.max_in_memory_bytes;
        let value = match crate::scanners::json::value_capped(text.as_bytes(), &mut memory)? {
            Ok(v) => v,
            Err(e) => {
                ctx.error(
                    SCAN_NAME,
                    &item.source,
                    ErrorCategory::JsonDecode,
                    format!("Not a valid JSON data (attribute '{key}': {e})"),
                );
                continue;
            }
        };
        let mut walker = Walker::new(ctx.settings);
        let walked = walker.walk(&value);
        super::report_walk(ctx, NAME, &item.source, walker);
        walked?;
    }
    walk_tree(&file, &links, ctx, &item.source, keras)
}

fn malformed(e: &hdf5_reader::error::Error) -> ScanError {
    ScanError::malformed("hdf5", None, e.to_string())
}

/// Bytes of one block of the read cache, and how many blocks it keeps (4 MiB).
const CACHE_BLOCK: usize = 64 * 1024;
const CACHE_BLOCKS: usize = 64;

/// `hdf5-reader` storage over a blob, read in blocks of `CACHE_BLOCK` bytes by the cache
/// above it.
struct BlobStorage(Blob);

impl Storage for BlobStorage {
    fn len(&self) -> u64 {
        self.0.len()
    }

    fn read_range(&self, offset: u64, len: usize) -> hdf5_reader::error::Result<StorageBuffer> {
        use hdf5_reader::error::Error;
        let needed = len as u64;
        let end = offset
            .checked_add(needed)
            .ok_or(Error::OffsetOutOfBounds(offset))?;
        if end > self.0.len() {
            return Err(Error::UnexpectedEof {
                offset,
                needed,
                available: self.0.len().saturating_sub(offset),
            });
        }
        Ok(StorageBuffer::from_vec(self.0.read_vec(offset, len)?))
    }
}

/// What the parser reads from: the block cache, with every read it asks for checked against
/// `max_in_memory_bytes` first (a length in the file could ask for gigabytes).
struct CappedStorage {
    inner: BlockCacheStorage,
    max_read: u64,
    /// The size of a read refused for the cap (0: none): the parser reports it as its own
    /// error, the scan as the limit it is.
    refused: AtomicU64,
}

impl Storage for CappedStorage {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_range(&self, offset: u64, len: usize) -> hdf5_reader::error::Result<StorageBuffer> {
        let needed = len as u64;
        if needed > self.max_read {
            self.refused.store(needed, Ordering::Relaxed);
            return Err(hdf5_reader::error::Error::InvalidData(format!(
                "a read of {needed} bytes at offset {offset} passes max_in_memory_bytes ({})",
                self.max_read
            )));
        }
        self.inner.read_range(offset, len)
    }
}

/// The text of a string attribute, however Keras and h5py stored it. Variable-length strings
/// are resolved through the global heap when the attributes are read (`decoded_strings`);
/// the fallbacks below get no file bytes, so a reference they would follow is an error.
fn attribute_text(attr: &Attribute, offset_size: u8) -> Result<String, String> {
    let file: &[u8] = &[];
    if let Some(first) = attr.decoded_strings.as_ref().and_then(|s| s.first()) {
        return Ok(first.clone());
    }
    match &attr.datatype {
        Datatype::String {
            size: StringSize::Fixed(_),
            ..
        } => {
            if attr.shape.is_empty() {
                attr.read_string().map_err(|e| e.to_string())
            } else {
                first_string(attr.read_strings().map_err(|e| e.to_string())?)
            }
        }
        Datatype::String {
            size: StringSize::Variable,
            ..
        } => {
            if attr.shape.is_empty() {
                attr.read_vlen_string(file, offset_size)
                    .map_err(|e| e.to_string())
            } else {
                first_string(
                    attr.read_vlen_strings(file, offset_size)
                        .map_err(|e| e.to_string())?,
                )
            }
        }
        Datatype::VarLen {
            kind: VarLenKind::String,
            ..
        } => attr.read_string().map_err(|e| e.to_string()),
        // Raw bytes (an opaque or uint8 array) holding the JSON text.
        Datatype::FixedPoint { size: 1, .. } | Datatype::Opaque { .. } => {
            Ok(String::from_utf8_lossy(&attr.raw_data).into_owned())
        }
        other => Err(format!("not a string ({other:?})")),
    }
}

fn first_string(v: Vec<String>) -> Result<String, String> {
    v.into_iter()
        .next()
        .ok_or_else(|| "empty string array".to_string())
}

/// Records the targets of external links instead of opening them: `hdf5-reader` asks the
/// resolver for every external link it meets while listing a group, compact or dense.
#[derive(Default)]
struct LinkRecorder {
    current_group: Mutex<String>,
    found: Mutex<Vec<(String, String)>>,
}

impl ExternalLinkResolver for LinkRecorder {
    fn resolve_external_link(
        &self,
        filename: &str,
    ) -> hdf5_reader::error::Result<Option<Hdf5File>> {
        let group = self
            .current_group
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default();
        if let Ok(mut found) = self.found.lock() {
            if found.len() < 10_000 {
                found.push((group, filename.to_string()));
            }
        }
        Ok(None)
    }
}

/// A path that leaves the model's folder: absolute, or climbing with `..`.
fn escapes(path: &str) -> bool {
    path.starts_with('/')
        || path.starts_with('\\')
        || path.get(1..3) == Some(":\\")
        || path.get(1..3) == Some(":/")
        || path.split(['/', '\\']).any(|c| c == "..")
}

#[allow(clippy::too_many_arguments)]
fn external_issue(
    ctx: &mut ScanCtx<'_>,
    source: &Source,
    operator: &str,
    target: &str,
    description: String,
    effect: &str,
    keras: bool,
) {
    // Plain HDF5 data linking a file beside it (PyTables' own test files do) is read by no
    // model loader; a Keras file's links are followed when its weights load, and a target
    // outside the folder is reported whatever the file is.
    if !keras && !escapes(target) {
        return;
    }
    let severity = if escapes(target) {
        Severity::High
    } else {
        Severity::Medium
    };
    ctx.issue(
        NAME,
        source,
        IssueBuilder::new(EXTERNAL_RULE)
            .operator("HDF5", operator)
            .severity(severity)
            .description(description)
            .why(format!(
                "{effect} Target: '{}'{}.",
                target.escape_debug(),
                if escapes(target) {
                    ", outside the model's folder"
                } else {
                    ""
                }
            )),
    );
}

/// Walk every group and dataset (each once, whatever the hard links) for external links,
/// external raw-data files and virtual datasets.
fn walk_tree(
    file: &Hdf5File,
    links: &LinkRecorder,
    ctx: &mut ScanCtx<'_>,
    source: &Source,
    keras: bool,
) -> Result<(), ScanError> {
    let root = file.root_group().map_err(|e| malformed(&e))?;
    let max_depth = ctx.settings.limits.max_nesting_depth;
    let sb = file.superblock();
    let (offset_size, length_size) = (sb.offset_size, sb.length_size);
    let mut visited: HashSet<u64> = HashSet::new();
    visited.insert(root.address());
    let mut stack = vec![(root, "/".to_string(), 0u32)];
    let mut result = Ok(());
    while let Some((group, path, depth)) = stack.pop() {
        ctx.budget.check_time()?;
        if visited.len() > MAX_OBJECTS {
            result = Err(ScanError::Limit(LimitHit {
                limit: "max_objects",
                detail: format!("more than {MAX_OBJECTS} HDF5 groups and datasets"),
            }));
            break;
        }
        if let Ok(mut g) = links.current_group.lock() {
            g.clone_from(&path);
        }
        let (groups, datasets) = match group.member_names() {
            Ok(m) => m,
            Err(e) => {
                result = Err(tree_error(ctx, source, &path, &e));
                break;
            }
        };
        for name in datasets {
            let child_path = join(&path, &name);
            let dataset = match group.dataset(&name) {
                Ok(d) => d,
                Err(e) => {
                    result = Err(tree_error(ctx, source, &child_path, &e));
                    break;
                }
            };
            if !visited.insert(dataset.address()) {
                continue;
            }
            let header = match file.get_or_parse_header(dataset.address()) {
                Ok(h) => h,
                Err(e) => {
                    result = Err(malformed(&e));
                    break;
                }
            };
            for msg in &header.messages {
                if let HdfMessage::ExternalFiles(ext) = msg {
                    let heap = hdf5_reader::local_heap::LocalHeap::parse_at_storage(
                        file.storage(),
                        ext.heap_address,
                        offset_size,
                        length_size,
                    );
                    for slot in ext.slots.iter().take(64) {
                        let target = heap
                            .as_ref()
                            .ok()
                            .and_then(|h| {
                                h.get_string_storage(slot.name_offset, file.storage()).ok()
                            })
                            .unwrap_or_else(|| "<unreadable name>".to_string());
                        external_issue(
                            ctx,
                            source,
                            "ExternalStorage",
                            &target,
                            format!(
                                "HDF5 dataset '{}' stores its data in an external file",
                                child_path.escape_debug()
                            ),
                            "Reading this dataset (loading the weights) reads bytes of another \
                             file on the loading machine into the model.",
                            keras,
                        );
                    }
                }
            }
        }
        if result.is_err() {
            break;
        }
        if depth >= max_depth {
            if !groups.is_empty() {
                result = Err(ScanError::Limit(LimitHit {
                    limit: "max_nesting_depth",
                    detail: format!("HDF5 groups nested deeper than {max_depth} levels"),
                }));
                break;
            }
            continue;
        }
        for name in groups {
            let child_path = join(&path, &name);
            match group.group(&name) {
                Ok(child) => {
                    if visited.insert(child.address()) {
                        stack.push((child, child_path, depth + 1));
                    }
                }
                Err(e) => {
                    result = Err(tree_error(ctx, source, &child_path, &e));
                    break;
                }
            }
        }
        if result.is_err() {
            break;
        }
    }
    let found = links.found.lock().map(|f| f.clone()).unwrap_or_default();
    for (group, target) in found {
        external_issue(
            ctx,
            source,
            "ExternalLink",
            &target,
            format!(
                "HDF5 group '{}' has an external link to another file",
                group.escape_debug()
            ),
            "h5py follows external links when the group is read (loading the weights), opening \
             a file chosen by the model's author on the loading machine.",
            keras,
        );
    }
    result
}

/// A virtual dataset (layout class 3) maps its data from other files; `hdf5-reader` does not
/// read that layout, which is itself worth an issue. Any other failure is an error.
fn tree_error(
    ctx: &mut ScanCtx<'_>,
    source: &Source,
    path: &str,
    e: &hdf5_reader::error::Error,
) -> ScanError {
    // The error arrives wrapped with the child's name, so match on its text.
    if e.to_string().contains("unsupported layout class 3") {
        external_issue(
            ctx,
            source,
            "VirtualDataset",
            "<virtual dataset sources>",
            format!(
                "HDF5 virtual dataset under '{}' maps data from other files",
                path.escape_debug()
            ),
            "Reading a virtual dataset reads the source files it names on the loading machine.",
            true,
        );
    }
    ScanError::malformed("hdf5", None, format!("{}: {e}", path.escape_debug()))
}

fn join(path: &str, name: &str) -> String {
    if path.ends_with('/') {
        format!("{path}{name}")
    } else {
        format!("{path}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{run, scan_file};
    use super::*;

    fn h5(path: &str) -> crate::findings::Outcome {
        scan_file(&H5Scanner, path, Format::Hdf5)
    }

    #[test]
    fn benign_keras_h5_files_have_no_issue() {
        for f in [
            "keras/benign/sequential_k3.h5",
            "keras/benign/custom_layer_k3.h5",
            "keras/benign/functional_tfkeras.h5",
            "keras/benign/config_fixed_bytes.h5",
            "keras/benign/model.weights.h5",
        ] {
            let out = h5(f);
            assert!(out.issues.is_empty(), "{f}: {:?}", out.issues);
            assert!(out.errors.is_empty(), "{f}: {:?}", out.errors);
        }
    }

    #[test]
    fn keras3_h5_lambda_calling_os_system_is_critical() {
        let out = h5("keras/malicious/lambda_os_system_k3.h5");
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        let i = &out.issues[0];
        assert_eq!(i.rule, "keras.lambda-dangerous-code");
        assert_eq!(i.severity, Severity::Critical);
        assert_eq!(
            (i.module.as_str(), i.operator.as_str()),
            ("Keras", "Lambda")
        );
        assert_eq!(i.scanner, NAME);
        assert!(
            i.why.contains("system") && i.why.contains("'preprocess'"),
            "{}",
            i.why
        );
    }

    #[test]
    fn tf_keras_h5_lambdas_are_critical_in_both_string_encodings() {
        for f in [
            "keras/malicious/lambda_os_system_tfkeras.h5",
            "keras/malicious/lambda_fixed_bytes_tfkeras.h5",
            "keras/malicious/lambda_subprocess_def_tfkeras.h5",
        ] {
            let out = h5(f);
            assert_eq!(out.issues.len(), 1, "{f}: {:?}", out.issues);
            assert_eq!(out.issues[0].severity, Severity::Critical, "{f}");
        }
        let out = h5("keras/malicious/lambda_subprocess_def_tfkeras.h5");
        assert!(
            out.issues[0].why.contains("subprocess"),
            "{}",
            out.issues[0].why
        );
    }

    #[test]
    fn external_links_and_storage_are_reported_with_their_targets() {
        let out = h5("keras/malicious/external_link.h5");
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert_eq!(out.issues[0].rule, EXTERNAL_RULE);
        assert_eq!(out.issues[0].operator, "ExternalLink");
        assert_eq!(out.issues[0].severity, Severity::High);
        assert!(out.issues[0].why.contains("../../outside/secret.h5"));
        assert!(out.issues[0].description.contains("/model_weights"));

        let out = h5("keras/malicious/external_link_dense.h5");
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert!(out.issues[0].why.contains("/etc/secret.h5"));

        let out = h5("keras/malicious/external_storage.h5");
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert_eq!(out.issues[0].operator, "ExternalStorage");
        assert!(
            out.issues[0].why.contains("/etc/hostname"),
            "{}",
            out.issues[0].why
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
    }

    #[test]
    fn virtual_dataset_is_reported_and_the_unread_rest_is_an_error() {
        let (out, result) = run(
            &H5Scanner,
            "keras/malicious/external_virtual_dataset.h5",
            Format::Hdf5,
        );
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert_eq!(out.issues[0].operator, "VirtualDataset");
        assert_eq!(out.issues[0].rule, EXTERNAL_RULE);
        let e = result.unwrap_err();
        assert_eq!(
            e.to_string(),
            "hdf5: /: child 'virtual' at 0x4338: unsupported layout class 3"
        );
    }

    #[test]
    fn truncated_h5_is_a_malformed_error() {
        let (out, result) = run(&H5Scanner, "keras/malformed/truncated.h5", Format::Hdf5);
        assert!(out.issues.is_empty());
        let e = result.unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Malformed);
        assert_eq!(
            e.to_string(),
            "hdf5: truncated file: 4096 bytes, the superblock's end-of-file address is 17208"
        );
    }

    #[test]
    fn bad_model_config_json_is_a_json_decode_error() {
        let out = h5("keras/malformed/bad_model_config.h5");
        assert!(out.issues.is_empty());
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(out.errors[0].category, ErrorCategory::JsonDecode);
        assert_eq!(
            out.errors[0].description,
            "Not a valid JSON data (attribute 'model_config': EOF while parsing an object at line 1 column 40)"
        );
    }

    #[test]
    fn damaged_files_end_in_an_error_or_a_result_never_a_panic() {
        let good = std::fs::read(super::super::tests::fixture_path(
            "keras/malicious/lambda_os_system_tfkeras.h5",
        ))
        .unwrap();
        let settings = crate::settings::Settings::defaults();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut variants: Vec<Vec<u8>> = (0..good.len())
            .step_by(97)
            .map(|n| good[..n].to_vec())
            .collect();
        for _ in 0..300 {
            let mut v = good.clone();
            let at = (next() % 8192.min(v.len() as u64)) as usize;
            v[at] ^= (next() % 255 + 1) as u8;
            variants.push(v);
        }
        for v in variants {
            let item = super::super::tests::item_from(
                v,
                Source::file("m.h5".into(), "m.h5".into()),
                Format::Hdf5,
            );
            let _ = super::super::tests::run_item_with(&H5Scanner, &item, &settings);
        }
    }

    #[test]
    fn a_file_larger_than_the_memory_cap_is_read_in_parts() {
        // 281 KB of file (256 KiB of it one dataset) under a 64 KiB cap: no read the parser
        // makes needs the whole file, and the dataset is never read.
        let mut settings = crate::settings::Settings::defaults();
        settings.limits.max_in_memory_bytes = 64 << 10;
        let f = "keras/benign/sequential_k3_large_weights.h5";
        let (out, result) = super::super::tests::run_with(&H5Scanner, f, Format::Hdf5, &settings);
        assert!(result.is_ok(), "{f}: {result:?}");
        assert!(out.issues.is_empty(), "{:?}", out.issues);
        // Before, the whole file was read into memory first: over the cap, a limit error.
        let len = std::fs::metadata(super::super::tests::fixture_path(f))
            .unwrap()
            .len();
        assert!(len > settings.limits.max_in_memory_bytes);
    }

    #[test]
    fn a_read_over_the_memory_cap_is_a_limit_error() {
        // The model config (a few KB in the global heap) is one read past 1000 bytes.
        let mut settings = crate::settings::Settings::defaults();
        settings.limits.max_in_memory_bytes = 1000;
        let (_, result) = super::super::tests::run_with(
            &H5Scanner,
            "keras/benign/sequential_k3.h5",
            Format::Hdf5,
            &settings,
        );
        let e = result.unwrap_err();
        assert_eq!(e.category(), ErrorCategory::LimitExceeded);
    }
}
