//! Completing the report's `files[]`: the engine hashes every item while it scans, except
//! top-level files too large to read a second time cheaply during the scan. Here those files are
//! read once more, streaming (a fixed buffer, never the whole file in memory), so every scanned
//! file has its sha256 in the JSON and SARIF reports. Members are always hashed by the engine.

use crate::findings::Outcome;
use crate::findings::Source;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// sha256 of a file on disk, lower-case hex; `None` when it cannot be read.
pub fn sha256_file(path: &Path) -> Option<String> {
    let (mut f, _) = crate::engine::open_regular(path).ok()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(buf.get(..n)?),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(hex(&h.finalize()))
}

/// Lower-case hexadecimal, two digits per byte.
pub fn hex(bytes: &[u8]) -> String {
    let digit = |d: u8| char::from_digit(u32::from(d), 16).unwrap_or('0');
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 15));
    }
    s
}

/// Add the missing hashes of top-level files that the scan saw (scanned, skipped, with an
/// issue or an error, or holding hashed members), each placed before its members.
pub fn complete(out: &mut Outcome) {
    use rayon::prelude::*;
    use std::collections::HashSet;
    // Keyed by the top-level file's relative path: archives can have many members, so no
    // quadratic scans here.
    let hashed: HashSet<&str> = out
        .hashes
        .iter()
        .filter(|(s, _)| s.members.is_empty())
        .map(|(s, _)| &*s.relative)
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut missing: Vec<Source> = Vec::new();
    let candidates = out
        .scanned
        .iter()
        .chain(out.skipped.iter().map(|s| &s.source))
        .chain(out.issues.iter().map(|i| &i.source))
        .chain(out.errors.iter().filter_map(|e| e.source.as_ref()))
        .chain(out.hashes.iter().map(|(s, _)| s));
    for s in candidates {
        if !hashed.contains(&*s.relative) && seen.insert(&*s.relative) {
            missing.push(s.top());
        }
    }
    if missing.is_empty() {
        return;
    }
    let found: Vec<(Source, Option<String>)> = missing
        .into_par_iter()
        .map(|s| {
            let h = sha256_file(&s.absolute);
            (s, h)
        })
        .collect();
    for (s, h) in found {
        let Some(h) = h else { continue };
        let at = out
            .hashes
            .iter()
            .position(|(x, _)| x.relative == s.relative)
            .unwrap_or(out.hashes.len());
        out.hashes.insert(at, (s, h));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_two_lower_case_digits_per_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(super::hex(&[]), "");
    }

    use super::*;
    use std::path::PathBuf;

    #[test]
    fn a_file_hashed_by_nobody_is_hashed_before_its_members() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.zip");
        std::fs::write(&p, b"abc").unwrap();
        let file = Source::file("big.zip".into(), p.clone());
        let mut out = Outcome::default();
        out.hashes.push((file.child("a.pkl"), "00".into()));
        complete(&mut out);
        assert_eq!(out.hashes.len(), 2);
        assert_eq!(out.hashes[0].0, file);
        // sha256("abc")
        assert_eq!(
            out.hashes[0].1,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn files_already_hashed_or_gone_are_left_alone() {
        let gone = Source::file("gone.pkl".into(), PathBuf::from("/nonexistent/gone.pkl"));
        let mut out = Outcome::default();
        out.scanned.push(gone.clone());
        complete(&mut out);
        assert!(out.hashes.is_empty());
        out.hashes.push((gone.clone(), "11".into()));
        complete(&mut out);
        assert_eq!(out.hashes, vec![(gone, "11".to_string())]);
    }
}
