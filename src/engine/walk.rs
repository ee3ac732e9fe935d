//! Input walking: a file, or a folder walked recursively in sorted order so reports are
//! reproducible. Symlinks are followed only while they stay inside the scanned root (or, in a
//! Hugging Face cache, inside the model's own `blobs/` folder); others are listed as skipped
//! with the reason. Unreadable folders are errors; the walk goes on.

use crate::findings::{ErrorCategory, ScanErrorEntry, SkipCategory, SkipEntry, Source};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct WalkedFile {
    pub source: Source,
    /// Size on disk (of the target, for a symlink) from the walk's own `stat`, so the engine
    /// does not stat every file again; 0 when it could not be read.
    pub size: u64,
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
fn normalize(p: &Path) -> PathBuf {
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

pub fn walk(path: &Path) -> Walked {
    let abs = normalize(&absolute(path));
    let mut w = Walked::default();
    let meta = std::fs::metadata(&abs);
    if meta.as_ref().is_ok_and(std::fs::Metadata::is_dir) {
        w.absolute_root = abs.clone();
        let canon_root = std::fs::canonicalize(&abs).unwrap_or_else(|_| abs.clone());
        let allowed = allowed_roots(&canon_root);
        let mut visited = HashSet::new();
        visited.insert(canon_root.clone());
        walk_dir(&abs, &abs, &allowed, &mut visited, &mut w);
    } else {
        w.absolute_root = abs.parent().map(Path::to_path_buf).unwrap_or_default();
        let name = abs
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        w.files.push(WalkedFile {
            source: Source::file(name, abs),
            size: meta.map_or(0, |m| m.len()),
        });
    }
    w
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

fn walk_dir(
    root: &Path,
    dir: &Path,
    allowed: &[PathBuf],
    visited: &mut HashSet<PathBuf>,
    w: &mut Walked,
) {
    // Sorted by name: the same order as by path (all share `dir`), without splitting every
    // path into components at each comparison.
    let mut entries: Vec<(std::ffi::OsString, PathBuf)> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| (e.file_name(), e.path())))
            .collect(),
        Err(e) => {
            w.errors.push(ScanErrorEntry {
                category: ErrorCategory::Io,
                description: format!("cannot read folder: {e}"),
                source: Some(source_for(root, dir)),
                scan_name: "ModelScan",
            });
            return;
        }
    };
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (_, p) in entries {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        let mut is_dir = meta.is_dir();
        let mut is_file = meta.is_file();
        let mut size = meta.len();
        if meta.file_type().is_symlink() {
            let target = std::fs::canonicalize(&p);
            match target {
                Ok(t) if allowed.iter().any(|a| t.starts_with(a)) => {
                    let target_meta = std::fs::metadata(&t);
                    is_dir = target_meta.as_ref().is_ok_and(std::fs::Metadata::is_dir);
                    is_file = target_meta.as_ref().is_ok_and(std::fs::Metadata::is_file);
                    size = target_meta.map_or(0, |m| m.len());
                    if is_dir && !visited.insert(t.clone()) {
                        continue;
                    }
                }
                Ok(t) => {
                    w.skipped.push(SkipEntry {
                        category: SkipCategory::Symlink,
                        description: format!(
                            "symlink points outside the scanned folder (to {}); not followed",
                            t.display()
                        ),
                        source: source_for(root, &p),
                        scan_name: "ModelScan",
                    });
                    continue;
                }
                Err(e) => {
                    w.skipped.push(SkipEntry {
                        category: SkipCategory::Symlink,
                        description: format!("broken symlink: {e}"),
                        source: source_for(root, &p),
                        scan_name: "ModelScan",
                    });
                    continue;
                }
            }
        }
        if is_dir {
            walk_dir(root, &p, allowed, visited, w);
        } else if is_file {
            w.files.push(WalkedFile {
                source: source_for(root, &p),
                size,
            });
        }
    }
}

fn source_for(root: &Path, p: &Path) -> Source {
    let rel = p
        .strip_prefix(root)
        .map(|r| r.to_string_lossy().into_owned())
        .unwrap_or_else(|_| p.to_string_lossy().into_owned());
    Source::file(rel, p.to_path_buf())
}
