//! The console report, with ModelScan's headings and layout (`--- Summary ---`, issues grouped
//! by severity, errors, skipped files). Sources are absolute, as ModelScan prints them. Every
//! string that came from a file is escaped first. "No issues found" is only said when everything
//! was scanned.

use super::sanitize::for_terminal;
use super::{Report, exit_status};
use crate::findings::Severity;
use std::fmt::Write;

pub struct ConsoleOptions {
    pub color: bool,
    /// ModelScan's INFO log lines, one per item and scanner: `Scanning <absolute path> using
    /// <scanner> model scan` (`-l INFO` or `DEBUG`, the default).
    pub scan_lines: bool,
}

fn paint(s: &str, sev: Severity, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match sev {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

pub fn render(r: &Report, opts: &ConsoleOptions) -> String {
    let mut o = String::new();
    if opts.scan_lines {
        for (source, scanner) in &r.scan_log {
            let _ = writeln!(
                o,
                "Scanning {} using {scanner} model scan",
                for_terminal(&source.display_absolute())
            );
        }
    }
    let _ = writeln!(o, "\n--- Summary ---");
    if r.raw_issues.is_empty() {
        let not_scanned = r.raw_errors.len();
        if not_scanned == 0 && r.summary.scanned.total_scanned > 0 {
            let _ = writeln!(o, "\n No issues found! 🎉");
        } else if r.summary.scanned.total_scanned == 0 {
            let _ = writeln!(
                o,
                "\n Nothing was scanned: no file in a format modelscan reads."
            );
        } else {
            let _ = writeln!(
                o,
                "\n No issues found in what could be read, but {not_scanned} error(s) mean part of the input was not scanned (see Errors): this is not a clean result."
            );
        }
        weakenings(&mut o, r);
    } else {
        let b = &r.summary.total_issues_by_severity;
        let _ = writeln!(o, "\nTotal Issues: {}", r.summary.total_issues);
        let _ = writeln!(o, "\nTotal Issues By Severity:\n");
        let _ = writeln!(o, "    - LOW: {}", b.low);
        let _ = writeln!(o, "    - MEDIUM: {}", b.medium);
        let _ = writeln!(o, "    - HIGH: {}", b.high);
        let _ = writeln!(o, "    - CRITICAL: {}", b.critical);
        weakenings(&mut o, r);
        let _ = writeln!(o, "\n--- Issues by Severity ---");
        for sev in Severity::ALL.iter().rev() {
            let group: Vec<_> = r.raw_issues.iter().filter(|i| i.severity == *sev).collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(
                o,
                "\n{}",
                paint(&format!("--- {sev} ---"), *sev, opts.color)
            );
            for i in group {
                let _ = writeln!(o, "\nUnsafe operator found:");
                let _ = writeln!(o, "  - Severity: {}", paint(sev.as_str(), *sev, opts.color));
                let _ = writeln!(o, "  - Description: {}", for_terminal(&i.description));
                let _ = writeln!(
                    o,
                    "  - Source: {}",
                    for_terminal(&i.source.display_absolute())
                );
                let _ = writeln!(
                    o,
                    "  - Rule: {}{}",
                    i.rule,
                    i.offset
                        .map(|x| format!(" (at byte {x})"))
                        .unwrap_or_default()
                );
                if !i.why.is_empty() {
                    let _ = writeln!(o, "  - Why: {}", for_terminal(&i.why));
                }
            }
        }
    }
    if !r.suppressed.is_empty() {
        let _ = writeln!(
            o,
            "\n--- Suppressed --- \n\n{} issue(s) matched a suppression in the settings file and were not counted.",
            r.suppressed.len()
        );
    }
    if !r.raw_errors.is_empty() {
        let _ = writeln!(o, "\n--- Errors --- ");
        for (k, e) in r.raw_errors.iter().enumerate() {
            let _ = writeln!(o, "\nError {}:", k + 1);
            match &e.source {
                Some(s) => {
                    let _ = writeln!(
                        o,
                        "The following error was raised during a {} scan of {}: \n{}",
                        e.scan_name,
                        for_terminal(&s.display_absolute()),
                        for_terminal(&e.description)
                    );
                }
                None => {
                    let _ = writeln!(
                        o,
                        "The following error was raised: \n{}",
                        for_terminal(&e.description)
                    );
                }
            }
        }
    }
    if !r.raw_skipped.is_empty() {
        let _ = writeln!(o, "\n--- Skipped --- ");
        let _ = writeln!(
            o,
            "\nTotal skipped: {} - run with --show-skipped to see the full list.",
            r.raw_skipped.len()
        );
        if r.show_skipped {
            let _ = writeln!(o, "\nSkipped files list:\n");
            for s in &r.raw_skipped {
                let _ = writeln!(
                    o,
                    "The following file {} was skipped during a {} scan: \n{}",
                    for_terminal(&s.source.display_absolute()),
                    s.scan_name,
                    for_terminal(&s.description)
                );
            }
        }
    }
    let _ = exit_status;
    o
}

/// The settings that weaken detection, right after the summary's verdict and counts, with
/// where the settings came from; nothing when no setting weakens detection.
fn weakenings(o: &mut String, r: &Report) {
    if r.settings.weakenings.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\nSettings that weaken detection (settings: {}):\n",
        for_terminal(&r.settings.source)
    );
    for w in &r.settings.weakenings {
        let _ = writeln!(
            o,
            "    - {} = {}: {}",
            for_terminal(&w.key),
            for_terminal(&w.value),
            for_terminal(&w.effect)
        );
    }
}

/// The `--show-imports` section: each pickle's imports with the globals policy's verdict.
pub fn imports(r: &Report) -> String {
    let mut t = String::from("\n--- Imports ---\n");
    for i in &r.imports {
        let _ = write!(t, "\n{}:\n", for_terminal(&i.source));
        for imp in &i.imports {
            let _ = writeln!(
                t,
                "  - {}.{} [{}]",
                for_terminal(&imp.module),
                for_terminal(&imp.name),
                imp.verdict
            );
        }
    }
    t
}
