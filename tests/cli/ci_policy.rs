//! CI policy: `--fail-on` (and `[policy] fail_on`) decides which severities fail the run;
//! `[rules]` changes a rule's severity; `[[suppress]]` entries move matching findings to the
//! JSON report's `suppressed` list, where they do not count for the summary or the exit code.

use crate::common::modelscan;
use crate::report_cases::{self, ANOMALY, EVIL, write};
use serde_json::Value;
use std::path::Path;

fn run(cwd: &Path, path: &str, extra: &[&str]) -> (i32, Value) {
    let out = modelscan(cwd)
        .args(["-p", path, "-r", "json"])
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn fail_on_sets_the_lowest_severity_that_fails() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[("medium.pkl", ANOMALY), ("critical.pkl", EVIL)],
    );
    // MEDIUM only.
    assert_eq!(run(dir.path(), "medium.pkl", &[]).0, 1);
    assert_eq!(run(dir.path(), "medium.pkl", &["--fail-on", "MEDIUM"]).0, 1);
    assert_eq!(run(dir.path(), "medium.pkl", &["--fail-on", "HIGH"]).0, 0);
    assert_eq!(
        run(dir.path(), "medium.pkl", &["--fail-on", "critical"]).0,
        0
    );
    // The issue is still reported when it does not fail the run.
    let (_, v) = run(dir.path(), "medium.pkl", &["--fail-on", "HIGH"]);
    assert_eq!(v["summary"]["total_issues"], 1);
    // CRITICAL fails at every level.
    for level in ["LOW", "MEDIUM", "HIGH", "CRITICAL"] {
        assert_eq!(
            run(dir.path(), "critical.pkl", &["--fail-on", level]).0,
            1,
            "{level}"
        );
    }
}

#[test]
fn a_low_only_finding_fails_only_at_fail_on_low() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("low.pkl", ANOMALY)]);
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[rules]\n\"pickle.anomaly\" = \"LOW\"\n",
    )
    .unwrap();
    let (code, v) = run(dir.path(), "low.pkl", &[]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["total_issues_by_severity"]["LOW"], 1);
    assert_eq!(run(dir.path(), "low.pkl", &["--fail-on", "MEDIUM"]).0, 0);
    assert_eq!(run(dir.path(), "low.pkl", &["--fail-on", "HIGH"]).0, 0);
}

#[test]
fn fail_on_in_the_settings_file_applies_and_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("medium.pkl", ANOMALY)]);
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[policy]\nfail_on = \"HIGH\"\n",
    )
    .unwrap();
    assert_eq!(run(dir.path(), "medium.pkl", &[]).0, 0);
    assert_eq!(run(dir.path(), "medium.pkl", &["--fail-on", "LOW"]).0, 1);
}

#[test]
fn errors_still_fail_the_run_whatever_fail_on_says() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("medium.pkl", ANOMALY),
            ("broken.pkl", report_cases::TRUNCATED),
        ],
    );
    assert_eq!(run(dir.path(), ".", &["--fail-on", "CRITICAL"]).0, 2);
}

#[test]
fn suppressed_findings_are_listed_and_do_not_count() {
    let (dir, case) = report_cases::mixed();
    std::fs::remove_file(case.join("broken.pkl")).unwrap();
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[[suppress]]\nrule = \"pickle.dangerous-global\"\npath = \"*evil.pkl\"\nreason = \"known test file\"\n\n\
         [[suppress]]\nrule = \"*\"\npath = \"case/bundle.zip:*\"\n",
    )
    .unwrap();
    let (code, v) = run(dir.path(), "case", &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["summary"]["total_issues"], 0);
    assert!(v["issues"].as_array().unwrap().is_empty());
    let sup = v["suppressed"].as_array().unwrap();
    assert_eq!(sup.len(), 2, "{sup:#?}");
    let by_source = |s: &str| sup.iter().find(|i| i["source"] == s).cloned().unwrap();
    assert_eq!(by_source("evil.pkl")["suppressed"], "known test file");
    assert_eq!(by_source("evil.pkl")["rule"], "pickle.dangerous-global");
    assert_eq!(
        by_source("bundle.zip:archive/data.pkl")["suppressed"],
        "suppressed by the settings file"
    );
}

#[test]
fn a_suppression_for_another_rule_or_path_changes_nothing() {
    let (dir, _case) = report_cases::mixed();
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[[suppress]]\nrule = \"pickle.anomaly\"\n\n[[suppress]]\nrule = \"*\"\npath = \"other/*\"\n",
    )
    .unwrap();
    let (code, v) = run(dir.path(), "case", &[]);
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["total_issues"], 2);
    assert!(v["suppressed"].as_array().unwrap().is_empty());
}

#[test]
fn console_report_says_how_many_findings_were_suppressed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("evil.pkl", EVIL)]);
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[[suppress]]\nrule = \"*\"\n",
    )
    .unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "evil.pkl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--- Suppressed ---"), "{text}");
    assert!(text.contains("1 issue(s) matched a suppression"), "{text}");
}

#[test]
fn suppression_paths_are_relative_to_the_settings_file_wherever_the_scan_starts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("models/legacy"), &[("old.pkl", ANOMALY)]);
    write(&root.join("models"), &[("new.pkl", ANOMALY)]);
    std::fs::write(
        root.join("modelscan-settings.toml"),
        "[[suppress]]\nrule = \"pickle.anomaly\"\npath = \"models/legacy/*.pkl\"\n",
    )
    .unwrap();
    let settings = root.join("modelscan-settings.toml");
    let settings = settings.to_str().unwrap();
    let suppressed = |cwd: &Path, path: &str| -> Vec<String> {
        let (_, v) = run(cwd, path, &["--settings-file", settings]);
        let mut names: Vec<String> = v["suppressed"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|i| i["source"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    // From the project's root, from inside the models, with -p naming the folder or the file:
    // the same finding is suppressed each time, and only that one.
    assert_eq!(suppressed(root, "models"), ["legacy/old.pkl"]);
    assert_eq!(suppressed(root, "."), ["models/legacy/old.pkl"]);
    assert_eq!(suppressed(&root.join("models"), "."), ["legacy/old.pkl"]);
    assert_eq!(
        suppressed(&root.join("models/legacy"), "old.pkl"),
        ["old.pkl"]
    );
    assert!(suppressed(&root.join("models"), "new.pkl").is_empty());
    // A settings file elsewhere: its own folder is the base, so the glob names nothing here.
    let other = tempfile::tempdir().unwrap();
    std::fs::copy(settings, other.path().join("s.toml")).unwrap();
    let (code, v) = run(
        root,
        "models",
        &[
            "--settings-file",
            other.path().join("s.toml").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert!(v["suppressed"].as_array().unwrap().is_empty(), "{v}");
}
