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
//! `lexer.rs` and `parser.rs` read the template like Jinja 3.1 does; `analysis/` follows
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
/// Nesting the template parser accepts (a cap on top of `limits.max_nesting_depth`; real
/// templates need about 20, and Jinja itself gives up at Python's recursion limit).
const MAX_TEMPLATE_DEPTH: u32 = 256;

/// The special tokens transformers passes to the template as variables.
/// The special tokens a renderer passes to the template as variables (their texts come
/// from the model file).
pub(crate) const SPECIAL_TOKEN_KEYS: &[&str] = &[
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

/// File names that hold a Jinja template on their own (`chat_template.jinja`, `x.j2`,
/// `prompt.template`).
pub fn is_template_name(name: &str) -> bool {
    let ext = crate::engine::detect::extension(name);
    let json_template = name
        .get(name.len().saturating_sub(".json.template".len())..)
        .is_some_and(|tail| tail.eq_ignore_ascii_case(".json.template"));
    matches!(&*ext, "jinja" | "jinja2" | "j2") || (ext == "template" && !json_template)
}

impl Scanner for ChatTemplateScanner {
    fn name(&self) -> &'static str {
        SCANNER_NAME
    }

    fn scan_name(&self) -> &'static str {
        "chat_template"
    }

    fn accepts(&self, item: &Item) -> bool {
        let name = file_name(item.name());
        // A template file is read as a template whatever its first bytes look like (the
        // loader opens it by name).
        if is_template_name(name) {
            return true;
        }
        match item.format {
            // transformers reads `chat_template` from these files, and any JSON that carries
            // the key is one a loader may be pointed at.
            Format::Json => {
                [
                    "tokenizer_config.json",
                    "chat_template.json",
                    "processor_config.json",
                ]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n))
                    || memchr::memmem::find(&item.head, b"\"chat_template\"").is_some()
            }
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
        if is_template_name(&leaf.to_ascii_lowercase()) {
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
        let mut memory = ctx.settings.limits.max_in_memory_bytes;
        let value = match crate::scanners::json::value_capped(&bytes, &mut memory)? {
            Ok(v) => v,
            // The JSON scanner reports files that are not JSON; nothing to add here.
            Err(_) => return Ok(()),
        };
        for t in templates_in_config(&value) {
            scan_template(
                ctx,
                SCANNER_NAME,
                self.scan_name(),
                &item.source,
                &t.label,
                t.text,
                None,
                &t.known_vars,
            );
        }
        Ok(())
    }
}

/// The byte position in `raw` of position `lossy_pos` of `String::from_utf8_lossy(raw)`:
/// every invalid sequence became one three-byte U+FFFD there. Never past the end of `raw`.
pub fn raw_position(raw: &[u8], lossy_pos: usize) -> usize {
    const REPLACEMENT_LEN: usize = '\u{FFFD}'.len_utf8();
    let (mut lossy, mut pos) = (0usize, 0usize);
    for chunk in raw.utf8_chunks() {
        let valid = chunk.valid().len();
        if lossy_pos < lossy.saturating_add(valid) {
            return pos.saturating_add(lossy_pos - lossy).min(raw.len());
        }
        lossy = lossy.saturating_add(valid);
        pos = pos.saturating_add(valid);
        let invalid = chunk.invalid().len();
        if invalid > 0 {
            if lossy_pos < lossy.saturating_add(REPLACEMENT_LEN) {
                return pos.min(raw.len());
            }
            lossy = lossy.saturating_add(REPLACEMENT_LEN);
            pos = pos.saturating_add(invalid);
        }
    }
    raw.len()
}

/// One chat template found in a config file.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigTemplate<'a> {
    /// `chat_template` or `chat_template[<name>]`.
    pub label: String,
    pub text: &'a str,
    /// The special tokens the same file defines (`bos_token` ...), which the renderer passes
    /// to the template as variables.
    pub known_vars: Vec<analysis::KnownVar>,
}

