//! The walk over a Keras model config (JSON), whatever file it came from: the `model_config`
//! and `training_config` attributes of an HDF5 file, `config.json` of a `.keras` zip, a
//! `model.to_json()` file, the metadata of `keras_metadata.pb`. Keras 2 (tf.keras, tf_keras)
//! and Keras 3 shapes are both handled by visiting every object at any depth, so nested
//! Sequential/Functional models, wrappers (`TimeDistributed`, `Bidirectional`: `layer`),
//! `layers` lists and compile configs are all covered without knowing their layout.
//!
//! What is reported: each Lambda layer (ModelScan's check, raised when its code reaches
//! something dangerous), serialized lambdas outside Lambda layers (`__lambda__`), TFOpLambda
//! layers naming dangerous TensorFlow symbols, and `module` references to modules or Keras
//! helpers no model needs. Registered custom objects (`package>Name`, user modules) are not
//! reported. Turning findings into issues is the scanners' job.

use super::lambda::{self, CodeReport, Judgement};
use crate::error::ScanError;
use crate::findings::Severity;
use crate::limits::LimitHit;
use crate::rules;
use crate::settings::Settings;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Something found in a config, ready to become an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub module: String,
    pub operator: String,
    /// Empty for ModelScan's default description.
    pub description: String,
    pub why: String,
}

pub const LAMBDA_RULE: &str = "keras.lambda-layer";
pub const LAMBDA_CODE_RULE: &str = "keras.lambda-dangerous-code";
pub const LAMBDA_UNDECODABLE_RULE: &str = "keras.lambda-undecodable-code";
pub const REFERENCE_RULE: &str = "keras.unsafe-module-reference";

pub struct Walker<'a> {
    settings: &'a Settings,
    max_depth: u32,
    pub findings: Vec<Finding>,
    /// Payloads a layer class decodes from its config and deserializes when loaded (label,
    /// bytes), to be scanned as files of their own.
    pub payloads: Vec<(String, Vec<u8>)>,
    /// In `keras_metadata.pb` the same layer appears in its own node and inside every
    /// enclosing model's config; remember what was reported.
    seen: Option<HashSet<String>>,
}

/// Layer classes whose `from_config` decodes a field of their config and deserializes it:
/// (class name, field, what loads it). Keras 3's `TorchModuleWrapper` base64-decodes `module`
/// and calls `torch.load(..., weights_only=False)`.
pub const PAYLOAD_LAYERS: &[(&str, &str, &str)] = &[(
    "TorchModuleWrapper",
    "module",
    "torch.load(weights_only=False)",
)];

/// Standard or URL-safe base64, whitespace ignored, padding optional.
fn decode_base64_text(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let clean = clean.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(clean)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(clean))
        .ok()
}

/// Keys of a Lambda layer's config that hold functions, with the Keras 2 keys that say how
/// each is stored and which module it names.
const LAMBDA_FUNCTION_KEYS: &[(&str, &str, &str)] = &[
    ("function", "function_type", "module"),
    ("output_shape", "output_shape_type", "output_shape_module"),
    ("mask", "mask_type", "mask_module"),
];

/// How a Lambda stores one function.
enum Stored<'v> {
    /// Base64 of `marshal.dumps(code)` (or raw marshal text in very old files).
    Code(&'v str),
    /// A function named by module and name, resolved at load time.
    Named(Option<&'v str>, &'v str),
}

impl<'a> Walker<'a> {
    pub fn new(settings: &'a Settings) -> Self {
        Walker {
            settings,
            max_depth: settings.limits.max_nesting_depth,
            findings: Vec::new(),
            payloads: Vec::new(),
            seen: None,
        }
    }

    /// Report each Lambda and each reference once across every config walked.
    pub fn deduplicated(mut self) -> Self {
        self.seen = Some(HashSet::new());
        self
    }

    pub fn walk(&mut self, config: &Value) -> Result<(), ScanError> {
        self.visit(config, 0, None)
    }

    /// Whether `key` is new (always true without deduplication).
    fn first_time(&mut self, key: String) -> bool {
        match &mut self.seen {
            Some(seen) => seen.insert(key),
            None => true,
        }
    }

