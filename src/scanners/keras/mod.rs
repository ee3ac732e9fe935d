//! Keras models: HDF5 files (`hdf5.rs`, ModelScan's H5LambdaDetectScan) and JSON model configs
//! (this file, ModelScan's KerasLambdaDetectScan) — `config.json` and `metadata.json` of a
//! Keras 3 `.keras` zip, which the engine expands and hands over member by member, and
//! `model.to_json()` files. Both feed the same config walker (`config.rs`), which judges Lambda
//! code with `lambda.rs` and `scanners::marshal`. The `.keras` zip itself, and its
//! `model.weights.h5` member, are the engine's and the HDF5 scanner's.

pub mod config;
pub mod hdf5;
pub mod lambda;

use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::Source;
use crate::limits::LimitHit;
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};
use config::{Finding, Walker};

pub use hdf5::H5Scanner;

pub struct KerasConfigScanner;

const NAME: &str = "modelscan.scanners.KerasLambdaDetectScan";
const SCAN_NAME: &str = "keras";

impl Scanner for KerasConfigScanner {
    fn name(&self) -> &'static str {
        NAME
    }
    fn scan_name(&self) -> &'static str {
        SCAN_NAME
    }
    /// JSON whose top-level object is a Keras config or Keras metadata; other JSON (Hugging
    /// Face configs, tokenizers, XGBoost models) is left alone.
    fn accepts(&self, item: &Item) -> bool {
        // As Python's json.loads(bytes) would read it (UTF-16/32, a BOM).
        item.format == Format::Json
            && config::looks_like_keras_json(&crate::scanners::json::python_json_text(&item.head))
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let bytes = read_capped(item, ctx)?;
        let mut memory = ctx.settings.limits.max_in_memory_bytes;
        let value = match crate::scanners::json::value_capped(&bytes, &mut memory)? {
            Ok(v) => v,
            Err(e) if e.to_string().contains("recursion limit") => {
                return Err(ScanError::Limit(LimitHit {
                    limit: "max_nesting_depth",
                    detail: format!("JSON nested too deeply to parse ({e})"),
                }));
            }
            // The plain JSON scanner, which accepts every JSON item, reports the decode error;
            // a second entry for the same file would say nothing new.
            Err(_) => return Ok(()),
        };
        // metadata.json ({"keras_version": .., "date_saved": ..}) carries no code.
        if value.get("class_name").is_none() && value.get("keras_version").is_some() {
            return Ok(());
        }
        let mut walker = Walker::new(ctx.settings);
        let walked = walker.walk(&value);
        report_walk(ctx, NAME, &item.source, walker);
        walked
    }
}

/// The whole item in memory, within `max_in_memory_bytes`.
pub(crate) fn read_capped(item: &Item, ctx: &ScanCtx<'_>) -> Result<Vec<u8>, ScanError> {
    let cap = ctx.settings.limits.max_in_memory_bytes;
    match item.blob.to_vec_capped(cap)? {
        Some(v) => Ok(v),
        None => Err(ScanError::Limit(LimitHit {
            limit: "max_in_memory_bytes",
            detail: format!(
                "{} bytes must be read into memory, more than the limit of {cap}",
                item.blob.len()
            ),
        })),
    }
}

/// Report what a config walk found and scan the payloads its layers deserialize.
pub(crate) fn report_walk(
    ctx: &mut ScanCtx<'_>,
    scanner: &'static str,
    source: &Source,
    walker: Walker<'_>,
) {
    report_findings(ctx, scanner, source, walker.findings);
    for (label, bytes) in walker.payloads {
        ctx.scan_embedded(
            source.child(format!("config[{label}]")),
            crate::engine::blob::Blob::from_vec(bytes),
        );
    }
}

