//! Pickle-based formats: plain pickles (any protocol, any name), PyTorch legacy files (the
//! magic-number pickle and the pickles stacked after it), pickle members of zips (PyTorch zip,
//! TorchScript, npz), joblib/dill/cloudpickle streams (also when decompressed by the engine), and
//! numpy `.npy` (`numpy.rs`). The VM (`vm.rs`) walks the opcodes; the globals policy
//! (`policy.rs`) judges each import; this module turns what they found into report entries.

pub mod disasm;
pub mod floor;
pub mod joblib;
mod memo;
pub mod numpy;
pub mod opcodes;
pub mod policy;
pub mod pyint;
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
        let issues_before = ctx.out.issues.len();
        let result = self.scan_enabled(item, ctx, scanner);
        // A generic data name (`.bin`, `.sav`, `.dat`: word2vec vectors, IDL saves, raw
        // floats) whose bytes neither look like a pickle nor parse as one is not a pickle:
        // the loader would fail before running anything, so it is skipped, not an error.
        // A pickle-only name (`.pkl`, `.pt`, `.joblib` ...) stays an error: fail closed.
        if let Err(ScanError::Pickle(_)) = &result {
            let generic = matches!(
                &*crate::engine::detect::extension(item.name()),
                "bin" | "sav" | "dat" | "data" | "p"
            );
            if generic
                && ctx.out.issues.len() == issues_before
                && !opcodes::looks_like_pickle_of(&item.head, item.blob.len())
            {
                ctx.unscan(&item.source);
                ctx.skip(
                    "pickle",
                    &item.source,
                    crate::findings::SkipCategory::ScanNotSupported,
                    "not a pickle: no pickle parses from its first byte (a data file with a generic extension)",
                );
                return Ok(());
            }
        }
        result
    }
}

impl PickleScanner {
    fn scan_enabled(
        &self,
        item: &Item,
        ctx: &mut ScanCtx<'_>,
        scanner: &'static str,
    ) -> Result<(), ScanError> {
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

/// Streams the VM stopped reading early get ModelScan's reading in a pass of its own up to this
/// size; past it, a pickle is almost all payload bytes, which that pass would read a second time.
const FLOOR_MAX_BYTES: u64 = 64 << 20;

/// ModelScan's reading of the same bytes (`floor::modelscan_globals`): each global it names is
/// judged by ModelScan's table and by the denylist, and what the VM did not already report at
/// that severity or more is added. A name ModelScan cannot recover is CRITICAL, as there.
fn add_floor(
    out: &mut vm::VmOutcome,
    whole: &Blob,
    base_offset: u64,
    settings: &crate::settings::Settings,
) {
    use crate::findings::Severity;
    let len = whole.len().saturating_sub(base_offset);
    // joblib streams interleave raw arrays and nested pickles that ModelScan's reading cannot
    // follow (its memo and operand recovery cross them); their pickle.load reading was scanned.
    if out.joblib_data {
        return;
    }
    // The VM fed ModelScan's reading as it went; when it read every byte, that reading is whole.
    let globals = match out.floor.take() {
        Some(g) if out.bytes_read == len => g,
        _ if len > FLOOR_MAX_BYTES => return,
        _ => floor::modelscan_globals(whole.slice(base_offset, len).reader()),
    };
    for g in globals {
        // An import of the VM's run: its names, and its verdict when the VM resolved it as
        // ModelScan's reading does (the same `judge` of the same names, not asked twice).
        let (module, name, judged) = match &g.name {
            floor::FloorName::Import(id) => match out.imports.get(*id as usize) {
                Some(i) => (&*i.module, &*i.name, Some(i)),
                None => ("unknown", "unknown", None),
            },
            floor::FloorName::Written { module, name } => (module.as_str(), name.as_str(), None),
        };
        let (rule, severity, why) = if module.contains("unknown") || name.contains("unknown") {
            (
                "pickle.unresolved-global",
                Severity::Critical,
                "ModelScan's reading of the stream cannot name this import (its operands are not \
                 string literals): a name computed at load time can be any global"
                    .to_string(),
            )
        } else {
            let (rm, rn) = policy::resolve(module, name, 2);
            let same = judged.filter(|i| (&*i.resolved_module, &*i.resolved_name) == (rm, rn));
            let verdict = match same {
                Some(i) => std::borrow::Cow::Borrowed(&i.verdict),
                None => std::borrow::Cow::Owned(policy::judge(settings, rm, rn)),
            };
            // `judge` of a name as written weighs ModelScan's table for it: a name the table
            // lists is Dangerous at its severity or more, so the table adds nothing then.
            let renamed = (rm, rn) != (module, name);
            let table = match (same, renamed) {
                (Some(_), false) => None,
                (None, false) => policy::modelscan_floor(settings, module, name),
                (_, true) => policy::modelscan_floor(settings, module, name)
                    .max(policy::modelscan_floor(settings, rm, rn)),
            };
            let deny = match &*verdict {
                policy::Verdict::Dangerous { severity, reason } => Some((*severity, reason)),
                _ => None,
            };
            let Some(severity) = table.max(deny.map(|d| d.0)) else {
                continue;
            };
            let why = deny.map_or_else(
                || format!("{module}.{name} is in the unsafe_globals table"),
                |(_, r)| r.clone(),
            );
            ("pickle.dangerous-global", severity, why)
        };
        let covered = out
            .findings
            .iter()
            .any(|f| f.module == module && f.operator == name && f.severity >= severity)
            || out.proven.iter().any(|(m, n)| m == module && n == name);
        if covered {
            continue;
        }
        let (module, name) = (module.to_string(), name.to_string());
        out.findings.push(vm::VmFinding {
            rule,
            severity,
            module,
            operator: name,
            description: None,
            why: format!("{why} (ModelScan's reading of the opcodes)"),
            offset: g.offset,
        });
    }
}

/// The files an old joblib pickle makes `joblib.load` read beside it (`NDArrayWrapper`):
/// a name that leaves the folder is reported; a file that exists beside a file on disk (or
/// beside the compressed file this pickle was decompressed from) is scanned as part of this
/// one (inside an archive, the member is scanned in its own right).
fn scan_external_files(
    scanner: &'static str,
    source: &Source,
    files: &[(u64, String)],
    base_offset: u64,
    ctx: &mut ScanCtx<'_>,
) {
    for (offset, name) in files {
        let rel = std::path::Path::new(name);
        let escapes = rel.is_absolute()
            || rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)));
        if escapes {
            ctx.issue(
                scanner,
                source,
                IssueBuilder::new("pickle.external-file")
                    .operator(
                        "joblib.numpy_pickle".to_string(),
                        "NDArrayWrapper".to_string(),
                    )
                    .description(format!(
                        "joblib.load reads {} with numpy.load(allow_pickle=True), a path outside \
                         the folder of this file",
                        crate::report::sanitize::for_terminal(name)
                    ))
                    .offset(base_offset + offset),
            );
            continue;
        }
        // Beside the file on disk: the item is the file, or the stream decompressed from it
        // (depth 0). An archive member is scanned in its own right.
        if !source.members.is_empty() && ctx.depth > 0 {
            continue;
        }
        let Some(dir) = source.absolute.parent() else {
            continue;
        };
        let path = dir.join(rel);
        if path == *source.absolute {
            // The file names itself: numpy.load of it is the pickle reading already scanned.
            continue;
        }
        // Only a regular file: opening a FIFO or a device named by the pickle would block or
        // read forever.
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        if let Ok(blob) = Blob::from_file(file) {
            ctx.scan_embedded(source.child(format!("external[{name}]")), blob);
        }
    }
}

