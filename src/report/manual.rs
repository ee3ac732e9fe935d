//! The manual pages (`modelscan man`): clap_mangen renders one page per command from the
//! command line's definition (`cli.rs`); this module adds the version and, on the pages of
//! `modelscan` and `modelscan scan`, an EXIT STATUS section written from `EXIT_STATUSES`, the
//! table the exit code itself is decided by.

use super::EXIT_STATUSES;
use crate::cli::Cli;
use clap::CommandFactory;

/// Every page as (file name, roff text), `modelscan.1` first, then one page per command as
/// `clap_mangen::generate_to` names them (`modelscan-scan.1`).
pub fn pages() -> std::io::Result<Vec<(String, String)>> {
    let version = env!("CARGO_PKG_VERSION");
    // The version is shown on every page; no command gains a `--version` flag for it (`scan`
    // has its own `-v/--version`).
    let mut cmd = Cli::command()
        .version(version)
        .disable_help_subcommand(true)
        .mut_subcommands(|s| s.version(version).disable_version_flag(true));
    cmd.build();
    let mut out = Vec::new();
    out.push(page(cmd.clone(), true)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let with_exit_status = sub.get_name() == "scan";
        out.push(page(sub.clone(), with_exit_status)?);
    }
    Ok(out)
}

fn page(cmd: clap::Command, with_exit_status: bool) -> std::io::Result<(String, String)> {
    let man = clap_mangen::Man::new(cmd);
    let name = man.get_filename();
    let mut bytes = Vec::new();
    man.render(&mut bytes)?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if with_exit_status {
        // man-pages(7) order: EXIT STATUS comes after OPTIONS (and the command list), before
        // VERSION.
        let section = exit_status_section();
        match text.find("\n.SH VERSION") {
            Some(at) => text.insert_str(at.saturating_add(1), &section),
            None => text.push_str(&section),
        }
    }
    Ok((name, text))
}

/// The EXIT STATUS section in roff.
pub fn exit_status_section() -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in EXIT_STATUSES {
        s.push_str(&format!(".TP\n\\fB{code}\\fR\n{}\n", roff_text(meaning)));
    }
    s
}

/// Text as roff shows it literally: backslashes and hyphens escaped, Markdown's backticks
/// dropped, and a line never starting with a control character.
fn roff_text(s: &str) -> String {
    let escaped = s.replace('\\', "\\e").replace('-', "\\-").replace('`', "");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_exit_status_section_lists_every_status() {
        let s = super::exit_status_section();
        for (code, _) in super::EXIT_STATUSES {
            assert!(s.contains(&format!("\\fB{code}\\fR")), "{s}");
        }
        assert!(s.contains("\\-\\-fail\\-on"), "{s}");
    }
}
