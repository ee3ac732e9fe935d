//! A pickle opcode lister for `modelscan inspect`: offset, opcode and operand of each opcode, in
//! the spirit of `pickletools.dis`. It reads operands exactly as the VM (`vm.rs`) and CPython's C
//! unpickler do (`Modules/_pickle.c`: little-endian counts, BINFLOAT big-endian, text operands up
//! to the newline), but it keeps no stack and judges nothing: what the opcodes mean is the VM's
//! and the policy's job. Output is bounded: at most `max_ops` opcodes, operand previews of at
//! most `PREVIEW` bytes; payloads are skipped, never copied whole.

use super::opcodes::Op;
use std::io::{BufRead, BufReader, Read};

/// Bytes of a string or bytes operand shown in a listing.
pub const PREVIEW: usize = 96;
/// Longest text line (protocol 0 operand) read; the VM uses the same bound (`vm::MAX_LINE`).
const MAX_LINE: usize = 1 << 20;

/// An opcode's operand, as far as a listing needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    None,
    Int(i128),
    /// A LONG1/LONG4 too wide to show as a number: its byte count.
    WideInt(u64),
    Float(f64),
    /// Text from the file (lossy UTF-8), cut to `PREVIEW`; `len` is the full byte length.
    Text {
        text: String,
        len: u64,
    },
    /// Bytes from the file, cut to `PREVIEW`; `len` is the full length.
    Bytes {
        head: Vec<u8>,
        len: u64,
    },
    /// GLOBAL / INST: module and name lines as written.
    Global {
        module: String,
        name: String,
    },
    /// Memo index (GET/PUT and their binary forms).
    Memo(u64),
    /// PROTO's protocol number.
    Proto(u8),
    /// FRAME's length.
    Frame(u64),
    /// EXT1/EXT2/EXT4's extension code.
    Ext(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub offset: u64,
    pub op: Op,
    pub arg: Arg,
}

#[derive(Debug, Default)]
pub struct Listing {
    pub lines: Vec<Line>,
    /// `max_ops` was reached before the stream ended.
    pub truncated: bool,
    /// Why the listing stopped early (unknown opcode, truncated operand), with its offset.
    pub error: Option<(u64, String)>,
    /// Pickles that ended with STOP.
    pub pickles: usize,
}

struct Reader<R: Read> {
    r: BufReader<R>,
    pos: u64,
}

impl<R: Read> Reader<R> {
    fn byte(&mut self) -> Result<Option<u8>, String> {
        let b = self
            .r
            .fill_buf()
            .map_err(|e| e.to_string())?
            .first()
            .copied();
        if b.is_some() {
            self.r.consume(1);
            self.pos += 1;
        }
        Ok(b)
    }

    fn peek(&mut self) -> Option<u8> {
        self.r.fill_buf().ok().and_then(|b| b.first().copied())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        self.r
            .read_exact(&mut a)
            .map_err(|_| "pickle exhausted before seeing STOP".to_string())?;
        self.pos += N as u64;
        Ok(a)
    }

    /// `n` bytes of which the first `PREVIEW` are kept; the rest is skipped.
    fn payload(&mut self, n: u64) -> Result<Vec<u8>, String> {
        let keep = n.min(PREVIEW as u64);
        let mut head = Vec::new();
        let got = (&mut self.r)
            .take(keep)
            .read_to_end(&mut head)
            .map_err(|e| e.to_string())?;
        let skipped = std::io::copy(&mut (&mut self.r).take(n - keep), &mut std::io::sink())
            .map_err(|e| e.to_string())?;
        self.pos += got as u64 + skipped;
        if got as u64 + skipped != n {
            return Err("pickle exhausted before seeing STOP".into());
        }
        Ok(head)
    }

