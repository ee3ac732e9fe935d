//! The VM's streaming input: position tracking, bounded lines and payloads, and seeking over
//! payloads too large to keep.

use super::*;

/// Longest text line (protocol 0 operands) kept.
pub(super) const MAX_LINE: usize = 1 << 20;
/// Read buffer of the VM's input.
pub(super) const INPUT_BUFFER: usize = 64 * 1024;
/// Moves a seekable reader `n` bytes forward (`BufReader::seek_relative`, which keeps the
/// buffer when the target is inside it).
pub(super) type SeekFwd<R> = fn(&mut BufReader<R>, i64) -> std::io::Result<()>;

/// Streaming input with position tracking.
pub struct Input<R: Read> {
    pub(super) r: BufReader<R>,
    pub(super) pos: u64,
    /// For seekable sources (a file, a window of one): the stream's length and how to move
    /// forward, so that skipped payloads (multi-GB tensor bytes) are seeked over, not read.
    pub(super) seek: Option<(u64, SeekFwd<R>)>,
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
    pub(super) fn peek(&mut self) -> Result<Option<u8>, String> {
        let buf = self.r.fill_buf().map_err(|e| e.to_string())?;
        Ok(buf.first().copied())
    }

    #[inline]
    pub(super) fn byte(&mut self) -> Result<Option<u8>, String> {
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

    pub(super) fn exact(&mut self, n: usize) -> Result<Vec<u8>, String> {
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

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
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

    pub(super) fn skip(&mut self, n: u64) -> Result<(), String> {
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
    pub(super) fn payload(&mut self, n: u64, keep: u64) -> Result<Option<Vec<u8>>, String> {
        if n <= keep {
            let n = usize::try_from(n).map_err(|_| "length overflow".to_string())?;
            self.exact(n).map(Some)
        } else {
            self.skip(n).map(|_| None)
        }
    }

    /// `payload`, with the kept bytes turned into a value by `make`: straight from the read
    /// buffer when they are all in it (nearly always), with no intermediate vector.
    pub(super) fn payload_map<T>(
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
    pub(super) fn line(&mut self, what: &str) -> Result<Option<Vec<u8>>, String> {
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
