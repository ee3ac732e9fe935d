//! The floor: ModelScan's own reading of a pickle stream, kept beside the VM's so that the
//! report holds at least what a plain denylist scan of the bytes finds. It walks the opcodes as
//! `pickletools.genops` does (no stack), with ModelScan's memo model (MEMOIZE and PUT store the
//! previous opcode's argument) and its recovery of STACK_GLOBAL operands (walk back over memo
//! opcodes; a GET gives the memo's value, a string opcode its argument, anything else makes the
//! name "unknown"). Globals of a pickle that ends with STOP count; those of a pickle cut short
//! are dropped, as ModelScan drops them (so bytes that are not a pickle add nothing). The VM
//! reads the same bytes exactly; where the two readings disagree, the report is their union.
//!
//! The model (`FloorModel`) is fed one opcode at a time. The VM feeds it from its own opcode
//! loop, so that a stream it reads to the end costs no second pass; `modelscan_globals` feeds
//! it from the generic disassembler, for the streams the VM stopped reading early.
//!
//! Fed by the VM, the model keeps no text (`Held`): which memo entries hold a string (a bit each)
//! and which kind of operand the last two opcodes were is all it needs, since where ModelScan's
//! reading knows a STACK_GLOBAL operand, the value the VM pops there is that same string (a
//! string opcode pushes its text; memo stores do not move the stack; a memo entry ModelScan
//! holds as a string was stored by a PUT right after that string's opcode, which stored the
//! same string in the VM's memo, and every later store to the entry rewrote both).

use super::disasm::{Arg, for_each_op};
use super::memo::Memo;
use super::opcodes::Op;
use std::io::Read;

/// One global as ModelScan collects it, and the offset of the opcode that imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorGlobal {
    pub name: FloorName,
    pub offset: u64,
}

/// How a floor global is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FloorName {
    /// Exactly the module and name (as written) of this import of the VM's run.
    Import(u32),
    /// Module and name as written, or "unknown" where ModelScan cannot recover one.
    Written { module: String, name: String },
}

/// Memo entries kept (a memo past this is treated as unknown values).
const MAX_MEMO: usize = 1 << 20;
/// Opcodes read at most by the standalone pass.
const MAX_OPS: usize = 50_000_000;

/// A string operand as the model's feeder hands it over.
pub trait FloorText: Clone {
    /// The model keeps the texts itself (the standalone pass); otherwise the feeder holds them
    /// and hands over the two a STACK_GLOBAL reads (the VM).
    const KEPT: bool;
    fn text(&self) -> Option<&str>;
}

/// A string operand whose text the VM holds.
#[derive(Clone, Copy)]
pub struct Held;

impl FloorText for Held {
    const KEPT: bool = false;
    fn text(&self) -> Option<&str> {
        None
    }
}

/// What the model needs of one opcode's operand.
pub enum Seen<'a, S> {
    /// A string opcode's text (whole).
    Text(S),
    /// A GET or PUT opcode's memo index.
    Index(u64),
    /// GLOBAL / INST: module and name as written, and the VM's import of them.
    Global(&'a str, &'a str, Option<u32>),
    /// STACK_GLOBAL as the VM read it: the module and name it popped when they were strings,
    /// and its import of them.
    StackGlobal(Option<&'a str>, Option<&'a str>, Option<u32>),
    /// Anything else (or an operand not known whole).
    Other,
}

/// An opcode as the walk back from a STACK_GLOBAL sees it (memo stores are skipped).
#[derive(Clone)]
enum Operand<S> {
    /// GET: the memo index it reads (looked up when the walk reaches it).
    Get(u64),
    /// SHORT_BINUNICODE, UNICODE, BINUNICODE, BINUNICODE8: the text.
    Text(S),
    /// Anything else: "unknown".
    Other,
}

/// ModelScan's reading, one opcode at a time. `S` is the string type of whoever feeds it.
pub struct FloorModel<S> {
    committed: Vec<FloorGlobal>,
    pending: Vec<FloorGlobal>,
    /// Memo index -> the string stored there, when the model keeps texts (`FloorText::KEPT`).
    memo: Memo<Option<S>>,
    /// Which memo indices are set, whatever their value (MEMOIZE stores at their count).
    keys: KeySet,
    /// Which memo indices hold a string (any other value reads as "unknown").
    strings: KeySet,
    /// The last two opcodes that are not memo stores, the latest first: all that ModelScan's
    /// walk back from a STACK_GLOBAL reads (it skips MEMOIZE and PUT without bound).
    recent: [Operand<S>; 2],
    /// The previous opcode's operand, when it was a string (what MEMOIZE and PUT store).
    prev: Option<S>,
}

impl<S: FloorText> Default for FloorModel<S> {
    fn default() -> Self {
        FloorModel {
            committed: Vec::new(),
            pending: Vec::new(),
            memo: Memo::default(),
            keys: KeySet::default(),
            strings: KeySet::default(),
            recent: [Operand::Other, Operand::Other],
            prev: None,
        }
    }
}

