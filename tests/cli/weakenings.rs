//! No silent blinding: every setting that weakens detection (a disabled scanner, a suppression,
//! a lowered severity, an extra safe global, a raised `--fail-on`, a limit that makes the scan
//! read less) is listed, with where the settings came from, in every report: console, JSON,
//! JSON Lines and SARIF. Stricter settings are not listed.

use crate::common::{modelscan, schema_errors};
use crate::report_cases::{CLEAN, EVIL, write};
use serde_json::Value;
use std::path::Path;

/// Each of these weakens detection; the key the reports name it by.
const WEAKENING_SETTINGS: &str = r#"
[scanners."modelscan.scanners.NumpyUnsafeOpScan"]
enabled = false

[pickle]
allow = ["mypkg.*"]

[policy]
fail_on = "HIGH"

[rules]
"pickle.dangerous-global" = "MEDIUM"

[limits]
max_pickle_opcodes = 1000
max_compression_ratio = 100000

[[suppress]]
rule = "pickle.anomaly"
path = "case/legacy/*"
reason = "reviewed"
"#;

const KEYS: &[&str] = &[
    "scanners.\"modelscan.scanners.NumpyUnsafeOpScan\".enabled",
    "pickle.allow",
    "policy.fail_on",
    "rules.\"pickle.dangerous-global\"",
    "limits.max_compression_ratio",
    "limits.max_pickle_opcodes",
    "suppress[0]",
];

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("case"), &[("clean.pkl", CLEAN)]);
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        WEAKENING_SETTINGS,
    )
    .unwrap();
    dir
}

fn run(cwd: &Path, args: &[&str]) -> (i32, String) {
    let out = modelscan(cwd).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn keys(weakenings: &Value) -> Vec<String> {
    weakenings
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {weakenings}"))
        .iter()
        .map(|w| w["key"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_json_report_lists_every_setting_that_weakens_detection_and_where_it_came_from() {
    let dir = project();
    let (code, out) = run(dir.path(), &["-p", "case", "-r", "json"]);
    assert_eq!(code, 0, "{out}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys(&r["settings"]["weakenings"]), KEYS);
    assert!(
        r["settings"]["source"]
            .as_str()
            .unwrap()
            .ends_with("modelscan-settings.toml"),
        "{r:#}"
    );
    let fail_on = &r["settings"]["weakenings"][2];
    assert_eq!(fail_on["value"], "\"HIGH\"");
    assert!(
        fail_on["effect"]
            .as_str()
            .unwrap()
            .contains("issues below HIGH"),
        "{fail_on}"
    );
    assert!(schema_errors("docs/report.schema.json", &r).is_empty());
}

#[test]
fn built_in_defaults_weaken_nothing_and_stricter_settings_are_not_listed() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("case"), &[("clean.pkl", CLEAN)]);
    let (_, out) = run(dir.path(), &["-p", "case", "-r", "json"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        r["settings"],
        serde_json::json!({"source": "built-in defaults", "weakenings": []})
    );
    let (_, console) = run(dir.path(), &["-p", "case"]);
    assert!(!console.contains("weaken"), "{console}");
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[pickle]\nstrict = true\n[pickle.deny]\n\"mypkg.*\" = \"HIGH\"\n\
         [rules]\n\"pickle.anomaly\" = \"CRITICAL\"\n\
         [limits]\nmax_pickle_opcodes = 900000000\nbomb_floor_bytes = 1024\nmax_seconds_per_file = 0\n",
    )
    .unwrap();
    let (_, out) = run(dir.path(), &["-p", "case", "-r", "json"]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["settings"]["weakenings"], serde_json::json!([]), "{r:#}");
}

#[test]
fn a_fail_on_given_on_the_command_line_is_listed_too() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("case"), &[("evil.pkl", EVIL)]);
    let (code, out) = run(
        dir.path(),
        &[
            "-p",
            "case",
            "-r",
            "json",
            "--fail-on",
            "critical",
            "--isolated",
        ],
    );
    assert_eq!(code, 1);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys(&r["settings"]["weakenings"]), ["policy.fail_on"]);
    assert_eq!(r["settings"]["source"], "built-in defaults");
}

#[test]
fn the_console_report_shows_the_weakening_settings_after_the_summary() {
    let dir = project();
    let (code, out) = run(dir.path(), &["-p", "case", "-q"]);
    assert_eq!(code, 0, "{out}");
    let block = out
        .find("Settings that weaken detection (settings: ")
        .unwrap_or_else(|| panic!("no weakening block: {out}"));
    assert!(out.find("--- Summary ---").unwrap() < block, "{out}");
    let source = dir.path().join("modelscan-settings.toml");
    assert!(out.contains(&source.display().to_string()), "{out}");
    for key in KEYS {
        assert!(out.contains(&format!("    - {key} = ")), "{key}: {out}");
    }
    // With issues, the block comes with the counts, before the issues themselves.
    write(&dir.path().join("case"), &[("evil.pkl", EVIL)]);
    let (_, out) = run(dir.path(), &["-p", "case", "-q"]);
    let block = out.find("Settings that weaken detection").unwrap();
    assert!(
        out.find("Total Issues By Severity").unwrap() < block,
        "{out}"
    );
    assert!(
        block < out.find("--- Issues by Severity ---").unwrap(),
        "{out}"
    );
}

#[test]
fn every_json_lines_record_carries_the_weakening_settings() {
    let dir = project();
    write(&dir.path().join("case"), &[("other.pkl", CLEAN)]);
    let (code, out) = run(dir.path(), &["-p", "case", "-r", "jsonl"]);
    assert_eq!(code, 0, "{out}");
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{out}");
    for r in &records {
        assert_eq!(keys(&r["settings"]["weakenings"]), KEYS);
        assert!(schema_errors("docs/jsonl.schema.json", r).is_empty());
    }
    // Nothing weakened: no settings object, records as small as before.
    let (_, out) = run(dir.path(), &["-p", "case", "-r", "jsonl", "--isolated"]);
    for l in out.lines() {
        let r: Value = serde_json::from_str(l).unwrap();
        assert!(r.get("settings").is_none(), "{r}");
    }
}

#[test]
fn sarif_lists_the_weakening_settings_as_tool_configuration_notifications() {
    let dir = project();
    let (_, out) = run(dir.path(), &["-p", "case", "-r", "sarif"]);
    let log: Value = serde_json::from_str(&out).unwrap();
    let run0 = &log["runs"][0];
    let notes = run0["invocations"][0]["toolConfigurationNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), KEYS.len(), "{notes:#?}");
    for (n, key) in notes.iter().zip(KEYS) {
        assert_eq!(n["level"], "warning");
        assert_eq!(n["descriptor"]["id"], "SETTINGS_WEAKEN_DETECTION");
        let text = n["message"]["text"].as_str().unwrap();
        assert!(text.contains(key), "{text}");
        assert!(text.contains("modelscan-settings.toml"), "{text}");
    }
    assert_eq!(keys(&run0["properties"]["settings"]["weakenings"]), KEYS);
    let errors = schema_errors("tests/data/sarif-schema-2.1.0.json", &log);
    assert!(errors.is_empty(), "{errors:#?}");
}
