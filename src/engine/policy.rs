//! The policy step between the scanners and the report: severity overrides per rule, and
//! suppressions from the settings (a suppressed issue stays in the report, marked, and does not
//! count for the exit code). Findings are data here; nothing is dropped silently.

use crate::scanners::Outcome;
use crate::settings::Settings;

pub fn apply(out: &mut Outcome, settings: &Settings) {
    for issue in &mut out.issues {
        if let Some(sev) = settings.rule_severity.get(issue.rule) {
            issue.severity = *sev;
        }
        let src = issue.source.display_relative();
        for s in &settings.suppressions {
            let rule_ok = s.rule == "*" || s.rule == issue.rule;
            let path_ok = s.path.as_deref().is_none_or(|g| glob_match(g, &src));
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
    use super::glob_match;

    #[test]
    fn glob_matches_members_and_folders() {
        assert!(glob_match("models/*.pkl", "models/a.pkl"));
        assert!(glob_match("*.zip:*", "x.zip:data.pkl"));
        assert!(!glob_match("models/*.pkl", "other/a.pkl"));
        assert!(glob_match("a?c", "abc"));
    }
}