impl<S: FloorText> FloorModel<S> {
    /// Whether ModelScan reads a string for this STACK_GLOBAL operand.
    fn names_string(&self, o: &Operand<S>) -> bool {
        match o {
            Operand::Get(k) => self.strings.contains(*k),
            Operand::Text(_) => true,
            Operand::Other => false,
        }
    }

    /// ModelScan's value of a STACK_GLOBAL operand: the string it names where it names one
    /// (`held`: the text the VM popped there), else "unknown".
    fn value(&self, o: &Operand<S>, held: Option<&str>) -> String {
        let known = self.names_string(o);
        let own = || match o {
            Operand::Get(k) => self.memo.get(*k).and_then(Option::as_ref)?.text(),
            Operand::Text(s) => s.text(),
            Operand::Other => None,
        };
        let text = if known { held.or_else(own) } else { None };
        text.unwrap_or("unknown").to_string()
    }

    /// ModelScan's `memo[k] = <previous opcode's argument>`: only strings are kept (any
    /// other value reads as "unknown", as a missing one does), every index is counted.
    fn store(&mut self, k: u64) {
        self.keys.insert(k);
        let prev = self.prev.take();
        if prev.is_some() {
            self.strings.insert(k);
        } else {
            self.strings.remove(k);
        }
        if S::KEPT {
            match prev {
                Some(s) => self.memo.insert(k, Some(s)),
                None => {
                    if self.memo.get(k).is_some_and(Option::is_some) {
                        self.memo.insert(k, None);
                    }
                }
            }
        }
    }

    /// The next opcode of the stream, at `offset`.
    pub fn observe(&mut self, offset: u64, op: Op, seen: Seen<'_, S>) {
        match (op, seen) {
            (Op::Memoize, _) => self.memoize(),
            (Op::Put | Op::BinPut | Op::LongBinPut, Seen::Index(k)) => self.put(k),
            (Op::Put | Op::BinPut | Op::LongBinPut, _) => self.prev = None,
            (Op::Global | Op::Inst | Op::StackGlobal | Op::Stop, seen) => {
                self.import_or_stop(offset, op, &seen);
            }
            (Op::Get | Op::BinGet | Op::LongBinGet, Seen::Index(k)) => self.get(k),
            (
                Op::ShortBinUnicode | Op::Unicode | Op::BinUnicode | Op::BinUnicode8,
                Seen::Text(s),
            ) => {
                self.text(s, true);
            }
            (_, Seen::Text(s)) => self.text(s, false),
            _ => self.other(),
        }
    }

    /// MEMOIZE: a store at the number of indices set.
    #[inline]
    pub fn memoize(&mut self) {
        if self.keys.len < MAX_MEMO {
            let k = self.keys.len as u64;
            self.store(k);
        }
        self.prev = None;
    }

    /// PUT, BINPUT, LONG_BINPUT of index `k`.
    #[inline]
    pub fn put(&mut self, k: u64) {
        if self.keys.len < MAX_MEMO || self.keys.contains(k) {
            self.store(k);
        }
        self.prev = None;
    }

    /// GET, BINGET, LONG_BINGET of index `k`.
    #[inline]
    pub fn get(&mut self, k: u64) {
        self.prev = None;
        self.push_operand(Operand::Get(k));
    }

    /// A string opcode read whole: a STACK_GLOBAL operand when it is one of the unicode string
    /// opcodes, and what a memo store that follows stores.
    #[inline]
    pub fn text(&mut self, s: S, unicode: bool) {
        let operand = if unicode {
            Operand::Text(s.clone())
        } else {
            Operand::Other
        };
        self.prev = Some(s);
        self.push_operand(operand);
    }

    /// Any other opcode (and a string opcode whose text is not known whole).
    #[inline]
    pub fn other(&mut self) {
        self.prev = None;
        self.push_operand(Operand::Other);
    }

    #[inline]
    fn push_operand(&mut self, operand: Operand<S>) {
        let [latest, older] = &mut self.recent;
        *older = std::mem::replace(latest, operand);
    }

    /// GLOBAL, INST and STACK_GLOBAL add a global to the pickle's list; STOP commits it. None
    /// of them is a STACK_GLOBAL operand.
    pub fn import_or_stop(&mut self, offset: u64, op: Op, seen: &Seen<'_, S>) {
        self.observe_import_or_stop(offset, op, seen);
        self.other();
    }

    /// GLOBAL, INST and STACK_GLOBAL add a global to the pickle's list; STOP commits it.
    fn observe_import_or_stop(&mut self, offset: u64, op: Op, seen: &Seen<'_, S>) {
        match op {
            Op::Global | Op::Inst => {
                if let Seen::Global(module, name, import) = *seen {
                    let name = match import {
                        Some(id) => FloorName::Import(id),
                        None => FloorName::Written {
                            module: module.to_string(),
                            name: name.to_string(),
                        },
                    };
                    self.pending.push(FloorGlobal { name, offset });
                }
            }
            Op::StackGlobal => {
                let (held_module, held_name, import) = match *seen {
                    Seen::StackGlobal(m, n, i) => (m, n, i),
                    _ => (None, None, None),
                };
                let [name, module] = &self.recent;
                let name = match import {
                    // Both operands name the strings the VM imported.
                    Some(id) if self.names_string(module) && self.names_string(name) => {
                        FloorName::Import(id)
                    }
                    _ => FloorName::Written {
                        module: self.value(module, held_module),
                        name: self.value(name, held_name),
                    },
                };
                self.pending.push(FloorGlobal { name, offset });
            }
            Op::Stop => {
                self.committed.append(&mut self.pending);
                // ModelScan lists each pickle's opcodes apart: a walk back ends at its start.
                self.recent = [Operand::Other, Operand::Other];
            }
            _ => {}
        }
    }

