//! `modelscan inspect FILE[:member[:member...]]`: what modelscan sees in one file or one zip
//! member, for a person deciding what to do about a finding. It prints the detected format, the
//! size and sha256, for pickles (also inside numpy object arrays and compressed streams) a
//! bounded opcode listing with offsets (`scanners::pickle::disasm`) and the imports with their
//! resolved names and the globals policy's verdicts (the VM's own import list), then the
//! findings of the normal scan of the file that fall in the inspected part. Nothing is loaded or
//! run; every string that came from the file is escaped before it is printed.
//!
//! Reading a member mirrors the engine's zip reader (`engine::zipdir` for the directory, the
//! same decoders for the data); the last entry of a duplicated name is shown, as Python's
//! `zipfile` would open it.

use crate::engine::blob::Blob;
use crate::engine::detect::{self, Format};
use crate::engine::zipdir;
use crate::findings::{Issue, Severity};
use crate::limits::Budget;
use crate::report::Report;
use crate::report::sanitize::for_terminal;
use crate::scanners::pickle::disasm::{self, Arg};
use crate::scanners::pickle::numpy;
use crate::scanners::pickle::opcodes::Op;
use crate::scanners::pickle::policy::Verdict;
use crate::scanners::pickle::vm::{Input, StreamKind, Vm};
use crate::settings::Settings;
use std::fmt::Write;
use std::io::Read;
use std::path::{Path, PathBuf};

pub struct InspectOptions {
    /// Most opcodes listed.
    pub max_ops: usize,
    /// Most imports and zip members listed.
    pub max_lines: usize,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            max_ops: 2000,
            max_lines: 1000,
        }
    }
}

/// What `inspect` printed and the exit status it should end with: 1 when the inspected part has
/// an issue at or above `--fail-on`, 2 when part of it could not be scanned, 0 otherwise.
pub struct Inspection {
    pub text: String,
    pub status: i32,
}

/// `FILE` or `FILE:member[:member...]`: the longest existing file prefix ending before a `:`.
pub fn split_target(target: &str) -> Option<(PathBuf, Vec<String>)> {
    if Path::new(target).exists() {
        return Some((PathBuf::from(target), Vec::new()));
    }
    for (i, _) in target.match_indices(':') {
        let (file, rest) = (target.get(..i)?, target.get(i + 1..)?);
        if Path::new(file).is_file() && !rest.is_empty() {
            return Some((
                PathBuf::from(file),
                rest.split(':').map(str::to_string).collect(),
            ));
        }
    }
    None
}

fn decode_member(blob: &Blob, e: &zipdir::ZipEntry, cap: u64) -> Result<Blob, String> {
    let raw = blob.slice(e.data_offset, e.compressed_size);
    if raw.len() < e.compressed_size {
        return Err("zip member data runs past the end of the file".into());
    }
    let dec: Box<dyn Read> = match e.method {
        0 => return Ok(raw.slice(0, e.uncompressed_size.min(raw.len()))),
        8 | 9 => Box::new(flate2::read::DeflateDecoder::new(raw.reader())),
        12 => Box::new(bzip2::read::BzDecoder::new(raw.reader())),
        93 => Box::new(
            ruzstd::decoding::StreamingDecoder::new(raw.reader())
                .map_err(|err| format!("zstd: {err}"))?,
        ),
        14 => {
            // APPNOTE 5.8.8: 2-byte version, 2-byte properties size, properties, raw LZMA.
            let mut r = raw.reader();
            let mut hdr = [0u8; 4];
            r.read_exact(&mut hdr)
                .map_err(|_| "lzma member header truncated".to_string())?;
            let psize = usize::from(u16::from_le_bytes([hdr[2], hdr[3]]));
            let mut props = [0u8; 5];
            if psize != 5 || r.read_exact(&mut props).is_err() {
                return Err("lzma member properties are not 5 bytes".into());
            }
            let dict = u32::from_le_bytes([props[1], props[2], props[3], props[4]]);
            Box::new(
                lzma_rust2::LzmaReader::new_with_props(
                    r,
                    e.uncompressed_size,
                    props[0],
                    dict,
                    None,
                )
                .map_err(|err| format!("lzma: {err}"))?,
            )
        }
        m => return Err(format!("zip compression method {m} is not supported")),
    };
    let mut out = Vec::new();
    dec.take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|err| format!("cannot decompress the member: {err}"))?;
    if out.len() as u64 > cap {
        return Err(format!(
            "the member is larger than max_in_memory_bytes ({cap} bytes)"
        ));
    }
    Ok(Blob::from_vec(out))
}

