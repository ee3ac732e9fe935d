//! `Blob`: random-access bytes to scan, whether a file on disk, a member held in memory, or a
//! window of another blob (a stored zip member, a tar entry). Reads are positional (`pread`), so a
//! file truncated underneath us gives a short read and an error, never a crash (no mmap).
//! Streams that cannot seek (decompressors) are handled by the container code, not here.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub enum Blob {
    File {
        file: Arc<File>,
        len: u64,
    },
    Memory(Arc<[u8]>),
    Window {
        parent: Box<Blob>,
        start: u64,
        len: u64,
    },
}

impl Blob {
    pub fn from_file(file: File) -> io::Result<Blob> {
        let len = file.metadata()?.len();
        Ok(Blob::from_file_of_len(file, len))
    }

    /// A file whose length the caller has just read (from the metadata it opened it with).
    pub fn from_file_of_len(file: File, len: u64) -> Blob {
        Blob::File {
            file: Arc::new(file),
            len,
        }
    }

    pub fn from_vec(v: Vec<u8>) -> Blob {
        Blob::Memory(Arc::from(v.into_boxed_slice()))
    }

    pub fn len(&self) -> u64 {
        match self {
            Blob::File { len, .. } => *len,
            Blob::Memory(m) => m.len() as u64,
            Blob::Window { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads up to `buf.len()` bytes at `offset`; fewer only at the end of the blob.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len() || buf.is_empty() {
            return Ok(0);
        }
        let avail = self.len() - offset;
        let want = buf.len().min(usize::try_from(avail).unwrap_or(usize::MAX));
        let buf = buf.get_mut(..want).unwrap_or_default();
        match self {
            Blob::File { file, .. } => {
                use std::os::unix::fs::FileExt;
                let mut done = 0usize;
                while done < buf.len() {
                    let rest = buf.get_mut(done..).unwrap_or_default();
                    let n = file.read_at(rest, offset + done as u64)?;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file is shorter than when it was opened (truncated while scanning?)",
                        ));
                    }
                    done += n;
                }
                Ok(done)
            }
            Blob::Memory(m) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let src = m.get(start..start.saturating_add(buf.len())).unwrap_or(&[]);
                let n = src.len();
                if let Some(dst) = buf.get_mut(..n) {
                    dst.copy_from_slice(src);
                }
                Ok(n)
            }
            Blob::Window { parent, start, .. } => parent.read_at(start + offset, buf),
        }
    }

    /// Reads exactly `len` bytes at `offset` into a new vector (callers clamp `len` first).
    pub fn read_vec(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut v = vec![0u8; len];
        let n = self.read_at(offset, &mut v)?;
        if n != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("needed {len} bytes at offset {offset}, only {n} available"),
            ));
        }
        Ok(v)
    }

    /// Up to `max` bytes from the start.
    pub fn head(&self, max: usize) -> io::Result<Vec<u8>> {
        let n = usize::try_from(self.len()).unwrap_or(usize::MAX).min(max);
        self.read_vec(0, n)
    }

    /// Up to `max` bytes from the end.
    pub fn tail(&self, max: usize) -> io::Result<Vec<u8>> {
        let n = self.len().min(max as u64);
        self.read_vec(self.len() - n, n as usize)
    }

    /// A window `[start, start+len)` of this blob, clamped to its end.
    pub fn slice(&self, start: u64, len: u64) -> Blob {
        let start = start.min(self.len());
        let len = len.min(self.len() - start);
        match self {
            Blob::Window {
                parent, start: s0, ..
            } => Blob::Window {
                parent: parent.clone(),
                start: s0 + start,
                len,
            },
            other => Blob::Window {
                parent: Box::new(other.clone()),
                start,
                len,
            },
        }
    }

    /// Whole content in memory, if it fits under `cap`.
    pub fn to_vec_capped(&self, cap: u64) -> io::Result<Option<Vec<u8>>> {
        if self.len() > cap {
            return Ok(None);
        }
        self.read_vec(0, self.len() as usize).map(Some)
    }

    /// A buffered `Read + Seek` cursor over the blob.
    pub fn reader(&self) -> BlobReader {
        BlobReader {
            blob: self.clone(),
            pos: 0,
        }
    }
}

/// Sequential reader over a blob; wrap in `BufReader` for small reads.
pub struct BlobReader {
    blob: Blob,
    pos: u64,
}

impl BlobReader {
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.blob.read_at(self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let new = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.blob.len().checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the blob",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_of_window_reads_the_right_bytes() {
        let b = Blob::from_vec((0u8..100).collect());
        let w = b.slice(10, 50).slice(5, 10);
        assert_eq!(
            w.read_vec(0, 10).ok(),
            Some((15u8..25).collect::<Vec<u8>>())
        );
        assert_eq!(w.len(), 10);
    }

    #[test]
    fn reads_past_the_end_are_short_not_errors() {
        let b = Blob::from_vec(vec![1, 2, 3]);
        let mut buf = [0u8; 8];
        assert_eq!(b.read_at(1, &mut buf).ok(), Some(2));
        assert_eq!(b.read_at(9, &mut buf).ok(), Some(0));
    }
}
