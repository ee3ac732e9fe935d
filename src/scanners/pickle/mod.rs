//! Pickle-based formats: plain pickles (any protocol, any name), PyTorch legacy files (the
//! magic-number pickle and the pickles stacked after it), pickle members of zips (PyTorch zip,
//! TorchScript, npz), joblib/dill/cloudpickle streams (also when decompressed by the engine), and
//! numpy `.npy` (`numpy.rs`). The VM (`vm.rs`) walks the opcodes; the globals policy
//! (`policy.rs`) judges each import; this module turns what they found into report entries.

pub mod disasm;
mod memo;
pub mod numpy;
pub mod opcodes;
pub mod policy;
pub mod python_tables;
pub mod vm;

use crate::engine::blob::Blob;
use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::Source;
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};
use std::io::{Read, Seek};
use vm::{Input, StreamKind, Vm};

pub struct PickleScanner;

pub const PICKLE_SCANNER: &str = "modelscan.scanners.PickleUnsafeOpScan";
pub const PYTORCH_SCANNER: &str = "modelscan.scanners.PyTorchUnsafeOpScan";

/// ModelScan names the scanner after the file's extension; keep that in reports.
pub fn scanner_name_for(name: &str) -> &'static str {
    match &*crate::engine::detect::extension(name) {
        "bin" | "pt" | "pth" | "ckpt" => PYTORCH_SCANNER,
        _ => PICKLE_SCANNER,
    }
}

impl Scanner for PickleScanner {
    fn name(&self) -> &'static str {
        PICKLE_SCANNER
    }
    fn name_for(&self, item: &Item) -> &'static str {
        scanner_name_for(item.name())
    }
    fn scan_name(&self) -> &'static str {
        "pickle"
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::Pickle && ctx_enabled(item.name())
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let scanner = scanner_name_for(item.name());
        if !ctx.settings.scanner_enabled(scanner) {
            return Ok(());
        }
        // A small item was read whole for detection: walk those bytes, not the blob again.
        if item.head.len() as u64 == item.blob.len() {
            return scan_seekable(
                scanner,
                &item.source,
                std::io::Cursor::new(item.head.as_slice()),
                StreamKind::Multiple,
                0,
                Some(&item.blob),
                ctx,
            )
            .map(|_| ());
        }
        scan_seekable(
            scanner,
            &item.source,
            item.blob.reader(),
            StreamKind::Multiple,
            0,
            Some(&item.blob),
            ctx,
        )
        .map(|_| ())
    }
}

fn ctx_enabled(_name: &str) -> bool {
    true
}

/// Walk the pickle stream `r` (which starts `base_offset` bytes into the item) and report what
/// it holds. Returns how many bytes were read. Findings are reported even when an error follows.
pub fn scan_stream(
    scanner: &'static str,
    source: &Source,
    r: impl Read,
    kind: StreamKind,
    base_offset: u64,
    whole: Option<&Blob>,
    ctx: &mut ScanCtx<'_>,
) -> Result<u64, ScanError> {
    scan_input(
        scanner,
        source,
        Input::new(r),
        kind,
        base_offset,
        whole,
        ctx,
    )
}

/// `scan_stream` over a seekable reader (a file or a window of one): payloads too large to keep
/// are seeked over instead of read, so multi-GB arrays cost no I/O.
pub fn scan_seekable(
    scanner: &'static str,
    source: &Source,
    r: impl Read + Seek,
    kind: StreamKind,
    base_offset: u64,
    whole: Option<&Blob>,
    ctx: &mut ScanCtx<'_>,
) -> Result<u64, ScanError> {
    let input = Input::seekable(r)?;
    scan_input(scanner, source, input, kind, base_offset, whole, ctx)
}

fn scan_input<R: Read>(
    scanner: &'static str,
    source: &Source,
    mut input: Input<R>,
    kind: StreamKind,
    base_offset: u64,
    whole: Option<&Blob>,
    ctx: &mut ScanCtx<'_>,
) -> Result<u64, ScanError> {
    let settings = ctx.settings;
    let out = Vm::new(settings, &mut ctx.budget).run(&mut input, kind);
    for f in &out.findings {
        let mut b = IssueBuilder::new(f.rule)
            .severity(f.severity)
            .operator(f.module.clone(), f.operator.clone())
            .why(f.why.clone())
            .offset(base_offset + f.offset);
        if let Some(d) = &f.description {
            b = b.description(d.clone());
        }
        ctx.issue(scanner, source, b);
    }
    if ctx.wants_imports() {
        ctx.imports(source, vm::import_records(out.imports));
    }
    for (i, nested) in out.nested.iter().enumerate() {
        let child = source.child(format!("nested[{}]", i + 1));
        let (m, n) = nested.loader.rsplit_once('.').unwrap_or(("", ""));
        let len = nested
            .bytes
            .as_ref()
            .map_or_else(|| nested.range.map_or(0, |r| r.1), |b| b.len() as u64);
        let blob = match (&nested.bytes, nested.range, whole) {
            (Some(b), _, _) => Some(Blob::from_vec(b.clone())),
            (None, Some((at, l)), Some(w)) => Some(w.slice(base_offset + at, l)),
            _ => None,
        };
        let safe_loader = policy::judge(settings, m, n) == policy::Verdict::Safe;
        if blob.is_none() {
            ctx.issue(
                scanner,
                source,
                IssueBuilder::new("pickle.nested-pickle")
                    .severity(crate::findings::Severity::High)
                    .operator(m.to_string(), n.to_string())
                    .description(format!(
                        "{} deserializes {len} bytes embedded in the pickle that could not be re-read from a stream to scan them",
                        nested.loader
                    ))
                    .offset(base_offset + nested.offset),
            );
            continue;
        }
        if safe_loader {
            // Past `max_archive_depth`, `scan_embedded` reports the limit (never a silent skip).
            if let Some(b) = blob {
                ctx.scan_embedded(child, b);
            }
            continue;
        }
        ctx.issue(
            scanner,
            source,
            IssueBuilder::new("pickle.nested-pickle")
                .operator(m.to_string(), n.to_string())
                .description(format!(
                    "{} deserializes {len} bytes embedded in the pickle (scanned as {})",
                    nested.loader,
                    child.display_relative()
                ))
                .offset(base_offset + nested.offset),
        );
        if let Some(b) = blob {
            ctx.scan_embedded(child, b);
        }
    }
    if let Some(limit) = out.limit {
        return Err(ScanError::Limit(limit));
    }
    if let Some(e) = out.error {
        return Err(ScanError::Pickle(e));
    }
    Ok(out.bytes_read)
}
