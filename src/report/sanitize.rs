//! Escaping strings that came from a file (module names, member names, layer names are all
//! attacker-controlled) before they reach a terminal: control characters, escape sequences and
//! bidi overrides are shown as `\u{..}` instead of being interpreted.

pub fn for_terminal(s: &str) -> String {
    // Printable ASCII (nearly every path and name) has nothing to escape.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}');
        // Every control character, line feeds and tabs too: a member named
        // "x\n--- Summary ---\n No issues found!" must not write report lines (as fd does).
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || bidi => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn escape_sequences_and_bidi_overrides_are_escaped() {
        assert_eq!(for_terminal("os\x1b[2J"), "os\\u{1b}[2J");
        assert_eq!(for_terminal("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(for_terminal("plain"), "plain");
        assert_eq!(
            for_terminal("tab\there\nnewline\r"),
            "tab\\there\\nnewline\\r"
        );
        assert_eq!(for_terminal("del\x7f"), "del\\u{7f}");
        assert_eq!(for_terminal("caf\u{e9}"), "caf\u{e9}");
    }
}
