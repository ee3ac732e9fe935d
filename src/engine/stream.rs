//! Scanning a stream of inputs (`--files-from`, `-r jsonl`): the `-j` workers pull inputs from
//! an iterator as they need them, and each input's results reach a sink on the calling thread
//! as soon as it and every input before it are done. A list of millions of paths is never held
//! in memory: the iterator is read lazily, and at most `WINDOW` finished inputs wait behind a
//! slow one, so the output order is the input order whatever the scheduling.

use super::walk::{self, WalkedFile};
use crate::findings::Outcome;
use crate::findings::{ErrorCategory, ScanErrorEntry, SkipEntry, Source};
use crate::settings::Settings;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Inputs finished ahead of the oldest unfinished one, at most (the reorder buffer).
pub const WINDOW: u64 = 1024;

/// Inputs a worker takes at a time, adapted to how long they take. One hand-over per input
/// costs more than scanning a small pickle (a thread wake-up each way), so a worker whose
/// batches finish quickly takes more at a time; one batch of large files would keep the other
/// workers idle, so a worker whose batches are slow takes fewer. It starts at one.
const CHUNK_MAX: u64 = 64;
/// A batch faster than this doubles the next one; slower than `CHUNK_SLOW` halves it.
const CHUNK_FAST: Duration = Duration::from_millis(2);
const CHUNK_SLOW: Duration = Duration::from_millis(20);

/// The size of a worker's next batch after one of `chunk` inputs took `took`, at most `max`.
fn next_chunk(chunk: u64, took: Duration, max: u64) -> u64 {
    let next = if took < CHUNK_FAST {
        chunk.saturating_mul(2)
    } else if took > CHUNK_SLOW {
        chunk / 2
    } else {
        chunk
    };
    next.clamp(1, max.max(1))
}

/// What the sink wants after a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// One unit of work.
#[derive(Debug)]
pub enum Work {
    /// A path as listed (`--files-from`): a file is scanned, a folder walked and each file in it
    /// scanned. Sources are named after the path as written.
    Listed(PathBuf),
    /// One file found by an earlier walk (`-p FOLDER -r jsonl`).
    Walked(WalkedFile),
    /// Entries an earlier walk made that are not a file's scan (skipped symlinks, unreadable
    /// folders), passed through in order.
    WalkEntries {
        skipped: Vec<SkipEntry>,
        errors: Vec<ScanErrorEntry>,
    },
    /// The list itself could not be read; the run reports it and ends the list there.
    ListError(String),
}

/// One top-level file's scan.
#[derive(Debug)]
pub struct FileDone {
    /// The file (no members).
    pub source: Source,
    /// Its size on disk, if it could be read.
    pub size: Option<u64>,
    /// What the scan found, with the settings' severity overrides and suppressions applied.
    pub outcome: Outcome,
    pub started_at: chrono::DateTime<chrono::Local>,
    pub duration: Duration,
}

/// Everything one unit of work produced, in the order of the input.
#[derive(Debug, Default)]
pub struct InputDone {
    /// Position in the input (0-based).
    pub seq: u64,
    pub files: Vec<FileDone>,
    /// Skips and errors that belong to no file's scan (walk entries, unreadable list).
    pub other: Outcome,
}

/// Scan every input with `settings.jobs` workers and hand each result to `sink`, in input
/// order, on the calling thread; when `sink` returns `Flow::Stop` (its output is gone: a
/// closed pipe), no new input is taken and the run ends. Never panics: a panic while handling
/// one input becomes an error for that input.
pub fn run<I>(inputs: I, settings: &Settings, sink: &mut dyn FnMut(InputDone) -> Flow)
where
    I: Iterator<Item = Work> + Send,
{
    run_mapped(inputs, settings, &|done| done, sink);
}