    fn visit(&mut self, v: &Value, depth: u32, layer: Option<&str>) -> Result<(), ScanError> {
        if depth > self.max_depth {
            return Err(ScanError::Limit(LimitHit {
                limit: "max_nesting_depth",
                detail: format!("Keras config nested deeper than {} levels", self.max_depth),
            }));
        }
        let map = match v {
            Value::Array(items) => {
                for item in items {
                    self.visit(item, depth + 1, layer)?;
                }
                return Ok(());
            }
            Value::Object(map) => map,
            _ => return Ok(()),
        };
        let class_name = map.get("class_name").and_then(Value::as_str);
        let config = map.get("config");
        // The layer this object belongs to, for messages.
        let here = config
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .or_else(|| map.get("name").and_then(Value::as_str))
            .or(layer);
        match class_name {
            Some("Lambda") if config.is_some_and(Value::is_object) => {
                self.lambda_layer(map);
                for (k, child) in map {
                    if k == "config" {
                        if let Value::Object(cfg) = child {
                            for (ck, cv) in cfg {
                                if !LAMBDA_FUNCTION_KEYS.iter().any(|(f, _, _)| f == ck) {
                                    self.visit(cv, depth + 2, here)?;
                                }
                            }
                        }
                    } else {
                        self.visit(child, depth + 1, here)?;
                    }
                }
                return Ok(());
            }
            Some("__lambda__") => {
                self.serialized_lambda(map, layer);
                return Ok(());
            }
            Some("TFOpLambda" | "SlicingOpLambda") => self.tf_op_layer(map, here),
            Some(cn) => self.payload_layer(cn, config, here),
            _ => {}
        }
        let mut reported = false;
        if map.get("module").is_some_and(Value::is_string) {
            reported = self.reference(map, layer);
        } else if let Some(cn) = class_name {
            // Keras 2 writes registered custom objects as "package>Name" class names.
            reported = self.registered_name(cn, layer);
        }
        if !reported {
            if let Some(rn) = map.get("registered_name").and_then(Value::as_str) {
                self.registered_name(rn, layer);
            }
        }
        for child in map.values() {
            self.visit(child, depth + 1, here)?;
        }
        Ok(())
    }

    /// A layer class whose `from_config` decodes one of its fields and deserializes it
    /// (`PAYLOAD_LAYERS`): the payload is kept to be scanned; one that cannot be decoded is
    /// reported, since the loader will try.
    fn payload_layer(&mut self, class_name: &str, config: Option<&Value>, layer: Option<&str>) {
        let short = class_name.rsplit(['>', '.']).next().unwrap_or(class_name);
        let Some((_, field, loader)) = PAYLOAD_LAYERS.iter().find(|(c, _, _)| *c == short) else {
            return;
        };
        let Some(text) = config.and_then(|c| c.get(*field)).and_then(Value::as_str) else {
            return;
        };
        let name = layer.unwrap_or(short);
        match decode_base64_text(text) {
            Some(bytes) if self.payloads.len() < 64 => {
                self.payloads.push((format!("{name}.{field}"), bytes));
            }
            Some(_) => {}
            None => self.findings.push(Finding {
                rule: REFERENCE_RULE,
                severity: Severity::High,
                module: "keras".into(),
                operator: short.to_string(),
                description: format!(
                    "layer '{name}' ({short}) holds a '{field}' payload that {loader} deserializes, \
                     and it could not be decoded to be scanned"
                ),
                why: format!("{short}.from_config passes '{field}' to {loader}"),
            }),
        }
    }

    fn lambda_base_severity(&self) -> Severity {
        self.settings
            .keras_operator_severity("Lambda")
            .or_else(|| rules::lookup(LAMBDA_RULE).map(|r| r.severity))
            .unwrap_or(Severity::Medium)
    }

