//! Helpers shared by the integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// The binary, run in `cwd` (a temp dir by default, so no settings file is picked up).
pub fn modelscan(cwd: &Path) -> Command {
    let mut c = Command::cargo_bin("modelscan").expect("binary");
    c.current_dir(cwd);
    c.env_remove("NO_COLOR");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub report: Value,
}

/// Scan `path` with `-r json` plus `extra`, returning the exit code and the parsed report.
pub fn scan_json(path: &Path, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = modelscan(dir.path());
    c.arg("-p").arg(path).args(["-r", "json"]).args(extra);
    let out = c.output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        report,
    }
}

pub fn issues(r: &Value) -> Vec<Value> {
    r["issues"].as_array().cloned().unwrap_or_default()
}

pub fn max_severity(r: &Value) -> u8 {
    issues(r)
        .iter()
        .map(|i| match i["severity"].as_str().unwrap_or("") {
            "LOW" => 1,
            "MEDIUM" => 2,
            "HIGH" => 3,
            "CRITICAL" => 4,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// Replace the volatile parts of a report (time, version, absolute paths) for snapshots.
pub fn redact(mut r: Value) -> Value {
    if let Some(s) = r.get_mut("summary") {
        s["timestamp"] = Value::String("<timestamp>".into());
        s["modelscan_version"] = Value::String("<version>".into());
        s["absolute_path"] = Value::String("<absolute>".into());
        s["input_path"] = Value::String("<input>".into());
    }
    r
}
