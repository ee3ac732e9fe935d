//! ModelScan's command line, kept: the default `scan` subcommand, the settings notice, the JSON
//! fields and their order, `-o`, `-v`, `create-settings-file`, settings files merged over the
//! defaults, and sorted, reproducible directory scans.

use crate::common::{modelscan, scan_json};
use crate::exit_codes::{CLEAN, CORRUPT, EVIL};

#[test]
fn scan_is_the_default_subcommand_and_prints_modelscans_console_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clean.pkl"), CLEAN).unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "clean.pkl"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let cwd = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        text.starts_with(&format!(
            "No settings file detected at {}/modelscan-settings.toml. Using defaults. \n\n",
            cwd.display()
        )) || text.starts_with(&format!(
            "No settings file detected at {}/modelscan-settings.toml. Using defaults. \n\n",
            dir.path().display()
        )),
        "{text}"
    );
    assert!(text.contains("--- Summary ---"));
    assert!(text.contains(" No issues found! 🎉"));
    assert_eq!(out.status.code(), Some(0));
    // ModelScan's layout: the notice, a blank line, one INFO line per scanned item, a blank
    // line, the summary.
    let abs = std::fs::canonicalize(dir.path().join("clean.pkl")).unwrap();
    assert!(
        text.contains(&format!(
            " Using defaults. \n\nScanning {} using modelscan.scanners.PickleUnsafeOpScan model scan\n\n--- Summary ---\n",
            abs.display()
        )),
        "{text}"
    );
}

#[test]
fn scanning_lines_name_each_item_and_scanner_as_modelscan_logs_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.pkl"), CLEAN).unwrap();
    std::fs::write(dir.path().join("weights.pt"), CLEAN).unwrap();
    std::fs::write(
        dir.path().join("bundle.zip"),
        crate::common::stored_zip(&[("inner/data.pkl", CLEAN)]),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a model").unwrap();
    std::fs::write(dir.path().join("odd\x1bname.pkl"), CLEAN).unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let run = |extra: &[&str]| {
        let out = modelscan(dir.path())
            .args(["-p", "."])
            .args(extra)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&[]);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Scanning "))
        .collect();
    let r = root.display();
    assert_eq!(
        lines,
        [
            format!("Scanning {r}/a.pkl using modelscan.scanners.PickleUnsafeOpScan model scan"),
            format!(
                "Scanning {r}/bundle.zip:inner/data.pkl using modelscan.scanners.PickleUnsafeOpScan model scan"
            ),
            format!(
                "Scanning {r}/odd\\u{{1b}}name.pkl using modelscan.scanners.PickleUnsafeOpScan model scan"
            ),
            format!(
                "Scanning {r}/weights.pt using modelscan.scanners.PyTorchUnsafeOpScan model scan"
            ),
        ],
        "{text}"
    );
    assert!(!text.contains('\x1b'), "control characters are escaped");
    // Log levels above INFO hide them, as do --quiet and the machine-readable reports.
    for extra in [
        &["-l", "WARNING"][..],
        &["-l", "error"],
        &["-q"],
        &["-r", "json"],
    ] {
        let text = run(extra);
        assert!(!text.contains("Scanning "), "{extra:?}: {text}");
    }
    assert!(run(&["-l", "DEBUG"]).contains("Scanning "));
}

#[test]
fn json_report_has_modelscans_fields_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.pkl");
    std::fs::write(&p, EVIL).unwrap();
    let run = scan_json(&p, &[]);
    assert_eq!(run.code, 1);
    let top: Vec<&str> = run
        .report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(&top[..3], &["summary", "issues", "errors"]);
    let summary: Vec<&str> = run.report["summary"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        summary,
        [
            "total_issues_by_severity",
            "total_issues",
            "input_path",
            "absolute_path",
            "modelscan_version",
            "timestamp",
            "scanned"
        ]
    );
    let issue = &run.report["issues"][0];
    let keys: Vec<&str> = issue
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        &keys[..6],
        &[
            "description",
            "operator",
            "module",
            "source",
            "scanner",
            "severity"
        ]
    );
    assert_eq!(
        issue["description"],
        "Use of unsafe operator 'system' from module 'posix'"
    );
    assert_eq!(issue["source"], "evil.pkl");
    assert_eq!(issue["scanner"], "modelscan.scanners.PickleUnsafeOpScan");
    assert_eq!(issue["severity"], "CRITICAL");
    assert_eq!(issue["rule"], "pickle.dangerous-global");
    assert_eq!(issue["offset"], 0);
    assert_eq!(
        run.report["summary"]["scanned"]["scanned_files"][0],
        "evil.pkl"
    );
    assert!(run.report["summary"].get("skipped").is_none());
    // Python json.dumps separators.
    assert!(
        run.stdout
            .starts_with("{\"summary\": {\"total_issues_by_severity\": {\"LOW\": 0, ")
    );
}

