//! Pickle opcodes, protocols 0-5, as CPython's C unpickler (`Modules/_pickle.c`) accepts them,
//! and a cheap "does this look like a pickle" test used by format detection.

/// Every opcode the C unpickler dispatches on (`load()` in `_pickle.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Mark,
    Stop,
    Pop,
    PopMark,
    Dup,
    Float,
    Int,
    BinInt,
    BinInt1,
    Long,
    BinInt2,
    None,
    PersId,
    BinPersId,
    Reduce,
    String,
    BinString,
    ShortBinString,
    Unicode,
    BinUnicode,
    Append,
    Build,
    Global,
    Dict,
    EmptyDict,
    Appends,
    Get,
    BinGet,
    Inst,
    LongBinGet,
    List,
    EmptyList,
    Obj,
    Put,
    BinPut,
    LongBinPut,
    SetItem,
    Tuple,
    EmptyTuple,
    SetItems,
    BinFloat,
    Proto,
    NewObj,
    Ext1,
    Ext2,
    Ext4,
    Tuple1,
    Tuple2,
    Tuple3,
    NewTrue,
    NewFalse,
    Long1,
    Long4,
    BinBytes,
    ShortBinBytes,
    ShortBinUnicode,
    BinUnicode8,
    BinBytes8,
    EmptySet,
    AddItems,
    FrozenSet,
    NewObjEx,
    StackGlobal,
    Memoize,
    Frame,
    ByteArray8,
    NextBuffer,
    ReadonlyBuffer,
}

/// `Op::decode` for every byte, built at compile time: one load per opcode in the VM loop.
// Evaluated by the compiler: an index out of bounds would fail the build, not a scan.
#[allow(clippy::indexing_slicing)]
static DECODE: [Option<Op>; 256] = {
    let mut t = [None; 256];
    let mut b = 0usize;
    while b < 256 {
        t[b] = Op::decode(b as u8);
        b += 1;
    }
    t
};

impl Op {
    #[inline]
    pub fn from_byte(b: u8) -> Option<Op> {
        DECODE.get(usize::from(b)).copied().flatten()
    }

    const fn decode(b: u8) -> Option<Op> {
        Some(match b {
            b'(' => Op::Mark,
            b'.' => Op::Stop,
            b'0' => Op::Pop,
            b'1' => Op::PopMark,
            b'2' => Op::Dup,
            b'F' => Op::Float,
            b'I' => Op::Int,
            b'J' => Op::BinInt,
            b'K' => Op::BinInt1,
            b'L' => Op::Long,
            b'M' => Op::BinInt2,
            b'N' => Op::None,
            b'P' => Op::PersId,
            b'Q' => Op::BinPersId,
            b'R' => Op::Reduce,
            b'S' => Op::String,
            b'T' => Op::BinString,
            b'U' => Op::ShortBinString,
            b'V' => Op::Unicode,
            b'X' => Op::BinUnicode,
            b'a' => Op::Append,
            b'b' => Op::Build,
            b'c' => Op::Global,
            b'd' => Op::Dict,
            b'}' => Op::EmptyDict,
            b'e' => Op::Appends,
            b'g' => Op::Get,
            b'h' => Op::BinGet,
            b'i' => Op::Inst,
            b'j' => Op::LongBinGet,
            b'l' => Op::List,
            b']' => Op::EmptyList,
            b'o' => Op::Obj,
            b'p' => Op::Put,
            b'q' => Op::BinPut,
            b'r' => Op::LongBinPut,
            b's' => Op::SetItem,
            b't' => Op::Tuple,
            b')' => Op::EmptyTuple,
            b'u' => Op::SetItems,
            b'G' => Op::BinFloat,
            0x80 => Op::Proto,
            0x81 => Op::NewObj,
            0x82 => Op::Ext1,
            0x83 => Op::Ext2,
            0x84 => Op::Ext4,
            0x85 => Op::Tuple1,
            0x86 => Op::Tuple2,
            0x87 => Op::Tuple3,
            0x88 => Op::NewTrue,
            0x89 => Op::NewFalse,
            0x8a => Op::Long1,
            0x8b => Op::Long4,
            b'B' => Op::BinBytes,
            b'C' => Op::ShortBinBytes,
            0x8c => Op::ShortBinUnicode,
            0x8d => Op::BinUnicode8,
            0x8e => Op::BinBytes8,
            0x8f => Op::EmptySet,
            0x90 => Op::AddItems,
            0x91 => Op::FrozenSet,
            0x92 => Op::NewObjEx,
            0x93 => Op::StackGlobal,
            0x94 => Op::Memoize,
            0x95 => Op::Frame,
            0x96 => Op::ByteArray8,
            0x97 => Op::NextBuffer,
            0x98 => Op::ReadonlyBuffer,
            _ => return None,
        })
    }

