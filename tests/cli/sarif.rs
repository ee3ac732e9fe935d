//! `-r sarif`: the log validates against the official SARIF 2.1.0 schema
//! (`tests/data/sarif-schema-2.1.0.json`), carries what code scanning needs (rules with help,
//! CWE tags and security-severity, relative artifact URIs, fingerprints, the exit code and the
//! errors), places archive members the way the module docs say, and matches its snapshot.

use crate::common::{assert_snapshot, modelscan, schema_errors};
use crate::report_cases::{self, CLEAN, EVIL};
use serde_json::Value;
use std::path::Path;

const SCHEMA: &str = "tests/data/sarif-schema-2.1.0.json";

fn sarif(cwd: &Path, path: &Path, extra: &[&str]) -> (i32, Value) {
    let out = modelscan(cwd)
        .arg("-p")
        .arg(path)
        .args(["-r", "sarif"])
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("stdout is not SARIF JSON ({e}): {text}"));
    (out.status.code().unwrap_or(-1), v)
}

fn assert_valid(v: &Value) {
    let errors = schema_errors(SCHEMA, v);
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}\n{v:#}");
}

fn results(v: &Value) -> Vec<Value> {
    v["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn mixed_scan_is_valid_sarif_with_members_as_logical_locations() {
    let (dir, case) = report_cases::mixed();
    let (code, v) = sarif(dir.path(), &case, &["--show-skipped", "--hash"]);
    assert_eq!(code, 1);
    assert_valid(&v);
    let run = &v["runs"][0];
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(run["tool"]["driver"]["name"], "modelscan");
    // The cwd holds the scanned folder, so URIs are relative to the cwd.
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );

    let res = results(&v);
    let top = res
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "case/evil.pkl"
        })
        .expect("result for evil.pkl");
    assert_eq!(top["ruleId"], "pickle.dangerous-global");
    assert_eq!(top["level"], "error");
    let loc = &top["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(loc["region"]["byteOffset"], 0);
    assert!(
        top["partialFingerprints"]["modelscan/v1"]
            .as_str()
            .unwrap()
            .len()
            == 64
    );

    let member = res
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "case/bundle.zip"
        })
        .expect("result for the zip member");
    assert!(member["locations"][0]["physicalLocation"]["region"].is_null());
    assert_eq!(
        member["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "bundle.zip:archive/data.pkl"
    );
    assert_eq!(member["properties"]["member"], "archive/data.pkl");
    assert_eq!(member["properties"]["memberOffset"], 0);
    assert!(
        member["message"]["text"]
            .as_str()
            .unwrap()
            .contains("archive/data.pkl"),
        "{member}"
    );

    // Artifacts: every file with its sha-256, members nested under their archive.
    let arts = run["artifacts"].as_array().unwrap();
    let zip_index = arts
        .iter()
        .position(|a| a["location"]["uri"] == "case/bundle.zip")
        .unwrap();
    let nested = arts
        .iter()
        .find(|a| a["location"]["uri"] == "/archive/data.pkl")
        .expect("nested artifact");
    assert_eq!(nested["parentIndex"], zip_index);
    assert!(
        arts.iter()
            .all(|a| a["hashes"]["sha-256"].as_str().unwrap().len() == 64)
    );
    assert!(
        arts.iter()
            .any(|a| a["location"]["uri"] == "case/clean%20copy%20%231.pkl"),
        "{arts:#?}"
    );
    assert_eq!(
        member["locations"][0]["physicalLocation"]["artifactLocation"]["index"],
        zip_index
    );

    // The run failed in part: the truncated pickle is an error notification.
    let inv = &run["invocations"][0];
    assert_eq!(inv["exitCode"], 1);
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    assert!(notes.iter().any(|n| n["level"] == "error"
        && n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "case/broken.pkl"));
    // --show-skipped adds the skipped files as notes.
    assert!(notes.iter().any(|n| {
        n["level"] == "note"
            && n["message"]["text"]
                .as_str()
                .unwrap()
                .contains("readme.txt")
    }));
}

