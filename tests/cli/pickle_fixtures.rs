//! Every fixture in `fixtures/manifest.jsonl` through the binary: malicious ones are reported
//! at or above their expected severity, benign ones are clean (exit 0, no issue), malformed ones
//! are never reported clean.

use crate::common::{fixtures, issues, max_severity, scan_json};
use serde_json::Value;

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("manifest.jsonl")).expect("manifest");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("manifest line"))
        // Entries that are only malicious together with something their own test sets up
        // (a symlink out of the folder) are covered there.
        .filter(|v: &Value| {
            v.get("needs_setup").is_none()
                && !v["note"]
                    .as_str()
                    .is_some_and(|n| n.contains("test creates"))
        })
        .collect()
}

fn sev(s: &str) -> u8 {
    match s {
        "LOW" => 1,
        "MEDIUM" => 2,
        "HIGH" => 3,
        "CRITICAL" => 4,
        _ => 0,
    }
}

#[test]
fn every_malicious_fixture_is_reported_at_its_expected_severity() {
    let mut failures = Vec::new();
    let mut n = 0;
    for f in manifest().iter().filter(|f| f["label"] == "malicious") {
        n += 1;
        let path = fixtures().join(f["path"].as_str().unwrap_or(""));
        let run = scan_json(&path, &[]);
        let want = sev(f["expected_min_severity"].as_str().unwrap_or("MEDIUM")).max(1);
        if max_severity(&run.report) < want || run.code != 1 {
            failures.push(format!(
                "{} (exit {}, max severity {})",
                f["path"],
                run.code,
                max_severity(&run.report)
            ));
        }
    }
    assert!(n >= 40, "only {n} malicious fixtures in the manifest");
    assert!(
        failures.is_empty(),
        "not detected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_benign_fixture_is_clean() {
    let mut failures = Vec::new();
    for f in manifest().iter().filter(|f| f["label"] == "benign") {
        let path = fixtures().join(f["path"].as_str().unwrap_or(""));
        let run = scan_json(&path, &[]);
        if run.code != 0 || !issues(&run.report).is_empty() {
            let what: Vec<String> = issues(&run.report)
                .iter()
                .map(|i| format!("{}:{}.{}", i["rule"], i["module"], i["operator"]))
                .collect();
            failures.push(format!(
                "{} (exit {}) {:?} {}",
                f["path"], run.code, what, run.report["errors"]
            ));
        }
    }
    assert!(failures.is_empty(), "not clean:\n{}", failures.join("\n"));
}

#[test]
fn no_malformed_fixture_is_reported_clean() {
    let mut failures = Vec::new();
    for f in manifest().iter().filter(|f| f["label"] == "malformed") {
        let path = fixtures().join(f["path"].as_str().unwrap_or(""));
        let run = scan_json(&path, &[]);
        let errors = run.report["errors"].as_array().map_or(0, Vec::len);
        if run.code == 0 || (errors == 0 && issues(&run.report).is_empty()) {
            failures.push(format!("{} (exit {})", f["path"], run.code));
        }
    }
    assert!(
        failures.is_empty(),
        "reported clean:\n{}",
        failures.join("\n")
    );
}

/// The exact outcome of every malformed fixture (exit code, each error's category, source and
/// description, each issue's rule and severity) in one snapshot, `malformed_outcomes.txt`: a
/// change in how any parser reports broken input shows up in review.
#[test]
fn malformed_fixtures_give_their_exact_errors() {
    let mut out = String::new();
    let mut rows: Vec<Value> = manifest()
        .into_iter()
        .filter(|f| f["label"] == "malformed")
        .collect();
    rows.sort_by_key(|f| f["path"].as_str().unwrap_or("").to_string());
    let root = fixtures().to_string_lossy().into_owned();
    for f in &rows {
        let rel = f["path"].as_str().unwrap_or("");
        let run = scan_json(&fixtures().join(rel), &["--no-hash"]);
        out.push_str(&format!("{rel}  exit {}\n", run.code));
        for e in run.report["errors"].as_array().cloned().unwrap_or_default() {
            out.push_str(&format!(
                "  error {} [{}] {}\n",
                e["category"].as_str().unwrap_or("?"),
                e["source"].as_str().unwrap_or("-"),
                e["description"]
                    .as_str()
                    .unwrap_or("")
                    .replace(&root, "<fixtures>")
            ));
        }
        for i in issues(&run.report) {
            out.push_str(&format!(
                "  issue {} {} [{}] {}\n",
                i["severity"].as_str().unwrap_or("?"),
                i["rule"].as_str().unwrap_or("?"),
                i["source"].as_str().unwrap_or("-"),
                i["description"]
                    .as_str()
                    .unwrap_or("")
                    .replace(&root, "<fixtures>")
            ));
        }
    }
    crate::common::assert_snapshot("malformed_outcomes.txt", &out);
}

/// Calls that no REDUCE names, in hand-built pickles (each checked live with CPython, with
/// `builtins.print` in place of the unknown function): the binary exits 1 with the rule and
/// severity the VM gives them.
#[test]
fn calls_no_reduce_names_are_reported_end_to_end() {
    const F: &[u8] = b"cevilpkg.helpers\nrun_code\n";
    let ns: &[u8] = b"\x80\x02ctypes\nSimpleNamespace\n)R";
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "__setstate__ planted by BUILD, called by the next BUILD",
            [
                ns,
                b"}X\x0c\x00\x00\x00__setstate__",
                F,
                b"sbX\x01\x00\x00\x00xb.",
            ]
            .concat(),
            "pickle.planted-method",
            "CRITICAL",
        ),
        (
            "append planted by BUILD, called by APPEND",
            [
                ns,
                b"}X\x06\x00\x00\x00append",
                F,
                b"sbX\x01\x00\x00\x00xa.",
            ]
            .concat(),
            "pickle.planted-method",
            "CRITICAL",
        ),
        (
            "an unknown function called by INST",
            [&b"(S'x'\ni"[..], &F[1..], b"."].concat(),
            "pickle.unknown-global-called",
            "HIGH",
        ),
        (
            "list(iter(f, None)) calls f",
            [
                &b"\x80\x02cbuiltins\nlist\ncbuiltins\niter\n"[..],
                F,
                b"N\x86R\x85R.",
            ]
            .concat(),
            "pickle.higher-order-call",
            "HIGH",
        ),
    ];
    for (what, bytes, rule, severity) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("model.pkl");
        std::fs::write(&path, &bytes).expect("write");
        let run = scan_json(&path, &[]);
        assert_eq!(run.code, 1, "{what}: {}", run.stdout);
        let found = issues(&run.report);
        assert!(
            found
                .iter()
                .any(|i| i["rule"] == rule && i["severity"] == severity),
            "{what}: {found:?}"
        );
    }
}
