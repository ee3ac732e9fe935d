//! Containers expanded into members, recursively, never to disk: zip (through our own
//! central-directory walker, read the way PyTorch reads archives), tar (plain or compressed),
//! 7z, and single-stream gzip/bz2/xz/lzma/zstd/zlib wrappers (joblib's compressed files,
//! `.pkl.gz`). Each member becomes a `Source` child (`outer.zip:inner/data.pkl`) and goes back
//! through detection. Decompression is guarded: a stream that expands past the size limit with
//! an extreme ratio is a bomb (an issue), and the scan goes on with the next member.

use super::blob::Blob;
use super::detect::{self, Format};
use super::zipdir::{self, ZipEntry};
use crate::error::ScanError;
use crate::findings::{ErrorCategory, Severity, SkipCategory, Source};
use crate::scanners::pickle::{self, vm::StreamKind};
use crate::scanners::{IssueBuilder, Item, ScanCtx};
use std::cell::Cell;
use std::collections::HashSet;
use std::io::{self, Read};
use std::rc::Rc;

const ENGINE: &str = "modelscan.engine";

/// What stopped a guarded decompression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    Bomb {
        produced: u64,
        consumed: u64,
    },
    TooLarge {
        produced: u64,
    },
    /// The file's time budget ran out while decompressing.
    Timeout {
        produced: u64,
    },
}

/// Counts the compressed bytes a decoder pulls from its source.
struct CountIn<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for CountIn<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Wraps a decoder: stops with an error once the output passes the limits.
pub struct Guarded<R> {
    inner: R,
    consumed: Rc<Cell<u64>>,
    produced: u64,
    max_out: u64,
    max_ratio: u64,
    floor: u64,
    pub tripped: Rc<Cell<Option<Guard>>>,
    /// The decoder's own error (a corrupt or truncated stream), kept so that it is reported
    /// as such rather than as whatever the consumer made of the failed read.
    pub corrupt: Rc<std::cell::RefCell<Option<String>>>,
    /// A copy of the file's budget: its deadline (`max_seconds_per_file`) holds while the
    /// decoder runs, however long the stream.
    budget: crate::limits::Budget,
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                self.corrupt
                    .borrow_mut()
                    .get_or_insert_with(|| e.to_string());
                return Err(e);
            }
        };
        self.produced += n as u64;
        let consumed = self.consumed.get().max(1);
        if self.produced > self.floor && self.produced / consumed > self.max_ratio {
            self.tripped.set(Some(Guard::Bomb {
                produced: self.produced,
                consumed,
            }));
            return Err(io::Error::other("decompression bomb"));
        }
        if self.budget.check_time().is_err() {
            self.tripped.set(Some(Guard::Timeout {
                produced: self.produced,
            }));
            return Err(io::Error::other("time limit per file reached"));
        }
        if self.produced > self.max_out {
            self.tripped.set(Some(Guard::TooLarge {
                produced: self.produced,
            }));
            return Err(io::Error::other("decompressed size limit reached"));
        }
        Ok(n)
    }
}

/// A decoder for `format` over `src`, guarded by the limits.
fn guarded_decoder<'a>(
    ctx: &ScanCtx<'_>,
    format: Format,
    src: impl Read + 'a,
) -> Result<Guarded<Box<dyn Read + 'a>>, ScanError> {
    let consumed = Rc::new(Cell::new(0u64));
    let counted = CountIn {
        inner: src,
        count: consumed.clone(),
    };
    let inner: Box<dyn Read + 'a> = match format {
        Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Format::Zlib => Box::new(flate2::read::ZlibDecoder::new(counted)),
        Format::JoblibZfile => Box::new(flate2::read::ZlibDecoder::new(
            super::zfile::zlib_stream(counted)
                .map_err(|e| ScanError::malformed("joblib-zfile", Some(0), e.to_string()))?,
        )),
        Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(counted)),
        Format::Xz => Box::new(lzma_rust2::XzReader::new(counted, true)),
        Format::LzmaAlone => Box::new(
            lzma_rust2::LzmaReader::new_mem_limit(counted, 1 << 20, None)
                .map_err(|e| ScanError::malformed("lzma", Some(0), e.to_string()))?,
        ),
        Format::Zstd => Box::new(super::zstd::ZstdFrames::new(counted)),
        Format::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(counted)),
        _ => {
            return Err(ScanError::Unsupported(format!(
                "{} is not a compressed stream",
                format.name()
            )));
        }
    };
    let l = &ctx.settings.limits;
    Ok(Guarded {
        inner,
        consumed,
        produced: 0,
        max_out: l.max_decompressed_bytes,
        max_ratio: l.max_compression_ratio,
        floor: l.bomb_floor_bytes,
        tripped: Rc::new(Cell::new(None)),
        corrupt: Rc::default(),
        budget: ctx.budget.clone(),
    })
}

