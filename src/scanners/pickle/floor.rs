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

use super::disasm::{Arg, for_each_op};
use super::memo::Memo;
use super::opcodes::Op;
use std::io::Read;

/// One global as ModelScan collects it: module and name as written (or "unknown"), and the
/// offset of the opcode that imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorGlobal {
    pub module: String,
    pub name: String,
    pub offset: u64,
}

/// Memo entries kept (a memo past this is treated as unknown values).
const MAX_MEMO: usize = 1 << 20;
/// Opcodes read at most by the standalone pass.
const MAX_OPS: usize = 50_000_000;

/// What the model needs of one opcode's operand.
pub enum Seen<'a, S> {
    /// A string opcode's text (whole).
    Text(S),
    /// A GET or PUT opcode's memo index.
    Index(u64),
    /// GLOBAL / INST: module and name as written.
    Global(&'a str, &'a str),
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
    /// Memo index -> the string stored there (`None`, or absent: some other value).
    memo: Memo<Option<S>>,
    /// Which memo indices are set, whatever their value (MEMOIZE stores at their count).
    keys: KeySet,
    /// The last two opcodes that are not memo stores, the latest first: all that ModelScan's
    /// walk back from a STACK_GLOBAL reads (it skips MEMOIZE and PUT without bound).
    recent: [Operand<S>; 2],
    /// The previous opcode's operand, when it was a string (what MEMOIZE and PUT store).
    prev: Option<S>,
}

impl<S: Clone + AsRef<str>> Default for FloorModel<S> {
    fn default() -> Self {
        FloorModel {
            committed: Vec::new(),
            pending: Vec::new(),
            memo: Memo::default(),
            keys: KeySet::default(),
            recent: [Operand::Other, Operand::Other],
            prev: None,
        }
    }
}

impl<S: Clone + AsRef<str>> FloorModel<S> {
    fn value(&self, o: &Operand<S>) -> String {
        let text = match o {
            Operand::Get(k) => self.memo.get(*k).and_then(Option::as_ref),
            Operand::Text(s) => Some(s),
            Operand::Other => None,
        };
        text.map_or_else(|| "unknown".into(), |s| s.as_ref().to_string())
    }

    /// ModelScan's `memo[k] = <previous opcode's argument>`: only strings are kept (any
    /// other value reads as "unknown", as a missing one does), every index is counted.
    fn store(&mut self, k: u64) {
        self.keys.insert(k);
        match self.prev.take() {
            Some(s) => self.memo.insert(k, Some(s)),
            None => {
                if self.memo.get(k).is_some_and(Option::is_some) {
                    self.memo.insert(k, None);
                }
            }
        }
    }

    /// The next opcode of the stream, at `offset`.
    pub fn observe(&mut self, offset: u64, op: Op, seen: Seen<'_, S>) {
        match op {
            Op::Memoize => {
                if self.keys.len < MAX_MEMO {
                    let k = self.keys.len as u64;
                    self.store(k);
                }
                self.prev = None;
                return;
            }
            Op::Put | Op::BinPut | Op::LongBinPut => {
                if let Seen::Index(k) = seen {
                    if self.keys.len < MAX_MEMO || self.keys.contains(k) {
                        self.store(k);
                    }
                }
                self.prev = None;
                return;
            }
            Op::Global | Op::Inst => {
                if let Seen::Global(module, name) = seen {
                    self.pending.push(FloorGlobal {
                        module: module.to_string(),
                        name: name.to_string(),
                        offset,
                    });
                }
            }
            Op::StackGlobal => {
                let [name, module] = &self.recent;
                let g = FloorGlobal {
                    module: self.value(module),
                    name: self.value(name),
                    offset,
                };
                self.pending.push(g);
            }
            Op::Stop => {
                self.committed.append(&mut self.pending);
                // ModelScan lists each pickle's opcodes apart: a walk back ends at its start.
                self.recent = [Operand::Other, Operand::Other];
            }
            _ => {}
        }
        let (operand, prev) = match seen {
            Seen::Index(k) if matches!(op, Op::Get | Op::BinGet | Op::LongBinGet) => {
                (Operand::Get(k), None)
            }
            Seen::Text(s)
                if matches!(
                    op,
                    Op::ShortBinUnicode | Op::Unicode | Op::BinUnicode | Op::BinUnicode8
                ) =>
            {
                (Operand::Text(s.clone()), Some(s))
            }
            Seen::Text(s) => (Operand::Other, Some(s)),
            _ => (Operand::Other, None),
        };
        self.prev = prev;
        let [latest, older] = &mut self.recent;
        *older = std::mem::replace(latest, operand);
    }

    /// The globals of every pickle that ended with STOP.
    pub fn finish(self) -> Vec<FloorGlobal> {
        self.committed
    }
}

/// The set of memo indices stored so far: a bit per index up to `DENSE_KEYS` (picklers number
/// them 0, 1, 2 ...), a hash set past it (bounded by `MAX_MEMO` entries).
#[derive(Default)]
struct KeySet {
    bits: Vec<u64>,
    sparse: std::collections::HashSet<u64>,
    len: usize,
}

/// Indices kept as bits (128 KiB of bits at most).
const DENSE_KEYS: u64 = 1 << 20;

impl KeySet {
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
}

/// A string operand as the standalone pass shares it between the memo and the window.
type Str = std::rc::Rc<str>;

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
                Arg::Global { module, name } => Seen::Global(module, name),
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
            .map(|g| (g.module, g.name))
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
