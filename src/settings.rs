//! Settings flow one way: the built-in defaults (`defaults/settings.toml`, embedded), then a
//! settings file merged over them, then the command line; validated once into `Settings`.
//! Errors name the key that is wrong. ModelScan's keys keep their meaning; ours are `[pickle]`,
//! `[policy]`, `[rules]`, `[limits]` and `[[suppress]]`.

use crate::findings::Severity;
use crate::limits::Limits;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

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
}

// ---- raw form: what the TOML says ------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
    #[serde(default)]
    suppress: Vec<RawSuppression>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScanner {
    enabled: bool,
    #[serde(default)]
    supported_extensions: Vec<String>,
    #[serde(default)]
    unsafe_keras_operators: BTreeMap<String, String>,
    #[serde(default)]
    unsafe_tf_operators: BTreeMap<String, String>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReporting {
    module: String,
    #[serde(default)]
    settings: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPickle {
    strict: bool,
    allow: Vec<String>,
    #[serde(default)]
    deny: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
}

impl Settings {
    /// The built-in defaults.
    pub fn defaults() -> Settings {
        // Nothing to merge over them: the embedded text is parsed once, not twice.
        match Self::from_toml_str("", None) {
            Ok(s) => s,
            // The embedded defaults are checked by a unit test; this branch cannot be taken
            // with a released binary, but it must not panic either.
            Err(_) => Settings::empty(),
        }
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
        }
    }

    /// Defaults with the file at `path` merged over them.
    pub fn load_file(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SettingsError::Read {
            path: path.display().to_string(),
            source: e,
        })?;
        let mut s = Self::from_toml_str(&text, Some(&path.display().to_string()))?;
        s.loaded_from = Some(path.display().to_string());
        Ok(s)
    }

    /// Defaults with `text` merged over them (`text` may be the defaults themselves).
    pub fn from_toml_str(text: &str, path: Option<&str>) -> Result<Settings, SettingsError> {
        let pathname = path.unwrap_or("<built-in defaults>").to_string();
        let user: toml::Table = toml::from_str(text).map_err(|e| SettingsError::Syntax {
            path: pathname.clone(),
            message: e.to_string(),
        })?;
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
