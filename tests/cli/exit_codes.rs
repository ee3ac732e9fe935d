//! The exit-code table: 0 clean, 1 issues, 2 errors, 3 nothing scanned, 4 usage; issues win
//! over errors, errors over "nothing scanned".

use crate::common::modelscan;
use std::path::Path;

pub const CLEAN: &[u8] = b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
pub const EVIL: &[u8] = b"cposix\nsystem\n(S'echo hi'\ntR.";
pub const CORRUPT: &[u8] = b"\x80\x04\x8c\x05hello";

type Files<'a> = &'a [(&'a str, &'a [u8])];

fn write(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).expect("write fixture");
    }
}

fn code_for(files: &[(&str, &[u8])], extra: &[&str]) -> i32 {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("input");
    std::fs::create_dir(&input).expect("mkdir");
    write(&input, files);
    let out = modelscan(dir.path())
        .arg("-p")
        .arg(&input)
        .args(extra)
        .output()
        .expect("run");
    out.status.code().unwrap_or(-1)
}

#[test]
fn exit_code_table() {
    let table: &[(&str, Files<'_>, &[&str], i32)] = &[
        ("clean pickle", &[("clean.pkl", CLEAN)], &[], 0),
        ("malicious pickle", &[("evil.pkl", EVIL)], &[], 1),
        ("corrupt pickle", &[("corrupt.pkl", CORRUPT)], &[], 2),
        (
            "only an unsupported file",
            &[("notes.txt", b"hello\n")],
            &[],
            3,
        ),
        (
            "issues win over errors",
            &[("evil.pkl", EVIL), ("corrupt.pkl", CORRUPT)],
            &[],
            1,
        ),
        (
            "errors win over skipped files",
            &[
                ("clean.pkl", CLEAN),
                ("corrupt.pkl", CORRUPT),
                ("notes.txt", b"x\n"),
            ],
            &[],
            2,
        ),
        (
            "skipped files do not matter",
            &[("clean.pkl", CLEAN), ("notes.txt", b"x\n")],
            &[],
            0,
        ),
        (
            "fail-on above the finding",
            &[("evil.pkl", EVIL)],
            &["--fail-on", "CRITICAL"],
            1,
        ),
        (
            "json reporter has the same codes",
            &[("evil.pkl", EVIL)],
            &["-r", "json"],
            1,
        ),
    ];
    for (what, files, extra, want) in table {
        assert_eq!(code_for(files, extra), *want, "{what}");
    }
}

#[test]
fn usage_errors_exit_4() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: &[&[&str]] = &[
        &["-p", "does/not/exist"],
        &["-p", ".", "-r", "xml"],
        &["-r", "json"],
        &["-p", ".", "--settings-file", "missing.toml"],
        &["-p", ".", "--no-such-flag"],
    ];
    for args in cases {
        let out = modelscan(dir.path()).args(*args).output().expect("run");
        assert_eq!(out.status.code(), Some(4), "{args:?}");
    }
}

#[test]
fn a_high_finding_below_fail_on_does_not_fail_the_run() {
    // `builtins.open` is HIGH in the extended policy but CRITICAL in ModelScan's table (the
    // floor), so use an unknown standard-library callable, which is HIGH.
    let pkl: &[u8] = b"chtml\nunescape\n(S'x'\ntR.";
    assert_eq!(code_for(&[("a.pkl", pkl)], &[]), 1);
    assert_eq!(code_for(&[("a.pkl", pkl)], &["--fail-on", "CRITICAL"]), 0);
}