fn report_guard(ctx: &mut ScanCtx<'_>, source: &Source, g: Guard) {
    match g {
        Guard::Bomb { produced, consumed } => ctx.issue(
            ENGINE,
            source,
            IssueBuilder::new("archive.bomb")
                .operator("archive", "decompression")
                .description(format!(
                    "Decompression bomb: {consumed} compressed bytes had already expanded to {produced} bytes (ratio over {}) when decompression was stopped",
                    ctx.settings.limits.max_compression_ratio
                )),
        ),
        Guard::TooLarge { produced } => ctx.error(
            "ModelScan",
            source,
            ErrorCategory::LimitExceeded,
            format!("max_decompressed_bytes: stopped after {produced} decompressed bytes; the rest was not scanned"),
        ),
        Guard::Timeout { produced } => ctx.error(
            "ModelScan",
            source,
            ErrorCategory::LimitExceeded,
            format!("max_seconds_per_file: time limit reached after {produced} decompressed bytes; the rest was not scanned"),
        ),
    }
}

/// Read a guarded stream fully into memory (for formats that need random access).
fn read_all_guarded<R: Read>(
    ctx: &mut ScanCtx<'_>,
    source: &Source,
    mut r: Guarded<R>,
) -> Option<Vec<u8>> {
    let cap = ctx.settings.limits.max_in_memory_bytes;
    let mut out = Vec::new();
    let res = (&mut r).take(cap + 1).read_to_end(&mut out);
    if let Some(g) = r.tripped.get() {
        report_guard(ctx, source, g);
        return None;
    }
    if let Err(e) = res {
        ctx.error(
            "ModelScan",
            source,
            ErrorCategory::Malformed,
            format!("decompression failed: {e}"),
        );
        return None;
    }
    if out.len() as u64 > cap {
        ctx.error(
            "ModelScan",
            source,
            ErrorCategory::LimitExceeded,
            format!(
                "max_in_memory_bytes: decompressed member larger than {cap} bytes was not scanned"
            ),
        );
        return None;
    }
    Some(out)
}

/// Name of what a compressed file holds: `model.pkl.gz` -> `model.pkl`.
fn inner_name(outer: &str) -> String {
    let leaf = detect::file_name(outer);
    let lower = leaf.to_ascii_lowercase();
    for ext in [
        ".gz", ".tgz", ".bz2", ".xz", ".lzma", ".zst", ".lz4", ".z", ".zlib",
    ] {
        if lower.ends_with(ext) && leaf.len() > ext.len() {
            let stem = leaf.get(..leaf.len() - ext.len()).unwrap_or(leaf);
            return if ext == ".tgz" {
                format!("{stem}.tar")
            } else {
                stem.to_string()
            };
        }
    }
    if detect::extension(leaf).is_empty() {
        "<decompressed>".into()
    } else {
        leaf.to_string()
    }
}

