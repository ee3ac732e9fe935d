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

/// A zip with stored members, written by hand (local headers, central directory, EOCD).
pub fn stored_zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = Vec::new();
    let mut central = Vec::new();
    for (name, data) in members {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let offset = z.len() as u32;
        let mut fixed = Vec::new();
        fixed.extend_from_slice(&crc.sum().to_le_bytes());
        fixed.extend_from_slice(&(data.len() as u32).to_le_bytes());
        fixed.extend_from_slice(&(data.len() as u32).to_le_bytes());
        fixed.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        z.extend_from_slice(&fixed);
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(name.as_bytes());
        z.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        central.extend_from_slice(&fixed);
        central.extend_from_slice(&[0u8; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_off = z.len() as u32;
    z.extend_from_slice(&central);
    let n = members.len() as u16;
    z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
    z.extend_from_slice(&n.to_le_bytes());
    z.extend_from_slice(&n.to_le_bytes());
    z.extend_from_slice(&(central.len() as u32).to_le_bytes());
    z.extend_from_slice(&cd_off.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

/// A file of the repository.
pub fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Validation errors of `instance` against the JSON Schema in `schema_file` (repository
/// relative), formats checked; empty when valid.
pub fn schema_errors(schema_file: &str, instance: &Value) -> Vec<String> {
    let text = std::fs::read_to_string(repo(schema_file)).expect("schema file");
    let mut schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let mut dropped = 0;
    let validator = loop {
        match jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
        {
            Ok(v) => break v,
            // The official SARIF 2.1.0 schema has one `pattern` (run.language, which we never
            // write) with a stray `]` that Rust's regex engines reject; drop a pattern the
            // compiler refuses, and nothing else.
            Err(e) if dropped < 4 => {
                let at = e.instance_path().to_string();
                let (parent, key) = at.rsplit_once('/').expect("a pointer");
                assert_eq!(key, "pattern", "schema does not compile: {e}");
                schema
                    .pointer_mut(parent)
                    .and_then(Value::as_object_mut)
                    .expect("the pattern's object")
                    .remove("pattern");
                dropped += 1;
            }
            Err(e) => panic!("schema does not compile: {e}"),
        }
    };
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect()
}

/// Compare `actual` with `tests/snapshots/<name>`; `UPDATE_SNAPSHOTS=1` rewrites the file.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = repo("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {name}: create it with UPDATE_SNAPSHOTS=1 cargo test --test cli")
    });
    assert!(
        expected == actual,
        "snapshot {name} differs; if the change is intended, regenerate with \
         UPDATE_SNAPSHOTS=1 cargo test --test cli\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

/// Whether `script` (util-linux) is there to run a command in a pseudo-terminal.
pub fn have_script() -> bool {
    std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Run `args` of the modelscan binary in a pseudo-terminal (`script -qec`) in `cwd`, with
/// `env` set and `CI`/`NO_COLOR` removed unless set there; returns what the terminal showed.
pub fn in_pty(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("modelscan");
    let mut line = shell_quote(&bin.to_string_lossy());
    for a in args {
        line.push(' ');
        line.push_str(&shell_quote(a));
    }
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &line, "/dev/null"])
        .current_dir(cwd)
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("script runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