/// `run`, with `map` applied to each result on the worker that produced it, before the result
/// waits for its turn: what the sink would do to each result that does not depend on the others
/// (rendering a JSON Lines record) is then done in parallel, not on the sink's thread.
pub fn run_mapped<I, T: Send>(
    inputs: I,
    settings: &Settings,
    map: &(dyn Fn(InputDone) -> T + Sync),
    sink: &mut dyn FnMut(T) -> Flow,
) where
    I: Iterator<Item = Work> + Send,
{
    let jobs = settings.jobs.max(1);
    // Every worker can hold a full batch with half the reorder window to spare.
    let chunk_max = (WINDOW / 2 / jobs as u64).clamp(1, CHUNK_MAX);
    let queue = Mutex::new(inputs.enumerate());
    // (reserved, emitted): a worker reserves a batch's slots before it pulls, and waits while
    // that would put more than WINDOW inputs between the oldest unemitted one and the newest.
    let window = (Mutex::new((0u64, 0u64)), Condvar::new());
    let (tx, rx) = mpsc::channel::<Vec<(u64, T)>>();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (queue, window, stop) = (&queue, &window, &stop);
            scope.spawn(move || {
                let mut chunk = 1u64;
                loop {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (lock, cvar) = window;
                    {
                        let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
                        while g.0.saturating_sub(g.1).saturating_add(chunk) > WINDOW {
                            g = cvar.wait(g).unwrap_or_else(|p| p.into_inner());
                        }
                        g.0 = g.0.saturating_add(chunk);
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let batch: Vec<(usize, Work)> = {
                        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                        q.by_ref()
                            .take(usize::try_from(chunk).unwrap_or(1))
                            .collect()
                    };
                    let unused = chunk.saturating_sub(batch.len() as u64);
                    if unused > 0 {
                        let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
                        g.0 = g.0.saturating_sub(unused);
                        cvar.notify_all();
                    }
                    if batch.is_empty() {
                        break;
                    }
                    let began = Instant::now();
                    let results: Vec<(u64, T)> = batch
                        .into_iter()
                        .map(|(seq, work)| {
                            let seq = seq as u64;
                            let done = std::panic::catch_unwind(AssertUnwindSafe(|| {
                                process(seq, work, settings)
                            }))
                            .unwrap_or_else(|_| panicked(seq));
                            (seq, map(done))
                        })
                        .collect();
                    chunk = next_chunk(chunk, began.elapsed(), chunk_max);
                    if tx.send(results).is_err() {
                        break;
                    }
                }
                // Wake the others: the queue is empty or the receiver is gone.
                window.1.notify_all();
            });
        }
        drop(tx);
        let mut pending: BTreeMap<u64, T> = BTreeMap::new();
        let mut next = 0u64;
        for batch in rx {
            if stop.load(Ordering::Relaxed) {
                // The sink asked to stop: what the workers still send is dropped unread.
                continue;
            }
            for (seq, done) in batch {
                pending.insert(seq, done);
            }
            let before = next;
            while let Some(d) = pending.remove(&next) {
                next = next.saturating_add(1);
                if sink(d) == Flow::Stop {
                    stop.store(true, Ordering::Relaxed);
                    pending.clear();
                    // Let waiting workers see the flag; their results are dropped.
                    window.1.notify_all();
                    break;
                }
            }
            if stop.load(Ordering::Relaxed) {
                let (lock, cvar) = &window;
                let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
                g.1 = u64::MAX;
                cvar.notify_all();
                continue;
            }
            if next > before {
                let (lock, cvar) = &window;
                let mut g = lock.lock().unwrap_or_else(|p| p.into_inner());
                g.1 = next;
                cvar.notify_all();
            }
        }
        // Inputs whose predecessor never arrived cannot exist (every pulled input sends one
        // result), but never drop results silently.
        if !stop.load(Ordering::Relaxed) {
            for (_, d) in pending {
                if sink(d) == Flow::Stop {
                    break;
                }
            }
        }
    });
}

fn panicked(seq: u64) -> InputDone {
    let mut other = Outcome::default();
    other.errors.push(ScanErrorEntry {
        category: ErrorCategory::InternalError,
        description: "internal error while handling this input; it was not scanned".into(),
        source: None,
        scan_name: "ModelScan",
    });
    InputDone {
        seq,
        files: Vec::new(),
        other,
    }
}

