//! The engine: from input paths to an `Outcome` per file. It walks the input, detects each
//! item's format, expands containers into members, and hands leaf items to the scanners. A
//! panic inside one file's scan becomes an error for that file.

pub mod blob;
pub mod detect;

use crate::findings::Source;
use crate::scanners::ScanCtx;
use blob::Blob;

/// Scan bytes found inside the current item as a member of it.
pub fn scan_member(ctx: &mut ScanCtx<'_>, source: Source, blob: Blob) {
    let _ = (ctx, source, blob);
}

pub fn scan() {}
