//! Every `[limits]` key, set tiny in a settings file, on an input that goes past it: the scan
//! must say so (an error entry naming the limit, or a finding) and exit non-zero, never report
//! the file clean.

use crate::common::{fixture, issues, scan_json};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// Scan `input` with `[limits]` set to `limits` (TOML lines).
fn scan_with_limits(input: &Path, limits: &str) -> crate::common::Run {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("limits.toml");
    std::fs::write(&settings, format!("[limits]\n{limits}\n")).unwrap();
    scan_json(input, &["--settings-file", settings.to_str().unwrap()])
}

fn errors(r: &Value) -> Vec<Value> {
    r["errors"].as_array().cloned().unwrap_or_default()
}

/// The run failed with a LIMIT_EXCEEDED error entry that names `limit`.
fn assert_limit_error(run: &crate::common::Run, limit: &str) {
    assert_ne!(run.code, 0, "a limit hit must not exit 0\n{}", run.stdout);
    let errs = errors(&run.report);
    assert!(
        errs.iter().any(|e| e["category"] == "LIMIT_EXCEEDED"
            && e["description"].as_str().unwrap_or("").contains(limit)),
        "no LIMIT_EXCEEDED error naming {limit}: {errs:#?}\n{}",
        run.stderr
    );
}

fn write_temp(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (dir, p)
}

const CLEAN_P2: &[u8] = b"\x80\x02]q\x00(K\x01K\x02K\x03e.";

#[test]
fn max_file_bytes_stops_a_larger_file_with_an_error() {
    let (_d, p) = write_temp("clean.pkl", CLEAN_P2);
    let run = scan_with_limits(&p, "max_file_bytes = 10");
    assert_limit_error(&run, "max_file_bytes");
    assert_eq!(run.code, 2);
}

#[test]
fn max_decompressed_bytes_stops_a_gzip_stream() {
    let run = scan_with_limits(
        &fixture("pickle-gz/benign/pandas_to_pickle.pkl.gz"),
        "max_decompressed_bytes = 100",
    );
    assert_limit_error(&run, "max_decompressed_bytes");
}

