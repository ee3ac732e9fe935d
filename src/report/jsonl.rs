//! JSON Lines output (`-r jsonl`): one self-contained record per top-level file, written as
//! soon as the file is done, so that a job runner can shard millions of files and merge the
//! records with `cat`. Every record names the tool, its version and a digest of the effective
//! settings, and carries the file's findings as the JSON report's objects; there is no summary
//! line (the records are the summary). When settings weaken detection, every record says which
//! (the JSON report's `settings` object), so that no record reads as clean without it. The
//! schema is `docs/jsonl.schema.json`.

use super::{ErrorOut, FileOut, IssueOut, Report, SettingsOut, SkipOut, status_code};
use crate::engine::stream::{FileDone, InputDone};
use crate::findings::Outcome;
use crate::findings::Severity;
use crate::settings::Settings;
use serde::Serialize;
use std::path::Path;

/// Version of the record layout (a string, as the JSON report's `schema_version`).
pub const RECORD_SCHEMA_VERSION: &str = "2.0";

#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub schema_version: &'static str,
    /// `file` for a file's scan; `entry` for a skip or an error that belongs to no file's scan
    /// (a symlink leading out of a listed folder, an unreadable list).
    pub record: &'static str,
    pub tool: &'static str,
    pub version: &'static str,
    /// sha256 of the effective settings (`settings_digest`).
    pub settings_sha256: String,
    /// Where the settings came from and which of them weaken detection: only when some do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<SettingsOut>,
    /// The path as listed (`--files-from`) or relative to `-p`.
    pub path: String,
    pub absolute_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// sha256 of the file, unless `--no-hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `clean`, `issues` (any issue, whatever its severity), `errors` (something could not be
    /// scanned) or `not_scanned` (nothing in it could be scanned).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_severity: Option<Severity>,
    /// What a run on this path alone would have exited with.
    pub exit_code: i32,
    pub issues: Vec<IssueOut>,
    pub suppressed: Vec<IssueOut>,
    pub errors: Vec<ErrorOut>,
    pub skipped: Vec<SkipOut>,
    /// The file and members that were scanned.
    pub scanned: Vec<String>,
    /// sha256 of each scanned file and member, unless `--no-hash`.
    pub files: Vec<FileOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
}

/// A digest of the settings that decide findings (not of where output goes or how many
/// threads run), so that records from different runs can be told apart.
pub fn settings_digest(settings: &Settings) -> String {
    use sha2::{Digest, Sha256};
    let mut s = settings.clone();
    s.output_file = None;
    s.loaded_from = None;
    s.settings_dir = None;
    s.jobs = 1;
    s.show_imports = false;
    s.report_format = crate::settings::ReportFormat::Jsonl;
    let mut h = Sha256::new();
    h.update(format!("{s:?}").as_bytes());
    format!("{:x}", h.finalize())
}

/// What the records of a run add up to, for the exit status of the whole run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub records: u64,
    pub issues_at_fail_on: bool,
    pub errors: bool,
    pub scanned: u64,
}

impl Tally {
    /// Add the records counted in `other` (another part of the same run).
    pub fn absorb(&mut self, other: Tally) {
        self.records = self.records.saturating_add(other.records);
        self.issues_at_fail_on |= other.issues_at_fail_on;
        self.errors |= other.errors;
        self.scanned = self.scanned.saturating_add(other.scanned);
    }

    /// The run's exit status: the same function as for one report.
    pub fn exit_status(&self) -> i32 {
        status_code(
            self.issues_at_fail_on,
            self.errors,
            usize::try_from(self.scanned).unwrap_or(usize::MAX),
        )
    }
}

/// What every record of a run says the same: the settings digest and the settings summary
/// (worked out once per run, not per record).
pub struct RunConstants {
    pub digest: String,
    pub settings: super::SettingsOut,
}

impl RunConstants {
    pub fn of(settings: &Settings) -> RunConstants {
        RunConstants {
            digest: settings_digest(settings),
            settings: super::SettingsOut::of(settings),
        }
    }
}