    fn lambda_layer(&mut self, map: &Map<String, Value>) {
        let Some(Value::Object(cfg)) = map.get("config") else {
            return;
        };
        let name = cfg
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| map.get("name").and_then(Value::as_str))
            .unwrap_or("?")
            .to_string();
        let mut stored = Vec::new();
        for (key, type_key, module_key) in LAMBDA_FUNCTION_KEYS {
            let Some(value) = cfg.get(*key) else { continue };
            let kind = cfg.get(*type_key).and_then(Value::as_str);
            let module = cfg.get(*module_key).and_then(Value::as_str);
            if let Some(s) = stored_function(value, kind, module, key) {
                stored.push((*key, s));
            }
        }
        let dedupe_key = format!(
            "lambda\u{0}{name}\u{0}{}",
            cfg.get("function")
                .map(Value::to_string)
                .unwrap_or_default()
        );
        if !self.first_time(dedupe_key) {
            return;
        }
        let finding = self.judge_lambda(&format!("Lambda layer '{name}'"), &stored);
        self.findings.push(finding);
    }

    /// Keras 3's `{"class_name": "__lambda__", "config": {"value": [code, defaults, closure]}}`:
    /// a Python lambda serialized outside a Lambda layer (an activation, a loss).
    fn serialized_lambda(&mut self, map: &Map<String, Value>, layer: Option<&str>) {
        let cfg = map.get("config");
        let code = cfg
            .and_then(|c| c.get("code"))
            .and_then(Value::as_str)
            .or_else(|| {
                cfg.and_then(|c| c.get("value"))
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
            });
        let key = format!("__lambda__\u{0}{}", Value::Object(map.clone()));
        if !self.first_time(key) {
            return;
        }
        let what = match layer {
            Some(l) => format!("serialized lambda in '{l}'"),
            None => "serialized lambda".to_string(),
        };
        let stored: Vec<(&str, Stored<'_>)> = code
            .map(|c| ("function", Stored::Code(c)))
            .into_iter()
            .collect();
        let finding = self.judge_lambda(&what, &stored);
        self.findings.push(finding);
    }

    fn judge_lambda(&self, what: &str, stored: &[(&str, Stored<'_>)]) -> Finding {
        let base = self.lambda_base_severity();
        let mut worst: Option<Severity> = None;
        let mut undecodable = false;
        let mut parts = Vec::new();
        for (key, s) in stored {
            match s {
                Stored::Code(code) => {
                    let report = lambda::analyze_code_string(code, self.max_depth);
                    if matches!(report, CodeReport::Undecodable(_)) {
                        undecodable = true;
                    }
                    worst = worst.max(report.severity());
                    parts.push(format!("{key}: {}", report.summary()));
                }
                Stored::Named(module, fname) => {
                    let module = module.unwrap_or_default();
                    match lambda::judge_reference(self.settings, module, fname) {
                        Some(Judgement { severity, reason }) => {
                            worst = worst.max(Some(severity));
                            parts.push(format!("{key}: calls {reason}"));
                        }
                        None if module.is_empty() => {
                            parts.push(format!("{key}: calls the registered function '{fname}'"))
                        }
                        None => parts.push(format!("{key}: calls {module}.{fname}")),
                    }
                }
            }
        }
        if stored.is_empty() {
            parts.push("its function is missing or stored in an unknown form".into());
        }
        let details = parts.join("; ");
        let runs = "Keras rebuilds this function from the file and runs it when the model is \
                    loaded (safe_mode=False, or any tf.keras/tf_keras version) or called";
        match worst {
            Some(sev) => Finding {
                rule: LAMBDA_CODE_RULE,
                severity: sev.max(base),
                module: "Keras".into(),
                operator: "Lambda".into(),
                description: format!(
                    "Use of unsafe operator 'Lambda' from module 'Keras': {what} runs dangerous code"
                ),
                why: format!("{runs}. {what}: {details}."),
            },
            None if undecodable => Finding {
                rule: LAMBDA_UNDECODABLE_RULE,
                severity: Severity::High.max(base),
                module: "Keras".into(),
                operator: "Lambda".into(),
                description: format!(
                    "Use of unsafe operator 'Lambda' from module 'Keras': {what} holds code that could not be decoded"
                ),
                why: format!("{runs}. {what}: {details}."),
            },
            None => Finding {
                rule: LAMBDA_RULE,
                severity: base,
                module: "Keras".into(),
                operator: "Lambda".into(),
                description: String::new(),
                why: format!("{runs}. {what}: {details}."),
            },
        }
    }

    /// tf_keras records TensorFlow calls on Keras tensors as TFOpLambda layers naming the
    /// symbol (`io.write_file`), looked up under `tf.` and called when the model is built.
    fn tf_op_layer(&mut self, map: &Map<String, Value>, layer: Option<&str>) {
        let Some(symbol) = map
            .get("config")
            .and_then(|c| c.get("function"))
            .and_then(Value::as_str)
        else {
            return;
        };
        let Some(j) = lambda::judge_tf_symbol(symbol) else {
            return;
        };
        if !self.first_time(format!(
            "tfop\u{0}{}\u{0}{symbol}",
            layer.unwrap_or_default()
        )) {
            return;
        }
        let class = map
            .get("class_name")
            .and_then(Value::as_str)
            .unwrap_or("TFOpLambda");
        self.findings.push(Finding {
            rule: REFERENCE_RULE,
            severity: j.severity,
            module: "tensorflow".into(),
            operator: symbol.to_string(),
            description: String::new(),
            why: format!(
                "{class} layer '{}' calls tf.{symbol} when the model is built: {}.",
                layer.unwrap_or("?"),
                j.reason
            ),
        });
    }

    /// `{"module": .., "class_name": .., "config": ..}`: Keras 3 (and tf_keras' new format)
    /// import `module` and take `class_name` from it, or for `"class_name": "function"` the
    /// function named by `config`.
    fn reference(&mut self, map: &Map<String, Value>, layer: Option<&str>) -> bool {
        let module = map
            .get("module")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let class_name = map
            .get("class_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = if class_name == "function" {
            map.get("config")
                .and_then(Value::as_str)
                .or_else(|| map.get("registered_name").and_then(Value::as_str))
                .unwrap_or_default()
        } else {
            class_name
        };
        if name.is_empty() {
            return false;
        }
        match lambda::judge_reference(self.settings, module, name) {
            Some(j) => {
                self.report_reference(module, name, j, layer);
                true
            }
            None => false,
        }
    }

    /// `package>Name`: registered names are looked up in Keras' registry, never imported, so
    /// only a package named after a dangerous module is worth a word.
    fn registered_name(&mut self, registered: &str, layer: Option<&str>) -> bool {
        let Some((package, name)) = registered.split_once('>') else {
            return false;
        };
        match lambda::judge_reference(self.settings, package, name) {
            Some(j) => {
                self.report_reference(package, name, j, layer);
                true
            }
            None => false,
        }
    }

    fn report_reference(&mut self, module: &str, name: &str, j: Judgement, layer: Option<&str>) {
        if !self.first_time(format!(
            "ref\u{0}{}\u{0}{module}\u{0}{name}",
            layer.unwrap_or_default()
        )) {
            return;
        }
        let place = match layer {
            Some(l) => format!(" (in '{l}')"),
            None => String::new(),
        };
        self.findings.push(Finding {
            rule: REFERENCE_RULE,
            severity: j.severity,
            module: module.to_string(),
            operator: name.to_string(),
            description: String::new(),
            why: format!(
                "The config names {module}.{name}{place}; Keras resolves such references while \
                 loading, before safe_mode can judge what they do: {}.",
                j.reason
            ),
        });
    }
}

/// Recognize how one Lambda function is stored: Keras 3 `__lambda__` dicts, Keras 2 lists
/// `[code, defaults, closure]`, `__tuple__` dicts in `keras_metadata.pb`, bare strings, and
/// functions named by module.
fn stored_function<'v>(
    value: &'v Value,
    kind: Option<&str>,
    module: Option<&'v str>,
    key: &str,
) -> Option<Stored<'v>> {
    let is_code = matches!(kind, None | Some("lambda"));
    match value {
        Value::Object(m) => match m.get("class_name").and_then(Value::as_str) {
            Some("__lambda__") => {
                let cfg = m.get("config");
                cfg.and_then(|c| c.get("code"))
                    .and_then(Value::as_str)
                    .or_else(|| {
                        cfg.and_then(|c| c.get("value"))
                            .and_then(Value::as_array)
                            .and_then(|a| a.first())
                            .and_then(Value::as_str)
                    })
                    .map(Stored::Code)
            }
            Some("__tuple__") if is_code => m
                .get("items")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .map(Stored::Code),
            Some("function") => {
                let fname = m
                    .get("config")
                    .and_then(Value::as_str)
                    .or_else(|| m.get("registered_name").and_then(Value::as_str))?;
                Some(Stored::Named(
                    m.get("module").and_then(Value::as_str),
                    fname,
                ))
            }
            Some(cn) if m.contains_key("module") => {
                Some(Stored::Named(m.get("module").and_then(Value::as_str), cn))
            }
            _ => None,
        },
        Value::Array(a) if is_code => a.first().and_then(Value::as_str).map(Stored::Code),
        Value::String(s) => match kind {
            Some("lambda") => Some(Stored::Code(s)),
            Some("raw") => None,
            // Keras 2 "function" type, or no type at all for the main function.
            _ if kind == Some("function") || key == "function" => Some(Stored::Named(module, s)),
            _ => None,
        },
        _ => None,
    }
}

