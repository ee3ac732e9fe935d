//! How findings read: the access chain of an expression as the template spells it,
//! merging findings whose chains extend one another, and the token scan used when the
//! template does not parse.

use super::*;

pub(super) fn step_text(base: &str, kind: Access, key: &str) -> String {
    let ident = !key.is_empty()
        && key
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_alphabetic())
        && key.chars().all(|c| c == '_' || c.is_alphanumeric());
    match kind {
        Access::Attr if ident => format!("{base}.{key}"),
        Access::AttrFilter => format!("{base}|attr({})", quote(key)),
        _ => format!("{base}[{}]", quote(key)),
    }
}

pub(super) fn quote(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars().take(40) {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    if s.chars().count() > 40 {
        out.push('…');
    }
    out.push('\'');
    out
}

/// A short rendering of an expression, for access chains.
pub(super) fn describe(e: &Expr) -> String {
    let s = describe_inner(e, 0);
    cap_chain(s)
}

pub(super) fn describe_inner(e: &Expr, depth: u32) -> String {
    if depth > 12 {
        return "…".to_string();
    }
    let d = |x: &Expr| describe_inner(x, depth + 1);
    match e {
        Expr::Name { name, .. } => name.clone(),
        Expr::Str { value, .. } => quote(value),
        Expr::Int { value, .. } => value.map_or_else(|| "<int>".to_string(), |v| v.to_string()),
        Expr::Float { .. } => "<float>".to_string(),
        Expr::Bool { value, .. } => if *value { "true" } else { "false" }.to_string(),
        Expr::None { .. } => "none".to_string(),
        Expr::List { items, .. } if items.is_empty() => "[]".to_string(),
        Expr::List { .. } => "[…]".to_string(),
        Expr::Tuple { items, .. } if items.is_empty() => "()".to_string(),
        Expr::Tuple { .. } => "(…)".to_string(),
        Expr::Dict { pairs, .. } if pairs.is_empty() => "{}".to_string(),
        Expr::Dict { .. } => "{…}".to_string(),
        Expr::Getattr { node, attr, .. } => format!("{}.{attr}", d(node)),
        Expr::Getitem { node, arg, .. } => format!("{}[{}]", d(node), d(arg)),
        Expr::Slice { .. } => ":".to_string(),
        Expr::Call { node, args, .. } => format!("{}({})", d(node), describe_args(args)),
        Expr::Filter { node, name, .. } => match node {
            Some(n) => format!("{}|{name}", d(n)),
            None => format!("|{name}"),
        },
        Expr::Test { node, name, .. } => format!("{} is {name}", d(node)),
        Expr::Binary {
            op, left, right, ..
        } => format!("({} {op} {})", d(left), d(right)),
        Expr::Unary { op, node, .. } => format!("{op}{}", d(node)),
        Expr::Compare { .. } | Expr::Cond { .. } => "(…)".to_string(),
    }
}

pub(super) fn describe_args(args: &Args) -> String {
    let mut parts: Vec<String> = args
        .args
        .iter()
        .take(2)
        .map(|a| match a {
            Expr::Str { value, .. } => quote(value),
            Expr::Int { value: Some(v), .. } => v.to_string(),
            _ => "…".to_string(),
        })
        .collect();
    if args.args.len() > 2 || !args.kwargs.is_empty() {
        parts.push("…".to_string());
    }
    parts.join(", ")
}

// ---- merging and the fallback scan ---------------------------------------------------------

/// Keeps the longest chains: a finding whose chain is a prefix of another one's is folded
/// into it (worst severity and all notes kept).
pub(super) fn merge(mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| b.chain.len().cmp(&a.chain.len()).then(a.pos.cmp(&b.pos)));
    let mut kept: Vec<Finding> = Vec::new();
    for f in findings {
        match kept.iter_mut().find(|k| k.chain.starts_with(&f.chain)) {
            Some(k) => {
                k.severity = k.severity.max(f.severity);
                for n in f.notes {
                    if !k.notes.contains(&n) {
                        k.notes.push(n);
                    }
                }
            }
            None => kept.push(f),
        }
    }
    for k in &mut kept {
        k.notes.sort();
        // Exec names count only once the chain has gone through internals.
        if k.severity < Severity::Critical {
            k.notes.retain(|(t, _)| *t != Tag::Exec);
        }
    }
    kept.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.pos.cmp(&b.pos)));
    kept
}

/// Used when the template does not parse: names and strings that only an injection uses.
pub(super) fn token_scan(toks: &[crate::scanners::template::lexer::Token]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut prev: Option<&Tok> = None;
    for t in toks {
        let name = match &t.tok {
            Tok::Name(n) => Some(n.as_str()),
            Tok::Str { value, .. } => Some(value.as_str()),
            _ => None,
        };
        if let Some(n) = name {
            let candidates: Vec<&str> = if matches!(t.tok, Tok::Str { .. }) {
                n.split(|c: char| !(c == '_' || c.is_alphanumeric()))
                    .collect()
            } else {
                vec![n]
            };
            for c in candidates {
                let class = classify(c);
                if matches!(class, NameClass::Dunder | NameClass::Mangled) {
                    let tag = if class == NameClass::Dunder {
                        Tag::Dunder
                    } else {
                        Tag::Mangled
                    };
                    out.push(Finding {
                        severity: Severity::Critical,
                        chain: c.to_string(),
                        notes: vec![(tag, c.to_string())],
                        pos: t.pos,
                    });
                }
            }
            if let Tok::Name(n) = &t.tok {
                if n == "attr" && prev == Some(&Tok::Op("|")) {
                    out.push(Finding {
                        severity: Severity::High,
                        chain: "|attr".to_string(),
                        notes: vec![(Tag::ContextName, String::new())],
                        pos: t.pos,
                    });
                }
            }
        }
        prev = Some(&t.tok);
    }
    out
}
