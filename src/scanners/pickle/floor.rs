//! The floor: ModelScan's own reading of a pickle stream, kept beside the VM's so that the
//! report holds at least what a plain denylist scan of the bytes finds. It walks the opcodes as
//! `pickletools.genops` does (no stack), with ModelScan's memo model (MEMOIZE and PUT store the
//! previous opcode's argument) and its recovery of STACK_GLOBAL operands (walk back over memo
//! opcodes; a GET gives the memo's value, a string opcode its argument, anything else makes the
//! name "unknown"). Globals of a pickle that ends with STOP count; those of a pickle cut short
//! are dropped, as ModelScan drops them (so bytes that are not a pickle add nothing). The VM
//! reads the same bytes exactly; where the two readings disagree, the report is their union.

use super::disasm::{Arg, for_each_op};
use super::opcodes::Op;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;

/// Memo indices are small integers chosen by the file: a multiplicative hash is enough (the
/// table's size is capped, so a crafted spread of keys costs nothing more).
#[derive(Default)]
struct IndexHasher(u64);

impl Hasher for IndexHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// One global as ModelScan collects it: module and name as written (or "unknown"), and the
/// offset of the opcode that imports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorGlobal {
    pub module: String,
    pub name: String,
    pub offset: u64,
}

/// Opcodes kept to walk back from a STACK_GLOBAL (ModelScan walks back without bound, but only
/// over memo opcodes, so a short window sees what it sees).
const WINDOW: usize = 64;
/// Memo entries kept (a memo past this is treated as unknown values).
const MAX_MEMO: usize = 1 << 20;
/// Opcodes read at most.
const MAX_OPS: usize = 50_000_000;

/// A string operand as ModelScan sees it (whole; shared between the memo and the window, so
/// that remembering it costs no copy).
type Str = std::rc::Rc<str>;

#[derive(Clone)]
enum Val {
    Str(Str),
    Other,
}

/// ModelScan's globals of the stream `r` (every pickle while bytes remain).
pub fn modelscan_globals(r: impl Read) -> Vec<FloorGlobal> {
    let mut committed: Vec<FloorGlobal> = Vec::new();
    let mut pending: Vec<FloorGlobal> = Vec::new();
    let mut memo: HashMap<u64, Val, BuildHasherDefault<IndexHasher>> = HashMap::default();
    // What a walk back from STACK_GLOBAL needs of each opcode: the opcode, the string a string
    // opcode pushed, or the memo index a GET read.
    let mut window: std::collections::VecDeque<(Op, Option<Str>, Option<u64>)> =
        std::collections::VecDeque::with_capacity(WINDOW);
    let mut prev: Option<Val> = None;
    let listing = for_each_op(
        r,
        MAX_OPS,
        |_| true,
        |line| {
            let super::disasm::Line { offset, op, arg } = line;
            match op {
                Op::Memoize if memo.len() < MAX_MEMO => {
                    let k = memo.len() as u64;
                    memo.insert(k, prev.clone().unwrap_or(Val::Other));
                }
                Op::Put | Op::BinPut | Op::LongBinPut => {
                    if let Arg::Memo(k) = arg {
                        if memo.len() < MAX_MEMO || memo.contains_key(&k) {
                            memo.insert(k, prev.clone().unwrap_or(Val::Other));
                        }
                    }
                }
                Op::Global | Op::Inst => {
                    if let Arg::Global { module, name } = &arg {
                        pending.push(FloorGlobal {
                            module: module.clone(),
                            name: name.clone(),
                            offset,
                        });
                    }
                }
                Op::StackGlobal => {
                    let mut values: Vec<String> = Vec::new();
                    for (op, text, index) in window.iter().rev() {
                        match op {
                            Op::Memoize | Op::Put | Op::BinPut | Op::LongBinPut => continue,
                            Op::Get | Op::BinGet | Op::LongBinGet => {
                                let v = index.and_then(|k| memo.get(&k).cloned());
                                values.push(match v {
                                    Some(Val::Str(s)) => s.to_string(),
                                    _ => "unknown".into(),
                                });
                            }
                            Op::ShortBinUnicode
                            | Op::Unicode
                            | Op::BinUnicode
                            | Op::BinUnicode8 => {
                                values.push(
                                    text.as_deref()
                                        .map_or_else(|| "unknown".into(), str::to_string),
                                );
                            }
                            _ => values.push("unknown".into()),
                        }
                        if values.len() == 2 {
                            break;
                        }
                    }
                    while values.len() < 2 {
                        values.push("unknown".into());
                    }
                    let module = values.pop().unwrap_or_default();
                    let name = values.pop().unwrap_or_default();
                    pending.push(FloorGlobal {
                        module,
                        name,
                        offset,
                    });
                }
                Op::Stop => committed.append(&mut pending),
                _ => {}
            }
            let (text, index) = match arg {
                Arg::Text { text, len } if len as usize == text.len() => {
                    (Some(Str::from(text)), None)
                }
                Arg::Memo(k) => (None, Some(k)),
                _ => (None, None),
            };
            prev = Some(text.clone().map_or(Val::Other, Val::Str));
            if window.len() == WINDOW {
                window.pop_front();
            }
            window.push_back((op, text, index));
        },
    );
    let _ = listing;
    committed
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
