//! Scanning at scale: `--files-from FILE|-` (with `-0`) and `-r jsonl`. Records must say the
//! same as the JSON report of the same input, validate against `docs/jsonl.schema.json`, come in
//! input order, and the run's exit code must be the same function of the records as of a
//! report.

use crate::common::{modelscan, scan_json, schema_errors};
use crate::report_cases::{self, ANOMALY, CLEAN, EVIL};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const SCHEMA: &str = "docs/jsonl.schema.json";

struct Lines {
    code: i32,
    records: Vec<Value>,
    stdout: String,
    stderr: String,
}

fn run(cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Lines {
    let mut c = modelscan(cwd);
    c.args(args);
    if let Some(s) = stdin {
        c.write_stdin(s.to_vec());
    }
    let out = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let jsonl = args.windows(2).any(|w| w == ["-r", "jsonl"]);
    let records = stdout
        .lines()
        .filter(|_| jsonl)
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    Lines {
        code: out.status.code().unwrap_or(-1),
        records,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn assert_valid(records: &[Value]) {
    for r in records {
        let errors = schema_errors(SCHEMA, r);
        assert!(errors.is_empty(), "{errors:#?}\n{r:#}");
    }
}

/// (source, rule, severity) of each issue.
fn issue_keys<'a>(issues: impl Iterator<Item = &'a Value>) -> BTreeSet<(String, String, String)> {
    issues
        .map(|i| {
            (
                i["source"].as_str().unwrap().to_string(),
                i["rule"].as_str().unwrap().to_string(),
                i["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn jsonl_records_say_what_the_json_report_says() {
    let (dir, case) = report_cases::mixed();
    let json = scan_json(&case, &["--hash"]);
    let lines = run(dir.path(), &["-r", "jsonl", "-p", "case", "--hash"], None);
    assert_eq!(lines.code, json.code, "{}", lines.stderr);
    assert_eq!(lines.code, 1);
    assert_valid(&lines.records);
    // One record per top-level file, in the walk's (sorted) order.
    let paths: Vec<&str> = lines
        .records
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "broken.pkl",
            "bundle.zip",
            "clean copy #1.pkl",
            "evil.pkl",
            "readme.txt"
        ]
    );
    assert_eq!(
        issue_keys(
            lines
                .records
                .iter()
                .flat_map(|r| r["issues"].as_array().unwrap())
        ),
        issue_keys(json.report["issues"].as_array().unwrap().iter())
    );
    let errors: usize = lines
        .records
        .iter()
        .map(|r| r["errors"].as_array().unwrap().len())
        .sum();
    assert_eq!(errors, json.report["errors"].as_array().unwrap().len());
    let by_path = |p: &str| lines.records.iter().find(|r| r["path"] == p).unwrap();
    let evil = by_path("evil.pkl");
    assert_eq!(evil["status"], "issues");
    assert_eq!(evil["max_severity"], "CRITICAL");
    assert_eq!(evil["exit_code"], 1);
    assert_eq!(evil["record"], "file");
    assert_eq!(evil["size"], EVIL.len());
    assert_eq!(evil["scanned"], serde_json::json!(["evil.pkl"]));
    let json_hash = json.report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "evil.pkl")
        .unwrap()["sha256"]
        .clone();
    assert_eq!(evil["sha256"], json_hash);
    assert_eq!(by_path("bundle.zip")["status"], "issues");
    let broken = by_path("broken.pkl");
    assert_eq!(broken["status"], "errors");
    assert_eq!(broken["exit_code"], 2);
    let clean = by_path("clean copy #1.pkl");
    assert_eq!(clean["status"], "clean");
    assert_eq!(clean["exit_code"], 0);
    assert!(clean.get("max_severity").is_none());
    let readme = by_path("readme.txt");
    assert_eq!(readme["status"], "not_scanned");
    assert_eq!(readme["exit_code"], 3);
    // Skips are always listed in a record, with or without --show-skipped.
    assert_eq!(readme["skipped"].as_array().unwrap().len(), 1, "{readme:#}");
    // Every record names the same tool, version and settings.
    let digests: BTreeSet<&str> = lines
        .records
        .iter()
        .map(|r| r["settings_sha256"].as_str().unwrap())
        .collect();
    assert_eq!(digests.len(), 1);
    // Standard output holds records only; the settings notice went to standard error.
    assert!(lines.stderr.contains("settings file"), "{}", lines.stderr);
}

#[test]
fn the_settings_digest_changes_with_settings_that_change_findings() {
    let (dir, case) = report_cases::clean();
    let digest = |extra: &[&str]| {
        let mut args = vec!["-r", "jsonl", "-p"];
        args.push(case.to_str().unwrap());
        args.extend_from_slice(extra);
        let l = run(dir.path(), &args, None);
        l.records[0]["settings_sha256"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let plain = digest(&[]);
    assert_eq!(
        plain,
        digest(&["-j", "1"]),
        "threads do not change findings"
    );
    assert_ne!(plain, digest(&["--strict"]));
    assert_ne!(plain, digest(&["--fail-on", "HIGH"]));
}

#[test]
fn files_from_scans_each_listed_path_named_as_listed() {
    let (dir, case) = report_cases::mixed();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(dir.path().join("more/anomaly.pkl"), ANOMALY).unwrap();
    std::fs::write(dir.path().join("more/clean.pkl"), CLEAN).unwrap();
    let _ = case;
    let list = "case/evil.pkl\ncase/clean copy #1.pkl\r\nmore\n\ndoes-not-exist.pkl\n";
    std::fs::write(dir.path().join("list.txt"), list).unwrap();
    let r = run(
        dir.path(),
        &["--files-from", "list.txt", "-r", "json"],
        None,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(report["summary"]["input_path"], "list.txt");
    let scanned: Vec<&str> = report["summary"]["scanned"]["scanned_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        scanned,
        [
            "case/evil.pkl",
            "case/clean copy #1.pkl",
            "more/anomaly.pkl",
            "more/clean.pkl"
        ]
    );
    let keys = issue_keys(report["issues"].as_array().unwrap().iter());
    let sources: BTreeSet<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(
        sources,
        BTreeSet::from(["case/evil.pkl", "more/anomaly.pkl"])
    );
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["source"], "does-not-exist.pkl");
    assert_eq!(errors[0]["category"], "IO");

    // The same list as JSON Lines: one record per file, in list order.
    let l = run(
        dir.path(),
        &["--files-from", "list.txt", "-r", "jsonl"],
        None,
    );
    assert_eq!(l.code, 1);
    assert_valid(&l.records);
    let paths: Vec<&str> = l
        .records
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "case/evil.pkl",
            "case/clean copy #1.pkl",
            "more/anomaly.pkl",
            "more/clean.pkl",
            "does-not-exist.pkl"
        ]
    );
    assert_eq!(l.records[4]["status"], "errors");
    assert_eq!(l.records[4]["exit_code"], 2);
    assert!(l.records[4].get("size").is_none());
}

#[test]
fn files_from_stdin_with_nul_separators_takes_names_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let odd = "line\nbreak.pkl";
    std::fs::write(dir.path().join(odd), EVIL).unwrap();
    std::fs::write(dir.path().join(" lead.pkl"), CLEAN).unwrap();
    let list = format!("{odd}\0 lead.pkl\0");
    let l = run(
        dir.path(),
        &["--files-from", "-", "-0", "-r", "jsonl", "--no-hash"],
        Some(list.as_bytes()),
    );
    assert_eq!(l.code, 1, "{}", l.stderr);
    assert_valid(&l.records);
    assert_eq!(l.records.len(), 2);
    assert_eq!(l.records[0]["path"], odd);
    assert_eq!(l.records[0]["status"], "issues");
    assert_eq!(l.records[1]["path"], " lead.pkl");
    assert_eq!(l.records[1]["status"], "clean");
    // --no-hash: no sha256 anywhere.
    assert!(l.records.iter().all(|r| r.get("sha256").is_none()));
    assert!(
        l.records
            .iter()
            .all(|r| r["files"] == serde_json::json!([]))
    );
}

#[test]
fn the_run_exit_code_is_the_report_function_of_all_records() {
    let dir = tempfile::tempdir().unwrap();
    report_cases::write(
        dir.path(),
        &[
            ("clean.pkl", CLEAN),
            ("broken.pkl", report_cases::TRUNCATED),
            ("notes.txt", b"hello\n"),
            ("anomaly.pkl", ANOMALY),
        ],
    );
    let code = |list: &str, extra: &[&str]| {
        let mut args = vec!["--files-from", "-", "-r", "jsonl"];
        args.extend_from_slice(extra);
        run(dir.path(), &args, Some(list.as_bytes())).code
    };
    assert_eq!(code("clean.pkl\n", &[]), 0);
    // An unsupported file next to a scanned one is not "nothing scanned".
    assert_eq!(code("clean.pkl\nnotes.txt\n", &[]), 0);
    assert_eq!(code("notes.txt\n", &[]), 3);
    assert_eq!(code("clean.pkl\nbroken.pkl\n", &[]), 2);
    assert_eq!(code("broken.pkl\nanomaly.pkl\n", &[]), 1);
    // Below --fail-on an issue does not fail the run, the error still does.
    assert_eq!(code("broken.pkl\nanomaly.pkl\n", &["--fail-on", "HIGH"]), 2);
    assert_eq!(code("", &[]), 3);
}

#[test]
fn jsonl_to_a_file_leaves_standard_output_empty() {
    let (dir, _case) = report_cases::clean();
    let l = run(
        dir.path(),
        &["-r", "jsonl", "-p", "case", "-o", "out.jsonl"],
        None,
    );
    assert_eq!(l.code, 0, "{}", l.stderr);
    assert!(l.stdout.is_empty(), "{}", l.stdout);
    let text = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|x| serde_json::from_str(x).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_valid(&records);
}

#[test]
fn files_from_is_a_usage_error_with_a_path_or_an_unreadable_list() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.pkl"), CLEAN).unwrap();
    std::fs::write(dir.path().join("l.txt"), "a.pkl\n").unwrap();
    let both = run(dir.path(), &["-p", "a.pkl", "--files-from", "l.txt"], None);
    assert_eq!(both.code, 4, "{}", both.stderr);
    let missing = run(dir.path(), &["--files-from", "nope.txt"], None);
    assert_eq!(missing.code, 4);
    assert!(missing.stderr.contains("nope.txt"), "{}", missing.stderr);
    let null_alone = run(dir.path(), &["-p", "a.pkl", "-0"], None);
    assert_eq!(null_alone.code, 4);
}

#[test]
fn the_schema_copies_the_report_schema_definitions() {
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(crate::common::repo(f)).unwrap()).unwrap()
    };
    let (jsonl, report) = (read(SCHEMA), read("docs/report.schema.json"));
    for def in [
        "severity",
        "source",
        "category",
        "issue",
        "error",
        "settings",
        "weakening",
    ] {
        assert_eq!(
            jsonl["$defs"][def], report["$defs"][def],
            "$defs/{def} differs"
        );
    }
    assert_eq!(
        jsonl["$defs"]["skip"],
        report["$defs"]["summary"]["properties"]["skipped"]["properties"]["skipped_files"]["items"]
    );
    assert_eq!(
        jsonl["$defs"]["file_hash"],
        report["properties"]["files"]["items"]
    );
    // And the schema rejects what it should.
    let (dir, case) = report_cases::clean();
    let l = run(
        dir.path(),
        &["-r", "jsonl", "-p", case.to_str().unwrap()],
        None,
    );
    let mut bad = l.records[0].clone();
    bad["status"] = Value::String("fine".into());
    assert!(!schema_errors(SCHEMA, &bad).is_empty());
}

