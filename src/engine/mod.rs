//! The engine: from input paths to an `Outcome` per file. It walks the input (`walk`), detects
//! each item's format (`detect`), expands containers into members (`containers`, `zipdir`),
//! and hands leaf items to the scanners. A panic inside one file's scan becomes an error for that
//! file; the run goes on. Files are scanned in parallel and the results sorted afterwards, so
//! reports are the same whatever the scheduling.

pub mod blob;
pub mod containers;
pub mod detect;
pub mod policy;
pub mod stream;
pub mod walk;
pub mod zfile;
pub mod zipdir;
pub mod zstd;

use crate::error::ScanError;
use crate::findings::Outcome;
use crate::findings::{ErrorCategory, ScanErrorEntry, SkipCategory, Source};
use crate::limits::Budget;
use crate::report::Report;
use crate::scanners::{self, Item, ScanCtx};
use crate::settings::Settings;
use blob::Blob;
use detect::Format;
use std::panic::AssertUnwindSafe;
use std::path::Path;

/// What the engine tells a progress display while it works (`scan_with_progress`).
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The walk is done: this many files holding this many bytes are to be scanned.
    Start { files: usize, bytes: u64 },
    /// A file's scan begins (called from the worker thread that scans it).
    FileStarted(&'a Source),
    /// A file's scan ended; `bytes` is its size on disk.
    FileDone(&'a Source, u64),
}

/// Scan `path` (a file or a folder) with `settings` and build the report.
pub fn scan(path: &Path, input_display: &str, settings: &Settings) -> Report {
    let walked = walk::walk(path);
    let outcomes = scan_files_reporting(&walked.files, settings, &|_| {});
    finish(walked, outcomes, input_display, settings)
}

/// `scan`, telling `on_progress` where it is. The callback runs on the scanning threads, so it
/// must be cheap; it never changes what is found. The walk reads every file's size here, for
/// the total that `Progress::Start` announces.
pub fn scan_with_progress(
    path: &Path,
    input_display: &str,
    settings: &Settings,
    on_progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Report {
    let walked = walk::walk_sized(path);
    on_progress(Progress::Start {
        files: walked.files.len(),
        bytes: walked.files.iter().filter_map(|f| f.size).sum(),
    });
    let outcomes = scan_files_reporting(&walked.files, settings, on_progress);
    finish(walked, outcomes, input_display, settings)
}

/// Merge the walk and the per-file outcomes, apply the policy, build the report.
fn finish(
    walked: walk::Walked,
    outcomes: Vec<Outcome>,
    input_display: &str,
    settings: &Settings,
) -> Report {
    let walk::Walked {
        files,
        skipped,
        errors,
        absolute_root,
    } = walked;
    // The walk's list of files is not part of the report: freed before the report is built.
    drop(files);
    let mut all = Outcome {
        skipped,
        errors,
        ..Outcome::default()
    };
    for o in outcomes {
        all.issues.extend(o.issues);
        all.errors.extend(o.errors);
        all.skipped.extend(o.skipped);
        all.scanned.extend(o.scanned);
        all.scan_log.extend(o.scan_log);
        all.imports.extend(o.imports);
        all.hashes.extend(o.hashes);
    }
    policy::apply(&mut all, settings);
    Report::build(all, input_display, &absolute_root, settings)
}

/// Scan each file; in parallel, results in input order.
pub fn scan_files(files: &[walk::WalkedFile], settings: &Settings) -> Vec<Outcome> {
    scan_files_reporting(files, settings, &|_| {})
}

fn scan_files_reporting(
    files: &[walk::WalkedFile],
    settings: &Settings,
    on_progress: &(dyn Fn(Progress<'_>) + Sync),
) -> Vec<Outcome> {
    use rayon::prelude::*;
    let one = |f: &walk::WalkedFile| {
        on_progress(Progress::FileStarted(&f.source));
        let out = scan_file(&f.source, settings);
        on_progress(Progress::FileDone(
            &f.source,
            f.size.or(out.file_size).unwrap_or(0),
        ));
        out
    };
    let run = || files.par_iter().map(one).collect::<Vec<_>>();
    match rayon::ThreadPoolBuilder::new()
        .num_threads(settings.jobs.max(1))
        .build()
    {
        Ok(pool) => pool.install(run),
        Err(_) => files.iter().map(one).collect(),
    }
}

/// Open a regular file for reading, never waiting: `open` returns at once even on a FIFO put
/// where the walk saw a file (`O_NONBLOCK`, which changes nothing for a regular file), and what
/// is not a regular file is refused. Returns the file and its length.
pub fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, u64)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", walk::kind_of(&meta.file_type())),
        ));
    }
    Ok((file, meta.len()))
}