    /// A text line without its newline, cut to `PREVIEW` bytes, and its full length.
    fn line(&mut self) -> Result<(Vec<u8>, u64), String> {
        let mut out = Vec::new();
        let mut len = 0u64;
        loop {
            let buf = self.r.fill_buf().map_err(|e| e.to_string())?;
            if buf.is_empty() {
                return Err("no newline found when trying to read a text operand".into());
            }
            let (chunk, found) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (buf.get(..i).unwrap_or(&[]), true),
                None => (buf, false),
            };
            let room = PREVIEW.saturating_sub(out.len());
            out.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or(&[]));
            len += chunk.len() as u64;
            let used = chunk.len() + usize::from(found);
            self.r.consume(used);
            self.pos += used as u64;
            if found {
                break;
            }
            if len > MAX_LINE as u64 {
                return Err(format!("text operand longer than {MAX_LINE} bytes"));
            }
        }
        Ok((out, len))
    }
}

fn text(bytes: &[u8], len: u64) -> Arg {
    Arg::Text {
        text: String::from_utf8_lossy(bytes).into_owned(),
        len,
    }
}

fn line_number(line: &[u8]) -> Arg {
    let t = String::from_utf8_lossy(line);
    let t = t.trim().trim_end_matches('L');
    match t.parse::<i128>() {
        Ok(i) => Arg::Int(i),
        Err(_) => text(line, line.len() as u64),
    }
}

fn le_signed(bytes: &[u8]) -> i128 {
    let mut v: i128 = 0;
    for (k, b) in bytes.iter().enumerate() {
        v |= i128::from(*b) << (8 * k);
    }
    match bytes.len() {
        n @ 1..=15 if bytes.last().is_some_and(|b| b & 0x80 != 0) => v - (1i128 << (8 * n)),
        _ => v,
    }
}

fn operand<R: Read>(rd: &mut Reader<R>, op: Op) -> Result<Arg, String> {
    Ok(match op {
        Op::Proto => Arg::Proto(rd.array::<1>()?.first().copied().unwrap_or(0)),
        Op::Frame => Arg::Frame(u64::from_le_bytes(rd.array::<8>()?)),
        Op::Int | Op::Long => line_number(&rd.line()?.0),
        Op::Float => {
            let (l, _) = rd.line()?;
            match String::from_utf8_lossy(&l).trim().parse::<f64>() {
                Ok(f) => Arg::Float(f),
                Err(_) => text(&l, l.len() as u64),
            }
        }
        // pickletools' float8: big-endian IEEE 754 (save_float in _pickle.c).
        Op::BinFloat => Arg::Float(f64::from_be_bytes(rd.array::<8>()?)),
        Op::BinInt => Arg::Int(i128::from(i32::from_le_bytes(rd.array::<4>()?))),
        Op::BinInt1 => Arg::Int(i128::from(rd.array::<1>()?.first().copied().unwrap_or(0))),
        Op::BinInt2 => Arg::Int(i128::from(u16::from_le_bytes(rd.array::<2>()?))),
        Op::Long1 | Op::Long4 => {
            let n = if op == Op::Long1 {
                u64::from(rd.array::<1>()?.first().copied().unwrap_or(0))
            } else {
                let n = i32::from_le_bytes(rd.array::<4>()?);
                u64::try_from(n).map_err(|_| "LONG pickle has negative byte count".to_string())?
            };
            let head = rd.payload(n)?;
            if n <= 15 {
                Arg::Int(le_signed(&head))
            } else {
                Arg::WideInt(n)
            }
        }
        Op::String | Op::Unicode | Op::PersId => {
            let (l, len) = rd.line()?;
            text(&l, len)
        }
        Op::Get | Op::Put => {
            let (l, _) = rd.line()?;
            match String::from_utf8_lossy(&l).trim().parse::<u64>() {
                Ok(i) => Arg::Memo(i),
                Err(_) => text(&l, l.len() as u64),
            }
        }
        Op::BinGet | Op::BinPut => {
            Arg::Memo(u64::from(rd.array::<1>()?.first().copied().unwrap_or(0)))
        }
        Op::LongBinGet | Op::LongBinPut => {
            Arg::Memo(u64::from(u32::from_le_bytes(rd.array::<4>()?)))
        }
        Op::Global | Op::Inst => {
            let (m, _) = rd.line()?;
            let (n, _) = rd.line()?;
            Arg::Global {
                module: String::from_utf8_lossy(&m).into_owned(),
                name: String::from_utf8_lossy(&n).into_owned(),
            }
        }
        Op::BinString | Op::ShortBinString => {
            let n = if op == Op::ShortBinString {
                u64::from(rd.array::<1>()?.first().copied().unwrap_or(0))
            } else {
                let n = i32::from_le_bytes(rd.array::<4>()?);
                u64::try_from(n)
                    .map_err(|_| "BINSTRING pickle has negative byte count".to_string())?
            };
            let head = rd.payload(n)?;
            text(&head, n)
        }
        Op::ShortBinUnicode | Op::BinUnicode | Op::BinUnicode8 => {
            let n = match op {
                Op::ShortBinUnicode => u64::from(rd.array::<1>()?.first().copied().unwrap_or(0)),
                Op::BinUnicode => u64::from(u32::from_le_bytes(rd.array::<4>()?)),
                _ => u64::from_le_bytes(rd.array::<8>()?),
            };
            let head = rd.payload(n)?;
            text(&head, n)
        }
        Op::ShortBinBytes | Op::BinBytes | Op::BinBytes8 | Op::ByteArray8 => {
            let n = match op {
                Op::ShortBinBytes => u64::from(rd.array::<1>()?.first().copied().unwrap_or(0)),
                Op::BinBytes => u64::from(u32::from_le_bytes(rd.array::<4>()?)),
                _ => u64::from_le_bytes(rd.array::<8>()?),
            };
            Arg::Bytes {
                head: rd.payload(n)?,
                len: n,
            }
        }
        Op::Ext1 => Arg::Ext(i64::from(rd.array::<1>()?.first().copied().unwrap_or(0))),
        Op::Ext2 => Arg::Ext(i64::from(u16::from_le_bytes(rd.array::<2>()?))),
        Op::Ext4 => Arg::Ext(i64::from(i32::from_le_bytes(rd.array::<4>()?))),
        _ => Arg::None,
    })
}

