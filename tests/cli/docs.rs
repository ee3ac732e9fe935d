//! Generated documentation stays in sync: `docs/rules.md` is the rules table
//! (`modelscan rules --markdown`), `docs/man/*.1` the manual pages (`modelscan man --dir`).
//! `UPDATE_DOCS=1 cargo test --test cli docs` rewrites them. Also `modelscan rules`,
//! `modelscan rules ID` and `modelscan completions`.

use crate::common::{modelscan, repo};

fn check_generated(rel: &str, generated: &str, how: &str) {
    let path = repo(rel);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{rel} is out of date ({how}); regenerate it with: UPDATE_DOCS=1 cargo test --test cli docs"
    );
}

fn stdout_of(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = modelscan(dir.path()).args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn docs_rules_md_is_generated_from_the_rules_table() {
    let generated = modelscan::report::rules_doc::markdown();
    assert_eq!(stdout_of(&["rules", "--markdown"]), generated);
    check_generated(
        "docs/rules.md",
        &generated,
        "the rules table in src/rules.rs changed",
    );
}

#[test]
fn docs_man_pages_are_generated_from_the_command_line() {
    let main = stdout_of(&["man"]);
    assert!(main.contains(".TH modelscan 1"), "{main}");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man");
    std::fs::create_dir(&dir).unwrap();
    stdout_of(&["man", "--dir", dir.to_str().unwrap()]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for page in ["modelscan.1", "modelscan-scan.1", "modelscan-inspect.1"] {
        assert!(names.iter().any(|n| n == page), "{page} not in {names:?}");
    }
    let generated_main = std::fs::read_to_string(dir.join("modelscan.1")).unwrap();
    assert_eq!(generated_main, main);
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let _ = std::fs::remove_dir_all(repo("docs/man"));
    }
    let mut committed: Vec<String> = std::fs::read_dir(repo("docs/man"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    committed.sort();
    if std::env::var_os("UPDATE_DOCS").is_none() {
        assert_eq!(
            committed, names,
            "docs/man is out of date; regenerate it with: UPDATE_DOCS=1 cargo test --test cli docs"
        );
    }
    for n in &names {
        let text = std::fs::read_to_string(dir.join(n)).unwrap();
        check_generated(
            &format!("docs/man/{n}"),
            &text,
            "the options in src/cli.rs changed",
        );
    }
}

#[test]
fn rules_lists_every_rule_and_prints_one_in_full() {
    let list = stdout_of(&["rules"]);
    for r in modelscan::rules::RULES {
        assert!(
            list.contains(r.id),
            "{} missing from `modelscan rules`",
            r.id
        );
    }
    let one = stdout_of(&["rules", "pickle.dangerous-global"]);
    assert!(
        one.starts_with("pickle.dangerous-global (CRITICAL)"),
        "{one}"
    );
    assert!(
        one.contains("What to do: ") && one.contains("CWE-502"),
        "{one}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = modelscan(dir.path())
        .args(["rules", "no.such-rule"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn completions_are_generated_for_common_shells() {
    for (shell, marker) in [
        ("bash", "_modelscan()"),
        ("zsh", "#compdef modelscan"),
        ("fish", "complete -c modelscan"),
    ] {
        let text = stdout_of(&["completions", shell]);
        assert!(text.contains(marker), "{shell}: {text}");
        assert!(
            text.contains("inspect"),
            "{shell} completions lack the inspect command"
        );
    }
}

#[test]
fn the_repository_carries_its_license_and_an_example_settings_file_that_create_settings_file_writes()
 {
    let license = std::fs::read_to_string(crate::common::repo("LICENSE")).unwrap();
    assert!(license.contains("Apache License") && license.contains("Version 2.0"));
    let dir = tempfile::tempdir().unwrap();
    let out = crate::common::modelscan(dir.path())
        .args(["create-settings-file"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let written = std::fs::read_to_string(dir.path().join("modelscan-settings.toml")).unwrap();
    let example =
        std::fs::read_to_string(crate::common::repo("modelscan-settings.example.toml")).unwrap();
    assert_eq!(
        written, example,
        "modelscan-settings.example.toml differs from what create-settings-file writes; regenerate it with `modelscan create-settings-file --location modelscan-settings.example.toml --force`"
    );
}

#[test]
fn docs_pickle_policy_md_is_generated_from_the_policy_tables() {
    let generated = modelscan::scanners::pickle::policy::docs::markdown();
    assert!(
        generated.contains("| builtins | eval | CRITICAL |"),
        "{generated}"
    );
    check_generated(
        "docs/pickle-policy.md",
        &generated,
        "a table in src/scanners/pickle/policy/ changed",
    );
}

#[test]
fn man_dir_creates_a_missing_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("share/man/man1");
    stdout_of(&["man", "--dir", dir.to_str().unwrap()]);
    assert!(dir.join("modelscan.1").is_file());
    assert!(dir.join("modelscan-scan.1").is_file());
}

#[test]
fn the_manual_has_the_version_and_the_exit_status_table_the_exit_code_comes_from() {
    let main = stdout_of(&["man"]);
    let version = env!("CARGO_PKG_VERSION");
    assert!(main.contains(&format!("\"modelscan {version}\"")), "{main}");
    assert!(main.contains(&format!(".SH VERSION\nv{version}")), "{main}");
    let section = modelscan::report::manual::exit_status_section();
    let at = main
        .find(&section)
        .unwrap_or_else(|| panic!("no EXIT STATUS section: {main}"));
    assert!(
        main[at..].starts_with(&format!("{section}.SH VERSION")),
        "EXIT STATUS comes right before VERSION: {main}"
    );
    // One entry per status of the table `exit_status` decides by, 0 to 4.
    let codes: Vec<i32> = modelscan::report::EXIT_STATUSES
        .iter()
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(codes, [0, 1, 2, 3, 4]);
    for code in codes {
        assert!(
            section.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "{section}"
        );
    }
    // The README's table says the same.
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    for (code, meaning) in modelscan::report::EXIT_STATUSES {
        let row = format!("| {code} | {meaning} |");
        assert!(readme.contains(&row), "README lacks the row: {row}");
    }
}