/// The bytes of `members` inside `file` (each but the last must be a zip).
fn open_target(file: &Path, members: &[String], settings: &Settings) -> Result<Blob, String> {
    let (f, len) = crate::engine::open_regular(file)
        .map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let mut blob = Blob::from_file_of_len(f, len);
    for m in members {
        let dir = zipdir::read_directory(&blob, settings.limits.max_archive_members)
            .map_err(|e| format!("not a zip archive ({e}), so it has no member '{m}'"))?;
        let entry = dir
            .entries
            .iter()
            .rev()
            .find(|e| e.name == *m)
            .ok_or_else(|| format!("no member '{m}' in the archive"))?;
        blob = decode_member(&blob, entry, settings.limits.max_in_memory_bytes)?;
    }
    Ok(blob)
}

fn detect_blob(name: &str, blob: &Blob) -> (Format, Vec<u8>) {
    let head = blob.head(detect::HEAD_LEN).unwrap_or_default();
    let tail = blob.tail(detect::TAIL_LEN).unwrap_or_default();
    (detect::detect(name, &head, &tail, blob.len()), head)
}

fn sha256(blob: &Blob) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut r = blob.reader();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => h.update(buf.get(..n).unwrap_or(&[])),
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn decoder<'a>(format: Format, r: impl Read + 'a) -> Option<Box<dyn Read + 'a>> {
    Some(match format {
        Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Format::Zlib => Box::new(flate2::read::ZlibDecoder::new(r)),
        Format::JoblibZfile => Box::new(flate2::read::ZlibDecoder::new(
            crate::engine::zfile::zlib_stream(r).ok()?,
        )),
        Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        Format::Xz => Box::new(lzma_rust2::XzReader::new(r, true)),
        Format::LzmaAlone => {
            Box::new(lzma_rust2::LzmaReader::new_mem_limit(r, 1 << 20, None).ok()?)
        }
        Format::Zstd => Box::new(ruzstd::decoding::StreamingDecoder::new(r).ok()?),
        _ => return None,
    })
}

/// Where the pickle stream of the inspected item is: the item itself, the data after a numpy
/// header, or the decompressed content of a compressed stream.
enum PickleStream {
    /// The pickle starts `base` bytes into the item; offsets are shown from the item's start.
    Plain { blob: Blob, base: u64 },
    /// Offsets are into the decompressed stream.
    Compressed(Format, Blob),
}

impl PickleStream {
    fn reader(&self) -> Option<Box<dyn Read + '_>> {
        match self {
            PickleStream::Plain { blob, .. } => Some(Box::new(blob.reader())),
            PickleStream::Compressed(f, b) => decoder(*f, b.reader()),
        }
    }

    fn base(&self) -> u64 {
        match self {
            PickleStream::Plain { base, .. } => *base,
            PickleStream::Compressed(..) => 0,
        }
    }
}