/// A single compressed stream: pickles (joblib, `.pkl.gz`) are walked as a stream with no
/// copy; tar is expanded as a stream; anything else is decompressed into memory and detected.
pub fn scan_compressed(ctx: &mut ScanCtx<'_>, source: &Source, blob: &Blob, format: Format) {
    let child = source.child(inner_name(source.leaf_name()));
    // Peek at the decompressed head to decide.
    let head = match guarded_decoder(ctx, format, blob.reader()) {
        Ok(mut d) => {
            let mut h = Vec::new();
            let _ = (&mut d).take(detect::HEAD_LEN as u64).read_to_end(&mut h);
            if let Some(g) = d.tripped.get() {
                report_guard(ctx, &child, g);
                return;
            }
            h
        }
        Err(e) => {
            super::report_error(ctx, "ModelScan", source, e);
            return;
        }
    };
    if head.is_empty() {
        ctx.error(
            "ModelScan",
            source,
            ErrorCategory::Malformed,
            format!("{}: the stream is empty or corrupt", format.name()),
        );
        return;
    }
    let inner = detect::sniff(&head, &[], u64::MAX);
    let decoder = match guarded_decoder(ctx, format, blob.reader()) {
        Ok(d) => d,
        Err(e) => {
            super::report_error(ctx, "ModelScan", source, e);
            return;
        }
    };
    // joblib.load unpickles what a z-file holds, whatever it looks like.
    let read_as_pickle = inner == Format::Pickle || format == Format::JoblibZfile;
    match inner {
        _ if read_as_pickle => {
            ctx.out.scanned.push(child.clone());
            let tripped = decoder.tripped.clone();
            let corrupt = decoder.corrupt.clone();
            let scanner = pickle::scanner_name_for(child.leaf_name());
            ctx.log_scan(&child, scanner);
            let issues_before = ctx.out.issues.len();
            let res =
                pickle::scan_stream(scanner, &child, decoder, StreamKind::Multiple, 0, None, ctx);
            let corrupt = corrupt.borrow_mut().take();
            if let Some(g) = tripped.get() {
                report_guard(ctx, &child, g);
            } else if inner != Format::Pickle
                && corrupt.is_none()
                && matches!(res, Err(ScanError::Pickle(_)))
                && ctx.out.issues.len() == issues_before
            {
                // A z-file of raw array bytes (`ZNDArrayWrapper`'s `.z` files, which joblib
                // hands to `ndarray.__setstate__` as bytes): no pickle starts there, and the walk
                // found nothing before it stopped. Read whole, nothing in it runs: scanned, clean
                // (`joblib.load` of it fails at its first bytes).
            } else if let (Some(why), Err(_)) = (corrupt, &res) {
                ctx.error(
                    "ModelScan",
                    source,
                    ErrorCategory::Malformed,
                    format!(
                        "{}: the compressed stream is corrupt or truncated ({why}); what follows was not scanned",
                        format.name()
                    ),
                );
            } else if let Err(e) = res {
                super::report_error(ctx, "pickle", &child, e);
            }
        }
        Format::Tar => {
            let tripped = decoder.tripped.clone();
            scan_tar_stream(ctx, &child, decoder);
            if let Some(g) = tripped.get() {
                report_guard(ctx, &child, g);
            }
        }
        _ => {
            if let Some(bytes) = read_all_guarded(ctx, &child, decoder) {
                ctx.scan_embedded(child, Blob::from_vec(bytes));
            }
        }
    }
}