#[test]
fn rules_carry_help_cwe_tags_and_security_severity() {
    let (dir, case) = report_cases::mixed();
    let (_, v) = sarif(dir.path(), &case, &[]);
    let rules = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .clone();
    let rule = rules
        .iter()
        .find(|r| r["id"] == "pickle.dangerous-global")
        .unwrap();
    assert_eq!(rule["name"], "PickleDangerousGlobal");
    assert_eq!(rule["defaultConfiguration"]["level"], "error");
    assert_eq!(rule["properties"]["security-severity"], "9.5");
    let tags: Vec<&str> = rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        tags.contains(&"security") && tags.contains(&"external/cwe/cwe-502"),
        "{tags:?}"
    );
    for key in ["text", "markdown"] {
        let help = rule["help"][key].as_str().unwrap();
        assert!(
            help.contains("Why it is dangerous") || help.contains("*Why it is dangerous.*"),
            "{help}"
        );
    }
    // Every result's ruleIndex points at its rule.
    for r in results(&v) {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
    }
}

#[test]
fn clean_and_single_file_scans_are_valid_sarif() {
    let (dir, case) = report_cases::clean();
    let (code, v) = sarif(dir.path(), &case, &[]);
    assert_eq!(code, 0);
    assert_valid(&v);
    assert!(results(&v).is_empty());
    assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], true);

    // A file outside the cwd: URIs are relative to its folder.
    let elsewhere = tempfile::tempdir().unwrap();
    let file = case.join("clean.pkl");
    let (code, v) = sarif(elsewhere.path(), &file, &["--hash"]);
    assert_eq!(code, 0);
    assert_valid(&v);
    assert_eq!(v["runs"][0]["artifacts"][0]["location"]["uri"], "clean.pkl");
    let _ = CLEAN;
}

#[test]
fn suppressed_findings_are_results_with_a_suppression() {
    let (dir, case) = report_cases::mixed();
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[[suppress]]\nrule = \"pickle.dangerous-global\"\npath = \"case/bundle.zip:*\"\nreason = \"vendored test data\"\n",
    )
    .unwrap();
    let (_, v) = sarif(dir.path(), &case, &[]);
    assert_valid(&v);
    let res = results(&v);
    let sup: Vec<_> = res
        .iter()
        .filter(|r| r["suppressions"].is_array())
        .collect();
    assert_eq!(sup.len(), 1, "{res:#?}");
    assert_eq!(sup[0]["suppressions"][0]["kind"], "external");
    assert_eq!(
        sup[0]["suppressions"][0]["justification"],
        "vendored test data"
    );
}

#[test]
fn output_file_holds_the_same_sarif() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evil.pkl"), EVIL).unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "evil.pkl", "-r", "sarif", "-o", "out.sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let written = std::fs::read_to_string(dir.path().join("out.sarif")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), written);
    let v: Value = serde_json::from_str(&written).unwrap();
    assert_valid(&v);
}

#[test]
fn sarif_of_the_fixture_corpus_is_valid() {
    // Everything the scanners can report, in one log: every fixture folder.
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = sarif(dir.path(), &crate::common::fixtures(), &["--show-skipped"]);
    assert!(code == 1 || code == 2, "exit code {code}");
    assert_valid(&v);
    assert!(results(&v).len() > 50);
}

/// The SARIF of the mixed case with the run-dependent parts (base URI, version) redacted.
#[test]
fn sarif_snapshot() {
    let (dir, case) = report_cases::mixed();
    let (_, mut v) = sarif(dir.path(), &case, &["--show-skipped", "--hash"]);
    let run = &mut v["runs"][0];
    run["originalUriBaseIds"]["%SRCROOT%"]["uri"] = Value::String("file:///<cwd>/".into());
    run["tool"]["driver"]["version"] = Value::String("<version>".into());
    run["tool"]["driver"]["semanticVersion"] = Value::String("<version>".into());
    let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
    assert_snapshot("mixed.sarif.json", &text);
}
