//! The safetensors scanner: validates the file layout the way the `safetensors` library does
//! (`SafeTensors::read_metadata` + `Metadata::validate`, version 0.8) and reads the free-text
//! `__metadata__` map for code, shell commands and URLs. A safetensors file holds no code, so
//! the risks are a header that different readers interpret differently (duplicate keys,
//! aliased or out-of-bounds tensor ranges) and metadata that a downstream tool might execute.
//! Anything the library would reject is an error here (fail closed). Tensor data is never
//! read: only the 8-byte length and the JSON header are.
//!
//! The header JSON is parsed with serde_json through visitors that notice duplicate keys,
//! which `serde_json::Value` and the library's `HashMap` silently collapse to the last one.
//! The metadata text checks (`classify_text`) are substring scans with word boundaries.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::Severity;
use crate::limits::LimitHit;
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};

const FORMAT: &str = "safetensors";
const SCANNER: &str = "modelscan.scanners.SafetensorsScan";
/// Where the JSON header starts, after its 8-byte length.
const HEADER_START: u64 = 8;

/// The library refuses headers over 100 MB (`MAX_HEADER_SIZE` in `tensor.rs`).
pub const MAX_HEADER_SIZE: u64 = 100_000_000;

pub struct SafetensorsScanner;

impl Scanner for SafetensorsScanner {
    fn name(&self) -> &'static str {
        SCANNER
    }
    fn scan_name(&self) -> &'static str {
        FORMAT
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::Safetensors
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let blob = &item.blob;
        let file_len = blob.len();
        let (header_len, header) = read_header(item, ctx)?;
        let parsed = parse_header(&header)?;

        // Metadata first: its findings stand even if the layout turns out to be broken.
        for (key, value) in &parsed.metadata {
            if let Some(f) = metadata_findings(key, value) {
                ctx.issue(SCANNER, &item.source, f);
            }
        }

        if let Some(dup) = parsed.duplicates.first() {
            ctx.issue(
                SCANNER,
                &item.source,
                IssueBuilder::new("safetensors.header-anomaly")
                    .operator("header", dup.clone())
                    .description(format!(
                        "Key \"{dup}\" appears more than once in the safetensors header"
                    ))
                    .why(
                        "The safetensors library and Python's json keep the last entry of a \
                         duplicated key, other readers the first: the tensor (or metadata) a \
                         scanner checks may not be the one that gets loaded.",
                    )
                    .offset(8),
            );
            return Err(ScanError::malformed(
                FORMAT,
                Some(8),
                format!("duplicate key \"{dup}\" in header"),
            ));
        }

        // The data area is everything after the header; the library requires the tensors to
        // tile it exactly (`buffer_end + 8 + n == buffer_len`).
        let data_start = header_len.saturating_add(8);
        let data_len = file_len.saturating_sub(data_start);
        validate_layout(&parsed.tensors, data_len, data_start, item, ctx)
    }
}

