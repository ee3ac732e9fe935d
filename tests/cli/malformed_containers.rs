//! Malformed containers and numpy files (`fixtures/<format>/malformed/<what_is_broken>.<ext>`,
//! made by `fixtures/gen/malformed_containers.py`): each gives the exact error, category and
//! message, and a non-zero exit; none is reported clean.

use crate::common::{fixture, issues, scan_json};

/// Scanning `rel` fails with an error entry of `category` whose description holds `text`.
fn assert_error(rel: &str, category: &str, text: &str) {
    let run = scan_json(&fixture(rel), &[]);
    let errors = run.report["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors
            .iter()
            .any(|e| e["category"] == category
                && e["description"].as_str().unwrap_or("").contains(text)),
        "{rel}: no {category} error containing {text:?}: {errors:#?}"
    );
    assert_eq!(run.code, 2, "{rel}: exit code\n{}", run.stdout);
}

#[test]
fn zip_whose_eocd_points_past_the_end_is_malformed() {
    assert_error(
        "zip/malformed/eocd_past_end.zip",
        "MALFORMED",
        "zip: central directory lies outside the file",
    );
}

#[test]
fn zip_cut_inside_its_eocd_is_malformed() {
    assert_error(
        "zip/malformed/truncated_eocd.zip",
        "MALFORMED",
        "zip: no end-of-central-directory record",
    );
}

#[test]
fn zip_with_a_truncated_central_directory_is_malformed() {
    assert_error(
        "zip/malformed/truncated_central_directory.zip",
        "MALFORMED",
        "zip: no end-of-central-directory record",
    );
}

#[test]
fn zip_member_without_its_local_header_is_an_anomaly_finding() {
    // The member cannot be located, so it is not scanned: that is reported as a finding.
    let run = scan_json(&fixture("zip/malformed/bad_local_header.zip"), &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        issues(&run.report)
            .iter()
            .any(|i| i["rule"] == "archive.zip-anomaly"
                && i["description"].as_str().unwrap_or("").contains(
                    "member model.pkl: no local header where the central directory points"
                )),
        "{:#?}",
        issues(&run.report)
    );
}

#[test]
fn tar_with_a_bad_header_checksum_is_malformed() {
    assert_error(
        "tar/malformed/bad_checksum.tar",
        "MALFORMED",
        "tar: archive header checksum mismatch",
    );
}

#[test]
fn tar_cut_inside_a_member_is_malformed() {
    assert_error(
        "tar/malformed/truncated_member.tar",
        "MALFORMED",
        "tar: unexpected EOF",
    );
}

#[test]
fn truncated_gzip_stream_is_malformed() {
    assert_error(
        "pickle-gz/malformed/truncated_stream.pkl.gz",
        "MALFORMED",
        "gzip: the compressed stream is corrupt or truncated (incomplete deflate stream)",
    );
}

#[test]
fn gzip_with_a_wrong_crc_is_malformed() {
    // The pickle inside is complete; the trailer that follows it is wrong, as gzip.open sees.
    assert_error(
        "pickle-gz/malformed/bad_crc.pkl.gz",
        "MALFORMED",
        "matching checksum",
    );
}

#[test]
fn npy_with_truncated_array_data_is_malformed() {
    assert_error(
        "numpy/malformed/truncated_data.npy",
        "MALFORMED",
        "numpy: the header promises 512 bytes of array data, the file has 412",
    );
}

#[test]
fn npy_whose_header_is_not_a_dict_is_malformed() {
    assert_error(
        "numpy/malformed/header_not_a_dict.npy",
        "MALFORMED",
        "numpy: the header is not a complete dict literal",
    );
}

#[test]
fn npy_with_a_bad_header_is_malformed() {
    assert_error(
        "numpy/malformed/bad_header.npy",
        "MALFORMED",
        "numpy: the header is not a complete dict literal",
    );
}
