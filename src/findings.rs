//! Findings as data: severities, where a finding was made (the source chain), and the three
//! kinds of outcome a scan produces (issues, errors, skipped files). Nothing here decides what is
//! dangerous (that is the scanners' and `rules.rs`' job) or how it is printed (`report/`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// ModelScan's four severities, ordered so that `max()` gives the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_uppercase().as_str() {
            "LOW" => Some(Severity::Low),
            "MEDIUM" => Some(Severity::Medium),
            "HIGH" => Some(Severity::High),
            "CRITICAL" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where something was found: a file on disk plus the chain of members inside it
/// (`outer.zip:inner.zip:archive/data.pkl`, `model.pkl:nested[1]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source {
    /// Path relative to the scanned root (the bare file name when a single file is scanned).
    /// Shared: a file's source is copied into each thing found in it, at the cost of a count.
    pub relative: Arc<str>,
    /// Absolute path of the file on disk (what the console report shows).
    pub absolute: Arc<Path>,
    /// Members inside the file, outermost first.
    pub members: Vec<String>,
}

impl Source {
    pub fn file(relative: String, absolute: PathBuf) -> Source {
        Source {
            relative: Arc::from(relative),
            absolute: Arc::from(absolute),
            members: Vec::new(),
        }
    }

    /// The file itself, without the members.
    pub fn top(&self) -> Source {
        Source {
            relative: Arc::clone(&self.relative),
            absolute: Arc::clone(&self.absolute),
            members: Vec::new(),
        }
    }

    /// The source of a member inside this one.
    pub fn child(&self, member: impl Into<String>) -> Source {
        let mut members = self.members.clone();
        members.push(member.into());
        Source {
            relative: self.relative.clone(),
            absolute: self.absolute.clone(),
            members,
        }
    }

    /// `relative[:member]*`, the form used in JSON reports.
    pub fn display_relative(&self) -> String {
        join_chain(&self.relative, &self.members)
    }

    /// `absolute[:member]*`, the form used in the console report.
    pub fn display_absolute(&self) -> String {
        join_chain(&self.absolute.to_string_lossy(), &self.members)
    }

    /// The innermost name (member name or file name), used for extension checks.
    pub fn leaf_name(&self) -> &str {
        match self.members.last() {
            Some(m) => m.as_str(),
            None => &self.relative,
        }
    }

    pub fn depth(&self) -> usize {
        self.members.len()
    }
}

fn join_chain(first: &str, members: &[String]) -> String {
    let mut s = first.to_string();
    for m in members {
        s.push(':');
        s.push_str(m);
    }
    s
}

/// One issue: something in the file that can run code or otherwise harm the loader.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Stable rule id from `rules.rs`.
    pub rule: &'static str,
    pub severity: Severity,
    /// ModelScan's `module` field (for pickles the module as written in the file).
    pub module: String,
    /// ModelScan's `operator` field (for pickles the global's name).
    pub operator: String,
    /// ModelScan-style one-line description.
    pub description: String,
    /// Why this is dangerous, in one or two sentences specific to this finding.
    pub why: String,
    pub source: Source,
    /// Byte offset inside the innermost member (for pickles the opcode's offset).
    pub offset: Option<u64>,
    /// ModelScan-style scanner name (`modelscan.scanners.PickleUnsafeOpScan`).
    pub scanner: &'static str,
    /// Set by the policy step when a suppression in the settings matched.
    pub suppressed: Option<String>,
}

/// Error categories: ModelScan's names plus our own for what ModelScan does not check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCategory {
    ModelScan,
    PickleGenops,
    Path,
    Dependency,
    JsonDecode,
    /// The file is malformed for its format (other than pickle parsing).
    Malformed,
    /// A configured limit stopped the scan before the whole file was read.
    LimitExceeded,
    /// Reading the file failed (permissions, truncated underneath us).
    Io,
    /// The content could not be decoded (unknown compression, encryption).
    Unsupported,
    /// A scanner panicked on this file; the run went on.
    InternalError,
}

