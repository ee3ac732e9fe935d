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
        let keep = |k: &str| is_template_key(k);
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
                        Some(*data_offset),
                        &[],
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