fn pickle_stream(format: Format, blob: &Blob, head: &[u8], o: &mut String) -> Option<PickleStream> {
    match format {
        Format::Pickle => Some(PickleStream::Plain {
            blob: blob.clone(),
            base: 0,
        }),
        Format::Numpy => match numpy::parse_header(head) {
            Ok(h) if h.has_object => {
                let _ = writeln!(
                    o,
                    "numpy object array: its pickle starts at byte {}",
                    h.data_offset
                );
                Some(PickleStream::Plain {
                    blob: blob.slice(h.data_offset, blob.len().saturating_sub(h.data_offset)),
                    base: h.data_offset,
                })
            }
            Ok(_) => {
                let _ = writeln!(o, "numpy array of plain numbers: no pickle inside");
                None
            }
            Err(e) => {
                let _ = writeln!(o, "numpy header: {}", for_terminal(&e.to_string()));
                None
            }
        },
        f if f.is_compressed_stream() => {
            let mut inner = Vec::new();
            let d = decoder(f, blob.reader())?;
            let _ = d.take(detect::HEAD_LEN as u64).read_to_end(&mut inner);
            let inner_format = detect::sniff(&inner, &[], u64::MAX);
            let _ = writeln!(
                o,
                "decompressed content: {} (offsets below are into the decompressed stream)",
                inner_format.name()
            );
            (inner_format == Format::Pickle).then(|| PickleStream::Compressed(f, blob.clone()))
        }
        _ => None,
    }
}

/// `text` escaped for the terminal, and "... (N bytes)" when it is a preview of `len` bytes.
fn preview(text: &str, len: u64) -> (String, String) {
    let more = if len > text.len() as u64 {
        format!("... ({len} bytes)")
    } else {
        String::new()
    };
    (for_terminal(text).replace('\n', "\\n"), more)
}

fn arg_text(op: Op, a: &Arg) -> String {
    match a {
        // STRING's operand is a Python literal with its own quotes.
        Arg::Text { text, len } if op == Op::String => {
            let (t, more) = preview(text, *len);
            format!("{t}{more}")
        }
        Arg::None => String::new(),
        Arg::Int(i) => i.to_string(),
        Arg::WideInt(n) => format!("<{n}-byte integer>"),
        Arg::Float(f) => format!("{f:?}"),
        Arg::Text { text, len } => {
            let (t, more) = preview(text, *len);
            format!("'{t}'{more}")
        }
        Arg::Bytes { head, len } => {
            let more = if *len > head.len() as u64 {
                format!("... ({len} bytes)")
            } else {
                String::new()
            };
            format!("b'{}'{more}", head.escape_ascii())
        }
        Arg::Global { module, name } => {
            format!("{} {}", for_terminal(module), for_terminal(name))
        }
        Arg::Memo(i) => format!("memo[{i}]"),
        Arg::Proto(p) => format!("protocol {p}"),
        Arg::Frame(n) => format!("{n} bytes"),
        Arg::Ext(c) => format!("code {c}"),
    }
}

fn disassembly(stream: &PickleStream, opts: &InspectOptions, o: &mut String) {
    let _ = writeln!(o, "\n--- Disassembly ---\n");
    let Some(r) = stream.reader() else {
        let _ = writeln!(o, "(the stream cannot be decoded)");
        return;
    };
    let listing = disasm::disassemble(r, opts.max_ops);
    let base = stream.base();
    for l in &listing.lines {
        let line = format!(
            "{:>10}: {:<16} {}",
            l.offset.saturating_add(base),
            l.op.name(),
            arg_text(l.op, &l.arg)
        );
        let _ = writeln!(o, "{}", line.trim_end());
    }
    if listing.truncated {
        let _ = writeln!(
            o,
            "... listing stopped after {} opcodes (--max-ops)",
            listing.lines.len()
        );
    }
    if let Some((at, e)) = &listing.error {
        let _ = writeln!(
            o,
            "listing stopped at byte {}: {}",
            at.saturating_add(base),
            for_terminal(e)
        );
    }
}

