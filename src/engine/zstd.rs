//! A zstd reader over every frame of a stream, that checks each frame's content checksum.
//! `ruzstd`'s `StreamingDecoder` reads one frame and never compares the checksum, so a
//! corrupted stream would scan "clean" and a second frame (`cat a.zst b.zst` is a valid
//! stream, and `zstd -d` decodes both) would never be read. Skippable frames are skipped.

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use std::io::{self, BufRead, BufReader, Read};

enum State {
    /// Between frames: the next bytes start a frame, or the stream ends.
    NeedFrame,
    InFrame,
    Done,
}

pub struct ZstdFrames<R: Read> {
    src: BufReader<R>,
    fd: FrameDecoder,
    state: State,
    frames: u64,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

impl<R: Read> ZstdFrames<R> {
    pub fn new(src: R) -> ZstdFrames<R> {
        ZstdFrames {
            src: BufReader::new(src),
            fd: FrameDecoder::new(),
            state: State::NeedFrame,
            frames: 0,
        }
    }

    /// Start the next frame, skipping skippable ones; `false` at the end of the stream.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            if self.src.fill_buf()?.is_empty() {
                if self.frames == 0 {
                    return Err(invalid("the stream is empty".into()));
                }
                return Ok(false);
            }
            match self.fd.reset(&mut self.src) {
                Ok(()) => {
                    self.frames = self.frames.saturating_add(1);
                    return Ok(true);
                }
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let want = u64::from(length);
                    let skipped = io::copy(&mut (&mut self.src).take(want), &mut io::sink())?;
                    if skipped != want {
                        return Err(invalid(format!(
                            "a skippable frame of {want} bytes is cut off after {skipped}"
                        )));
                    }
                    self.frames = self.frames.saturating_add(1);
                }
                Err(e) => {
                    let what = if self.frames == 0 {
                        "not a zstd frame".to_string()
                    } else {
                        format!("after frame {}, bytes that are not a frame", self.frames)
                    };
                    return Err(invalid(format!("{what}: {e}")));
                }
            }
        }
    }

    fn check_frame_end(&self) -> io::Result<()> {
        if let (Some(stored), Some(computed)) = (
            self.fd.get_checksum_from_data(),
            self.fd.get_calculated_checksum(),
        ) {
            if stored != computed {
                return Err(invalid(format!(
                    "frame {} content checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the data is corrupt",
                    self.frames
                )));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::NeedFrame => {
                    self.state = if self.next_frame()? {
                        State::InFrame
                    } else {
                        State::Done
                    };
                }
                State::InFrame => {
                    while self.fd.can_collect() == 0 && !self.fd.is_finished() {
                        self.fd
                            .decode_blocks(&mut self.src, BlockDecodingStrategy::UptoBlocks(1))
                            .map_err(|e| invalid(e.to_string()))?;
                    }
                    let n = self.fd.read(buf)?;
                    if n > 0 {
                        return Ok(n);
                    }
                    if self.fd.is_finished() {
                        self.check_frame_end()?;
                        self.state = State::NeedFrame;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// b"hello\n" compressed by the reference library with a content checksum
    /// (`zstandard.ZstdCompressor(level=3, write_checksum=True)`).
    fn hello() -> Vec<u8> {
        vec![
            0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x06, 0x31, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
            0x0a, 0x53, 0x88, 0xbd, 0x91,
        ]
    }

    fn read_all(b: &[u8]) -> io::Result<Vec<u8>> {
        let mut v = Vec::new();
        ZstdFrames::new(b).read_to_end(&mut v)?;
        Ok(v)
    }

    #[test]
    fn reads_one_frame() {
        assert_eq!(read_all(&hello()).unwrap(), b"hello\n");
    }

    #[test]
    fn reads_every_frame_and_skips_skippable_ones() {
        let mut two = hello();
        // A skippable frame (magic 0x184D2A50, 4-byte length, payload) between two frames.
        two.extend_from_slice(&[0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, b'x', b'y', b'z']);
        two.extend_from_slice(&hello());
        assert_eq!(read_all(&two).unwrap(), b"hello\nhello\n");
    }

    #[test]
    fn a_wrong_checksum_is_an_error() {
        let mut bad = hello();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let e = read_all(&bad).unwrap_err();
        assert!(e.to_string().contains("checksum mismatch"), "{e}");
    }

    #[test]
    fn garbage_after_a_frame_is_an_error() {
        let mut v = hello();
        v.extend_from_slice(b"not a frame at all");
        let e = read_all(&v).unwrap_err();
        assert!(e.to_string().contains("after frame 1"), "{e}");
    }

    #[test]
    fn empty_and_truncated_streams_are_errors() {
        assert!(read_all(b"").is_err());
        let h = hello();
        for cut in 1..h.len() {
            assert!(read_all(&h[..cut]).is_err(), "cut at {cut}");
        }
    }
}
