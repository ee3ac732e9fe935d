//! args -> settings -> scan -> report -> exit code. Nothing else: the reports, the inspection,
//! the rules documentation and the progress bar live in `modelscan::report`.

use clap::{CommandFactory, Parser};
use modelscan::cli::{self, Cli, ColorArg, Command, LogLevel, ReportArg, SeverityArg};
use modelscan::engine::stream;
use modelscan::findings::Outcome;
use modelscan::findings::Severity;
use modelscan::inspect;
use modelscan::report::{
    self, EXIT_ERRORS, EXIT_USAGE, console, exit_status, jsonl, manual, progress, rules_doc, sarif,
};
use modelscan::settings::{DEFAULT_SETTINGS_TOML, ReportFormat, Settings};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: u8 = EXIT_USAGE as u8;
const FAILED: u8 = EXIT_ERRORS as u8;

/// `eprintln!` that cannot panic: a closed standard error loses the message, nothing more.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Write `bytes` to standard output. A reader that went away (`modelscan rules | head -1`)
/// ends the output quietly, as it does for other Unix tools: that is not an error.
fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// `write_stdout` for the commands whose only product is their output.
fn print_or_fail(bytes: &[u8]) -> ExitCode {
    match write_stdout(bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("Error: cannot write the output: {e}");
            ExitCode::from(FAILED)
        }
    }
}

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
        Command::Rules { id, markdown } => rules(id.as_deref(), markdown),
        Command::Inspect(a) => run_inspect(a),
        Command::Completions { shell } => {
            // Rendered first: the generator panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "modelscan", &mut script);
            print_or_fail(&script)
        }
        Command::Man { dir } => man(dir.as_deref()),
    }
}

fn man(dir: Option<&Path>) -> ExitCode {
    let pages = match manual::pages() {
        Ok(p) => p,
        Err(e) => {
            say!("Error: cannot render the manual: {e}");
            return ExitCode::from(FAILED);
        }
    };
    let Some(dir) = dir else {
        let main = pages
            .first()
            .map(|(_, text)| text.as_bytes())
            .unwrap_or_default();
        return print_or_fail(main);
    };
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        pages
            .iter()
            .try_for_each(|(name, text)| std::fs::write(dir.join(name), text))
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("Error: cannot write the manual into {}: {e}", dir.display());
            ExitCode::from(FAILED)
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    say!("Error: {msg}");
    say!("Try 'modelscan scan --help' for help.");
    ExitCode::from(USAGE)
}