fn imports(stream: &PickleStream, settings: &Settings, opts: &InspectOptions, o: &mut String) {
    let _ = writeln!(o, "\n--- Imports ---\n");
    let Some(r) = stream.reader() else { return };
    let mut budget = Budget::new(&settings.limits);
    let out = Vm::new(settings, &mut budget).run(&mut Input::new(r), StreamKind::Multiple);
    if out.imports.is_empty() {
        let _ = writeln!(o, "(none)");
    }
    for (k, i) in out.imports.iter().enumerate() {
        if k >= opts.max_lines {
            let _ = writeln!(o, "... {} more", out.imports.len() - k);
            break;
        }
        let written = format!("{}.{}", for_terminal(&i.module), for_terminal(&i.name));
        let resolved = format!(
            "{}.{}",
            for_terminal(&i.resolved_module),
            for_terminal(&i.resolved_name)
        );
        let name = if written == resolved {
            written
        } else {
            format!("{written} (resolves to {resolved})")
        };
        let verdict = match &i.verdict {
            Verdict::Safe => "safe".to_string(),
            Verdict::ConstructOnly { .. } => {
                "construct-only (calling it is not vouched for)".to_string()
            }
            Verdict::Unknown { stdlib: true } => "unknown (standard library)".to_string(),
            Verdict::Unknown { stdlib: false } => "unknown".to_string(),
            Verdict::Dangerous { severity, reason } => {
                format!("DANGEROUS {severity}: {}", for_terminal(reason))
            }
        };
        let _ = writeln!(
            o,
            "  at byte {:>8}  {name}  [{verdict}]",
            i.offset.saturating_add(stream.base())
        );
    }
}

fn zip_members(blob: &Blob, settings: &Settings, opts: &InspectOptions, o: &mut String) {
    let _ = writeln!(o, "\n--- Members ---\n");
    match zipdir::read_directory(blob, settings.limits.max_archive_members) {
        Ok(dir) => {
            for (k, e) in dir.entries.iter().enumerate() {
                if k >= opts.max_lines {
                    let _ = writeln!(o, "... {} more", dir.entries.len() - k);
                    break;
                }
                let _ = writeln!(
                    o,
                    "  {:>12} bytes  {}",
                    e.uncompressed_size,
                    for_terminal(&e.name)
                );
            }
            for a in &dir.anomalies {
                let _ = writeln!(o, "  anomaly: {}", for_terminal(a));
            }
            let _ = writeln!(
                o,
                "\nInspect a member with `modelscan inspect FILE:MEMBER`."
            );
        }
        Err(e) => {
            let _ = writeln!(o, "cannot read the zip directory: {}", for_terminal(&e));
        }
    }
}

fn in_target(i: &Issue, members: &[String]) -> bool {
    i.source.members.starts_with(members)
}

fn findings(r: &Report, members: &[String], o: &mut String) -> (Option<Severity>, usize) {
    let _ = writeln!(o, "\n--- Findings ---\n");
    let mut worst: Option<Severity> = None;
    let mut count = 0usize;
    let line = |i: &Issue, suppressed: bool, o: &mut String| {
        let at = i
            .offset
            .map(|x| format!(" at byte {x}"))
            .unwrap_or_default();
        let sup = match (&i.suppressed, suppressed) {
            (Some(reason), true) => format!(" [suppressed: {}]", for_terminal(reason)),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "  {} {}{at}{sup}\n    {}\n    in {}",
            i.severity,
            i.rule,
            for_terminal(&i.description),
            for_terminal(&i.source.display_relative())
        );
        if !i.why.is_empty() {
            let _ = writeln!(o, "    why: {}", for_terminal(&i.why));
        }
    };
    for i in r.raw_issues.iter().filter(|i| in_target(i, members)) {
        worst = worst.max(Some(i.severity));
        count += 1;
        line(i, false, o);
    }
    let mut suppressed = 0usize;
    for i in r.raw_suppressed.iter().filter(|i| in_target(i, members)) {
        suppressed += 1;
        line(i, true, o);
    }
    let errors: Vec<_> = r
        .raw_errors
        .iter()
        .filter(|e| {
            e.source
                .as_ref()
                .is_none_or(|s| s.members.starts_with(members))
        })
        .collect();
    for e in &errors {
        let _ = writeln!(
            o,
            "  ERROR ({}) {}",
            e.category.as_str(),
            for_terminal(&e.description)
        );
    }
    if count == 0 && errors.is_empty() && suppressed == 0 {
        let _ = writeln!(o, "  (none)");
    }
    (worst, errors.len())
}

