//! A static pickle VM that follows CPython's C unpickler (`Modules/_pickle.c`), not
//! `pickletools`: a real stack with mark fences, a memo keyed as `_Unpickler_MemoPut` keys it, every
//! opcode of protocols 0-5, several pickles per stream. Nothing is ever imported or called:
//! imports become `Global` values judged by `policy`, and calls (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ,
//! INST) become `Obj` nodes recorded with the callable they act on, so the rules can look at what
//! is called with what. A few pure functions are evaluated because real files depend on them
//! (`_codecs.encode` for protocol 2 bytes, base64/zlib decoders that feed nested payloads).
//!
//! The VM reads its input once, as a stream; payloads larger than `max_kept_operand_bytes` are
//! skipped, not copied, so memory stays flat on multi-GB pickles. Findings are collected as
//! `VmFinding`s for the scanner (`mod.rs`) to report; a parse error stops the walk but keeps
//! every finding made before it.

use super::memo::Memo;
use super::opcodes::Op;
use super::policy::{self, Verdict};
use super::pyint;
use crate::findings::{ImportRecord, Severity};
use crate::limits::{Budget, LimitHit};
use crate::settings::Settings;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

/// Every argument position of a higher-order callable (`partial`, `map`, `filter`).
const ALL_POSITIONS: &[usize] = &{
    let mut a = [0usize; MAX_ITEMS];
    let mut i = 0;
    while i < MAX_ITEMS {
        #[allow(clippy::indexing_slicing)]
        // const evaluation: an out-of-range index fails the build
        {
            a[i] = i;
        }
        i += 1;
    }
    a
};
/// Most items kept per container; the rest only leave a trace in `overflow_unsafe`.
const MAX_ITEMS: usize = 256;
/// Most nodes (containers and call results) per pickle before new ones become opaque.
const MAX_NODES: usize = 4_000_000;
/// Longest text line (protocol 0 operands) kept.
const MAX_LINE: usize = 1 << 20;
/// Read buffer of the VM's input.
const INPUT_BUFFER: usize = 64 * 1024;
/// Up to this many imports, `find_import` scans them instead of hashing.
const LINEAR_IMPORTS: usize = 16;
/// The magic number that starts a legacy (non-zip) `torch.save` file.
pub const TORCH_LEGACY_MAGIC: i128 = 0x1950a86a20f9469cfc6c;

#[derive(Debug, Clone, PartialEq)]
pub struct VmFinding {
    pub rule: &'static str,
    pub severity: Severity,
    pub module: String,
    pub operator: String,
    pub description: Option<String>,
    pub why: String,
    pub offset: u64,
}

/// One import seen in the stream.
#[derive(Debug, Clone)]
pub struct Import {
    /// As written in the file.
    pub module: String,
    pub name: String,
    /// After `_compat_pickle` resolution.
    pub resolved_module: String,
    pub resolved_name: String,
    pub verdict: Verdict,
    pub offset: u64,
}

/// Bytes handed to a deserializer inside the pickle, to be scanned in turn.
#[derive(Debug, Clone)]
pub struct NestedPayload {
    pub offset: u64,
    pub loader: String,
    /// The payload when it was small enough to keep.
    pub bytes: Option<Vec<u8>>,
    /// Where the payload lies in the stream (offset, length) when it was too large to keep.
    pub range: Option<(u64, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Reduce,
    NewObj,
    NewObjEx,
    Obj,
    Inst,
}

#[derive(Debug, Clone)]
enum V {
    None,
    Bool,
    Int(i128),
    BigInt,
    Float,
    Str(Text),
    Bytes(Rc<[u8]>),
    /// A string or bytes operand too large to keep: where it is in the stream and its length.
    Big(u64, u64),
    Global(u32),
    Node(u32),
    Tuple(Rc<[V]>),
    PersId,
    Buffer,
    /// Something the VM does not model (a node past the budget, an unresolved extension).
    Opaque,
}

/// Bytes of a `str` kept inline: the dict keys and attribute names that make up most strings
/// in a model pickle fit, so they cost no allocation (`V` stays 32 bytes).
const INLINE_TEXT: usize = 22;

/// A Python `str` operand: inline when short, shared otherwise.
#[derive(Clone)]
enum Text {
    Inline(u8, [u8; INLINE_TEXT]),
    Shared(Rc<str>),
}

impl Text {
    fn new(s: &str) -> Text {
        let mut buf = [0u8; INLINE_TEXT];
        match (buf.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(dst), Ok(n)) => {
                dst.copy_from_slice(s.as_bytes());
                Text::Inline(n, buf)
            }
            _ => Text::Shared(Rc::from(s)),
        }
    }

    /// Python's decoding of the bytes: invalid UTF-8 becomes U+FFFD.
    fn from_utf8_lossy(bytes: &[u8]) -> Text {
        // Short ASCII, nearly every string in a model pickle: no UTF-8 validation needed.
        if bytes.len() <= INLINE_TEXT && bytes.is_ascii() {
            let mut buf = [0u8; INLINE_TEXT];
            if let (Some(d), Ok(n)) = (buf.get_mut(..bytes.len()), u8::try_from(bytes.len())) {
                d.copy_from_slice(bytes);
                return Text::Inline(n, buf);
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Text::new(s),
            Err(_) => Text::new(&String::from_utf8_lossy(bytes)),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Always UTF-8: filled from a `str` or from ASCII bytes.
            Text::Inline(n, buf) => buf
                .get(..usize::from(*n))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Text::Shared(s) => s,
        }
    }

    /// Which of `STATE_KEYS` this string is, compared as bytes (no UTF-8 check: most strings
    /// are dict keys tested on every BUILD and SETITEM).
    fn state_key(&self) -> Option<usize> {
        let bytes: &[u8] = match self {
            Text::Inline(n, buf) => buf.get(..usize::from(*n)).unwrap_or_default(),
            Text::Shared(s) => s.as_bytes(),
        };
        if !matches!(bytes.len(), 3 | 6 | 12) {
            return None;
        }
        STATE_KEYS.iter().position(|k| k.as_bytes() == bytes)
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

#[derive(Debug)]
enum Node {
    List(Vec<V>),
    Dict(Vec<(V, V)>),
    Set(Vec<V>),
    Obj {
        callee: V,
        args: V,
        state: Option<V>,
    },
}

/// Per-pickle state: a fresh memo and stack for each pickle in the stream.
struct State {
    stack: Vec<V>,
    marks: Vec<usize>,
    memo: Memo<V>,
    nodes: Vec<Node>,
    /// `append`, `extend` or `add` set on a node by a BUILD state: the last value for a node
    /// and name, which is what APPEND, APPENDS or ADDITEMS would call.
    planted: HashMap<(u32, &'static str), V>,
    /// The last item stored under each of `STATE_KEYS` by SETITEM(S) into a node (a dict, or a
    /// dict subclass built by a call), whatever the container's item cap.
    keyed: HashMap<(u32, &'static str), V>,
    /// Lists and sets that got more items than the VM keeps: what they hold is not all known.
    truncated: HashSet<u32>,
    proto: u8,
    saw_proto: bool,
    frame_end: Option<u64>,
}

/// Most planted-method records kept per pickle; past it a planted callable is reported when it
/// is planted, whether or not an opcode then calls it.
const MAX_PLANTED: usize = 4096;

/// The per-pickle lists of `State` that `Vm::keep_or_report` bounds.
#[derive(Clone, Copy)]
enum Tracked {
    Planted,
    Keyed,
}

/// The BUILD state keys that plant a method the unpickler calls.
const STATE_KEYS: [&str; 4] = ["__setstate__", "append", "extend", "add"];

impl State {
    fn new() -> State {
        // Sized for a typical model pickle, so that the first opcodes do not regrow them.
        State {
            stack: Vec::with_capacity(32),
            marks: Vec::with_capacity(8),
            memo: Memo::with_capacity(64),
            nodes: Vec::new(),
            planted: HashMap::new(),
            keyed: HashMap::new(),
            truncated: HashSet::new(),
            proto: 0,
            saw_proto: false,
            frame_end: None,
        }
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }
}

/// Moves a seekable reader `n` bytes forward (`BufReader::seek_relative`, which keeps the
/// buffer when the target is inside it).
type SeekFwd<R> = fn(&mut BufReader<R>, i64) -> std::io::Result<()>;

/// Streaming input with position tracking.
pub struct Input<R: Read> {
    r: BufReader<R>,
    pos: u64,
    /// For seekable sources (a file, a window of one): the stream's length and how to move
    /// forward, so that skipped payloads (multi-GB tensor bytes) are seeked over, not read.
    seek: Option<(u64, SeekFwd<R>)>,
}

impl<R: Read> Input<R> {
    pub fn new(r: R) -> Input<R> {
        Input {
            r: BufReader::with_capacity(INPUT_BUFFER, r),
            pos: 0,
            seek: None,
        }
    }

    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Next byte, or None at the end of the stream.
    fn peek(&mut self) -> Result<Option<u8>, String> {
        let buf = self.r.fill_buf().map_err(|e| e.to_string())?;
        Ok(buf.first().copied())
    }

    #[inline]
    fn byte(&mut self) -> Result<Option<u8>, String> {
        // Fast path: the next opcode is nearly always buffered already.
        if let Some(&b) = self.r.buffer().first() {
            self.r.consume(1);
            self.pos += 1;
            return Ok(Some(b));
        }
        let b = self.peek()?;
        if b.is_some() {
            self.r.consume(1);
            self.pos += 1;
        }
        Ok(b)
    }

    fn exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
        if let Some(src) = self.r.buffer().get(..n) {
            let v = src.to_vec();
            self.r.consume(n);
            self.pos += n as u64;
            return Ok(v);
        }
        let mut v = Vec::new();
        let got = (&mut self.r)
            .take(n as u64)
            .read_to_end(&mut v)
            .map_err(|e| e.to_string())?;
        self.pos += got as u64;
        if got != n {
            return Err("pickle exhausted before seeing STOP".into());
        }
        Ok(v)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        // Fast path: the operand is already buffered (nearly always); no allocation.
        if let Some(src) = self.r.buffer().get(..N) {
            let mut a = [0u8; N];
            a.copy_from_slice(src);
            self.r.consume(N);
            self.pos += N as u64;
            return Ok(a);
        }
        let v = self.exact(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(v.get(..N).unwrap_or(&[0u8; N][..]));
        Ok(a)
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        if let Some((len, seek_fwd)) = self.seek {
            // Same outcome as reading: a payload running past the end leaves the input at
            // the end and fails; the bytes themselves are never read.
            let left = len.saturating_sub(self.pos);
            let step = n.min(left);
            if let Ok(d) = i64::try_from(step) {
                seek_fwd(&mut self.r, d).map_err(|e| e.to_string())?;
                self.pos += step;
                if step != n {
                    return Err("pickle exhausted before seeing STOP".into());
                }
                return Ok(());
            }
        }
        let got = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())
            .map_err(|e| e.to_string())?;
        self.pos += got;
        if got != n {
            return Err("pickle exhausted before seeing STOP".into());
        }
        Ok(())
    }

    /// A payload of `n` bytes: kept when small, skipped otherwise.
    fn payload(&mut self, n: u64, keep: u64) -> Result<Option<Vec<u8>>, String> {
        if n <= keep {
            let n = usize::try_from(n).map_err(|_| "length overflow".to_string())?;
            self.exact(n).map(Some)
        } else {
            self.skip(n).map(|_| None)
        }
    }

    /// `payload`, with the kept bytes turned into a value by `make`: straight from the read
    /// buffer when they are all in it (nearly always), with no intermediate vector.
    fn payload_map<T>(
        &mut self,
        n: u64,
        keep: u64,
        make: impl FnOnce(&[u8]) -> T,
    ) -> Result<Option<T>, String> {
        if n <= keep {
            if let Some(src) = usize::try_from(n)
                .ok()
                .and_then(|k| self.r.buffer().get(..k))
            {
                let (v, k) = (make(src), src.len());
                self.r.consume(k);
                self.pos += n;
                return Ok(Some(v));
            }
        }
        Ok(self.payload(n, keep)?.map(|d| make(&d)))
    }

    /// A text line without its newline; None content when longer than `MAX_LINE`.
    fn line(&mut self, what: &str) -> Result<Option<Vec<u8>>, String> {
        let mut out = Vec::new();
        let mut too_long = false;
        loop {
            let buf = self.r.fill_buf().map_err(|e| e.to_string())?;
            if buf.is_empty() {
                return Err(format!("no newline found when trying to read {what}"));
            }
            let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (buf.get(..i).unwrap_or(&[]), true),
                None => (buf, false),
            };
            if !too_long {
                if out.len() + chunk.len() > MAX_LINE {
                    too_long = true;
                    out.clear();
                } else {
                    out.extend_from_slice(chunk);
                }
            }
            let used = chunk.len() + usize::from(found);
            self.r.consume(used);
            self.pos += used as u64;
            if found {
                break;
            }
        }
        Ok(if too_long { None } else { Some(out) })
    }
}

impl<R: Read + std::io::Seek> Input<R> {
    /// An input over a seekable source, read from its current position: payloads that are not
    /// kept are seeked over instead of read, so a 2 GB array costs no I/O.
    pub fn seekable(mut r: R) -> std::io::Result<Input<R>> {
        use std::io::SeekFrom;
        let start = r.stream_position()?;
        let end = r.seek(SeekFrom::End(0))?;
        r.seek(SeekFrom::Start(start))?;
        // No bigger buffer than the stream (plus the read that sees its end): most pickles
        // are a few KB, and a 64 KiB buffer per file costs more than walking them.
        let len = end.saturating_sub(start).saturating_add(1);
        let cap = usize::try_from(len).map_or(INPUT_BUFFER, |l| l.min(INPUT_BUFFER));
        let mut input = Input {
            r: BufReader::with_capacity(cap, r),
            pos: 0,
            seek: None,
        };
        input.seek = Some((end.saturating_sub(start), |r, d| r.seek_relative(d)));
        Ok(input)
    }
}

/// What a run over one stream produced.
#[derive(Debug, Default)]
pub struct VmOutcome {
    pub findings: Vec<VmFinding>,
    pub imports: Vec<Import>,
    pub nested: Vec<NestedPayload>,
    /// Parse error that stopped the walk (findings before it are kept).
    pub error: Option<String>,
    /// A limit that stopped the walk.
    pub limit: Option<LimitHit>,
    pub pickles: usize,
    /// The stream is a legacy `torch.save` file (it starts with the magic number pickle).
    pub torch_legacy: bool,
    pub bytes_read: u64,
    /// The shape of each complete pickle's top value, in stream order.
    pub tops: Vec<TopSummary>,
    /// Bytes were read as joblib array data (which other loaders run as opcodes).
    pub joblib_data: bool,
    /// Files the loader reads beside this one (offset of the BUILD, name as written).
    pub external_files: Vec<(u64, String)>,
    /// Denylisted imports (module, name as written) whose every use the VM proved harmless
    /// (`getattr(<import>, '<constant>')` naming an allowed global).
    pub proven: Vec<(String, String)>,
}

/// The shape of a pickle's top value, which property tests compare with what Python pickled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopSummary {
    /// "none", "bool", "int", "float", "str", "bytes", "list", "dict", "set", "tuple",
    /// "call <module>.<name>" (a call result, e.g. a set before protocol 4), or "other".
    pub kind: String,
    /// Items of a container (capped at 256, as the VM keeps no more), length of a str (in
    /// characters) or bytes; for a call, that of its first argument.
    pub len: Option<usize>,
}

/// How the stream is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// One pickle, then stop (`pickle.load`).
    Single,
    /// Pickles one after another while the bytes that follow look like one.
    Multiple,
}

pub struct Vm<'a> {
    settings: &'a Settings,
    budget: &'a mut Budget,
    out: VmOutcome,
    /// The imports so far (moved to `out.imports` at the end): shared, so that a call can hold
    /// its callee's import while it reports findings without copying its strings.
    imports: Vec<Rc<Import>>,
    /// (module, name) as written -> import id; built and searched only past `LINEAR_IMPORTS`
    /// imports (a typical model pickle has a handful, found faster by a linear search).
    import_index: HashMap<(String, String), u32>,
    reported: HashSet<(&'static str, String, String)>,
    /// `builtins.getattr` was imported: its finding waits until we see how it is used.
    getattr_pending: Option<VmFinding>,
    /// Every call of `builtins.getattr` so far named a constant attribute of an import.
    getattr_resolved: u32,
    ext_registry: HashMap<i64, (String, String)>,
    opcodes: u64,
    depth: u32,
    /// Read joblib's raw array bytes as joblib does (skip them); off for the reading of
    /// `pickle.load`, `numpy.load` and `torch.load`, which run those bytes as opcodes.
    joblib_arrays: bool,
    /// How deep `unsafe_callable_arg` is inside nested partials.
    callable_depth: std::cell::Cell<u32>,
}

type R<T> = Result<T, Stop>;

/// Why a pickle walk ended early.
enum Stop {
    Parse(String),
    Limit(LimitHit),
}

impl From<String> for Stop {
    fn from(s: String) -> Stop {
        Stop::Parse(s)
    }
}

impl From<LimitHit> for Stop {
    fn from(h: LimitHit) -> Stop {
        Stop::Limit(h)
    }
}

fn parse<T>(msg: impl Into<String>) -> R<T> {
    Err(Stop::Parse(msg.into()))
}

impl<'a> Vm<'a> {
    pub fn new(settings: &'a Settings, budget: &'a mut Budget) -> Vm<'a> {
        Vm {
            settings,
            budget,
            out: VmOutcome::default(),
            imports: Vec::new(),
            import_index: HashMap::new(),
            reported: HashSet::new(),
            getattr_pending: None,
            getattr_resolved: 0,
            ext_registry: HashMap::new(),
            opcodes: 0,
            depth: 0,
            joblib_arrays: true,
            callable_depth: std::cell::Cell::new(0),
        }
    }