/// The chat templates of a tokenizer/processor config, with the special tokens it defines.
pub fn templates_in_config(value: &serde_json::Value) -> Vec<ConfigTemplate<'_>> {
    // transformers (`PreTrainedTokenizerBase._from_pretrained`) reads `special_tokens_map.json`
    // and lets it replace these values only for configs without `added_tokens_decoder`
    // (the legacy layout); with one, the config's values are what the template receives.
    let exact = value.get("added_tokens_decoder").is_some();
    let token_text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        obj @ serde_json::Value::Object(_) => obj
            .get("content")
            .and_then(|c| c.as_str())
            .map(str::to_string),
        _ => None,
    };
    let mut known = Vec::new();
    for k in SPECIAL_TOKEN_KEYS {
        if let Some(t) = value.get(*k).and_then(token_text) {
            known.push(analysis::KnownVar {
                name: (*k).to_string(),
                value: t,
                exact,
            });
        }
    }
    // transformers 5 turns a mapping of `extra_special_tokens` into named special tokens
    // (`_set_model_specific_special_tokens`), passed to the template like `bos_token`.
    if let Some(serde_json::Value::Object(extra)) = value.get("extra_special_tokens") {
        for (k, v) in extra {
            if let Some(t) = token_text(v) {
                known.push(analysis::KnownVar {
                    name: k.clone(),
                    value: t,
                    exact,
                });
            }
        }
    }
    let mut out = Vec::new();
    match value.get("chat_template") {
        Some(serde_json::Value::String(t)) => {
            out.push(ConfigTemplate {
                label: "chat_template".to_string(),
                text: t.as_str(),
                known_vars: known.clone(),
            });
        }
        Some(serde_json::Value::Array(list)) => {
            for (i, entry) in list.iter().enumerate() {
                let name = entry
                    .get("name")
                    .and_then(|n| n.as_str())
                    .map_or_else(|| i.to_string(), str::to_string);
                if let Some(t) = entry.get("template").and_then(|t| t.as_str()) {
                    out.push(ConfigTemplate {
                        label: format!("chat_template[{name}]"),
                        text: t,
                        known_vars: known.clone(),
                    });
                }
            }
        }
        // A mapping of names to templates.
        Some(serde_json::Value::Object(map)) => {
            for (name, t) in map {
                if let Some(t) = t.as_str() {
                    out.push(ConfigTemplate {
                        label: format!("chat_template[{name}]"),
                        text: t,
                        known_vars: known.clone(),
                    });
                }
            }
        }
        _ => {}
    }
    out
}

