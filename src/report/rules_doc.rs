//! The rules table (`rules.rs`) as documentation: the plain text `modelscan rules ID` prints,
//! the Markdown of each rule used as SARIF help, and the whole of `docs/rules.md`. All three
//! are made from the same rows, so the documentation cannot drift from what the scanner reports
//! (a test compares `docs/rules.md` with `markdown()`).

use crate::rules::{RULES, Rule};
use std::fmt::Write;

/// Link to MITRE's page for a CWE.
pub fn cwe_url(cwe: u32) -> String {
    format!("https://cwe.mitre.org/data/definitions/{cwe}.html")
}

fn cwe_list(r: &Rule) -> String {
    r.cwe
        .iter()
        .map(|c| format!("CWE-{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A rule's full text, as `modelscan rules ID` prints it.
pub fn text(r: &Rule) -> String {
    format!(
        "{} ({})\n\n{}\n\nWhat it detects: {}\n\nWhy it is dangerous: {}\n\nWhat to do: {}\n\nCWE: {}",
        r.id,
        r.severity,
        r.title,
        r.detects,
        r.why,
        r.remediation,
        cwe_list(r)
    )
}

/// The body of a rule's documentation in Markdown (no heading): SARIF `help.markdown` and the
/// sections of `docs/rules.md`.
pub fn body_markdown(r: &Rule) -> String {
    let cwes = r
        .cwe
        .iter()
        .map(|c| format!("[CWE-{c}]({})", cwe_url(*c)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut o = String::new();
    let _ = writeln!(o, "**{}**\n", r.title);
    let _ = writeln!(o, "Default severity: {}. CWE: {}.\n", r.severity, cwes);
    let _ = writeln!(o, "*What it detects.* {}\n", r.detects);
    let _ = writeln!(o, "*Why it is dangerous.* {}\n", r.why);
    let _ = write!(o, "*What to do.* {}", r.remediation);
    o
}

/// The heading anchor GitHub gives `## <id>`: lower case, dots and other punctuation dropped.
pub fn anchor(id: &str) -> String {
    id.chars()
        .filter_map(|c| match c {
            'a'..='z' | '0'..='9' | '-' | '_' => Some(c),
            'A'..='Z' => Some(c.to_ascii_lowercase()),
            ' ' => Some('-'),
            _ => None,
        })
        .collect()
}

/// The area of a rule: the part of its id before the first dot.
fn area(id: &str) -> &str {
    id.split_once('.').map_or(id, |(a, _)| a)
}

/// `docs/rules.md`, generated from the rules table.
pub fn markdown() -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Rules\n");
    let _ = writeln!(
        o,
        "<!-- Generated from src/rules.rs by `modelscan rules --markdown`; do not edit by hand. \
         Regenerate with `UPDATE_DOCS=1 cargo test --test cli docs` (a test fails while this \
         file is out of date). -->\n"
    );
    let _ = writeln!(
        o,
        "Every issue modelscan reports names one of these rules. The severity is the default; \
         a finding may be reported higher or lower when the rule's text says so. Change a \
         rule's severity in the settings file (`[rules]` table: `\"rule.id\" = \"LOW\"`), or \
         silence findings with a suppression (`[[suppress]]` with `rule`, optional `path` glob \
         and `reason`): suppressed findings stay in the JSON report's `suppressed` list and do \
         not count for the exit code. `modelscan rules` lists the rules, `modelscan rules ID` \
         prints one.\n"
    );
    let _ = writeln!(o, "| Rule | Severity | Title |");
    let _ = writeln!(o, "| --- | --- | --- |");
    for r in RULES {
        let _ = writeln!(
            o,
            "| [`{}`](#{}) | {} | {} |",
            r.id,
            anchor(r.id),
            r.severity,
            r.title.replace('|', "\\|")
        );
    }
    let mut last_area = "";
    for r in RULES {
        if area(r.id) != last_area {
            last_area = area(r.id);
            let _ = writeln!(o, "\n## Area: {last_area}");
        }
        let _ = writeln!(o, "\n### {}\n", r.id);
        let _ = writeln!(o, "{}", body_markdown(r));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github_heading_ids() {
        assert_eq!(anchor("pickle.dangerous-global"), "pickledangerous-global");
        assert_eq!(anchor("keras.lambda_layer"), "keraslambda_layer");
    }

    #[test]
    fn every_rule_has_a_section_and_a_table_row() {
        let md = markdown();
        for r in RULES {
            assert!(md.contains(&format!("\n### {}\n", r.id)), "{}", r.id);
            assert!(md.contains(&format!("(#{})", anchor(r.id))), "{}", r.id);
        }
    }

    #[test]
    fn text_names_every_part_of_the_rule() {
        let r = RULES.first().unwrap();
        let t = text(r);
        assert!(t.starts_with(r.id));
        assert!(t.contains("What it detects: "));
        assert!(t.contains("CWE-"));
    }
}