/// Reads the 8-byte length and the header bytes, with the library's bounds.
fn read_header(item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(u64, Vec<u8>), ScanError> {
    let blob = &item.blob;
    let len = blob.len();
    let mut n8 = [0u8; 8];
    if len < 8 || blob.read_at(0, &mut n8)? != 8 {
        return Err(ScanError::malformed(
            FORMAT,
            Some(0),
            format!("file is {len} bytes, too short for the 8-byte header length"),
        ));
    }
    let n = u64::from_le_bytes(n8);
    if n > MAX_HEADER_SIZE {
        return Err(ScanError::malformed(
            FORMAT,
            Some(0),
            format!("header length {n} is over the format's limit of {MAX_HEADER_SIZE} bytes"),
        ));
    }
    if n.checked_add(8).is_none_or(|stop| stop > len) {
        return Err(ScanError::malformed(
            FORMAT,
            Some(0),
            format!("header length {n} runs past the end of the file ({len} bytes)"),
        ));
    }
    if n > ctx.settings.limits.max_in_memory_bytes {
        return Err(ScanError::Limit(LimitHit {
            limit: "max_in_memory_bytes",
            detail: format!("safetensors header of {n} bytes"),
        }));
    }
    ctx.budget.charge_bytes(n)?;
    let size = usize::try_from(n).map_err(|_| {
        ScanError::malformed(
            FORMAT,
            Some(0),
            format!("header length {n} does not fit in memory"),
        )
    })?;
    let header = blob.read_vec(8, size)?;
    Ok((n, header))
}

// ---- header parsing -------------------------------------------------------------------

/// One tensor entry as written; checked after parsing so errors can name the tensor.
#[derive(Debug, Default, Clone)]
struct RawTensor {
    name: String,
    dtype: Option<String>,
    shape: Option<Vec<u64>>,
    offsets: Option<(u64, u64)>,
}

#[derive(Debug, Default)]
struct ParsedHeader {
    tensors: Vec<RawTensor>,
    /// `__metadata__` entries in file order (last value of a duplicated key).
    metadata: Vec<(String, String)>,
    /// Keys seen more than once, at the top level or inside `__metadata__`.
    duplicates: Vec<String>,
}

fn parse_header(header: &[u8]) -> Result<ParsedHeader, ScanError> {
    // The library decodes the whole header (padding included) as UTF-8 before parsing.
    if let Err(e) = std::str::from_utf8(header) {
        return Err(ScanError::malformed(
            FORMAT,
            Some(8 + e.valid_up_to() as u64),
            "header is not valid UTF-8",
        ));
    }
    // First pass: syntax only, and where the JSON value ends.
    let mut stream = serde_json::Deserializer::from_slice(header).into_iter::<IgnoredAny>();
    match stream.next() {
        Some(Ok(_)) => {}
        Some(Err(e)) => {
            return Err(ScanError::malformed(
                FORMAT,
                Some(8),
                format!("header is not valid JSON: {e}"),
            ));
        }
        None => {
            return Err(ScanError::malformed(FORMAT, Some(8), "header is empty"));
        }
    }
    let end = stream.byte_offset();
    // Writers pad the header to a multiple of 8 with spaces (`prepare` in `tensor.rs`).
    let padding = header.get(end..).unwrap_or_default();
    if let Some(pos) = padding.iter().position(|&b| b != b' ') {
        let byte = padding.get(pos).copied().unwrap_or_default();
        return Err(ScanError::malformed(
            FORMAT,
            Some(8 + (end + pos) as u64),
            format!("header padding holds byte 0x{byte:02x}, not a space"),
        ));
    }
    // Second pass: structure.
    let json = header.get(..end).unwrap_or_default();
    let mut parsed = ParsedHeader::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    HeaderSeed { out: &mut parsed }
        .deserialize(&mut de)
        .map_err(|e| ScanError::malformed(FORMAT, Some(8), format!("invalid header: {e}")))?;
    Ok(parsed)
}

struct HeaderSeed<'a> {
    out: &'a mut ParsedHeader,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of tensor entries")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.out;
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut seen_metadata = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "__metadata__" {
                if seen_metadata {
                    out.duplicates.push(key);
                }
                seen_metadata = true;
                let meta = map.next_value_seed(MetadataSeed {
                    duplicates: &mut out.duplicates,
                })?;
                out.metadata = meta;
                continue;
            }
            let mut tensor: RawTensor = map.next_value_seed(TensorSeed)?;
            tensor.name = key.clone();
            // serde keeps the last value of a duplicated key; so do we (and report it).
            match index.get(&key) {
                Some(&i) => {
                    out.duplicates.push(key);
                    if let Some(slot) = out.tensors.get_mut(i) {
                        *slot = tensor;
                    }
                }
                None => {
                    index.insert(key, out.tensors.len());
                    out.tensors.push(tensor);
                }
            }
        }
        Ok(())
    }
}

