//! `modelscan inspect`: format, disassembly with offsets, imports with verdicts and findings,
//! for files, zip members (also nested), numpy object arrays and compressed pickles; bounded by
//! `--max-ops`; strings from the file escaped; exit status of the inspected part.

use crate::common::{fixture, modelscan};
use crate::report_cases::{CLEAN, EVIL, write, zip_bytes};

fn inspect(cwd: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = modelscan(cwd).arg("inspect").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_pickle_is_disassembled_with_offsets_imports_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("evil.pkl", EVIL)]);
    let (code, out, _) = inspect(dir.path(), &["evil.pkl"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Format: pickle"), "{out}");
    for line in [
        "         0: GLOBAL           posix system",
        "        14: MARK",
        "        15: STRING           'echo hi'\n",
        "        26: TUPLE",
        "        27: REDUCE",
        "        28: STOP",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    assert!(
        out.contains("  at byte        0  posix.system  [DANGEROUS CRITICAL"),
        "{out}"
    );
    assert!(out.contains("[DANGEROUS CRITICAL"), "{out}");
    assert!(
        out.contains("CRITICAL pickle.dangerous-global at byte 0"),
        "{out}"
    );
    assert!(
        out.contains("Verdict: issues found (worst CRITICAL)"),
        "{out}"
    );
}

#[test]
fn a_clean_pickle_inspects_clean() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("clean.pkl", CLEAN)]);
    let (code, out, _) = inspect(dir.path(), &["clean.pkl"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Imports ---\n\n(none)"), "{out}");
    assert!(out.contains("Verdict: no issues found"), "{out}");
}

#[test]
fn zip_members_are_listed_and_inspected_by_name_also_nested() {
    let dir = tempfile::tempdir().unwrap();
    let inner = zip_bytes(&[("data.pkl", EVIL)]);
    let outer = zip_bytes(&[("archive/data.pkl", CLEAN), ("inner.zip", &inner)]);
    write(dir.path(), &[("outer.zip", &outer)]);

    let (code, out, _) = inspect(dir.path(), &["outer.zip"]);
    assert_eq!(code, 1);
    assert!(out.contains("Format: zip"), "{out}");
    assert!(
        out.contains("archive/data.pkl") && out.contains("inner.zip"),
        "{out}"
    );
    assert!(out.contains("in outer.zip:inner.zip:data.pkl"), "{out}");

    let (code, out, _) = inspect(dir.path(), &["outer.zip:archive/data.pkl"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("EMPTY_DICT"), "{out}");
    assert!(out.contains("Verdict: no issues found"), "{out}");

    let (code, out, _) = inspect(dir.path(), &["outer.zip:inner.zip:data.pkl"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("GLOBAL           posix system"), "{out}");

    let (code, _, err) = inspect(dir.path(), &["outer.zip:missing.pkl"]);
    assert_eq!(code, 4);
    assert!(err.contains("no member 'missing.pkl'"), "{err}");
}

#[test]
fn numpy_object_arrays_and_compressed_pickles_are_disassembled() {
    let dir = tempfile::tempdir().unwrap();
    let npy = fixture("numpy/malicious/object_array_payload.npy");
    let (code, out, _) = inspect(dir.path(), &[npy.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("numpy object array: its pickle starts at byte"),
        "{out}"
    );
    assert!(out.contains("STACK_GLOBAL"), "{out}");

    let gz = fixture("pickle-gz/malicious/os_system.pkl.gz");
    let (code, out, _) = inspect(dir.path(), &[gz.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Format: gzip"), "{out}");
    assert!(out.contains("decompressed content: pickle"), "{out}");
    assert!(out.contains("system"), "{out}");
}

#[test]
fn max_ops_bounds_the_listing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("evil.pkl", EVIL)]);
    let (_, out, _) = inspect(dir.path(), &["evil.pkl", "--max-ops", "2"]);
    assert!(out.contains("listing stopped after 2 opcodes"), "{out}");
    assert!(!out.contains("REDUCE"), "{out}");
}

#[test]
fn strings_from_the_file_are_escaped_in_inspect() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[("x.pkl", b"cposix\nsys\x1b[2Jtem\n(S'\xe2\x80\xaeecho'\ntR.")],
    );
    let (_, out, _) = inspect(dir.path(), &["x.pkl"]);
    assert!(
        !out.contains('\x1b'),
        "raw escape reached the terminal: {out}"
    );
    assert!(
        !out.contains('\u{202e}'),
        "raw bidi override reached the terminal: {out}"
    );
    assert!(out.contains("\\u{1b}[2J"), "{out}");
}

#[test]
fn inspect_of_a_missing_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = inspect(dir.path(), &["nothing.pkl"]);
    assert_eq!(code, 4);
    assert!(err.contains("nothing.pkl"), "{err}");
}

#[test]
fn show_imports_lists_each_pickles_imports_with_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("evil.pkl", EVIL), ("clean.pkl", CLEAN)]);
    let out = modelscan(dir.path())
        .args(["-p", ".", "--show-imports", "--color", "never"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--- Imports ---"), "{text}");
    assert!(
        text.contains("evil.pkl:\n  - posix.system [dangerous]"),
        "{text}"
    );
}
