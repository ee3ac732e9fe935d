//! The read floor: the time it takes merely to list a folder and open, read and close every
//! file in it, doing nothing with the bytes. No scanner can beat it, so ModelScan's time divided
//! by it is the best ratio any scanner could show on the machine `compare.sh` runs on.
//!
//! Built by `benches/compare.sh` with plain `rustc -O` (std only, no crates; kept out of the
//! `cargo bench` targets by living in a subfolder):
//!     read_floor DIR [THREADS]     prints the bytes read
//! With THREADS > 1 the files are shared out over that many threads through one atomic index,
//! as a scanner's work queue would.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

fn list(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            list(&e.path(), out)?;
        } else if t.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

fn read_all(files: &[PathBuf], next: &AtomicUsize) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(p) = files.get(i) else {
            return Ok(total);
        };
        let mut f = std::fs::File::open(p)?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let threads: usize = args.next().and_then(|t| t.parse().ok()).unwrap_or(1).max(1);
    let mut files = Vec::new();
    if dir.is_dir() {
        list(&dir, &mut files)?;
    } else {
        files.push(dir);
    }
    files.sort();
    let next = AtomicUsize::new(0);
    let total = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads)
            .map(|_| s.spawn(|| read_all(&files, &next)))
            .collect();
        let mut total = read_all(&files, &next)?;
        for h in others {
            total += h.join().unwrap_or(Ok(0))?;
        }
        Ok::<u64, std::io::Error>(total)
    })?;
    println!("{total}");
    Ok(())
}