#[test]
fn json_on_stdout_is_clean_and_notices_go_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("clean.pkl");
    std::fs::write(&p, CLEAN).unwrap();
    let run = scan_json(&p, &[]);
    assert!(
        run.report.is_object(),
        "stdout was not only JSON: {}",
        run.stdout
    );
    assert!(run.stderr.contains("Using defaults"));
}

#[test]
fn output_file_gets_the_same_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evil.pkl"), EVIL).unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "evil.pkl", "-r", "json", "-o", "report.json"])
        .output()
        .unwrap();
    let written = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), written);
}

/// An `-o` file that cannot be written fails the run with a message; standard output still
/// gets the whole report.
#[test]
fn an_output_file_that_cannot_be_written_fails_the_run_and_stdout_keeps_the_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clean.pkl"), CLEAN).unwrap();
    let out = modelscan(dir.path())
        .args([
            "-p",
            "clean.pkl",
            "-r",
            "json",
            "-o",
            "missing/dir/report.json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.trim_end()).unwrap();
    assert_eq!(report["summary"]["scanned"]["total_scanned"], 1);
    assert_ne!(out.status.code(), Some(0));
    let said = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("cannot write"), "{said}");
}

#[test]
fn version_flag_works_through_the_default_group() {
    let dir = tempfile::tempdir().unwrap();
    let out = modelscan(dir.path()).arg("-v").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("modelscan, version "));
}

#[test]
fn directory_scans_are_sorted_and_relative_with_skips_listed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/b.pkl"), CLEAN).unwrap();
    std::fs::write(root.join("a.pkl"), EVIL).unwrap();
    std::fs::write(root.join("readme.txt"), "hello\n").unwrap();
    let run = scan_json(&root, &["--show-skipped"]);
    assert_eq!(
        run.report["summary"]["scanned"]["scanned_files"],
        serde_json::json!(["a.pkl", "sub/b.pkl"])
    );
    assert_eq!(
        run.report["summary"]["skipped"]["skipped_files"][0]["source"],
        "readme.txt"
    );
    assert_eq!(
        run.report["summary"]["skipped"]["skipped_files"][0]["category"],
        "SCAN_NOT_SUPPORTED"
    );
    assert_eq!(run.report["issues"][0]["source"], "a.pkl");
}

#[test]
fn a_parse_error_is_an_error_entry_and_never_no_issues_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("corrupt.pkl"), CORRUPT).unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "corrupt.pkl"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("No issues found! "), "{text}");
    assert!(text.contains("--- Errors --- "));
    assert_eq!(out.status.code(), Some(2));
    let run = scan_json(&dir.path().join("corrupt.pkl"), &[]);
    assert_eq!(run.report["errors"][0]["category"], "PICKLE_GENOPS");
    assert_eq!(
        run.report["errors"][0]["description"],
        "Parsing error: pickle exhausted before seeing STOP"
    );
}

#[test]
fn create_settings_file_writes_a_file_that_loads_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = modelscan(dir.path())
        .arg("create-settings-file")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let written = dir.path().join("modelscan-settings.toml");
    assert!(std::fs::metadata(&written).unwrap().len() > 1000);
    // It is picked up automatically and scanning still detects.
    std::fs::write(dir.path().join("evil.pkl"), EVIL).unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "evil.pkl"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("Detected settings file. Using "), "{text}");
    assert_eq!(out.status.code(), Some(1));
    // Without --force an existing file is kept.
    let again = modelscan(dir.path())
        .arg("create-settings-file")
        .output()
        .unwrap();
    assert_ne!(again.status.code(), Some(0));
    let forced = modelscan(dir.path())
        .args(["create-settings-file", "-f"])
        .output()
        .unwrap();
    assert_eq!(forced.status.code(), Some(0));
}

#[test]
fn a_partial_settings_file_is_merged_and_an_unknown_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.pkl"), b"cmypkg\nrun_it\n(tR.").unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        "[unsafe_globals.CRITICAL]\nmypkg = \"*\"\n",
    )
    .unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "x.pkl", "-r", "json", "--settings-file", "s.toml"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["issues"][0]["severity"], "CRITICAL");
    std::fs::write(
        dir.path().join("bad.toml"),
        "[limits]\nmax_pickel_opcodes = 1\n",
    )
    .unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "x.pkl", "--settings-file", "bad.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_pickel_opcodes"));
}

#[test]
fn zip_members_are_named_container_colon_member() {
    let dir = tempfile::tempdir().unwrap();
    let zpath = dir.path().join("bundle.zip");
    let z = crate::common::stored_zip(&[("data.pkl", EVIL)]);
    std::fs::write(&zpath, z).unwrap();
    let run = scan_json(&zpath, &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.report["issues"][0]["source"], "bundle.zip:data.pkl");
    assert_eq!(
        run.report["summary"]["scanned"]["scanned_files"][0],
        "bundle.zip:data.pkl"
    );
}