/// Analyses one template and reports what it found. `origin` is where the template's first
/// byte is in the item and the raw bytes `text` was decoded from (GGUF), so issue offsets
/// point at the right byte of the file even when invalid UTF-8 was replaced in `text`.
#[allow(clippy::too_many_arguments)]
pub fn scan_template(
    ctx: &mut ScanCtx<'_>,
    scanner: &'static str,
    scan_name: &'static str,
    source: &Source,
    label: &str,
    text: &str,
    origin: Option<(u64, &[u8])>,
    known_vars: &[analysis::KnownVar],
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
        // Name the variables whose value (from this file) supplied a name on the chain.
        for k in known_vars {
            if k.value.starts_with('_')
                && f.chain.contains(&format!("'{}'", k.value))
                && text.contains(k.name.as_str())
            {
                description.push_str(&format!(" (`{}` is `{}` in this file)", k.name, k.value));
            }
        }
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
        if let Some((base, raw)) = origin {
            b = b.offset(base.saturating_add(raw_position(raw, f.pos) as u64));
        }
        ctx.issue(scanner, source, b);
    }
    if let Some(e) = result.syntax_error.as_ref().filter(|e| e.depth_limit) {
        ctx.error(
            scan_name,
            source,
            ErrorCategory::LimitExceeded,
            format!(
                "max_nesting_depth: chat template `{label}` nests deeper than {} levels (at byte {}); it was only checked token by token",
                opts.max_depth, e.pos
            ),
        );
    } else if let Some(e) = &result.syntax_error {
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

    #[test]
    fn raw_position_maps_back_over_replaced_bytes() {
        let raw = b"\xff\xffab\xe2\x82c";
        let lossy = String::from_utf8_lossy(raw);
        assert_eq!(lossy, "\u{FFFD}\u{FFFD}ab\u{FFFD}c");
        let at = |c: char| lossy.find(c).unwrap_or(usize::MAX);
        assert_eq!(raw_position(raw, 0), 0);
        assert_eq!(raw_position(raw, 3), 1);
        assert_eq!(raw_position(raw, at('a')), 2);
        assert_eq!(raw_position(raw, at('b')), 3);
        assert_eq!(raw_position(raw, at('c')), 6);
        assert_eq!(raw_position(raw, 1000), raw.len());
        assert_eq!(raw_position(b"plain", 3), 3);
    }
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

    /// Each malicious fixture: worst severity and the access chain reported.
    const MALICIOUS: &[(&str, Severity, &str)] = &[
        (
            "attr_concatenated_names",
            Severity::Critical,
            "lipsum|attr('__globals__')['os']|attr('popen')('echo pwned')|attr('read')()",
        ),
        (
            "attr_joined_list",
            Severity::Critical,
            "lipsum|attr('__globals__')|attr('get')('os')|attr('popen')('echo pwned')|attr('read')()",
        ),
        ("attr_name_from_messages", Severity::High, "message|attr(?)"),
        (
            "case_and_replace_names",
            Severity::Critical,
            "lipsum|attr('__globals__')['os'].popen('echo pwned').read()",
        ),
        (
            "cycler_globals_os_popen",
            Severity::Critical,
            "cycler.__init__.__globals__.os.popen('echo pwned').read()",
        ),
        (
            "dict_keyword_join",
            Severity::Critical,
            "lipsum|attr('__globals__')['os'].popen('echo pwned').read()",
        ),
        ("flask_request_probe", Severity::High, "request.args.cmd"),
        (
            "hex_escaped_names",
            Severity::Critical,
            "lipsum|attr('__globals__')['os']|attr('popen')('echo pwned')|attr('read')()",
        ),
        (
            "joiner_builtins_import",
            Severity::Critical,
            "joiner.__init__.__globals__.__builtins__.__import__('os').popen('echo pwned').read()",
        ),
        (
            "lipsum_globals_subscript",
            Severity::Critical,
            "lipsum.__globals__['os'].popen('echo pwned').read()",
        ),
        (
            "llama3.1_with_inserted_payload",
            Severity::Critical,
            "namespace.__init__.__globals__.os.popen('echo pwned').read()",
        ),
        (
            "macro_and_block_set_names",
            Severity::Critical,
            "lipsum|attr('__globals__')['os'].popen('echo pwned').read()",
        ),
        (
            "map_attribute_path",
            Severity::Critical,
            "lipsum.__globals__.os.popen[*]('echo pwned').read()",
        ),
        (
            "namespace_globals_os",
            Severity::Critical,
            "namespace.__init__.__globals__.os.popen('echo pwned').read()",
        ),
        (
            "namespace_loop_builder",
            Severity::Critical,
            "lipsum|attr('__globals__')['os'].popen('echo pwned').read()",
        ),
        (
            "percent_formatted_names",
            Severity::Critical,
            "lipsum|attr('__globals__')['os'].popen('echo pwned').read()",
        ),
        (
            "request_attr_flask",
            Severity::Critical,
            "request|attr('application')|attr('__globals__')|attr('__getitem__')('__builtins__')|attr('__getitem__')('__import__')('os')|attr('popen')('echo pwned')|attr('read')()",
        ),
        (
            "reversed_names",
            Severity::Critical,
            "lipsum|attr('__globals__')['os'].popen('echo pwned').read()",
        ),
        (
            "str_format_fields",
            Severity::Critical,
            "cycler.__init__.__globals__['os'].popen",
        ),
        (
            "subclasses_wrap_close",
            Severity::Critical,
            "''.__class__.__mro__[1].__subclasses__()[*].__init__.__globals__['popen']('echo pwned').read()",
        ),
        (
            "template_reference_context",
            Severity::Critical,
            "self._TemplateReference__context.cycler.__init__.__globals__.os.popen('echo pwned').read()",
        ),
        (
            "unicode_escaped_names",
            Severity::Critical,
            "lipsum|attr('__globals__')|attr('__getitem__')('os')|attr('popen')('echo pwned')|attr('read')()",
        ),
    ];

    #[test]
    fn every_malicious_fixture_is_reported_with_its_chain() {
        let all = fixtures("malicious");
        assert_eq!(all.len(), MALICIOUS.len());
        for (file, text) in all {
            let name = file.trim_end_matches(".jinja");
            let (_, sev, chain) = MALICIOUS
                .iter()
                .find(|(n, _, _)| *n == name)
                .unwrap_or_else(|| panic!("no expectation for {name}"));
            let a = analyse(&text, &Options::default());
            assert!(a.syntax_error.is_none(), "{name}: {:?}", a.syntax_error);
            let worst = a.findings.iter().map(|f| f.severity).max();
            assert_eq!(worst, Some(*sev), "{name}: {:#?}", a.findings);
            assert!(
                a.findings
                    .iter()
                    .any(|f| f.chain == *chain && f.severity == *sev),
                "{name}: {:#?}",
                a.findings
            );
        }
    }

    #[test]
    fn malicious_fixtures_report_few_issues_each() {
        for (name, text) in fixtures("malicious") {
            let a = analyse(&text, &Options::default());
            assert!(a.findings.len() <= 2, "{name}: {:#?}", a.findings);
        }
    }

    fn scan_config(rel: &str) -> crate::findings::Outcome {
        use crate::engine::blob::Blob;
        use crate::limits::Budget;
        use crate::settings::Settings;
        let path = format!("{FIXTURES}/hf/{rel}");
        let settings = Settings::defaults();
        let mut out = crate::findings::Outcome::default();
        let blob = Blob::from_file(std::fs::File::open(&path).unwrap()).unwrap();
        let head = blob.head(1024).unwrap();
        let item = Item {
            source: Source::file(rel.to_string(), std::path::PathBuf::from(&path)),
            blob,
            format: Format::Json,
            head,
        };
        assert!(ChatTemplateScanner.accepts(&item));
        let mut ctx = ScanCtx {
            settings: &settings,
            budget: Budget::unlimited(),
            out: &mut out,
            depth: 0,
        };
        ChatTemplateScanner.scan(&item, &mut ctx).unwrap();
        out
    }

    #[test]
    fn benign_tokenizer_configs_are_clean() {
        for rel in [
            "benign/qwen2.5_tools/tokenizer_config.json",
            "benign/named_templates/tokenizer_config.json",
        ] {
            let out = scan_config(rel);
            assert!(out.issues.is_empty(), "{rel}: {:?}", out.issues);
            assert!(out.errors.is_empty(), "{rel}: {:?}", out.errors);
        }
    }

    #[test]
    fn payload_in_a_named_tokenizer_config_template_is_critical() {
        let out = scan_config("malicious/tool_use_payload/tokenizer_config.json");
        assert_eq!(out.issues.len(), 1);
        let i = &out.issues[0];
        assert_eq!(i.rule, "template.injection");
        assert_eq!(i.scanner, "modelscan.scanners.ChatTemplateScan");
        assert!(
            i.description
                .starts_with("Chat template `chat_template[tool_use]` reaches `os`"),
            "{}",
            i.description
        );
    }

    #[test]
    fn attribute_name_taken_from_a_special_token_is_resolved() {
        let out = scan_config("malicious/name_in_special_token/tokenizer_config.json");
        let worst = out.issues.iter().map(|i| i.severity).max();
        assert_eq!(worst, Some(Severity::Critical));
        assert!(
            out.issues.iter().any(
                |i| i.operator == "lipsum|attr('__globals__')['os'].popen('echo pwned').read()"
            )
        );
    }

    #[test]
    fn only_tokenizer_configs_and_jinja_files_are_accepted() {
        use crate::engine::blob::Blob;
        let item = |name: &str, format: Format| Item {
            source: Source::file(name.to_string(), std::path::PathBuf::from(name)),
            blob: Blob::from_vec(b"{}".to_vec()),
            format,
            head: b"{}".to_vec(),
        };
        assert!(ChatTemplateScanner.accepts(&item("m/tokenizer_config.json", Format::Json)));
        assert!(ChatTemplateScanner.accepts(&item("chat_template.json", Format::Json)));
        assert!(ChatTemplateScanner.accepts(&item("t/chat_template.jinja", Format::Json)));
        assert!(ChatTemplateScanner.accepts(&item("t/chat_template.jinja", Format::Unknown)));
        assert!(!ChatTemplateScanner.accepts(&item("config.json", Format::Json)));
        assert!(!ChatTemplateScanner.accepts(&item("tokenizer.json", Format::Json)));
        // A template file is a template whatever its first bytes look like.
        assert!(ChatTemplateScanner.accepts(&item("x.jinja", Format::Pickle)));
        assert!(ChatTemplateScanner.accepts(&item("prompts/chat.j2", Format::Unknown)));
        assert!(ChatTemplateScanner.accepts(&item("prompt.template", Format::Unknown)));
        // Any JSON carrying the key.
        let with_key = Item {
            head: br#"{"chat_template": "{{ x }}"}"#.to_vec(),
            ..item("my_config.json", Format::Json)
        };
        assert!(ChatTemplateScanner.accepts(&with_key));
    }

    #[test]
    fn config_token_values_are_exact_only_with_added_tokens_decoder() {
        let template =
            "{% set stops = {'</s>': ''} %}{{ messages[0]['content'] ~ stops[eos_token] }}";
        let run = |v: serde_json::Value| {
            let t = templates_in_config(&v);
            let opts = Options {
                known_vars: t[0].known_vars.clone(),
                ..Options::default()
            };
            analyse(t[0].text, &opts).findings
        };
        // With `added_tokens_decoder`, transformers passes the config's values as they are.
        let exact = serde_json::json!({
            "chat_template": template, "eos_token": {"content": "</s>"}, "added_tokens_decoder": {}
        });
        assert!(run(exact).is_empty());
        // Without it, `special_tokens_map.json` may replace them: still judged as any name.
        let legacy = serde_json::json!({"chat_template": template, "eos_token": "</s>"});
        assert!(!run(legacy).is_empty());
        // transformers 5 passes a mapping of extra special tokens as named variables.
        let extra = serde_json::json!({
            "chat_template": "{{ lipsum[img]['os'] }}", "added_tokens_decoder": {},
            "extra_special_tokens": {"img": "__globals__"}
        });
        let f = run(extra);
        assert!(
            f.iter()
                .any(|f| f.chain == "lipsum['__globals__']['os']"
                    && f.severity == Severity::Critical),
            "{f:#?}"
        );
    }

    #[test]
    fn json_without_a_chat_template_reports_nothing() {
        let v: serde_json::Value = serde_json::json!({"bos_token": "<s>", "model_max_length": 4});
        assert!(templates_in_config(&v).is_empty());
    }
}
