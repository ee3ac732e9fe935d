//! The report: a serde type that *is* the JSON schema (ModelScan 0.8.8's fields and nesting
//! first, ours after), built once from the engine's outcome; the exit status is one pure
//! function of it. Emitters (`json`, `console`, `sarif`, `jsonl`) only format a finished
//! `Report`; `inspect`, `rules_doc` and `manual` serve the `inspect`, `rules` and `man`
//! commands, `progress` the bar on stderr.

pub mod console;
pub mod hashes;
pub mod json;
pub mod jsonl;
pub mod manual;
pub mod progress;
pub mod rules_doc;
pub mod sanitize;
pub mod sarif;

use crate::findings::Outcome;
use crate::findings::{ImportRecord, Issue, ScanErrorEntry, Severity, SkipEntry, Source};
use crate::settings::{Settings, Weakening};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Version of our additions to the JSON report (`docs/report.schema.json`).
pub const SCHEMA_VERSION: &str = "1.1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub summary: Summary,
    pub issues: Vec<IssueOut>,
    pub errors: Vec<ErrorOut>,
    /// Our fields, after ModelScan's.
    pub schema_version: &'static str,
    /// Issues matched by a suppression in the settings: listed, not counted.
    pub suppressed: Vec<IssueOut>,
    /// Each scanned pickle's imports with the policy's verdict.
    pub imports: Vec<ImportsOut>,
    /// sha256 of each scanned file and member.
    pub files: Vec<FileOut>,
    /// Whether `files` holds hashes: "sha256" (asked for with `--hash`), or "off" (not
    /// computed, so an empty `files` is not a failure).
    pub hashes: &'static str,
    /// Where the settings came from and which of them weaken detection.
    pub settings: SettingsOut,
    #[serde(skip)]
    pub raw_issues: Vec<Issue>,
    /// The suppressed issues with their sources (SARIF lists them with a suppression).
    #[serde(skip)]
    pub raw_suppressed: Vec<Issue>,
    /// `files` with their sources (SARIF artifacts).
    #[serde(skip)]
    pub raw_files: Vec<(Source, String)>,
    /// The scanned folder, or a scanned file's folder.
    #[serde(skip)]
    pub absolute_root: PathBuf,
    #[serde(skip)]
    pub raw_errors: Vec<ScanErrorEntry>,
    /// Each item and the scanner that read it (the console's `Scanning ...` lines).
    #[serde(skip)]
    pub scan_log: Vec<(Source, &'static str)>,
    #[serde(skip)]
    pub raw_skipped: Vec<SkipEntry>,
    #[serde(skip)]
    pub fail_on: Severity,
    #[serde(skip)]
    pub show_skipped: bool,
}

/// The settings of the run as far as a reader of the report must know them.
#[derive(Debug, Clone, Serialize)]
pub struct SettingsOut {
    /// The settings file merged over the built-in defaults, or `built-in defaults`.
    pub source: String,
    /// Every setting (settings file or command line) that weakens detection compared with
    /// the built-in defaults; empty when none does.
    pub weakenings: Vec<Weakening>,
}

impl SettingsOut {
    pub fn of(settings: &Settings) -> SettingsOut {
        SettingsOut {
            source: settings
                .loaded_from
                .clone()
                .unwrap_or_else(|| BUILT_IN_DEFAULTS.to_string()),
            weakenings: settings.weakenings(),
        }
    }
}