    /// The reading of a loader that knows nothing of joblib: the bytes joblib writes outside
    /// the pickle (array data and its alignment padding) are read as opcodes.
    pub fn plain(mut self) -> Self {
        self.joblib_arrays = false;
        self
    }

    /// Walk every pickle in the stream.
    pub fn run<Rd: Read>(mut self, input: &mut Input<Rd>, kind: StreamKind) -> VmOutcome {
        let mut legacy_left: Option<u32> = None;
        loop {
            let start = input.position();
            match self.run_pickle(input) {
                Ok(top) => {
                    self.out.pickles += 1;
                    if self.out.pickles == 1 && matches!(top, V::Int(TORCH_LEGACY_MAGIC)) {
                        // magic, protocol version, sys_info, the object, storage keys; then raw
                        // storage bytes that are not pickles (torch/serialization.py _legacy_save).
                        self.out.torch_legacy = true;
                        legacy_left = Some(4);
                    }
                }
                Err(Stop::Parse(e)) => {
                    // A stream that does not start like a pickle after a complete one is trailing
                    // data, which pickle.load never reads.
                    if self.out.pickles > 0
                        && input.position() <= start + 1
                        && !self.out.torch_legacy
                    {
                        break;
                    }
                    self.out.error = Some(e);
                    break;
                }
                Err(Stop::Limit(h)) => {
                    self.out.limit = Some(h);
                    break;
                }
            }
            if kind == StreamKind::Single {
                break;
            }
            if let Some(left) = legacy_left.as_mut() {
                if *left == 0 {
                    break;
                }
                *left -= 1;
            }
            match input.peek() {
                Ok(Some(b)) if legacy_left.is_some() || starts_pickle(b) => continue,
                // A read error after a complete pickle (a gzip trailer with a wrong CRC, a
                // file cut short) is still an error: the loader would see it too.
                Err(e) => {
                    self.out.error = Some(e);
                    break;
                }
                _ => break,
            }
        }
        // getattr imported but never resolved to a constant attribute: report it as ModelScan does.
        if self.getattr_resolved == 0 {
            self.flush_getattr();
        }
        // Every use resolved to an allowed attribute of an import: proven harmless, which other
        // readings of the same bytes must respect.
        if let Some(f) = self.getattr_pending.take() {
            self.out.proven.push((f.module, f.operator));
        }
        self.out.bytes_read = input.position();
        self.out.imports = std::mem::take(&mut self.imports)
            .into_iter()
            .map(|i| Rc::try_unwrap(i).unwrap_or_else(|i| (*i).clone()))
            .collect();
        self.out
    }

    fn finding(
        &mut self,
        rule: &'static str,
        severity: Severity,
        module: &str,
        operator: &str,
        why: String,
        offset: u64,
    ) {
        self.finding_with(rule, severity, module, operator, None, why, offset);
    }

    #[allow(clippy::too_many_arguments)]
    fn finding_with(
        &mut self,
        rule: &'static str,
        severity: Severity,
        module: &str,
        operator: &str,
        description: Option<String>,
        why: String,
        offset: u64,
    ) {
        // One issue per rule and (module, name) per file, as ModelScan reports one per global.
        if !self
            .reported
            .insert((rule, module.to_string(), operator.to_string()))
        {
            return;
        }
        self.out.findings.push(VmFinding {
            rule,
            severity,
            module: module.to_string(),
            operator: operator.to_string(),
            description,
            why,
            offset,
        });
    }

    fn run_pickle<Rd: Read>(&mut self, input: &mut Input<Rd>) -> R<V> {
        let mut st = State::new();
        let keep = self.settings.limits.max_kept_operand_bytes;
        let limits = &self.settings.limits;
        let (max_ops, max_stack, max_memo) = (
            limits.max_pickle_opcodes,
            limits.max_pickle_stack as usize,
            limits.max_pickle_memo as usize,
        );
        loop {
            let offset = input.position();
            let Some(byte) = input.byte()? else {
                return parse("pickle exhausted before seeing STOP");
            };
            let Some(op) = Op::from_byte(byte) else {
                return parse(format!(
                    "at position {offset}, opcode {:?} unknown",
                    char::from(byte)
                ));
            };
            self.opcodes += 1;
            if self.opcodes > max_ops {
                self.finding(
                    "pickle.resource-exhaustion",
                    Severity::Medium,
                    "pickle",
                    "opcodes",
                    format!("more than {max_ops} opcodes"),
                    offset,
                );
                return Err(Stop::Limit(LimitHit {
                    limit: "max_pickle_opcodes",
                    detail: format!("more than {max_ops} opcodes in one stream"),
                }));
            }
            if self.opcodes % 65_536 == 0 {
                self.budget.check_time()?;
            }
            if let Some(end) = st.frame_end {
                if offset >= end {
                    st.frame_end = None;
                }
            }
            self.step(input, &mut st, op, offset, keep)?;
            if let Some(end) = st.frame_end {
                // BUILD of a joblib array wrapper reads the array data that joblib writes
                // outside the frames; that is not an operand straddling a frame.
                if input.position() > end && op != Op::Frame && op != Op::Build {
                    self.finding(
                        "pickle.anomaly",
                        Severity::Medium,
                        "pickle",
                        "FRAME",
                        format!(
                            "the {} operand at byte {offset} runs past the end of its frame (byte {end}); \
                             the C unpickler reads on, the Python one fails",
                            op.name()
                        ),
                        offset,
                    );
                    st.frame_end = None;
                }
            }
            if op == Op::Stop {
                let top = st
                    .stack
                    .pop()
                    .ok_or_else(|| Stop::Parse("unpickling stack underflow".into()))?;
                let summary = self.summarize(&st, &top);
                self.out.tops.push(summary);
                return Ok(top);
            }
            if st.stack.len() > max_stack || st.memo.len() > max_memo {
                let what = if st.stack.len() > max_stack {
                    "stack"
                } else {
                    "memo"
                };
                self.finding(
                    "pickle.resource-exhaustion",
                    Severity::Medium,
                    "pickle",
                    what,
                    format!(
                        "the pickle {what} grows past {} entries",
                        max_stack.max(max_memo)
                    ),
                    offset,
                );
                return Err(Stop::Limit(LimitHit {
                    limit: if what == "stack" {
                        "max_pickle_stack"
                    } else {
                        "max_pickle_memo"
                    },
                    detail: format!("pickle {what} larger than the limit"),
                }));
            }
        }
    }

    fn pop(&self, st: &mut State) -> R<V> {
        if st.stack.len() <= st.fence() {
            return parse("unpickling stack underflow");
        }
        st.stack
            .pop()
            .ok_or_else(|| Stop::Parse("unpickling stack underflow".into()))
    }

    fn pop_mark(&self, st: &mut State) -> R<Vec<V>> {
        let mark = self.pop_mark_at(st)?;
        Ok(st.stack.split_off(mark))
    }

    /// Pops the last mark and returns where the items above it start.
    fn pop_mark_at(&self, st: &mut State) -> R<usize> {
        let Some(mark) = st.marks.pop() else {
            return parse("could not find MARK");
        };
        if mark > st.stack.len() {
            return parse("could not find MARK");
        }
        Ok(mark)
    }

    fn top(&self, st: &State) -> R<V> {
        if st.stack.len() <= st.fence() {
            return parse("unpickling stack underflow");
        }
        st.stack
            .last()
            .cloned()
            .ok_or_else(|| Stop::Parse("unpickling stack underflow".into()))
    }

    fn new_node(&self, st: &mut State, n: Node) -> V {
        if st.nodes.len() >= MAX_NODES {
            return V::Opaque;
        }
        st.nodes.push(n);
        V::Node((st.nodes.len() - 1) as u32)
    }

    fn str_value(&self, data: Option<Vec<u8>>, end: u64, len: u64) -> V {
        match data {
            Some(d) => V::Str(Text::from_utf8_lossy(&d)),
            None => V::Big(end.saturating_sub(len), len),
        }
    }