/// The records of one finished input, counted into `tally`.
pub fn records(
    done: InputDone,
    settings: &Settings,
    run: &RunConstants,
    tally: &mut Tally,
) -> Vec<Record> {
    let mut out = Vec::with_capacity(done.files.len().saturating_add(1));
    for f in done.files {
        out.push(file_record(f, settings, run, tally));
    }
    let Outcome {
        errors, skipped, ..
    } = done.other;
    for e in errors {
        let path = e
            .source
            .as_ref()
            .map(|s| s.display_relative())
            .unwrap_or_default();
        let absolute = e
            .source
            .as_ref()
            .map(|s| s.absolute.to_string_lossy().into_owned())
            .unwrap_or_default();
        let one = Outcome {
            errors: vec![e],
            ..Outcome::default()
        };
        out.push(entry_record(one, path, absolute, settings, run, tally));
    }
    for s in skipped {
        let path = s.source.display_relative();
        let absolute = s.source.absolute.to_string_lossy().into_owned();
        let one = Outcome {
            skipped: vec![s],
            ..Outcome::default()
        };
        out.push(entry_record(one, path, absolute, settings, run, tally));
    }
    out
}

fn file_record(f: FileDone, settings: &Settings, run: &RunConstants, tally: &mut Tally) -> Record {
    let path = f.source.display_relative();
    let absolute = f.source.absolute.to_string_lossy().into_owned();
    let root = f.source.absolute.parent().unwrap_or(Path::new(""));
    let report = Report::build_with(f.outcome, &path, root, settings, run.settings.clone());
    let sha256 = report
        .raw_files
        .iter()
        .find(|(s, _)| s.members.is_empty())
        .map(|(_, h)| h.clone());
    let mut r = from_report(report, "file", path, absolute, &run.digest, tally);
    r.size = f.size;
    r.sha256 = sha256;
    r.started_at = Some(super::timestamp(&f.started_at));
    r.duration_ms = Some((f.duration.as_secs_f64() * 1e6).round() / 1e3);
    r
}

fn entry_record(
    out: Outcome,
    path: String,
    absolute: String,
    settings: &Settings,
    run: &RunConstants,
    tally: &mut Tally,
) -> Record {
    let report = Report::build_with(out, &path, Path::new(""), settings, run.settings.clone());
    from_report(report, "entry", path, absolute, &run.digest, tally)
}

fn from_report(
    report: Report,
    kind: &'static str,
    path: String,
    absolute_path: String,
    digest: &str,
    tally: &mut Tally,
) -> Record {
    let exit_code = super::exit_status(&report);
    let scanned = report.summary.scanned.total_scanned;
    tally.records = tally.records.saturating_add(1);
    tally.issues_at_fail_on |= report
        .raw_issues
        .iter()
        .any(|i| i.severity >= report.fail_on);
    tally.errors |= !report.errors.is_empty();
    tally.scanned = tally.scanned.saturating_add(scanned as u64);
    let status = if !report.issues.is_empty() {
        "issues"
    } else if !report.errors.is_empty() {
        "errors"
    } else if scanned == 0 {
        "not_scanned"
    } else {
        "clean"
    };
    let settings = (!report.settings.weakenings.is_empty()).then(|| report.settings.clone());
    let skipped = report
        .raw_skipped
        .iter()
        .map(|s| SkipOut {
            category: s.category.as_str().to_string(),
            description: s.description.clone(),
            source: s.source.display_relative(),
        })
        .collect();
    Record {
        schema_version: RECORD_SCHEMA_VERSION,
        record: kind,
        tool: "modelscan",
        version: env!("CARGO_PKG_VERSION"),
        settings_sha256: digest.to_string(),
        settings,
        path,
        absolute_path,
        size: None,
        sha256: None,
        status,
        max_severity: report.raw_issues.iter().map(|i| i.severity).max(),
        exit_code,
        issues: report.issues,
        suppressed: report.suppressed,
        errors: report.errors,
        skipped,
        scanned: report.summary.scanned.scanned_files,
        files: report.files,
        started_at: None,
        duration_ms: None,
    }
}

/// One record as one line of compact JSON, newline included.
pub fn line(r: &Record) -> String {
    let mut s = serde_json::to_string(r).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
