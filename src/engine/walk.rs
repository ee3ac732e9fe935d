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
    let abs = normalize(&absolute(path));
    let mut w = Walked::default();
    let meta = std::fs::metadata(&abs);
    if meta.as_ref().is_ok_and(std::fs::Metadata::is_dir) {
        w.absolute_root = abs.clone();
        let canon_root = std::fs::canonicalize(&abs).unwrap_or_else(|_| abs.clone());
        let allowed = allowed_roots(&canon_root);
        let mut visited = HashSet::new();
        visited.insert(canon_root.clone());
        let mut walker = Walker {
            allowed: &allowed,
            visited: &mut visited,
            sizes,
            w: &mut w,
        };
        walker.dir(&abs, "");
    } else {
        w.absolute_root = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = Source::file(name, abs);
        match meta {
            Ok(m) if !m.is_file() => w.skipped.push(not_a_regular_file(source, &m.file_type())),
            // A path that cannot be read is left to the scan, which says why it cannot open it.
            meta => w.files.push(WalkedFile {
                source,
                size: meta.ok().map(|m| m.len()),
            }),
        }
    }
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

struct Walker<'a> {
    allowed: &'a [PathBuf],
    visited: &'a mut HashSet<PathBuf>,
    sizes: bool,
    w: &'a mut Walked,
}

impl Walker<'_> {
    /// Walk `dir`, which is `rel` below the root ("" for the root itself).
    fn dir(&mut self, dir: &Path, rel: &str) {
        // Sorted by name: the same order as by path (all share `dir`), without splitting every
        // path into components at each comparison. The type comes from the listing itself
        // (`d_type`; std stats only where the file system leaves it unknown).
        let mut entries: Vec<(std::ffi::OsString, Option<std::fs::FileType>)> =
            match std::fs::read_dir(dir) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok().map(|e| (e.file_name(), e.file_type().ok())))
                    .collect(),
                Err(e) => {
                    self.w.errors.push(ScanErrorEntry {
                        category: ErrorCategory::Io,
                        description: format!("cannot read folder: {e}"),
                        source: Some(Source::file(rel.to_string(), dir.to_path_buf())),
                        scan_name: "ModelScan",
                    });
                    return;
                }
            };
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, file_type) in entries {
            let Some(file_type) = file_type else {
                continue;
            };
            let p = dir.join(&name);
            // The path below the root, built from the parent's (not by taking `p` apart).
            let name = name.to_string_lossy();
            let child_rel = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            if file_type.is_symlink() {
                self.symlink(&p, &child_rel);
            } else if file_type.is_dir() {
                self.dir(&p, &child_rel);
            } else if file_type.is_file() {
                let size = if self.sizes {
                    std::fs::symlink_metadata(&p).ok().map(|m| m.len())
                } else {
                    None
                };
                self.w.files.push(WalkedFile {
                    source: Source::file(child_rel, p),
                    size,
                });
            } else {
                self.w
                    .skipped
                    .push(not_a_regular_file(Source::file(child_rel, p), &file_type));
            }
        }
    }

    /// Followed only while it stays inside the allowed roots.
    fn symlink(&mut self, p: &Path, rel: &str) {
        let source = || Source::file(rel.to_string(), p.to_path_buf());
        match std::fs::canonicalize(p) {
            Ok(t) if self.allowed.iter().any(|a| t.starts_with(a)) => {
                let target_meta = std::fs::metadata(&t);
                let is_dir = target_meta.as_ref().is_ok_and(std::fs::Metadata::is_dir);
                let is_file = target_meta.as_ref().is_ok_and(std::fs::Metadata::is_file);
                if is_dir {
                    if self.visited.insert(t.clone()) {
                        self.dir(p, rel);
                    }
                } else if is_file {
                    self.w.files.push(WalkedFile {
                        source: source(),
                        size: target_meta.ok().map(|m| m.len()),
                    });
                } else if let Ok(m) = target_meta {
                    self.w
                        .skipped
                        .push(not_a_regular_file(source(), &m.file_type()));
                }
            }
            Ok(t) => self.w.skipped.push(SkipEntry {
                category: SkipCategory::Symlink,
                description: format!(
                    "symlink points outside the scanned folder (to {}); not followed",
                    t.display()
                ),
                source: source(),
                scan_name: "ModelScan",
            }),
            Err(e) => self.w.skipped.push(SkipEntry {
                category: SkipCategory::Symlink,
                description: format!("broken symlink: {e}"),
                source: source(),
                scan_name: "ModelScan",
            }),
        }
    }
}