    #[allow(clippy::too_many_lines)]
    fn step<Rd: Read>(
        &mut self,
        input: &mut Input<Rd>,
        st: &mut State,
        op: Op,
        offset: u64,
        keep: u64,
    ) -> R<()> {
        match op {
            Op::Proto => {
                let [p] = input.array::<1>()?;
                if p > 5 {
                    return parse(format!("unsupported pickle protocol: {p}"));
                }
                if st.saw_proto {
                    self.finding(
                        "pickle.anomaly",
                        Severity::Medium,
                        "pickle",
                        "PROTO",
                        format!("a second PROTO opcode at byte {offset}: no pickler writes one"),
                        offset,
                    );
                } else if !st.stack.is_empty() || !st.memo.is_empty() {
                    self.finding(
                        "pickle.anomaly",
                        Severity::Medium,
                        "pickle",
                        "PROTO",
                        format!("PROTO at byte {offset} after other opcodes"),
                        offset,
                    );
                }
                st.saw_proto = true;
                st.proto = p;
            }
            Op::Frame => {
                let n = u64::from_le_bytes(input.array::<8>()?);
                if st.frame_end.is_some_and(|end| offset < end) {
                    self.finding(
                        "pickle.anomaly",
                        Severity::Medium,
                        "pickle",
                        "FRAME",
                        format!("a FRAME opcode at byte {offset} inside the previous frame"),
                        offset,
                    );
                }
                st.frame_end = input.position().checked_add(n);
            }
            Op::Stop => {}
            Op::Mark => st.marks.push(st.stack.len()),
            Op::Pop => {
                if st.marks.last() == Some(&st.stack.len()) && st.stack.len() <= st.fence() {
                    st.marks.pop();
                } else {
                    self.pop(st)?;
                }
            }
            Op::PopMark => {
                self.pop_mark(st)?;
            }
            Op::Dup => {
                let v = self.top(st)?;
                st.stack.push(v);
            }
            Op::None => st.stack.push(V::None),
            Op::NewTrue => st.stack.push(V::Bool),
            Op::NewFalse => st.stack.push(V::Bool),
            Op::Int => {
                let line = input.line("stringnl")?.unwrap_or_default();
                // Protocol 0 writes booleans as INT 01/00; other text goes through C strtol
                // with base 0, then int(text, 0) (`load_int` in _pickle.c).
                let v = match pyint::load_int(&line) {
                    pyint::IntOperand::Bool => V::Bool,
                    pyint::IntOperand::Int(i) => int_value(i),
                    pyint::IntOperand::Invalid => return parse(invalid_int(&line)),
                };
                st.stack.push(v);
            }
            Op::Long => {
                let line = input.line("stringnl")?.unwrap_or_default();
                let v = pyint::load_long(&line).ok_or_else(|| Stop::Parse(invalid_int(&line)))?;
                st.stack.push(int_value(v));
            }
            Op::Float => {
                input.line("stringnl")?;
                st.stack.push(V::Float);
            }
            Op::BinFloat => {
                input.array::<8>()?;
                st.stack.push(V::Float);
            }
            Op::BinInt => st
                .stack
                .push(V::Int(i128::from(i32::from_le_bytes(input.array::<4>()?)))),
            Op::BinInt1 => st.stack.push(V::Int(i128::from(input.array::<1>()?[0]))),
            Op::BinInt2 => st
                .stack
                .push(V::Int(i128::from(u16::from_le_bytes(input.array::<2>()?)))),
            Op::Long1 | Op::Long4 => {
                let n = if op == Op::Long1 {
                    u64::from(input.array::<1>()?[0])
                } else {
                    let n = i32::from_le_bytes(input.array::<4>()?);
                    if n < 0 {
                        return parse("LONG pickle has negative byte count");
                    }
                    n as u64
                };
                if n <= 16 {
                    let bytes = input.exact(n as usize)?;
                    st.stack.push(V::Int(le_signed(&bytes)));
                } else {
                    input.skip(n)?;
                    st.stack.push(V::BigInt);
                }
            }
            Op::String => {
                let line = input.line("stringnl")?;
                let v = match line {
                    None => V::Big(input.position(), 0),
                    Some(line) => {
                        let raw = unquote_string(&line).ok_or_else(|| {
                            Stop::Parse("the STRING opcode argument must be quoted".into())
                        })?;
                        V::Str(Text::from_utf8_lossy(&raw))
                    }
                };
                st.stack.push(v);
            }
            Op::BinString | Op::ShortBinString => {
                let n = if op == Op::ShortBinString {
                    u64::from(input.array::<1>()?[0])
                } else {
                    let n = i32::from_le_bytes(input.array::<4>()?);
                    if n < 0 {
                        return parse("BINSTRING pickle has negative byte count");
                    }
                    n as u64
                };
                let data = input.payload(n, keep)?;
                let v = self.str_value(data, input.position(), n);
                st.stack.push(v);
            }
            Op::Unicode => {
                let v = match input.line("unicodestringnl")? {
                    Some(line) => V::Str(Text::new(&raw_unicode_escape(&line))),
                    None => V::Big(input.position(), 0),
                };
                st.stack.push(v);
            }
            Op::ShortBinUnicode | Op::BinUnicode | Op::BinUnicode8 => {
                let n = match op {
                    Op::ShortBinUnicode => u64::from(input.array::<1>()?[0]),
                    Op::BinUnicode => u64::from(u32::from_le_bytes(input.array::<4>()?)),
                    _ => u64::from_le_bytes(input.array::<8>()?),
                };
                let data = input.payload_map(n, keep, Text::from_utf8_lossy)?;
                let v = match data {
                    Some(s) => V::Str(s),
                    None => V::Big(input.position().saturating_sub(n), n),
                };
                st.stack.push(v);
            }
            Op::ShortBinBytes | Op::BinBytes | Op::BinBytes8 | Op::ByteArray8 => {
                let n = match op {
                    Op::ShortBinBytes => u64::from(input.array::<1>()?[0]),
                    Op::BinBytes => u64::from(u32::from_le_bytes(input.array::<4>()?)),
                    _ => u64::from_le_bytes(input.array::<8>()?),
                };
                let data = input.payload_map(n, keep, |b| Rc::<[u8]>::from(b))?;
                let v = match data {
                    Some(b) => V::Bytes(b),
                    None => V::Big(input.position().saturating_sub(n), n),
                };
                st.stack.push(v);
            }
            Op::NextBuffer => st.stack.push(V::Buffer),
            Op::ReadonlyBuffer => {
                self.top(st)?;
            }
            Op::EmptyTuple => st.stack.push(V::Tuple(Rc::from(Vec::new()))),
            Op::Tuple => {
                // Straight from the stack into the tuple (one allocation), capped; a cut tuple
                // ends with `Opaque` in place of the items it lost, so that no check clears it.
                let mark = self.pop_mark_at(st)?;
                let cut = st.stack.len().saturating_sub(mark) > MAX_ITEMS;
                let kept = st.stack.drain(mark..).take(MAX_ITEMS);
                let items: Rc<[V]> = if cut {
                    kept.chain(std::iter::once(V::Opaque)).collect()
                } else {
                    kept.collect()
                };
                st.stack.push(V::Tuple(items));
            }
            Op::Tuple1 | Op::Tuple2 | Op::Tuple3 => {
                let n = match op {
                    Op::Tuple1 => 1,
                    Op::Tuple2 => 2,
                    _ => 3,
                };
                if st.stack.len() < st.fence() + n {
                    return parse("unpickling stack underflow");
                }
                let items: Rc<[V]> = st.stack.drain(st.stack.len() - n..).collect();
                st.stack.push(V::Tuple(items));
            }
            Op::EmptyList => {
                let v = self.new_node(st, Node::List(Vec::new()));
                st.stack.push(v);
            }
            Op::List => {
                let items = self.pop_mark(st)?;
                let cut = items.len() > MAX_ITEMS;
                let v = self.new_node(st, Node::List(cap_items(items)));
                if let (true, V::Node(id)) = (cut, &v) {
                    st.truncated.insert(*id);
                }
                st.stack.push(v);
            }
            Op::EmptyDict => {
                let v = self.new_node(st, Node::Dict(Vec::new()));
                st.stack.push(v);
            }
            Op::Dict => {
                let items = self.pop_mark(st)?;
                if items.len() % 2 != 0 {
                    return parse("odd number of items for DICT");
                }
                let keyed = state_items(&items);
                let v = self.new_node(st, Node::Dict(pairs(items)));
                if let V::Node(id) = v {
                    self.record_keyed(st, id, keyed, offset);
                }
                st.stack.push(v);
            }
            Op::EmptySet => {
                let v = self.new_node(st, Node::Set(Vec::new()));
                st.stack.push(v);
            }
            Op::FrozenSet => {
                let items = self.pop_mark(st)?;
                let cut = items.len() > MAX_ITEMS;
                let v = self.new_node(st, Node::Set(cap_items(items)));
                if let (true, V::Node(id)) = (cut, &v) {
                    st.truncated.insert(*id);
                }
                st.stack.push(v);
            }
            Op::Append => {
                let from = self.items_above(st, 1)?;
                self.add_items(st, from, offset, "APPEND")?;
            }
            Op::Appends | Op::AddItems => {
                let from = self.pop_mark_at(st)?;
                self.add_items(st, from, offset, op.name())?;
            }
            Op::SetItem => {
                let from = self.items_above(st, 2)?;
                self.set_items(st, from, offset)?;
            }
            Op::SetItems => {
                let from = self.pop_mark_at(st)?;
                if st.stack.len().saturating_sub(from) % 2 != 0 {
                    return parse("odd number of items for SETITEMS");
                }
                self.set_items(st, from, offset)?;
            }
            Op::Get => {
                let line = input.line("stringnl")?.unwrap_or_default();
                // int(text, 10), as load_get reads it (`1_0` is 10).
                let idx = match pyint::memo_index(&line) {
                    Some(pyint::PyInt::Small(i)) => u64::try_from(i).unwrap_or(u64::MAX),
                    Some(pyint::PyInt::Big) => u64::MAX,
                    None => return parse("invalid GET index"),
                };
                self.memo_get(st, idx)?;
            }
            Op::BinGet => {
                let idx = u64::from(input.array::<1>()?[0]);
                self.memo_get(st, idx)?;
            }
            Op::LongBinGet => {
                let idx = u64::from(u32::from_le_bytes(input.array::<4>()?));
                self.memo_get(st, idx)?;
            }
            Op::Put => {
                let line = input.line("stringnl")?.unwrap_or_default();
                let idx = match pyint::memo_index(&line) {
                    Some(pyint::PyInt::Small(i)) if i < 0 => {
                        return parse("negative PUT argument");
                    }
                    Some(pyint::PyInt::Small(i)) => u64::try_from(i).unwrap_or(u64::MAX),
                    Some(pyint::PyInt::Big) => u64::MAX,
                    None => return parse("invalid PUT index"),
                };
                let v = self.top(st)?;
                st.memo.insert(idx, v);
            }
            Op::BinPut => {
                let idx = u64::from(input.array::<1>()?[0]);
                let v = self.top(st)?;
                st.memo.insert(idx, v);
            }
            Op::LongBinPut => {
                let idx = u64::from(u32::from_le_bytes(input.array::<4>()?));
                let v = self.top(st)?;
                st.memo.insert(idx, v);
            }
            Op::Memoize => {
                let v = self.top(st)?;
                // _Unpickler_MemoPut: MEMOIZE stores at memo_len, the number of entries set.
                let idx = st.memo.len() as u64;
                st.memo.insert(idx, v);
            }
            Op::Global => {
                let module = input.line("stringnl")?.unwrap_or_default();
                let name = input.line("stringnl")?.unwrap_or_default();
                let id = self.import(
                    &String::from_utf8_lossy(&module),
                    &String::from_utf8_lossy(&name),
                    st.proto,
                    offset,
                );
                st.stack.push(V::Global(id));
            }
            Op::StackGlobal => {
                let name = self.pop(st)?;
                let module = self.pop(st)?;
                match (&module, &name) {
                    (V::Str(m), V::Str(n)) => {
                        let id = self.import(m, n, st.proto.max(4), offset);
                        st.stack.push(V::Global(id));
                    }
                    (V::Node(_) | V::Opaque | V::Big(..) | V::Global(_) | V::PersId, _)
                    | (_, V::Node(_) | V::Opaque | V::Big(..) | V::Global(_) | V::PersId) => {
                        let m = describe(&module);
                        let n = describe(&name);
                        self.finding_with(
                            "pickle.computed-import",
                            Severity::Critical,
                            "unknown",
                            "unknown",
                            Some(format!(
                                "STACK_GLOBAL imports a name computed at load time (module {m}, name {n})"
                            )),
                            "the module or name given to STACK_GLOBAL is not a string constant, so \
                             what gets imported is only decided when the file is loaded"
                                .into(),
                            offset,
                        );
                        st.stack.push(V::Opaque);
                    }
                    _ => return parse("STACK_GLOBAL requires str"),
                }
            }
            Op::Inst => {
                let module = input.line("stringnl")?.unwrap_or_default();
                let name = input.line("stringnl")?.unwrap_or_default();
                let args = self.pop_mark(st)?;
                let id = self.import(
                    &String::from_utf8_lossy(&module),
                    &String::from_utf8_lossy(&name),
                    st.proto,
                    offset,
                );
                let v = self.call(
                    st,
                    CallKind::Inst,
                    V::Global(id),
                    V::Tuple(Rc::from(args)),
                    offset,
                );
                st.stack.push(v);
            }
            Op::Obj => {
                let mut items = self.pop_mark(st)?;
                if items.is_empty() {
                    return parse("unpickling stack underflow");
                }
                let cls = items.remove(0);
                let v = self.call(st, CallKind::Obj, cls, V::Tuple(Rc::from(items)), offset);
                st.stack.push(v);
            }
            Op::Reduce => {
                let args = self.pop(st)?;
                let callable = self.pop(st)?;
                let v = self.call(st, CallKind::Reduce, callable, args, offset);
                st.stack.push(v);
            }
            Op::NewObj => {
                let args = self.pop(st)?;
                let cls = self.pop(st)?;
                let v = self.call(st, CallKind::NewObj, cls, args, offset);
                st.stack.push(v);
            }
            Op::NewObjEx => {
                let _kwargs = self.pop(st)?;
                let args = self.pop(st)?;
                let cls = self.pop(st)?;
                let v = self.call(st, CallKind::NewObjEx, cls, args, offset);
                st.stack.push(v);
            }
            Op::Build => {
                let state = self.pop(st)?;
                let obj = self.top(st)?;
                self.build(input, st, obj, state, offset)?;
            }
            Op::PersId => {
                input.line("stringnl")?;
                st.stack.push(V::PersId);
            }
            Op::BinPersId => {
                self.pop(st)?;
                st.stack.push(V::PersId);
            }
            Op::Ext1 | Op::Ext2 | Op::Ext4 => {
                let code = match op {
                    Op::Ext1 => i64::from(input.array::<1>()?[0]),
                    Op::Ext2 => i64::from(u16::from_le_bytes(input.array::<2>()?)),
                    _ => i64::from(i32::from_le_bytes(input.array::<4>()?)),
                };
                match self.ext_registry.get(&code).cloned() {
                    Some((m, n)) => {
                        self.finding(
                            "pickle.extension-code",
                            Severity::Critical,
                            &m,
                            &n,
                            format!(
                                "{} code {code} resolves to {m}.{n}, registered inside the stream by copyreg.add_extension",
                                op.name()
                            ),
                            offset,
                        );
                        let id = self.import(&m, &n, 4, offset);
                        st.stack.push(V::Global(id));
                    }
                    // EXT opcodes exist from protocol 2, and every pickler that writes one
                    // writes PROTO first; bytes that merely contain 0x82-0x84 (a msgpack map
                    // header) and no PROTO are not a pickle using the registry, and the
                    // unpickler raises at an unregistered code.
                    None if !st.saw_proto => st.stack.push(V::Opaque),
                    None => {
                        self.finding_with(
                            "pickle.extension-code",
                            Severity::Critical,
                            "copyreg",
                            &format!("extension code {code}"),
                            Some(format!(
                                "{} refers to extension code {code}, which nothing in the file registers",
                                op.name()
                            )),
                            "the default extension registry is empty; the code only resolves if \
                             something registered it before loading, and then it imports a global \
                             without naming it"
                                .into(),
                            offset,
                        );
                        st.stack.push(V::Opaque);
                    }
                }
            }
        }
        Ok(())
    }

    fn memo_get(&mut self, st: &mut State, idx: u64) -> R<()> {
        match st.memo.get(idx) {
            Some(v) => {
                let v = v.clone();
                st.stack.push(v);
                Ok(())
            }
            None => parse(format!("Memo value not found at index {idx}")),
        }
    }

    /// The id of the import of `module.name` (as written) seen before, if any. A file has a
    /// handful of imports: a scan of them costs less than building the map's key.
    fn find_import(&self, module: &str, name: &str) -> Option<u32> {
        if self.imports.len() <= LINEAR_IMPORTS {
            return self
                .imports
                .iter()
                .position(|i| i.module == module && i.name == name)
                .map(|k| k as u32);
        }
        self.import_index
            .get(&(module.to_string(), name.to_string()))
            .copied()
    }

    fn import(&mut self, module: &str, name: &str, proto: u8, offset: u64) -> u32 {
        if let Some(id) = self.find_import(module, name) {
            return id;
        }
        let (rm, rn) = policy::resolve(module, name, proto);
        let verdict = policy::judge(self.settings, &rm, &rn);
        // How the import is named in findings; only built when there is one.
        let display = || {
            if (rm.as_str(), rn.as_str()) != (module, name) {
                format!("{module}.{name} (loaded as {rm}.{rn})")
            } else {
                format!("{module}.{name}")
            }
        };
        match &verdict {
            // `getattr(<imported global>, '<constant>')` is an import of `global.constant` in
            // another form (CPython pickles ZoneInfo and bound methods that way); it is judged
            // when called. Any other use is reported with ModelScan's severity.
            Verdict::Dangerous { severity, reason }
                if (rm.as_str(), rn.as_str()) == ("builtins", "getattr") =>
            {
                self.getattr_pending = Some(VmFinding {
                    rule: "pickle.dangerous-global",
                    severity: *severity,
                    module: module.to_string(),
                    operator: name.to_string(),
                    description: None,
                    why: format!("{}: {reason}", display()),
                    offset,
                });
            }
            Verdict::Dangerous { severity, reason } => {
                let rule = if rn.split('.').any(|c| c.len() > 4 && c.starts_with("__") && c.ends_with("__"))
                    && !matches!(rn.as_str(), "__import__")
                {
                    "pickle.dunder-name"
                } else {
                    "pickle.dangerous-global"
                };
                self.finding(
                    rule,
                    *severity,
                    module,
                    name,
                    format!("{}: {reason}", display()),
                    offset,
                );
            }
            Verdict::Unknown { stdlib: true } => self.finding(
                "pickle.unknown-stdlib-global",
                Severity::High,
                module,
                name,
                format!(
                    "{} is a standard-library name outside the allowlist; no benign model \
                     needs it, and unlisted standard-library callables are how denylists are bypassed",
                    display()
                ),
                offset,
            ),
            Verdict::Unknown { stdlib: false } if self.settings.strict => self.finding(
                "pickle.unknown-global",
                Severity::Medium,
                module,
                name,
                format!("{} is not on the allowlist (strict mode)", display()),
                offset,
            ),
            _ => {}
        }
        let id = self.imports.len() as u32;
        self.imports.push(Rc::new(Import {
            module: module.to_string(),
            name: name.to_string(),
            resolved_module: rm,
            resolved_name: rn,
            verdict,
            offset,
        }));
        if self.imports.len() > LINEAR_IMPORTS {
            if self.import_index.is_empty() {
                for (k, i) in self.imports.iter().enumerate() {
                    self.import_index
                        .insert((i.module.clone(), i.name.clone()), k as u32);
                }
            } else {
                self.import_index
                    .insert((module.to_string(), name.to_string()), id);
            }
        }
        id
    }