/// List the opcodes of the pickle stream `r`, at most `max_ops` of them. After a STOP the
/// listing goes on only when another pickle starts with PROTO (as stacked pickles such as
/// legacy `torch.save` files do); anything else after a STOP is data the unpickler never reads.
pub fn disassemble(r: impl Read, max_ops: usize) -> Listing {
    let mut lines = Vec::new();
    let mut out = for_each_op(r, max_ops, |b| b == 0x80, |l| lines.push(l));
    out.lines = lines;
    out
}

/// Walk the opcodes of `r` as `pickletools.genops` does, handing each to `f` (at most
/// `max_ops`); after a STOP, go on with the next pickle while `next_pickle(first byte)` says so.
/// The returned listing has no lines (they went to `f`).
pub fn for_each_op(
    r: impl Read,
    max_ops: usize,
    next_pickle: impl Fn(u8) -> bool,
    mut f: impl FnMut(Line),
) -> Listing {
    // A small buffer: it is zeroed before its first fill, and most pickles are small.
    let mut rd = Reader {
        r: BufReader::with_capacity(8 * 1024, r),
        pos: 0,
    };
    let mut out = Listing::default();
    let mut count = 0usize;
    loop {
        if count >= max_ops {
            out.truncated = rd.peek().is_some();
            break;
        }
        let offset = rd.pos;
        let byte = match rd.byte() {
            Ok(Some(b)) => b,
            Ok(None) => {
                // Every STOP not followed by PROTO ends the loop below, so the stream ran out
                // inside a pickle.
                out.error = Some((offset, "pickle exhausted before seeing STOP".into()));
                break;
            }
            Err(e) => {
                out.error = Some((offset, e));
                break;
            }
        };
        let Some(op) = Op::from_byte(byte) else {
            out.error = Some((offset, format!("opcode 0x{byte:02x} unknown")));
            break;
        };
        match operand(&mut rd, op) {
            Ok(arg) => {
                count += 1;
                f(Line { offset, op, arg });
            }
            Err(e) => {
                out.error = Some((offset, format!("{}: {e}", op.name())));
                break;
            }
        }
        if op == Op::Stop {
            out.pickles += 1;
            if !rd.peek().is_some_and(&next_pickle) {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_0_global_and_call_are_listed_with_offsets() {
        let l = disassemble(&b"cos\nsystem\n(S'echo hi'\ntR."[..], 100);
        let ops: Vec<_> = l.lines.iter().map(|x| (x.offset, x.op.name())).collect();
        assert_eq!(
            ops,
            vec![
                (0, "GLOBAL"),
                (11, "MARK"),
                (12, "STRING"),
                (23, "TUPLE"),
                (24, "REDUCE"),
                (25, "STOP")
            ]
        );
        assert_eq!(
            l.lines[0].arg,
            Arg::Global {
                module: "os".into(),
                name: "system".into()
            }
        );
        assert!(l.error.is_none());
        assert_eq!(l.pickles, 1);
    }

    #[test]
    fn binary_operands_are_read_like_the_unpickler() {
        // PROTO 4, SHORT_BINUNICODE 'posix', BININT -2, BINFLOAT 1.5, LONG1 -1, BINBYTES 3, STOP
        let mut p = b"\x80\x04\x8c\x05posixJ\xfe\xff\xff\xffG".to_vec();
        p.extend_from_slice(&1.5f64.to_be_bytes());
        p.extend_from_slice(b"\x8a\x01\xffB\x03\x00\x00\x00abc.");
        let l = disassemble(&p[..], 100);
        let args: Vec<_> = l.lines.iter().map(|x| x.arg.clone()).collect();
        assert_eq!(args[0], Arg::Proto(4));
        assert_eq!(
            args[1],
            Arg::Text {
                text: "posix".into(),
                len: 5
            }
        );
        assert_eq!(args[2], Arg::Int(-2));
        assert_eq!(args[3], Arg::Float(1.5));
        assert_eq!(args[4], Arg::Int(-1));
        assert_eq!(
            args[5],
            Arg::Bytes {
                head: b"abc".to_vec(),
                len: 3
            }
        );
        assert_eq!(l.lines[6].op, Op::Stop);
    }

    #[test]
    fn listing_stops_at_max_ops_and_says_so() {
        let l = disassemble(&b"\x80\x02NNNNNNN."[..], 3);
        assert_eq!(l.lines.len(), 3);
        assert!(l.truncated);
    }

    #[test]
    fn huge_declared_length_is_an_error_not_an_allocation() {
        let l = disassemble(&b"\x80\x04\x8d\xff\xff\xff\xff\xff\xff\xff\x7fabc"[..], 100);
        assert_eq!(l.lines.len(), 1);
        let (off, msg) = l.error.unwrap();
        assert_eq!(off, 2);
        assert!(msg.contains("BINUNICODE8"), "{msg}");
    }

    #[test]
    fn unknown_opcode_stops_the_listing_with_its_offset() {
        let l = disassemble(&b"\x80\x02\xff"[..], 100);
        assert_eq!(l.error, Some((2, "opcode 0xff unknown".into())));
    }

    #[test]
    fn stacked_pickles_are_listed_and_trailing_data_is_not() {
        let l = disassemble(&b"\x80\x02N.\x80\x02K\x01.garbage"[..], 100);
        assert_eq!(l.pickles, 2);
        assert_eq!(l.lines.len(), 6);
        assert!(l.error.is_none());
    }

    #[test]
    fn long_payloads_are_previewed_not_copied() {
        let mut p = b"\x80\x04B\x00\x10\x00\x00".to_vec();
        p.extend(std::iter::repeat_n(b'x', 4096));
        p.push(b'.');
        let l = disassemble(&p[..], 100);
        match &l.lines[1].arg {
            Arg::Bytes { head, len } => {
                assert_eq!(head.len(), PREVIEW);
                assert_eq!(*len, 4096);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(l.lines[2].op, Op::Stop);
    }
}
