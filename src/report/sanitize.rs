//! Escaping strings that came from a file (module names, member names, layer names are all
//! attacker-controlled) before they reach a terminal: control characters, escape sequences and
//! bidi overrides are shown as `\u{..}` instead of being interpreted.

pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}');
        if (c.is_control() && c != '\n' && c != '\t') || bidi {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
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
    }
}
