//! Input walking: a file, or a folder walked recursively in sorted order so reports are
//! reproducible. Symlinks are followed only while they stay inside the scanned root (or, in a
//! Hugging Face cache, inside the model's own `blobs/` folder); others are listed as skipped
//! with the reason. Unreadable folders are errors; the walk goes on. What is not a regular file
//! (a FIFO, a socket, a device) is listed as skipped with its kind, never opened: opening a FIFO
//! waits for a writer, and reading a device may never end.

use crate::findings::{ErrorCategory, ScanErrorEntry, SkipCategory, SkipEntry, Source};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct WalkedFile {
    pub source: Source,
    /// Size on disk (of the target, for a symlink), when the walk was asked for sizes
    /// (`walk_sized`) and could read it. A plain walk reads the file types from the folder
    /// listing and stats nothing: the scan learns each size when it opens the file.
    pub size: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<WalkedFile>,
    pub skipped: Vec<SkipEntry>,
    pub errors: Vec<ScanErrorEntry>,
    /// ModelScan's `absolute_path`: the folder, or a file's parent folder.
    pub absolute_root: PathBuf,
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// Lexically normalised absolute path (no symlink resolution): `a/./b/../c` -> `a/c`.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Walk `path`; files found in a folder come without their size.
pub fn walk(path: &Path) -> Walked {
    walk_with(path, false)
}

/// `walk`, with each file's size (one `stat` per file; for a progress display's total).
pub fn walk_sized(path: &Path) -> Walked {
    walk_with(path, true)
}

fn walk_with(path: &Path, sizes: bool) -> Walked {
    let mut it = walk_iter(path, sizes);
    let mut w = Walked::default();
    for found in it.by_ref() {
        match found {
            Found::File(f) => w.files.push(f),
            Found::Skipped(s) => w.skipped.push(s),
            Found::Error(e) => w.errors.push(e),
        }
    }
    w.absolute_root = it.absolute_root;
    w
}

/// What kind of thing that is not a regular file or a folder is.
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
    }
    if t.is_dir() {
        "a folder"
    } else {
        "not a regular file"
    }
}

fn not_a_regular_file(source: Source, t: &std::fs::FileType) -> SkipEntry {
    SkipEntry {
        category: SkipCategory::NotARegularFile,
        description: format!("not a regular file ({}); not read", kind_of(t)),
        source,
        scan_name: "ModelScan",
    }
}

/// Where symlinks may lead: the root itself, and for a folder inside a Hugging Face cache
/// (`models--org--name/snapshots/<rev>`), that model's `blobs/` folder.
fn allowed_roots(root: &Path) -> Vec<PathBuf> {
    let mut v = vec![root.to_path_buf()];
    for anc in root.ancestors() {
        let is_model_dir = anc.file_name().is_some_and(|n| {
            n.to_string_lossy().starts_with("models--")
                || n.to_string_lossy().starts_with("datasets--")
        });
        if is_model_dir {
            v.push(anc.join("blobs"));
            break;
        }
    }
    v
}

/// One thing the walk found, in walk order.
#[derive(Debug)]
pub enum Found {
    File(WalkedFile),
    Skipped(SkipEntry),
    Error(ScanErrorEntry),
}

/// A folder being listed: its remaining entries, sorted by name.
struct Level {
    dir: PathBuf,
    /// The folder's path below the root ("" for the root itself).
    rel: String,
    entries: std::vec::IntoIter<(std::ffi::OsString, Option<std::fs::FileType>)>,
}

/// The walk as an iterator: it holds the listings of the folders on the current path only, so a
/// tree of any number of files is walked in memory that grows with its depth and the width of
/// its folders, never with the number of files.
pub struct WalkIter {
    allowed: Vec<PathBuf>,
    visited: HashSet<PathBuf>,
    sizes: bool,
    stack: Vec<Level>,
    /// Found before the first folder is listed (the single file of a file walk).
    ready: Option<Found>,
    /// ModelScan's `absolute_path`: the folder, or a file's parent folder.
    pub absolute_root: PathBuf,
}

/// Walk `path` lazily; files found in a folder come without their size unless `sizes`.
pub fn walk_iter(path: &Path, sizes: bool) -> WalkIter {
    let abs = normalize(&absolute(path));
    let mut it = WalkIter {
        allowed: Vec::new(),
        visited: HashSet::new(),
        sizes,
        stack: Vec::new(),
        ready: None,
        absolute_root: PathBuf::new(),
    };
    let meta = std::fs::metadata(&abs);
    if meta.as_ref().is_ok_and(std::fs::Metadata::is_dir) {
        it.absolute_root = abs.clone();
        let canon_root = std::fs::canonicalize(&abs).unwrap_or_else(|_| abs.clone());
        it.allowed = allowed_roots(&canon_root);
        it.visited.insert(canon_root);
        it.ready = it.enter(&abs, String::new());
    } else {
        it.absolute_root = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = Source::file(name, abs);
        it.ready = Some(match meta {
            Ok(m) if !m.is_file() => Found::Skipped(not_a_regular_file(source, &m.file_type())),
            // A path that cannot be read is left to the scan, which says why it cannot open it.
            meta => Found::File(WalkedFile {
                source,
                size: meta.ok().map(|m| m.len()),
            }),
        });
    }
    it
}