/// Every member of a zip, read the way PyTorch reads archives (the central directory; flag,
/// CRC and name mismatches do not stop the scan, each is reported).
pub fn scan_zip(ctx: &mut ScanCtx<'_>, source: &Source, blob: &Blob, head: &[u8]) {
    let dir = match zipdir::read_directory(blob, ctx.settings.limits.max_archive_members) {
        Ok(d) => d,
        Err(e) => {
            // A pickle that merely ends with "PK\x05\x06" bytes, or a broken zip: if the content
            // looks like a pickle, scan it as one; otherwise the zip could not be read.
            if crate::scanners::pickle::opcodes::looks_like_pickle(head) {
                super::scan_leaf(
                    ctx,
                    Item {
                        source: source.clone(),
                        blob: blob.clone(),
                        format: Format::Pickle,
                        head: head.to_vec(),
                    },
                );
            } else {
                ctx.error(
                    "ModelScan",
                    source,
                    ErrorCategory::Malformed,
                    format!("zip: {e}"),
                );
            }
            return;
        }
    };
    if dir.member_limit_hit {
        ctx.error(
            "ModelScan",
            source,
            ErrorCategory::LimitExceeded,
            format!(
                "max_archive_members: the zip has more than {} members; the rest were not scanned",
                ctx.settings.limits.max_archive_members
            ),
        );
    }
    for a in &dir.anomalies {
        ctx.issue(
            ENGINE,
            source,
            IssueBuilder::new("archive.zip-anomaly")
                .operator("zip", "structure")
                .description(format!("Zip structure anomaly: {a}")),
        );
    }
    // Data before the archive matters where a model loader opens the file as a zip (torch,
    // numpy, Keras read by name or by magic and disagree on offsets); a document that embeds
    // a zip (an .xls with an attachment) is read by none, and its members are scanned anyway.
    let model_name = matches!(
        detect::by_extension(source.leaf_name()),
        Format::Zip | Format::Pickle
    ) || detect::extension(source.leaf_name()).is_empty();
    if dir.prefix_len > 0 && model_name {
        ctx.issue(
            ENGINE,
            source,
            IssueBuilder::new("archive.zip-anomaly")
                .operator("zip", "structure")
                .description(format!(
                    "Zip structure anomaly: {} bytes of other data come before the zip archive (a polyglot or a prepended file)",
                    dir.prefix_len
                )),
        );
    }
    if dir.prefix_len > 0 {
        // The bytes before the archive are another file (a pickle/zip polyglot): scan them too.
        let prefix = blob.slice(0, dir.prefix_len);
        let phead = prefix.head(detect::HEAD_LEN).unwrap_or_default();
        let pformat = detect::sniff(&phead, &[], prefix.len());
        if pformat != Format::Unknown {
            ctx.issue(
                ENGINE,
                source,
                IssueBuilder::new("archive.polyglot")
                    .operator("zip", "polyglot")
                    .description(format!(
                        "The file is both a {} ({} bytes at the start) and a zip archive; both were scanned",
                        pformat.name(),
                        dir.prefix_len
                    ))
                    .offset(0),
            );
            if pformat == Format::Zip {
                // Two archives concatenated: the earlier one is expanded too.
                ctx.scan_embedded(source.child("<data before the archive>"), prefix);
            } else {
                super::scan_leaf(
                    ctx,
                    Item {
                        source: source.clone(),
                        blob: prefix,
                        format: pformat,
                        head: phead,
                    },
                );
            }
        }
    }
    let torch_archives = torch_archive_dirs(&dir.entries);
    for entry in &dir.entries {
        if entry.is_dir() {
            continue;
        }
        check_member_path(ctx, source, &entry.name, entry.is_symlink());
        let child = source.child(entry.name.clone());
        if is_torch_storage(&torch_archives, &entry.name)
            && ctx.depth < ctx.settings.limits.max_archive_depth
        {
            // Left unread; reported as every member no scanner takes is.
            ctx.skip(
                "ModelScan",
                &child,
                SkipCategory::ScanNotSupported,
                "Model Scan did not scan file",
            );
            continue;
        }
        if let Some(b) = member_blob(ctx, blob, entry, &child) {
            ctx.scan_embedded(child, b);
        }
    }
}

/// The folders `P/` holding a PyTorch zip checkpoint (`P/data.pkl`, torch/serialization.py
/// `_save`; TorchScript archives have the same layout).
fn torch_archive_dirs(entries: &[ZipEntry]) -> HashSet<&str> {
    entries
        .iter()
        .filter_map(|e| e.name.strip_suffix("data.pkl"))
        .filter(|p| p.ends_with('/'))
        .collect()
}

/// A tensor storage of a PyTorch zip, `P/data/<key>` next to `P/data.pkl`: raw numbers that
/// `torch.load` copies into tensors and never interprets (the key is the decimal id that
/// `data.pkl`'s persistent ids name). These members are nearly all of a checkpoint's bytes, so
/// they are not read at all: a 2 GB checkpoint costs its central directory and its pickles, and
/// random weights are never sniffed as content (a storage starting with bytes that look like a
/// pickle, zlib or JSON would otherwise be "scanned" and fail).
fn is_torch_storage(archives: &HashSet<&str>, name: &str) -> bool {
    let Some((dir, key)) = name.rsplit_once('/') else {
        return false;
    };
    !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_digit())
        && dir
            .strip_suffix("data")
            .is_some_and(|p| archives.contains(p))
}

