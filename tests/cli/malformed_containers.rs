//! Malformed inputs, one per `fixtures/<format>/malformed/<what_is_broken>.<ext>`: containers
//! and numpy files (made by `fixtures/gen/malformed_containers.py`) and ONNX, Jinja chat
//! templates, marshal code in Keras Lambda layers, 7z, bz2/xz/zstd-compressed pickles and HDF5
//! (made by `fixtures/gen/malformed_parsers.py`). Each gives the exact error, category and
//! message, and a non-zero exit; none is reported clean. A Lambda whose marshal code cannot be
//! decoded is a HIGH finding rather than an error (Keras would still run whatever it decodes).

use crate::common::{Run, fixture, issues, scan_json};

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

/// Scanning `rel` fails (exit 2) with an error of `category` whose description holds every one
/// of `texts` (compared in lower case), and with no error of any other category.
fn assert_only_error(rel: &str, category: &str, texts: &[&str]) -> Run {
    let run = scan_json(&fixture(rel), &[]);
    let errors = run.report["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors.iter().any(|e| e["category"] == category && {
            let d = e["description"].as_str().unwrap_or("").to_lowercase();
            texts.iter().all(|t| d.contains(&t.to_lowercase()))
        }),
        "{rel}: no {category} error containing {texts:?}: {errors:#?}"
    );
    assert!(
        errors.iter().all(|e| e["category"] == category),
        "{rel}: errors of another category: {errors:#?}"
    );
    assert_eq!(run.code, 2, "{rel}: exit code\n{}", run.stdout);
    run
}