    /// pickletools' name, used in disassembly and messages.
    pub fn name(self) -> &'static str {
        match self {
            Op::Mark => "MARK",
            Op::Stop => "STOP",
            Op::Pop => "POP",
            Op::PopMark => "POP_MARK",
            Op::Dup => "DUP",
            Op::Float => "FLOAT",
            Op::Int => "INT",
            Op::BinInt => "BININT",
            Op::BinInt1 => "BININT1",
            Op::Long => "LONG",
            Op::BinInt2 => "BININT2",
            Op::None => "NONE",
            Op::PersId => "PERSID",
            Op::BinPersId => "BINPERSID",
            Op::Reduce => "REDUCE",
            Op::String => "STRING",
            Op::BinString => "BINSTRING",
            Op::ShortBinString => "SHORT_BINSTRING",
            Op::Unicode => "UNICODE",
            Op::BinUnicode => "BINUNICODE",
            Op::Append => "APPEND",
            Op::Build => "BUILD",
            Op::Global => "GLOBAL",
            Op::Dict => "DICT",
            Op::EmptyDict => "EMPTY_DICT",
            Op::Appends => "APPENDS",
            Op::Get => "GET",
            Op::BinGet => "BINGET",
            Op::Inst => "INST",
            Op::LongBinGet => "LONG_BINGET",
            Op::List => "LIST",
            Op::EmptyList => "EMPTY_LIST",
            Op::Obj => "OBJ",
            Op::Put => "PUT",
            Op::BinPut => "BINPUT",
            Op::LongBinPut => "LONG_BINPUT",
            Op::SetItem => "SETITEM",
            Op::Tuple => "TUPLE",
            Op::EmptyTuple => "EMPTY_TUPLE",
            Op::SetItems => "SETITEMS",
            Op::BinFloat => "BINFLOAT",
            Op::Proto => "PROTO",
            Op::NewObj => "NEWOBJ",
            Op::Ext1 => "EXT1",
            Op::Ext2 => "EXT2",
            Op::Ext4 => "EXT4",
            Op::Tuple1 => "TUPLE1",
            Op::Tuple2 => "TUPLE2",
            Op::Tuple3 => "TUPLE3",
            Op::NewTrue => "NEWTRUE",
            Op::NewFalse => "NEWFALSE",
            Op::Long1 => "LONG1",
            Op::Long4 => "LONG4",
            Op::BinBytes => "BINBYTES",
            Op::ShortBinBytes => "SHORT_BINBYTES",
            Op::ShortBinUnicode => "SHORT_BINUNICODE",
            Op::BinUnicode8 => "BINUNICODE8",
            Op::BinBytes8 => "BINBYTES8",
            Op::EmptySet => "EMPTY_SET",
            Op::AddItems => "ADDITEMS",
            Op::FrozenSet => "FROZENSET",
            Op::NewObjEx => "NEWOBJ_EX",
            Op::StackGlobal => "STACK_GLOBAL",
            Op::Memoize => "MEMOIZE",
            Op::Frame => "FRAME",
            Op::ByteArray8 => "BYTEARRAY8",
            Op::NextBuffer => "NEXT_BUFFER",
            Op::ReadonlyBuffer => "READONLY_BUFFER",
        }
    }
}

/// Whether `head` starts like a pickle a real pickler writes: a PROTO opcode with a known
/// protocol, or (protocols 0/1, no PROTO) a run of valid text opcodes. Detection only; the VM
/// decides whether the stream is really valid.
pub fn looks_like_pickle(head: &[u8]) -> bool {
    looks_like_pickle_of(head, u64::MAX)
}

/// `looks_like_pickle` when the item is known to be `total_len` bytes long: an operand that
/// would run past the end of the item is not the start of a pickle.
pub fn looks_like_pickle_of(head: &[u8], total_len: u64) -> bool {
    match head {
        [0x80, proto, next, ..] => *proto <= 5 && Op::from_byte(*next).is_some(),
        [0x80, proto] => *proto <= 5,
        _ => looks_like_protocol0(head, total_len),
    }
}