/// A member's content: a window of the archive when stored, decompressed into memory otherwise.
fn member_blob(ctx: &mut ScanCtx<'_>, blob: &Blob, e: &ZipEntry, child: &Source) -> Option<Blob> {
    let raw = blob.slice(e.data_offset, e.compressed_size);
    if raw.len() < e.compressed_size {
        ctx.error(
            "ModelScan",
            child,
            ErrorCategory::Malformed,
            "zip member data runs past the end of the file",
        );
        return None;
    }
    if e.encrypted() {
        return encrypted_member(ctx, e, child, &raw);
    }
    let data = decode_member(ctx, e, child, &raw)?;
    // CRC: PyTorch's reader does not check it, Python's zipfile does. Check what we read
    // anyway when it is cheap (compressed members are in memory; small stored ones).
    if matches!(data, Blob::Memory(_)) || data.len() <= 16 << 20 {
        if let Ok(sum) = crc32_of(&data) {
            if sum != e.crc32 {
                ctx.issue(
                    ENGINE,
                    child,
                    IssueBuilder::new("archive.zip-anomaly")
                        .operator("zip", "crc")
                        .description(format!(
                            "Zip structure anomaly: member {} has a wrong CRC-32 (Python's zipfile refuses it, torch.load reads it); it was scanned",
                            e.name
                        )),
                );
            }
        }
    }
    Some(data)
}

/// A member whose encryption flag is set. Encrypted bytes cannot be scanned: the member is an
/// error (never clean), whatever its bytes would decode to. Only when the bytes are not
/// encrypted after all (they decode, and to the CRC-32 the directory records: a traditional
/// PKWARE stream never does, its 12-byte header alone shifts every byte) is the member
/// scanned, with the lying flag reported: a loader that ignores the flag reads it.
fn encrypted_member(
    ctx: &mut ScanCtx<'_>,
    e: &ZipEntry,
    child: &Source,
    raw: &Blob,
) -> Option<Blob> {
    // APPNOTE 4.4.4 bit 6 (strong encryption) and method 99 (WinZip AES): always encrypted.
    let strong = e.flags & 0x40 != 0 || e.method == 99;
    let plain = if strong {
        None
    } else {
        // What decoding reports (a corrupt stream, a bomb) is about ciphertext: dropped.
        let (errors, issues) = (ctx.out.errors.len(), ctx.out.issues.len());
        let data = decode_member(ctx, e, child, raw);
        ctx.out.errors.truncate(errors);
        ctx.out.issues.truncate(issues);
        data.filter(|d| crc32_of(d).is_ok_and(|sum| sum == e.crc32))
    };
    let Some(data) = plain else {
        ctx.error(
            "ModelScan",
            child,
            ErrorCategory::Unsupported,
            format!(
                "zip member {} is encrypted{}: it cannot be scanned without the password, and was not scanned",
                e.name,
                if strong { " (strong encryption or AES)" } else { "" }
            ),
        );
        return None;
    };
    ctx.issue(
        ENGINE,
        child,
        IssueBuilder::new("archive.zip-anomaly")
            .operator("zip", "encryption-flag")
            .description(format!(
                "Zip structure anomaly: member {} is flagged as encrypted but is not (scanners that honour the flag skip it); it was scanned",
                e.name
            )),
    );
    Some(data)
}

