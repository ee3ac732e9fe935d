//! Jinja2 chat templates: server-side template injection (SSTI) analysis shared by every
//! place a model ships a template, and the scanner for the Hugging Face files that hold one
//! (`tokenizer_config.json` with `chat_template` as a string or a list of `{name, template}`,
//! `chat_template.json`, `processor_config.json`, and `*.jinja` files).
//!
//! Loaders render these templates with Jinja2 (transformers' `apply_chat_template`,
//! llama-cpp-python, vLLM, TGI ...). In a plain `jinja2.Environment` a template can walk from
//! any object to `os.popen` (CVE-2024-34359 in llama-cpp-python); in a sandboxed one it
//! cannot, but no chat template needs Python internals, so any such access is reported.
//! GGUF metadata templates are found by `gguf/` and analysed here through `scan_template`.
//! JSON files other than tokenizer/processor configs are left to other scanners.
//!
//! `lexer.rs` and `parser.rs` read the template like Jinja 3.1 does; `analysis.rs` follows
//! values through it; `strings.rs` mirrors the Python string operations names are built with.

pub mod analysis;
pub mod lexer;
pub mod parser;
pub mod strings;

use crate::engine::detect::{Format, file_name};
use crate::error::ScanError;
use crate::findings::{ErrorCategory, Source};
use crate::limits::LimitHit;
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};

/// Templates larger than this are not analysed (real ones are a few KiB to ~100 KiB).
pub const MAX_TEMPLATE_BYTES: usize = 4 << 20;
/// Config files larger than this are not read whole.
const MAX_CONFIG_BYTES: u64 = 64 << 20;
/// Issues reported for one template (the rest are counted in the last one).
const MAX_ISSUES_PER_TEMPLATE: usize = 20;
/// Nesting the template parser accepts (a cap on top of `limits.max_nesting_depth`; Jinja
/// itself gives up at Python's recursion limit).
const MAX_TEMPLATE_DEPTH: u32 = 64;

/// The special tokens transformers passes to the template as variables.
const SPECIAL_TOKEN_KEYS: &[&str] = &[
    "bos_token",
    "eos_token",
    "unk_token",
    "pad_token",
    "sep_token",
    "cls_token",
    "mask_token",
];

pub struct ChatTemplateScanner;

pub const SCANNER_NAME: &str = "modelscan.scanners.ChatTemplateScan";

impl Scanner for ChatTemplateScanner {
    fn name(&self) -> &'static str {
        SCANNER_NAME
    }

    fn scan_name(&self) -> &'static str {
        "chat_template"
    }

    fn accepts(&self, item: &Item) -> bool {
        let name = file_name(item.name()).to_ascii_lowercase();
        match item.format {
            Format::Json => {
                matches!(
                    name.as_str(),
                    "tokenizer_config.json" | "chat_template.json" | "processor_config.json"
                ) || item.extension() == "jinja"
            }
            Format::Unknown => item.extension() == "jinja",
            _ => false,
        }
    }

    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let cap = MAX_CONFIG_BYTES.min(ctx.settings.limits.max_in_memory_bytes);
        let Some(bytes) = item.blob.to_vec_capped(cap)? else {
            return Err(ScanError::Limit(LimitHit {
                limit: "max_in_memory_bytes",
                detail: format!(
                    "{} is {} bytes, more than the {cap} bytes read for a chat template file",
                    item.name(),
                    item.blob.len()
                ),
            }));
        };
        ctx.budget.charge_bytes(bytes.len() as u64)?;
        let leaf = file_name(item.name()).to_string();
        if item.extension() == "jinja" {
            let text = String::from_utf8_lossy(&bytes);
            scan_template(
                ctx,
                SCANNER_NAME,
                self.scan_name(),
                &item.source,
                &leaf,
                &text,
                None,
                &[],
            );
            return Ok(());
        }
        let value: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            // The JSON scanner reports files that are not JSON; nothing to add here.
            Err(_) => return Ok(()),
        };
        for (label, template, known) in templates_in_config(&value) {
            scan_template(
                ctx,
                SCANNER_NAME,
                self.scan_name(),
                &item.source,
                &label,
                template,
                None,
                &known,
            );
        }
        Ok(())
    }
}