/// The settings file named on the command line, else `./modelscan-settings.toml` if present,
/// else the defaults; with the notice ModelScan prints about it.
fn load_settings(file: Option<&Path>, isolated: bool) -> Result<(Settings, String), ExitCode> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let default_settings = cwd.join("modelscan-settings.toml");
    if isolated {
        return Ok((
            Settings::defaults(),
            "Settings files ignored (--isolated). Using defaults. ".to_string(),
        ));
    }
    let (settings, notice) = match file {
        Some(p) if !p.is_file() => {
            return Err(usage_error(&format!(
                "File '{}' does not exist.",
                p.display()
            )));
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
    match settings {
        Ok(s) => Ok((s, notice)),
        Err(e) => Err(usage_error(&e.to_string())),
    }
}

fn run_scan(a: cli::ScanArgs) -> ExitCode {
    if a.version {
        return print_or_fail(
            format!("modelscan, version {}\n", env!("CARGO_PKG_VERSION")).as_bytes(),
        );
    }
    let (mut settings, notice) = match load_settings(a.settings_file.as_deref(), a.isolated) {
        Ok(s) => s,
        Err(code) => return code,
    };
    // The command line goes last.
    if let Some(r) = a.reporting_format {
        settings.report_format = match r {
            ReportArg::Console => ReportFormat::Console,
            ReportArg::Json => ReportFormat::Json,
            ReportArg::Sarif => ReportFormat::Sarif,
            ReportArg::Jsonl => ReportFormat::Jsonl,
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
    settings.hashes = settings.report_format.wants_hashes(a.hash && !a.no_hash);
    let output_file: Option<PathBuf> = a
        .output_file
        .clone()
        .or(settings.output_file.clone().map(PathBuf::from));
    let machine = settings.report_format != ReportFormat::Console;
    if !a.quiet {
        if machine {
            say!("{notice}");
        } else {
            // Only the report's own write decides the exit status.
            let _ = write_stdout(format!("{notice}\n\n").as_bytes());
        }
    }
    if a.null && a.files_from.is_none() {
        return usage_error("-0/--null applies to a list given with --files-from");
    }
    if let Some(list) = a.files_from.as_deref() {
        return scan_list(list, &a, &settings, output_file.as_deref());
    }
    let Some(path) = a.path.as_deref() else {
        return usage_error("Command line must include a path");
    };
    if !path.exists() && std::fs::symlink_metadata(path).is_err() {
        return usage_error(&format!("Path '{}' does not exist.", path.display()));
    }
    if settings.report_format == ReportFormat::Jsonl {
        let (_, work) = stream::walked_work(path);
        return write_jsonl(work, &settings, output_file.as_deref());
    }
    let display = path.to_string_lossy();
    let report = if progress::wanted(a.quiet || a.no_progress) {
        let bar = progress::ProgressDisplay::new(true);
        let report = modelscan::engine::scan_with_progress(path, &display, &settings, &|event| {
            bar.on(event)
        });
        bar.finish();
        report
    } else {
        // Nobody watches: no bar, so no total to compute and no file to stat in the walk.
        modelscan::engine::scan(path, &display, &settings)
    };
    let code = emit(&report, &a, &settings, output_file.as_deref());
    // The process ends here: freeing every entry of a large report one by one would only
    // delay the exit (about half a millisecond per thousand files).
    std::mem::forget(report);
    code
}

/// `--files-from`: the listed paths, read as the scan goes. JSON Lines records are written as
/// they come; the other reports collect every file into one report.
fn scan_list(
    list: &Path,
    a: &cli::ScanArgs,
    settings: &Settings,
    output: Option<&Path>,
) -> ExitCode {
    let reader: Box<dyn BufRead + Send> = if list == Path::new("-") {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        match std::fs::File::open(list) {
            Ok(f) => Box::new(std::io::BufReader::new(f)),
            Err(e) => {
                return usage_error(&format!("cannot read the list '{}': {e}", list.display()));
            }
        }
    };
    let work = stream::list_reader(reader, a.null);
    if settings.report_format == ReportFormat::Jsonl {
        return write_jsonl(work, settings, output);
    }
    let mut all = Outcome::default();
    stream::run(work, settings, &mut |done| {
        for f in done.files {
            all.issues.extend(f.outcome.issues);
            all.errors.extend(f.outcome.errors);
            all.skipped.extend(f.outcome.skipped);
            all.scanned.extend(f.outcome.scanned);
            all.scan_log.extend(f.outcome.scan_log);
            all.imports.extend(f.outcome.imports);
            all.hashes.extend(f.outcome.hashes);
        }
        all.errors.extend(done.other.errors);
        all.skipped.extend(done.other.skipped);
        stream::Flow::Continue
    });
    let cwd = std::env::current_dir().unwrap_or_default();
    let report = report::Report::build(all, &list.to_string_lossy(), &cwd, settings);
    emit(&report, a, settings, output)
}

/// Write one JSON Lines record per file to `output` (else standard output) as the scan goes.
fn write_jsonl(
    work: impl Iterator<Item = stream::Work> + Send,
    settings: &Settings,
    output: Option<&Path>,
) -> ExitCode {
    let sink: Box<dyn Write> = match output {
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => Box::new(f),
            Err(e) => {
                say!("Error: cannot write {}: {e}", p.display());
                return ExitCode::from(FAILED);
            }
        },
        None => Box::new(std::io::stdout()),
    };
    let mut sink = std::io::BufWriter::new(sink);
    let run = jsonl::RunConstants::of(settings);
    let mut tally = jsonl::Tally::default();
    let mut write_failed: Option<std::io::Error> = None;
    let mut last_flush = std::time::Instant::now();
    // Each input's records are rendered and counted on the worker that scanned it; here they
    // are only written, in input order.
    let render = |done| {
        let mut part = jsonl::Tally::default();
        let text: String = jsonl::records(done, settings, &run, &mut part)
            .iter()
            .map(jsonl::line)
            .collect();
        (text, part)
    };
    stream::run_mapped(work, settings, &render, &mut |(text, part)| {
        tally.absorb(part);
        if write_failed.is_none() {
            if let Err(e) = sink.write_all(text.as_bytes()) {
                write_failed = Some(e);
            }
        }
        // Readers downstream (a pipe, `tail -f`) see records within a fraction of a second.
        if last_flush.elapsed() > std::time::Duration::from_millis(200) {
            if let Err(e) = sink.flush() {
                write_failed.get_or_insert(e);
            }
            last_flush = std::time::Instant::now();
        }
        // Nobody reads the records any more (a closed pipe, a full disk): stop scanning.
        if write_failed.is_some() {
            stream::Flow::Stop
        } else {
            stream::Flow::Continue
        }
    });
    if let Err(e) = sink.flush() {
        write_failed.get_or_insert(e);
    }
    if let Some(e) = write_failed {
        // The scan stopped before the end, so the run vouches for nothing (2); a reader that
        // went away (`| head`) needs no message.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            say!("Error: cannot write the records: {e}");
        }
        return ExitCode::from(FAILED);
    }
    ExitCode::from(u8::try_from(tally.exit_status()).unwrap_or(2))
}

/// Render a finished report to standard output (and `-o`), and exit with its status.
fn emit(
    report: &report::Report,
    a: &cli::ScanArgs,
    settings: &Settings,
    output_file: Option<&Path>,
) -> ExitCode {
    let machine = settings.report_format != ReportFormat::Console;
    let status = exit_status(report);
    let text = match settings.report_format {
        ReportFormat::Console => {
            let color = match a.color {
                ColorArg::Always => true,
                ColorArg::Never => false,
                ColorArg::Auto => {
                    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
                }
            };
            // ModelScan logs these at INFO: `-l WARNING` and above hide them, so does `-q`.
            let scan_lines = !a.quiet && matches!(a.log, LogLevel::Info | LogLevel::Debug);
            let mut t = console::render(report, &console::ConsoleOptions { color, scan_lines });
            if settings.show_imports {
                t.push_str(&console::imports(report));
            }
            t
        }
        ReportFormat::Sarif => sarif::render(report, std::env::current_dir().ok().as_deref()),
        ReportFormat::Json | ReportFormat::Jsonl => {
            // Serialized straight to each destination: a report of many files is never held a
            // second time as text.
            let to = |w: &mut dyn Write| report::json::write(report, w);
            return finish_output(status, true, output_file, &to);
        }
    };
    let owned = |w: &mut dyn Write| w.write_all(text.as_bytes());
    finish_output(status, machine, output_file.filter(|_| machine), &owned)
}

/// Write a report with `write` to standard output (with a final newline for a machine report)
/// and to `output_file`, and exit with `status`. The report is produced once and goes to both
/// at the same time (`Tee`): a large report is neither serialized twice nor held as text.
fn finish_output(
    status: i32,
    machine: bool,
    output_file: Option<&Path>,
    write: &dyn Fn(&mut dyn Write) -> std::io::Result<()>,
) -> ExitCode {
    let (file, file_error) = match output_file.map(std::fs::File::create) {
        Some(Ok(f)) => (Some(f), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let mut tee = Tee {
        stdout: std::io::stdout().lock(),
        stdout_error: None,
        file,
        file_error,
    };
    // The report is written in pieces of a few bytes: gathered here, each destination gets
    // large writes.
    let written = {
        let mut gathered = std::io::BufWriter::with_capacity(1 << 16, &mut tee);
        write(&mut gathered).and_then(|()| gathered.flush())
    };
    // An error of `write` itself (not of a destination) leaves both without the report.
    if let Err(e) = written {
        tee.stdout_error
            .get_or_insert_with(|| std::io::Error::new(e.kind(), e.to_string()));
        if output_file.is_some() {
            tee.file_error.get_or_insert(e);
        }
    }
    if tee.stdout_error.is_none() {
        let end: &[u8] = if machine { b"\n" } else { b"" };
        tee.stdout_error = tee
            .stdout
            .write_all(end)
            .and_then(|()| tee.stdout.flush())
            .err();
    }
    // A closed pipe is not a failure; another write error leaves the report unread, so a run
    // that would have passed fails.
    match tee.stdout_error {
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Some(e) => {
            say!("Error: cannot write the report: {e}");
            if status == 0 {
                return ExitCode::from(FAILED);
            }
        }
        None => {}
    }
    if let (Some(p), Some(e)) = (output_file, tee.file_error) {
        say!("Error: cannot write {}: {e}", p.display());
        return ExitCode::from(FAILED);
    }
    ExitCode::from(u8::try_from(status).unwrap_or(FAILED))
}

/// Standard output and the `-o` file, written together; a destination that fails is set aside
/// with its error and the other goes on.
struct Tee<'a> {
    stdout: std::io::StdoutLock<'a>,
    stdout_error: Option<std::io::Error>,
    file: Option<std::fs::File>,
    file_error: Option<std::io::Error>,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.stdout_error.is_none() {
            self.stdout_error = self.stdout.write_all(buf).err();
        }
        if let (Some(f), None) = (self.file.as_mut(), self.file_error.as_ref()) {
            self.file_error = f.write_all(buf).err();
        }
        let stdout_done = self.stdout_error.is_some();
        let file_done = self.file.is_none() || self.file_error.is_some();
        if stdout_done && file_done {
            // Nowhere left to write: stop producing the report.
            return Err(std::io::Error::other("no destination left for the report"));
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn run_inspect(a: cli::InspectArgs) -> ExitCode {
    let (mut settings, _) = match load_settings(a.settings_file.as_deref(), a.isolated) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if a.strict {
        settings.strict = true;
    }
    let opts = inspect::InspectOptions {
        max_ops: a.max_ops,
        ..inspect::InspectOptions::default()
    };
    match inspect::inspect(&a.target, &settings, &opts) {
        Ok(i) => {
            let _ = write_stdout(i.text.as_bytes());
            ExitCode::from(u8::try_from(i.status).unwrap_or(FAILED))
        }
        Err(e) => usage_error(&e),
    }
}

fn create_settings(a: cli::CreateSettingsArgs) -> ExitCode {
    let target = a.location.unwrap_or_else(|| {
        std::env::current_dir()
            .unwrap_or_default()
            .join("modelscan-settings.toml")
    });
    if target.exists() && !a.force {
        say!(
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
            let _ =
                write_stdout(format!("Settings file written to {}\n", target.display()).as_bytes());
            ExitCode::SUCCESS
        }
        Err(e) => {
            say!("Error: cannot write {}: {e}", target.display());
            ExitCode::from(FAILED)
        }
    }
}

fn rules(id: Option<&str>, markdown: bool) -> ExitCode {
    if markdown {
        return print_or_fail(rules_doc::markdown().as_bytes());
    }
    match id {
        None => {
            let list: String = modelscan::rules::RULES
                .iter()
                .map(|r| format!("{:<36} {:<9} {}\n", r.id, r.severity.as_str(), r.title))
                .collect();
            print_or_fail(list.as_bytes())
        }
        Some(id) => match modelscan::rules::lookup(id) {
            Some(r) => print_or_fail(format!("{}\n", rules_doc::text(r)).as_bytes()),
            None => usage_error(&format!("no rule '{id}' (see `modelscan rules`)")),
        },
    }
}