/// `SettingsOut::source` when no settings file was read.
pub const BUILT_IN_DEFAULTS: &str = "built-in defaults";

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub total_issues_by_severity: BySeverity,
    pub total_issues: usize,
    pub input_path: String,
    pub absolute_path: String,
    pub modelscan_version: String,
    pub timestamp: String,
    pub scanned: Scanned,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct BySeverity {
    pub low: usize,
    pub medium: usize,
    pub high: usize,
    pub critical: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scanned {
    pub total_scanned: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scanned_files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub total_skipped: usize,
    pub skipped_files: Vec<SkipOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IssueOut {
    pub description: String,
    pub operator: String,
    pub module: String,
    pub source: String,
    pub scanner: String,
    pub severity: Severity,
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub why: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorOut {
    pub category: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkipOut {
    pub category: String,
    pub description: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportsOut {
    pub source: String,
    pub imports: Vec<ImportRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileOut {
    pub source: String,
    pub sha256: String,
}

fn issue_out(i: &Issue) -> IssueOut {
    IssueOut {
        description: i.description.clone(),
        operator: i.operator.clone(),
        module: i.module.clone(),
        source: i.source.display_relative(),
        scanner: i.scanner.to_string(),
        severity: i.severity,
        rule: i.rule.to_string(),
        offset: i.offset,
        why: i.why.clone(),
        suppressed: i.suppressed.clone(),
    }
}

impl Report {
    pub fn build(
        out: Outcome,
        input_path: &str,
        absolute_root: &Path,
        settings: &Settings,
    ) -> Report {
        Report::build_with(
            out,
            input_path,
            absolute_root,
            settings,
            SettingsOut::of(settings),
        )
    }

    /// `build`, with the settings summary already worked out (it is the same for every
    /// report of a run).
    pub fn build_with(
        mut out: Outcome,
        input_path: &str,
        absolute_root: &Path,
        settings: &Settings,
        settings_out: SettingsOut,
    ) -> Report {
        if settings.hashes {
            hashes::complete(&mut out);
        }
        let (active, suppressed): (Vec<Issue>, Vec<Issue>) =
            out.issues.into_iter().partition(|i| i.suppressed.is_none());
        let mut by = BySeverity::default();
        for i in &active {
            match i.severity {
                Severity::Low => by.low += 1,
                Severity::Medium => by.medium += 1,
                Severity::High => by.high += 1,
                Severity::Critical => by.critical += 1,
            }
        }
        let mut scanned_files: Vec<String> =
            out.scanned.iter().map(|s| s.display_relative()).collect();
        scanned_files.dedup();
        let skipped = settings.show_skipped.then(|| Skipped {
            total_skipped: out.skipped.len(),
            skipped_files: out
                .skipped
                .iter()
                .map(|s| SkipOut {
                    category: s.category.as_str().to_string(),
                    description: s.description.clone(),
                    source: s.source.display_relative(),
                })
                .collect(),
        });
        Report {
            summary: Summary {
                total_issues_by_severity: by,
                total_issues: active.len(),
                input_path: input_path.to_string(),
                absolute_path: absolute_root.to_string_lossy().into_owned(),
                modelscan_version: env!("CARGO_PKG_VERSION").to_string(),
                timestamp: timestamp(&chrono::Local::now()),
                scanned: Scanned {
                    total_scanned: scanned_files.len(),
                    scanned_files,
                },
                skipped,
            },
            issues: active.iter().map(issue_out).collect(),
            errors: out
                .errors
                .iter()
                .map(|e| ErrorOut {
                    category: e.category.as_str().to_string(),
                    description: e.description.clone(),
                    source: e.source.as_ref().map(|s| s.display_relative()),
                })
                .collect(),
            schema_version: SCHEMA_VERSION,
            suppressed: suppressed.iter().map(issue_out).collect(),
            imports: out
                .imports
                .into_iter()
                .map(|(s, imports)| ImportsOut {
                    source: s.display_relative(),
                    imports,
                })
                .collect(),
            files: out
                .hashes
                .iter()
                .map(|(s, h)| FileOut {
                    source: s.display_relative(),
                    sha256: h.clone(),
                })
                .collect(),
            hashes: if settings.hashes { "sha256" } else { "off" },
            settings: settings_out,
            raw_issues: active,
            raw_suppressed: suppressed,
            raw_files: out.hashes,
            absolute_root: absolute_root.to_path_buf(),
            raw_errors: out.errors,
            scan_log: out.scan_log,
            raw_skipped: out.skipped,
            fail_on: settings.fail_on,
            show_skipped: settings.show_skipped,
        }
    }

    pub fn total_skipped(&self) -> usize {
        self.raw_skipped.len()
    }
}

/// ModelScan's timestamp form, `%Y-%m-%dT%H:%M:%S%.6f` in local time, written directly: chrono
/// parses the format string on every call, which a JSON Lines run pays twice per file.
pub fn timestamp<Tz: chrono::TimeZone>(t: &chrono::DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    use chrono::{Datelike, Timelike};
    let (year, nanos) = (t.year(), t.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        // Signed or five-digit years, leap seconds: chrono's own rules.
        return t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    }
    format!(
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        nanos / 1000
    )
}

/// The exit status, decided here and nowhere else: 1 when an issue at or above `--fail-on`
/// was found (issues win: adding a broken file never turns 1 into 2 or 3), 2 when something
/// could not be scanned, 3 when nothing was scanned, 0 otherwise.
pub fn exit_status(r: &Report) -> i32 {
    status_code(
        r.raw_issues.iter().any(|i| i.severity >= r.fail_on),
        !r.errors.is_empty(),
        r.summary.scanned.total_scanned,
    )
}

pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_ISSUES: i32 = 1;
pub const EXIT_ERRORS: i32 = 2;
pub const EXIT_NOTHING_SCANNED: i32 = 3;
pub const EXIT_USAGE: i32 = 4;

/// Every exit status with its meaning, in order: the one source of the manual page's EXIT
/// STATUS section, of the README's table (checked by a test) and of SARIF's
/// `exitCodeDescription`.
pub const EXIT_STATUSES: [(i32, &str); 5] = [
    (EXIT_CLEAN, "everything was scanned and nothing was found"),
    (
        EXIT_ISSUES,
        "at least one issue at or above `--fail-on` (issues win: a broken file next to a malicious one still gives 1)",
    ),
    (
        EXIT_ERRORS,
        "something could not be fully scanned (parse error, limit, unreadable file, disabled scanner) and no issue was found",
    ),
    (
        EXIT_NOTHING_SCANNED,
        "nothing was scanned (no file in a format modelscan reads)",
    ),
    (
        EXIT_USAGE,
        "usage error (bad option, missing path, invalid settings file)",
    ),
];

/// What an exit status means (`EXIT_STATUSES`).
pub fn exit_meaning(code: i32) -> &'static str {
    EXIT_STATUSES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("unknown exit status", |(_, m)| m)
}

/// The table behind `exit_status` (and the JSON Lines run's status, `jsonl::Tally`).
pub fn status_code(issues_at_fail_on: bool, errors: bool, scanned: usize) -> i32 {
    if issues_at_fail_on {
        EXIT_ISSUES
    } else if errors {
        EXIT_ERRORS
    } else if scanned == 0 {
        EXIT_NOTHING_SCANNED
    } else {
        EXIT_CLEAN
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn timestamps_are_written_as_chrono_formats_them() {
        let chrono_form = "%Y-%m-%dT%H:%M:%S%.6f";
        for (y, mo, d, h, mi, s, nanos) in [
            (2026, 12, 4, 5, 9, 3, 123_456_789),
            (2026, 1, 31, 23, 59, 59, 999_999_999),
            (1999, 7, 1, 0, 0, 0, 0),
            (999, 2, 3, 4, 5, 6, 1_000),
            (9999, 12, 31, 23, 59, 59, 500),
            (10_000, 1, 1, 0, 0, 0, 0),
            (2016, 12, 31, 23, 59, 59, 1_500_000_000), // a leap second
        ] {
            let naive = NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|day| day.and_hms_nano_opt(h, mi, s, nanos))
                .unwrap();
            let t = Utc.from_utc_datetime(&naive);
            assert_eq!(
                super::timestamp(&t),
                t.format(chrono_form).to_string(),
                "{naive}"
            );
        }
        let now = chrono::Local::now();
        assert_eq!(super::timestamp(&now), now.format(chrono_form).to_string());
    }
}
