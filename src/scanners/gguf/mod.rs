//! GGUF files (llama.cpp, Ollama, LM Studio, llama-cpp-python): the format holds no code, but
//! its metadata carries Jinja2 chat templates (`tokenizer.chat_template` and the named
//! `tokenizer.chat_template.<name>` variants) that loaders render, and a malformed structure
//! is how parser bugs in loaders are reached. This module reads the structure (`reader.rs`),
//! hands every chat template to the shared template analysis (`scanners::template`), reports
//! structure anomalies (duplicate keys, overlapping tensors) as issues, and structure errors
//! (truncation, impossible counts and lengths, tensors outside the file) as errors. It never
//! reads tensor data.

pub mod reader;

use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::ErrorCategory;
use crate::scanners::template::analysis::KnownVar;
use crate::scanners::template::{MAX_TEMPLATE_BYTES, scan_template};
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};
use reader::{ReadOptions, Value};

pub const SCANNER_NAME: &str = "modelscan.scanners.GgufScan";
const SCAN_NAME: &str = "gguf";
/// Arrays inside arrays (a cap on top of `limits.max_nesting_depth`).
const MAX_ARRAY_DEPTH: u32 = 32;

/// The metadata keys loaders read chat templates from (`Keys.Tokenizer.CHAT_TEMPLATE` and
/// `CHAT_TEMPLATE_N` in the gguf package; llama.cpp's `LLM_KV_TOKENIZER_CHAT_TEMPLATE`).
pub fn is_template_key(key: &str) -> bool {
    key == "tokenizer.chat_template" || key.starts_with("tokenizer.chat_template.")
}

pub struct GgufScanner;

/// The vocabulary: token texts by id.
const TOKENS_KEY: &str = "tokenizer.ggml.tokens";

/// Template variables that hold a special token's text, and the metadata key of its id.
/// llama-cpp-python passes `bos_token` and `eos_token` (`Llama.__init__`:
/// `token_get_text(token_bos())`); transformers' GGUF loader maps the other ids too
/// (`integrations/ggml.py`, `GGUF_TOKENIZER_MAPPING`; the gguf package spells the separator
/// key `seperator`).
const SPECIAL_TOKEN_IDS: &[(&str, &str)] = &[
    ("bos_token", "tokenizer.ggml.bos_token_id"),
    ("eos_token", "tokenizer.ggml.eos_token_id"),
    ("unk_token", "tokenizer.ggml.unknown_token_id"),
    ("sep_token", "tokenizer.ggml.seperator_token_id"),
    ("pad_token", "tokenizer.ggml.padding_token_id"),
    ("cls_token", "tokenizer.ggml.cls_token_id"),
    ("mask_token", "tokenizer.ggml.mask_token_id"),
];

/// Longest token text read for a template variable.
const MAX_TOKEN_TEXT: u64 = 4096;

/// The texts of the special tokens whose id the metadata sets once and whose entry in the
/// vocabulary could be read. A token without a usable id (absent, repeated, out of range:
/// llama.cpp then falls back to a default id of the tokenizer model) stays unknown, and the
/// template analysis keeps judging its uses as if it could be any name.
fn special_token_texts(
    kvs: &[reader::KeyValue],
    blob: &crate::engine::blob::Blob,
) -> Vec<KnownVar> {
    let once = |key: &str| {
        let mut found = kvs.iter().filter(|kv| kv.key == key);
        match (found.next(), found.next()) {
            (Some(kv), None) => Some(&kv.value),
            _ => None,
        }
    };
    let Some(Value::Array {
        strings: Some(tokens),
        ..
    }) = once(TOKENS_KEY)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (var, key) in SPECIAL_TOKEN_IDS {
        let id = match once(key) {
            Some(Value::Uint(id)) => usize::try_from(*id).ok(),
            Some(Value::Int(id)) => usize::try_from(*id).ok(),
            _ => None,
        };
        let Some(&(offset, len)) = id.and_then(|id| tokens.get(id)) else {
            continue;
        };
        if len > MAX_TOKEN_TEXT {
            continue;
        }
        let Ok(bytes) = blob.read_vec(offset, usize::try_from(len).unwrap_or(0)) else {
            continue;
        };
        // llama-cpp-python decodes token texts as UTF-8; other bytes are left unknown.
        if let Ok(text) = String::from_utf8(bytes) {
            out.push(KnownVar {
                name: (*var).to_string(),
                value: text,
                exact: true,
            });
        }
    }
    out
}