/// Cheap check on the first bytes of a JSON file: is the top-level object a Keras model
/// config (`class_name` + `config`, Keras 2 `to_json` and Keras 3 `config.json`) or Keras
/// metadata (`keras_version`)? Reads top-level keys only, and stops where the head ends.
pub fn looks_like_keras_json(head: &[u8]) -> bool {
    let keys = top_level_keys(head);
    let has = |k: &str| keys.iter().any(|(key, _)| key == k);
    let class_ok = keys
        .iter()
        .any(|(k, v)| k == "class_name" && v.as_deref().is_some_and(|s| !s.is_empty()));
    (class_ok && has("config")) || has("keras_version")
}

/// Top-level keys of a JSON object, with their values when they are strings.
fn top_level_keys(head: &[u8]) -> Vec<(String, Option<String>)> {
    let mut keys = Vec::new();
    let mut p = JsonCursor { s: head, i: 0 };
    p.ws();
    if !p.eat(b'{') {
        return keys;
    }
    loop {
        p.ws();
        if p.peek() != Some(b'"') {
            return keys;
        }
        let Some(key) = p.string() else { return keys };
        p.ws();
        if !p.eat(b':') {
            return keys;
        }
        p.ws();
        let value = if p.peek() == Some(b'"') {
            let Some(v) = p.string() else {
                keys.push((key, None));
                return keys;
            };
            Some(v)
        } else {
            if !p.skip_value() {
                keys.push((key, None));
                return keys;
            }
            None
        };
        keys.push((key, value));
        p.ws();
        if !p.eat(b',') || keys.len() > 64 {
            return keys;
        }
    }
}