    fn summarize(&self, st: &State, v: &V) -> TopSummary {
        let (kind, len) = match v {
            V::None => ("none".to_string(), None),
            V::Bool => ("bool".into(), None),
            V::Int(_) | V::BigInt => ("int".into(), None),
            V::Float => ("float".into(), None),
            V::Str(s) => ("str".into(), Some(s.chars().count())),
            V::Bytes(b) => ("bytes".into(), Some(b.len())),
            V::Tuple(t) => ("tuple".into(), Some(t.len().min(MAX_ITEMS))),
            V::Node(i) => match st.nodes.get(*i as usize) {
                Some(Node::List(items)) => ("list".into(), Some(items.len())),
                Some(Node::Dict(items)) => ("dict".into(), Some(items.len())),
                Some(Node::Set(items)) => ("set".into(), Some(items.len())),
                Some(Node::Obj { callee, args, .. }) => {
                    let name = self.import_of(callee).map_or_else(
                        || "?".to_string(),
                        |g| format!("{}.{}", g.resolved_module, g.resolved_name),
                    );
                    // One level only: a chain of calls must not recurse.
                    let len = match tuple_items(args).first() {
                        Some(first @ V::Node(j))
                            if !matches!(st.nodes.get(*j as usize), Some(Node::Obj { .. })) =>
                        {
                            self.summarize(st, first).len
                        }
                        Some(V::Node(_)) | None => None,
                        Some(first) => self.summarize(st, first).len,
                    };
                    (format!("call {name}"), len)
                }
                None => ("other".into(), None),
            },
            _ => ("other".into(), None),
        };
        TopSummary { kind, len }
    }

    /// `import_of`, as a handle that outlives borrows of `self`.
    fn import_rc(&self, v: &V) -> Option<Rc<Import>> {
        match v {
            V::Global(id) => self.imports.get(*id as usize).cloned(),
            _ => None,
        }
    }

    fn import_of(&self, v: &V) -> Option<&Import> {
        match v {
            V::Global(id) => self.imports.get(*id as usize).map(|i| &**i),
            _ => None,
        }
    }

    /// Whether a value handed to a higher-order helper as the function to call is unsafe,
    /// with a description.
    fn unsafe_callable_arg(&self, st: &State, v: &V) -> Option<String> {
        match v {
            V::Global(_) => {
                let imp = self.import_of(v)?;
                match &imp.verdict {
                    Verdict::Safe => None,
                    // A class-shaped name proves nothing: whatever is not listed may run code
                    // when the helper calls it.
                    _ => Some(format!("{}.{}", imp.resolved_module, imp.resolved_name)),
                }
            }
            V::Node(id) => match st.nodes.get(*id as usize) {
                Some(Node::Obj {
                    callee,
                    args,
                    state,
                }) if self.is_partial(callee) => {
                    // A partial calls its function with its arguments (any of which may be
                    // a callable it hands on); a BUILD state may have replaced them.
                    if self.callable_depth.get() > 8 {
                        return Some("a deeply nested functools.partial".into());
                    }
                    // `partial.__setstate__` takes (func, args, kwds, dict) from a BUILD state.
                    let mut parts: Vec<V> = match state {
                        Some(s @ V::Tuple(_)) => {
                            let items = tuple_items(s);
                            let mut p: Vec<V> = items.iter().take(1).cloned().collect();
                            p.extend(items.get(1).map(tuple_items).unwrap_or_default());
                            p
                        }
                        Some(other) => vec![other.clone()],
                        None => tuple_items(args),
                    };
                    if state.is_some() {
                        parts.extend(tuple_items(args));
                    }
                    self.callable_depth.set(self.callable_depth.get() + 1);
                    let bad = parts.iter().find_map(|a| self.unsafe_callable_arg(st, a));
                    self.callable_depth.set(self.callable_depth.get() - 1);
                    bad.map(|b| format!("a functools.partial of {b}"))
                }
                Some(Node::Obj { callee, .. }) => {
                    let what = self
                        .import_of(callee)
                        .map(|i| format!("{}.{}", i.resolved_module, i.resolved_name))
                        .unwrap_or_else(|| "a computed value".into());
                    Some(format!("the result of calling {what}"))
                }
                _ => None,
            },
            V::Opaque => Some("a value computed at load time".into()),
            _ => None,
        }
    }

    fn is_partial(&self, callee: &V) -> bool {
        self.import_of(callee).is_some_and(|i| {
            i.verdict == Verdict::Safe
                && matches!(
                    (i.resolved_module.as_str(), i.resolved_name.as_str()),
                    ("functools" | "_functools", "partial")
                )
        })
    }

    fn call(&mut self, st: &mut State, kind: CallKind, callee: V, args: V, offset: u64) -> V {
        let imp = self.import_rc(&callee);
        let Some(imp) = imp else {
            // Calling something that is not a plain import: the result of getattr, attrgetter,
            // import_module, or any other call.
            let what = self.describe_value(st, &callee);
            self.finding_with(
                "pickle.computed-call",
                Severity::Critical,
                "unknown",
                "unknown",
                Some(format!(
                    "{} calls {what}, a callable computed at load time",
                    call_name(kind)
                )),
                format!(
                    "the callable is fetched while loading ({what}); calling it can reach any \
                     function of any module"
                ),
                offset,
            );
            return self.new_node(
                st,
                Node::Obj {
                    callee,
                    args,
                    state: None,
                },
            );
        };
        let (m, n) = (imp.resolved_module.as_str(), imp.resolved_name.as_str());
        if (m, n) == ("builtins", "getattr") {
            if let Some(v) = self.resolve_getattr(st, kind, &args, offset) {
                self.getattr_resolved += 1;
                return v;
            }
            self.flush_getattr();
        }
        if matches!(
            imp.verdict,
            Verdict::Unknown { stdlib: false } | Verdict::ConstructOnly { .. }
        ) {
            // REDUCE, INST and OBJ call whatever they are given (the unpickler's
            // `instantiate` falls back to calling the object); NEWOBJ(_EX) only reach a
            // type's `__new__` and fail on a function. Calling a class runs its `__init__` (or
            // a metaclass `__call__`), so a capitalised name is no excuse.
            let calls_it = matches!(kind, CallKind::Reduce | CallKind::Inst | CallKind::Obj);
            // NEWOBJ hands the file's arguments to the class's own `__new__` (sympy's
            // classes eval a string there); without arguments it is `object.__new__`.
            let new_with_args = matches!(kind, CallKind::NewObj | CallKind::NewObjEx)
                && matches!(imp.verdict, Verdict::Unknown { stdlib: false })
                && !tuple_items(&args).is_empty();
            if new_with_args {
                self.finding_with(
                    "pickle.unknown-global-called",
                    Severity::High,
                    &imp.module,
                    &imp.name,
                    Some(format!(
                        "{} hands arguments from the file to {m}.{n}.__new__, a class no entry vouches for",
                        call_name(kind)
                    )),
                    format!(
                        "a class's own __new__ runs with the arguments (some evaluate strings); \
                         {m}.{n} is not on the allowlist"
                    ),
                    offset,
                );
            }
            if calls_it {
                let listed = if matches!(imp.verdict, Verdict::ConstructOnly { .. }) {
                    "its library is a profile, but no entry vouches for calling this name"
                } else {
                    "it is not on the allowlist"
                };
                self.finding(
                    "pickle.unknown-global-called",
                    Severity::High,
                    &imp.module,
                    &imp.name,
                    format!(
                        "{m}.{n} is called with arguments from the file; {listed}, and a class \
                         runs its constructor when called"
                    ),
                    offset,
                );
            }
        }
        let arg_items = tuple_items(&args);
        let calls_it = matches!(kind, CallKind::Reduce | CallKind::Inst | CallKind::Obj);
        if calls_it && imp.verdict == Verdict::Safe {
            if let Some(methods) = policy::implicit_call_methods(m, n) {
                self.check_implicit_calls(st, &imp, methods, &arg_items, offset);
            }
        }
        if policy::is_higher_order(m, n) {
            let positions: &[usize] = if (m, n) == ("copyreg", "_reconstructor") {
                &[1]
            } else if n.starts_with("_rebuild_from_type") {
                &[0]
            } else if (m, n) == ("torch._utils", "_rebuild_wrapper_subclass") {
                &[]
            } else if (m, n) == ("numpy", "piecewise") {
                // piecewise(x, condlist, funclist): calls each function of the list.
                &[2]
            } else if matches!((m, n), ("functools" | "_functools", "partial")) {
                // Making a partial calls nothing: its function is checked when the partial is
                // handed to something that calls it (`unsafe_callable_arg`) or is called itself
                // (a computed call).
                &[]
            } else if matches!((m, n), ("builtins", "map" | "filter")) {
                // partial(partial, f), partial(map, f), map(partial, ...) call a callable in
                // any position: every argument is checked.
                ALL_POSITIONS
            } else {
                &[0]
            };
            for &p in positions {
                let Some(arg) = arg_items.get(p) else {
                    continue;
                };
                // A list or tuple of callables (numpy.piecewise) is checked item by item; one
                // longer than the VM keeps cannot be cleared.
                let items: &[V] = match arg {
                    V::Tuple(t) => t,
                    V::Node(id) if st.truncated.contains(id) => &[V::Opaque],
                    V::Node(id) => match st.nodes.get(*id as usize) {
                        Some(Node::List(l)) => l,
                        _ => std::slice::from_ref(arg),
                    },
                    other => std::slice::from_ref(other),
                };
                for arg in items {
                    if let Some(bad) = self.unsafe_callable_arg(st, arg) {
                        self.finding_with(
                            "pickle.higher-order-call",
                            Severity::High,
                            &imp.module,
                            &imp.name,
                            Some(format!(
                                "{m}.{n} is handed {bad}, which it will call"
                            )),
                            format!(
                                "{m}.{n} is allowlisted, but it calls its argument, and {bad} is not safe"
                            ),
                            offset,
                        );
                    }
                }
            }
        }
        if matches!((m, n), ("copyreg", "__newobj__" | "__newobj_ex__")) && arg_items.len() > 1 {
            // copyreg.__newobj__(cls, *args) is cls.__new__(cls, *args).
            let unknown = arg_items
                .first()
                .and_then(|c| self.import_rc(c))
                .filter(|c| matches!(c.verdict, Verdict::Unknown { stdlib: false }));
            if let Some(c) = unknown {
                self.finding_with(
                    "pickle.unknown-global-called",
                    Severity::High,
                    &c.module,
                    &c.name,
                    Some(format!(
                        "copyreg.{n} hands arguments from the file to {}.{}.__new__, a class no entry vouches for",
                        c.resolved_module, c.resolved_name
                    )),
                    "a class's own __new__ runs with the arguments (some evaluate strings)".into(),
                    offset,
                );
            }
        }
        if is_external_wrapper(&imp) {
            // NDArrayWrapper(filename, subclass, allow_mmap)
            if let Some(V::Str(name)) = arg_items.first() {
                self.push_external_file(offset, name.to_string());
            }
        }
        if (m, n) == ("copyreg", "add_extension") {
            if let (Some(V::Str(em)), Some(V::Str(en)), Some(V::Int(code))) =
                (arg_items.first(), arg_items.get(1), arg_items.get(2))
            {
                if let Ok(code) = i64::try_from(*code) {
                    self.ext_registry
                        .insert(code, (em.to_string(), en.to_string()));
                }
            }
        }
        // dill pickles builtin types by name: `dill._dill._load_type('bytearray')` returns the
        // type, which is then called. Resolve it to the type it names and judge that instead.
        if (m, n) == ("dill._dill", "_load_type") {
            if let Some(V::Str(tname)) = arg_items.first() {
                let module = if tname.ends_with("Type") && tname.as_ref() != "NoneType" {
                    "types"
                } else {
                    "builtins"
                };
                let id = self.import(module, tname, 4, offset);
                return V::Global(id);
            }
        }
        // Pure functions whose results later rules need: bytes in protocol 2, decoders.
        if let Some(v) = self.evaluate_pure(m, n, &arg_items) {
            return v;
        }
        if policy::is_nested_loader(m, n) {
            let first = arg_items.first();
            let bytes = first.and_then(payload_bytes);
            let range = match first {
                Some(V::Big(at, len)) => Some((*at, *len)),
                _ => None,
            };
            if bytes.is_some() || range.is_some() {
                self.out.nested.push(NestedPayload {
                    offset,
                    loader: format!("{m}.{n}"),
                    bytes,
                    range,
                });
            } else if imp.verdict == Verdict::Safe {
                // An allowlisted loader (torch.storage._load_from_bytes) is only safe because
                // its payload is scanned; one we cannot see is not vouched for.
                self.finding(
                    "pickle.nested-pickle",
                    Severity::High,
                    &imp.module,
                    &imp.name,
                    format!(
                        "{m}.{n} deserializes {} that cannot be read statically",
                        first.map_or("nothing", describe)
                    ),
                    offset,
                );
            }
        }
        self.new_node(
            st,
            Node::Obj {
                callee,
                args,
                state: None,
            },
        )
    }