#[test]
fn max_compression_ratio_past_the_floor_is_a_bomb_finding() {
    let run = scan_with_limits(
        &fixture("pickle-gz/benign/pandas_to_pickle.pkl.gz"),
        "max_compression_ratio = 1\nbomb_floor_bytes = 10",
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        issues(&run.report)
            .iter()
            .any(|i| i["rule"] == "archive.bomb"
                || i["description"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Decompression bomb")),
        "{:#?}",
        issues(&run.report)
    );
}

#[test]
fn bomb_floor_bytes_keeps_small_well_compressed_streams_clean() {
    // The same ratio under the floor is not judged: the file scans clean.
    let run = scan_with_limits(
        &fixture("pickle-gz/benign/pandas_to_pickle.pkl.gz"),
        "max_compression_ratio = 1\nbomb_floor_bytes = 100000000",
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn max_archive_depth_stops_a_zip_inside_a_zip() {
    let run = scan_with_limits(
        &fixture("zip/malicious/nested_zip_pickle.zip"),
        "max_archive_depth = 1",
    );
    assert_limit_error(&run, "max_archive_depth");
}

#[test]
fn max_archive_members_stops_a_zip() {
    let run = scan_with_limits(
        &fixture("zip/benign/model_in_zip.zip"),
        "max_archive_members = 1",
    );
    assert_limit_error(&run, "max_archive_members");
}

#[test]
fn max_archive_members_stops_a_tar() {
    let mut b = tar::Builder::new(Vec::new());
    for name in ["a.pkl", "b.pkl", "c.pkl"] {
        let mut h = tar::Header::new_gnu();
        h.set_size(CLEAN_P2.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, CLEAN_P2).unwrap();
    }
    let (_d, p) = write_temp("three.tar", &b.into_inner().unwrap());
    let run = scan_with_limits(&p, "max_archive_members = 2");
    assert_limit_error(&run, "max_archive_members");
}

#[test]
fn max_archive_members_stops_a_7z() {
    // model.7z holds one member.
    let run = scan_with_limits(&fixture("7z/benign/model.7z"), "max_archive_members = 0");
    assert_limit_error(&run, "max_archive_members");
}

#[test]
fn max_pickle_opcodes_is_a_finding_and_an_error() {
    let (_d, p) = write_temp("clean.pkl", CLEAN_P2);
    let run = scan_with_limits(&p, "max_pickle_opcodes = 4");
    assert_limit_error(&run, "max_pickle_opcodes");
    assert!(
        issues(&run.report)
            .iter()
            .any(|i| i["rule"] == "pickle.resource-exhaustion")
    );
}

#[test]
fn max_pickle_stack_stops_a_growing_stack() {
    let (_d, p) = write_temp("stack.pkl", b"\x80\x02(NNNNNNNNNNt.");
    let run = scan_with_limits(&p, "max_pickle_stack = 3");
    assert_limit_error(&run, "max_pickle_stack");
}

#[test]
fn max_pickle_memo_stops_a_growing_memo() {
    let (_d, p) = write_temp("memo.pkl", b"\x80\x02Nq\x00q\x01q\x02q\x03q\x04.");
    let run = scan_with_limits(&p, "max_pickle_memo = 2");
    assert_limit_error(&run, "max_pickle_memo");
}

#[test]
fn max_kept_operand_bytes_does_not_hide_a_dangerous_global() {
    // Module and name longer than the bytes kept per operand: the import is still judged.
    let evil = b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x8c\x06system\x93\x8c\x07echo hi\x85R.";
    let (_d, p) = write_temp("evil.pkl", evil);
    let run = scan_with_limits(&p, "max_kept_operand_bytes = 4");
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.code, 1, "{}", run.stdout);
}

#[test]
fn max_nesting_depth_stops_a_deep_keras_config() {
    let run = scan_with_limits(
        &fixture("keras/benign/model_tfkeras.json"),
        "max_nesting_depth = 2",
    );
    assert_limit_error(&run, "max_nesting_depth");
}

#[test]
fn max_nesting_depth_stops_a_deep_chat_template() {
    let deep = format!("{}x{}", "{% if a %}".repeat(40), "{% endif %}".repeat(40));
    let (_d, p) = write_temp("chat_template.jinja", deep.as_bytes());
    assert_eq!(
        scan_json(&p, &[]).code,
        0,
        "40 levels are within the default"
    );
    let run = scan_with_limits(&p, "max_nesting_depth = 20");
    assert_limit_error(&run, "max_nesting_depth");
    assert_eq!(run.code, 2);
}

#[test]
fn max_in_memory_bytes_stops_a_compressed_zip_member() {
    let run = scan_with_limits(
        &fixture("zip/benign/model_in_zip.zip"),
        "max_in_memory_bytes = 100",
    );
    assert_limit_error(&run, "max_in_memory_bytes");
}

#[test]
fn max_seconds_per_file_stops_a_long_pickle_stream() {
    // One pickle of billions of NONE/POP pairs, as thousands of concatenated gzip members
    // (a few MiB on disk): it runs far past one second unless the deadline stops it.
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&b"N0".repeat(1 << 20)).unwrap();
    let member = member.finish().unwrap();
    let mut first = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    first.write_all(b"\x80\x02").unwrap();
    let mut file = first.finish().unwrap();
    for _ in 0..2000 {
        file.extend_from_slice(&member);
    }
    let (_d, p) = write_temp("long.pkl.gz", &file);
    let start = std::time::Instant::now();
    let run = scan_with_limits(
        &p,
        "max_seconds_per_file = 1\nmax_pickle_opcodes = 1000000000000\n\
         max_compression_ratio = 1000000\nmax_decompressed_bytes = 1000000000000",
    );
    assert_limit_error(&run, "max_seconds_per_file");
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
}

/// Protobuf length-delimited field `field` holding `payload`.
fn pb_field(field: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for mut v in [field << 3 | 2, payload.len() as u64] {
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    out.extend_from_slice(payload);
    out
}

/// An ONNX model's tensor contents are skipped, not held in memory: a model with 4 MiB of
/// inline weights scans under a 1 MiB memory cap with the same result as without them; only
/// the graph itself counts against the cap.
#[test]
fn onnx_tensor_data_does_not_count_against_max_in_memory_bytes() {
    // ModelProto.graph (7) { initializer (5) { name (8), raw_data (9) } }: appended to a
    // model, protobuf merges it into the model's graph.
    let weights = vec![0x5a_u8; 4 << 20];
    let tensor = [pb_field(8, b"big_weight"), pb_field(9, &weights)].concat();
    let extra = pb_field(7, &pb_field(5, &tensor));
    for (f, want, rule) in [
        ("onnx/benign/mlp.onnx", 0, None),
        (
            "onnx/malicious/extdata_nested/model.onnx",
            1,
            Some("onnx.external-data-traversal"),
        ),
    ] {
        let mut bytes = std::fs::read(fixture(f)).unwrap();
        bytes.extend(&extra);
        let (_d, p) = write_temp("big.onnx", &bytes);
        let run = scan_with_limits(&p, "max_in_memory_bytes = 1048576");
        assert_eq!(run.code, want, "{f}\n{}", run.stdout);
        assert!(
            errors(&run.report).is_empty(),
            "{f}: {:#?}",
            errors(&run.report)
        );
        let found: Vec<String> = issues(&run.report)
            .iter()
            .filter_map(|i| i["rule"].as_str().map(str::to_owned))
            .collect();
        match rule {
            None => assert!(found.is_empty(), "{f}: {found:?}"),
            Some(r) => assert!(found.iter().any(|x| x == r), "{f}: {found:?}"),
        }
    }
    let run = scan_with_limits(&fixture("onnx/benign/mlp.onnx"), "max_in_memory_bytes = 64");
    assert_limit_error(&run, "max_in_memory_bytes");
}

/// A JSON text takes up to ~36 times its size once parsed: `max_in_memory_bytes` bounds the
/// parse, not only the file (400 KB of config holding 200,000 numbers is ~19 MB parsed).
#[test]
fn max_in_memory_bytes_bounds_a_parsed_json_config_not_only_its_file() {
    let text = format!(
        r#"{{"class_name": "Sequential", "config": [{}0]}}"#,
        "0,".repeat(200_000)
    );
    let (_d, p) = write_temp("config.json", text.as_bytes());
    let run = scan_with_limits(&p, "max_in_memory_bytes = 4194304");
    assert_limit_error(&run, "max_in_memory_bytes");
    assert_eq!(
        scan_json(&p, &[]).code,
        0,
        "within the default cap it is scanned"
    );
}

/// A JSON file larger than the memory cap is still checked, streamed: valid JSON is clean,
/// broken JSON is a JSON_DECODE error (17 MB, past the size that is read whole).
#[test]
fn a_json_file_larger_than_max_in_memory_bytes_is_streamed() {
    let big = format!(
        r#"{{"learner": "{}", "trees": [1, 2, 3]}}"#,
        "x".repeat(17 << 20)
    );
    let (_d, p) = write_temp("model.json", big.as_bytes());
    let run = scan_with_limits(&p, "max_in_memory_bytes = 1048576");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(errors(&run.report).is_empty(), "{:#?}", errors(&run.report));
    let (_d2, cut) = write_temp("model.json", &big.as_bytes()[..big.len() - 5]);
    let run = scan_with_limits(&cut, "max_in_memory_bytes = 1048576");
    assert_eq!(run.code, 2);
    let errs = errors(&run.report);
    assert!(
        errs.iter().any(|e| e["category"] == "JSON_DECODE"),
        "{errs:#?}"
    );
}