impl ErrorCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::ModelScan => "MODEL_SCAN",
            ErrorCategory::PickleGenops => "PICKLE_GENOPS",
            ErrorCategory::Path => "PATH",
            ErrorCategory::Dependency => "DEPENDENCY",
            ErrorCategory::JsonDecode => "JSON_DECODE",
            ErrorCategory::Malformed => "MALFORMED",
            ErrorCategory::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorCategory::Io => "IO",
            ErrorCategory::Unsupported => "UNSUPPORTED",
            ErrorCategory::InternalError => "INTERNAL_ERROR",
        }
    }
}

/// Something could not be fully scanned. Never "clean".
#[derive(Debug, Clone, PartialEq)]
pub struct ScanErrorEntry {
    pub category: ErrorCategory,
    pub description: String,
    pub source: Option<Source>,
    /// The scan name used by the console report ("pickle", "numpy", ...).
    pub scan_name: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SkipCategory {
    ScanNotSupported,
    BadZip,
    ModelConfig,
    NotImplemented,
    MagicNumber,
    /// A symlink that leads outside the scanned root.
    Symlink,
    /// Excluded by the settings.
    Excluded,
    /// Not a regular file (a FIFO, a socket, a device): never opened, so never waited on.
    NotARegularFile,
}

impl SkipCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipCategory::ScanNotSupported => "SCAN_NOT_SUPPORTED",
            SkipCategory::BadZip => "BAD_ZIP",
            SkipCategory::ModelConfig => "MODEL_CONFIG",
            SkipCategory::NotImplemented => "NOT_IMPLEMENTED",
            SkipCategory::MagicNumber => "MAGIC_NUMBER",
            SkipCategory::Symlink => "SYMLINK",
            SkipCategory::Excluded => "EXCLUDED",
            SkipCategory::NotARegularFile => "NOT_A_REGULAR_FILE",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SkipEntry {
    pub category: SkipCategory,
    pub description: String,
    pub source: Source,
    pub scan_name: &'static str,
}

/// A module or global name in an import inventory. The same few names recur in every file of a
/// run, so each distinct one is kept once per scanning thread and shared by the records that
/// name it: a report of many files holds a pointer per record, not a copy of the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

/// Distinct names kept per thread for sharing; past it, new names get their own copy.
const MAX_SHARED_NAMES: usize = 65_536;

impl Name {
    pub fn new(s: &str) -> Name {
        thread_local! {
            static SHARED: std::cell::RefCell<std::collections::HashSet<Arc<str>>> =
                std::cell::RefCell::new(std::collections::HashSet::new());
        }
        SHARED.with(|shared| {
            let mut shared = shared.borrow_mut();
            if let Some(a) = shared.get(s) {
                return Name(a.clone());
            }
            let a: Arc<str> = Arc::from(s);
            if shared.len() < MAX_SHARED_NAMES {
                shared.insert(a.clone());
            }
            Name(a)
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// One import seen in a pickle, with the verdict of the globals policy (the import inventory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRecord {
    pub module: Name,
    pub name: Name,
    /// `safe`, `unknown` or `dangerous`.
    pub verdict: &'static str,
}

/// Everything the scan of one top-level path produced, in the order it was found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub issues: Vec<Issue>,
    pub errors: Vec<ScanErrorEntry>,
    pub skipped: Vec<SkipEntry>,
    pub scanned: Vec<Source>,
    /// Each item and the scanner that read it, in scan order: the console's
    /// `Scanning <path> using <scanner> model scan` lines.
    pub scan_log: Vec<(Source, &'static str)>,
    pub imports: Vec<(Source, Vec<ImportRecord>)>,
    /// sha256 of each scanned file and member, hex.
    pub hashes: Vec<(Source, String)>,
    /// The size of the file on disk, as seen when it was opened.
    pub file_size: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_seen_again_shares_the_first_one_and_serializes_as_text() {
        let a = Name::new("sklearn.linear_model._logistic");
        let b = Name::new(&String::from("sklearn.linear_model._logistic"));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert!(!Arc::ptr_eq(&a.0, &Name::new("numpy").0));
        let rec = ImportRecord {
            module: a,
            name: Name::new("LogisticRegression"),
            verdict: "safe",
        };
        assert_eq!(
            serde_json::to_string(&rec).unwrap(),
            r#"{"module":"sklearn.linear_model._logistic","name":"LogisticRegression","verdict":"safe"}"#
        );
    }
}