#[test]
fn jsonl_stops_when_nobody_reads_the_records() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    // Distinct files (a path listed twice is scanned once): far more records than a pipe holds.
    let mut list = String::new();
    for i in 0..3_000 {
        std::fs::write(dir.path().join(format!("{i}.pkl")), CLEAN).unwrap();
        list.push_str(&format!("{i}.pkl\n"));
    }
    std::fs::write(dir.path().join("list.txt"), list).unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("modelscan"))
        .current_dir(dir.path())
        .args(["--files-from", "list.txt", "-r", "jsonl", "-j", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (as with `| head -n 1`): the scanner must notice and stop.
    let out = child.wait_with_output().unwrap();
    let _ = std::io::stderr().flush();
    let record: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(record["path"], "0.pkl");
    // Not every file was scanned, so the run vouches for nothing (2); a reader that went away
    // is no error to report, and certainly no panic.
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("cannot write"),
        "{stderr}"
    );
}

#[test]
fn files_from_scans_a_path_listed_again_or_under_another_name_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    std::fs::write(dir.path().join("models/evil.pkl"), EVIL).unwrap();
    std::fs::write(dir.path().join("clean.pkl"), CLEAN).unwrap();
    std::os::unix::fs::symlink("models/evil.pkl", dir.path().join("link.pkl")).unwrap();
    let list = "models/evil.pkl\nclean.pkl\nmodels/evil.pkl\n./models/evil.pkl\n\
                models/../models/evil.pkl\nlink.pkl\nmissing.pkl\nmissing.pkl\nclean.pkl\n";
    std::fs::write(dir.path().join("list.txt"), list).unwrap();
    let l = run(
        dir.path(),
        &["--files-from", "list.txt", "-r", "jsonl"],
        None,
    );
    let paths: Vec<&str> = l
        .records
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["models/evil.pkl", "clean.pkl", "missing.pkl"],
        "{}",
        l.stdout
    );
    let r = run(
        dir.path(),
        &["--files-from", "list.txt", "-r", "json"],
        None,
    );
    let report: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(report["summary"]["total_issues"], 1, "{report:#}");
    assert_eq!(report["errors"].as_array().unwrap().len(), 1, "{report:#}");
}

#[test]
fn jsonl_schema_version_is_a_string_as_in_the_json_report() {
    let (dir, _case) = report_cases::clean();
    let l = run(dir.path(), &["-r", "jsonl", "-p", "case"], None);
    assert!(!l.records.is_empty());
    for r in &l.records {
        assert_eq!(r["schema_version"], "2.0", "{r}");
    }
    let json = scan_json(&dir.path().join("case"), &[]);
    assert!(json.report["schema_version"].is_string());
    // The schema refuses the old integer form.
    let mut old = l.records[0].clone();
    old["schema_version"] = Value::from(1);
    assert!(!schema_errors(SCHEMA, &old).is_empty());
}
