//! The JSON report against its published schema (`docs/report.schema.json`): clean, malicious,
//! with errors, with `--show-skipped`, with suppressions, and the whole fixture corpus; plus the
//! completeness of `files[]` and a redacted snapshot.

use crate::common::{assert_snapshot, redact, scan_json, schema_errors};
use crate::report_cases::{self, EVIL};
use serde_json::Value;

const SCHEMA: &str = "docs/report.schema.json";

fn assert_valid(v: &Value) {
    let errors = schema_errors(SCHEMA, v);
    assert!(
        errors.is_empty(),
        "report does not match {SCHEMA}: {errors:#?}\n{v:#}"
    );
}

#[test]
fn clean_report_matches_the_schema() {
    let (_dir, case) = report_cases::clean();
    let run = scan_json(&case, &[]);
    assert_eq!(run.code, 0);
    assert_valid(&run.report);
}

#[test]
fn malicious_report_with_errors_and_skips_matches_the_schema() {
    let (_dir, case) = report_cases::mixed();
    for extra in [&[][..], &["--show-skipped"][..]] {
        let run = scan_json(&case, extra);
        assert_eq!(run.code, 1);
        assert_valid(&run.report);
        assert!(!run.report["errors"].as_array().unwrap().is_empty());
    }
    let run = scan_json(&case, &["--show-skipped"]);
    assert!(
        run.report["summary"]["skipped"]["total_skipped"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[test]
fn nothing_scanned_report_matches_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello\n").unwrap();
    let run = scan_json(&dir.path().join("notes.txt"), &["--show-skipped"]);
    assert_eq!(run.code, 3);
    assert_valid(&run.report);
}

#[test]
fn the_schema_rejects_what_it_should() {
    let (_dir, case) = report_cases::mixed();
    let good = scan_json(&case, &["--hash"]).report;
    let mut bad = good.clone();
    bad["issues"][0]["severity"] = Value::String("SEVERE".into());
    assert!(!schema_errors(SCHEMA, &bad).is_empty());
    let mut bad = good.clone();
    bad["files"][0]["sha256"] = Value::String("xyz".into());
    assert!(!schema_errors(SCHEMA, &bad).is_empty());
    let mut bad = good;
    bad["unexpected"] = Value::Bool(true);
    assert!(!schema_errors(SCHEMA, &bad).is_empty());
}

#[test]
fn reports_of_every_fixture_match_the_schema() {
    let run = scan_json(&crate::common::fixtures(), &["--show-skipped"]);
    assert_valid(&run.report);
}

#[test]
fn every_scanned_file_and_member_has_a_sha256() {
    let (_dir, case) = report_cases::mixed();
    let r = scan_json(&case, &["--hash"]).report;
    assert_eq!(r["hashes"], "sha256");
    let files: Vec<&str> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap())
        .collect();
    for want in [
        "evil.pkl",
        "bundle.zip",
        "bundle.zip:archive/data.pkl",
        "broken.pkl",
        "readme.txt",
    ] {
        assert!(files.contains(&want), "{want} missing from {files:?}");
    }
    let evil = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "evil.pkl")
        .unwrap();
    assert_eq!(evil["sha256"], sha256_hex(EVIL));
}

#[test]
fn a_file_too_large_to_hash_during_the_scan_is_hashed_for_the_report() {
    // The engine skips hashing files over 64 MiB while scanning; the report reads them again.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(65 << 20).unwrap();
    drop(f);
    let r = scan_json(&big, &["--hash"]).report;
    let entry = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "big.bin")
        .cloned()
        .unwrap_or(Value::Null);
    // sha256 of 65 MiB of zero bytes.
    assert_eq!(entry["sha256"], sha256_zeros(65 << 20), "{r:#}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sha256_zeros(n: usize) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..n / chunk.len() {
        h.update(&chunk);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn hashes_are_computed_only_when_asked_for_and_the_report_says_so() {
    let (_dir, case) = report_cases::mixed();
    let r = scan_json(&case, &[]).report;
    assert_eq!(r["hashes"], "off");
    assert!(r["files"].as_array().unwrap().is_empty());
    assert!(schema_errors(SCHEMA, &r).is_empty());
}

#[test]
fn json_snapshot() {
    let (_dir, case) = report_cases::mixed();
    let r = redact(scan_json(&case, &["--show-skipped", "--hash"]).report);
    let text = serde_json::to_string_pretty(&r).unwrap() + "\n";
    assert_snapshot("mixed.report.json", &text);
}

#[test]
fn no_hash_leaves_the_files_list_empty() {
    let (_dir, case) = report_cases::mixed();
    let r = scan_json(&case, &["--no-hash"]).report;
    assert_eq!(r["files"], serde_json::json!([]), "{r:#}");
    assert_valid(&r);
}