/// A member's bytes as its compression method decodes them; `None` (reported) when they
/// cannot be decoded.
fn decode_member(ctx: &mut ScanCtx<'_>, e: &ZipEntry, child: &Source, raw: &Blob) -> Option<Blob> {
    let data: Blob = match e.method {
        0 => raw.slice(0, e.uncompressed_size.min(raw.len())),
        8 | 9 | 12 | 14 | 93 => {
            let l = &ctx.settings.limits;
            let consumed = Rc::new(Cell::new(0u64));
            let counted = CountIn {
                inner: raw.reader(),
                count: consumed.clone(),
            };
            let dec: Box<dyn Read> = match e.method {
                8 | 9 => Box::new(flate2::read::DeflateDecoder::new(counted)),
                12 => Box::new(bzip2::read::BzDecoder::new(counted)),
                93 => Box::new(super::zstd::ZstdFrames::new(counted)),
                _ => {
                    // APPNOTE 5.8.8: 2-byte version, 2-byte props size, props, raw LZMA.
                    let mut r = counted;
                    let mut hdr = [0u8; 4];
                    if r.read_exact(&mut hdr).is_err() {
                        ctx.error(
                            "ModelScan",
                            child,
                            ErrorCategory::Malformed,
                            "lzma member header truncated",
                        );
                        return None;
                    }
                    let psize = usize::from(u16::from_le_bytes([hdr[2], hdr[3]]));
                    let mut props = vec![0u8; psize.min(64)];
                    if psize < 5 || r.read_exact(&mut props).is_err() {
                        ctx.error(
                            "ModelScan",
                            child,
                            ErrorCategory::Malformed,
                            "lzma member properties truncated",
                        );
                        return None;
                    }
                    let (Some(&lc_lp_pb), Some(dict_bytes)) = (props.first(), props.get(1..5))
                    else {
                        return None;
                    };
                    let mut d = [0u8; 4];
                    d.copy_from_slice(dict_bytes);
                    let dict = u32::from_le_bytes(d);
                    match lzma_rust2::LzmaReader::new_with_props(
                        r,
                        e.uncompressed_size,
                        lc_lp_pb,
                        dict,
                        None,
                    ) {
                        Ok(d) => Box::new(d),
                        Err(err) => {
                            ctx.error(
                                "ModelScan",
                                child,
                                ErrorCategory::Malformed,
                                format!("lzma: {err}"),
                            );
                            return None;
                        }
                    }
                }
            };
            let g = Guarded {
                inner: dec,
                consumed,
                produced: 0,
                max_out: l.max_decompressed_bytes,
                max_ratio: l.max_compression_ratio,
                floor: l.bomb_floor_bytes,
                tripped: Rc::new(Cell::new(None)),
                corrupt: Rc::default(),
                budget: ctx.budget.clone(),
            };
            Blob::from_vec(read_all_guarded(ctx, child, g)?)
        }
        m => {
            ctx.error(
                "ModelScan",
                child,
                ErrorCategory::Unsupported,
                format!("zip member uses compression method {m}, which cannot be read; it was not scanned"),
            );
            return None;
        }
    };
    Some(data)
}

/// CRC-32 of a blob, computed in place for memory and through a fixed buffer otherwise (never a
/// second copy of the member).
fn crc32_of(blob: &Blob) -> io::Result<u32> {
    let mut crc = flate2::Crc::new();
    if let Blob::Memory(m) = blob {
        crc.update(m);
        return Ok(crc.sum());
    }
    let mut buf = vec![0u8; 1 << 16];
    let mut off = 0u64;
    while off < blob.len() {
        let n = blob.read_at(off, &mut buf)?;
        if n == 0 {
            break;
        }
        crc.update(buf.get(..n).unwrap_or(&[]));
        off += n as u64;
    }
    Ok(crc.sum())
}

/// Member names that are absolute or climb out with `..`.
fn check_member_path(ctx: &mut ScanCtx<'_>, source: &Source, name: &str, symlink_hint: bool) {
    let n = name.replace('\\', "/");
    let absolute = n.starts_with('/') || n.get(1..3) == Some(":/");
    let climbs = escapes(&n);
    if absolute || climbs {
        ctx.issue(
            ENGINE,
            source,
            IssueBuilder::new("archive.path-traversal")
                .severity(Severity::High)
                .operator("archive", "path")
                .description(format!(
                    "Archive member {name:?} {} the extraction folder{}",
                    if absolute {
                        "has an absolute path outside"
                    } else {
                        "climbs out of"
                    },
                    if symlink_hint { " (symlink)" } else { "" }
                )),
        );
    }
}