fn process(seq: u64, work: Work, settings: &Settings) -> InputDone {
    let mut done = InputDone {
        seq,
        ..InputDone::default()
    };
    match work {
        Work::Walked(f) => done.files.push(scan_one(f, settings)),
        Work::WalkEntries { skipped, errors } => {
            done.other.skipped = skipped;
            done.other.errors = errors;
        }
        Work::ListError(msg) => done.other.errors.push(ScanErrorEntry {
            category: ErrorCategory::Io,
            description: msg,
            source: None,
            scan_name: "ModelScan",
        }),
        Work::Listed(path) => {
            let display = path.to_string_lossy().into_owned();
            let is_dir = std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
            let walked = walk::walk(&path);
            let prefix = |s: &mut Source| rebase(s, &display, is_dir);
            for mut e in walked.skipped {
                prefix(&mut e.source);
                done.other.skipped.push(e);
            }
            for mut e in walked.errors {
                if let Some(s) = e.source.as_mut() {
                    prefix(s);
                }
                done.other.errors.push(e);
            }
            for mut f in walked.files {
                prefix(&mut f.source);
                done.files.push(scan_one(f, settings));
            }
        }
    }
    done
}

/// Name a walked source after the listed path: the path itself for a file, `path/relative`
/// for a file inside a listed folder.
fn rebase(source: &mut Source, listed: &str, is_dir: bool) {
    source.relative = if is_dir {
        format!("{}/{}", listed.trim_end_matches('/'), source.relative).into()
    } else {
        listed.into()
    };
}

fn scan_one(f: WalkedFile, settings: &Settings) -> FileDone {
    let started_at = chrono::Local::now();
    let t = Instant::now();
    let mut outcome = super::scan_file(&f.source, settings);
    super::policy::apply(&mut outcome, settings);
    // The walk's size if it read one, else the size seen when the scan opened the file.
    let size = f.size.or(outcome.file_size);
    FileDone {
        size,
        source: f.source,
        outcome,
        started_at,
        duration: t.elapsed(),
    }
}

/// The paths of a `--files-from` list, read lazily: one per line (`\n` or `\r\n`), or one per
/// NUL-terminated record with `nul`; empty entries are ignored; names are taken byte for byte
/// (no trimming, no quoting). A path listed again, as written or under another name of the same
/// file or folder (`./a.pkl`, a symlink, a hard link), is scanned once: where it was first
/// listed. A read error ends the list with a `Work::ListError`.
pub fn list_reader<R: BufRead + Send>(reader: R, nul: bool) -> impl Iterator<Item = Work> + Send {
    let sep = if nul { b'\0' } else { b'\n' };
    let mut failed = false;
    let mut seen = Seen::default();
    reader
        .split(sep)
        .map_while(move |r| {
            if failed {
                return None;
            }
            Some(match r {
                Ok(mut bytes) => {
                    if !nul && bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                    if bytes.is_empty() {
                        None
                    } else {
                        let path = path_from_bytes(bytes);
                        seen.first_time(&path).then_some(Work::Listed(path))
                    }
                }
                Err(e) => {
                    failed = true;
                    Some(Work::ListError(format!(
                        "cannot read the list of paths: {e}"
                    )))
                }
            })
        })
        .flatten()
}

/// The listed paths so far, as 16-byte keys (not the paths themselves, so a list of millions
/// stays small): the file's identity when it exists (device and inode on Unix, so every name
/// of one file or folder is one key; the canonical path elsewhere), else the path as written.
#[derive(Default)]
struct Seen(std::collections::HashSet<Identity>);

#[derive(PartialEq, Eq, Hash)]
enum Identity {
    Inode(u64, u64),
    /// The first half of the sha256 of a path.
    Named([u8; 16]),
}

impl Seen {
    fn first_time(&mut self, path: &Path) -> bool {
        self.0.insert(identity(path))
    }
}

fn identity(path: &Path) -> Identity {
    #[cfg(unix)]
    if let Ok(m) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        return Identity::Inode(m.dev(), m.ino());
    }
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    match std::fs::canonicalize(path) {
        Ok(c) => {
            h.update(b"canonical\0");
            h.update(c.as_os_str().as_encoded_bytes());
        }
        Err(_) => {
            h.update(b"as written\0");
            h.update(path.as_os_str().as_encoded_bytes());
        }
    }
    let mut key = [0u8; 16];
    for (k, d) in key.iter_mut().zip(h.finalize().iter()) {
        *k = *d;
    }
    Identity::Named(key)
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

