//! The policy step between the scanners and the report: severity overrides per rule, and
//! suppressions from the settings (a suppressed issue stays in the report, marked, and does not
//! count for the exit code). Findings are data here; nothing is dropped silently.
//!
//! A suppression's `path` glob is matched against the finding's path relative to the settings
//! file's folder (as `.gitignore` patterns and ruff's per-file-ignores are), or to the current
//! directory when no settings file was read; members follow as `:member`. A glob starting with
//! `/` is matched against the absolute path. So the same settings suppress the same findings
//! whichever folder the scan is started from and whatever `-p` names.

use crate::findings::Outcome;
use crate::findings::Source;
use crate::settings::Settings;
use std::path::Path;

pub fn apply(out: &mut Outcome, settings: &Settings) {
    // Only looked up when a suppression has a path (the current directory is a system call).
    let base = settings
        .suppressions
        .iter()
        .any(|s| s.path.is_some())
        .then(|| settings.suppression_base());
    for issue in &mut out.issues {
        if let Some(sev) = settings.rule_severity.get(issue.rule) {
            issue.severity = *sev;
        }
        for s in &settings.suppressions {
            let rule_ok = s.rule == "*" || s.rule == issue.rule;
            let path_ok = s.path.as_deref().is_none_or(|g| {
                base.as_deref()
                    .is_some_and(|b| path_matches(g, &issue.source, b))
            });
            if rule_ok && path_ok {
                issue.suppressed = Some(
                    s.reason
                        .clone()
                        .unwrap_or_else(|| "suppressed by the settings file".into()),
                );
                break;
            }
        }
    }
}

/// Whether the suppression glob `pattern` names `source`: relative globs against its path below
/// `base` (none when it lies outside), absolute ones against its absolute path.
pub fn path_matches(pattern: &str, source: &Source, base: &Path) -> bool {
    let file = if pattern.starts_with('/') {
        source.absolute.to_string_lossy().into_owned()
    } else {
        match source.absolute.strip_prefix(base) {
            Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
            Err(_) => return false,
        }
    };
    let mut text = file;
    for m in &source.members {
        text.push(':');
        text.push_str(m);
    }
    glob_match(pattern.strip_prefix("./").unwrap_or(pattern), &text)
}

/// Shell-style glob: `*` any run (also across `/` and `:`), `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::{glob_match, path_matches};
    use crate::findings::Source;
    use std::path::{Path, PathBuf};

    #[test]
    fn suppression_globs_are_relative_to_the_base_folder() {
        let s = Source::file("a.pkl".into(), PathBuf::from("/repo/models/a.pkl")).child("x.pkl");
        let base = Path::new("/repo");
        assert!(path_matches("models/*.pkl:*", &s, base));
        assert!(path_matches("./models/a.pkl:x.pkl", &s, base));
        assert!(!path_matches("a.pkl:*", &s, base));
        assert!(path_matches("/repo/models/*", &s, base));
        assert!(!path_matches("*", &s, Path::new("/elsewhere")));
    }

    #[test]
    fn glob_matches_members_and_folders() {
        assert!(glob_match("models/*.pkl", "models/a.pkl"));
        assert!(glob_match("*.zip:*", "x.zip:data.pkl"));
        assert!(!glob_match("models/*.pkl", "other/a.pkl"));
        assert!(glob_match("a?c", "abc"));
    }
}
