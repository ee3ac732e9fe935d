//! The command line (clap derive). ModelScan's options keep their names, short flags and
//! choices; `scan` is the default subcommand (`modelscan -p X` == `modelscan scan -p X`). This
//! module validates only; `main.rs` turns the arguments into settings.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "modelscan",
    about = "Modelscan detects machine learning model files that perform suspicious actions.",
    long_about = "Modelscan detects machine learning model files that perform suspicious actions.\n\n\
        To scan a model file or directory, run:\n    modelscan -p /path/to/model_file.h5\n\n\
        To get more details on available options for scanning, run:\n    modelscan scan --help\n\n\
        To create a configurable settings file, run:\n    modelscan create-settings-file",
    disable_version_flag = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scans a model file or directory (the default command).
    Scan(ScanArgs),
    /// Writes a settings file with the defaults, commented.
    CreateSettingsFile(CreateSettingsArgs),
    /// Lists the rules, or prints one rule's full text.
    Rules {
        /// A rule id, e.g. pickle.dangerous-global.
        id: Option<String>,
        /// Print the whole rules documentation as Markdown (docs/rules.md).
        #[arg(long, conflicts_with = "id")]
        markdown: bool,
    },
    /// Shows what modelscan sees in one file or zip member (FILE or FILE:member/path): the
    /// format, a pickle's opcodes with offsets, its imports with their verdicts, and the
    /// findings.
    Inspect(InspectArgs),
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Prints the manual page (roff) on stdout, or writes one page per command into a folder.
    Man {
        /// Write modelscan.1 and modelscan-<command>.1 into this folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// FILE, or FILE:member/path for a member of a zip (FILE:inner.zip:member for nested zips).
    pub target: String,
    /// Most opcodes listed in the disassembly.
    #[arg(long = "max-ops", default_value_t = 2000)]
    pub max_ops: usize,
    /// Path to a settings file. Defaults to ./modelscan-settings.toml
    #[arg(long = "settings-file")]
    pub settings_file: Option<PathBuf>,
    /// Ignore every settings file (also ./modelscan-settings.toml): the built-in defaults only.
    #[arg(long, conflicts_with = "settings_file")]
    pub isolated: bool,
    /// Judge every pickle import that is not on the allowlist as an issue.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportArg {
    Console,
    Json,
    Custom,
    Sarif,
    /// JSON Lines: one record per file, written as each file is done.
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevel {
    Critical,
    Error,
    Warning,
    Info,
    Debug,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Optional file name for output report
    #[arg(short = 'o', long = "output-file")]
    pub output_file: Option<PathBuf>,
    /// Format of the output. Options are console, json, custom, sarif or jsonl (default: console).
    #[arg(short = 'r', long = "reporting-format", value_enum)]
    pub reporting_format: Option<ReportArg>,
    /// Path to a settings file. Defaults to ./modelscan-settings.toml
    #[arg(long = "settings-file")]
    pub settings_file: Option<PathBuf>,
    /// Ignore every settings file (also ./modelscan-settings.toml): the built-in defaults only.
    #[arg(long, conflicts_with = "settings_file")]
    pub isolated: bool,
    /// Print a list of files that were skipped during the scan
    #[arg(long = "show-skipped")]
    pub show_skipped: bool,
    /// Level of log messages displayed (default: INFO)
    #[arg(
        short = 'l',
        long = "log",
        value_enum,
        default_value = "INFO",
        ignore_case = true
    )]
    pub log: LogLevel,
    /// Path to the file or folder to scan
    #[arg(short = 'p', long = "path", conflicts_with = "files_from")]
    pub path: Option<PathBuf>,
    /// Scan the paths listed in FILE (`-` for standard input), one per line; each is a file to
    /// scan or a folder to walk. Read as the scan goes, so the list may be any length.
    #[arg(long = "files-from", value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// With --files-from: paths are separated by NUL bytes (`find -print0`), not newlines.
    #[arg(short = '0', long = "null")]
    pub null: bool,
    /// Show the version and exit.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
    /// Report every pickle import that is not on the allowlist as an issue.
    #[arg(long)]
    pub strict: bool,
    /// Exit with 1 only for issues at or above this severity.
    #[arg(long = "fail-on", value_enum, ignore_case = true)]
    pub fail_on: Option<SeverityArg>,
    /// Files scanned in parallel (default: the number of cores).
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
    /// List each pickle's imports and their verdicts in the console report.
    #[arg(long = "show-imports")]
    pub show_imports: bool,
    /// Print nothing but the report.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Add the sha256 of every file and member to the json, jsonl and sarif reports (hashing
    /// reads every byte of every file, so it is off unless asked for).
    #[arg(long = "hash")]
    pub hash: bool,
    /// Compute no hashes (the default; kept for scripts written for earlier versions).
    #[arg(long = "no-hash", conflicts_with = "hash")]
    pub no_hash: bool,
    /// Never show the progress bar (it is only shown on a terminal, and not when CI is set).
    #[arg(long = "no-progress")]
    pub no_progress: bool,
    /// When to colour the console report (NO_COLOR is honoured with auto).
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorArg,
}

#[derive(Debug, Args)]
pub struct CreateSettingsArgs {
    /// Overwrite the file if it exists.
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Where to write the settings file (default: ./modelscan-settings.toml).
    #[arg(short = 'l', long = "location")]
    pub location: Option<PathBuf>,
}

pub const SUBCOMMANDS: &[&str] = &[
    "scan",
    "create-settings-file",
    "rules",
    "inspect",
    "completions",
    "man",
    "help",
];

/// ModelScan's default group: anything that is not a subcommand is handed to `scan`.
pub fn with_default_subcommand(args: Vec<String>) -> Vec<String> {
    let mut args = args;
    let first = args.get(1).map(String::as_str);
    let needs_scan = match first {
        None => true,
        Some("-h" | "--help") => false,
        Some(a) => !SUBCOMMANDS.contains(&a),
    };
    if needs_scan {
        args.insert(1.min(args.len()), "scan".into());
    }
    args
}