/// The work for `-p PATH` as a stream: each file, skip and error in walk order.
pub fn walked_work(path: &Path) -> (PathBuf, impl Iterator<Item = Work> + Send) {
    // Lazily: the walk lists one folder at a time as the scan asks for files, so memory does
    // not grow with the number of files.
    let it = walk::walk_iter(path, false);
    let root = it.absolute_root.clone();
    let work = it.map(|found| match found {
        walk::Found::File(f) => Work::Walked(f),
        walk::Found::Skipped(s) => Work::WalkEntries {
            skipped: vec![s],
            errors: Vec::new(),
        },
        walk::Found::Error(e) => Work::WalkEntries {
            skipped: Vec::new(),
            errors: vec![e],
        },
    });
    (root, work)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(w: Vec<Work>) -> Vec<String> {
        w.into_iter()
            .map(|w| match w {
                Work::Listed(p) => p.to_string_lossy().into_owned(),
                Work::ListError(e) => format!("ERR {e}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn lists_are_split_on_newlines_or_nuls_without_trimming() {
        let text = b"a.pkl\r\n\n spaced name.bin \nlast";
        let got = listed(list_reader(&text[..], false).collect());
        assert_eq!(got, ["a.pkl", " spaced name.bin ", "last"]);
        let nul = b"with\nnewline.pkl\0\0b.pt\0";
        let got = listed(list_reader(&nul[..], true).collect());
        assert_eq!(got, ["with\nnewline.pkl", "b.pt"]);
    }

    struct Failing(u8);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("disk on fire"));
            }
            self.0 -= 1;
            // A different name each time: a name listed twice is taken once.
            let line = [b'a' + self.0, b'.', b'p', b'k', b'l', b'\n'];
            let n = line.len().min(buf.len());
            buf[..n].copy_from_slice(&line[..n]);
            Ok(n)
        }
    }

    #[test]
    fn a_name_listed_again_is_taken_once() {
        let text = b"no-such-a.pkl\nno-such-b.pkl\nno-such-a.pkl\n";
        let got = listed(list_reader(&text[..], false).collect());
        assert_eq!(got, ["no-such-a.pkl", "no-such-b.pkl"]);
    }

    #[test]
    fn a_read_error_ends_the_list_with_an_error_entry() {
        let r = std::io::BufReader::with_capacity(6, Failing(2));
        let got = listed(list_reader(r, false).collect());
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[..2], ["b.pkl", "a.pkl"]);
        assert!(got[2].starts_with("ERR cannot read the list of paths: disk on fire"));
    }

    #[test]
    fn results_come_in_input_order_whatever_the_workers_do() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for i in 0..200 {
            let p = dir.path().join(format!("f{i:03}.pkl"));
            // Some large-ish, some tiny, some missing: finishing order differs from input order.
            if i % 7 != 3 {
                let body = if i % 5 == 0 {
                    let mut v = vec![0x80, 4, 0x95];
                    v.extend_from_slice(&[0u8; 8]);
                    v.extend(std::iter::repeat_n(0x4e, 20_000));
                    v.push(0x2e);
                    v
                } else {
                    b"N.".to_vec()
                };
                std::fs::write(&p, body).unwrap();
            }
            paths.push(p);
        }
        let mut settings = Settings::defaults();
        settings.jobs = 4;
        let mut seen = Vec::new();
        run(
            paths.clone().into_iter().map(Work::Listed),
            &settings,
            &mut |d| {
                assert_eq!(d.files.len(), 1);
                seen.push((d.seq, d.files[0].source.relative.to_string()));
                Flow::Continue
            },
        );
        let want: Vec<(u64, String)> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u64, p.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(seen, want);
        // The same with the results mapped on the workers: same order, mapped values.
        let mut mapped = Vec::new();
        run_mapped(
            paths.clone().into_iter().map(Work::Listed),
            &settings,
            &|d: InputDone| (d.seq, d.files.len(), d.files[0].source.relative.to_string()),
            &mut |m| {
                mapped.push(m);
                Flow::Continue
            },
        );
        let want: Vec<(u64, usize, String)> = want.into_iter().map(|(i, p)| (i, 1, p)).collect();
        assert_eq!(mapped, want);
    }

    #[test]
    fn a_listed_folder_names_its_files_under_the_listed_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("m")).unwrap();
        std::fs::write(dir.path().join("m/a.pkl"), b"N.").unwrap();
        std::fs::write(dir.path().join("m/b.pkl"), b"N.").unwrap();
        let listed = format!("{}/m/", dir.path().display());
        let d = process(
            7,
            Work::Listed(PathBuf::from(&listed)),
            &Settings::defaults(),
        );
        assert_eq!(d.seq, 7);
        let names: Vec<_> = d
            .files
            .iter()
            .map(|f| f.source.relative.to_string())
            .collect();
        let base = listed.trim_end_matches('/');
        assert_eq!(names, [format!("{base}/a.pkl"), format!("{base}/b.pkl")]);
        assert!(d.files.iter().all(|f| f.size == Some(2)));
    }

    #[test]
    fn the_window_bounds_what_waits_behind_a_slow_input() {
        // A sink that records how far ahead of the emitted position the input was pulled.
        let settings = Settings {
            jobs: 2,
            ..Settings::defaults()
        };
        let pulled = std::sync::atomic::AtomicU64::new(0);
        let max_ahead = std::sync::atomic::AtomicU64::new(0);
        let emitted = std::sync::atomic::AtomicU64::new(0);
        let n = WINDOW * 3;
        let inputs = (0..n).map(|_| {
            let p = pulled.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            let e = emitted.load(std::sync::atomic::Ordering::SeqCst);
            max_ahead.fetch_max(p.saturating_sub(e), std::sync::atomic::Ordering::SeqCst);
            Work::WalkEntries {
                skipped: Vec::new(),
                errors: Vec::new(),
            }
        });
        let mut count = 0u64;
        run(inputs, &settings, &mut |d| {
            assert_eq!(d.seq, count);
            count += 1;
            emitted.store(count, std::sync::atomic::Ordering::SeqCst);
            Flow::Continue
        });
        assert_eq!(count, n);
        assert!(max_ahead.load(std::sync::atomic::Ordering::SeqCst) <= WINDOW);
    }

    #[test]
    fn batches_grow_while_quick_and_shrink_when_slow_within_their_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(next_chunk(1, ms(0), 64), 2);
        assert_eq!(next_chunk(32, ms(1), 64), 64);
        assert_eq!(next_chunk(64, ms(1), 64), 64);
        assert_eq!(next_chunk(16, ms(1), 16), 16);
        assert_eq!(next_chunk(8, ms(5), 64), 8);
        assert_eq!(next_chunk(8, ms(50), 64), 4);
        assert_eq!(next_chunk(1, ms(500), 64), 1);
        assert_eq!(next_chunk(1, ms(0), 0), 1);
        // From one, a run of quick batches reaches the cap in a few steps.
        let mut c = 1;
        for _ in 0..6 {
            c = next_chunk(c, ms(0), 64);
        }
        assert_eq!(c, 64);
    }

    #[test]
    fn a_sink_that_stops_ends_the_run_without_taking_the_rest() {
        let settings = Settings {
            jobs: 2,
            ..Settings::defaults()
        };
        let pulled = std::sync::atomic::AtomicU64::new(0);
        let n = 100_000u64;
        let inputs = (0..n).map(|_| {
            pulled.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Work::WalkEntries {
                skipped: Vec::new(),
                errors: Vec::new(),
            }
        });
        let mut got = 0u64;
        run(inputs, &settings, &mut |_| {
            got += 1;
            if got == 10 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        assert_eq!(got, 10);
        // At most the window plus a chunk per worker was taken, not the whole list.
        assert!(pulled.load(std::sync::atomic::Ordering::SeqCst) <= WINDOW + 2 * CHUNK_MAX);
    }

    /// A folder walk is lazy: a folder is listed only when the scan reaches it, so memory does
    /// not grow with the number of files (a file added to a later folder after the first file
    /// was handed out is still found; one added to a listed folder is not).
    #[test]
    fn the_walk_lists_each_folder_only_when_the_scan_reaches_it() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["a", "b"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
            std::fs::write(dir.path().join(d).join("1.pkl"), b"N.").unwrap();
        }
        let (_, mut work) = walked_work(dir.path());
        let name = |w: Option<Work>| match w {
            Some(Work::Walked(f)) => f.source.relative.to_string(),
            other => format!("{other:?}"),
        };
        assert_eq!(name(work.next()), "a/1.pkl");
        std::fs::write(dir.path().join("a").join("2.pkl"), b"N.").unwrap();
        std::fs::write(dir.path().join("b").join("2.pkl"), b"N.").unwrap();
        let rest: Vec<String> = work.map(|w| name(Some(w))).collect();
        assert_eq!(rest, ["b/1.pkl", "b/2.pkl"]);
    }
}
