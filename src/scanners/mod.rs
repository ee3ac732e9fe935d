//! The `Scanner` trait, the static registry of scanners, and `ScanCtx`, the only way a scanner
//! reports what it found. A scanner reads one `Item` (bytes plus where they came from and the
//! detected format); it never walks directories or expands archives (that is `engine/`), and
//! never prints (that is `report/`).
//!
//! Adding a format: a module here, one line in `SCANNERS`, rows in `rules.rs`, fixtures, tests.

pub mod gguf;
pub mod json;
pub mod keras;
pub mod marshal;
pub mod onnx;
pub mod pickle;
pub mod protowire;
pub mod pyliteral;
pub mod safetensors;
pub mod savedmodel;
pub mod template;
pub mod torchscript;
pub mod xgboost;

use crate::engine::blob::Blob;
use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::{
    ErrorCategory, ImportRecord, Issue, Outcome, ScanErrorEntry, Severity, SkipCategory, SkipEntry,
    Source,
};
use crate::limits::Budget;
use crate::rules;
use crate::settings::Settings;

/// One thing to scan: a file on disk or a member of a container.
#[derive(Debug, Clone)]
pub struct Item {
    pub source: Source,
    pub blob: Blob,
    pub format: Format,
    /// The first bytes (up to `detect::HEAD_LEN`).
    pub head: Vec<u8>,
}

impl Item {
    /// The innermost name (member or file name).
    pub fn name(&self) -> &str {
        self.source.leaf_name()
    }

    /// Lower-cased extension of the innermost name.
    pub fn extension(&self) -> std::borrow::Cow<'_, str> {
        crate::engine::detect::extension(self.name())
    }
}

pub trait Scanner: Sync {
    /// ModelScan-style class path, shown in reports (`modelscan.scanners.PickleUnsafeOpScan`).
    fn name(&self) -> &'static str;
    /// The class path this scanner acts as for `item` (the pickle scanner is ModelScan's
    /// `PyTorchUnsafeOpScan` for `.pt`/`.bin`/... names).
    fn name_for(&self, _item: &Item) -> &'static str {
        self.name()
    }
    /// Short name used in console texts ("pickle", "numpy", "keras" ...).
    fn scan_name(&self) -> &'static str;
    /// Whether this scanner reads this item (by detected format, sometimes by name).
    fn accepts(&self, item: &Item) -> bool;
    /// Scan the item, reporting through `ctx`. An `Err` becomes an error entry for the item;
    /// what was reported before it is kept.
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError>;
}

/// Every scanner, in the order they run on an item.
pub static SCANNERS: &[&dyn Scanner] = &[
    &pickle::PickleScanner,
    &pickle::numpy::NumpyScanner,
    &json::JsonScanner,
    &keras::H5Scanner,
    &keras::KerasConfigScanner,
    &savedmodel::KerasMetadataScanner,
    &savedmodel::SavedModelOpScanner,
    &safetensors::SafetensorsScanner,
    &onnx::OnnxScanner,
    &torchscript::TorchScriptScanner,
    &gguf::GgufScanner,
    &template::ChatTemplateScanner,
    &xgboost::XgboostScanner,
];

/// The scanners that accept `item` and that the settings enable, and the names (as ModelScan
/// reports them for this item) of those that accept it but that the settings disable: one
/// pass over the registry. The pickle scanner checks `enabled` itself, per extension, because
/// ModelScan splits pickles between two scanner names.
pub fn select(item: &Item, settings: &Settings) -> (Vec<&'static dyn Scanner>, Vec<&'static str>) {
    let (mut enabled, mut disabled) = (Vec::new(), Vec::new());
    for s in SCANNERS.iter().copied().filter(|s| s.accepts(item)) {
        let name = s.name_for(item);
        if settings.scanner_enabled(name) {
            enabled.push(s);
        } else {
            disabled.push(name);
        }
    }
    (enabled, disabled)
}

/// What a scanner uses to report, plus the settings and the per-file budget.
pub struct ScanCtx<'a> {
    pub settings: &'a Settings,
    pub budget: Budget,
    pub out: &'a mut Outcome,
    /// How many containers deep the current item is.
    pub depth: u32,
}

