//! Small scan inputs built in a temp dir, shared by the report tests (JSON schema, SARIF,
//! snapshots, CI policy): a malicious pickle, a zip holding one, a clean pickle, a truncated
//! pickle, an unsupported file and a name that needs percent-encoding. Built from bytes here so
//! the reports do not change when the fixture corpus is regenerated.

use std::io::Write;
use std::path::{Path, PathBuf};

/// `os.system('echo hi')`, protocol 0 (ModelScan's own test payload): CRITICAL at byte 0.
pub const EVIL: &[u8] = b"cposix\nsystem\n(S'echo hi'\ntR.";
/// `{'a': 1}`, protocol 4.
pub const CLEAN: &[u8] = b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
/// A pickle cut off in its second opcode: an error.
pub const TRUNCATED: &[u8] = b"\x80\x04\x8c\x05hello";
/// Two PROTO opcodes: a MEDIUM `pickle.anomaly` and nothing else.
pub const ANOMALY: &[u8] = b"\x80\x02\x80\x02N.";

/// A stored zip with `members` (fixed timestamps, so the bytes never change).
pub fn zip_bytes(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

pub fn write(dir: &Path, files: &[(&str, &[u8])]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// The mixed case: `<root>/case/` with an issue in a top-level file, an issue in a zip member,
/// a clean file, an error and an unsupported file. Returns the temp dir and `case`'s path.
pub fn mixed() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let bundle = zip_bytes(&[("archive/data.pkl", EVIL), ("notes.txt", b"read me\n")]);
    write(
        &case,
        &[
            ("evil.pkl", EVIL),
            ("bundle.zip", &bundle),
            ("clean copy #1.pkl", CLEAN),
            ("broken.pkl", TRUNCATED),
            ("readme.txt", b"not a model\n"),
        ],
    );
    (dir, case)
}

/// A folder with only clean files.
pub fn clean() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    write(&case, &[("clean.pkl", CLEAN), ("model.pkl", CLEAN)]);
    (dir, case)
}
