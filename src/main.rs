//! args -> settings -> scan -> report -> exit code. Nothing else.

use clap::Parser;
use modelscan::cli::{self, Cli, ColorArg, Command, ReportArg, SeverityArg};
use modelscan::findings::Severity;
use modelscan::report::{self, console, exit_status};
use modelscan::settings::{DEFAULT_SETTINGS_TOML, ReportFormat, Settings};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: u8 = 4;

fn main() -> ExitCode {
    let args = cli::with_default_subcommand(std::env::args().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => USAGE,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Scan(a) => run_scan(a),
        Command::CreateSettingsFile(a) => create_settings(a),
        Command::Rules { id } => rules(id.as_deref()),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("Error: {msg}");
    eprintln!("Try 'modelscan scan --help' for help.");
    ExitCode::from(USAGE)
}

fn run_scan(a: cli::ScanArgs) -> ExitCode {
    if a.version {
        println!("modelscan, version {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let default_settings = cwd.join("modelscan-settings.toml");
    let (settings, notice) = match &a.settings_file {
        Some(p) if !p.is_file() => {
            return usage_error(&format!("File '{}' does not exist.", p.display()));
        }
        Some(p) => (
            Settings::load_file(p),
            format!("Detected settings file. Using {}. ", p.display()),
        ),
        None if default_settings.is_file() => (
            Settings::load_file(&default_settings),
            format!(
                "Detected settings file. Using {}. ",
                default_settings.display()
            ),
        ),
        None => (
            Ok(Settings::defaults()),
            format!(
                "No settings file detected at {}. Using defaults. ",
                default_settings.display()
            ),
        ),
    };
    let mut settings = match settings {
        Ok(s) => s,
        Err(e) => return usage_error(&e.to_string()),
    };
    // The command line goes last.
    if let Some(r) = a.reporting_format {
        settings.report_format = match r {
            ReportArg::Console => ReportFormat::Console,
            ReportArg::Json => ReportFormat::Json,
            ReportArg::Sarif => ReportFormat::Sarif,
            ReportArg::Custom => settings.report_format,
        };
    }
    if a.show_skipped {
        settings.show_skipped = true;
    }
    if a.strict {
        settings.strict = true;
    }
    if let Some(f) = a.fail_on {
        settings.fail_on = match f {
            SeverityArg::Low => Severity::Low,
            SeverityArg::Medium => Severity::Medium,
            SeverityArg::High => Severity::High,
            SeverityArg::Critical => Severity::Critical,
        };
    }
    if let Some(j) = a.jobs {
        settings.jobs = j.max(1);
    }
    settings.show_imports = a.show_imports;
    let output_file: Option<PathBuf> = a
        .output_file
        .clone()
        .or(settings.output_file.clone().map(PathBuf::from));
    let machine = settings.report_format != ReportFormat::Console;
    if !a.quiet {
        if machine {
            eprintln!("{notice}");
        } else {
            println!("{notice}\n");
        }
    }
    let Some(path) = a.path.as_deref() else {
        return usage_error("Command line must include a path");
    };
    if !path.exists() && std::fs::symlink_metadata(path).is_err() {
        return usage_error(&format!("Path '{}' does not exist.", path.display()));
    }
    let report = modelscan::scan(path, &path.to_string_lossy(), &settings);
    let status = exit_status(&report);
    let text = match settings.report_format {
        ReportFormat::Console => {
            let color = match a.color {
                ColorArg::Always => true,
                ColorArg::Never => false,
                ColorArg::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            let mut t = console::render(&report, &console::ConsoleOptions { color });
            if settings.show_imports {
                t.push_str(&imports_text(&report));
            }
            t
        }
        ReportFormat::Json | ReportFormat::Jsonl | ReportFormat::Sarif => {
            report::json::render(&report)
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if machine {
        let _ = out.write_all(b"\n");
    }
    if let (Some(p), true) = (&output_file, machine) {
        if let Err(e) = std::fs::write(p, text.as_bytes()) {
            eprintln!("Error: cannot write {}: {e}", p.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::from(u8::try_from(status).unwrap_or(2))
}

fn imports_text(r: &report::Report) -> String {
    let mut t = String::from("\n--- Imports ---\n");
    for i in &r.imports {
        t.push_str(&format!(
            "\n{}:\n",
            report::sanitize::for_terminal(&i.source)
        ));
        for imp in &i.imports {
            t.push_str(&format!(
                "  - {}.{} [{}]\n",
                report::sanitize::for_terminal(&imp.module),
                report::sanitize::for_terminal(&imp.name),
                imp.verdict
            ));
        }
    }
    t
}

fn create_settings(a: cli::CreateSettingsArgs) -> ExitCode {
    let target = a.location.unwrap_or_else(|| {
        std::env::current_dir()
            .unwrap_or_default()
            .join("modelscan-settings.toml")
    });
    if target.exists() && !a.force {
        eprintln!(
            "{} file already exists. Please use `--force` flag if you intend to overwrite it.",
            target.display()
        );
        return ExitCode::from(USAGE);
    }
    write_settings(&target)
}

fn write_settings(target: &Path) -> ExitCode {
    match std::fs::write(target, DEFAULT_SETTINGS_TOML) {
        Ok(()) => {
            println!("Settings file written to {}", target.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: cannot write {}: {e}", target.display());
            ExitCode::from(2)
        }
    }
}

fn rules(id: Option<&str>) -> ExitCode {
    match id {
        None => {
            for r in modelscan::rules::RULES {
                println!("{:<36} {:<9} {}", r.id, r.severity.as_str(), r.title);
            }
            ExitCode::SUCCESS
        }
        Some(id) => match modelscan::rules::lookup(id) {
            Some(r) => {
                println!(
                    "{} ({})\n\n{}\n\nWhat it detects: {}\n\nWhy it is dangerous: {}\n\nWhat to do: {}\n\nCWE: {}",
                    r.id,
                    r.severity,
                    r.title,
                    r.detects,
                    r.why,
                    r.remediation,
                    r.cwe
                        .iter()
                        .map(|c| format!("CWE-{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                ExitCode::SUCCESS
            }
            None => usage_error(&format!("no rule '{id}' (see `modelscan rules`)")),
        },
    }
}