pub(crate) fn report_findings(
    ctx: &mut ScanCtx<'_>,
    scanner: &'static str,
    source: &Source,
    findings: Vec<Finding>,
) {
    for f in findings {
        ctx.issue(
            scanner,
            source,
            IssueBuilder::new(f.rule)
                .operator(f.module, f.operator)
                .severity(f.severity)
                .description(f.description)
                .why(f.why),
        );
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::blob::Blob;
    use crate::findings::Outcome;
    use crate::findings::{ErrorCategory, Severity};
    use crate::limits::Budget;
    use crate::settings::Settings;
    use std::io::Read;

    pub fn fixture_path(rel: &str) -> String {
        format!("{}/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
    }

    pub fn item_from(bytes: Vec<u8>, source: Source, format: Format) -> Item {
        let head = bytes
            .iter()
            .take(crate::engine::detect::HEAD_LEN)
            .copied()
            .collect();
        Item {
            source,
            blob: Blob::from_vec(bytes),
            format,
            head,
        }
    }

    pub fn run_item_with(
        scanner: &dyn Scanner,
        item: &Item,
        settings: &Settings,
    ) -> (Outcome, Result<(), ScanError>) {
        let mut out = Outcome::default();
        let result = {
            let mut ctx = ScanCtx {
                settings,
                budget: Budget::new(&settings.limits),
                out: &mut out,
                depth: 0,
            };
            assert!(
                scanner.accepts(item),
                "{} refuses {:?}",
                scanner.name(),
                item.source
            );
            scanner.scan(item, &mut ctx)
        };
        (out, result)
    }

    pub fn run_with(
        scanner: &dyn Scanner,
        rel: &str,
        format: Format,
        settings: &Settings,
    ) -> (Outcome, Result<(), ScanError>) {
        let bytes = std::fs::read(fixture_path(rel)).unwrap();
        let name = rel.rsplit('/').next().unwrap().to_string();
        let item = item_from(bytes, Source::file(name, fixture_path(rel).into()), format);
        run_item_with(scanner, &item, settings)
    }

    /// Scan `bytes` named `rel` (a SavedModel-format item).
    pub fn run_bytes_with(
        scanner: &dyn Scanner,
        rel: &str,
        bytes: &[u8],
        settings: &Settings,
    ) -> (Outcome, Result<(), ScanError>) {
        let item = item_from(
            bytes.to_vec(),
            Source::file(rel.to_string(), rel.into()),
            Format::SavedModel,
        );
        run_item_with(scanner, &item, settings)
    }

    pub fn run(
        scanner: &dyn Scanner,
        rel: &str,
        format: Format,
    ) -> (Outcome, Result<(), ScanError>) {
        run_with(scanner, rel, format, &Settings::defaults())
    }

    /// Scan a fixture that must scan without an error.
    pub fn scan_file(scanner: &dyn Scanner, rel: &str, format: Format) -> Outcome {
        let (out, result) = run(scanner, rel, format);
        if let Err(e) = result {
            panic!("{rel}: {e}");
        }
        out
    }

    /// The members of a `.keras` fixture as the engine hands them over.
    fn keras_member(rel: &str, member: &str) -> Item {
        let file = std::fs::File::open(fixture_path(rel)).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        let mut bytes = Vec::new();
        zip.by_name(member)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        let name = rel.rsplit('/').next().unwrap().to_string();
        let source = Source::file(name, fixture_path(rel).into()).child(member);
        let format = if member.ends_with(".h5") {
            Format::Hdf5
        } else {
            Format::Json
        };
        item_from(bytes, source, format)
    }

    fn scan_keras(rel: &str) -> Outcome {
        let settings = Settings::defaults();
        let item = keras_member(rel, "config.json");
        let (out, result) = run_item_with(&KerasConfigScanner, &item, &settings);
        result.unwrap();
        out
    }

    #[test]
    fn benign_keras_v3_configs_have_no_issue() {
        for f in [
            "keras/benign/sequential.keras",
            "keras/benign/functional.keras",
            "keras/benign/nested_model.keras",
            "keras/benign/custom_layer.keras",
        ] {
            let out = scan_keras(f);
            assert!(out.issues.is_empty(), "{f}: {:?}", out.issues);
            assert!(out.errors.is_empty(), "{f}: {:?}", out.errors);
        }
        let out = scan_file(
            &KerasConfigScanner,
            "keras/benign/model_tfkeras.json",
            Format::Json,
        );
        assert!(out.issues.is_empty(), "{:?}", out.issues);
    }

    #[test]
    fn metadata_and_weights_members_of_a_keras_zip_are_clean() {
        let settings = Settings::defaults();
        let meta = keras_member("keras/malicious/lambda_os_system.keras", "metadata.json");
        let (out, r) = run_item_with(&KerasConfigScanner, &meta, &settings);
        r.unwrap();
        assert!(out.issues.is_empty() && out.errors.is_empty());
        let weights = keras_member("keras/malicious/lambda_os_system.keras", "model.weights.h5");
        let (out, r) = run_item_with(&H5Scanner, &weights, &settings);
        r.unwrap();
        assert!(
            out.issues.is_empty() && out.errors.is_empty(),
            "{:?}",
            out.issues
        );
    }

    #[test]
    fn harmless_lambda_is_reported_like_modelscan() {
        let out = scan_keras("keras/malicious/lambda_harmless_code.keras");
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        let i = &out.issues[0];
        assert_eq!(i.rule, "keras.lambda-layer");
        assert_eq!(i.severity, Severity::Medium);
        assert_eq!(
            i.description,
            "Use of unsafe operator 'Lambda' from module 'Keras'"
        );
        assert_eq!(i.scanner, "modelscan.scanners.KerasLambdaDetectScan");
        assert_eq!(
            i.source.display_relative(),
            "lambda_harmless_code.keras:config.json"
        );
    }

    #[test]
    fn lambda_severity_follows_the_settings() {
        let mut settings = Settings::defaults();
        if let Some(s) = settings
            .scanners
            .get_mut("modelscan.scanners.SavedModelLambdaDetectScan")
        {
            s.unsafe_keras_operators
                .insert("Lambda".into(), Severity::Low);
        }
        let item = keras_member("keras/malicious/lambda_harmless_code.keras", "config.json");
        let (out, _) = run_item_with(&KerasConfigScanner, &item, &settings);
        assert_eq!(out.issues[0].severity, Severity::Low);
    }

    #[test]
    fn os_system_lambda_in_keras_v3_is_critical() {
        for f in [
            "keras/malicious/lambda_os_system.keras",
            "keras/malicious/nested_lambda_os_system.keras",
        ] {
            let out = scan_keras(f);
            assert_eq!(out.issues.len(), 1, "{f}: {:?}", out.issues);
            assert_eq!(out.issues[0].rule, "keras.lambda-dangerous-code", "{f}");
            assert_eq!(out.issues[0].severity, Severity::Critical, "{f}");
            assert!(
                out.issues[0].why.contains("__import__"),
                "{}",
                out.issues[0].why
            );
        }
        let out = scan_keras("keras/malicious/nested_lambda_os_system.keras");
        assert!(
            out.issues[0].why.contains("'norm'"),
            "{}",
            out.issues[0].why
        );
    }

    #[test]
    fn crafted_module_references_are_reported() {
        let cases = [
            (
                "keras/malicious/builtins_exec_layer.keras",
                "builtins",
                "exec",
                Severity::Critical,
            ),
            (
                "keras/malicious/os_system_activation.keras",
                "os",
                "system",
                Severity::Critical,
            ),
            (
                "keras/malicious/keras_get_file_layer.keras",
                "keras.utils",
                "get_file",
                Severity::High,
            ),
            (
                "keras/malicious/enable_unsafe_deserialization.keras",
                "keras.config",
                "enable_unsafe_deserialization",
                Severity::Critical,
            ),
        ];
        for (f, module, op, sev) in cases {
            let out = scan_keras(f);
            assert_eq!(out.issues.len(), 1, "{f}: {:?}", out.issues);
            let i = &out.issues[0];
            assert_eq!(i.rule, "keras.unsafe-module-reference", "{f}");
            assert_eq!(
                (i.module.as_str(), i.operator.as_str()),
                (module, op),
                "{f}"
            );
            assert_eq!(i.severity, sev, "{f}");
            assert_eq!(
                i.description,
                format!("Use of unsafe operator '{op}' from module '{module}'")
            );
        }
    }

    #[test]
    fn tfoplambda_writing_a_file_is_reported() {
        let out = scan_file(
            &KerasConfigScanner,
            "keras/malicious/tfoplambda_write_file.json",
            Format::Json,
        );
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert_eq!(out.issues[0].operator, "io.write_file");
        assert_eq!(out.issues[0].severity, Severity::High);
    }

    #[test]
    fn undecodable_lambda_code_is_high() {
        let out = scan_file(
            &KerasConfigScanner,
            "keras/malicious/lambda_undecodable_code.json",
            Format::Json,
        );
        assert_eq!(out.issues.len(), 1, "{:?}", out.issues);
        assert_eq!(out.issues[0].rule, "keras.lambda-undecodable-code");
        assert_eq!(out.issues[0].severity, Severity::High);
    }

    #[test]
    fn truncated_config_json_is_left_to_the_json_scanner() {
        let (out, result) = run(
            &KerasConfigScanner,
            "keras/malformed/truncated_config.json",
            Format::Json,
        );
        result.unwrap();
        assert!(out.issues.is_empty() && out.errors.is_empty());
        let (out, result) = run(
            &crate::scanners::json::JsonScanner,
            "keras/malformed/truncated_config.json",
            Format::Json,
        );
        result.unwrap();
        assert_eq!(out.errors.len(), 1);
        assert_eq!(out.errors[0].category, ErrorCategory::JsonDecode);
        assert_eq!(
            out.errors[0].description,
            "Not a valid JSON data: EOF while parsing a string at line 1 column 200"
        );
    }

    #[test]
    fn unrelated_json_is_not_accepted() {
        let hf = item_from(
            br#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}"#.to_vec(),
            Source::file("config.json".into(), "config.json".into()),
            Format::Json,
        );
        assert!(!KerasConfigScanner.accepts(&hf));
    }
}