/// Files up to this size are read whole with one read: every scanner then reads memory, where
/// a file read in place costs a system call per read.
const READ_WHOLE_BYTES: u64 = 64 * 1024;

fn read_small(mut file: std::fs::File, len: u64) -> std::io::Result<Blob> {
    use std::io::Read;
    if len > READ_WHOLE_BYTES {
        return Ok(Blob::from_file_of_len(file, len));
    }
    // Exactly the length seen at open (a file that grew since is read as it was); the spare byte
    // lets `read_to_end` see the end without growing the vector.
    let mut bytes = Vec::with_capacity(len as usize + 1);
    (&mut file).take(len).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "file is shorter than when it was opened (truncated while scanning?)",
        ));
    }
    Ok(Blob::from_vec(bytes))
}

/// Scan one file on disk. Never panics: a panic in a scanner becomes an error entry.
pub fn scan_file(source: &Source, settings: &Settings) -> Outcome {
    let mut out = Outcome::default();
    let (file, len) = match open_regular(&source.absolute) {
        Ok(f) => f,
        Err(e) => {
            out.errors.push(ScanErrorEntry {
                category: ErrorCategory::Io,
                description: format!("cannot open file: {e}"),
                source: Some(source.clone()),
                scan_name: "ModelScan",
            });
            return out;
        }
    };
    let blob = match read_small(file, len) {
        Ok(b) => {
            out.file_size = Some(b.len());
            b
        }
        Err(e) => {
            out.errors.push(ScanErrorEntry {
                category: ErrorCategory::Io,
                description: format!("cannot read file: {e}"),
                source: Some(source.clone()),
                scan_name: "ModelScan",
            });
            return out;
        }
    };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        scan_root(&mut out, source.clone(), blob, None, settings);
    }));
    if result.is_err() {
        out.errors.push(ScanErrorEntry {
            category: ErrorCategory::InternalError,
            description:
                "the scanner failed on this file (internal error); it was not fully scanned".into(),
            source: Some(source.clone()),
            scan_name: "ModelScan",
        });
    }
    out
}

/// Scan bytes held in memory as if they were a file named `name`: the entry point of the fuzz
/// targets and property tests. The same path as `scan_file` (file size limit, a fresh budget,
/// detection, containers, scanners), but a panic is not caught, so that a fuzzer sees it.
pub fn scan_bytes(name: &str, bytes: &[u8], settings: &Settings) -> Outcome {
    let mut out = Outcome::default();
    let source = Source::file(name.to_string(), std::path::PathBuf::from(name));
    scan_root(
        &mut out,
        source,
        Blob::from_vec(bytes.to_vec()),
        None,
        settings,
    );
    out
}

/// `scan_bytes` with detection skipped for the outer item, which is read as `format` (members
/// are still detected): lets a fuzz target drive one parser whatever the bytes look like.
pub fn scan_bytes_as(name: &str, bytes: &[u8], format: Format, settings: &Settings) -> Outcome {
    let mut out = Outcome::default();
    let source = Source::file(name.to_string(), std::path::PathBuf::from(name));
    let blob = Blob::from_vec(bytes.to_vec());
    scan_root(&mut out, source, blob, Some(format), settings);
    out
}

/// One file's scan with its own budget. `max_file_bytes` is checked here, once, against the
/// whole file: a larger file is an error entry, never a silent partial scan.
fn scan_root(
    out: &mut Outcome,
    source: Source,
    blob: Blob,
    format: Option<Format>,
    settings: &Settings,
) {
    let mut ctx = ScanCtx {
        settings,
        budget: Budget::new(&settings.limits),
        out,
        depth: 0,
    };
    let max = settings.limits.max_file_bytes;
    if blob.len() > max {
        ctx.error(
            "ModelScan",
            &source,
            ErrorCategory::LimitExceeded,
            format!(
                "max_file_bytes: the file has {} bytes, more than the limit of {max}; it was not scanned",
                blob.len()
            ),
        );
        return;
    }
    match format {
        None => scan_blob(&mut ctx, source, blob),
        Some(f) => {
            let head = blob.head(detect::HEAD_LEN).unwrap_or_default();
            record_hash(&mut ctx, &source, &blob, &head);
            dispatch(&mut ctx, source, blob, head, f);
        }
    }
}