/// The chat templates of a tokenizer/processor config, with the special tokens it defines.
pub fn templates_in_config(
    value: &serde_json::Value,
) -> Vec<(String, &str, Vec<(String, String)>)> {
    let mut known = Vec::new();
    for k in SPECIAL_TOKEN_KEYS {
        let tok = match value.get(*k) {
            Some(serde_json::Value::String(s)) => Some(s.as_str()),
            Some(obj @ serde_json::Value::Object(_)) => obj.get("content").and_then(|c| c.as_str()),
            _ => None,
        };
        if let Some(t) = tok {
            known.push(((*k).to_string(), t.to_string()));
        }
    }
    let mut out = Vec::new();
    match value.get("chat_template") {
        Some(serde_json::Value::String(t)) => {
            out.push(("chat_template".to_string(), t.as_str(), known.clone()));
        }
        Some(serde_json::Value::Array(list)) => {
            for (i, entry) in list.iter().enumerate() {
                let name = entry
                    .get("name")
                    .and_then(|n| n.as_str())
                    .map_or_else(|| i.to_string(), str::to_string);
                if let Some(t) = entry.get("template").and_then(|t| t.as_str()) {
                    out.push((format!("chat_template[{name}]"), t, known.clone()));
                }
            }
        }
        _ => {}
    }
    out
}

/// Analyses one template and reports what it found. `base_offset` is where the template's
/// first byte is in the item (GGUF), so issue offsets point into the file.
#[allow(clippy::too_many_arguments)]
pub fn scan_template(
    ctx: &mut ScanCtx<'_>,
    scanner: &'static str,
    scan_name: &'static str,
    source: &Source,
    label: &str,
    text: &str,
    base_offset: Option<u64>,
    known_vars: &[(String, String)],
) {
    if text.len() > MAX_TEMPLATE_BYTES {
        ctx.error(
            scan_name,
            source,
            ErrorCategory::LimitExceeded,
            format!(
                "chat template `{label}` is {} bytes, more than the {MAX_TEMPLATE_BYTES} analysed; it was not checked",
                text.len()
            ),
        );
        return;
    }
    let opts = analysis::Options {
        max_depth: ctx
            .settings
            .limits
            .max_nesting_depth
            .min(MAX_TEMPLATE_DEPTH),
        known_vars: known_vars.to_vec(),
        ..analysis::Options::default()
    };
    let result = analysis::analyse(text, &opts);
    let total = result.findings.len();
    for (i, f) in result
        .findings
        .iter()
        .take(MAX_ISSUES_PER_TEMPLATE)
        .enumerate()
    {
        let mut description = format!("Chat template `{label}` {}: `{}`", f.summary(), f.chain);
        if i + 1 == MAX_ISSUES_PER_TEMPLATE && total > MAX_ISSUES_PER_TEMPLATE {
            description.push_str(&format!(
                " ({} more suspicious accesses in this template not listed)",
                total - MAX_ISSUES_PER_TEMPLATE
            ));
        }
        let mut b = IssueBuilder::new(f.rule())
            .severity(f.severity)
            .operator("jinja2", f.chain.clone())
            .description(description);
        if let Some(base) = base_offset {
            b = b.offset(base.saturating_add(f.pos as u64));
        }
        ctx.issue(scanner, source, b);
    }
    if let Some(e) = &result.syntax_error {
        ctx.error(
            scan_name,
            source,
            ErrorCategory::Malformed,
            format!(
                "chat template `{label}` could not be parsed as Jinja ({} at byte {}); it was only checked token by token",
                e.message, e.pos
            ),
        );
    }
    if result.budget_exhausted {
        ctx.error(
            scan_name,
            source,
            ErrorCategory::LimitExceeded,
            format!("chat template `{label}` is too complex to follow completely; part of it was not checked"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::analysis::{Options, analyse};
    use super::*;
    use crate::findings::Severity;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/templates");

    fn fixtures(kind: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(format!("{FIXTURES}/{kind}"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "jinja"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn real_chat_templates_of_popular_models_are_clean() {
        let all = fixtures("benign");
        assert!(all.len() >= 90, "{}", all.len());
        for (name, text) in all {
            let a = analyse(&text, &Options::default());
            assert!(a.syntax_error.is_none(), "{name}: {:?}", a.syntax_error);
            assert!(!a.budget_exhausted, "{name}");
            assert!(a.findings.is_empty(), "{name}: {:#?}", a.findings);
        }
    }
}