    /// The class an object node is an instance of, as the value that names it: the callee of
    /// a NEWOBJ or call, or the class handed to `copyreg._reconstructor` / `__newobj__`.
    fn instance_class<'s>(&self, st: &'s State, v: &V) -> Option<Result<&'s V, ()>> {
        let V::Node(id) = v else { return None };
        let Some(Node::Obj { callee, args, .. }) = st.nodes.get(*id as usize) else {
            return None;
        };
        let Some(imp) = self.import_of(callee) else {
            return Some(Err(()));
        };
        let by_class = matches!(
            (imp.resolved_module.as_str(), imp.resolved_name.as_str()),
            ("copyreg", "_reconstructor" | "__newobj__" | "__newobj_ex__")
        );
        if by_class {
            return match args {
                V::Tuple(t) => t.first().map(Ok),
                _ => Some(Err(())),
            };
        }
        Some(Ok(callee))
    }

    /// An object whose methods no entry vouches for: an instance of a class that is not
    /// allowlisted exactly, or the result of a computed call.
    fn unvouched_instance(&self, st: &State, v: &V) -> Option<String> {
        match self.instance_class(st, v)? {
            Err(()) => Some("an object computed at load time".into()),
            Ok(cls) => match self.import_of(cls) {
                Some(i) if i.verdict == Verdict::Safe => None,
                Some(i) => Some(format!(
                    "an instance of {}.{}",
                    i.resolved_module, i.resolved_name
                )),
                None => Some("an instance of a class computed at load time".into()),
            },
        }
    }

    /// An opcode that calls a method of the object it acts on (BUILD `__setstate__`, SETITEM
    /// `__setitem__`, APPEND `append`, ADDITEMS `add`): on an instance of a class that no
    /// entry or library profile vouches for, that method is the class's own code, run with
    /// data from the file.
    fn check_method_on_unknown(
        &mut self,
        st: &State,
        target: &V,
        op: &str,
        method: &str,
        offset: u64,
    ) {
        let Some(Ok(cls)) = self.instance_class(st, target) else {
            return;
        };
        let Some(imp) = self.import_rc(cls) else {
            return;
        };
        if !matches!(imp.verdict, Verdict::Unknown { stdlib: false }) {
            return;
        }
        self.finding_with(
            "pickle.unknown-class-method",
            Severity::Medium,
            &imp.module,
            &imp.name,
            Some(format!(
                "{op} calls {method} of {}.{}, a class no entry or library profile vouches for",
                imp.resolved_module, imp.resolved_name
            )),
            format!(
                "{op} runs the class's own {method} when it defines one (a file write, an eval of \
                 a string); nothing lists {}.{} as data",
                imp.resolved_module, imp.resolved_name
            ),
            offset,
        );
    }

    /// A call of an allowlisted callable that calls `methods` of its arguments: each argument
    /// (and each item of a list or tuple argument, which `sorted`, `min` or `dict` reach too)
    /// must be an object whose class is vouched for.
    fn check_implicit_calls(
        &mut self,
        st: &State,
        imp: &Import,
        methods: &str,
        args: &[V],
        offset: u64,
    ) {
        let mut bad = None;
        'outer: for arg in args {
            let items: &[V] = match arg {
                V::Tuple(t) => t,
                V::Node(id) => match st.nodes.get(*id as usize) {
                    Some(Node::List(l) | Node::Set(l)) => l,
                    _ => &[],
                },
                _ => &[],
            };
            for v in std::iter::once(arg).chain(items.iter()) {
                if let Some(what) = self.unvouched_instance(st, v) {
                    bad = Some(what);
                    break 'outer;
                }
            }
        }
        let Some(what) = bad else { return };
        let (m, n) = (&imp.resolved_module, &imp.resolved_name);
        self.finding_with(
            "pickle.implicit-call",
            Severity::High,
            &imp.module,
            &imp.name,
            Some(format!(
                "{m}.{n} is handed {what}; it calls {methods} of that object"
            )),
            format!(
                "{m}.{n} is allowlisted, but the methods it calls belong to {what}, which no \
                 entry vouches for"
            ),
            offset,
        );
    }

    fn flush_getattr(&mut self) {
        if let Some(f) = self.getattr_pending.take() {
            let (m, o) = (f.module.clone(), f.operator.clone());
            self.finding(f.rule, f.severity, &m, &o, f.why, f.offset);
        }
    }

    /// `getattr(<imported global>, '<name>')` is the import `global.name`; judge that import.
    /// `getattr(<instance of an allowlisted class>, '<name>')` is a bound method: a callable
    /// whose effect depends on the instance, so the getattr finding is kept and the value is
    /// treated as a computed callable wherever it is used.
    /// Dunder names and anything computed are not resolved.
    fn resolve_getattr(
        &mut self,
        st: &mut State,
        kind: CallKind,
        args: &V,
        offset: u64,
    ) -> Option<V> {
        if kind != CallKind::Reduce {
            return None;
        }
        let items = tuple_items(args);
        let (Some(target), Some(V::Str(attr)), 2) = (items.first(), items.get(1), items.len())
        else {
            return None;
        };
        if attr.is_empty() || attr.contains('.') || attr.starts_with("__") {
            return None;
        }
        match target {
            V::Global(_) => {
                let imp = self.import_rc(target)?;
                let id = self.import(
                    &imp.resolved_module,
                    &format!("{}.{attr}", imp.resolved_name),
                    4,
                    offset,
                );
                Some(V::Global(id))
            }
            V::Node(_) => {
                // A bound method is the class's function with the instance bound: judge
                // `module.Class.attr` exactly as an import of that function. Only an entry that
                // names it (or the whole module) clears the getattr; a method of an allowlisted
                // class is not thereby allowlisted (`PosixPath.write_text` writes a file).
                let cls = match self.instance_class(st, target) {
                    Some(Ok(c)) => c.clone(),
                    _ => return None,
                };
                let imp = self.import_rc(&cls)?;
                let id = self.import(
                    &imp.resolved_module,
                    &format!("{}.{attr}", imp.resolved_name),
                    4,
                    offset,
                );
                let safe = self
                    .imports
                    .get(id as usize)
                    .is_some_and(|i| i.verdict == Verdict::Safe);
                if !safe {
                    self.flush_getattr();
                }
                Some(V::Global(id))
            }
            _ => None,
        }
    }

    /// Evaluates the few pure functions that real files rely on or that hide payloads.
    fn evaluate_pure(&self, module: &str, name: &str, args: &[V]) -> Option<V> {
        let cap = self.settings.limits.max_kept_operand_bytes as usize;
        let first = args.first()?;
        let out: Vec<u8> = match (module, name) {
            ("_codecs" | "codecs", "encode") => {
                let V::Str(s) = first else { return None };
                let enc = match args.get(1) {
                    Some(V::Str(e)) => e.to_ascii_lowercase(),
                    _ => "utf-8".into(),
                };
                if enc.contains("latin") || enc == "iso-8859-1" {
                    s.chars().map(|c| c as u32 as u8).collect()
                } else {
                    s.as_bytes().to_vec()
                }
            }
            ("io" | "_io", "BytesIO") | ("builtins", "bytes" | "bytearray") => {
                return payload_bytes(first).map(|b| V::Bytes(Rc::from(b.into_boxed_slice())));
            }
            ("base64", "b64decode" | "standard_b64decode" | "decodebytes" | "decodestring")
            | ("binascii", "a2b_base64") => decode_base64(&payload_bytes(first)?, false)?,
            ("base64", "urlsafe_b64decode") => decode_base64(&payload_bytes(first)?, true)?,
            ("base64", "b16decode") | ("binascii", "a2b_hex" | "unhexlify") => {
                decode_hex(&payload_bytes(first)?)?
            }
            ("codecs", "decode") => {
                let data = payload_bytes(first)?;
                match args.get(1) {
                    Some(V::Str(e)) if e.contains("base64") => decode_base64(&data, false)?,
                    Some(V::Str(e)) if e.contains("hex") => decode_hex(&data)?,
                    Some(V::Str(e)) if e.contains("zlib") => inflate(&data, cap, true)?,
                    _ => return None,
                }
            }
            ("zlib", "decompress") => inflate(&payload_bytes(first)?, cap, true)?,
            ("gzip", "decompress") => gunzip(&payload_bytes(first)?, cap)?,
            ("bz2", "decompress") => bunzip(&payload_bytes(first)?, cap)?,
            ("lzma", "decompress") => unxz(&payload_bytes(first)?, cap)?,
            _ => return None,
        };
        Some(V::Bytes(Rc::from(out.into_boxed_slice())))
    }

    fn describe_value(&self, st: &State, v: &V) -> String {
        match v {
            V::Node(id) => match st.nodes.get(*id as usize) {
                Some(Node::Obj { callee, .. }) => match self.import_of(callee) {
                    Some(i) => format!(
                        "the result of {}.{}(...)",
                        i.resolved_module, i.resolved_name
                    ),
                    None => "the result of a computed call".into(),
                },
                Some(Node::List(_)) => "a list".into(),
                Some(Node::Dict(_)) => "a dict".into(),
                Some(Node::Set(_)) => "a set".into(),
                None => "a value".into(),
            },
            other => describe(other).to_string(),
        }
    }

    /// Where the last `n` items start, for the opcodes that pop them and then look at the
    /// value under them: all `n + 1` must lie above the innermost mark.
    fn items_above(&self, st: &State, n: usize) -> R<usize> {
        match st.stack.len().checked_sub(n) {
            Some(from) if from > st.fence() => Ok(from),
            _ => parse("unpickling stack underflow"),
        }
    }

    /// The value under `st.stack[from..]`, once those items are off the stack: the target of
    /// APPEND(S), ADDITEMS and SETITEM(S).
    fn target_below(&self, st: &State, from: usize) -> R<V> {
        match from.checked_sub(1) {
            Some(at) if from > st.fence() => st
                .stack
                .get(at)
                .cloned()
                .ok_or_else(|| Stop::Parse("unpickling stack underflow".into())),
            _ => parse("unpickling stack underflow"),
        }
    }

    /// APPEND(S) and ADDITEMS: the items `st.stack[from..]` go into the list or set under
    /// them, moved off the stack without an intermediate vector.
    fn add_items(&mut self, st: &mut State, from: usize, offset: u64, op: &str) -> R<()> {
        let target = self.target_below(st, from)?;
        self.check_planted_method(st, &target, op, offset);
        let method = if op == "ADDITEMS" {
            "add"
        } else {
            "append or extend"
        };
        self.check_method_on_unknown(st, &target, op, method, offset);
        let State {
            stack,
            nodes,
            truncated,
            ..
        } = st;
        match &target {
            V::Node(id) => {
                if let Some(Node::List(v) | Node::Set(v)) = nodes.get_mut(*id as usize) {
                    let room = MAX_ITEMS.saturating_sub(v.len());
                    if stack.len().saturating_sub(from) > room {
                        truncated.insert(*id);
                    }
                    v.extend(stack.drain(from..).take(room));
                }
            }
            V::Global(_) => {
                let (m, n) = self
                    .import_of(&target)
                    .map(|i| (i.module.clone(), i.name.clone()))
                    .unwrap_or_default();
                self.finding_with(
                    "pickle.build-on-callable",
                    Severity::Critical,
                    &m,
                    &n,
                    Some(format!("{op} on {m}.{n}, a class, function or module")),
                    format!("{op} calls append/extend/add on the imported object {m}.{n} itself"),
                    offset,
                );
            }
            _ => {}
        }
        st.stack.truncate(from);
        Ok(())
    }

    /// SETITEM(S): the key/value pairs `st.stack[from..]` go into the dict under them.
    fn set_items(&mut self, st: &mut State, from: usize, offset: u64) -> R<()> {
        let target = self.target_below(st, from)?;
        self.check_method_on_unknown(st, &target, "SETITEM", "__setitem__", offset);
        if let V::Node(id) = target {
            let keyed = state_items(st.stack.get(from..).unwrap_or_default());
            self.record_keyed(st, id, keyed, offset);
        }
        let State { stack, nodes, .. } = st;
        match &target {
            V::Node(id) => {
                if let Some(Node::Dict(v)) = nodes.get_mut(*id as usize) {
                    let mut items = stack.drain(from..);
                    let room = MAX_ITEMS.saturating_sub(v.len());
                    v.reserve((items.len() / 2).min(room));
                    while let (Some(k), Some(val)) = (items.next(), items.next()) {
                        if v.len() < MAX_ITEMS {
                            v.push((k, val));
                        }
                    }
                }
            }
            V::Global(_) => {
                let (m, n) = self
                    .import_of(&target)
                    .map(|i| (i.module.clone(), i.name.clone()))
                    .unwrap_or_default();
                self.finding_with(
                    "pickle.build-on-callable",
                    Severity::Critical,
                    &m,
                    &n,
                    Some(format!("SETITEM on {m}.{n}, a class, function or module")),
                    format!("SETITEM(S) calls __setitem__ on the imported object {m}.{n} itself"),
                    offset,
                );
            }
            _ => {}
        }
        st.stack.truncate(from);
        Ok(())
    }

    fn build<Rd: Read>(
        &mut self,
        input: &mut Input<Rd>,
        st: &mut State,
        obj: V,
        state: V,
        offset: u64,
    ) -> R<()> {
        let [setstate, append, extend, add] = self.state_plants(st, &state);
        if let Some(planted) = setstate {
            let what = self.name_value(st, &planted);
            self.planted_finding(
                "BUILD",
                format!(
                    "BUILD sets __setstate__ to {what} on the object it builds; a later BUILD on \
                     it calls that with data from the file"
                ),
                format!(
                    "the unpickler looks __setstate__ up on the object, so {what} is called \
                     without a REDUCE"
                ),
                offset,
            );
        }
        let methods = [("append", append), ("extend", extend), ("add", add)];
        match &obj {
            V::Global(_) => {
                let (m, n) = self
                    .import_of(&obj)
                    .map(|i| (i.module.clone(), i.name.clone()))
                    .unwrap_or_default();
                let attrs = self.state_keys(st, &state);
                self.finding_with(
                    "pickle.build-on-callable",
                    Severity::Critical,
                    &m,
                    &n,
                    Some(format!(
                        "BUILD sets attributes{} on {m}.{n}, a class, function or module",
                        if attrs.is_empty() { String::new() } else { format!(" ({attrs})") }
                    )),
                    "BUILD on an imported object (not a new instance) rewrites shared state such as \
                     __code__, __globals__ or module attributes that later code uses"
                        .into(),
                    offset,
                );
            }
            V::Node(node) => {
                self.check_method_on_unknown(
                    st,
                    &obj,
                    "BUILD",
                    "__setstate__ (or __setattr__)",
                    offset,
                );
                self.record_planted(st, *node, methods, offset);
                let id = *node as usize;
                let callee = match st.nodes.get_mut(id) {
                    Some(Node::Obj {
                        callee, state: s, ..
                    }) => {
                        *s = Some(state.clone());
                        Some(callee.clone())
                    }
                    _ => None,
                };
                if let Some(callee) = callee {
                    self.note_external_file(st, &callee, &state, offset);
                    let is_wrapper = self.import_of(&callee).is_some_and(|i| {
                        super::joblib::is_array_wrapper(&i.resolved_module, &i.resolved_name)
                    });
                    if is_wrapper && self.joblib_arrays {
                        self.out.joblib_data = true;
                        self.skip_joblib_array(input, st, &state, offset)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// joblib's pre-0.10 `NDArrayWrapper` / `ZNDArrayWrapper` make `joblib.load` read the
    /// file their state names, beside the pickle, with `numpy.load(allow_pickle=True)`: that
    /// file is part of what loading this one runs.
    fn note_external_file(&mut self, st: &State, callee: &V, state: &V, offset: u64) {
        let Some(imp) = self.import_of(callee) else {
            return;
        };
        if !is_external_wrapper(imp) {
            return;
        }
        let Some(Node::Dict(items)) = (match state {
            V::Node(id) => st.nodes.get(*id as usize),
            _ => None,
        }) else {
            return;
        };
        let name = items.iter().find_map(|(k, v)| match (k, v) {
            (V::Str(k), V::Str(v)) if k.as_ref() == "filename" => Some(v.to_string()),
            _ => None,
        });
        let _ = offset;
        if let Some(name) = name {
            self.push_external_file(offset, name);
        }
    }

    fn push_external_file(&mut self, offset: u64, name: String) {
        if self.out.external_files.len() < 1024
            && !self.out.external_files.iter().any(|(_, n)| *n == name)
        {
            self.out.external_files.push((offset, name));
        }
    }

    /// A BUILD state that sets `append`, `extend` or `add` on a node: remembered, so that an
    /// APPEND, APPENDS or ADDITEMS on that node can tell it calls the planted value.
    fn record_planted(
        &mut self,
        st: &mut State,
        node: u32,
        methods: [(&'static str, Option<V>); 3],
        offset: u64,
    ) {
        for (name, value) in methods {
            let Some(value) = value else {
                continue;
            };
            self.keep_or_report(st, Tracked::Planted, (node, name, value), "BUILD", offset, |what| {
                (
                    format!("BUILD sets {name} to {what} on the object it builds"),
                    format!(
                        "APPEND, APPENDS and ADDITEMS look {name} up on the object, so a later one \
                         calls {what}"
                    ),
                )
            });
        }
    }

    /// APPEND, APPENDS and ADDITEMS on anything but a list or set call the object's `append`,
    /// `extend` or `add`, looked up on the object: one a BUILD state planted is called here.
    fn check_planted_method(&mut self, st: &State, target: &V, op: &str, offset: u64) {
        let V::Node(id) = target else {
            return;
        };
        // Lists and sets built by the stream are exact types: their methods are not looked up.
        if !matches!(st.nodes.get(*id as usize), Some(Node::Obj { .. })) {
            return;
        }
        let names: &[&str] = match op {
            "APPEND" => &["append"],
            "APPENDS" => &["extend", "append"],
            _ => &["add"],
        };
        for name in names {
            let Some(planted) = st.planted.get(&(*id, *name)) else {
                continue;
            };
            if self.callable_like(st, planted) {
                let what = self.name_value(st, planted);
                self.planted_finding(
                    op,
                    format!(
                        "{op} calls {name} on an object whose BUILD state set {name} to {what}"
                    ),
                    format!(
                        "the unpickler looks {name} up on the object, so {what} is called with \
                         items from the file"
                    ),
                    offset,
                );
                return;
            }
        }
    }

    /// Keeps `entry` in the list `which` names, up to `MAX_PLANTED` entries; past that a
    /// callable value is reported at once (`text` gives the finding's description and reason
    /// from the value's name), since what later uses it can no longer be followed.
    fn keep_or_report(
        &mut self,
        st: &mut State,
        which: Tracked,
        entry: (u32, &'static str, V),
        op: &str,
        offset: u64,
        text: impl FnOnce(&str) -> (String, String),
    ) {
        let map = match which {
            Tracked::Planted => &mut st.planted,
            Tracked::Keyed => &mut st.keyed,
        };
        let (node, name, value) = entry;
        if map.len() < MAX_PLANTED || map.contains_key(&(node, name)) {
            // The last assignment wins, as on the object.
            map.insert((node, name), value);
        } else if self.callable_like(st, &value) {
            let (description, why) = text(&self.name_value(st, &value));
            self.planted_finding(op, description, why, offset);
        }
    }

    /// An imported global, a call's result or something computed: a value that can be called.
    fn callable_like(&self, st: &State, v: &V) -> bool {
        match v {
            V::Global(_) | V::Opaque => true,
            V::Node(n) => matches!(st.nodes.get(*n as usize), Some(Node::Obj { .. })),
            _ => false,
        }
    }

    fn name_value(&self, st: &State, v: &V) -> String {
        match self.import_of(v) {
            Some(i) => format!("{}.{}", i.resolved_module, i.resolved_name),
            None => self.describe_value(st, v),
        }
    }

    fn planted_finding(&mut self, op: &str, description: String, why: String, offset: u64) {
        self.finding_with(
            "pickle.planted-method",
            Severity::Critical,
            "pickle",
            op,
            Some(description),
            why,
            offset,
        );
    }

    /// Items stored under a `STATE_KEYS` name into node `id` by DICT or SETITEM(S) (`state_items`):
    /// remembered whatever the node (a dict past its item cap, an `OrderedDict` built by a call),
    /// so that a BUILD using it as state sees them.
    fn record_keyed(
        &mut self,
        st: &mut State,
        id: u32,
        found: Vec<(&'static str, V)>,
        offset: u64,
    ) {
        for (name, v) in found {
            self.keep_or_report(st, Tracked::Keyed, (id, name, v), "SETITEM", offset, |what| {
                (
                    format!("a mapping gets {name} = {what}, beyond what is tracked"),
                    format!(
                        "as a BUILD state it would make the unpickler call {what}; too many such \
                         items to follow"
                    ),
                )
            });
        }
    }

    /// What a BUILD state sets under each of `STATE_KEYS` (indexed as that list): from the state
    /// dict, or from both dicts of a `(state, slotstate)` pair (the slot state is applied last).
    /// A dict's items under those names are all in `st.keyed` (DICT and SETITEM(S) record them,
    /// past the item cap too); a mapping built by a call (`dict(pairs)`, `OrderedDict(pairs)`,
    /// `OrderedDict(a_dict)`) is read from its argument first, then from what was set into it.
    fn state_plants(&self, st: &State, state: &V) -> [Option<V>; 4] {
        let mut out: [Option<V>; 4] = Default::default();
        let recorded = |out: &mut [Option<V>; 4], id: u32| {
            for (slot, name) in out.iter_mut().zip(STATE_KEYS) {
                if let Some(v) = st.keyed.get(&(id, name)) {
                    *slot = Some(v.clone());
                }
            }
        };
        let halves: &[V] = match state {
            V::Tuple(t) if t.len() == 2 => t,
            other => std::slice::from_ref(other),
        };
        for half in halves {
            let V::Node(id) = half else {
                continue;
            };
            if let Some(Node::Obj {
                args: V::Tuple(a), ..
            }) = st.nodes.get(*id as usize)
            {
                let pairs: &[V] = match a.first() {
                    Some(V::Tuple(t)) => t,
                    // Pairs past what the VM keeps: any of the names may be set.
                    Some(V::Node(n)) if st.truncated.contains(n) => &[V::Opaque],
                    Some(V::Node(n)) => match st.nodes.get(*n as usize) {
                        Some(Node::List(l)) => l,
                        _ => {
                            recorded(&mut out, *n);
                            &[]
                        }
                    },
                    _ => &[],
                };
                for pair in pairs {
                    match pair {
                        V::Tuple(kv) => {
                            if let [V::Str(k), v] = &kv[..] {
                                if let Some(slot) = k.state_key().and_then(|i| out.get_mut(i)) {
                                    *slot = Some(v.clone());
                                }
                            }
                        }
                        // What a cut tuple lost: any of the names may be set.
                        V::Opaque => {
                            if let Some(slot) = out.first_mut() {
                                *slot = Some(V::Opaque);
                            }
                        }
                        _ => {}
                    }
                }
            }
            recorded(&mut out, *id);
        }
        out
    }

    fn state_keys(&self, st: &State, state: &V) -> String {
        let dict = match state {
            V::Node(id) => st.nodes.get(*id as usize),
            V::Tuple(t) => match t.first() {
                Some(V::Node(id)) => st.nodes.get(*id as usize),
                _ => None,
            },
            _ => None,
        };
        match dict {
            Some(Node::Dict(items)) => items
                .iter()
                .filter_map(|(k, _)| match k {
                    V::Str(s) => Some(s.to_string()),
                    _ => None,
                })
                .take(8)
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        }
    }

    /// joblib writes each numpy array's bytes into the stream right after the BUILD of its
    /// `NumpyArrayWrapper` (joblib/numpy_pickle.py `write_array`): an alignment pad (when the
    /// state has `numpy_array_alignment_bytes`), then the raw data, or for object arrays a whole
    /// pickle. Skip the data and scan the inner pickle, so the walk continues after it.
    fn skip_joblib_array<Rd: Read>(
        &mut self,
        input: &mut Input<Rd>,
        st: &mut State,
        state: &V,
        offset: u64,
    ) -> R<()> {
        let Some(Node::Dict(items)) = (match state {
            V::Node(id) => st.nodes.get(*id as usize),
            _ => None,
        }) else {
            return parse("joblib NumpyArrayWrapper without a state dict");
        };
        let get = |key: &str| {
            items.iter().find_map(|(k, v)| match k {
                V::Str(s) if s.as_ref() == key => Some(v.clone()),
                _ => None,
            })
        };
        // joblib reads the padding only when the key holds a value (`None` means none).
        let aligned = get("numpy_array_alignment_bytes").is_some_and(|v| !matches!(v, V::None));
        let shape = get("shape");
        let dtype = get("dtype");
        let count = match &shape {
            Some(V::Tuple(dims)) => {
                let mut c: u128 = 1;
                for d in dims.iter() {
                    match d {
                        V::Int(i) if *i >= 0 => c = c.saturating_mul(*i as u128),
                        _ => return parse("joblib array shape is not a tuple of sizes"),
                    }
                }
                c
            }
            _ => return parse("joblib array without a shape"),
        };
        let itemsize = match &dtype {
            Some(v) => dtype_itemsize(&st.nodes, v),
            None => None,
        };
        match itemsize {
            Some(DtypeSize::Object) => {
                // An inner pickle (protocol 2) with the objects; scanned with a fresh memo.
                if self.depth >= self.settings.limits.max_nesting_depth {
                    return Err(Stop::Limit(LimitHit {
                        limit: "max_nesting_depth",
                        detail: "joblib object arrays nested too deep".into(),
                    }));
                }
                self.depth += 1;
                let r = self.run_pickle(input);
                self.depth -= 1;
                r.map(|_| ())
            }
            Some(DtypeSize::Bytes(size)) => {
                if aligned {
                    let [pad] = input.array::<1>()?;
                    input.skip(u64::from(pad))?;
                }
                let total = count.saturating_mul(u128::from(size));
                let total = u64::try_from(total)
                    .map_err(|_| Stop::Parse("joblib array larger than any file".into()))?;
                input.skip(total).map_err(|e| {
                    Stop::Parse(format!(
                        "{e} (inside the joblib array written at byte {offset})"
                    ))
                })
            }
            None => parse("joblib array with a dtype that cannot be sized"),
        }
    }
}

/// joblib's pre-0.10 wrappers of arrays kept in files beside the pickle.
fn is_external_wrapper(imp: &Import) -> bool {
    matches!(
        imp.resolved_name.as_str(),
        "NDArrayWrapper" | "ZNDArrayWrapper"
    ) && (imp.resolved_module.ends_with("numpy_pickle")
        || imp.resolved_module.ends_with("numpy_pickle_compat"))
}

enum DtypeSize {
    Object,
    Bytes(u64),
}

/// Size of one element of a `numpy.dtype(...)` node built by the pickle: the type string's
/// size, or for void/structured dtypes the `elsize` of its BUILD state (index 5).
fn dtype_itemsize(nodes: &[Node], v: &V) -> Option<DtypeSize> {
    dtype_itemsize_depth(nodes, v, 0)
}

fn dtype_itemsize_depth(nodes: &[Node], v: &V, depth: u32) -> Option<DtypeSize> {
    if depth > 32 {
        return None;
    }
    let V::Node(id) = v else { return None };
    let Node::Obj { args, state, .. } = nodes.get(*id as usize)? else {
        return None;
    };
    let items = tuple_items(args);
    let V::Str(typestr) = items.first()? else {
        return None;
    };
    let t = typestr.trim_start_matches(['<', '>', '=', '|']);
    let kind = t.chars().next()?;
    let digits: String = t
        .chars()
        .skip(1)
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let n: u64 = digits.parse().unwrap_or(0);
    let elsize = state.as_ref().and_then(|s| match s {
        V::Tuple(t) => match t.get(5) {
            Some(V::Int(i)) if *i > 0 => u64::try_from(*i).ok(),
            _ => None,
        },
        _ => None,
    });
    // NPY_ITEM_REFCOUNT in the state's flags (index 7), or a field whose dtype holds objects:
    // joblib then pickles the array as a nested stream.
    let flags_object = state.as_ref().is_some_and(|s| match s {
        V::Tuple(t) => matches!(t.get(7), Some(V::Int(f)) if f & 1 == 1),
        _ => false,
    });
    let field_object = state.as_ref().is_some_and(|s| match s {
        V::Tuple(t) => match t.get(4) {
            Some(V::Node(f)) => match nodes.get(*f as usize) {
                Some(Node::Dict(fields)) => fields.iter().any(|(_, v)| {
                    tuple_items(v).first().is_some_and(|d| {
                        matches!(
                            dtype_itemsize_depth(nodes, d, depth + 1),
                            Some(DtypeSize::Object)
                        )
                    })
                }),
                _ => false,
            },
            _ => false,
        },
        _ => false,
    });
    if flags_object || field_object {
        return Some(DtypeSize::Object);
    }
    match kind {
        'O' => Some(DtypeSize::Object),
        'U' => Some(DtypeSize::Bytes(elsize.unwrap_or(n.saturating_mul(4)))),
        'V' | 'S' | 'a' => Some(DtypeSize::Bytes(elsize.unwrap_or(n))),
        'b' | 'i' | 'u' | 'f' | 'c' | 'M' | 'm' | '?' => {
            Some(DtypeSize::Bytes(elsize.unwrap_or(if kind == '?' {
                1
            } else {
                n
            })))
        }
        _ => elsize.map(DtypeSize::Bytes),
    }
}

/// A decimal INT/LONG operand: small ones kept, larger ones only known to be integers.
fn int_value(i: pyint::PyInt) -> V {
    match i {
        pyint::PyInt::Small(v) => V::Int(v),
        pyint::PyInt::Big => V::BigInt,
    }
}

fn invalid_int(line: &[u8]) -> String {
    format!(
        "invalid literal for int() with base 0: {:?}",
        String::from_utf8_lossy(line)
    )
}

/// Operand bytes as text, invalid UTF-8 replaced (`String::from_utf8_lossy`), in one
/// allocation: valid text (nearly all) is copied straight into the `Rc`.
fn starts_pickle(b: u8) -> bool {
    b == 0x80
        || matches!(
            b,
            b'(' | b'c' | b']' | b'}' | b')' | b'N' | b'I' | b'S' | b'V' | b'l' | b'd' | b'i'
        )
}

fn call_name(kind: CallKind) -> &'static str {
    match kind {
        CallKind::Reduce => "REDUCE",
        CallKind::NewObj => "NEWOBJ",
        CallKind::NewObjEx => "NEWOBJ_EX",
        CallKind::Obj => "OBJ",
        CallKind::Inst => "INST",
    }
}

fn describe(v: &V) -> &'static str {
    match v {
        V::None => "None",
        V::Bool => "a bool",
        V::Int(_) | V::BigInt => "an int",
        V::Float => "a float",
        V::Str(_) => "a string",
        V::Bytes(_) => "bytes",
        V::Big(..) => "a large string or bytes",
        V::Global(_) => "an imported global",
        V::Node(_) => "the result of a call or a container",
        V::Tuple(_) => "a tuple",
        V::PersId => "a persistent id",
        V::Buffer => "an out-of-band buffer",
        V::Opaque => "a value computed at load time",
    }
}

fn tuple_items(v: &V) -> Vec<V> {
    match v {
        V::Tuple(t) => t.to_vec(),
        _ => Vec::new(),
    }
}

fn payload_bytes(v: &V) -> Option<Vec<u8>> {
    match v {
        V::Bytes(b) => Some(b.to_vec()),
        V::Str(s) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

fn cap_items(mut items: Vec<V>) -> Vec<V> {
    items.truncate(MAX_ITEMS);
    items
}

fn pairs(items: Vec<V>) -> Vec<(V, V)> {
    let mut out = Vec::with_capacity(items.len().min(MAX_ITEMS * 2) / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if out.len() < MAX_ITEMS {
            out.push((k, v));
        }
    }
    out
}

/// The items of flat key/value pairs (a DICT's, a SETITEMS's) stored under one of `STATE_KEYS`,
/// in order.
fn state_items(flat: &[V]) -> Vec<(&'static str, V)> {
    let mut found = Vec::new();
    for pair in flat.chunks_exact(2) {
        if let [V::Str(k), v] = pair {
            if let Some(name) = k.state_key().and_then(|i| STATE_KEYS.get(i)) {
                found.push((*name, v.clone()));
            }
        }
    }
    found
}

fn le_signed(bytes: &[u8]) -> i128 {
    let mut v: i128 = 0;
    for (i, b) in bytes.iter().enumerate() {
        v |= i128::from(*b) << (8 * i);
    }
    let bits = 8 * bytes.len();
    if bits > 0 && bits < 128 && bytes.last().is_some_and(|b| b & 0x80 != 0) {
        v -= 1i128 << bits;
    }
    v
}

/// The bytes of a protocol 0 STRING operand: quoted, with Python escapes
/// (`codecs.escape_decode`, as `load_string` in `_pickle.c`).
fn unquote_string(line: &[u8]) -> Option<Vec<u8>> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let q = *line.first()?;
    if (q != b'\'' && q != b'"') || line.len() < 2 || line.last() != Some(&q) {
        return None;
    }
    let inner = line.get(1..line.len() - 1)?;
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while let Some(&c) = inner.get(i) {
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = inner.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'\n' => {}
            b'x' => {
                let h = inner.get(i..i + 2)?;
                let v = u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
                out.push(v);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match inner.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// `raw-unicode-escape` decoding of a protocol 0 UNICODE operand.
fn raw_unicode_escape(line: &[u8]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while let Some(&c) = line.get(i) {
        if c == b'\\' {
            let (len, hex) = match line.get(i + 1) {
                Some(b'u') => (4, line.get(i + 2..i + 6)),
                Some(b'U') => (8, line.get(i + 2..i + 10)),
                _ => (0, None),
            };
            if let Some(h) = hex {
                if let Some(ch) = std::str::from_utf8(h)
                    .ok()
                    .and_then(|s| u32::from_str_radix(s, 16).ok())
                    .and_then(char::from_u32)
                {
                    out.push(ch);
                    i += 2 + len;
                    continue;
                }
            }
        }
        out.push(char::from(c));
        i += 1;
    }
    out
}

fn decode_base64(data: &[u8], urlsafe: bool) -> Option<Vec<u8>> {
    use base64::Engine;
    let cleaned: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let engines = if urlsafe {
        [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ]
    } else {
        [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
        ]
    };
    engines.iter().find_map(|e| e.decode(&cleaned).ok())
}

fn decode_hex(data: &[u8]) -> Option<Vec<u8>> {
    let s: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            std::str::from_utf8(p)
                .ok()
                .and_then(|t| u8::from_str_radix(t, 16).ok())
        })
        .collect()
}

fn read_capped(mut r: impl Read, cap: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    (&mut r).take(cap as u64 + 1).read_to_end(&mut out).ok()?;
    if out.len() > cap {
        return None;
    }
    Some(out)
}

fn inflate(data: &[u8], cap: usize, zlib: bool) -> Option<Vec<u8>> {
    if zlib {
        read_capped(flate2::read::ZlibDecoder::new(data), cap)
            .or_else(|| read_capped(flate2::read::DeflateDecoder::new(data), cap))
    } else {
        read_capped(flate2::read::DeflateDecoder::new(data), cap)
    }
}

fn gunzip(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    read_capped(flate2::read::GzDecoder::new(data), cap)
}

fn bunzip(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    read_capped(bzip2::read::BzDecoder::new(data), cap)
}

fn unxz(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    let r = lzma_rust2::XzReader::new(data, true);
    read_capped(r, cap).or_else(|| {
        lzma_rust2::LzmaReader::new_mem_limit(data, u32::MAX, None)
            .ok()
            .and_then(|r| read_capped(r, cap))
    })
}

/// The import inventory of a run, with verdicts.
pub fn import_records(imports: Vec<Import>) -> Vec<ImportRecord> {
    imports
        .into_iter()
        .map(|i| ImportRecord {
            verdict: i.verdict.label(),
            module: i.module,
            name: i.name,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(bytes: &[u8]) -> VmOutcome {
        let settings = Settings::defaults();
        let mut budget = Budget::unlimited();
        let vm = Vm::new(&settings, &mut budget);
        vm.run(&mut Input::new(bytes), StreamKind::Multiple)
    }

    fn rules(o: &VmOutcome) -> Vec<&'static str> {
        o.findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn strings_are_kept_inline_when_short_and_decoded_as_python_does() {
        assert!(
            std::mem::size_of::<V>() <= 32,
            "{}",
            std::mem::size_of::<V>()
        );
        for (bytes, text, inline) in [
            (&b"coef_"[..], "coef_", true),
            (&[b'a'; INLINE_TEXT][..], &"a".repeat(INLINE_TEXT)[..], true),
            (
                &[b'a'; INLINE_TEXT + 1][..],
                &"a".repeat(INLINE_TEXT + 1)[..],
                false,
            ),
            ("\u{e9}t\u{e9}".as_bytes(), "\u{e9}t\u{e9}", true),
            (&b"a\xffb"[..], "a\u{fffd}b", true),
            (&b""[..], "", true),
        ] {
            let t = Text::from_utf8_lossy(bytes);
            assert_eq!(t.as_str(), text);
            assert_eq!(matches!(t, Text::Inline(..)), inline, "{text:?}");
        }
    }

    #[test]
    fn container_opcodes_move_items_off_the_stack_and_check_what_is_under_them() {
        let top = |p: &[u8]| {
            let o = run(p);
            let t = o.tops.first().map(|t| (t.kind.clone(), t.len));
            (t, o.error.clone(), rules(&o))
        };
        let ok = |kind: &str, len: usize| (Some((kind.to_string(), Some(len))), None, vec![]);
        // APPEND, APPENDS, SETITEM, SETITEMS, ADDITEMS on fresh containers.
        assert_eq!(top(b"]K\x01a."), ok("list", 1));
        assert_eq!(top(b"](K\x01K\x02K\x03e."), ok("list", 3));
        assert_eq!(top(b"}K\x01K\x02s."), ok("dict", 1));
        assert_eq!(top(b"}(K\x01K\x02K\x03K\x04uK\x05K\x06s."), ok("dict", 3));
        assert_eq!(top(b"\x80\x04\x8f(K\x01K\x02\x90."), ok("set", 2));
        // A container under a mark: the items above the inner mark only.
        assert_eq!(
            top(b"(}(K\x01K\x02ut."),
            (Some(("tuple".to_string(), Some(1))), None, vec![])
        );
        // The target must lie above the enclosing mark, as in _pickle.c.
        let underflow = Some("unpickling stack underflow".to_string());
        assert_eq!(top(b"(K\x01a.").1, underflow);
        assert_eq!(top(b"(K\x01K\x02s.").1, underflow);
        assert_eq!(top(b"(K\x01K\x02u.").1, underflow);
        assert_eq!(top(b"(K\x01e.").1, underflow);
        assert_eq!(top(b"](K\x01e(e.").1, None);
        assert_eq!(
            top(b"}(K\x01u.").1,
            Some("odd number of items for SETITEMS".to_string())
        );
        // On something that is not a container: nothing kept, nothing wrong.
        assert_eq!(
            top(b"K\x07(K\x01K\x02u."),
            (Some(("int".to_string(), None)), None, vec![])
        );
        // On an imported callable: reported.
        for p in [&b"cos\nsystem\nK\x01a."[..], b"cos\nsystem\n(K\x01K\x02u."] {
            let r = top(p).2;
            assert!(r.contains(&"pickle.build-on-callable"), "{r:?}");
        }
    }

    #[test]
    fn protocol_0_os_system_is_a_dangerous_global() {
        let o = run(b"cposix\nsystem\n(S'echo hi'\ntR.");
        assert_eq!(rules(&o), vec!["pickle.dangerous-global"]);
        assert_eq!(o.findings[0].severity, Severity::Critical);
        assert_eq!(o.findings[0].module, "posix");
        assert_eq!(o.findings[0].offset, 0);
        assert!(o.error.is_none());
    }

    #[test]
    fn an_unknown_function_is_flagged_whichever_opcode_calls_it() {
        let called = |p: &[u8]| {
            let o = run(p);
            assert!(o.error.is_none(), "{:?}", o.error);
            rules(&o)
        };
        let flagged = vec!["pickle.unknown-global-called"];
        // REDUCE, INST and OBJ all call the object they are given.
        assert_eq!(
            called(b"\x80\x02cevilpkg.helpers\nrun_code\nX\x01\x00\x00\x00x\x85R."),
            flagged
        );
        assert_eq!(called(b"(S'x'\nievilpkg.helpers\nrun_code\n."), flagged);
        assert_eq!(
            called(b"\x80\x02(cevilpkg.helpers\nrun_code\nX\x01\x00\x00\x00xo."),
            flagged
        );
        // With no arguments too: a function is not a type, so the unpickler calls it.
        assert_eq!(called(b"(ievilpkg.helpers\nrun_code\n."), flagged);
        // A capitalised name is called all the same: a class runs its constructor, and a
        // capitalised module attribute can be a function.
        assert_eq!(called(b"(S'x'\nievilpkg.helpers\nRunner\n."), flagged);
        assert_eq!(
            called(b"\x80\x02(cevilpkg.helpers\nRunner\nX\x01\x00\x00\x00xo."),
            flagged
        );
        // So is a class-shaped name of a library profile that no entry lists.
        assert_eq!(called(b"\x80\x02ctorch.utils.data\nDataset\n)R."), flagged);
        // NEWOBJ reaches only a type's __new__: without arguments that is object.__new__;
        // with arguments from the file, the class's own __new__ runs them (sympy evals).
        assert!(called(b"\x80\x02cevilpkg.helpers\nRunner\n)\x81.").is_empty());
        assert_eq!(
            called(b"\x80\x02cevilpkg.helpers\nrun_code\nX\x01\x00\x00\x00x\x85\x81."),
            flagged
        );
        assert_eq!(
            called(b"\x80\x04\x8c\x05sympy\x8c\x03Abs\x93\x8c\x01x\x85\x81."),
            flagged
        );
    }

    #[test]
    fn opcodes_that_call_methods_of_unvouched_classes_are_reported() {
        let rules_of = |p: &[u8]| {
            let o = run(p);
            assert!(o.error.is_none(), "{:?}", o.error);
            rules(&o)
        };
        let want = vec!["pickle.unknown-class-method"];
        // fsspec.caching.MMapCache(): BUILD runs its __setstate__ (which opens a file).
        let obj = b"\x80\x04\x8c\x0efsspec.caching\x8c\tMMapCache\x93)\x81";
        assert_eq!(
            rules_of(&[&obj[..], b"}\x8c\x01k\x8c\x01v\x73b."].concat()),
            want
        );
        // SETITEM on it runs its __setitem__; APPEND its append.
        assert_eq!(
            rules_of(&[&obj[..], b"\x8c\x01k\x8c\x01vs."].concat()),
            want
        );
        assert_eq!(rules_of(&[&obj[..], b"\x8c\x01ka."].concat()), want);
        // A library profile's class, or an allowlisted one, is data.
        let sk =
            b"\x80\x04\x8c\x1esklearn.linear_model._logistic\x8c\x12LogisticRegression\x93)\x81}b.";
        assert!(rules_of(sk).is_empty());
        let od = b"\x80\x04\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R\x8c\x01k\x8c\x01vs.";
        assert!(rules_of(od).is_empty());
    }

    #[test]
    fn a_build_that_plants_a_method_the_unpickler_calls_is_flagged() {
        // SimpleNamespace(); BUILD {'__setstate__': f}; BUILD 'payload' calls f('payload').
        let dict_form = b"\x80\x02ctypes\nSimpleNamespace\n)R}X\x0c\x00\x00\x00__setstate__cevilpkg.helpers\nrun_code\nsbX\x07\x00\x00\x00payloadb.";
        // The same through the slot-state half of a (state, slotstate) pair.
        let slot_form = b"\x80\x02ctypes\nSimpleNamespace\n)RN}X\x0c\x00\x00\x00__setstate__cevilpkg.helpers\nrun_code\ns\x86bX\x07\x00\x00\x00payloadb.";
        for p in [&dict_form[..], &slot_form[..]] {
            let o = run(p);
            assert!(o.error.is_none(), "{:?}", o.error);
            assert_eq!(rules(&o), vec!["pickle.planted-method"]);
            let f = &o.findings[0];
            assert_eq!(f.severity, Severity::Critical);
            assert!(
                f.description
                    .as_deref()
                    .is_some_and(|d| d.contains("evilpkg.helpers.run_code")),
                "{f:?}"
            );
        }
        // append/extend/add planted by BUILD and called by APPEND, APPENDS, ADDITEMS.
        let ns = &b"\x80\x04ctypes\nSimpleNamespace\n)R}X"[..];
        for (key, tail) in [
            (&b"append"[..], &b"X\x01\x00\x00\x00xa."[..]),
            (b"extend", b"(X\x01\x00\x00\x00xe."),
            (b"add", b"(X\x01\x00\x00\x00x\x90."),
        ] {
            let mut p = ns.to_vec();
            p.extend_from_slice(&(key.len() as u32).to_le_bytes());
            p.extend_from_slice(key);
            p.extend_from_slice(b"cevilpkg.helpers\nrun_code\nsb");
            p.extend_from_slice(tail);
            let o = run(&p);
            assert!(o.error.is_none(), "{:?}", o.error);
            assert_eq!(rules(&o), vec!["pickle.planted-method"], "{key:?}");
            // Data under the same name is not a planted method.
            let plain = [&p[..p.len() - tail.len() - 28], b"\x88sb", tail].concat();
            let o = run(&plain);
            assert!(o.error.is_none(), "{:?}", o.error);
            assert!(rules(&o).is_empty(), "{key:?} {:?}", o.findings);
        }
        // A second BUILD with other keys leaves the planted method in place; one that sets
        // the name to data replaces it.
        let planted = b"\x80\x02ctypes\nSimpleNamespace\n)R}X\x06\x00\x00\x00appendcevilpkg.helpers\nrun_code\nsb";
        let other = b"}X\x01\x00\x00\x00yK\x01sb";
        let reset = b"}X\x06\x00\x00\x00append\x88sb";
        let o = run(&[&planted[..], other, b"X\x01\x00\x00\x00xa."].concat());
        assert_eq!(rules(&o), vec!["pickle.planted-method"]);
        let o = run(&[&planted[..], reset, b"X\x01\x00\x00\x00xa."].concat());
        assert!(rules(&o).is_empty(), "{:?}", o.findings);
        // The key hidden past the dict's item cap, or in an OrderedDict built by a call
        // (from pairs, or filled by SETITEMS): still seen.
        let ns = b"\x80\x02ctypes\nSimpleNamespace\n)R";
        let f = b"cevilpkg.helpers\nrun_code\n";
        let mut filler = b"}(".to_vec();
        for i in 0..300u32 {
            filler.extend_from_slice(b"J");
            filler.extend_from_slice(&i.to_le_bytes());
            filler.push(b'N');
        }
        let key = b"X\x0c\x00\x00\x00__setstate__";
        for state in [
            [&filler[..], key, f, b"u"].concat(),
            [&b"ccollections\nOrderedDict\n]"[..], key, f, b"\x86a\x85R"].concat(),
            [&b"ccollections\nOrderedDict\n)R"[..], key, f, b"s"].concat(),
        ] {
            let o = run(&[&ns[..], &state, b"bX\x01\x00\x00\x00xb."].concat());
            assert!(o.error.is_none(), "{:?}", o.error);
            assert_eq!(rules(&o), vec!["pickle.planted-method"]);
        }
        // The same past the cap of a DICT opcode, and a mapping built from more pairs than the
        // VM keeps (it cannot tell what they set).
        let mut dict_op = b"(".to_vec();
        let mut pair_list = b"(".to_vec();
        for i in 0..300u32 {
            dict_op.extend_from_slice(b"J");
            dict_op.extend_from_slice(&i.to_le_bytes());
            dict_op.push(b'N');
            pair_list.extend_from_slice(b"J");
            pair_list.extend_from_slice(&i.to_le_bytes());
            pair_list.extend_from_slice(b"N\x86");
        }
        for state in [
            [&dict_op[..], key, f, b"d"].concat(),
            [&b"cbuiltins\ndict\n"[..], &pair_list, b"l\x85R"].concat(),
            [&b"cbuiltins\ndict\n"[..], &pair_list, b"t\x85R"].concat(),
        ] {
            let o = run(&[&ns[..], &state, b"bX\x01\x00\x00\x00xb."].concat());
            assert!(o.error.is_none(), "{:?}", o.error);
            assert_eq!(rules(&o), vec!["pickle.planted-method"]);
        }
        // Past the per-pickle record limit (4,096 mappings holding one of the names here) a
        // callable under such a name is reported as soon as it is stored.
        let mut many = b"\x80\x02ctypes\nSimpleNamespace\n)R\x94".to_vec();
        let set_append = |v: &[u8]| [&b"h\x00}X\x06\x00\x00\x00append"[..], v, b"sb0"].concat();
        for _ in 0..MAX_PLANTED {
            many.extend_from_slice(&set_append(b"\x88"));
        }
        let o = run(&[&many[..], b"h\x00."].concat());
        assert!(rules(&o).is_empty(), "{:?}", o.findings);
        let o = run(&[&many[..], &set_append(f), b"h\x00."].concat());
        assert!(o.error.is_none(), "{:?}", o.error);
        assert!(!rules(&o).is_empty());
        assert!(rules(&o).iter().all(|r| *r == "pickle.planted-method"));
        // Ordinary instance state is not: other keys, or `__setstate__` as a value.
        let plain = b"\x80\x02ctypes\nSimpleNamespace\n)R}(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bX\x0c\x00\x00\x00__setstate__ub.";
        let o = run(plain);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert!(rules(&o).is_empty(), "{:?}", o.findings);
    }

    #[test]
    fn allowlisted_functions_that_call_their_argument_are_checked() {
        const F: &[u8] = b"cevilpkg.helpers\nrun_code\n";
        // callee(args...) where `args` pushes the arguments after a MARK.
        let call = |callee: &[u8], args: &[u8]| {
            let mut p = b"\x80\x02".to_vec();
            p.extend_from_slice(callee);
            p.push(b'(');
            p.extend_from_slice(args);
            p.extend_from_slice(b"tR.");
            let o = run(&p);
            assert!(o.error.is_none(), "{:?}", o.error);
            rules(&o)
        };
        let flagged = vec!["pickle.higher-order-call"];
        let one = |a: &[u8], b: &[u8]| [a, b].concat();
        // The function comes first.
        for callee in [
            &b"cbuiltins\nmap\n"[..],
            b"cbuiltins\nfilter\n",
            b"cbuiltins\niter\n",
            b"cnumpy\nfromfunction\n",
            b"cnumpy\napply_along_axis\n",
            b"cnumpy\napply_over_axes\n",
            b"cnumpy\nvectorize\n",
            b"cnumpy\nfrompyfunc\n",
            b"cnumpy\nseterrcall\n",
        ] {
            assert_eq!(call(callee, &one(F, b"]K\x01a")), flagged, "{callee:?}");
            // With an allowlisted function, or with data, nothing is reported.
            assert!(
                call(callee, b"cnumpy\nsin\n]K\x01a").is_empty(),
                "{callee:?}"
            );
            assert!(call(callee, b"]K\x01a").is_empty(), "{callee:?}");
        }
        // Making a partial calls nothing (real files hold partials of their own functions);
        // handing it to something that calls it, or calling it, is reported.
        assert!(call(b"cfunctools\npartial\n", F).is_empty());
        assert_eq!(
            call(
                b"cbuiltins\nmap\n",
                &[&b"cfunctools\npartial\n("[..], F, b"tR]K\x01a"].concat()
            ),
            flagged
        );
        // partial(partial, f) and map(g, ..., f): every position is checked.
        assert_eq!(
            call(b"cbuiltins\nmap\n", &[&b"cnumpy\nsin\n"[..], F].concat()),
            flagged
        );
        // numpy.piecewise(x, condlist, funclist) calls every function of its third argument.
        assert_eq!(
            call(
                b"cnumpy\npiecewise\n",
                &[&b"]K\x01a]\x88a](cnumpy\nsin\n"[..], F, b"e"].concat()
            ),
            flagged
        );
        assert!(call(b"cnumpy\npiecewise\n", b"]K\x01a]\x88a]cnumpy\nsin\na").is_empty());
        // A function list longer than the VM keeps cannot be cleared.
        let mut long = b"]K\x01a]\x88a(cnumpy\nsin\n\x94".to_vec();
        for _ in 0..300 {
            long.extend_from_slice(b"h\x00");
        }
        long.push(b'l');
        assert_eq!(call(b"cnumpy\npiecewise\n", &long), flagged);
        // copyreg._reconstructor(cls, base, state) calls base.
        assert_eq!(
            call(
                b"ccopyreg\n_reconstructor\n",
                &[&b"cbuiltins\nobject\n"[..], F, b"N"].concat()
            ),
            flagged
        );
    }

    #[test]
    fn stack_global_from_memo_is_resolved() {
        // \x80\x04 'os' MEMOIZE 'system' MEMOIZE POP POP BINGET 0 BINGET 1 STACK_GLOBAL ...
        let p = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x9400h\x00h\x01\x93)R.";
        let o = run(p);
        assert!(
            o.findings
                .iter()
                .any(|f| f.rule == "pickle.dangerous-global" && f.operator == "system"),
            "{:?} {:?}",
            o.findings,
            o.error
        );
    }

    #[test]
    fn truncated_pickle_keeps_findings_made_before_the_error() {
        let o = run(b"cposix\nsystem\n(S'echo hi'\ntR");
        assert_eq!(rules(&o), vec!["pickle.dangerous-global"]);
        assert_eq!(
            o.error.as_deref(),
            Some("pickle exhausted before seeing STOP")
        );
    }

    #[test]
    fn py2_module_names_are_resolved_before_the_policy() {
        let o = run(b"ccommands\ngetoutput\n(S'id'\ntR.");
        assert_eq!(o.imports[0].resolved_module, "subprocess");
        assert_eq!(o.findings[0].severity, Severity::Critical);
    }

    #[test]
    fn call_on_a_computed_callable_is_critical() {
        // builtins.getattr(<result of a call>, 'system') then call the result
        let p = b"cbuiltins\ngetattr\n(cmypkg\nThing\n)RS'system'\ntR(S'1'\ntR.";
        let o = run(p);
        // The bound method is `mypkg.Thing.system`, judged as that import and called; the
        // getattr that fetched it is not proven harmless and stays reported.
        let r = rules(&o);
        assert!(
            r.contains(&"pickle.unknown-global-called"),
            "{:?}",
            o.findings
        );
        assert!(r.contains(&"pickle.dangerous-global"), "{:?}", o.findings);
    }

    #[test]
    fn unregistered_extension_code_is_reported() {
        let o = run(b"\x80\x02\x82\xe7)R.");
        assert!(rules(&o).contains(&"pickle.extension-code"));
    }

    #[test]
    fn self_registered_extension_resolves_to_its_global() {
        let mut p = b"\x80\x02ccopyreg\nadd_extension\nX\x05\x00\x00\x00posixX\x06\x00\x00\x00systemM\x34\x12\x87R0".to_vec();
        p.extend_from_slice(b"\x83\x34\x12X\x02\x00\x00\x00id\x85R.");
        let o = run(&p);
        assert!(
            o.findings
                .iter()
                .any(|f| f.rule == "pickle.extension-code" && f.module == "posix"),
            "{:?}",
            o.findings
        );
    }

    #[test]
    fn build_on_an_imported_class_is_critical() {
        let o = run(b"\x80\x02cmypkg\nThing\n}X\x01\x00\x00\x00aK\x01sb.");
        assert!(rules(&o).contains(&"pickle.build-on-callable"));
    }

    #[test]
    fn nested_pickle_bytes_are_collected() {
        let inner = b"cposix\nsystem\n(S'id'\ntR.";
        let mut p = b"\x80\x03cpickle\nloads\nC".to_vec();
        p.push(inner.len() as u8);
        p.extend_from_slice(inner);
        p.extend_from_slice(b"\x85R.");
        let o = run(&p);
        assert_eq!(o.nested.len(), 1);
        assert_eq!(o.nested[0].bytes, Some(inner.to_vec()));
    }

    #[test]
    fn dill_load_type_resolves_to_the_named_type() {
        let ok =
            run(b"\x80\x04\x8c\ndill._dill\x8c\n_load_type\x93\x8c\tbytearray\x85RC\x03abc\x85R.");
        assert!(ok.findings.is_empty(), "{:?}", ok.findings);
        let bad = run(b"\x80\x04\x8c\ndill._dill\x8c\n_load_type\x93\x8c\x08CodeType\x85R)R.");
        assert!(
            bad.findings
                .iter()
                .any(|f| f.module == "types" && f.severity == Severity::Critical),
            "{:?}",
            bad.findings
        );
    }

    #[test]
    fn getattr_of_a_constant_attribute_is_judged_as_that_import() {
        // How CPython pickles zoneinfo.ZoneInfo: getattr(ZoneInfo, '_unpickle')('UTC', 1).
        let ok = run(b"\x80\x02c__builtin__\ngetattr\nczoneinfo\nZoneInfo\nX\x09\x00\x00\x00_unpickle\x86RX\x03\x00\x00\x00UTCK\x01\x86R.");
        assert!(ok.findings.is_empty(), "{:?}", ok.findings);
        let bad = run(
            b"\x80\x02c__builtin__\ngetattr\ncsubprocess\nPopen\nX\x04\x00\x00\x00wait\x86R)R.",
        );
        assert!(
            bad.findings.iter().any(|f| f.module == "subprocess"),
            "{:?}",
            bad.findings
        );
        // A computed attribute name keeps ModelScan's CRITICAL finding on getattr.
        let computed =
            run(b"\x80\x02c__builtin__\ngetattr\nczoneinfo\nZoneInfo\ncmypkg\nname\n)R\x86R.");
        assert!(
            computed
                .findings
                .iter()
                .any(|f| f.operator == "getattr" && f.severity == Severity::Critical),
            "{:?}",
            computed.findings
        );
        // getattr imported but never called is reported too.
        let unused = run(b"\x80\x02c__builtin__\ngetattr\n0N.");
        assert!(
            unused.findings.iter().any(|f| f.operator == "getattr"),
            "{:?}",
            unused.findings
        );
    }

    #[test]
    fn second_proto_is_an_anomaly() {
        let o = run(b"\x80\x02\x80\x02N.");
        assert!(rules(&o).contains(&"pickle.anomaly"));
    }

    #[test]
    fn legacy_torch_magic_number_is_recognised() {
        let o = run(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.");
        assert!(o.torch_legacy);
        assert_eq!(o.pickles, 2);
    }

    #[test]
    fn memo_get_of_a_missing_index_is_a_parse_error() {
        let o = run(b"\x80\x02h\x05.");
        assert!(o.error.unwrap().contains("Memo value not found"));
    }

    #[test]
    fn popping_below_a_mark_is_an_error_as_in_the_c_unpickler() {
        let o = run(b"N(R.");
        assert_eq!(o.error.as_deref(), Some("unpickling stack underflow"));
    }

    #[test]
    fn unicode_escapes_in_protocol_0_names_are_decoded() {
        let o = run(b"V\\u006fs\nVsystem\n\x93(S'id'\ntR.");
        assert!(
            o.findings
                .iter()
                .any(|f| f.module == "os" && f.rule == "pickle.dangerous-global"),
            "{:?} {:?}",
            o.findings,
            o.error
        );
    }

    /// A seekable reader that counts the bytes actually read from it.
    struct Counting {
        inner: std::io::Cursor<Vec<u8>>,
        read: u64,
    }

    impl Read for Counting {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl std::io::Seek for Counting {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    fn run_seekable(bytes: Vec<u8>) -> (VmOutcome, u64) {
        let settings = Settings::defaults();
        let mut budget = Budget::unlimited();
        let mut input = Input::seekable(Counting {
            inner: std::io::Cursor::new(bytes),
            read: 0,
        })
        .unwrap();
        let o = Vm::new(&settings, &mut budget).run(&mut input, StreamKind::Multiple);
        (o, input.r.get_ref().read)
    }

    /// os.system called after a BINBYTES payload of `n` bytes (of which `have` are present).
    fn big_payload_pickle(n: u32, have: usize) -> Vec<u8> {
        let mut p = b"\x80\x04B".to_vec();
        p.extend_from_slice(&n.to_le_bytes());
        p.extend(std::iter::repeat_n(0x2eu8, have));
        if have == n as usize {
            p.extend_from_slice(b"0\x8c\x02os\x8c\x06system\x93)R.");
        }
        p
    }

    #[test]
    fn a_seekable_input_seeks_over_large_payloads_with_the_same_outcome() {
        let n = 12 << 20;
        let bytes = big_payload_pickle(n, n as usize);
        let streamed = run(&bytes);
        let (seeked, read) = run_seekable(bytes.clone());
        assert_eq!(rules(&seeked), rules(&streamed));
        assert_eq!(rules(&seeked), vec!["pickle.dangerous-global"]);
        assert_eq!(seeked.findings[0].offset, streamed.findings[0].offset);
        assert_eq!(seeked.bytes_read, bytes.len() as u64);
        assert_eq!(seeked.error, None);
        // The payload was skipped by seeking: only the buffers around it were read.
        assert!(read < 1 << 20, "read {read} bytes");
    }

    #[test]
    fn a_payload_running_past_the_end_fails_the_same_when_seeked() {
        let bytes = big_payload_pickle(12 << 20, 9 << 20);
        let streamed = run(&bytes);
        let (seeked, _) = run_seekable(bytes.clone());
        assert_eq!(
            seeked.error.as_deref(),
            Some("pickle exhausted before seeing STOP")
        );
        assert_eq!(seeked.error, streamed.error);
        assert_eq!(seeked.bytes_read, streamed.bytes_read);
        assert_eq!(seeked.bytes_read, bytes.len() as u64);
    }
}