/// Scan bytes found inside the current item as a member of it.
pub fn scan_member(ctx: &mut ScanCtx<'_>, source: Source, blob: Blob) {
    if ctx.depth >= ctx.settings.limits.max_archive_depth {
        ctx.error(
            "ModelScan",
            &source,
            ErrorCategory::LimitExceeded,
            format!(
                "max_archive_depth: members nested more than {} levels deep are not scanned",
                ctx.settings.limits.max_archive_depth
            ),
        );
        return;
    }
    ctx.depth += 1;
    scan_blob(ctx, source, blob);
    ctx.depth -= 1;
}

/// Detect the format of `blob` and scan it: containers are expanded, everything else goes to
/// the scanners that accept it.
pub fn scan_blob(ctx: &mut ScanCtx<'_>, source: Source, blob: Blob) {
    if let Err(hit) = ctx.budget.check_time() {
        ctx.error(
            "ModelScan",
            &source,
            ErrorCategory::LimitExceeded,
            format!("{}: {}", hit.limit, hit.detail),
        );
        return;
    }
    let head = match blob.head(detect::HEAD_LEN) {
        Ok(h) => h,
        Err(e) => {
            ctx.error(
                "ModelScan",
                &source,
                ErrorCategory::Io,
                format!("cannot read: {e}"),
            );
            return;
        }
    };
    // A small file is all in `head` (nearly every pickle): its tail is there too.
    let tail: std::borrow::Cow<'_, [u8]> = if head.len() as u64 == blob.len() {
        let from = head.len().saturating_sub(detect::TAIL_LEN);
        std::borrow::Cow::Borrowed(head.get(from..).unwrap_or_default())
    } else {
        std::borrow::Cow::Owned(blob.tail(detect::TAIL_LEN).unwrap_or_default())
    };
    let sniffed = detect::sniff(&head, &tail, blob.len());
    let format = detect::detect_sniffed(source.leaf_name(), sniffed);
    if source.members.is_empty() {
        record_hash(ctx, &source, &blob, &head);
    }
    report_extension_mismatch(ctx, &source, format);
    // A pickle with a complete zip appended (the zip's end record ends the file) is both: torch
    // unpickles offset 0, zip readers see the archive. `scan_zip` scans the pickle prefix too.
    if format == Format::Pickle && detect::ends_with_eocd(&tail) {
        containers::scan_zip(ctx, &source, &blob, &head);
        return;
    }
    let extra = extra_readings(source.leaf_name(), &head, sniffed, format);
    if extra.is_empty() {
        dispatch(ctx, source, blob, head, format);
        return;
    }
    dispatch(ctx, source.clone(), blob.clone(), head.clone(), format);
    for f in extra {
        scan_speculative(ctx, source.clone(), blob.clone(), head.clone(), f);
    }
}

/// Readings a real loader could make besides the one detection chose: the format the name
/// routes the file to (TensorFlow opens `saved_model.pb`, transformers `tokenizer_config.json`,
/// a chat-template loader `*.jinja`, whatever the first bytes look like), and `pickle.load`
/// of a file whose first bytes start a pickle while the rest is another format (an HDF5 user
/// block). A sniff adds a reading; it never takes the name's away.
fn extra_readings(name: &str, head: &[u8], sniffed: Format, chosen: Format) -> Vec<Format> {
    let mut out = Vec::new();
    // The content's guess, where the name won over it (a pickle-looking `saved_model.pb`).
    if sniffed != chosen && sniffed != Format::Unknown {
        out.push(sniffed);
    }
    let by_name = detect::by_name_reading(name);
    if let Some(f) = by_name {
        if f != chosen && !out.contains(&f) {
            out.push(f);
        }
    }
    if chosen == Format::Hdf5
        && !head.starts_with(detect::HDF5_MAGIC)
        && head
            .first()
            .is_some_and(|&b| b == 0x80 || b"(c]}".contains(&b))
        && !out.contains(&Format::Pickle)
    {
        out.push(Format::Pickle);
    }
    out
}

