//! Output manners: the progress bar appears on a terminal only (checked in a pseudo-terminal
//! made by util-linux `script`), never with `CI` set, `-q` or `--no-progress`, never in piped
//! output; `-q` drops the settings notice; `--color` and `NO_COLOR` decide the colours.

use crate::common::{have_script, in_pty, modelscan};
use crate::report_cases::{CLEAN, EVIL, write};

/// Five files: more than the few that show the bar only after a second.
fn five_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    write(
        &case,
        &[
            ("a.pkl", CLEAN),
            ("b.pkl", CLEAN),
            ("c.pkl", CLEAN),
            ("d.pkl", CLEAN),
            ("e.pkl", EVIL),
        ],
    );
    dir
}

const BAR: &str = "/5 files";

#[test]
fn the_progress_bar_is_drawn_on_a_terminal() {
    if !have_script() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let dir = five_files();
    let (code, screen) = in_pty(dir.path(), &["-p", "case"], &[]);
    assert_eq!(code, 1, "{screen}");
    assert!(
        screen.contains(BAR),
        "no progress bar on the terminal:\n{screen:?}"
    );
    // The report itself follows the cleared bar.
    assert!(screen.contains("--- Summary ---"), "{screen}");
}

#[test]
fn no_progress_bar_with_ci_quiet_or_no_progress() {
    if !have_script() {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let dir = five_files();
    for (args, env) in [
        (&["-p", "case"][..], &[("CI", "true")][..]),
        (&["-p", "case", "-q"][..], &[][..]),
        (&["-p", "case", "--no-progress"][..], &[][..]),
    ] {
        let (_, screen) = in_pty(dir.path(), args, env);
        assert!(
            !screen.contains(BAR),
            "{args:?} {env:?} drew a bar:\n{screen:?}"
        );
        assert!(screen.contains("--- Summary ---"), "{screen}");
    }
}

#[test]
fn piped_output_never_has_a_bar_or_escape_codes() {
    let dir = five_files();
    let out = modelscan(dir.path()).args(["-p", "case"]).output().unwrap();
    let all = [out.stdout, out.stderr].concat();
    let text = String::from_utf8_lossy(&all);
    assert!(!text.contains(BAR), "{text}");
    assert!(!text.contains('\x1b'), "{text:?}");
}

#[test]
fn quiet_drops_the_settings_notice() {
    let dir = five_files();
    let loud = modelscan(dir.path()).args(["-p", "case"]).output().unwrap();
    assert!(String::from_utf8_lossy(&loud.stdout).contains("No settings file detected"));
    let quiet = modelscan(dir.path())
        .args(["-p", "case", "-q"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&quiet.stdout);
    assert!(!text.contains("No settings file detected"), "{text}");
    assert!(text.contains("--- Summary ---"), "{text}");
    let json = modelscan(dir.path())
        .args(["-p", "case", "-q", "-r", "json"])
        .output()
        .unwrap();
    assert!(
        json.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
}

#[test]
fn color_always_never_and_no_color() {
    let dir = five_files();
    let run = |args: &[&str], no_color: bool| {
        let mut c = modelscan(dir.path());
        c.args(["-p", "case"]).args(args);
        if no_color {
            c.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned()
    };
    assert!(run(&["--color", "always"], false).contains("\x1b[1;31m"));
    assert!(run(&["--color", "always"], true).contains("\x1b[1;31m"));
    assert!(!run(&["--color", "never"], false).contains('\x1b'));
    // auto: not a terminal here, so no colour.
    assert!(!run(&["--color", "auto"], false).contains('\x1b'));
    if have_script() {
        let (_, screen) = in_pty(dir.path(), &["-p", "case", "--no-progress"], &[]);
        assert!(
            screen.contains("\x1b[1;31m"),
            "auto on a terminal colours: {screen:?}"
        );
        let (_, screen) = in_pty(
            dir.path(),
            &["-p", "case", "--no-progress"],
            &[("NO_COLOR", "1")],
        );
        assert!(!screen.contains('\x1b'), "NO_COLOR ignored: {screen:?}");
    }
}

/// Run modelscan with `args` in `cwd`, its standard output a pipe whose reader is already
/// closed (as `| head -1` leaves it once `head` has exited): (exit code, stderr).
#[allow(clippy::incompatible_msrv)] // std::io::pipe: tests run on the current toolchain
fn with_closed_stdout(cwd: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("modelscan"))
        .current_dir(cwd)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn output_commands_exit_quietly_when_the_reader_has_gone() {
    let dir = five_files();
    let case = dir.path().join("case");
    let case = case.to_str().unwrap();
    let cases: &[(&[&str], Option<i32>)] = &[
        (&["rules"], Some(0)),
        (&["rules", "--markdown"], Some(0)),
        (&["rules", "pickle.dangerous-global"], Some(0)),
        (&["man"], Some(0)),
        (&["completions", "bash"], Some(0)),
        (&["scan", "-v"], Some(0)),
        (&["create-settings-file", "-l", "s.toml"], Some(0)),
        // A scan's status is its verdict, whether or not anyone read the report.
        (&["-p", case], Some(1)),
        (&["-p", case, "-r", "json"], Some(1)),
        (&["-p", case, "-r", "sarif"], Some(1)),
        (&["inspect", "case/e.pkl"], Some(1)),
    ];
    for (args, want) in cases {
        let (code, stderr) = with_closed_stdout(dir.path(), args);
        assert_eq!(code, *want, "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Error"),
            "{args:?}: {stderr}"
        );
    }
}
