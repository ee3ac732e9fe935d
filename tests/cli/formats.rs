//! Formats read besides the common ones: joblib's pre-0.10 z-files and their side files,
//! scikit-learn's vendored joblib, XGBoost's UBJSON and JSON models, and zip members that are
//! encrypted.

use crate::common::{fixture, issues, modelscan, scan_json, stored_zip};
use crate::exit_codes::{CLEAN, EVIL};
use serde_json::Value;
use std::io::Write;

fn errors(r: &Value) -> Vec<Value> {
    r["errors"].as_array().cloned().unwrap_or_default()
}

fn scanned(r: &Value) -> Vec<String> {
    r["summary"]["scanned"]["scanned_files"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// A z-file as joblib 0.9 writes it (`write_zfile`); `extra_space` is the wider header of
/// joblib <= 0.8.4 under Python 2.
fn zfile(payload: &[u8], extra_space: bool) -> Vec<u8> {
    let mut v = b"ZF".to_vec();
    v.extend_from_slice(format!("{:<19}", format!("{:#x}", payload.len())).as_bytes());
    if extra_space {
        v.push(b' ');
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(3));
    z.write_all(payload).unwrap();
    v.extend(z.finish().unwrap());
    v
}

// ---- joblib z-files --------------------------------------------------------------------------

#[test]
fn an_old_joblib_compressed_file_is_decompressed_and_its_pickle_scanned() {
    let run = scan_json(
        &fixture("joblib/malicious/joblib094_compress3_payload.pkl"),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    let found = issues(&run.report);
    assert!(
        found.iter().any(|i| i["operator"] == "system"
            && i["severity"] == "CRITICAL"
            && i["source"] == "joblib094_compress3_payload.pkl:joblib094_compress3_payload.pkl"),
        "{found:?}"
    );
    let run = scan_json(&fixture("joblib/benign/joblib094_compress3.pkl"), &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(errors(&run.report).is_empty(), "{}", run.stdout);
    assert_eq!(
        scanned(&run.report),
        ["joblib094_compress3.pkl:joblib094_compress3.pkl"]
    );
}

#[test]
fn both_widths_of_the_zfile_header_are_read() {
    let dir = tempfile::tempdir().unwrap();
    for extra_space in [false, true] {
        let p = dir.path().join("model.pkl");
        std::fs::write(&p, zfile(EVIL, extra_space)).unwrap();
        let run = scan_json(&p, &[]);
        assert_eq!(run.code, 1, "extra space {extra_space}: {}", run.stdout);
        assert!(
            issues(&run.report)
                .iter()
                .any(|i| i["operator"] == "system"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_zfile_whose_content_does_not_parse_is_an_error_unless_it_is_array_data() {
    let dir = tempfile::tempdir().unwrap();
    // A pickle cut short: joblib.load would unpickle it; not clean.
    let p = dir.path().join("model.pkl");
    std::fs::write(&p, zfile(&CLEAN[..CLEAN.len() - 3], false)).unwrap();
    let run = scan_json(&p, &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    // Raw array bytes (a ZNDArrayWrapper side file): read whole, no pickle starts there.
    let p = dir.path().join("model.pkl_01.npy.z");
    let floats: Vec<u8> = (0..64u32)
        .flat_map(|i| f64::from(i).to_le_bytes())
        .collect();
    std::fs::write(&p, zfile(&floats, false)).unwrap();
    let run = scan_json(&p, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(errors(&run.report).is_empty(), "{}", run.stdout);
    assert_eq!(
        scanned(&run.report),
        ["model.pkl_01.npy.z:model.pkl_01.npy"]
    );
}

#[test]
fn the_side_files_of_an_old_compressed_joblib_dump_are_read_with_it() {
    // ZNDArrayWrapper side files hold raw array bytes: read with the pickle, the set is clean.
    let run = scan_json(
        &fixture("joblib/benign/joblib094_zfile_sidecar/model.pkl"),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(errors(&run.report).is_empty(), "{}", run.stdout);
    let read = scanned(&run.report);
    for n in ["01", "02"] {
        let side = format!("model.pkl:model.pkl:external[model.pkl_{n}.npy.z]");
        assert!(read.iter().any(|s| s.starts_with(&side)), "{read:?}");
    }
    // An NDArrayWrapper in a z-file pickle makes joblib.load read the object .npy beside it.
    let run = scan_json(
        &fixture("joblib/malicious/joblib094_zfile_ndarraywrapper_sibling/model.pkl"),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        issues(&run.report).iter().any(|i| i["operator"] == "system"
            && i["source"]
                .as_str()
                .is_some_and(|s| s.ends_with(":external[model.pkl_01.npy]"))),
        "{}",
        run.stdout
    );
}

#[test]
fn a_truncated_zfile_is_an_error() {
    let run = scan_json(
        &fixture("joblib/malformed/joblib094_truncated_zfile.pkl"),
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stdout);
    let e = errors(&run.report);
    assert!(
        e.iter().any(|e| e["description"]
            .as_str()
            .is_some_and(|d| d.contains("joblib-zfile") && d.contains("corrupt or truncated"))),
        "{e:?}"
    );
}

// ---- scikit-learn's vendored joblib ------------------------------------------------------------

#[test]
fn arrays_written_by_sklearn_externals_joblib_are_read_as_joblib_reads_them() {
    // Float, int, object and uint8 arrays inline after the wrapper; the uint8 bytes spell an
    // os.system call that joblib reads as data.
    let run = scan_json(
        &fixture("joblib/benign/sklearn020_externals_joblib_arrays.pkl"),
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(errors(&run.report).is_empty(), "{}", run.stdout);
    assert!(issues(&run.report).is_empty(), "{}", run.stdout);
    // The object array is a nested pickle: its payload is found.
    let run = scan_json(
        &fixture("joblib/malicious/sklearn020_externals_joblib_object_array_payload.pkl"),
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(errors(&run.report).is_empty(), "{}", run.stdout);
    assert!(
        issues(&run.report)
            .iter()
            .any(|i| i["operator"] == "system" && i["severity"] == "CRITICAL"),
        "{}",
        run.stdout
    );
}

// ---- XGBoost -----------------------------------------------------------------------------------

#[test]
fn xgboost_models_are_scanned_clean_by_the_xgboost_scanner() {
    for rel in [
        "xgboost/benign/booster_binary_logistic.ubj",
        "xgboost/benign/booster_binary_logistic.json",
        "xgboost/benign/xgbclassifier_multiclass.ubj",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = modelscan(dir.path())
            .arg("-p")
            .arg(fixture(rel))
            .output()
            .unwrap();
        let console = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{rel}: {console}");
        assert!(
            console.contains("using modelscan.scanners.XGBoostModelScan"),
            "{rel}: {console}"
        );
        let run = scan_json(&fixture(rel), &[]);
        assert!(errors(&run.report).is_empty(), "{rel}: {}", run.stdout);
        assert_eq!(scanned(&run.report).len(), 1, "{rel}: {}", run.stdout);
    }
}

#[test]
fn a_ubjson_model_is_found_by_content_whatever_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.bst");
    std::fs::copy(fixture("xgboost/benign/booster_binary_logistic.ubj"), &p).unwrap();
    let run = scan_json(&p, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(scanned(&run.report), ["model.bst"]);
}

#[test]
fn a_broken_xgboost_model_is_an_error() {
    for (rel, says) in [
        (
            "xgboost/malformed/truncated.ubj",
            "ends in the middle of a value",
        ),
        ("xgboost/malformed/no_learner.ubj", "no \"learner\""),
    ] {
        let run = scan_json(&fixture(rel), &[]);
        assert_eq!(run.code, 2, "{rel}: {}", run.stdout);
        let e = errors(&run.report);
        assert!(
            e.iter()
                .any(|e| e["description"].as_str().is_some_and(|d| d.contains(says))),
            "{rel}: {e:?}"
        );
    }
    // A JSON document that starts like a model but is not one.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.json");
    std::fs::write(
        &p,
        br#"{"learner": {"objective": "x"}, "version": [2, 1, 0]}"#,
    )
    .unwrap();
    let run = scan_json(&p, &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
}

#[test]
fn json_that_is_not_an_xgboost_model_is_left_to_the_json_scanner() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.json");
    std::fs::write(
        &p,
        br#"{"model_type": "bert", "learner": "adam", "version": "1"}"#,
    )
    .unwrap();
    let out = modelscan(dir.path()).arg("-p").arg(&p).output().unwrap();
    let console = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{console}");
    assert!(
        console.contains("using modelscan.scanners.JsonScan"),
        "{console}"
    );
    assert!(!console.contains("XGBoostModelScan"), "{console}");
}

#[test]
fn an_ubj_file_nested_too_deep_hits_the_depth_limit() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.ubj");
    let mut doc = b"{L\0\0\0\0\0\0\0\x07learner".to_vec();
    doc.extend(std::iter::repeat_n(b'[', 5000));
    std::fs::write(&p, doc).unwrap();
    let run = scan_json(&p, &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        errors(&run.report)
            .iter()
            .any(|e| e["category"] == "LIMIT_EXCEEDED"),
        "{}",
        run.stdout
    );
}

// ---- encrypted zip members ---------------------------------------------------------------------

#[test]
fn an_encrypted_zip_member_is_an_error_not_an_anomaly() {
    for rel in [
        "zip/malformed/encrypted_member_deflated.zip",
        "zip/malformed/encrypted_member_stored.zip",
    ] {
        let run = scan_json(&fixture(rel), &[]);
        assert_eq!(run.code, 2, "{rel}: {}", run.stdout);
        assert!(issues(&run.report).is_empty(), "{rel}: {}", run.stdout);
        let e = errors(&run.report);
        assert_eq!(e.len(), 1, "{rel}: {e:?}");
        assert_eq!(e[0]["category"], "UNSUPPORTED", "{rel}: {e:?}");
        assert!(
            e[0]["description"]
                .as_str()
                .is_some_and(|d| d.contains("model.pkl is encrypted")),
            "{rel}: {e:?}"
        );
    }
}

#[test]
fn a_member_flagged_encrypted_whose_bytes_are_plain_is_scanned_and_the_flag_reported() {
    let mut z = stored_zip(&[("model.pkl", EVIL)]);
    // General-purpose bit 0 in the local header (offset 6) and the central header.
    z[6] |= 1;
    let central = z
        .windows(4)
        .position(|w| w == b"PK\x01\x02")
        .expect("central header");
    z[central + 8] |= 1;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("model.zip");
    std::fs::write(&p, z).unwrap();
    let run = scan_json(&p, &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let found = issues(&run.report);
    assert!(
        found.iter().any(|i| i["operator"] == "encryption-flag"),
        "{found:?}"
    );
    assert!(found.iter().any(|i| i["operator"] == "system"), "{found:?}");
}
