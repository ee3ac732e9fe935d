//! What a Jinja2 template can reach when it is rendered: an abstract interpretation of the
//! syntax tree that follows constant strings and Python objects through the template.
//!
//! Jinja2 resolves `x.name`, `x['name']` and `x|attr('name')` with Python's `getattr` (and
//! `x[key]` falls back to `getattr` when the item lookup fails), so a template rendered by a
//! plain `jinja2.Environment` walks from any object to `__class__`, `__mro__`,
//! `__subclasses__()`, `__globals__`, `os.popen` (server-side template injection, CWE-1336).
//! Payloads hide the names they use: concatenation (`~`, `+`), `|join`, `%`/`|format`,
//! `str.format`, `|replace`, `|reverse`, case filters, slicing, escapes in literals, `dict()`
//! keyword names, namespaces and loops that build a string. So names are computed here as
//! sets of possible constant strings ("known"), with two flags for what is not known: `built`
//! (computed from template constants but not resolved: suspicious when used as a name) and
//! `data` (may come from the render context, like `message['role']`). Objects reached through
//! dunder or private attributes, and the bare Jinja globals (`cycler`, `joiner`, `namespace`,
//! `lipsum`, `range`, `dict`, `self`, Flask's `request`/`config`/...), carry an origin chain,
//! so `g['os']` is seen as `lipsum.__globals__['os']`.
//!
//! Severity: any dunder or name-mangled private access is CRITICAL (nothing in a chat template
//! needs one, and every sandbox escape starts there); other introspection (single-underscore
//! attributes, attribute walks on the bare globals, `attr` with a name that is not a constant,
//! a name built from constants that could not be resolved) is HIGH. Reporting is left to
//! the template scanner (`template/mod.rs`); the lexer and parser are `lexer.rs` and
//! `parser.rs`.
//!
//! Where each part lives: `values.rs` (the abstract domain and Python's operators on it),
//! `walk.rs` (scopes, statements, expressions), `access.rs` (attribute and subscript rules:
//! which names are introspection, which globals and names matter), `calls.rs` (calls of
//! macros, globals and methods), `filters.rs` (Jinja filters), `describe.rs` (access chains,
//! merging findings, the token scan for templates that do not parse). This file holds the
//! entry point, the findings and the bounds every part shares.

mod access;
mod calls;
mod describe;
mod filters;
#[cfg(test)]
mod tests;
mod values;
mod walk;

use self::{access::*, describe::*, values::*, walk::*};
use std::collections::HashMap;

use super::lexer::{SyntaxError, Tok, lex};
use super::parser::{Args, Expr, Node, Pos, Target, parse};
use super::strings::{
    FmtArg, brace_format, capitalize, format_fields, percent_format, py_slice, swapcase, title,
};
use crate::findings::Severity;

/// Possible string values kept per value before it counts as "unresolved".
const MAX_STRS: usize = 64;
/// Longest string kept (names are short; long prompts only matter as text).
const MAX_STR_LEN: usize = 4096;
/// Bytes of possible strings one value holds (bounds the cost of copying and combining).
const MAX_VAL_BYTES: usize = 16 * 1024;
const MAX_ITEMS: usize = 64;
/// Loops over a literal sequence up to this long are unrolled one element at a time.
const MAX_UNROLL: usize = 16;
const MAX_NAMESPACES: usize = 4096;
const MAX_MACRO_SPECIALISATIONS: usize = 256;
/// Macros calling macros with constant arguments are followed this deep.
const MAX_MACRO_NESTING: usize = 8;
const MAX_CHAIN_LEN: usize = 240;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tag {
    /// An attribute walk on a bare Jinja/Flask global.
    GlobalWalk,
    /// A single-underscore attribute.
    Private,
    /// `attr` (or similar) with a name from the render context.
    ContextName,
    /// A name built from template constants that could not be resolved.
    ComputedName,
    /// Further steps from an object reached through internals.
    Walk,
    /// A dunder attribute.
    Dunder,
    /// A name-mangled private attribute (`_TemplateReference__context`).
    Mangled,
    /// A name that runs code or imports once reached from internals.
    Exec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// The access path as the template spells it (`cycler.__init__.__globals__.os.popen`).
    pub chain: String,
    /// What was seen along the chain (sorted, deduplicated).
    pub notes: Vec<(Tag, String)>,
    /// Byte offset in the template of the access that ends the chain.
    pub pos: Pos,
}