/// Scan one more reading of the same bytes: what it finds is reported; that it fails to
/// parse is that loader's failure (it would raise), not an error of the file, so its errors,
/// skips and scanned entries are dropped.
fn scan_speculative(ctx: &mut ScanCtx<'_>, source: Source, blob: Blob, head: Vec<u8>, f: Format) {
    let (e, sk, sc) = (
        ctx.out.errors.len(),
        ctx.out.skipped.len(),
        ctx.out.scanned.len(),
    );
    dispatch(ctx, source, blob, head, f);
    ctx.out.errors.truncate(e);
    ctx.out.skipped.truncate(sk);
    ctx.out.scanned.truncate(sc);
}

/// A name that promises one specific format while the content is clearly another
/// (a torch zip named `.safetensors`, a pickle named `config.json`): tools that route by name
/// skip or misread such files.
fn report_extension_mismatch(ctx: &mut ScanCtx<'_>, source: &Source, content: Format) {
    let ext = detect::extension(source.leaf_name());
    let promised = match &*ext {
        "safetensors" => Format::Safetensors,
        "gguf" => Format::Gguf,
        "onnx" => Format::Onnx,
        "json" => Format::Json,
        "h5" | "hdf5" => Format::Hdf5,
        "npy" => Format::Numpy,
        "txt" | "md" | "yaml" | "yml" | "csv" | "cfg" | "ini" | "toml" => Format::Unknown,
        _ => return,
    };
    let definite = matches!(
        content,
        Format::Pickle
            | Format::Zip
            | Format::Tar
            | Format::SevenZip
            | Format::Gguf
            | Format::Safetensors
            | Format::Hdf5
            | Format::Numpy
    ) || content.is_compressed_stream();
    if definite && content != promised {
        ctx.issue(
            "modelscan.engine",
            source,
            crate::scanners::IssueBuilder::new("format.extension-mismatch")
                .operator("format", content.name())
                .description(format!(
                    "The file is named .{ext} but its content is {}; it was scanned as {}",
                    content.name(),
                    content.name()
                )),
        );
    }
}

/// Containers are expanded; everything else goes to the scanners.
fn dispatch(ctx: &mut ScanCtx<'_>, source: Source, blob: Blob, head: Vec<u8>, format: Format) {
    match format {
        Format::Zip => containers::scan_zip(ctx, &source, &blob, &head),
        Format::Tar => containers::scan_tar_blob(ctx, &source, &blob),
        Format::SevenZip => containers::scan_7z(ctx, &source, &blob),
        f if f.is_compressed_stream() => containers::scan_compressed(ctx, &source, &blob, f),
        _ => scan_leaf(
            ctx,
            Item {
                source,
                blob,
                format,
                head,
            },
        ),
    }
}

/// Run the scanners that accept `item`; skip it if none does.
pub fn scan_leaf(ctx: &mut ScanCtx<'_>, item: Item) {
    let (scanners, disabled) = scanners::select(&item, ctx.settings);
    // A scanner the settings disable leaves its files unread: that is said, and the file is
    // not vouched for (an error entry, so the run cannot end "No issues found" on it).
    for name in disabled {
        ctx.error(
            "ModelScan",
            &item.source,
            ErrorCategory::ModelScan,
            format!(
                "not scanned: the settings disable {name} (scanners.\"{name}\".enabled = false)"
            ),
        );
    }
    if scanners.is_empty() {
        ctx.skip(
            "ModelScan",
            &item.source,
            SkipCategory::ScanNotSupported,
            "Model Scan did not scan file",
        );
        return;
    }
    // Most files are one item; a report of many files keeps every entry.
    ctx.out.scanned.reserve_exact(1);
    ctx.out.scanned.push(item.source.clone());
    if !item.source.members.is_empty() {
        record_hash(ctx, &item.source, &item.blob, &item.head);
    }
    for s in scanners {
        ctx.log_scan(&item.source, s.name_for(&item));
        if let Err(e) = s.scan(&item, ctx) {
            report_error(ctx, s.scan_name(), &item.source, e);
        }
    }
}