/// A pickle without PROTO (protocols 0/1, or a hand-made stream the C unpickler still
/// accepts): the first opcodes must all be valid with well-formed operands.
fn looks_like_protocol0(head: &[u8], total_len: u64) -> bool {
    let mut i = 0usize;
    let mut ops = 0;
    // Stack depth, marks and memo entries as the C unpickler would have them: random bytes
    // that happen to be valid opcodes almost always pop an empty stack within a few opcodes.
    let mut depth = 0usize;
    let mut marks: Vec<usize> = Vec::new();
    let mut memo = 0usize;
    while ops < 8 {
        let Some(&b) = head.get(i) else {
            // Ran out of head after at least two sane opcodes.
            return ops >= 2;
        };
        let Some(op) = Op::from_byte(b) else {
            return false;
        };
        let fence = marks.last().copied().unwrap_or(0);
        let avail = depth.saturating_sub(fence);
        let ok = match op {
            Op::Mark => {
                marks.push(depth);
                true
            }
            Op::Pop
            | Op::Put
            | Op::BinPut
            | Op::LongBinPut
            | Op::Memoize
            | Op::ReadonlyBuffer
            | Op::BinPersId
            | Op::Dup => avail >= 1,
            Op::Get | Op::BinGet | Op::LongBinGet => memo > 0,
            Op::Append | Op::Build | Op::Reduce | Op::NewObj | Op::StackGlobal => avail >= 2,
            Op::SetItem | Op::NewObjEx => avail >= 3,
            Op::Tuple1 => avail >= 1,
            Op::Tuple2 => avail >= 2,
            Op::Tuple3 => avail >= 3,
            Op::PopMark | Op::Tuple | Op::List | Op::Dict | Op::FrozenSet | Op::Inst | Op::Obj => {
                marks.pop().is_some()
            }
            Op::Appends | Op::SetItems | Op::AddItems => {
                marks.last().is_some_and(|&m| m >= 1 && fence <= depth)
            }
            Op::Stop => avail >= 1 || depth >= 1,
            _ => true,
        };
        if !ok {
            return false;
        }
        match op {
            Op::Put | Op::BinPut | Op::LongBinPut | Op::Memoize => memo += 1,
            Op::Pop => depth -= 1,
            Op::Dup | Op::Get | Op::BinGet | Op::LongBinGet => depth += 1,
            Op::Append | Op::Build | Op::Reduce | Op::NewObj | Op::StackGlobal | Op::Tuple2 => {
                depth -= 1
            }
            Op::SetItem | Op::NewObjEx | Op::Tuple3 => depth -= 2,
            Op::PopMark => depth = fence,
            Op::Tuple | Op::List | Op::Dict | Op::FrozenSet | Op::Inst | Op::Obj => {
                depth = fence + 1
            }
            Op::Appends | Op::SetItems | Op::AddItems => {
                depth = marks.pop().unwrap_or(fence);
            }
            Op::Mark | Op::Tuple1 | Op::ReadonlyBuffer | Op::BinPersId | Op::Stop => {}
            _ => depth += 1,
        }
        i += 1;
        let rest = head.get(i..).unwrap_or(&[]);
        let line_len = || rest.iter().position(|&c| c == b'\n');
        let le = |n: usize| -> Option<usize> {
            let s = rest.get(..n)?;
            let mut v = 0usize;
            for (k, byte) in s.iter().enumerate() {
                v |= usize::from(*byte) << (8 * k);
            }
            Some(v)
        };
        match op {
            Op::Stop => return ops >= 1,
            Op::Proto | Op::Frame => return false,
            Op::Global | Op::Inst => {
                // Two lines of identifier characters: "module\nname\n".
                for _ in 0..2 {
                    let rest = head.get(i..).unwrap_or(&[]);
                    let Some(nl) = rest.iter().position(|&c| c == b'\n') else {
                        return false;
                    };
                    let line = rest.get(..nl).unwrap_or(&[]);
                    if line.is_empty()
                        || !line
                            .iter()
                            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
                    {
                        return false;
                    }
                    i += nl + 1;
                }
            }
            Op::Int | Op::Long | Op::Float | Op::Get | Op::Put => {
                let Some(nl) = line_len() else { return false };
                let line = rest.get(..nl).unwrap_or(&[]);
                if line.is_empty()
                    || !line
                        .iter()
                        .all(|c| c.is_ascii_digit() || b"-+.eEL".contains(c))
                {
                    return false;
                }
                i += nl + 1;
            }
            Op::String => {
                let Some(nl) = line_len() else { return false };
                if !matches!(rest.first(), Some(b'\'') | Some(b'"')) {
                    return false;
                }
                i += nl + 1;
            }
            Op::Unicode | Op::PersId => {
                let Some(nl) = line_len() else { return false };
                i += nl + 1;
            }
            Op::BinPut | Op::BinGet | Op::BinInt1 | Op::Ext1 => i += 1,
            Op::BinInt2 | Op::Ext2 => i += 2,
            Op::BinInt | Op::LongBinGet | Op::LongBinPut | Op::Ext4 => i += 4,
            Op::BinFloat => i += 8,
            Op::ShortBinString | Op::ShortBinBytes | Op::ShortBinUnicode | Op::Long1 => {
                let Some(n) = le(1) else { return ops >= 2 };
                i = i.saturating_add(1 + n);
            }
            Op::BinString | Op::BinUnicode | Op::BinBytes | Op::Long4 => {
                let Some(n) = le(4) else { return ops >= 2 };
                i = i.saturating_add(4).saturating_add(n);
            }
            Op::BinUnicode8 | Op::BinBytes8 | Op::ByteArray8 => {
                let Some(n) = le(8) else { return ops >= 2 };
                i = i.saturating_add(8).saturating_add(n);
            }
            _ => {}
        }
        if i > head.len() {
            // A length operand jumps past what we have: past the end of the item, it is not a
            // pickle; past the head of a larger item, it is only evidence after two sane
            // opcodes (binary garbage often has one plausible opcode and a huge length).
            if i as u64 > total_len || ops < 2 {
                return false;
            }
        }
        ops += 1;
    }
    true
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_length_operand_past_the_end_is_not_a_pickle() {
        // An HDF5 file whose signature was damaged: NEWFALSE, then BINUNICODE of ~168 MB.
        let mut h5 = b"\x89XYZ\r\n\x1a\n".to_vec();
        h5.resize(17_208, 0);
        assert!(!looks_like_pickle_of(&h5, h5.len() as u64));
        assert!(
            !looks_like_pickle(&h5),
            "one opcode then a jump is not enough"
        );
        // A protocol 1 pickle whose third opcode is a large string that runs past the head
        // but not past the file still looks like one.
        let mut p1 = b"(]q\x00T".to_vec();
        p1.extend_from_slice(&100_000u32.to_le_bytes());
        p1.extend_from_slice(&[b'a'; 1000]);
        assert!(looks_like_pickle_of(&p1, 200_000));
        assert!(!looks_like_pickle_of(&p1, p1.len() as u64));
    }
    use super::*;

    #[test]
    fn protocol_0_global_pickle_looks_like_a_pickle() {
        assert!(looks_like_pickle(b"cos\nsystem\n(S'echo hi'\ntR."));
    }

    #[test]
    fn plain_text_does_not_look_like_a_pickle() {
        assert!(!looks_like_pickle(b"Some readme text\n"));
        assert!(!looks_like_pickle(b"{\"a\": 1}"));
        assert!(!looks_like_pickle(b"(this is prose)"));
    }

    #[test]
    fn stack_global_without_proto_looks_like_a_pickle() {
        assert!(looks_like_pickle(b"\x8c\x02os\x8c\x06system\x93)R."));
    }

    #[test]
    fn bytes_that_would_underflow_the_stack_do_not_look_like_a_pickle() {
        assert!(!looks_like_pickle(b"R\x00\x01\x02"));
        assert!(!looks_like_pickle(b"NRKb"));
        assert!(!looks_like_pickle(b"Ku\x10)"));
    }

    #[test]
    fn the_decode_table_agrees_with_the_decoder_for_every_byte() {
        let mut known = 0;
        for b in 0..=255u8 {
            assert_eq!(Op::from_byte(b), Op::decode(b), "byte {b:#04x}");
            if let Some(op) = Op::from_byte(b) {
                known += 1;
                assert_ne!(op.name(), "", "byte {b:#04x}");
            }
        }
        // The opcodes of protocols 0 to 5 (pickletools lists 68).
        assert_eq!(known, 68);
    }

    #[test]
    fn empty_dict_pickle_protocol_1_looks_like_a_pickle() {
        assert!(looks_like_pickle(b"}q\x00."));
    }
}