/// Whether a relative path climbs above its start once `..` components are applied.
fn escapes(path: &str) -> bool {
    let mut depth: i64 = 0;
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// A tar archive on disk or in memory: members are windows of it.
pub fn scan_tar_blob(ctx: &mut ScanCtx<'_>, source: &Source, blob: &Blob) {
    scan_tar(ctx, source, blob.reader(), Some(blob));
}

/// A tar archive coming from a decompressor: members are read into memory.
pub fn scan_tar_stream<R: Read>(ctx: &mut ScanCtx<'_>, source: &Source, r: R) {
    scan_tar(ctx, source, r, None);
}

fn scan_tar<R: Read>(ctx: &mut ScanCtx<'_>, source: &Source, r: R, whole: Option<&Blob>) {
    let mut archive = tar::Archive::new(r);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            ctx.error(
                "ModelScan",
                source,
                ErrorCategory::Malformed,
                format!("tar: {e}"),
            );
            return;
        }
    };
    let mut links: Vec<String> = Vec::new();
    let mut count = 0u64;
    for entry in entries {
        count += 1;
        if count > ctx.settings.limits.max_archive_members {
            ctx.error(
                "ModelScan",
                source,
                ErrorCategory::LimitExceeded,
                "max_archive_members: the rest of the tar was not scanned",
            );
            return;
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                ctx.error(
                    "ModelScan",
                    source,
                    ErrorCategory::Malformed,
                    format!("tar: {e}"),
                );
                return;
            }
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        check_member_path(ctx, source, &name, false);
        let norm = name
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        if let Some(l) = links.iter().find(|l| norm.starts_with(&format!("{l}/"))) {
            ctx.issue(
                ENGINE,
                source,
                IssueBuilder::new("archive.path-traversal")
                    .operator("archive", "symlink")
                    .description(format!(
                        "Archive member {name:?} is written through the symlink member {l:?}"
                    )),
            );
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            let parent = norm.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
            let joined = if target.starts_with('/') || kind.is_hard_link() || parent.is_empty() {
                target.clone()
            } else {
                format!("{parent}/{target}")
            };
            if target.starts_with('/') || escapes(&joined) {
                ctx.issue(
                    ENGINE,
                    source,
                    IssueBuilder::new("archive.path-traversal")
                        .operator(
                            "archive",
                            if kind.is_symlink() {
                                "symlink"
                            } else {
                                "hardlink"
                            },
                        )
                        .description(format!(
                            "Archive {} member {name:?} points outside the archive (to {target:?})",
                            if kind.is_symlink() {
                                "symlink"
                            } else {
                                "hardlink"
                            }
                        )),
                );
            }
            links.push(norm);
            continue;
        }
        if !kind.is_file()
            && !matches!(kind, tar::EntryType::Continuous | tar::EntryType::GNUSparse)
        {
            continue;
        }
        let child = source.child(name.clone());
        let size = entry.size();
        let member = match whole {
            Some(b) => Some(b.slice(entry.raw_file_position(), size)),
            None => {
                if size > ctx.settings.limits.max_in_memory_bytes {
                    ctx.error("ModelScan", &child, ErrorCategory::LimitExceeded, "max_in_memory_bytes: tar member too large to scan from a compressed stream");
                    None
                } else {
                    let mut v = Vec::new();
                    match (&mut entry).take(size).read_to_end(&mut v) {
                        Ok(_) => Some(Blob::from_vec(v)),
                        Err(e) => {
                            ctx.error(
                                "ModelScan",
                                &child,
                                ErrorCategory::Malformed,
                                format!("tar member: {e}"),
                            );
                            None
                        }
                    }
                }
            }
        };
        if let Some(b) = member {
            ctx.scan_embedded(child, b);
        }
    }
}

/// A 7z member's bytes, or why it could not be read.
type MemberRead = Result<Vec<u8>, (ErrorCategory, String)>;

/// 7z archives: each member decompressed into memory (capped) and scanned.
pub fn scan_7z(ctx: &mut ScanCtx<'_>, source: &Source, blob: &Blob) {
    let reader = sevenz_rust2::ArchiveReader::new(blob.reader(), sevenz_rust2::Password::empty());
    let mut reader = match reader {
        Ok(r) => r,
        Err(e) => {
            ctx.error(
                "ModelScan",
                source,
                ErrorCategory::Malformed,
                format!("7z: {}", sevenz_reason(&e.to_string())),
            );
            return;
        }
    };
    let cap = ctx.settings.limits.max_in_memory_bytes;
    let mut members: Vec<(String, MemberRead)> = Vec::new();
    let max = ctx.settings.limits.max_archive_members;
    let mut over_limit = false;
    let res = reader.for_each_entries(|entry, r| {
        if entry.is_directory() {
            return Ok(true);
        }
        if members.len() as u64 >= max {
            over_limit = true;
            return Ok(false);
        }
        let mut v = Vec::new();
        let got = r.take(cap + 1).read_to_end(&mut v);
        let item = match got {
            Ok(_) if v.len() as u64 > cap => Err((
                ErrorCategory::LimitExceeded,
                format!(
                    "max_in_memory_bytes: the 7z member is larger than {cap} bytes; it was not scanned"
                ),
            )),
            Ok(_) => Ok(v),
            Err(e) => Err((
                ErrorCategory::Malformed,
                format!(
                    "7z: the member could not be decompressed ({}); it was not scanned",
                    sevenz_reason(&e.to_string())
                ),
            )),
        };
        members.push((entry.name().to_string(), item));
        Ok(true)
    });
    for (name, data) in members {
        check_member_path(ctx, source, &name, false);
        let child = source.child(name);
        match data {
            Ok(v) => ctx.scan_embedded(child, Blob::from_vec(v)),
            Err((category, e)) => ctx.error("ModelScan", &child, category, e),
        }
    }
    if over_limit {
        ctx.error(
            "ModelScan",
            source,
            ErrorCategory::LimitExceeded,
            format!(
                "max_archive_members: the 7z archive has more than {max} members; the rest were not scanned"
            ),
        );
    }
    if let Err(e) = res {
        ctx.error(
            "ModelScan",
            source,
            ErrorCategory::Malformed,
            format!("7z: {}", sevenz_reason(&e.to_string())),
        );
    }
    let _ = SkipCategory::BadZip;
}