struct JsonCursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonCursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    /// A string starting at `"`; escapes are kept raw except `\"` and `\\`.
    fn string(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    out.push(e);
                }
                _ => out.push(b),
            }
        }
        None
    }
    /// Skip one value of any kind; false if the head ends first.
    fn skip_value(&mut self) -> bool {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return false,
                Some(b'"') => {
                    if self.string().is_none() {
                        return false;
                    }
                }
                Some(b'{' | b'[') => {
                    depth += 1;
                    self.i += 1;
                }
                Some(b'}' | b']') => {
                    if depth == 0 {
                        return true;
                    }
                    depth -= 1;
                    self.i += 1;
                }
                Some(b',') if depth == 0 => return true,
                Some(_) => self.i += 1,
            }
            if depth == 0 && matches!(self.peek(), Some(b',' | b'}')) {
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn walk(v: &Value) -> Vec<Finding> {
        let s = Settings::defaults();
        let mut w = Walker::new(&s);
        w.walk(v).unwrap();
        w.findings
    }

    #[test]
    fn keras_configs_are_recognized_and_other_json_is_not() {
        assert!(looks_like_keras_json(
            br#"{"module": "keras.src.models.functional", "class_name": "Functional", "config": {"name": "x"#
        ));
        assert!(looks_like_keras_json(
            br#"{"class_name": "Sequential", "config": {"name": "s", "layers": []}, "keras_version": "2.13.1"}"#
        ));
        assert!(looks_like_keras_json(
            br#"{"keras_version": "3.15.1", "date_saved": "x"}"#
        ));
        assert!(!looks_like_keras_json(
            br#"{"architectures": ["BertModel"], "model_type": "bert", "hidden_size": 768}"#
        ));
        assert!(!looks_like_keras_json(
            br#"{"learner": {"attributes": {}, "gradient_booster": {"name": "gbtree"}}, "version": [2, 1, 0]}"#
        ));
        assert!(!looks_like_keras_json(
            br#"{"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 1}}}"#
        ));
        assert!(!looks_like_keras_json(
            br#"[{"class_name": "Lambda", "config": {}}]"#
        ));
        // A nested class_name does not count.
        assert!(!looks_like_keras_json(
            br#"{"x": {"class_name": "A", "config": {}}}"#
        ));
    }

    #[test]
    fn lambda_in_a_wrapper_inside_a_nested_model_is_found() {
        let cfg = json!({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "Functional", "config": {"layers": [
                {"class_name": "TimeDistributed", "config": {"layer":
                    {"class_name": "Lambda", "config": {"name": "deep", "function": ["", null, null], "function_type": "lambda"}}}}
            ]}}
        ]}});
        let f = walk(&cfg);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].operator, "Lambda");
        assert!(f[0].why.contains("'deep'"), "{}", f[0].why);
    }

    #[test]
    fn registered_custom_layers_are_not_reported() {
        let cfg = json!({"class_name": "Functional", "config": {"layers": [
            {"module": "fixturepkg.layers", "class_name": "Scale", "registered_name": "fixturepkg>Scale", "config": {"name": "s"}},
            {"class_name": "evalmods>Scale", "config": {"name": "t"}},
            {"module": "__main__", "class_name": "MyLayer", "config": {"name": "u"}},
            {"module": "my_project.models.blocks", "class_name": "function", "config": "swish2", "registered_name": "my_project>swish2"},
            {"module": "keras.layers", "class_name": "Dense", "config": {"activation": {"module": "builtins", "class_name": "function", "config": "relu", "registered_name": null}}}
        ]}});
        assert!(walk(&cfg).is_empty());
    }

    #[test]
    fn dangerous_references_are_reported_once_each() {
        let cfg = json!({"class_name": "Functional", "config": {"layers": [
            {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": null},
            {"module": "subprocess", "class_name": "Popen", "config": {}},
            {"class_name": "os>system", "config": {}}
        ]}});
        let f = walk(&cfg);
        let ops: Vec<&str> = f.iter().map(|f| f.operator.as_str()).collect();
        assert_eq!(ops, ["exec", "Popen", "system"]);
        assert!(
            f.iter()
                .all(|f| f.rule == REFERENCE_RULE && f.severity == Severity::Critical)
        );
    }

    #[test]
    fn named_lambda_function_is_judged_by_its_module() {
        let cfg = json!({"class_name": "Lambda", "config": {"name": "l",
            "function": {"module": "os", "class_name": "function", "config": "system", "registered_name": null}}});
        let f = walk(&cfg);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, LAMBDA_CODE_RULE);
        assert_eq!(f[0].severity, Severity::Critical);
        let k2 = json!({"class_name": "Lambda", "config": {"name": "l", "function": "my_fn", "function_type": "function", "module": "mypkg.fns"}});
        let f = walk(&k2);
        assert_eq!(f[0].rule, LAMBDA_RULE);
        assert!(f[0].why.contains("mypkg.fns.my_fn"), "{}", f[0].why);
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_a_limit_error() {
        let mut v = json!(null);
        for _ in 0..300 {
            v = json!([v]);
        }
        let s = Settings::defaults();
        let e = Walker::new(&s).walk(&v).unwrap_err();
        assert!(
            matches!(e, ScanError::Limit(ref h) if h.limit == "max_nesting_depth"),
            "{e}"
        );
    }

    #[test]
    fn deduplication_reports_a_lambda_once() {
        let s = Settings::defaults();
        let lam = json!({"class_name": "Lambda", "config": {"name": "p", "function": {"class_name": "__tuple__", "items": ["", null, null]}, "function_type": "lambda"}});
        let model = json!({"class_name": "Functional", "config": {"layers": [lam.clone()]}});
        let mut w = Walker::new(&s).deduplicated();
        w.walk(&lam).unwrap();
        w.walk(&model).unwrap();
        assert_eq!(w.findings.len(), 1);
    }
}