/// `__metadata__`: `null` or an object of string values (`Option<HashMap<String, String>>`).
struct MetadataSeed<'a> {
    duplicates: &'a mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for MetadataSeed<'_> {
    type Value = Vec<(String, String)>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed<'_> {
    type Value = Vec<(String, String)>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("__metadata__ as an object of strings")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: String = map.next_value()?;
            match index.get(&key) {
                Some(&i) => {
                    self.duplicates.push(format!("__metadata__.{key}"));
                    if let Some(slot) = out.get_mut(i) {
                        slot.1 = value;
                    }
                }
                None => {
                    index.insert(key.clone(), out.len());
                    out.push((key, value));
                }
            }
        }
        Ok(out)
    }
}

struct TensorSeed;

impl<'de> DeserializeSeed<'de> for TensorSeed {
    type Value = RawTensor;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<RawTensor, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TensorSeed {
    type Value = RawTensor;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a tensor entry {dtype, shape, data_offsets}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawTensor, A::Error> {
        // Mirrors the library's derived `TensorInfo`: duplicate fields are errors, unknown
        // fields are ignored.
        let mut t = RawTensor::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "dtype" => {
                    if t.dtype.is_some() {
                        return Err(de::Error::duplicate_field("dtype"));
                    }
                    t.dtype = Some(map.next_value()?);
                }
                "shape" => {
                    if t.shape.is_some() {
                        return Err(de::Error::duplicate_field("shape"));
                    }
                    t.shape = Some(map.next_value()?);
                }
                "data_offsets" => {
                    if t.offsets.is_some() {
                        return Err(de::Error::duplicate_field("data_offsets"));
                    }
                    t.offsets = Some(map.next_value_seed(OffsetsSeed)?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(t)
    }
}

/// `data_offsets`: exactly two unsigned integers (the library's `(usize, usize)`).
struct OffsetsSeed;

impl<'de> DeserializeSeed<'de> for OffsetsSeed {
    type Value = (u64, u64);
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(u64, u64), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for OffsetsSeed {
    type Value = (u64, u64);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("data_offsets as [begin, end]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(u64, u64), A::Error> {
        let begin: u64 = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let end: u64 = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok((begin, end))
    }
}

// ---- layout -----------------------------------------------------------------------------

/// Size in bits of one element (`Dtype::bitsize` in the library, version 0.8).
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "F8_E4M3FNUZ"
        | "F8_E5M2FNUZ" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

struct Checked<'a> {
    name: &'a str,
    begin: u64,
    end: u64,
}

fn validate_layout(
    tensors: &[RawTensor],
    data_len: u64,
    data_start: u64,
    item: &Item,
    ctx: &mut ScanCtx<'_>,
) -> Result<(), ScanError> {
    let bad = |reason: String| ScanError::malformed(FORMAT, Some(8), reason);
    let mut checked: Vec<Checked<'_>> = Vec::with_capacity(tensors.len());
    for t in tensors {
        let name = t.name.as_str();
        let dtype = t
            .dtype
            .as_deref()
            .ok_or_else(|| bad(format!("tensor \"{name}\" has no dtype")))?;
        let shape = t
            .shape
            .as_deref()
            .ok_or_else(|| bad(format!("tensor \"{name}\" has no shape")))?;
        let (begin, end) = t
            .offsets
            .ok_or_else(|| bad(format!("tensor \"{name}\" has no data_offsets")))?;
        let bits = dtype_bits(dtype)
            .ok_or_else(|| bad(format!("tensor \"{name}\" has unknown dtype \"{dtype}\"")))?;
        if end < begin {
            return Err(bad(format!(
                "tensor \"{name}\" has data_offsets [{begin}, {end}] that end before they begin"
            )));
        }
        let elements = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| bad(format!("tensor \"{name}\": shape {shape:?} overflows")))?;
        let nbits = elements
            .checked_mul(bits)
            .ok_or_else(|| bad(format!("tensor \"{name}\": shape {shape:?} overflows")))?;
        if nbits % 8 != 0 {
            return Err(bad(format!(
                "tensor \"{name}\": {elements} elements of {dtype} do not fill whole bytes"
            )));
        }
        let nbytes = nbits / 8;
        if end - begin != nbytes {
            return Err(bad(format!(
                "tensor \"{name}\": shape {shape:?} of {dtype} needs {nbytes} bytes, \
                 data_offsets [{begin}, {end}] hold {}",
                end - begin
            )));
        }
        checked.push(Checked { name, begin, end });
    }

    // The library sorts by offsets and requires each tensor to start where the previous one
    // ended, and the last to end at the end of the file.
    checked.sort_by_key(|c| (c.begin, c.end));
    let mut cursor = 0u64;
    let mut prev: Option<&Checked<'_>> = None;
    for c in &checked {
        if c.end > data_len {
            let reason = format!(
                "tensor \"{}\" has data_offsets [{}, {}] past the end of the data area ({data_len} bytes)",
                c.name, c.begin, c.end
            );
            ctx.issue(
                SCANNER,
                &item.source,
                IssueBuilder::new("safetensors.header-anomaly")
                    .operator("header", c.name)
                    .description(format!(
                        "Tensor \"{}\" points past the end of the file",
                        c.name
                    ))
                    .why(
                        "Readers that trust data_offsets without checking them read memory \
                         beyond the file (out-of-bounds read); careful readers refuse the \
                         file, so readers disagree on what it holds.",
                    )
                    // The fault is in the header: its data would start outside the file.
                    .offset(HEADER_START),
            );
            return Err(bad(reason));
        }
        if c.begin < cursor {
            let other = prev.map(|p| p.name).unwrap_or_default();
            ctx.issue(
                SCANNER,
                &item.source,
                IssueBuilder::new("safetensors.header-anomaly")
                    .operator("header", c.name)
                    .description(format!(
                        "Tensors \"{other}\" and \"{}\" share bytes of the data area",
                        c.name
                    ))
                    .why(
                        "Overlapping tensors alias each other: writing one changes the other, \
                         and readers that do not validate offsets see different weights than \
                         readers that do.",
                    )
                    .offset(data_start.saturating_add(c.begin)),
            );
            return Err(bad(format!(
                "tensors \"{other}\" and \"{}\" overlap (data_offsets [{}, {}] start before {cursor})",
                c.name, c.begin, c.end
            )));
        }
        if c.begin > cursor {
            return Err(bad(format!(
                "{} unused bytes before tensor \"{}\" (data_offsets [{}, {}])",
                c.begin - cursor,
                c.name,
                c.begin,
                c.end
            )));
        }
        cursor = c.end;
        prev = Some(c);
    }
    if cursor != data_len {
        return Err(ScanError::malformed(
            FORMAT,
            Some(data_start.saturating_add(cursor)),
            format!(
                "{} bytes after the last tensor are not covered by any tensor",
                data_len - cursor
            ),
        ));
    }
    Ok(())
}

// ---- metadata text ----------------------------------------------------------------------

/// What a metadata value looks like, worst first.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TextKind {
    Code(&'static str),
    Shell(&'static str),
    Url(String),
}

/// Python fragments that only code contains. Names followed by `(` must start a word.
const PY_CALLS: &[&str] = &[
    "__import__",
    "eval",
    "exec",
    "compile",
    "execfile",
    "breakpoint",
    "getattr",
];
const PY_FRAGMENTS: &[&str] = &[
    "os.system",
    "os.popen",
    "os.exec",
    "os.spawn",
    "os.remove",
    "os.unlink",
    "subprocess.",
    "pty.spawn",
    "importlib.import_module",
    "builtins.",
    "__builtins__",
    "__globals__",
    "__subclasses__",
    "__class__.__",
    "__reduce__",
    "pickle.loads",
    "marshal.loads",
    "runpy.",
    "socket.socket",
    "shutil.rmtree",
    "ctypes.",
];
const PY_IMPORTS: &[&str] = &[
    "os",
    "subprocess",
    "sys",
    "socket",
    "pty",
    "ctypes",
    "shutil",
    "importlib",
    "pickle",
    "marshal",
    "runpy",
    "builtins",
    "base64",
];
/// Shell fragments, matched case-insensitively.
const SHELL_FRAGMENTS: &[&str] = &[
    "bash -c",
    "sh -c",
    "zsh -c",
    "/bin/sh",
    "/bin/bash",
    "rm -rf",
    "powershell",
    "cmd.exe",
    "cmd /c",
    "nc -e",
    "ncat -e",
    "chmod +x",
    "mkfifo",
    "/dev/tcp/",
    "| sh",
    "|sh",
    "| bash",
    "|bash",
    "&& sh ",
    "; sh ",
    "$(curl",
    "$(wget",
    "`curl",
    "`wget",
    "invoke-expression",
    "iex(",
    "certutil -urlcache",
];
const URL_SCHEMES: &[&str] = &["http://", "https://", "ftp://", "file://", "sftp://"];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `name(` with `name` starting a word (so `retrieval(` is not `eval(`).
fn has_call(text: &str, name: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|t| t.find(name)) {
        let start = from + pos;
        let after = start + name.len();
        let word_start = start == 0 || !bytes.get(start - 1).copied().is_some_and(is_word_byte);
        let rest = text.get(after..).unwrap_or_default().trim_start();
        let called = rest.starts_with('(');
        let word_end = !bytes.get(after).copied().is_some_and(is_word_byte);
        if word_start && word_end && called {
            return true;
        }
        from = after;
    }
    false
}

fn has_import(text: &str) -> Option<&'static str> {
    for line in text.split(['\n', ';']) {
        let line = line.trim();
        let module = if let Some(rest) = line.strip_prefix("import ") {
            rest
        } else if let Some(rest) = line.strip_prefix("from ") {
            rest
        } else {
            continue;
        };
        let first = module
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default();
        if let Some(m) = PY_IMPORTS.iter().find(|m| **m == first) {
            return Some(m);
        }
    }
    None
}

fn classify_text(text: &str) -> Option<TextKind> {
    if let Some(c) = PY_CALLS.iter().find(|c| has_call(text, c)) {
        // A bare getattr(...) is code only when it reaches for a dunder.
        if *c != "getattr" || text.contains("__") {
            return Some(TextKind::Code(c));
        }
    }
    if let Some(f) = PY_FRAGMENTS.iter().find(|f| text.contains(**f)) {
        return Some(TextKind::Code(f));
    }
    if let Some(m) = has_import(text) {
        return Some(TextKind::Code(m));
    }
    let lower = text.to_ascii_lowercase();
    if let Some(f) = SHELL_FRAGMENTS.iter().find(|f| lower.contains(**f)) {
        return Some(TextKind::Shell(f));
    }
    // A download command with a URL is a shell command whatever follows it.
    let has_url = URL_SCHEMES.iter().any(|s| lower.contains(s));
    if has_url
        && ["curl ", "wget ", "invoke-webrequest"]
            .iter()
            .any(|c| lower.contains(c))
    {
        return Some(TextKind::Shell("download command"));
    }
    for scheme in URL_SCHEMES {
        if let Some(pos) = lower.find(scheme) {
            let url: String = text
                .get(pos..)
                .unwrap_or_default()
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '<' | '>'))
                .take(200)
                .collect();
            return Some(TextKind::Url(url));
        }
    }
    None
}