impl Scanner for GgufScanner {
    fn name(&self) -> &'static str {
        SCANNER_NAME
    }

    fn scan_name(&self) -> &'static str {
        SCAN_NAME
    }

    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::Gguf
    }

    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let keep = |k: &str| is_template_key(k) || k == TOKENS_KEY;
        let parsed = {
            let opts = ReadOptions {
                keep_string: &keep,
                max_kept_string: MAX_TEMPLATE_BYTES as u64,
                max_array_depth: ctx.settings.limits.max_nesting_depth.min(MAX_ARRAY_DEPTH),
                max_metadata_bytes: ctx.settings.limits.max_in_memory_bytes,
                budget: &ctx.budget,
            };
            reader::read(&item.blob, &opts)
        };
        let known_vars = special_token_texts(&parsed.file.kvs, &item.blob);
        // Templates read before a structure error are still analysed.
        for kv in &parsed.file.kvs {
            if !is_template_key(&kv.key) {
                continue;
            }
            match &kv.value {
                Value::Str {
                    bytes: Some(b),
                    data_offset,
                    ..
                } => {
                    let text = String::from_utf8_lossy(b);
                    scan_template(
                        ctx,
                        SCANNER_NAME,
                        SCAN_NAME,
                        &item.source,
                        &kv.key,
                        &text,
                        Some((*data_offset, b.as_slice())),
                        &known_vars,
                    );
                }
                Value::Str {
                    bytes: None, len, ..
                } => ctx.error(
                    SCAN_NAME,
                    &item.source,
                    ErrorCategory::LimitExceeded,
                    format!(
                        "chat template `{}` is {len} bytes, more than the {MAX_TEMPLATE_BYTES} analysed; it was not checked",
                        kv.key
                    ),
                ),
                // llama.cpp and the Python reader only use string templates.
                _ => {}
            }
        }
        for a in &parsed.file.anomalies {
            ctx.issue(
                SCANNER_NAME,
                &item.source,
                IssueBuilder::new("gguf.malformed-structure")
                    .operator("gguf", a.kind)
                    .description(format!("GGUF structure anomaly: {}", a.message))
                    .offset(a.offset),
            );
        }
        ctx.budget.charge_bytes(parsed.file.bytes_read)?;
        match parsed.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::blob::Blob;
    use crate::findings::Outcome;
    use crate::findings::{Severity, Source};
    use crate::limits::Budget;
    use crate::settings::Settings;
    use std::path::PathBuf;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/gguf");

    fn blob(rel: &str) -> Blob {
        Blob::from_file(std::fs::File::open(format!("{DIR}/{rel}")).unwrap()).unwrap()
    }

    fn scan(rel: &str) -> (Outcome, Result<(), ScanError>) {
        let settings = Settings::defaults();
        let mut out = Outcome::default();
        let b = blob(rel);
        let head = b.head(crate::engine::detect::HEAD_LEN).unwrap();
        let item = Item {
            source: Source::file(rel.to_string(), PathBuf::from(format!("{DIR}/{rel}"))),
            blob: b,
            format: Format::Gguf,
            head,
        };
        let mut ctx = ScanCtx {
            settings: &settings,
            budget: Budget::unlimited(),
            out: &mut out,
            depth: 0,
        };
        let r = GgufScanner.scan(&item, &mut ctx);
        (out, r)
    }

    fn read(rel: &str) -> reader::Parsed {
        let budget = Budget::unlimited();
        let keep = |k: &str| is_template_key(k);
        reader::read(
            &blob(rel),
            &ReadOptions {
                keep_string: &keep,
                max_kept_string: 1 << 20,
                max_array_depth: 32,
                max_metadata_bytes: 1 << 30,
                budget: &budget,
            },
        )
    }

    fn error_of(rel: &str) -> String {
        let (out, r) = scan(rel);
        assert!(out.issues.is_empty(), "{:?}", out.issues);
        r.unwrap_err().to_string()
    }

    #[test]
    fn special_token_texts_from_the_vocabulary_are_the_template_variables() {
        // EOS is the vocabulary entry `__globals__`: used as a key it names a dunder.
        let (out, r) = scan("malicious/eos_token_globals_subscript.gguf");
        assert!(r.is_ok());
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        let i = &out.issues[0];
        assert_eq!(i.severity, Severity::Critical);
        assert!(
            i.description
                .ends_with("(`eos_token` is `__globals__` in this file)"),
            "{}",
            i.description
        );
        // EOS is `<|im_end|>`: a lookup keyed by it is ordinary.
        let (out, r) = scan("benign/eos_token_lookup.gguf");
        assert!(r.is_ok() && out.issues.is_empty(), "{:?}", out.issues);
    }

    #[test]
    fn plain_llama_file_is_read_like_the_python_reader_reads_it() {
        let p = read("benign/plain_llama.gguf");
        assert!(p.error.is_none(), "{:?}", p.error);
        let f = p.file;
        assert_eq!((f.version, f.big_endian), (3, false));
        assert_eq!(f.kvs.len(), 20);
        assert_eq!(f.alignment, 32);
        assert_eq!(f.data_offset, Some(1152));
        let t: Vec<_> = f
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), t.dims.clone(), t.offset, t.nbytes))
            .collect();
        assert_eq!(
            t,
            vec![
                ("token_embd.weight", vec![8, 4], 0, Some(128)),
                ("output_norm.weight", vec![8], 128, Some(32)),
            ]
        );
        let nested = f
            .kvs
            .iter()
            .find(|kv| kv.key == "test.nested_array")
            .unwrap();
        assert_eq!(
            nested.value,
            Value::Array {
                elem: reader::ValueType::Array,
                count: 2,
                strings: None,
            }
        );
        let int8 = f.kvs.iter().find(|kv| kv.key == "test.int8").unwrap();
        assert_eq!(int8.value, Value::Int(-5));
        let (out, r) = scan("benign/plain_llama.gguf");
        assert!(r.is_ok() && out.issues.is_empty() && out.errors.is_empty());
    }

    #[test]
    fn benign_files_of_every_version_and_byte_order_are_clean() {
        for (rel, version, big_endian, templates) in [
            ("benign/chatml_template.gguf", 3, false, 1),
            ("benign/named_templates.gguf", 3, false, 2),
            ("benign/big_endian_chatml.gguf", 3, true, 1),
            ("benign/v2_chatml.gguf", 2, false, 1),
            ("benign/v1_plain.gguf", 1, false, 0),
        ] {
            let p = read(rel);
            assert!(p.error.is_none(), "{rel}: {:?}", p.error);
            assert_eq!(
                (p.file.version, p.file.big_endian),
                (version, big_endian),
                "{rel}"
            );
            assert_eq!(p.file.tensors.len(), 2, "{rel}");
            let kept = p
                .file
                .kvs
                .iter()
                .filter(|kv| matches!(kv.value, Value::Str { bytes: Some(_), .. }))
                .count();
            assert_eq!(kept, templates, "{rel}");
            let (out, r) = scan(rel);
            assert!(r.is_ok(), "{rel}: {r:?}");
            assert!(out.issues.is_empty(), "{rel}: {:?}", out.issues);
            assert!(out.errors.is_empty(), "{rel}: {:?}", out.errors);
        }
        let v1 = read("benign/v1_plain.gguf").file;
        assert_eq!(v1.tensors[0].dims, vec![8, 4]);
        assert_eq!(v1.data_offset, Some(288));
    }

    #[test]
    fn ssti_in_the_chat_template_is_critical_and_points_into_the_file() {
        let (out, r) = scan("malicious/ssti_cycler.gguf");
        assert!(r.is_ok());
        assert_eq!(out.issues.len(), 1);
        let i = &out.issues[0];
        assert_eq!(i.rule, "template.injection");
        assert_eq!(i.severity, Severity::Critical);
        assert_eq!(i.scanner, "modelscan.scanners.GgufScan");
        assert_eq!(
            i.operator,
            "cycler.__init__.__globals__.os.popen('echo pwned').read()"
        );
        // The offset is the byte in the file where the last access of the chain is.
        let bytes = std::fs::read(format!("{DIR}/malicious/ssti_cycler.gguf")).unwrap();
        let at = i.offset.unwrap() as usize;
        assert!(bytes[at..].starts_with(b"()"), "{:?}", &bytes[at..at + 8]);
    }

    #[test]
    fn subclasses_payload_is_critical() {
        let (out, _) = scan("malicious/ssti_subclasses.gguf");
        assert!(!out.issues.is_empty());
        assert!(out.issues.iter().all(|i| i.severity == Severity::Critical));
        assert!(out.issues.iter().any(|i| i.operator
            == "''.__class__.__mro__[1].__subclasses__()[*].__init__.__globals__['popen']('echo pwned').read()"));
    }

    #[test]
    fn payload_in_a_named_template_is_found() {
        let (out, _) = scan("malicious/ssti_named_tool_use.gguf");
        assert_eq!(out.issues.len(), 1);
        assert!(
            out.issues[0]
                .description
                .starts_with("Chat template `tokenizer.chat_template.tool_use` reaches `os`")
        );
    }

    #[test]
    fn payload_in_a_big_endian_file_is_found() {
        let (out, r) = scan("malicious/ssti_big_endian.gguf");
        assert!(r.is_ok());
        assert_eq!(out.issues.len(), 1);
        assert_eq!(
            out.issues[0].operator,
            "lipsum|attr('__globals__')['os'].popen('echo pwned').read()"
        );
    }

    #[test]
    fn template_before_a_structure_error_is_still_analysed() {
        let (out, r) = scan("malicious/ssti_then_bad_tensor.gguf");
        assert_eq!(out.issues.len(), 1);
        assert_eq!(out.issues[0].severity, Severity::Critical);
        assert_eq!(
            r.unwrap_err().to_string(),
            "gguf: tensor 'output_norm.weight' data [1099511629248, 1099511629280) extends past the end of the file (1632 bytes) (at byte 1393)"
        );
    }

    #[test]
    fn truncated_header_is_malformed() {
        assert_eq!(
            error_of("malformed/truncated_header.gguf"),
            "gguf: truncated file: the tensor count needs 8 bytes at offset 8 but the file is 12 bytes long (at byte 8)"
        );
    }

    #[test]
    fn huge_string_length_is_refused_before_allocating() {
        assert_eq!(
            error_of("malformed/huge_string_length.gguf"),
            "gguf: metadata key length 4611686018427387904 at offset 24 exceeds the 1280 bytes left in the file (at byte 24)"
        );
    }

    #[test]
    fn counts_larger_than_the_file_are_refused() {
        assert_eq!(
            error_of("malformed/kv_count_too_large.gguf"),
            "gguf: metadata key-value count 1000000000000 cannot fit in the 1288 bytes after the header (at byte 24)"
        );
        assert_eq!(
            error_of("malformed/tensor_count_too_large.gguf"),
            "gguf: tensor count 1125899906842624 cannot fit in the 1288 bytes after the header (at byte 24)"
        );
        assert_eq!(
            error_of("malformed/array_count_too_large.gguf"),
            "gguf: array of 288230376151711744 string elements in metadata key 'tokenizer.ggml.tokens' at offset 465 cannot fit in the 839 bytes left (at byte 465)"
        );
    }

    #[test]
    fn tensor_data_outside_the_file_or_misaligned_is_malformed() {
        assert_eq!(
            error_of("malformed/tensor_offset_out_of_bounds.gguf"),
            "gguf: tensor 'output_norm.weight' data [1099511628928, 1099511628960) extends past the end of the file (1312 bytes) (at byte 1094)"
        );
        assert_eq!(
            error_of("malformed/tensor_offset_misaligned.gguf"),
            "gguf: tensor 'output_norm.weight' data offset 132 is not a multiple of the alignment 32 (at byte 1094)"
        );
    }

    #[test]
    fn more_than_eight_dimensions_is_malformed() {
        assert_eq!(
            error_of("malformed/too_many_dims.gguf"),
            "gguf: tensor 'token_embd.weight' has 9 dimensions, more than the 8 allowed (at byte 1062)"
        );
    }

    #[test]
    fn other_structure_errors_are_reported_exactly() {
        assert_eq!(
            error_of("malformed/unknown_value_type.gguf"),
            "gguf: metadata key 'general.name' has unknown value type 13 (at byte 89)"
        );
        assert_eq!(
            error_of("malformed/arrays_nested_too_deep.gguf"),
            "gguf: metadata key 'test.deep' nests arrays deeper than 32 levels (at byte 1442)"
        );
        assert_eq!(
            error_of("malformed/bad_alignment.gguf"),
            "gguf: general.alignment 24 is not a power of two (at byte 1037)"
        );
        let (_, r) = scan("malformed/future_version.gguf");
        let e = r.unwrap_err();
        assert_eq!(e.category(), ErrorCategory::Unsupported);
        assert_eq!(
            e.to_string(),
            "GGUF version 4 is newer than the versions this scanner reads (1 to 3)"
        );
    }

    #[test]
    fn gguf_named_file_without_the_magic_is_malformed() {
        let budget = Budget::unlimited();
        let keep = |k: &str| is_template_key(k);
        let p = reader::read(
            &Blob::from_vec(b"PK\x03\x04 not a gguf".to_vec()),
            &ReadOptions {
                keep_string: &keep,
                max_kept_string: 1,
                max_array_depth: 1,
                max_metadata_bytes: 1,
                budget: &budget,
            },
        );
        assert_eq!(
            p.error.unwrap().to_string(),
            "gguf: not a GGUF file: the magic is 504b0304 instead of \"GGUF\" (at byte 0)"
        );
    }

    #[test]
    fn duplicate_key_is_an_anomaly_issue() {
        let (out, r) = scan("malformed/duplicate_key.gguf");
        assert!(r.is_ok());
        assert_eq!(out.issues.len(), 1);
        let i = &out.issues[0];
        assert_eq!(
            (i.rule, i.severity),
            ("gguf.malformed-structure", Severity::Medium)
        );
        assert_eq!(i.operator, "duplicate-key");
        assert_eq!(
            i.description,
            "GGUF structure anomaly: metadata key 'general.name' appears more than once (offsets 69 and 1037); llama.cpp and the gguf Python reader refuse such files, other readers keep either value"
        );
        assert_eq!(i.offset, Some(1037));
    }

    #[test]
    fn overlapping_tensors_are_an_anomaly_issue() {
        let (out, r) = scan("malformed/overlapping_tensors.gguf");
        assert!(r.is_ok());
        assert_eq!(out.issues.len(), 1);
        assert_eq!(out.issues[0].operator, "overlapping-tensors");
        assert_eq!(
            out.issues[0].description,
            "GGUF structure anomaly: tensors 'token_embd.weight' [1152, 1280) and 'output_norm.weight' [1216, 1248) share bytes of the file"
        );
    }

    #[test]
    fn every_truncation_of_a_valid_file_is_an_error_not_a_panic() {
        let bytes = std::fs::read(format!("{DIR}/benign/named_templates.gguf")).unwrap();
        let budget = Budget::unlimited();
        let keep = |k: &str| is_template_key(k);
        let opts = ReadOptions {
            keep_string: &keep,
            max_kept_string: 1 << 20,
            max_array_depth: 32,
            max_metadata_bytes: 1 << 30,
            budget: &budget,
        };
        for cut in (0..bytes.len()).step_by(7) {
            let p = reader::read(&Blob::from_vec(bytes[..cut].to_vec()), &opts);
            assert!(p.error.is_some(), "cut at {cut}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

        #[test]
        fn corrupted_files_never_panic(
            edits in proptest::collection::vec((0usize..4400, proptest::num::u8::ANY), 1..8),
            cut in 0usize..4400,
        ) {
            let mut bytes = std::fs::read(format!("{DIR}/malicious/ssti_named_tool_use.gguf")).unwrap();
            for (at, v) in edits {
                if let Some(b) = bytes.get_mut(at) {
                    *b = v;
                }
            }
            bytes.truncate(cut.max(4));
            let budget = Budget::unlimited();
            let keep = |k: &str| is_template_key(k);
            let opts = ReadOptions {
                keep_string: &keep,
                max_kept_string: 1 << 20,
                max_array_depth: 32,
                max_metadata_bytes: 1 << 30,
                budget: &budget,
            };
            let _ = reader::read(&Blob::from_vec(bytes), &opts);
        }
    }
}