    /// The globals of every pickle that ended with STOP.
    pub fn finish(self) -> Vec<FloorGlobal> {
        self.committed
    }
}

/// A set of memo indices: a bit per index up to `DENSE_KEYS` (picklers number them 0, 1, 2
/// ...), a hash set past it (bounded by `MAX_MEMO` entries).
#[derive(Default)]
struct KeySet {
    bits: Vec<u64>,
    sparse: std::collections::HashSet<u64>,
    len: usize,
}

/// Indices kept as bits (128 KiB of bits at most).
const DENSE_KEYS: u64 = 1 << 20;

impl KeySet {
    #[inline]
    fn contains(&self, k: u64) -> bool {
        if k < DENSE_KEYS {
            let word = usize::try_from(k / 64).unwrap_or(usize::MAX);
            self.bits
                .get(word)
                .is_some_and(|w| w & (1 << (k % 64)) != 0)
        } else {
            self.sparse.contains(&k)
        }
    }

    #[inline]
    fn insert(&mut self, k: u64) {
        let new = if k < DENSE_KEYS {
            let word = usize::try_from(k / 64).unwrap_or(0);
            if self.bits.len() <= word {
                self.bits.resize(word + 1, 0);
            }
            match self.bits.get_mut(word) {
                Some(w) => {
                    let bit = 1u64 << (k % 64);
                    let new = *w & bit == 0;
                    *w |= bit;
                    new
                }
                None => false,
            }
        } else {
            self.sparse.insert(k)
        };
        if new {
            self.len += 1;
        }
    }

    #[inline]
    fn remove(&mut self, k: u64) {
        let gone = if k < DENSE_KEYS {
            let word = usize::try_from(k / 64).unwrap_or(usize::MAX);
            match self.bits.get_mut(word) {
                Some(w) => {
                    let bit = 1u64 << (k % 64);
                    let was = *w & bit != 0;
                    *w &= !bit;
                    was
                }
                None => false,
            }
        } else {
            self.sparse.remove(&k)
        };
        if gone {
            self.len -= 1;
        }
    }
}

/// A string operand as the standalone pass shares it between the memo and the window.
type Str = std::rc::Rc<str>;

impl FloorText for Str {
    const KEPT: bool = true;
    fn text(&self) -> Option<&str> {
        Some(self)
    }
}

/// ModelScan's globals of the stream `r` (every pickle while bytes remain).
pub fn modelscan_globals(r: impl Read) -> Vec<FloorGlobal> {
    let mut model: FloorModel<Str> = FloorModel::default();
    let _listing = for_each_op(
        r,
        MAX_OPS,
        |_| true,
        |line| {
            let super::disasm::Line { offset, op, arg } = line;
            let seen = match &arg {
                Arg::Text { text, len } if *len as usize == text.len() => {
                    Seen::Text(Str::from(text.as_str()))
                }
                Arg::Memo(k) => Seen::Index(*k),
                Arg::Global { module, name } => Seen::Global(module, name, None),
                _ => Seen::Other,
            };
            model.observe(offset, op, seen);
        },
    );
    model.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globals(b: &[u8]) -> Vec<(String, String)> {
        modelscan_globals(b)
            .into_iter()
            .map(|g| match g.name {
                FloorName::Written { module, name } => (module, name),
                FloorName::Import(id) => ("<import>".into(), id.to_string()),
            })
            .collect()
    }

    fn pair(m: &str, n: &str) -> (String, String) {
        (m.into(), n.into())
    }

    #[test]
    fn globals_are_read_as_modelscan_reads_them() {
        assert_eq!(
            globals(b"cposix\nsystem\n(S'echo hi'\ntR."),
            vec![pair("posix", "system")]
        );
        // STACK_GLOBAL from two strings, one through the memo.
        let p = b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94\x93h\x00\x8c\x01x\x93.";
        assert_eq!(
            globals(p),
            vec![pair("posix", "system"), pair("posix", "x")]
        );
        // Operands that are not string literals: "unknown", as ModelScan reports them.
        let p = b"\x80\x04U\x05posixU\x06system\x93.";
        assert_eq!(globals(p), vec![pair("unknown", "unknown")]);
        // A pickle cut short adds nothing; one that ended before it still counts.
        assert!(globals(b"cposix\nsystem\n(S'echo hi'\ntR").is_empty());
        assert_eq!(
            globals(b"cposix\nsystem\n.cos\nsystem\n"),
            vec![pair("posix", "system")]
        );
    }
}