/// Turn a scanner's error into an error entry (and a finding when a limit was hit).
pub fn report_error(ctx: &mut ScanCtx<'_>, scan_name: &'static str, source: &Source, e: ScanError) {
    let category = e.category();
    ctx.error(scan_name, source, category, e.to_string());
}

/// sha256 of a top-level file (files over 64 MB are hashed when the report is built, streaming)
/// or of a scanned member. Members no scanner reads (tensor storages) are not hashed: that would
/// read every byte of a multi-GB checkpoint.
/// The SHA-256 of a scanned file (or member) for the report. `head` is the blob's first bytes,
/// already read for detection: a small file (nearly every pickle) is hashed from it, not read again.
fn record_hash(ctx: &mut ScanCtx<'_>, source: &Source, blob: &Blob, head: &[u8]) {
    const TOP_LEVEL_LIMIT: u64 = 64 << 20;
    if !ctx.settings.hashes || (source.members.is_empty() && blob.len() > TOP_LEVEL_LIMIT) {
        return;
    }
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    if head.len() as u64 == blob.len() {
        h.update(head);
    } else {
        let mut off = 0u64;
        let mut buf =
            vec![0u8; (1usize << 16).min(usize::try_from(blob.len()).unwrap_or(usize::MAX))];
        while off < blob.len() {
            match blob.read_at(off, &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    h.update(buf.get(..n).unwrap_or(&[]));
                    off += n as u64;
                }
            }
        }
    }
    ctx.out
        .hashes
        .push((source.clone(), crate::report::hashes::hex(&h.finalize())));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A protocol 4 pickle of one 1 MiB bytes object: the scan must read to its end.
    fn big_pickle() -> Vec<u8> {
        let n: u32 = 1 << 20;
        let mut v = vec![0x80, 4, 0x8e];
        v.extend_from_slice(&u64::from(n).to_le_bytes());
        v.extend(std::iter::repeat_n(b'x', n as usize));
        v.push(b'.');
        v
    }

    fn scan_named(name: &str, bytes: &[u8]) -> Outcome {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let blob = Blob::from_file(std::fs::File::open(&path).unwrap()).unwrap();
        let mut out = Outcome::default();
        scan_root(
            &mut out,
            Source::file(name.into(), path),
            blob,
            None,
            &Settings::defaults(),
        );
        out
    }

    #[test]
    fn the_name_reading_is_kept_when_the_first_bytes_look_like_another_format() {
        // A template whose first bytes are pickle opcodes is still read as a template, and
        // the pickle reading's failure is not an error of the file.
        let t = b"(c{{ cycler.__init__.__globals__.os.popen('id').read() }}";
        let out = scan_named("chat_template.jinja", t);
        assert!(
            out.issues.iter().any(|i| i.rule == "template.injection"),
            "{:?}",
            out.issues
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        // A pickle named like a TensorFlow file: TensorFlow's reading fails (an error), and
        // pickle.load's reading still reports the payload.
        let p = b"\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R.";
        let out = scan_named("saved_model.pb", p);
        assert!(
            out.issues
                .iter()
                .any(|i| i.rule == "pickle.dangerous-global"),
            "{:?}",
            out.issues
        );
    }

    #[test]
    fn a_file_truncated_after_it_was_opened_is_an_error_not_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.pkl");
        std::fs::write(&path, big_pickle()).unwrap();
        let blob = Blob::from_file(std::fs::File::open(&path).unwrap()).unwrap();
        // Another process cuts the file while we hold it open.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(1000)
            .unwrap();
        let mut out = Outcome::default();
        let source = Source::file("model.pkl".into(), path.clone());
        scan_root(&mut out, source, blob, None, &Settings::defaults());
        assert!(out.issues.is_empty(), "{:?}", out.issues);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        let e = &out.errors[0];
        assert!(e.description.contains("truncated while scanning"), "{e:?}");
        policy::apply(&mut out, &Settings::defaults());
        let report = Report::build(out, "model.pkl", dir.path(), &Settings::defaults());
        assert_eq!(crate::report::exit_status(&report), 2);
    }
}