/// Scanning `rel` gives (exit 1) an issue with `rule` and `severity` whose `why` holds `text`.
fn assert_issue(rel: &str, rule: &str, severity: &str, text: &str) {
    let run = scan_json(&fixture(rel), &[]);
    let found = issues(&run.report);
    assert!(
        found.iter().any(|i| i["rule"] == rule
            && i["severity"] == severity
            && i["why"].as_str().unwrap_or("").contains(text)),
        "{rel}: no {severity} {rule} issue whose why holds {text:?}: {found:#?}"
    );
    assert_eq!(run.code, 1, "{rel}: exit code\n{}", run.stdout);
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

// ---- ONNX (protobuf) ------------------------------------------------------------------------

#[test]
fn onnx_cut_in_the_middle_of_its_graph_is_malformed() {
    assert_error(
        "onnx/malformed/truncated_mid_graph.onnx",
        "MALFORMED",
        "onnx: not a valid protobuf: field 7 runs past its message (at byte 12)",
    );
}

#[test]
fn onnx_with_a_length_past_the_end_is_malformed() {
    // TensorProto.raw_data (field 9) of the first initializer claims more bytes than the file has.
    assert_error(
        "onnx/malformed/length_past_end.onnx",
        "MALFORMED",
        "onnx: not a valid protobuf: field 9 runs past its message (at byte 103)",
    );
}

#[test]
fn onnx_with_an_invalid_wire_type_is_malformed() {
    assert_error(
        "onnx/malformed/invalid_wire_type.onnx",
        "MALFORMED",
        "onnx: not a valid protobuf: invalid wire type 7 (at byte 86)",
    );
}

// ---- Jinja chat templates -------------------------------------------------------------------

#[test]
fn template_with_an_unclosed_for_block_is_malformed() {
    assert_error(
        "templates/malformed/unclosed_for_block.jinja",
        "MALFORMED",
        "chat template `unclosed_for_block.jinja` could not be parsed as Jinja (unexpected end of \
         template, expected endfor or else at byte 377)",
    );
}

#[test]
fn template_with_an_unclosed_expression_is_malformed() {
    assert_error(
        "templates/malformed/unclosed_expression.jinja",
        "MALFORMED",
        "chat template `unclosed_expression.jinja` could not be parsed as Jinja (unexpected end \
         of template, the tag is not closed at byte 268)",
    );
}

#[test]
fn tokenizer_config_whose_chat_template_lacks_an_endif_is_malformed() {
    assert_error(
        "templates/hf/malformed/chat_template_unclosed_if/tokenizer_config.json",
        "MALFORMED",
        "chat template `chat_template` could not be parsed as Jinja (unexpected end of template, \
         expected elif or else or endif at byte 2497)",
    );
}

// ---- marshal code in Keras Lambda layers ------------------------------------------------------

#[test]
fn keras_config_with_truncated_lambda_marshal_is_an_undecodable_code_finding() {
    assert_issue(
        "keras/malformed/lambda_truncated_marshal.json",
        "keras.lambda-undecodable-code",
        "HIGH",
        "Lambda layer 'preprocess': function: its code could not be decoded (marshal: marshal \
         data too short (at byte 54))",
    );
}

#[test]
fn keras_archive_with_an_unknown_marshal_type_is_an_undecodable_code_finding() {
    assert_issue(
        "keras/malformed/lambda_bad_marshal_type.keras",
        "keras.lambda-undecodable-code",
        "HIGH",
        "its code could not be decoded (marshal: bad marshal data (unknown type code) (at byte 1))",
    );
}

#[test]
fn keras_h5_with_truncated_lambda_marshal_is_an_undecodable_code_finding() {
    assert_issue(
        "keras/malformed/lambda_truncated_marshal.h5",
        "keras.lambda-undecodable-code",
        "HIGH",
        "its code could not be decoded (marshal: marshal data too short (at byte 54))",
    );
}

// ---- 7z -------------------------------------------------------------------------------------

#[test]
fn sevenz_cut_before_its_header_is_malformed() {
    assert_error(
        "7z/malformed/truncated.7z",
        "MALFORMED",
        "next header offset out of range",
    );
}

#[test]
fn sevenz_with_a_bad_start_header_crc_is_malformed() {
    assert_error(
        "7z/malformed/bad_start_header_crc.7z",
        "MALFORMED",
        "7z: CRC mismatch: the data is corrupt",
    );
}

#[test]
fn sevenz_with_a_corrupt_packed_stream_is_malformed() {
    // Read errors of a member are MALFORMED; only a member over max_in_memory_bytes is
    // LIMIT_EXCEEDED.
    assert_only_error(
        "7z/malformed/corrupt_packed_stream.7z",
        "MALFORMED",
        &["7z", "dist overflow"],
    );
}

#[test]
fn sevenz_member_with_a_bad_crc_is_malformed() {
    assert_only_error(
        "7z/malformed/bad_member_crc.7z",
        "MALFORMED",
        &["7z", "CRC mismatch"],
    );
}

// ---- bz2 / xz / zstd compressed pickles ------------------------------------------------------

#[test]
fn truncated_bzip2_stream_is_malformed() {
    assert_error(
        "pickle-bz2/malformed/truncated_stream.pkl.bz2",
        "MALFORMED",
        "bzip2: the stream is empty or corrupt",
    );
}

#[test]
fn bzip2_with_a_corrupt_block_is_malformed() {
    assert_error(
        "pickle-bz2/malformed/corrupt_block.pkl.bz2",
        "MALFORMED",
        "decompression failed: bzip2: invalid data",
    );
}

#[test]
fn truncated_xz_stream_is_malformed() {
    assert_error(
        "pickle-xz/malformed/truncated_stream.pkl.xz",
        "MALFORMED",
        "xz: the stream is empty or corrupt",
    );
}

#[test]
fn xz_with_a_bad_block_crc_is_malformed() {
    assert_error(
        "pickle-xz/malformed/bad_block_crc.pkl.xz",
        "MALFORMED",
        "xz: the compressed stream is corrupt or truncated (invalid block checksum); what follows \
         was not scanned",
    );
}

#[test]
fn truncated_zstd_stream_is_malformed() {
    assert_error(
        "pickle-zstd/malformed/truncated_stream.pkl.zst",
        "MALFORMED",
        "zstd: the stream is empty or corrupt",
    );
}

#[test]
fn zstd_with_a_bad_content_checksum_is_malformed() {
    // The pickle inside is complete; zstandard (and pickle.load over zstandard.open) rejects the
    // frame: "Restored data doesn't match checksum". gzip and xz report the same break.
    assert_only_error(
        "pickle-zstd/malformed/bad_checksum.pkl.zst",
        "MALFORMED",
        &["zstd", "checksum"],
    );
}

// ---- HDF5 -----------------------------------------------------------------------------------

#[test]
fn hdf5_with_an_unknown_superblock_version_is_malformed() {
    assert_error(
        "keras/malformed/bad_superblock_version.h5",
        "MALFORMED",
        "hdf5: unsupported superblock version 9",
    );
}

#[test]
fn hdf5_whose_root_object_header_is_past_the_end_is_malformed() {
    assert_error(
        "keras/malformed/root_object_header_past_end.h5",
        "MALFORMED",
        "hdf5: unexpected end of data at offset 21304 (need 4 bytes, have 0)",
    );
}

#[test]
fn hdf5_with_a_damaged_signature_is_malformed_hdf5() {
    // b"\x89XYZ\r\n\x1a\n" is NEWFALSE then a BINUNICODE whose length runs past the file: not
    // the start of a pickle, so the .h5 extension decides.
    let run = assert_only_error(
        "keras/malformed/bad_signature.h5",
        "MALFORMED",
        &["hdf5: invalid HDF5 magic bytes"],
    );
    assert!(issues(&run.report).is_empty(), "{:#?}", issues(&run.report));
}

// ---- joblib's own compressed files ------------------------------------------------------------

#[test]
fn joblib_zlib_file_cut_in_half_is_malformed() {
    assert_only_error(
        "joblib/malformed/truncated_zlib_stream.joblib",
        "MALFORMED",
        &[
            "zlib: the compressed stream is corrupt or truncated",
            "incomplete deflate stream",
        ],
    );
}

#[test]
fn joblib_lz4_file_cut_in_half_is_malformed() {
    assert_only_error(
        "joblib/malformed/truncated_lz4_stream.joblib",
        "MALFORMED",
        &["lz4: the stream is empty or corrupt"],
    );
}

#[test]
fn joblib_lzma_file_cut_in_half_is_malformed() {
    assert_only_error(
        "joblib/malformed/truncated_lzma_stream.joblib",
        "MALFORMED",
        &[
            "lzma: the compressed stream is corrupt or truncated",
            "unexpected end of LZMA input",
        ],
    );
}