fn excerpt(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    if text.chars().count() > 120 {
        format!("{one_line}...")
    } else {
        one_line
    }
}

/// The issue (if any) for one `__metadata__` entry. Keys are checked with their values.
fn metadata_findings(key: &str, value: &str) -> Option<IssueBuilder> {
    let kind = classify_text(value).or_else(|| match classify_text(key) {
        Some(TextKind::Url(_)) | None => None,
        other => other,
    })?;
    let b = IssueBuilder::new(match kind {
        TextKind::Url(_) => "safetensors.metadata-url",
        _ => "safetensors.suspicious-metadata",
    })
    .operator("__metadata__", key);
    Some(match kind {
        TextKind::Code(what) => b
            .severity(Severity::High)
            .description(format!(
                "Python code ({what}) in safetensors metadata \"{key}\": {}",
                excerpt(value)
            ))
            .why(
                "Safetensors never runs its metadata, but tools that read it (training \
                 scripts, UI nodes, config loaders) may pass it to eval/exec; Python code \
                 there has no benign purpose.",
            ),
        TextKind::Shell(what) => b
            .severity(Severity::High)
            .description(format!(
                "Shell command ({what}) in safetensors metadata \"{key}\": {}",
                excerpt(value)
            ))
            .why(
                "A shell command stored in model metadata is waiting for a tool or a person \
                 to run it; weights need no commands.",
            ),
        TextKind::Url(url) => b.severity(Severity::Low).description(format!(
            "URL in safetensors metadata \"{key}\": {}",
            excerpt(&url)
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::blob::Blob;
    use crate::findings::Outcome;
    use crate::findings::Source;
    use crate::limits::Budget;
    use crate::settings::Settings;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/safetensors");

    fn item_from_bytes(name: &str, bytes: Vec<u8>) -> Item {
        let head = bytes.iter().take(64).copied().collect();
        Item {
            source: Source::file(name.to_string(), name.into()),
            blob: Blob::from_vec(bytes),
            format: Format::Safetensors,
            head,
        }
    }

    fn scan_bytes(name: &str, bytes: Vec<u8>) -> (Outcome, Result<(), ScanError>) {
        let settings = Settings::defaults();
        let mut out = Outcome::default();
        let item = item_from_bytes(name, bytes);
        let res = {
            let mut ctx = ScanCtx {
                settings: &settings,
                budget: Budget::unlimited(),
                out: &mut out,
                depth: 0,
            };
            SafetensorsScanner.scan(&item, &mut ctx)
        };
        (out, res)
    }

    fn scan(rel: &str) -> (Outcome, Result<(), ScanError>) {
        let path = format!("{DIR}/{rel}");
        let bytes = std::fs::read(&path).unwrap();
        scan_bytes(rel, bytes)
    }

    fn error_text(rel: &str) -> String {
        match scan(rel).1 {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{rel} scanned without error"),
        }
    }

    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut h = header.as_bytes().to_vec();
        while h.len() % 8 != 0 {
            h.push(b' ');
        }
        let mut v = (h.len() as u64).to_le_bytes().to_vec();
        v.extend(h);
        v.extend(data);
        v
    }

    #[test]
    fn files_written_by_the_safetensors_library_are_clean() {
        for f in [
            "benign/numpy_dtypes.safetensors",
            "benign/torch_dtypes.safetensors",
            "benign/training_metadata.safetensors",
            "benign/no_tensors.safetensors",
        ] {
            let (out, res) = scan(f);
            assert!(res.is_ok(), "{f}: {res:?}");
            assert!(out.issues.is_empty(), "{f}: {:?}", out.issues);
            assert!(out.errors.is_empty(), "{f}");
        }
    }

    #[test]
    fn header_length_past_the_end_of_the_file_is_malformed() {
        assert_eq!(
            error_text("malformed/header_len_past_eof.safetensors"),
            "safetensors: header length 4096 runs past the end of the file (15 bytes) (at byte 0)"
        );
    }

    #[test]
    fn huge_header_length_is_refused_before_any_allocation() {
        assert_eq!(
            error_text("malformed/huge_header_len.safetensors"),
            "safetensors: header length 9223372036854775807 is over the format's limit of \
             100000000 bytes (at byte 0)"
        );
    }

    #[test]
    fn file_shorter_than_the_length_field_is_malformed() {
        let (_, res) = scan_bytes("short.safetensors", vec![1, 2, 3]);
        assert_eq!(
            res.unwrap_err().to_string(),
            "safetensors: file is 3 bytes, too short for the 8-byte header length (at byte 0)"
        );
    }

    #[test]
    fn truncated_json_is_malformed() {
        assert_eq!(
            error_text("malformed/bad_json.safetensors"),
            "safetensors: header is not valid JSON: EOF while parsing an object at line 1 \
             column 24 (at byte 8)"
        );
    }

    #[test]
    fn duplicate_tensor_name_is_an_anomaly_and_an_error() {
        let (out, res) = scan("malformed/duplicate_key.safetensors");
        assert_eq!(
            res.unwrap_err().to_string(),
            "safetensors: duplicate key \"a\" in header (at byte 8)"
        );
        assert_eq!(out.issues.len(), 1);
        assert_eq!(out.issues[0].rule, "safetensors.header-anomaly");
        assert_eq!(out.issues[0].severity, Severity::Medium);
    }

    #[test]
    fn duplicate_field_inside_a_tensor_entry_is_malformed() {
        assert_eq!(
            error_text("malformed/duplicate_inner_key.safetensors"),
            "safetensors: invalid header: duplicate field `dtype` at line 1 column 27 (at byte 8)"
        );
    }

    #[test]
    fn duplicate_metadata_key_is_reported() {
        let bytes = file(r#"{"__metadata__":{"format":"pt","format":"np"}}"#, b"");
        let (out, res) = scan_bytes("dupmeta.safetensors", bytes);
        assert_eq!(
            res.unwrap_err().to_string(),
            "safetensors: duplicate key \"__metadata__.format\" in header (at byte 8)"
        );
        assert_eq!(out.issues[0].rule, "safetensors.header-anomaly");
    }

    #[test]
    fn overlapping_tensors_are_an_anomaly_and_an_error() {
        let (out, res) = scan("malformed/overlapping_ranges.safetensors");
        assert_eq!(
            res.unwrap_err().to_string(),
            "safetensors: tensors \"a\" and \"b\" overlap (data_offsets [8, 16] start before 16) \
             (at byte 8)"
        );
        assert_eq!(out.issues.len(), 1);
        assert_eq!(out.issues[0].rule, "safetensors.header-anomaly");
    }

    #[test]
    fn gap_between_tensors_is_malformed() {
        assert_eq!(
            error_text("malformed/gap.safetensors"),
            "safetensors: 4 unused bytes before tensor \"b\" (data_offsets [20, 28]) (at byte 8)"
        );
    }

    #[test]
    fn shape_that_does_not_match_the_byte_range_is_malformed() {
        assert_eq!(
            error_text("malformed/shape_size_mismatch.safetensors"),
            "safetensors: tensor \"a\": shape [3, 2] of F32 needs 24 bytes, data_offsets [0, 16] \
             hold 16 (at byte 8)"
        );
    }

    #[test]
    fn unknown_dtype_is_malformed() {
        assert_eq!(
            error_text("malformed/unknown_dtype.safetensors"),
            "safetensors: tensor \"a\" has unknown dtype \"F128\" (at byte 8)"
        );
    }

    #[test]
    fn bytes_after_the_last_tensor_are_malformed() {
        assert_eq!(
            error_text("malformed/trailing_bytes.safetensors"),
            "safetensors: 8 bytes after the last tensor are not covered by any tensor (at byte 144)"
        );
    }

    #[test]
    fn offsets_past_the_end_are_an_anomaly_and_an_error() {
        let (out, res) = scan("malformed/offsets_past_end.safetensors");
        assert_eq!(
            res.unwrap_err().to_string(),
            "safetensors: tensor \"b\" has data_offsets [16, 4096] past the end of the data \
             area (24 bytes) (at byte 8)"
        );
        assert_eq!(out.issues[0].rule, "safetensors.header-anomaly");
    }

    #[test]
    fn metadata_with_a_number_value_is_malformed() {
        let e = error_text("malformed/metadata_not_strings.safetensors");
        assert!(
            e.starts_with(
                "safetensors: invalid header: invalid type: integer `3`, expected a string"
            ),
            "{e}"
        );
    }

    #[test]
    fn tensor_without_data_offsets_is_malformed() {
        assert_eq!(
            error_text("malformed/missing_offsets.safetensors"),
            "safetensors: tensor \"b\" has no data_offsets (at byte 8)"
        );
    }

    #[test]
    fn padding_other_than_spaces_is_malformed() {
        assert_eq!(
            error_text("malformed/nul_padding.safetensors"),
            "safetensors: header padding holds byte 0x00, not a space (at byte 120)"
        );
    }

    #[test]
    fn sub_byte_dtypes_must_fill_whole_bytes() {
        let ok = file(
            r#"{"q":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}"#,
            &[0, 0],
        );
        assert!(scan_bytes("f4.safetensors", ok).1.is_ok());
        let odd = file(
            r#"{"q":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
            &[0, 0],
        );
        assert_eq!(
            scan_bytes("f4.safetensors", odd).1.unwrap_err().to_string(),
            "safetensors: tensor \"q\": 3 elements of F4 do not fill whole bytes (at byte 8)"
        );
    }

    #[test]
    fn shape_product_overflow_is_malformed_not_a_panic() {
        let h = r#"{"q":{"dtype":"F64","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#;
        let e = scan_bytes("ovf.safetensors", file(h, b"")).1.unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
    }

    #[test]
    fn empty_and_scalar_tensors_are_valid() {
        let h = r#"{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"z":{"dtype":"U8","shape":[0],"data_offsets":[4,4]}}"#;
        let (out, res) = scan_bytes("empty.safetensors", file(h, &[0; 4]));
        assert!(res.is_ok(), "{res:?}");
        assert!(out.issues.is_empty());
    }

    #[test]
    fn null_metadata_is_accepted_like_the_library_does() {
        let h = r#"{"__metadata__":null,"s":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#;
        assert!(scan_bytes("nullmeta.safetensors", file(h, &[7])).1.is_ok());
    }

    #[test]
    fn python_code_in_metadata_is_a_high_issue() {
        let (out, res) = scan("malicious/metadata_python_code.safetensors");
        assert!(res.is_ok());
        assert_eq!(out.issues.len(), 1);
        let i = &out.issues[0];
        assert_eq!(i.rule, "safetensors.suspicious-metadata");
        assert_eq!(i.severity, Severity::High);
        assert_eq!(i.operator, "config");
        assert!(i.description.contains("__import__"), "{}", i.description);
    }

    #[test]
    fn shell_command_in_metadata_is_a_high_issue() {
        let (out, _) = scan("malicious/metadata_shell_command.safetensors");
        assert_eq!(out.issues.len(), 1);
        assert_eq!(out.issues[0].rule, "safetensors.suspicious-metadata");
        assert_eq!(out.issues[0].severity, Severity::High);
        assert!(out.issues[0].description.starts_with("Shell command"));
    }

    #[test]
    fn url_in_metadata_is_a_low_issue() {
        let (out, _) = scan("malicious/metadata_url.safetensors");
        assert_eq!(out.issues.len(), 1);
        assert_eq!(out.issues[0].rule, "safetensors.metadata-url");
        assert_eq!(out.issues[0].severity, Severity::Low);
        assert!(
            out.issues[0]
                .description
                .ends_with("https://example.invalid/update.bin")
        );
    }

    #[test]
    fn metadata_text_checks_respect_word_boundaries() {
        assert_eq!(classify_text("pt"), None);
        assert_eq!(classify_text("retrieval(augmented)"), None);
        assert_eq!(
            classify_text("{\"a cat\": 3, \"evaluation(test)\": 1}"),
            None
        );
        assert_eq!(classify_text("run eval (x)"), Some(TextKind::Code("eval")));
        assert_eq!(
            classify_text("import subprocess; subprocess.run('id')"),
            Some(TextKind::Code("subprocess."))
        );
        assert_eq!(
            classify_text("from os import system"),
            Some(TextKind::Code("os"))
        );
        assert_eq!(
            classify_text("wget https://x.invalid/a -O /tmp/a"),
            Some(TextKind::Shell("download command"))
        );
        assert_eq!(classify_text("getattr(obj, 'name')"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = scan_bytes("fuzz.safetensors", data);
        }

        #[test]
        fn mutated_library_file_never_panics(pos in 0usize..4096, byte in proptest::prelude::any::<u8>(), cut in 0usize..4096) {
            let mut b = std::fs::read(format!("{DIR}/benign/torch_dtypes.safetensors")).unwrap();
            let len = b.len();
            b[pos % len] = byte;
            b.truncate(len - cut % 64);
            let _ = scan_bytes("fuzz.safetensors", b);
        }
    }
}