/// The 7z library's error text, readable: its errors print as Rust variants
/// (`Other("next header offset out of range")`, `ChecksumVerificationFailed`).
fn sevenz_reason(text: &str) -> String {
    let t = text.trim();
    if let Some(inner) = t
        .strip_prefix("Other(\"")
        .and_then(|r| r.strip_suffix("\")"))
    {
        return inner.to_string();
    }
    match t {
        "ChecksumVerificationFailed" => "CRC mismatch: the data is corrupt".into(),
        "" => "unknown error".into(),
        _ => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use std::io::Write;

    const EVIL: &[u8] = b"cposix\nsystem\n(S'echo pwned'\ntR.";

    fn stored_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, data) in members {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn members_of(sources: impl Iterator<Item = Source>) -> Vec<String> {
        sources.filter_map(|s| s.members.last().cloned()).collect()
    }

    #[test]
    fn torch_storages_are_skipped_without_being_read() {
        let z = stored_zip(&[
            ("archive/data.pkl", b"\x80\x02}q\x00."),
            ("archive/data/0", EVIL),
            ("archive/data/17", b"N\x8eC?\x0e$\x8a>"),
            ("archive/version", b"3\n"),
        ]);
        let out = super::super::scan_bytes("model.pt", &z, &Settings::defaults());
        assert!(out.issues.is_empty(), "{:?}", out.issues);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let skipped = members_of(out.skipped.iter().map(|s| s.source.clone()));
        assert!(skipped.contains(&"archive/data/0".to_string()));
        assert!(skipped.contains(&"archive/data/17".to_string()));
        let hashed = members_of(out.hashes.iter().map(|(s, _)| s.clone()));
        assert!(!hashed.iter().any(|m| m.starts_with("archive/data/")));
        assert!(hashed.contains(&"archive/data.pkl".to_string()));
    }

    #[test]
    fn numbered_members_outside_a_torch_archive_are_still_scanned() {
        for members in [
            vec![("other/data/0", EVIL)],
            vec![
                ("archive/data.pkl", &b"\x80\x02}q\x00."[..]),
                ("archive/data/x0", EVIL),
            ],
            vec![
                ("archive/data.pkl", &b"\x80\x02}q\x00."[..]),
                ("elsewhere/data/0", EVIL),
            ],
        ] {
            let out =
                super::super::scan_bytes("model.pt", &stored_zip(&members), &Settings::defaults());
            assert!(
                out.issues
                    .iter()
                    .any(|i| i.rule == "pickle.dangerous-global" && i.operator == "system"),
                "{members:?}: {:?}",
                out.issues
            );
        }
    }

    #[test]
    fn crc_of_a_file_window_matches_crc_of_the_same_bytes_in_memory() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b");
        std::fs::write(&p, &bytes).unwrap();
        let file = Blob::from_file(std::fs::File::open(&p).unwrap()).unwrap();
        let window = file.slice(3, 150_000);
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[3..150_003]);
        assert_eq!(crc32_of(&window).unwrap(), crc.sum());
        assert_eq!(
            crc32_of(&Blob::from_vec(bytes[3..150_003].to_vec())).unwrap(),
            crc.sum()
        );
    }
}