/// Inspect `target` (`FILE` or `FILE:member[:member...]`) with `settings`.
pub fn inspect(
    target: &str,
    settings: &Settings,
    opts: &InspectOptions,
) -> Result<Inspection, String> {
    let (file, members) = split_target(target).ok_or_else(|| {
        format!(
            "'{}' is neither a file nor FILE:member",
            for_terminal(target)
        )
    })?;
    if file.is_dir() {
        return Err(format!(
            "'{}' is a folder; inspect one file (scan the folder with `modelscan -p`)",
            for_terminal(target)
        ));
    }
    let blob = open_target(&file, &members, settings).map_err(|e| for_terminal(&e))?;
    let leaf = members
        .last()
        .cloned()
        .unwrap_or_else(|| file.to_string_lossy().into_owned());
    let (format, head) = detect_blob(&leaf, &blob);
    let mut o = String::new();
    let _ = writeln!(o, "Target: {}", for_terminal(target));
    let _ = writeln!(o, "Format: {}", format.name());
    let _ = writeln!(o, "Size: {} bytes", blob.len());
    let _ = writeln!(o, "sha256: {}", sha256(&blob));
    if format == Format::Zip {
        zip_members(&blob, settings, opts, &mut o);
    }
    if let Some(stream) = pickle_stream(format, &blob, &head, &mut o) {
        disassembly(&stream, opts, &mut o);
        imports(&stream, settings, opts, &mut o);
    }
    let report = crate::engine::scan(&file, &file.to_string_lossy(), settings);
    let (worst, errors) = findings(&report, &members, &mut o);
    let verdict = match (worst, errors) {
        (Some(w), _) => {
            format!("issues found (worst {w}): do not load this file unless you trust its author")
        }
        (None, 0) => "no issues found".to_string(),
        (None, _) => {
            "no issues found in what could be read, but part of it was not scanned".to_string()
        }
    };
    let _ = writeln!(o, "\nVerdict: {verdict}");
    let status = match (worst, errors) {
        (Some(w), _) if w >= report.fail_on => 1,
        (_, e) if e > 0 => 2,
        _ => 0,
    };
    Ok(Inspection { text: o, status })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::defaults()
    }

    #[test]
    fn targets_split_at_the_first_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let z = dir.path().join("a.zip");
        std::fs::write(&z, b"x").unwrap();
        let t = format!("{}:archive/data.pkl", z.display());
        assert_eq!(
            split_target(&t),
            Some((z.clone(), vec!["archive/data.pkl".to_string()]))
        );
        let t = format!("{}:in.zip:x.pkl", z.display());
        assert_eq!(split_target(&t).unwrap().1, vec!["in.zip", "x.pkl"]);
        assert_eq!(
            split_target(&z.display().to_string()).unwrap().1,
            Vec::<String>::new()
        );
        assert!(split_target("/nonexistent/file:x").is_none());
    }

    #[test]
    fn pickle_inspection_lists_opcodes_imports_and_findings() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("evil.pkl");
        std::fs::write(&p, b"cos\nsystem\n(S'echo \x1b[2J'\ntR.").unwrap();
        let i = inspect(
            &p.display().to_string(),
            &settings(),
            &InspectOptions::default(),
        )
        .unwrap();
        assert!(i.text.contains("Format: pickle"), "{}", i.text);
        assert!(
            i.text.contains("         0: GLOBAL           os system"),
            "{}",
            i.text
        );
        assert!(i.text.contains("os.system"), "{}", i.text);
        assert!(i.text.contains("DANGEROUS"), "{}", i.text);
        assert!(i.text.contains("pickle.dangerous-global"), "{}", i.text);
        // The escape sequence from the file is shown, not sent to the terminal.
        assert!(!i.text.contains('\x1b'), "{}", i.text);
        assert!(i.text.contains("\\u{1b}[2J"), "{}", i.text);
        assert_eq!(i.status, 1);
    }

    #[test]
    fn a_missing_member_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plain.pkl");
        std::fs::write(&p, b"N.").unwrap();
        let e = inspect(
            &format!("{}:nope", p.display()),
            &settings(),
            &InspectOptions::default(),
        )
        .err()
        .unwrap();
        assert!(e.contains("nope"), "{e}");
    }
}