#[test]
fn strings_from_files_are_escaped_in_the_console() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.pkl"), b"cposix\nsys\x1b[2Jtem\n(tR.").unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "x.pkl"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b'), "raw escape reached the terminal");
    assert!(text.contains("\\u{1b}"));
}

#[test]
fn a_settings_file_that_disables_a_scanner_cannot_make_a_malicious_file_clean() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("evil.pkl"), EVIL).unwrap();
    std::fs::write(
        dir.path().join("modelscan-settings.toml"),
        "[scanners.\"modelscan.scanners.PickleUnsafeOpScan\"]\nenabled = false\n",
    )
    .unwrap();
    // Loaded automatically: the pickle is not read, and the run says so (exit 2, an entry
    // naming the disabled scanner), never "No issues found" with exit 0.
    let out = modelscan(dir.path())
        .args(["-p", "evil.pkl", "-r", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = r["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["description"]
            .as_str()
            .unwrap_or("")
            .contains("the settings disable modelscan.scanners.PickleUnsafeOpScan")),
        "{errors:?}"
    );
    assert!(
        r["summary"]["scanned"].get("scanned_files").is_none(),
        "{r}"
    );
    // --isolated ignores the file: the built-in defaults find the payload.
    let out = modelscan(dir.path())
        .args(["-p", "evil.pkl", "--isolated"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("Settings files ignored (--isolated)")
    );
}

#[test]
fn names_from_files_cannot_write_lines_into_the_console_report() {
    let dir = tempfile::tempdir().unwrap();
    let zip =
        crate::report_cases::zip_bytes(&[("x\n--- Summary ---\n No issues found!\t.pkl", EVIL)]);
    std::fs::write(dir.path().join("bundle.zip"), zip).unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "bundle.zip"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("x\\n--- Summary ---\\n No issues found!\\t.pkl"),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.trim() == "--- Summary ---")
            .count(),
        1,
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.trim() == "No issues found!"),
        "{text}"
    );
}

#[test]
fn data_files_with_generic_names_are_skipped_but_pickle_names_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    // word2vec's binary format: a text header, then raw floats.
    let mut w2v = b"3 2\nthe ".to_vec();
    w2v.extend_from_slice(&[0x00, 0x00, 0x80, 0x3f, 0xcd, 0xcc, 0x4c, 0x3e, b'\n']);
    std::fs::write(dir.path().join("vectors.bin"), &w2v).unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "vectors.bin", "-r", "json", "--show-skipped"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{r}");
    assert!(r["errors"].as_array().unwrap().is_empty(), "{r}");
    // The same bytes named as a pickle: the loader would try, so it is an error.
    std::fs::write(dir.path().join("model.pkl"), &w2v).unwrap();
    let out = modelscan(dir.path())
        .args(["-p", "model.pkl", "-r", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn data_before_a_zip_is_an_anomaly_only_where_a_model_loader_opens_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
    doc.extend(std::iter::repeat_n(0u8, 504));
    doc.extend(crate::report_cases::zip_bytes(&[("notes.txt", b"hello\n")]));
    std::fs::write(dir.path().join("sheet.xls"), &doc).unwrap();
    std::fs::write(dir.path().join("model.pt"), &doc).unwrap();
    let rules = |name: &str| {
        let out = modelscan(dir.path())
            .args(["-p", name, "-r", "json"])
            .output()
            .unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        r["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["rule"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert!(rules("sheet.xls").is_empty());
    assert_eq!(rules("model.pt"), vec!["archive.zip-anomaly".to_string()]);
}

#[test]
fn a_settings_value_of_the_wrong_type_is_named_with_its_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.pkl"), CLEAN).unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "# settings\n[pickle]\nstrict = \"yes\"\n",
            "modelscan-settings.toml:3: key 'pickle.strict': expected a boolean, found a string",
        ),
        (
            "[scanners.\"modelscan.scanners.PickleUnsafeOpScan\"]\nenabled = 1\n",
            "modelscan-settings.toml:2: key 'scanners.\"modelscan.scanners.PickleUnsafeOpScan\".enabled': expected a boolean, found an integer",
        ),
        (
            "[limits]\nmax_file_bytes = 10\n\nmax_pickle_opcodes = -5\n",
            "modelscan-settings.toml:4: key 'limits.max_pickle_opcodes': expected a non-negative integer, found the negative integer -5",
        ),
        (
            "[pickle]\nallow = \"mypkg.*\"\n",
            "modelscan-settings.toml:2: key 'pickle.allow': expected an array, found a string",
        ),
        (
            "[[suppress]]\nrule = \"*\"\n[[suppress]]\nrule = 3\n",
            "modelscan-settings.toml:4: key 'suppress[1].rule': expected a string, found an integer",
        ),
        (
            "[limits]\nmax_pickel_opcodes = 3\n",
            "modelscan-settings.toml:2: key 'limits.max_pickel_opcodes': unknown key `max_pickel_opcodes`",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(dir.path().join("modelscan-settings.toml"), text).unwrap();
        let out = modelscan(dir.path())
            .args(["-p", "x.pkl"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(4), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(want),
            "{text}\nwanted: {want}\ngot: {stderr}"
        );
    }
}
