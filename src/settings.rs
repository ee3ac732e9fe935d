//! Settings flow one way: the built-in defaults (`defaults/settings.toml`, embedded), then a
//! settings file merged over them, then the command line; validated once into `Settings`.
//! Errors name the key that is wrong. ModelScan's keys keep their meaning; ours are `[pickle]`,
//! `[policy]`, `[rules]`, `[limits]` and `[[suppress]]`.

use crate::findings::Severity;
use crate::limits::Limits;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const DEFAULT_SETTINGS_TOML: &str = include_str!("defaults/settings.toml");
pub const MODELSCAN_VERSION: &str = "0.8.8";

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read settings file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("settings file {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("invalid settings{}: {message}", path.as_ref().map(|p| format!(" in {p}")).unwrap_or_default())]
    Invalid {
        path: Option<String>,
        message: String,
    },
    /// A value of the wrong type (or an unknown key), located in the file.
    #[error("{path}{}: key '{key}': {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Typed {
        path: String,
        line: Option<usize>,
        key: String,
        message: String,
    },
}

// ---- raw form: what the TOML says ------------------------------------------------------

// Every field may be left out: a settings file on its own is deserialized into these types
// first (to report a wrong type with its line), then the merged table is.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSettings {
    modelscan_version: String,
    supported_zip_extensions: Vec<String>,
    scanners: BTreeMap<String, RawScanner>,
    middlewares: BTreeMap<String, RawMiddleware>,
    unsafe_globals: BTreeMap<String, BTreeMap<String, RawNames>>,
    reporting: RawReporting,
    pickle: RawPickle,
    policy: RawPolicy,
    rules: BTreeMap<String, String>,
    limits: Limits,
    suppress: Vec<RawSuppression>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScanner {
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    #[serde(default)]
    supported_extensions: Vec<String>,
    #[serde(default)]
    unsafe_keras_operators: BTreeMap<String, String>,
    #[serde(default)]
    unsafe_tf_operators: BTreeMap<String, String>,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMiddleware {
    // Informational: routing is by content first (kept so ModelScan files load).
    #[serde(default)]
    #[allow(dead_code)]
    formats: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawNames {
    All(String),
    Some(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawReporting {
    module: String,
    settings: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPickle {
    strict: bool,
    allow: Vec<String>,
    deny: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPolicy {
    fail_on: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuppression {
    rule: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

// ---- validated form --------------------------------------------------------------------

/// Names of a module in ModelScan's `unsafe_globals` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameFilter {
    /// `"*"`: every name.
    All,
    /// A name matches if it contains any of these substrings (ModelScan's rule).
    Substrings(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScannerSettings {
    pub enabled: bool,
    pub supported_extensions: Vec<String>,
    pub unsafe_keras_operators: BTreeMap<String, Severity>,
    pub unsafe_tf_operators: BTreeMap<String, Severity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub rule: String,
    pub path: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Console,
    Json,
    Sarif,
    /// JSON Lines: one record per scanned file.
    Jsonl,
}

impl ReportFormat {
    /// Whether this report shows sha256 hashes (the console report does not).
    pub fn carries_hashes(self) -> bool {
        !matches!(self, ReportFormat::Console)
    }

    /// Whether to hash every file and member: only when asked for (`--hash`), and only for
    /// the reports that show hashes. Hashing reads every byte of every file (a 2 GB
    /// checkpoint whose scan reads a few hundred KB), so nobody pays for it by default.
    pub fn wants_hashes(self, asked: bool) -> bool {
        asked && self.carries_hashes()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub scanners: BTreeMap<String, ScannerSettings>,
    /// ModelScan's table: severity -> module -> names, checked CRITICAL first.
    pub unsafe_globals: Vec<(Severity, BTreeMap<String, NameFilter>)>,
    pub report_format: ReportFormat,
    pub reporting_module: String,
    pub output_file: Option<String>,
    pub show_skipped: bool,
    pub strict: bool,
    pub allow: Vec<String>,
    pub deny: BTreeMap<String, Severity>,
    pub fail_on: Severity,
    pub rule_severity: BTreeMap<String, Severity>,
    pub limits: Limits,
    pub suppressions: Vec<Suppression>,
    pub show_imports: bool,
    /// sha256 of every scanned file and member in the report (`--no-hash` turns it off).
    pub hashes: bool,
    pub jobs: usize,
    /// Where the settings came from (for the first line of the console output).
    pub loaded_from: Option<String>,
    /// The folder suppression path globs are relative to: the settings file's folder (as
    /// `.gitignore` patterns are), or, with no settings file, the current directory (`None`).
    pub settings_dir: Option<PathBuf>,
}

/// A setting that makes the scan see less, fail less or say less than the built-in defaults
/// would: every report lists these, so that a settings file cannot blind a scan silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Weakening {
    /// The key as a settings file writes it (`policy.fail_on`, `suppress[0]`).
    pub key: String,
    /// Its value, in TOML.
    pub value: String,
    /// What it does to detection.
    pub effect: String,
}

/// The built-in defaults, parsed once (what `weakenings` compares against).
fn builtin() -> &'static Settings {
    static BUILTIN: OnceLock<Settings> = OnceLock::new();
    // Nothing to merge over them: the embedded text is parsed once per process.
    BUILTIN.get_or_init(|| match Settings::from_toml_str("", None) {
        Ok(s) => s,
        // The embedded defaults are checked by a unit test; this branch cannot be taken
        // with a released binary, but it must not panic either.
        Err(_) => Settings::empty(),
    })
}

/// A key segment as TOML writes it: bare when it can be, else quoted.
fn toml_key(segment: &str) -> String {
    let bare = !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        segment.to_string()
    } else {
        toml_string(segment)
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// How a limit weakens detection when it moves away from its default.
#[derive(Clone, Copy)]
enum LimitKind {
    /// A cap on what one file's scan reads: lower stops scans sooner.
    Coverage,
    /// A threshold above which something is reported: higher reports less.
    Threshold,
}

impl Settings {
    /// The built-in defaults.
    pub fn defaults() -> Settings {
        builtin().clone()
    }

    fn empty() -> Settings {
        Settings {
            scanners: BTreeMap::new(),
            unsafe_globals: Vec::new(),
            report_format: ReportFormat::Console,
            reporting_module: String::new(),
            output_file: None,
            show_skipped: false,
            strict: false,
            allow: Vec::new(),
            deny: BTreeMap::new(),
            fail_on: Severity::Low,
            rule_severity: BTreeMap::new(),
            limits: Limits::default(),
            suppressions: Vec::new(),
            show_imports: false,
            hashes: true,
            jobs: 1,
            loaded_from: None,
            settings_dir: None,
        }
    }

    /// Every setting that weakens detection compared with the built-in defaults, in the order
    /// of the settings file. A stricter setting (a raised severity, `strict`, a `deny` entry,
    /// a higher limit on what is read) is not listed; neither are output options.
    pub fn weakenings(&self) -> Vec<Weakening> {
        let base = builtin();
        let mut out = Vec::new();
        let mut push = |key: String, value: String, effect: String| {
            out.push(Weakening { key, value, effect });
        };
        for (name, s) in &self.scanners {
            let key = format!("scanners.{}", toml_key(name));
            if !s.enabled {
                push(
                    format!("{key}.enabled"),
                    "false".into(),
                    format!("the files {name} reads are not scanned (each is listed as an error)"),
                );
            }
            let default = base.scanners.get(name);
            let tables = [
                (
                    "unsafe_keras_operators",
                    &s.unsafe_keras_operators,
                    default.map(|d| &d.unsafe_keras_operators),
                    "Keras layers of class",
                ),
                (
                    "unsafe_tf_operators",
                    &s.unsafe_tf_operators,
                    default.map(|d| &d.unsafe_tf_operators),
                    "TensorFlow ops",
                ),
            ];
            for (table, now, default, what) in tables {
                for (op, sev) in now {
                    let was = default.and_then(|d| d.get(op));
                    if let Some(was) = was.filter(|was| sev < *was) {
                        push(
                            format!("{key}.{table}.{}", toml_key(op)),
                            toml_string(sev.as_str()),
                            format!("{what} {op} are reported as {sev}, not {was}"),
                        );
                    }
                }
            }
        }
        for (sev, table) in &base.unsafe_globals {
            let now = self
                .unsafe_globals
                .iter()
                .find(|(s, _)| s == sev)
                .map(|(_, t)| t);
            for (module, was) in table {
                let filter = now.and_then(|t| t.get(module));
                let narrowed = match (was, filter) {
                    (_, None) => true,
                    (NameFilter::All, Some(NameFilter::All)) => false,
                    (NameFilter::All, Some(NameFilter::Substrings(_))) => true,
                    (NameFilter::Substrings(_), Some(NameFilter::All)) => false,
                    // A name the default matched contains one of its substrings `s`; the new
                    // list still matches it when one of its entries is part of `s`.
                    (NameFilter::Substrings(old), Some(NameFilter::Substrings(new))) => !old
                        .iter()
                        .all(|s| new.iter().any(|n| s.contains(n.as_str()))),
                };
                if narrowed {
                    let value = match filter {
                        Some(NameFilter::All) => toml_string("*"),
                        Some(NameFilter::Substrings(v)) => toml::Value::Array(
                            v.iter().map(|n| toml::Value::String(n.clone())).collect(),
                        )
                        .to_string(),
                        None => "(removed)".into(),
                    };
                    push(
                        format!("unsafe_globals.{sev}.{}", toml_key(module)),
                        value,
                        format!(
                            "fewer globals of {module} are held to {sev} by ModelScan's table (the built-in policy still judges them)"
                        ),
                    );
                }
            }
        }
        for a in &self.allow {
            push(
                "pickle.allow".into(),
                toml_string(a),
                format!(
                    "pickle imports of {a} are judged safe, without a finding (a denied global still is one)"
                ),
            );
        }
        if self.fail_on > Severity::Low {
            push(
                "policy.fail_on".into(),
                toml_string(self.fail_on.as_str()),
                format!(
                    "issues below {} are reported but do not fail the run (also set by --fail-on)",
                    self.fail_on
                ),
            );
        }
        for (id, sev) in &self.rule_severity {
            if let Some(rule) = crate::rules::lookup(id).filter(|r| *sev < r.severity) {
                push(
                    format!("rules.{}", toml_key(id)),
                    toml_string(sev.as_str()),
                    format!(
                        "findings of {id} are reported as {sev}, below the rule's default {}",
                        rule.severity
                    ),
                );
            }
        }
        let (now, was) = (&self.limits, &base.limits);
        let unlimited_if_zero = |s: u64| if s == 0 { u64::MAX } else { s };
        let limits: [(&str, u64, u64, LimitKind, &str); 13] = [
            (
                "max_file_bytes",
                now.max_file_bytes,
                was.max_file_bytes,
                LimitKind::Coverage,
                "fewer bytes of each file are read",
            ),
            (
                "max_decompressed_bytes",
                now.max_decompressed_bytes,
                was.max_decompressed_bytes,
                LimitKind::Coverage,
                "compressed members are read less far",
            ),
            (
                "max_compression_ratio",
                now.max_compression_ratio,
                was.max_compression_ratio,
                LimitKind::Threshold,
                "members must expand further before they are reported as decompression bombs",
            ),
            (
                "bomb_floor_bytes",
                now.bomb_floor_bytes,
                was.bomb_floor_bytes,
                LimitKind::Threshold,
                "smaller decompression bombs are not reported",
            ),
            (
                "max_archive_depth",
                u64::from(now.max_archive_depth),
                u64::from(was.max_archive_depth),
                LimitKind::Coverage,
                "archives nested less deep are opened",
            ),
            (
                "max_archive_members",
                now.max_archive_members,
                was.max_archive_members,
                LimitKind::Coverage,
                "fewer members of each archive are read",
            ),
            (
                "max_pickle_opcodes",
                now.max_pickle_opcodes,
                was.max_pickle_opcodes,
                LimitKind::Coverage,
                "pickles are read less far",
            ),
            (
                "max_pickle_stack",
                now.max_pickle_stack,
                was.max_pickle_stack,
                LimitKind::Coverage,
                "pickles with a deeper stack are not read to the end",
            ),
            (
                "max_pickle_memo",
                now.max_pickle_memo,
                was.max_pickle_memo,
                LimitKind::Coverage,
                "pickles with a larger memo are not read to the end",
            ),
            (
                "max_kept_operand_bytes",
                now.max_kept_operand_bytes,
                was.max_kept_operand_bytes,
                LimitKind::Coverage,
                "larger string and bytes operands of a pickle are skipped, not analysed",
            ),
            (
                "max_nesting_depth",
                u64::from(now.max_nesting_depth),
                u64::from(was.max_nesting_depth),
                LimitKind::Coverage,
                "nested configs, graphs and pickles are read less deep",
            ),
            (
                "max_in_memory_bytes",
                now.max_in_memory_bytes,
                was.max_in_memory_bytes,
                LimitKind::Coverage,
                "fewer members and configs can be read into memory",
            ),
            (
                "max_seconds_per_file",
                unlimited_if_zero(now.max_seconds_per_file),
                unlimited_if_zero(was.max_seconds_per_file),
                LimitKind::Coverage,
                "each file's scan is stopped sooner",
            ),
        ];
        for (name, now, was, kind, effect) in limits {
            let weaker = match kind {
                LimitKind::Coverage => now < was,
                LimitKind::Threshold => now > was,
            };
            if weaker {
                let verb = match kind {
                    LimitKind::Coverage => "lowered",
                    LimitKind::Threshold => "raised",
                };
                push(
                    format!("limits.{name}"),
                    now.to_string(),
                    format!("{verb} from {was}: {effect} (a limit reached is listed as an error)"),
                );
            }
        }
        for (k, s) in self.suppressions.iter().enumerate() {
            let mut value = format!("{{ rule = {}", toml_string(&s.rule));
            if let Some(p) = &s.path {
                value.push_str(&format!(", path = {}", toml_string(p)));
            }
            if let Some(r) = &s.reason {
                value.push_str(&format!(", reason = {}", toml_string(r)));
            }
            value.push_str(" }");
            let which = if s.rule == "*" {
                "findings of every rule".to_string()
            } else {
                format!("findings of {}", s.rule)
            };
            let effect = match &s.path {
                Some(p) => format!(
                    "{which} in paths matching {p} are listed as suppressed and not counted"
                ),
                None => format!("{which} are listed as suppressed and not counted, in every file"),
            };
            push(format!("suppress[{k}]"), value, effect);
        }
        out
    }

    /// Defaults with the file at `path` merged over them.
    pub fn load_file(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut s = Self::from_toml_str(&text, Some(&path.display().to_string()))?;
        s.loaded_from = Some(path.display().to_string());
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        s.settings_dir = crate::engine::walk::normalize(&absolute)
            .parent()
            .map(Path::to_path_buf);
        Ok(s)
    }

    /// The folder suppression path globs are relative to: the settings file's, else the
    /// current directory.
    pub fn suppression_base(&self) -> PathBuf {
        match &self.settings_dir {
            Some(d) => d.clone(),
            None => std::env::current_dir().unwrap_or_default(),
        }
    }

    /// Defaults with `text` merged over them (`text` may be the defaults themselves).
    pub fn from_toml_str(text: &str, path: Option<&str>) -> Result<Settings, SettingsError> {
        let pathname = path.unwrap_or("<built-in defaults>").to_string();
        let user: toml::Table = toml::from_str(text).map_err(|e| SettingsError::Syntax {
            path: pathname.clone(),
            message: e.to_string(),
        })?;
        // The file on its own first: a wrong type or an unknown key is reported with its line
        // and key, which the merged table no longer knows.
        if let Err(e) = toml::from_str::<RawSettings>(text) {
            return Err(located_error(&e, text, &pathname));
        }
        let mut merged: toml::Table =
            toml::from_str(DEFAULT_SETTINGS_TOML).map_err(|e| SettingsError::Syntax {
                path: "<built-in defaults>".into(),
                message: e.to_string(),
            })?;
        merge_tables(&mut merged, user);
        let raw: RawSettings =
            toml::Value::Table(merged)
                .try_into()
                .map_err(|e: toml::de::Error| SettingsError::Invalid {
                    path: path.map(str::to_string),
                    message: e.message().to_string(),
                })?;
        validate(raw, path)
    }

    pub fn scanner_enabled(&self, name: &str) -> bool {
        self.scanners.get(name).is_none_or(|s| s.enabled)
    }

    /// Severity configured for a Keras layer class (ModelScan: Lambda = MEDIUM).
    pub fn keras_operator_severity(&self, class_name: &str) -> Option<Severity> {
        self.scanners
            .get("modelscan.scanners.SavedModelLambdaDetectScan")
            .and_then(|s| s.unsafe_keras_operators.get(class_name).copied())
    }

    /// Severity configured for a TensorFlow op (ModelScan: ReadFile/WriteFile = HIGH).
    pub fn tf_operator_severity(&self, op: &str) -> Option<Severity> {
        self.scanners
            .get("modelscan.scanners.SavedModelTensorflowOpScan")
            .and_then(|s| s.unsafe_tf_operators.get(op).copied())
    }
}

/// `path:line: key 'a.b': expected X, found Y` for an error of the settings file's own
/// deserialization: the key is the innermost one whose key or value holds the error's span.
fn located_error(e: &toml::de::Error, text: &str, path: &str) -> SettingsError {
    let span = e.span();
    let doc = toml::de::DeTable::parse(text).ok();
    let mut found: Option<(Vec<String>, Option<&toml::de::DeValue<'_>>)> = None;
    if let (Some(span), Some(doc)) = (&span, &doc) {
        locate(doc.get_ref(), span, &mut Vec::new(), &mut found);
    }
    let (segments, value) = found.unwrap_or_default();
    let key = key_path(&segments);
    let line = span.map(|s| {
        let before = text.get(..s.start).unwrap_or(text);
        before.bytes().filter(|&b| b == b'\n').count() + 1
    });
    SettingsError::Typed {
        path: path.to_string(),
        line,
        key,
        message: reword(e.message(), value),
    }
}

/// Find the innermost key whose name or value holds `span`, depth first.
fn locate<'a, 'i>(
    table: &'a toml::de::DeTable<'i>,
    span: &std::ops::Range<usize>,
    path: &mut Vec<String>,
    best: &mut Option<(Vec<String>, Option<&'a toml::de::DeValue<'i>>)>,
) {
    let holds = |r: std::ops::Range<usize>| r.start <= span.start && span.end <= r.end;
    for (k, v) in table {
        path.push(k.get_ref().to_string());
        let in_value = holds(v.span());
        if holds(k.span()) || in_value {
            let deeper = best.as_ref().is_none_or(|(p, _)| p.len() <= path.len());
            if deeper {
                *best = Some((path.clone(), in_value.then(|| v.get_ref())));
            }
        }
        locate_value(v.get_ref(), span, path, best);
        path.pop();
    }
}

fn locate_value<'a, 'i>(
    value: &'a toml::de::DeValue<'i>,
    span: &std::ops::Range<usize>,
    path: &mut Vec<String>,
    best: &mut Option<(Vec<String>, Option<&'a toml::de::DeValue<'i>>)>,
) {
    match value {
        toml::de::DeValue::Table(t) => locate(t, span, path, best),
        toml::de::DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if let Some(last) = path.last_mut() {
                    let plain = last.clone();
                    *last = format!("{plain}[{i}]");
                    let holds = item.span().start <= span.start && span.end <= item.span().end;
                    if holds && best.as_ref().is_none_or(|(p, _)| p.len() <= path.len()) {
                        *best = Some((path.clone(), Some(item.get_ref())));
                    }
                    locate_value(item.get_ref(), span, path, best);
                    if let Some(last) = path.last_mut() {
                        *last = plain;
                    }
                }
            }
        }
        _ => {}
    }
}

/// `scanners."modelscan.scanners.X".enabled`: segments joined as a settings file writes them.
fn key_path(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| match s.split_once('[') {
            Some((name, index)) if index.ends_with(']') => format!("{}[{index}", toml_key(name)),
            _ => toml_key(s),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// serde's `invalid type: string "yes", expected a boolean` as `expected a boolean, found a
/// string`, in the words of a settings file.
fn reword(message: &str, value: Option<&toml::de::DeValue<'_>>) -> String {
    if message.contains("untagged enum RawNames") {
        return format!(
            "expected \"*\" or a list of names, found {}",
            value.map_or("something else".into(), found)
        );
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return format!("unknown key {rest}");
    }
    let is_type_error =
        message.starts_with("invalid type: ") || message.starts_with("invalid value: ");
    match (message.rsplit_once(", expected "), is_type_error) {
        (Some((_, expected)), true) => {
            let expected = match expected {
                "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer",
                "i8" | "i16" | "i32" | "i64" | "isize" => "an integer",
                "a sequence" => "an array",
                "a map" => "a table",
                e if e.starts_with("struct ") => "a table",
                e => e,
            };
            match value {
                Some(v) => format!("expected {expected}, found {}", found(v)),
                None => format!("expected {expected}"),
            }
        }
        _ => message.to_string(),
    }
}

fn found(v: &toml::de::DeValue<'_>) -> String {
    match v {
        toml::de::DeValue::String(_) => "a string".into(),
        toml::de::DeValue::Integer(i) if i.as_str().starts_with('-') => {
            format!("the negative integer {}", i.as_str())
        }
        toml::de::DeValue::Integer(_) => "an integer".into(),
        toml::de::DeValue::Float(_) => "a float".into(),
        toml::de::DeValue::Boolean(_) => "a boolean".into(),
        toml::de::DeValue::Datetime(_) => "a date-time".into(),
        toml::de::DeValue::Array(_) => "an array".into(),
        toml::de::DeValue::Table(_) => "a table".into(),
    }
}

/// Tables merge key by key; anything else (arrays, scalars) replaces the default.
fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

fn sev(value: &str, key: &str, path: Option<&str>) -> Result<Severity, SettingsError> {
    Severity::parse(value).ok_or_else(|| SettingsError::Invalid {
        path: path.map(str::to_string),
        message: format!("`{key}` = \"{value}\": expected one of LOW, MEDIUM, HIGH, CRITICAL"),
    })
}

fn validate(raw: RawSettings, path: Option<&str>) -> Result<Settings, SettingsError> {
    let invalid = |message: String| SettingsError::Invalid {
        path: path.map(str::to_string),
        message,
    };
    let _ = (
        &raw.modelscan_version,
        &raw.supported_zip_extensions,
        &raw.middlewares,
    );
    let mut scanners = BTreeMap::new();
    for (name, s) in raw.scanners {
        let mut keras = BTreeMap::new();
        for (k, v) in &s.unsafe_keras_operators {
            keras.insert(
                k.clone(),
                sev(
                    v,
                    &format!("scanners.\"{name}\".unsafe_keras_operators.{k}"),
                    path,
                )?,
            );
        }
        let mut tf = BTreeMap::new();
        for (k, v) in &s.unsafe_tf_operators {
            tf.insert(
                k.clone(),
                sev(
                    v,
                    &format!("scanners.\"{name}\".unsafe_tf_operators.{k}"),
                    path,
                )?,
            );
        }
        scanners.insert(
            name,
            ScannerSettings {
                enabled: s.enabled,
                supported_extensions: s.supported_extensions,
                unsafe_keras_operators: keras,
                unsafe_tf_operators: tf,
            },
        );
    }
    let mut unsafe_globals = Vec::new();
    for severity in Severity::ALL.iter().rev() {
        let mut table = BTreeMap::new();
        if let Some(mods) = raw.unsafe_globals.get(severity.as_str()) {
            for (module, names) in mods {
                let filter = match names {
                    RawNames::All(s) if s == "*" => NameFilter::All,
                    RawNames::All(s) => {
                        return Err(invalid(format!(
                            "`unsafe_globals.{severity}.{module}` = \"{s}\": expected \"*\" or a list of names"
                        )));
                    }
                    RawNames::Some(v) => NameFilter::Substrings(v.clone()),
                };
                table.insert(module.clone(), filter);
            }
        }
        unsafe_globals.push((*severity, table));
    }
    for key in raw.unsafe_globals.keys() {
        if Severity::parse(key).is_none() || key.to_ascii_uppercase() != *key {
            return Err(invalid(format!(
                "`unsafe_globals.{key}`: expected a table named LOW, MEDIUM, HIGH or CRITICAL"
            )));
        }
    }
    let report_format = match raw.reporting.module.as_str() {
        "modelscan.reports.ConsoleReport" | "console" => ReportFormat::Console,
        "modelscan.reports.JSONReport" | "json" => ReportFormat::Json,
        "sarif" => ReportFormat::Sarif,
        "jsonl" => ReportFormat::Jsonl,
        other => {
            return Err(invalid(format!(
                "`reporting.module` = \"{other}\": expected modelscan.reports.ConsoleReport, modelscan.reports.JSONReport, console, json, sarif or jsonl"
            )));
        }
    };
    let output_file = raw
        .reporting
        .settings
        .get("output_file")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let show_skipped = raw
        .reporting
        .settings
        .get("show_skipped")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let mut deny = BTreeMap::new();
    for (k, v) in &raw.pickle.deny {
        if !k.contains('.') {
            return Err(invalid(format!(
                "`pickle.deny.\"{k}\"`: expected \"module.name\" or \"module.*\""
            )));
        }
        deny.insert(k.clone(), sev(v, &format!("pickle.deny.\"{k}\""), path)?);
    }
    for a in &raw.pickle.allow {
        if !a.contains('.') {
            return Err(invalid(format!(
                "`pickle.allow` entry \"{a}\": expected \"module.name\" or \"module.*\""
            )));
        }
    }
    let mut rule_severity = BTreeMap::new();
    for (k, v) in &raw.rules {
        if crate::rules::lookup(k).is_none() {
            return Err(invalid(format!(
                "`rules.\"{k}\"`: no such rule (see `modelscan rules`)"
            )));
        }
        rule_severity.insert(k.clone(), sev(v, &format!("rules.\"{k}\""), path)?);
    }
    let mut suppressions = Vec::new();
    for s in raw.suppress {
        if s.rule != "*" && crate::rules::lookup(&s.rule).is_none() {
            return Err(invalid(format!(
                "`suppress.rule` = \"{}\": no such rule (see `modelscan rules`)",
                s.rule
            )));
        }
        suppressions.push(Suppression {
            rule: s.rule,
            path: s.path,
            reason: s.reason,
        });
    }
    Ok(Settings {
        scanners,
        unsafe_globals,
        report_format,
        reporting_module: raw.reporting.module,
        output_file,
        show_skipped,
        strict: raw.pickle.strict,
        allow: raw.pickle.allow,
        deny,
        fail_on: sev(&raw.policy.fail_on, "policy.fail_on", path)?,
        rule_severity,
        limits: raw.limits,
        suppressions,
        show_imports: false,
        hashes: true,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        loaded_from: None,
        settings_dir: None,
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn hashes_only_for_reports_that_show_them_unless_asked() {
        use ReportFormat::*;
        assert!(!Console.wants_hashes(true));
        assert!(!Console.wants_hashes(false));
        for f in [Json, Sarif, Jsonl] {
            assert!(f.wants_hashes(true));
            assert!(!f.wants_hashes(false));
        }
    }
    use super::*;

    #[test]
    fn embedded_defaults_are_valid() {
        let s = Settings::from_toml_str(DEFAULT_SETTINGS_TOML, None);
        assert!(s.is_ok(), "{:?}", s.err());
    }

    #[test]
    fn a_partial_file_is_merged_over_the_defaults() {
        let s = Settings::from_toml_str("[unsafe_globals.HIGH]\nmypkg = \"*\"\n", Some("x"));
        let s = s.ok();
        let high = s.as_ref().and_then(|s| {
            s.unsafe_globals
                .iter()
                .find(|(sev, _)| *sev == Severity::High)
        });
        assert!(high.is_some_and(|(_, t)| t.contains_key("mypkg") && t.contains_key("webbrowser")));
        let crit = s.as_ref().and_then(|s| {
            s.unsafe_globals
                .iter()
                .find(|(sev, _)| *sev == Severity::Critical)
        });
        assert!(crit.is_some_and(|(_, t)| t.contains_key("os")));
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_key() {
        let e = Settings::from_toml_str("[limits]\nmax_pickel_opcodes = 3\n", Some("x"));
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("max_pickel_opcodes"), "{msg}");
    }

    #[test]
    fn a_bad_severity_names_the_key() {
        let e = Settings::from_toml_str("[policy]\nfail_on = \"SEVERE\"\n", Some("x"));
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("policy.fail_on"), "{msg}");
    }
}

#[cfg(test)]
mod weakening_tests {
    use super::*;

    fn keys(toml: &str) -> Vec<String> {
        let s = Settings::from_toml_str(toml, Some("x")).unwrap();
        s.weakenings().into_iter().map(|w| w.key).collect()
    }

    #[test]
    fn the_built_in_defaults_weaken_nothing() {
        assert!(Settings::defaults().weakenings().is_empty());
        assert!(keys("").is_empty());
    }

    #[test]
    fn narrowing_modelscans_table_or_lowering_an_operator_severity_weakens_detection() {
        assert_eq!(
            keys("[unsafe_globals.CRITICAL]\nos = [\"system\"]\nbuiltins = [\"eval\"]\n"),
            [
                "unsafe_globals.CRITICAL.builtins",
                "unsafe_globals.CRITICAL.os"
            ]
        );
        // Wider is stricter: a shorter substring matches every name the longer one did.
        assert!(
            keys("[unsafe_globals.CRITICAL]\noperator = [\"attr\"]\nmypkg = \"*\"\n").is_empty()
        );
        assert_eq!(
            keys(
                "[scanners.\"modelscan.scanners.SavedModelLambdaDetectScan\".unsafe_keras_operators]\nLambda = \"LOW\"\n\
                 [scanners.\"modelscan.scanners.SavedModelTensorflowOpScan\".unsafe_tf_operators]\nReadFile = \"CRITICAL\"\nWriteFile = \"MEDIUM\"\n"
            ),
            [
                "scanners.\"modelscan.scanners.SavedModelLambdaDetectScan\".unsafe_keras_operators.Lambda",
                "scanners.\"modelscan.scanners.SavedModelTensorflowOpScan\".unsafe_tf_operators.WriteFile"
            ]
        );
    }

    #[test]
    fn limits_weaken_detection_in_the_direction_that_reads_or_reports_less() {
        assert_eq!(
            keys(
                "[limits]\nmax_seconds_per_file = 10\nbomb_floor_bytes = 1\nmax_archive_depth = 2\n"
            ),
            ["limits.max_archive_depth", "limits.max_seconds_per_file"]
        );
        assert_eq!(
            keys(
                "[limits]\nbomb_floor_bytes = 1099511627776\nmax_seconds_per_file = 0\nmax_file_bytes = 1099511627777\n"
            ),
            ["limits.bomb_floor_bytes"]
        );
    }

    #[test]
    fn a_severity_override_weakens_only_below_the_rules_default() {
        assert!(keys("[rules]\n\"pickle.anomaly\" = \"HIGH\"\n").is_empty());
        assert_eq!(
            keys("[rules]\n\"pickle.dangerous-global\" = \"HIGH\"\n"),
            ["rules.\"pickle.dangerous-global\""]
        );
    }
}
