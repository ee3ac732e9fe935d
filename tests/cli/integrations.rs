//! The integration files run as their hosts would run them: the pre-commit hook's `entry`
//! (from `.pre-commit-hooks.yaml`) over staged files, and the GitHub Action's scan and verdict
//! steps (`scripts/action-scan.sh`, called by `action.yml`) over a folder.

use crate::common::{repo, schema_errors};
use crate::report_cases::{ANOMALY, CLEAN, EVIL, write};
use std::path::Path;
use std::process::Command;

fn bin_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_BIN_EXE_modelscan"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn path_with_binary() -> String {
    format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The hook's `entry` line as pre-commit reads it (a plain YAML scalar).
fn hook_entry() -> String {
    let text = std::fs::read_to_string(repo(".pre-commit-hooks.yaml")).unwrap();
    assert!(text.contains("- id: modelscan"), "{text}");
    assert!(text.contains("language: rust"), "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("  entry: "))
        .expect("entry line")
        .to_string()
}

/// Run the hook on `files` in `dir` as pre-commit does: entry, then the file names.
fn run_hook(dir: &Path, files: &[&str]) -> (i32, String) {
    let script = format!("{} \"$@\"", hook_entry());
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("pre-commit")
        .args(files)
        .current_dir(dir)
        .env("PATH", path_with_binary())
        .env_remove("CI")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn pre_commit_hook_fails_on_a_malicious_staged_file_only() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("clean.pkl", CLEAN),
            ("evil.pkl", EVIL),
            ("notes.dat", b"plain text, not a model\n"),
        ],
    );
    let (code, out) = run_hook(dir.path(), &["clean.pkl", "notes.dat"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run_hook(dir.path(), &["clean.pkl", "evil.pkl", "notes.dat"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("CRITICAL"), "{out}");
    // The repository's settings file is honoured: a suppression lets the commit through.
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[[suppress]]\nrule = \"pickle.dangerous-global\"\npath = \"evil.pkl\"\nreason = \"test data\"\n",
    )
    .unwrap();
    let (code, out) = run_hook(dir.path(), &["clean.pkl", "evil.pkl"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn pre_commit_hook_matches_model_extensions() {
    let text = std::fs::read_to_string(repo(".pre-commit-hooks.yaml")).unwrap();
    let files = text
        .lines()
        .find_map(|l| l.strip_prefix("  files: "))
        .expect("files line");
    for ext in [
        "pkl",
        "pt",
        "bin",
        "h5",
        "keras",
        "npy",
        "onnx",
        "safetensors",
        "gguf",
        "zip",
    ] {
        assert!(
            files.contains(&format!("|{ext}|")) || files.contains(&format!("({ext}|")),
            "{ext}"
        );
    }
}

struct ActionRun {
    code: i32,
    outputs: String,
    summary: String,
}

fn action_step(dir: &Path, mode: &str, env: &[(&str, &str)]) -> ActionRun {
    let outputs = dir.join("github_output");
    let summary = dir.join("github_summary");
    let mut c = Command::new("bash");
    c.arg(repo("scripts/action-scan.sh"))
        .arg(mode)
        .current_dir(dir)
        .env("MODELSCAN", env!("CARGO_BIN_EXE_modelscan"))
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env_remove("CI");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    ActionRun {
        code: out.status.code().unwrap_or(-1),
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
    }
}

#[test]
fn action_scan_step_writes_sarif_and_records_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("models"),
        &[("evil.pkl", EVIL), ("clean.pkl", CLEAN)],
    );
    let run = action_step(
        dir.path(),
        "scan",
        &[
            ("INPUT_PATH", "models"),
            ("INPUT_FAIL_ON", "HIGH"),
            ("INPUT_SARIF_FILE", "out.sarif"),
        ],
    );
    assert_eq!(run.code, 0, "the scan step must let the upload step run");
    assert!(run.outputs.contains("exit-code=1\n"), "{}", run.outputs);
    assert!(
        run.outputs.contains("sarif-file=out.sarif\n"),
        "{}",
        run.outputs
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    let errors = schema_errors("tests/data/sarif-schema-2.1.0.json", &sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    // Paths are relative to the workspace (the cwd), as code scanning needs.
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "models/evil.pkl"
    );
    // The verdict step fails the job.
    let verdict = action_step(
        dir.path(),
        "verdict",
        &[("EXIT_CODE", "1"), ("INPUT_FAIL_ON", "HIGH")],
    );
    assert_eq!(verdict.code, 1);
    assert!(
        verdict.summary.contains("issues at or above HIGH"),
        "{}",
        verdict.summary
    );
}

#[test]
fn action_fail_on_lets_lower_severities_pass() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("models"), &[("odd.pkl", ANOMALY)]);
    let run = action_step(
        dir.path(),
        "scan",
        &[("INPUT_PATH", "models"), ("INPUT_FAIL_ON", "HIGH")],
    );
    assert!(run.outputs.contains("exit-code=0\n"), "{}", run.outputs);
    assert!(dir.path().join("modelscan.sarif").is_file());
    let run = action_step(
        dir.path(),
        "scan",
        &[("INPUT_PATH", "models"), ("INPUT_FAIL_ON", "MEDIUM")],
    );
    assert!(run.outputs.contains("exit-code=1\n"), "{}", run.outputs);
}

#[test]
fn action_verdict_table() {
    let dir = tempfile::tempdir().unwrap();
    for (code, errors_fail, want) in [
        ("0", "true", 0),
        ("1", "true", 1),
        ("2", "true", 1),
        ("2", "false", 0),
        ("3", "true", 0),
        ("", "true", 1),
    ] {
        let run = action_step(
            dir.path(),
            "verdict",
            &[("EXIT_CODE", code), ("INPUT_FAIL_ON_ERRORS", errors_fail)],
        );
        assert_eq!(
            run.code, want,
            "exit code {code:?}, fail-on-errors {errors_fail}"
        );
    }
}

#[test]
fn action_yml_runs_the_tested_script_with_the_inputs_it_reads() {
    let text = std::fs::read_to_string(repo("action.yml")).unwrap();
    for needle in [
        "using: composite",
        "scripts/action-scan.sh\" scan",
        "scripts/action-scan.sh\" verdict",
        "github/codeql-action/upload-sarif@v3",
        "INPUT_PATH: ${{ inputs.path }}",
        "INPUT_FAIL_ON: ${{ inputs.fail-on }}",
        "INPUT_SARIF_FILE: ${{ inputs.sarif-file }}",
        "INPUT_SETTINGS_FILE: ${{ inputs.settings-file }}",
        "INPUT_FAIL_ON_ERRORS: ${{ inputs.fail-on-errors }}",
        "EXIT_CODE: ${{ steps.scan.outputs.exit-code }}",
        "cargo install --locked --path",
    ] {
        assert!(text.contains(needle), "action.yml lacks {needle:?}");
    }
}
