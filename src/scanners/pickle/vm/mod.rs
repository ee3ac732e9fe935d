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
//!
//! Where each part lives: `input.rs` (the stream), `values.rs` (stack values, nodes, per-pickle
//! state), `step.rs` (one opcode), `imports.rs` (GLOBAL and friends, judged by `policy`),
//! `calls.rs` (what a call does: higher-order and implicit calls, getattr, pure functions),
//! `planted.rs` (methods a BUILD or SETITEM plants for the unpickler to call), `joblib.rs`
//! (joblib's raw array bytes and side files), `decode.rs` (operand and payload decoders).

use super::floor::{FloorModel, Held, Seen};
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

mod calls;
mod decode;
mod imports;
mod input;
mod joblib;
mod planted;
mod step;
#[cfg(test)]
mod tests;
mod values;

use decode::*;
pub use input::Input;
use joblib::*;
use step::*;
use values::*;

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
    pub module: Rc<str>,
    pub name: Rc<str>,
    /// After `_compat_pickle` resolution (the same text, shared, when nothing was renamed).
    pub resolved_module: Rc<str>,
    pub resolved_name: Rc<str>,
    pub verdict: Verdict,
    /// For a `Verdict::Safe` import, what its allowlist entry allows.
    pub ops: policy::Ops,
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
    /// ModelScan's reading of the opcodes the VM read (`floor`), when the VM read every pickle
    /// of the stream without an error or a limit stopping it.
    pub floor: Option<Vec<super::floor::FloorGlobal>>,
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
    /// ModelScan's reading, fed from this loop (off for the plain reading of joblib streams).
    floor: Option<FloorModel<Held>>,
    /// The memo index of the last GET or PUT, the import of the last GLOBAL, INST or
    /// STACK_GLOBAL, and the strings the last STACK_GLOBAL popped (what `floor` needs of their
    /// operands).
    floor_index: u64,
    floor_import: Option<u32>,
    floor_popped: [Option<Text>; 2],
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
            floor: Some(FloorModel::default()),
            floor_index: 0,
            floor_import: None,
            floor_popped: [None, None],
        }
    }

    /// The reading of a loader that knows nothing of joblib: the bytes joblib writes outside
    /// the pickle (array data and its alignment padding) are read as opcodes.
    pub fn plain(mut self) -> Self {
        self.joblib_arrays = false;
        self.floor = None;
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
        if let Some(model) = self.floor.take() {
            if self.out.error.is_none() && self.out.limit.is_none() {
                self.out.floor = Some(model.finish());
            }
        }
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
        let mut st = State::reused();
        let top = self.run_pickle_in(input, &mut st);
        st.recycle();
        top
    }

    fn run_pickle_in<Rd: Read>(&mut self, input: &mut Input<Rd>, st: &mut State) -> R<V> {
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
            self.step(input, st, op, offset, keep)?;
            if self.floor.is_some() {
                self.observe_floor(st, op, offset);
            }
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
                let summary = self.summarize(st, &top);
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
}

impl Vm<'_> {
    /// Hand the opcode just stepped to ModelScan's reading, with what it needs of its operand.
    #[inline]
    fn observe_floor(&mut self, st: &State, op: Op, offset: u64) {
        let Some(model) = self.floor.as_mut() else {
            return;
        };
        let text = || matches!(st.stack.last(), Some(V::Str(_)));
        match op {
            Op::ShortBinUnicode | Op::BinUnicode | Op::Unicode | Op::BinUnicode8 if text() => {
                model.text(Held, true);
            }
            Op::String | Op::BinString | Op::ShortBinString if text() => model.text(Held, false),
            Op::BinPut | Op::Put | Op::LongBinPut => model.put(self.floor_index),
            Op::Memoize => model.memoize(),
            Op::BinGet | Op::Get | Op::LongBinGet => model.get(self.floor_index),
            Op::Global | Op::Inst | Op::StackGlobal | Op::Stop => {
                self.observe_floor_import(op, offset);
            }
            _ => model.other(),
        }
    }

    /// `observe_floor` for the opcodes that name an import, and STOP.
    fn observe_floor_import(&mut self, op: Op, offset: u64) {
        let Vm {
            floor: Some(model),
            floor_import,
            floor_popped,
            ..
        } = self
        else {
            return;
        };
        let seen = match op {
            // The import's names are its own: the model records its id.
            Op::Global | Op::Inst => Seen::Global("unknown", "unknown", floor_import.take()),
            Op::StackGlobal => {
                let [module, name] = std::mem::take(floor_popped);
                model.import_or_stop(
                    offset,
                    op,
                    &Seen::StackGlobal(module.as_deref(), name.as_deref(), floor_import.take()),
                );
                return;
            }
            _ => Seen::Other,
        };
        model.import_or_stop(offset, op, &seen);
    }
}

/// The import inventory of a run, with verdicts.
pub fn import_records(imports: Vec<Import>) -> Vec<ImportRecord> {
    // A new vector of exactly this length: collecting in place would keep the imports'
    // larger allocation alive in the report.
    let mut out = Vec::with_capacity(imports.len());
    out.extend(imports.iter().map(|i| ImportRecord {
        verdict: i.verdict.label(),
        module: crate::findings::Name::new(&i.module),
        name: crate::findings::Name::new(&i.name),
    }));
    out
}