/// `a.b_c.D`: what `find_class` could import (anything else fails the load).
fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|c| {
            c.chars()
                .next()
                .is_some_and(|h| h.is_alphabetic() || h == '_')
                && c.chars().all(|x| x.is_alphanumeric() || x == '_')
        })
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
    let mut out = Vm::new(settings, &mut ctx.budget).run(&mut input, kind);
    // joblib reads its array bytes (and their padding) as data; `pickle.load`, `numpy.load`
    // and `torch.load` of the same file run them as opcodes. Scan that reading too and report
    // what it adds; its parse errors are that loader's failure, not the file's.
    if out.joblib_data {
        if let Some(w) = whole {
            let rest = w.slice(base_offset, w.len().saturating_sub(base_offset));
            if let Ok(mut plain_input) = Input::seekable(rest.reader()) {
                let plain = Vm::new(settings, &mut ctx.budget)
                    .plain()
                    .run(&mut plain_input, kind);
                // Array data read as opcodes is mostly noise; only an import of a real name (a
                // dotted identifier, which the loader could import) can do harm there.
                for f in plain.findings.into_iter().filter(|f| {
                    !matches!(f.rule, "pickle.anomaly" | "pickle.resource-exhaustion")
                        && is_dotted_identifier(&f.module)
                        && is_dotted_identifier(&f.operator)
                        && f.module != "unknown"
                }) {
                    let seen = out.findings.iter().any(|g| {
                        g.rule == f.rule && g.module == f.module && g.operator == f.operator
                    });
                    if !seen {
                        let why = format!(
                            "{} (in the bytes joblib reads as array data, which pickle.load, \
                             numpy.load and torch.load run as opcodes)",
                            f.why
                        );
                        out.findings.push(vm::VmFinding { why, ..f });
                    }
                }
                out.nested.extend(plain.nested);
            }
        }
    }
    if let Some(w) = whole {
        add_floor(&mut out, w, base_offset, settings);
    }
    scan_external_files(scanner, source, &out.external_files, base_offset, ctx);
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