impl Finding {
    pub fn rule(&self) -> &'static str {
        if self.severity >= Severity::Critical {
            "template.injection"
        } else {
            "template.suspicious-access"
        }
    }

    fn first(&self, tag: Tag) -> Option<&str> {
        self.notes
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, n)| n.as_str())
    }

    /// One phrase saying what the chain does.
    pub fn summary(&self) -> String {
        if let Some(x) = self.first(Tag::Exec) {
            return format!("reaches `{x}` through Python object internals");
        }
        if self.first(Tag::Mangled).is_some() {
            return "reaches Jinja's private render context".to_string();
        }
        if let Some(d) = self.first(Tag::Dunder) {
            return format!("walks Python object internals through `{d}`");
        }
        if self.first(Tag::ComputedName).is_some() {
            return "uses an attribute name built at render time that could not be resolved"
                .to_string();
        }
        if self.first(Tag::ContextName).is_some() {
            return "looks up an attribute whose name is not a constant".to_string();
        }
        if let Some(g) = self.first(Tag::GlobalWalk) {
            return format!("walks the attributes of the Jinja global `{g}`");
        }
        if let Some(p) = self.first(Tag::Private) {
            return format!("accesses the private attribute `{p}`");
        }
        "walks Python object internals".to_string()
    }
}

/// The result of analysing one template.
#[derive(Debug, Clone, Default)]
pub struct TemplateAnalysis {
    pub findings: Vec<Finding>,
    /// Set when the template could not be parsed; findings then come from a token scan.
    pub syntax_error: Option<SyntaxError>,
    /// Set when the analysis budget ran out before the whole template was followed.
    pub budget_exhausted: bool,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub max_depth: u32,
    /// Evaluation steps before giving up (nested loops and macros multiply the work).
    pub max_steps: u64,
    /// Context variables whose value comes from the same file (`bos_token` ...).
    pub known_vars: Vec<KnownVar>,
}

/// A variable the renderer passes to the template, with the value the model file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownVar {
    pub name: String,
    pub value: String,
    /// The renderer passes exactly `value`. When false, another file the loader reads
    /// (`special_tokens_map.json` beside a tokenizer config) may replace it, so the variable
    /// is `value` or anything.
    pub exact: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_depth: 200,
            // The real templates in the fixtures need under 1,000 steps.
            max_steps: 200_000,
            known_vars: Vec::new(),
        }
    }
}

/// Stack for the thread an analysis runs on: the parser and the analyser recurse once per
/// nesting level (about 20 KiB a level in unoptimised builds), and macro calls can stack
/// nesting on nesting, so they get room far beyond what the depth caps allow.
const ANALYSIS_STACK: usize = 64 << 20;
/// Nested evaluations (expressions, statements, macro calls) the analyser follows.
const MAX_RECURSION: u32 = 1500;

/// Analyses one template (on a thread of its own with a large stack).
pub fn analyse(src: &str, opts: &Options) -> TemplateAnalysis {
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("template-analysis".into())
            .stack_size(ANALYSIS_STACK)
            .spawn_scoped(scope, || analyse_here(src, opts));
        match spawned {
            Ok(handle) => match handle.join() {
                Ok(result) => result,
                // Let the engine's per-file panic handling see it.
                Err(payload) => std::panic::resume_unwind(payload),
            },
            // No thread could be started: analyse on this one.
            Err(_) => analyse_here(src, opts),
        }
    })
}

fn analyse_here(src: &str, opts: &Options) -> TemplateAnalysis {
    let toks = match lex(src) {
        Ok(t) => t,
        Err(e) => {
            return TemplateAnalysis {
                findings: Vec::new(),
                syntax_error: Some(e),
                budget_exhausted: false,
            };
        }
    };
    let nodes = match parse(&toks, opts.max_depth, src.len()) {
        Ok(n) => n,
        Err(e) => {
            return TemplateAnalysis {
                findings: merge(token_scan(&toks)),
                syntax_error: Some(e),
                budget_exhausted: false,
            };
        }
    };
    let mut a = Analyzer::new(opts);
    a.exec_body(&nodes);
    TemplateAnalysis {
        findings: merge(a.findings),
        syntax_error: None,
        budget_exhausted: a.exhausted,
    }
}