impl WalkIter {
    /// List `dir` (`rel` below the root) and push it; an unreadable folder is an error entry.
    fn enter(&mut self, dir: &Path, rel: String) -> Option<Found> {
        // Sorted by name: the same order as by path (all share `dir`), without splitting every
        // path into components at each comparison. The type comes from the listing itself
        // (`d_type`; std stats only where the file system leaves it unknown).
        let mut entries: Vec<(std::ffi::OsString, Option<std::fs::FileType>)> =
            match std::fs::read_dir(dir) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok().map(|e| (e.file_name(), e.file_type().ok())))
                    .collect(),
                Err(e) => {
                    return Some(Found::Error(ScanErrorEntry {
                        category: ErrorCategory::Io,
                        description: format!("cannot read folder: {e}"),
                        source: Some(Source::file(rel, dir.to_path_buf())),
                        scan_name: "ModelScan",
                    }));
                }
            };
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.stack.push(Level {
            dir: dir.to_path_buf(),
            rel,
            entries: entries.into_iter(),
        });
        None
    }

    /// What the entry `name` of the folder on top of the stack is (a folder is entered).
    fn entry(&mut self, name: &std::ffi::OsStr, file_type: std::fs::FileType) -> Option<Found> {
        let level = self.stack.last()?;
        let p = level.dir.join(name);
        // The path below the root, built from the parent's (not by taking `p` apart).
        let name = name.to_string_lossy();
        let child_rel = if level.rel.is_empty() {
            name.into_owned()
        } else {
            format!("{}/{name}", level.rel)
        };
        if file_type.is_symlink() {
            self.symlink(&p, child_rel)
        } else if file_type.is_dir() {
            self.enter(&p, child_rel)
        } else if file_type.is_file() {
            let size = if self.sizes {
                std::fs::symlink_metadata(&p).ok().map(|m| m.len())
            } else {
                None
            };
            Some(Found::File(WalkedFile {
                source: Source::file(child_rel, p),
                size,
            }))
        } else {
            Some(Found::Skipped(not_a_regular_file(
                Source::file(child_rel, p),
                &file_type,
            )))
        }
    }

    /// Followed only while it stays inside the allowed roots.
    fn symlink(&mut self, p: &Path, rel: String) -> Option<Found> {
        let source = |rel: String| Source::file(rel, p.to_path_buf());
        match std::fs::canonicalize(p) {
            Ok(t) if self.allowed.iter().any(|a| t.starts_with(a)) => {
                let target_meta = std::fs::metadata(&t);
                let is_dir = target_meta.as_ref().is_ok_and(std::fs::Metadata::is_dir);
                let is_file = target_meta.as_ref().is_ok_and(std::fs::Metadata::is_file);
                if is_dir {
                    if self.visited.insert(t) {
                        return self.enter(p, rel);
                    }
                    None
                } else if is_file {
                    Some(Found::File(WalkedFile {
                        source: source(rel),
                        size: target_meta.ok().map(|m| m.len()),
                    }))
                } else if let Ok(m) = target_meta {
                    Some(Found::Skipped(not_a_regular_file(
                        source(rel),
                        &m.file_type(),
                    )))
                } else {
                    None
                }
            }
            Ok(t) => Some(Found::Skipped(SkipEntry {
                category: SkipCategory::Symlink,
                description: format!(
                    "symlink points outside the scanned folder (to {}); not followed",
                    t.display()
                ),
                source: source(rel),
                scan_name: "ModelScan",
            })),
            Err(e) => Some(Found::Skipped(SkipEntry {
                category: SkipCategory::Symlink,
                description: format!("broken symlink: {e}"),
                source: source(rel),
                scan_name: "ModelScan",
            })),
        }
    }
}

impl Iterator for WalkIter {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        if let Some(f) = self.ready.take() {
            return Some(f);
        }
        loop {
            let level = self.stack.last_mut()?;
            let Some((name, file_type)) = level.entries.next() else {
                self.stack.pop();
                continue;
            };
            let Some(file_type) = file_type else {
                continue;
            };
            if let Some(f) = self.entry(&name, file_type) {
                return Some(f);
            }
        }
    }
}