/// A finding about to be reported; `ScanCtx::issue` fills in defaults from the rule table.
pub struct IssueBuilder {
    pub rule: &'static str,
    pub severity: Option<Severity>,
    pub module: String,
    pub operator: String,
    pub description: String,
    pub why: String,
    pub offset: Option<u64>,
}

impl IssueBuilder {
    pub fn new(rule: &'static str) -> IssueBuilder {
        IssueBuilder {
            rule,
            severity: None,
            module: String::new(),
            operator: String::new(),
            description: String::new(),
            why: String::new(),
            offset: None,
        }
    }
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = Some(s);
        self
    }
    /// ModelScan's `module` and `operator` fields; the description defaults to ModelScan's
    /// "Use of unsafe operator '<operator>' from module '<module>'".
    pub fn operator(mut self, module: impl Into<String>, operator: impl Into<String>) -> Self {
        self.module = module.into();
        self.operator = operator.into();
        self
    }
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    pub fn why(mut self, w: impl Into<String>) -> Self {
        self.why = w.into();
        self
    }
    pub fn offset(mut self, o: u64) -> Self {
        self.offset = Some(o);
        self
    }
}

impl ScanCtx<'_> {
    /// Report an issue found by `scanner` in the item at `source`.
    pub fn issue(&mut self, scanner: &'static str, source: &Source, b: IssueBuilder) {
        let rule = rules::lookup(b.rule);
        let severity = b
            .severity
            .or(rule.map(|r| r.severity))
            .unwrap_or(Severity::High);
        let description = if b.description.is_empty() {
            format!(
                "Use of unsafe operator '{}' from module '{}'",
                b.operator, b.module
            )
        } else {
            b.description
        };
        let why = if b.why.is_empty() {
            rule.map(|r| r.why.to_string()).unwrap_or_default()
        } else {
            b.why
        };
        self.out.issues.push(Issue {
            rule: b.rule,
            severity,
            module: b.module,
            operator: b.operator,
            description,
            why,
            source: source.clone(),
            offset: b.offset,
            scanner,
            suppressed: None,
        });
    }

    pub fn error(
        &mut self,
        scan_name: &'static str,
        source: &Source,
        category: ErrorCategory,
        description: impl Into<String>,
    ) {
        self.out.errors.push(ScanErrorEntry {
            category,
            description: description.into(),
            source: Some(source.clone()),
            scan_name,
        });
    }

    /// Take `source` back off the scanned list (a scanner found it is not its format after
    /// all, and skips it instead).
    pub fn unscan(&mut self, source: &Source) {
        if let Some(k) = self.out.scanned.iter().rposition(|s| s == source) {
            self.out.scanned.remove(k);
        }
    }

    pub fn skip(
        &mut self,
        scan_name: &'static str,
        source: &Source,
        category: SkipCategory,
        description: impl Into<String>,
    ) {
        self.out.skipped.push(SkipEntry {
            category,
            description: description.into(),
            source: source.clone(),
            scan_name,
        });
    }

    /// `source` is read by `scanner`: a `Scanning ...` line of the console report (only that
    /// report shows them, so nothing is kept for the others).
    pub fn log_scan(&mut self, source: &Source, scanner: &'static str) {
        if self.settings.report_format == crate::settings::ReportFormat::Console {
            self.out.scan_log.reserve_exact(1);
            self.out.scan_log.push((source.clone(), scanner));
        }
    }

    /// Whether the report will show import inventories: the machine-readable reports always
    /// carry them, the console report only with `--show-imports`. Scanners skip building the
    /// records when nobody will read them.
    pub fn wants_imports(&self) -> bool {
        self.settings.show_imports
            || self.settings.report_format != crate::settings::ReportFormat::Console
    }

    pub fn imports(&mut self, source: &Source, imports: Vec<ImportRecord>) {
        if !imports.is_empty() && self.wants_imports() {
            // Most files have one inventory; a report of many files keeps every one of them.
            self.out.imports.reserve_exact(1);
            self.out.imports.push((source.clone(), imports));
        }
    }

    /// Scan bytes found inside the current item (a nested payload, an embedded file) as a
    /// member of it: detection, containers and scanners all apply, one level deeper.
    pub fn scan_embedded(&mut self, source: Source, blob: Blob) {
        crate::engine::scan_member(self, source, blob);
    }
}
