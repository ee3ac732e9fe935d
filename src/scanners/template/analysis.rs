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
//! `mod.rs`; the lexer and parser are `lexer.rs` and `parser.rs`.

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

/// Jinja's default globals (`jinja2.defaults.DEFAULT_NAMESPACE`), the template reference,
/// Flask's template globals (payloads are written for Flask and work wherever these exist),
/// and the functions transformers adds to chat templates.
const SPECIAL_GLOBALS: &[&str] = &[
    "range",
    "dict",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "self",
    "config",
    "request",
    "session",
    "url_for",
    "get_flashed_messages",
    "raise_exception",
    "strftime_now",
];

/// Names that mean code execution, imports or file access once reached from an object's
/// internals.
const EXEC_NAMES: &[&str] = &[
    "os",
    "sys",
    "popen",
    "system",
    "subprocess",
    "Popen",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "run",
    "call",
    "spawn",
    "spawnl",
    "spawnv",
    "spawnve",
    "execl",
    "execv",
    "execve",
    "execvp",
    "fork",
    "eval",
    "exec",
    "compile",
    "open",
    "import_module",
    "importlib",
    "load_module",
    "builtins",
    "modules",
    "getattr",
    "setattr",
    "globals",
    "locals",
    "vars",
    "breakpoint",
    "environ",
    "getenv",
    "putenv",
    "remove",
    "unlink",
    "rmdir",
    "rmtree",
    "system",
    "func_globals",
    "f_globals",
    "f_builtins",
    "f_locals",
    "gi_frame",
    "tb_frame",
    "f_back",
    "from_pyfile",
    "from_object",
    "from_envvar",
    "application",
    "shutil",
    "pty",
    "socket",
    "ctypes",
    "marshal",
    "pickle",
    "loads",
];

const STR_METHODS: &[&str] = &[
    "join",
    "format",
    "format_map",
    "replace",
    "upper",
    "lower",
    "casefold",
    "swapcase",
    "title",
    "capitalize",
    "strip",
    "lstrip",
    "rstrip",
    "removeprefix",
    "removesuffix",
    "split",
    "rsplit",
    "center",
    "ljust",
    "rjust",
    "zfill",
    "translate",
    "encode",
    "decode",
    "expandtabs",
];

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
    /// Context variables whose value is known from the same file (`bos_token` ...).
    pub known_vars: Vec<(String, String)>,
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

// ---- names ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum NameClass {
    Dunder,
    Mangled,
    Private,
    Plain,
}

fn classify(name: &str) -> NameClass {
    if name.len() > 4 && name.starts_with("__") && name.ends_with("__") {
        NameClass::Dunder
    } else if name.starts_with('_') && name.get(1..).is_some_and(|r| r.contains("__")) {
        NameClass::Mangled
    } else if name.starts_with('_') {
        NameClass::Private
    } else {
        NameClass::Plain
    }
}

// ---- abstract values --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
struct Origin {
    chain: String,
    /// Reached through a dunder/private attribute (as opposed to a bare global).
    introspected: bool,
    /// The global the chain starts from, for a bare global.
    root: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Val {
    /// Known possible string values.
    strs: Vec<String>,
    /// Known possible integer values.
    ints: Vec<i64>,
    /// `str()` of other scalar constants (`True`, `None`, floats), for `~`.
    lit: Vec<String>,
    /// May also be something computed from template constants that was not resolved.
    built: bool,
    /// May also be something from the render context.
    data: bool,
    /// Elements of a literal list/tuple (or the keys of a dict).
    items: Option<Vec<Val>>,
    /// Fields of a dict literal or a `dict()` call.
    fields: Option<Vec<(String, Val)>>,
    /// A `namespace()` object.
    ns: Option<usize>,
    origin: Option<Origin>,
    /// A literal object (`''`, `[]`, `{}`, `()`).
    literal: bool,
    /// A method of a constant value, not yet called.
    method: Option<Box<(Val, String)>>,
    /// A macro (or a call block's `caller`).
    mac: Option<usize>,
}

impl Val {
    fn data() -> Val {
        Val {
            data: true,
            ..Val::default()
        }
    }

    fn built() -> Val {
        Val {
            built: true,
            ..Val::default()
        }
    }

    fn string(s: impl Into<String>) -> Val {
        let s = s.into();
        if s.len() > MAX_STR_LEN {
            return Val::built();
        }
        Val {
            strs: vec![s],
            ..Val::default()
        }
    }

    fn int(i: i64) -> Val {
        Val {
            ints: vec![i],
            ..Val::default()
        }
    }

    fn lit(s: &str) -> Val {
        Val {
            lit: vec![s.to_string()],
            ..Val::default()
        }
    }

    fn origin(chain: String, introspected: bool, root: &str) -> Val {
        Val {
            origin: Some(Origin {
                chain: cap_chain(chain),
                introspected,
                root: root.to_string(),
            }),
            ..Val::default()
        }
    }

    /// Exactly one of `strs`, nothing else.
    fn only_strs(&self) -> bool {
        !self.strs.is_empty()
            && !self.built
            && !self.data
            && self.ints.is_empty()
            && self.lit.is_empty()
            && self.items.is_none()
            && self.fields.is_none()
            && self.origin.is_none()
            && self.ns.is_none()
    }

    /// Nothing about the value is known.
    fn is_unknown(&self) -> bool {
        self.strs.is_empty()
            && self.ints.is_empty()
            && self.lit.is_empty()
            && self.items.is_none()
            && self.fields.is_none()
            && self.origin.is_none()
            && self.ns.is_none()
            && self.method.is_none()
            && self.mac.is_none()
    }

    /// The value as `str()` would print it, as far as known.
    fn str_forms(&self) -> (Vec<String>, bool, bool) {
        let mut out = self.strs.clone();
        out.extend(self.ints.iter().map(|i| i.to_string()));
        out.extend(self.lit.iter().cloned());
        let mut built = self.built;
        let mut data = self.data || self.origin.is_some();
        if self.items.is_some() || self.fields.is_some() || self.ns.is_some() {
            built = true;
        }
        if self.method.is_some() || self.mac.is_some() {
            data = true;
        }
        if out.is_empty() && !built && !data {
            data = true;
        }
        (out, built, data)
    }

    /// The value converted to a string (`|string`, `~`).
    fn stringified(&self) -> Val {
        let (strs, built, data) = self.str_forms();
        let mut v = Val {
            built,
            data,
            ..Val::default()
        };
        for s in strs {
            push_str(&mut v, s);
        }
        v
    }
}

fn cap_chain(mut chain: String) -> String {
    if chain.len() > MAX_CHAIN_LEN {
        let mut cut = MAX_CHAIN_LEN;
        while !chain.is_char_boundary(cut) {
            cut -= 1;
        }
        chain.truncate(cut);
        chain.push('…');
    }
    chain
}

fn push_str(v: &mut Val, s: String) {
    if s.len() > MAX_STR_LEN {
        v.built = true;
        return;
    }
    if v.strs.contains(&s) {
        return;
    }
    if v.strs.len() >= MAX_STRS || str_bytes(v) + s.len() > MAX_VAL_BYTES {
        v.built = true;
        return;
    }
    v.strs.push(s);
}

fn str_bytes(v: &Val) -> usize {
    v.strs.iter().map(String::len).sum()
}

/// No more strings fit: combining loops stop here.
fn full(v: &Val) -> bool {
    v.strs.len() >= MAX_STRS || str_bytes(v) >= MAX_VAL_BYTES
}

fn push_int(v: &mut Val, i: i64) {
    if !v.ints.contains(&i) {
        if v.ints.len() >= MAX_STRS {
            v.built = true;
        } else {
            v.ints.push(i);
        }
    }
}

/// Either value (the union of what both may be).
fn join(a: Val, b: Val) -> Val {
    let mut out = a;
    for s in b.strs {
        push_str(&mut out, s);
    }
    for i in b.ints {
        push_int(&mut out, i);
    }
    for l in b.lit {
        if !out.lit.contains(&l) && out.lit.len() < MAX_STRS {
            out.lit.push(l);
        }
    }
    out.built |= b.built;
    out.data |= b.data;
    out.literal |= b.literal;
    out.items = match (out.items.take(), b.items) {
        (Some(x), Some(y)) if x.len() == y.len() => {
            Some(x.into_iter().zip(y).map(|(p, q)| join(p, q)).collect())
        }
        (Some(_), Some(_)) => {
            out.built = true;
            None
        }
        (x, y) => x.or(y),
    };
    out.fields = match (out.fields.take(), b.fields) {
        (Some(mut x), Some(y)) => {
            for (k, v) in y {
                match x.iter_mut().find(|(k2, _)| *k2 == k) {
                    Some(slot) => {
                        let old = std::mem::take(&mut slot.1);
                        slot.1 = join(old, v);
                    }
                    None => x.push((k, v)),
                }
            }
            Some(x)
        }
        (x, y) => x.or(y),
    };
    out.ns = out.ns.or(b.ns);
    out.origin = out.origin.or(b.origin);
    out.method = out.method.or(b.method);
    out.mac = out.mac.or(b.mac);
    out
}

/// `a ~ b`
fn concat(a: &Val, b: &Val) -> Val {
    let (sa, ba, da) = a.str_forms();
    let (sb, bb, db) = b.str_forms();
    let mut out = Val {
        built: ba || bb,
        data: da || db,
        ..Val::default()
    };
    'outer: for x in &sa {
        for y in &sb {
            if full(&out) {
                out.built = true;
                break 'outer;
            }
            if x.len() + y.len() > MAX_STR_LEN {
                out.built = true;
                continue;
            }
            push_str(&mut out, format!("{x}{y}"));
        }
    }
    out
}

/// Every combination of the possible values of `vals` (bounded).
/// `None` when there are too many, or one would be longer than a kept string.
fn combos(vals: &[Vec<String>]) -> Option<Vec<Vec<String>>> {
    let mut acc: Vec<Vec<String>> = vec![Vec::new()];
    for v in vals {
        let mut next = Vec::new();
        for prefix in &acc {
            let prefix_len: usize = prefix.iter().map(String::len).sum();
            for s in v {
                if prefix_len + s.len() > MAX_STR_LEN {
                    return None;
                }
                let mut p = prefix.clone();
                p.push(s.clone());
                next.push(p);
                if next.len() > MAX_STRS {
                    return None;
                }
            }
        }
        acc = next;
    }
    Some(acc)
}

// ---- the analyser -------------------------------------------------------------------------

/// Positional and named arguments of one `%`-formatting attempt.
type FmtCandidate = (Vec<FmtArg>, Vec<(String, FmtArg)>);
/// Possible values of each named `%`-formatting argument.
type NamedForms = Vec<(String, Vec<FmtArg>)>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Access {
    Attr,
    Item,
    AttrFilter,
}

struct MacroDef<'a> {
    params: &'a [(String, Option<Expr>)],
    body: &'a [Node],
    /// Output with the parameters unknown.
    generic: Val,
}

struct Analyzer<'a> {
    scopes: Vec<HashMap<String, Val>>,
    namespaces: Vec<HashMap<String, Val>>,
    macros: Vec<MacroDef<'a>>,
    macro_stack: Vec<usize>,
    specialisations: usize,
    known: HashMap<String, String>,
    findings: Vec<Finding>,
    steps: u64,
    max_steps: u64,
    exhausted: bool,
    /// Current nesting of `eval`/`exec` calls.
    recursion: u32,
    /// How many enclosing constructs may run zero or several times (branches, loops followed
    /// as a union, macro bodies): assignments there add to a variable's possible values
    /// instead of replacing them.
    conditional: u32,
}

impl<'a> Analyzer<'a> {
    fn new(opts: &Options) -> Analyzer<'a> {
        Analyzer {
            scopes: vec![HashMap::new()],
            namespaces: Vec::new(),
            macros: Vec::new(),
            macro_stack: Vec::new(),
            specialisations: 0,
            known: opts.known_vars.iter().cloned().collect(),
            findings: Vec::new(),
            steps: 0,
            max_steps: opts.max_steps,
            exhausted: false,
            conditional: 0,
            recursion: 0,
        }
    }

    fn tick(&mut self) -> bool {
        self.steps += 1;
        if self.steps > self.max_steps {
            self.exhausted = true;
        }
        self.exhausted
    }

    fn report(&mut self, severity: Severity, chain: &str, tag: Tag, note: &str, pos: Pos) {
        // Merging is quadratic in the number of findings; a template with thousands of
        // distinct injections is reported by its first ones.
        if self.findings.len() >= 2_000 {
            return;
        }
        self.findings.push(Finding {
            severity,
            chain: cap_chain(chain.to_string()),
            notes: vec![(tag, note.to_string())],
            pos,
        });
    }

    // ---- scopes -------------------------------------------------------------------------

    fn lookup(&self, name: &str) -> Option<&Val> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn bind(&mut self, name: &str, v: Val) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), v);
        }
    }

    /// `{% set %}`: Jinja assigns in the current scope. In straight-line code the new value
    /// replaces the old one; where the assignment may or may not run (a branch, a loop
    /// followed as a union), it joins what the variable already held.
    fn assign(&mut self, name: &str, v: Val) {
        let weak = self.conditional > 0;
        if let Some(s) = self.scopes.last_mut() {
            let nv = match s.remove(name) {
                Some(old) if weak => join(old, v),
                _ => v,
            };
            s.insert(name.to_string(), nv);
        }
    }

    fn bind_target(&mut self, t: &Target, v: Val, weak: bool) {
        match t {
            Target::Name(n) => {
                if weak {
                    self.assign(n, v)
                } else {
                    self.bind(n, v)
                }
            }
            Target::NsRef(ns, attr) => {
                let weak = self.conditional > 0;
                if let Some(id) = self.lookup(ns).and_then(|x| x.ns) {
                    if let Some(space) = self.namespaces.get_mut(id) {
                        let nv = match space.remove(attr) {
                            Some(old) if weak => join(old, v),
                            _ => v,
                        };
                        space.insert(attr.clone(), nv);
                    }
                }
            }
            Target::Tuple(ts) => {
                for (i, t) in ts.iter().enumerate() {
                    let part = match &v.items {
                        Some(items) if items.len() == ts.len() => {
                            items.get(i).cloned().unwrap_or_else(Val::data)
                        }
                        _ => elem_of(&v),
                    };
                    self.bind_target(t, part, weak);
                }
            }
        }
    }

    // ---- statements ---------------------------------------------------------------------

    /// Runs `nodes`, returning what they render.
    fn exec_body(&mut self, nodes: &'a [Node]) -> Val {
        let mut out = Val::string("");
        for n in nodes {
            if self.tick() {
                return Val::data();
            }
            let v = self.exec(n);
            out = concat(&out, &v);
        }
        out
    }

    fn exec(&mut self, node: &'a Node) -> Val {
        if self.recursion >= MAX_RECURSION {
            self.exhausted = true;
            return Val::data();
        }
        self.recursion += 1;
        let v = self.exec_inner(node);
        self.recursion -= 1;
        v
    }

    fn exec_inner(&mut self, node: &'a Node) -> Val {
        match node {
            Node::Data { text, .. } => Val::string(text.clone()),
            Node::Output(e) => self.eval(e).stringified(),
            Node::If {
                branches,
                otherwise,
            } => {
                let mut out: Option<Val> = None;
                self.conditional += 1;
                for (cond, body) in branches {
                    self.eval(cond);
                    let o = self.exec_body(body);
                    out = Some(match out {
                        Some(p) => join(p, o),
                        None => o,
                    });
                }
                let o = self.exec_body(otherwise);
                self.conditional -= 1;
                match out {
                    Some(p) => join(p, o),
                    None => o,
                }
            }
            Node::For {
                target,
                iter,
                cond,
                body,
                otherwise,
            } => {
                let it = self.eval(iter);
                let mut out = self.exec_for(target, &it, cond.as_ref(), body);
                if !otherwise.is_empty() {
                    self.conditional += 1;
                    let o = self.exec_body(otherwise);
                    self.conditional -= 1;
                    out = join(out, o);
                }
                out
            }
            Node::Set { target, value } => {
                let v = self.eval(value);
                self.bind_target(target, v, true);
                Val::string("")
            }
            Node::SetBlock {
                target,
                filter,
                body,
            } => {
                let rendered = self.exec_body(body);
                let mut v = with_trimmed(rendered);
                if let Some(f) = filter {
                    v = self.eval_filter_chain(f, v);
                }
                self.bind_target(target, v, true);
                Val::string("")
            }
            Node::With { assigns, body } => {
                let vals: Vec<(&Target, Val)> =
                    assigns.iter().map(|(t, e)| (t, self.eval(e))).collect();
                self.scopes.push(HashMap::new());
                for (t, v) in vals {
                    self.bind_target(t, v, false);
                }
                let out = self.exec_body(body);
                self.scopes.pop();
                out
            }
            Node::Macro { name, params, body } => {
                let id = self.define_macro(params, body);
                self.assign(
                    name,
                    Val {
                        mac: Some(id),
                        ..Val::default()
                    },
                );
                Val::string("")
            }
            Node::CallBlock { call, params, body } => {
                let id = self.define_macro(params, body);
                self.scopes.push(HashMap::new());
                self.bind(
                    "caller",
                    Val {
                        mac: Some(id),
                        ..Val::default()
                    },
                );
                let v = self.eval(call).stringified();
                self.scopes.pop();
                v
            }
            Node::FilterBlock { filter, body } => {
                let rendered = self.exec_body(body);
                self.eval_filter_chain(filter, rendered).stringified()
            }
            Node::Scope(body) => self.exec_body(body),
            Node::Exprs(es) => {
                for e in es {
                    self.eval(e);
                }
                Val::string("")
            }
            Node::Import { template, names } => {
                self.eval(template);
                for n in names {
                    self.assign(n, Val::data());
                }
                Val::string("")
            }
            Node::Break | Node::Continue => Val::string(""),
        }
    }

    fn exec_for(
        &mut self,
        target: &Target,
        it: &Val,
        cond: Option<&'a Expr>,
        body: &'a [Node],
    ) -> Val {
        let unrolled: Option<Vec<Val>> = match (&it.items, it.only_strs()) {
            (Some(items), _) if items.len() <= MAX_UNROLL => Some(items.clone()),
            (None, true) if it.strs.len() == 1 => it.strs.first().and_then(|s| {
                (s.chars().count() <= MAX_UNROLL)
                    .then(|| s.chars().map(|c| Val::string(c.to_string())).collect())
            }),
            _ => None,
        };
        self.scopes.push(HashMap::new());
        self.bind("loop", Val::data());
        // An unrolled loop runs its body once per element in order, unless a condition or
        // `break`/`continue` can skip part of it.
        let skips = cond.is_some() || has_loop_control(body);
        let weak = unrolled.is_none() || skips;
        if weak {
            self.conditional += 1;
        }
        let out = match unrolled {
            Some(elems) => {
                let mut out = Val::string("");
                for e in elems {
                    self.bind_target(target, e, false);
                    if let Some(c) = cond {
                        self.eval(c);
                    }
                    let o = self.exec_body(body);
                    out = concat(&out, &o);
                    if self.exhausted {
                        break;
                    }
                }
                out
            }
            None => {
                let e = elem_of(it);
                self.bind_target(target, e, false);
                if let Some(c) = cond {
                    self.eval(c);
                }
                // Two passes, so that values carried from one iteration to the next (through
                // a namespace) are followed.
                let first = self.exec_body(body);
                let second = self.exec_body(body);
                let mut o = join(first, second);
                o.strs.clear();
                o.data |= !o.built || it.data;
                o.built = true;
                o
            }
        };
        if weak {
            self.conditional -= 1;
        }
        self.scopes.pop();
        out
    }

    fn define_macro(&mut self, params: &'a [(String, Option<Expr>)], body: &'a [Node]) -> usize {
        let id = self.macros.len();
        self.macros.push(MacroDef {
            params,
            body,
            generic: Val::data(),
        });
        // Follow the body once with unknown arguments: this finds what it does even if it is
        // never called, and gives its output for calls with unknown arguments.
        self.macro_stack.push(id);
        self.conditional += 1;
        self.scopes.push(HashMap::new());
        for (p, default) in params {
            let mut v = Val::data();
            if let Some(d) = default {
                v = join(v, self.eval(d));
            }
            self.bind(p, v);
        }
        for n in ["varargs", "kwargs", "caller"] {
            self.bind(n, Val::data());
        }
        let out = self.exec_body(body);
        self.scopes.pop();
        self.conditional -= 1;
        self.macro_stack.pop();
        if let Some(m) = self.macros.get_mut(id) {
            m.generic = with_trimmed(out);
        }
        id
    }

    fn call_macro(&mut self, id: usize, args: &[Val], kwargs: &[(String, Val)]) -> Val {
        let Some(m) = self.macros.get(id) else {
            return Val::data();
        };
        let (params, body, generic) = (m.params, m.body, m.generic.clone());
        let informative = args.iter().chain(kwargs.iter().map(|(_, v)| v)).any(|v| {
            !v.strs.is_empty() || v.origin.is_some() || v.items.is_some() || !v.ints.is_empty()
        });
        if !informative
            || self.macro_stack.contains(&id)
            || self.macro_stack.len() >= MAX_MACRO_NESTING
            || self.specialisations >= MAX_MACRO_SPECIALISATIONS
        {
            return generic;
        }
        self.specialisations += 1;
        self.macro_stack.push(id);
        self.conditional += 1;
        self.scopes.push(HashMap::new());
        for (i, (p, default)) in params.iter().enumerate() {
            let v = if let Some(a) = args.get(i) {
                a.clone()
            } else if let Some((_, v)) = kwargs.iter().find(|(k, _)| k == p) {
                v.clone()
            } else if let Some(d) = default {
                self.eval(d)
            } else {
                Val::data()
            };
            self.bind(p, v);
        }
        for n in ["varargs", "kwargs", "caller"] {
            self.bind(n, Val::data());
        }
        let out = self.exec_body(body);
        self.scopes.pop();
        self.conditional -= 1;
        self.macro_stack.pop();
        with_trimmed(out)
    }

    // ---- expressions --------------------------------------------------------------------

    fn eval(&mut self, e: &'a Expr) -> Val {
        if self.tick() {
            return Val::data();
        }
        if self.recursion >= MAX_RECURSION {
            self.exhausted = true;
            return Val::data();
        }
        self.recursion += 1;
        let v = self.eval_inner(e);
        self.recursion -= 1;
        v
    }

    fn eval_inner(&mut self, e: &'a Expr) -> Val {
        match e {
            Expr::Name { name, .. } => self.eval_name(name),
            Expr::Str { value, exact, .. } => {
                let mut v = if *exact {
                    Val::string(value.clone())
                } else {
                    Val::built()
                };
                v.literal = true;
                v
            }
            Expr::Int { value, .. } => match value {
                Some(i) => Val::int(*i),
                None => Val::lit("<int>"),
            },
            Expr::Float { .. } => Val::lit("<float>"),
            Expr::Bool { value, .. } => Val::lit(if *value { "True" } else { "False" }),
            Expr::None { .. } => Val::lit("None"),
            Expr::List { items, .. } | Expr::Tuple { items, .. } => {
                let vals: Vec<Val> = items.iter().map(|i| self.eval(i)).collect();
                let mut v = Val {
                    literal: true,
                    ..Val::default()
                };
                if vals.len() <= MAX_ITEMS {
                    v.items = Some(vals);
                } else {
                    v.built = true;
                }
                v
            }
            Expr::Dict { pairs, .. } => {
                let mut fields = Vec::new();
                let mut keys = Vec::new();
                let mut v = Val {
                    literal: true,
                    ..Val::default()
                };
                for (k, val) in pairs {
                    let kv = self.eval(k);
                    let vv = self.eval(val);
                    if kv.only_strs() && kv.strs.len() == 1 {
                        if let Some(s) = kv.strs.first() {
                            fields.push((s.clone(), vv));
                        }
                    }
                    keys.push(kv);
                }
                if keys.len() <= MAX_ITEMS {
                    v.items = Some(keys);
                    v.fields = Some(fields);
                } else {
                    v.built = true;
                }
                v
            }
            Expr::Getattr { node, attr, pos } => {
                let base = self.eval(node);
                let desc = describe(node);
                self.access(&base, &Val::string(attr.clone()), Access::Attr, *pos, &desc)
            }
            Expr::Getitem { node, arg, pos } => {
                let base = self.eval(node);
                let desc = describe(node);
                if let Expr::Slice {
                    start, stop, step, ..
                } = arg.as_ref()
                {
                    let s = start.as_deref().map(|x| self.eval(x));
                    let t = stop.as_deref().map(|x| self.eval(x));
                    let p = step.as_deref().map(|x| self.eval(x));
                    return slice_val(&base, s.as_ref(), t.as_ref(), p.as_ref());
                }
                let key = self.eval(arg);
                self.access(&base, &key, Access::Item, *pos, &desc)
            }
            Expr::Slice { .. } => Val::data(),
            Expr::Call { node, args, pos } => self.eval_call(node, args, *pos),
            Expr::Filter {
                node,
                name,
                args,
                pos,
            } => {
                let base = match node {
                    Some(n) => self.eval(n),
                    None => Val::data(),
                };
                let desc = node.as_deref().map(describe).unwrap_or_default();
                self.apply_filter(name, base, args, *pos, &desc)
            }
            Expr::Test { node, args, .. } => {
                self.eval(node);
                self.eval_args(args);
                Val::data()
            }
            Expr::Binary {
                op, left, right, ..
            } => {
                let l = self.eval(left);
                let r = self.eval(right);
                binary(op, &l, &r)
            }
            Expr::Unary { op, node, .. } => {
                let v = self.eval(node);
                match *op {
                    "-" => {
                        let mut out = Val::default();
                        for i in &v.ints {
                            if let Some(n) = i.checked_neg() {
                                push_int(&mut out, n);
                            }
                        }
                        out.data = v.data || v.ints.is_empty();
                        out.built = v.built;
                        out
                    }
                    "+" => v,
                    _ => Val::data(),
                }
            }
            Expr::Compare { first, ops, .. } => {
                self.eval(first);
                for (_, e) in ops {
                    self.eval(e);
                }
                Val::data()
            }
            Expr::Cond {
                test,
                then,
                otherwise,
                ..
            } => {
                self.eval(test);
                let a = self.eval(then);
                let b = match otherwise {
                    Some(o) => self.eval(o),
                    None => Val::data(),
                };
                join(a, b)
            }
        }
    }

    fn eval_name(&mut self, name: &str) -> Val {
        if let Some(v) = self.lookup(name) {
            return v.clone();
        }
        if SPECIAL_GLOBALS.contains(&name) {
            return Val::origin(name.to_string(), false, name);
        }
        if let Some(k) = self.known.get(name) {
            let mut v = Val::string(k.clone());
            v.data = true;
            return v;
        }
        if super::SPECIAL_TOKEN_KEYS.contains(&name) || name == "additional_special_tokens" {
            // The renderer passes the special tokens' texts, which the same file chooses
            // (GGUF metadata, the tokenizer config); unseen here, they are as good as a name
            // the template built: used as a key, they can name a dunder.
            let mut v = Val::data();
            v.built = true;
            return v;
        }
        Val::data()
    }

    fn eval_args(&mut self, args: &'a Args) -> (Vec<Val>, Vec<(String, Val)>) {
        let pos: Vec<Val> = args.args.iter().map(|a| self.eval(a)).collect();
        let kw: Vec<(String, Val)> = args
            .kwargs
            .iter()
            .map(|(k, v)| (k.clone(), self.eval(v)))
            .collect();
        let mut pos = pos;
        if let Some(d) = &args.dyn_args {
            let v = self.eval(d);
            if let Some(items) = &v.items {
                pos.extend(items.iter().cloned());
            } else {
                pos.push(elem_of(&v));
            }
        }
        let mut kw = kw;
        if let Some(d) = &args.dyn_kwargs {
            let v = self.eval(d);
            if let Some(fields) = &v.fields {
                kw.extend(fields.iter().cloned());
            }
        }
        (pos, kw)
    }

    fn eval_call(&mut self, node: &'a Expr, args: &'a Args, pos: Pos) -> Val {
        let callee = self.eval(node);
        let (pargs, kwargs) = self.eval_args(args);
        let desc = describe(node);
        if let Some(id) = callee.mac {
            return self.call_macro(id, &pargs, &kwargs);
        }
        if let Some(m) = &callee.method {
            let (recv, name) = m.as_ref();
            return self.call_method(recv, name, &pargs, &kwargs, args, pos);
        }
        if let Some(o) = &callee.origin {
            // A bare global being called: what it returns is an ordinary object.
            if !o.introspected && o.chain == o.root {
                return match o.root.as_str() {
                    "dict" => {
                        let mut fields: Vec<(String, Val)> = Vec::new();
                        if let Some(first) = pargs.first() {
                            if let Some(f) = &first.fields {
                                fields.extend(f.iter().cloned());
                            }
                        }
                        fields.extend(kwargs.iter().cloned());
                        dict_val(fields)
                    }
                    "namespace" => {
                        if self.namespaces.len() >= MAX_NAMESPACES {
                            return Val::data();
                        }
                        let mut space = HashMap::new();
                        if let Some(first) = pargs.first() {
                            if let Some(f) = &first.fields {
                                space.extend(f.iter().cloned());
                            }
                        }
                        space.extend(kwargs.iter().cloned());
                        self.namespaces.push(space);
                        Val {
                            ns: Some(self.namespaces.len() - 1),
                            ..Val::default()
                        }
                    }
                    "range" => range_val(&pargs),
                    _ => Val::data(),
                };
            }
            let chain = format!("{}({})", o.chain, describe_args(args));
            let (sev, tag) = if o.introspected {
                (Severity::Critical, Tag::Walk)
            } else {
                (Severity::High, Tag::GlobalWalk)
            };
            let note = if o.introspected {
                "call".to_string()
            } else {
                o.root.clone()
            };
            self.report(sev, &chain, tag, &note, pos);
            return Val::origin(chain, o.introspected, &o.root);
        }
        let _ = desc;
        let all_const = pargs
            .iter()
            .chain(kwargs.iter().map(|(_, v)| v))
            .all(|v| !v.data && v.origin.is_none());
        if callee.built && all_const {
            Val::built()
        } else {
            Val::data()
        }
    }

    /// A method of a constant string, list or dict.
    fn call_method(
        &mut self,
        recv: &Val,
        name: &str,
        args: &[Val],
        kwargs: &[(String, Val)],
        arg_exprs: &'a Args,
        pos: Pos,
    ) -> Val {
        let arg = |i: usize| args.get(i).cloned().unwrap_or_else(Val::data);
        match name {
            "join" => join_strings(recv, &arg(0)),
            "format" | "format_map" => {
                let named: Vec<(String, Val)> = if name == "format_map" {
                    arg(0).fields.clone().unwrap_or_default()
                } else {
                    kwargs.to_vec()
                };
                let positional: &[Val] = if name == "format_map" { &[] } else { args };
                self.check_format_fields(recv, positional, &named, arg_exprs, pos);
                let mut out = Val::default();
                for fmt in &recv.strs {
                    let pos_forms: Vec<Vec<String>> =
                        positional.iter().map(|a| a.str_forms().0).collect();
                    let named_forms: Vec<Vec<String>> =
                        named.iter().map(|(_, v)| v.str_forms().0).collect();
                    let mut all = pos_forms.clone();
                    all.extend(named_forms);
                    let complete = positional
                        .iter()
                        .chain(named.iter().map(|(_, v)| v))
                        .all(|v| {
                            let (s, b, d) = v.str_forms();
                            !s.is_empty() && !b && !d
                        });
                    match combos(&all) {
                        Some(cs) => {
                            for c in cs {
                                let (p, n) = c.split_at(positional.len().min(c.len()));
                                let pa: Vec<FmtArg> =
                                    p.iter().map(|s| FmtArg::Str(s.clone())).collect();
                                let na: Vec<(String, FmtArg)> = named
                                    .iter()
                                    .zip(n.iter())
                                    .map(|((k, _), s)| (k.clone(), FmtArg::Str(s.clone())))
                                    .collect();
                                match brace_format(fmt, &pa, &na) {
                                    Some(s) => push_str(&mut out, s),
                                    None => out.built = true,
                                }
                            }
                        }
                        None => out.built = true,
                    }
                    if !complete {
                        out.built = true;
                    }
                }
                out.built |= recv.built;
                out.data |= recv.data || args.iter().any(|a| a.data);
                out
            }
            "replace" => replace_val(recv, &arg(0), &arg(1)),
            "upper" => map_strs(recv, |s| s.to_uppercase()),
            "lower" | "casefold" => map_strs(recv, |s| s.to_lowercase()),
            "swapcase" => map_strs(recv, swapcase),
            "title" => map_strs(recv, title),
            "capitalize" => map_strs(recv, capitalize),
            "strip" | "lstrip" | "rstrip" => {
                let chars = args.first();
                match chars {
                    None => map_strs(recv, |s| match name {
                        "strip" => s.trim().to_string(),
                        "lstrip" => s.trim_start().to_string(),
                        _ => s.trim_end().to_string(),
                    }),
                    Some(c) if c.only_strs() && c.strs.len() == 1 => {
                        let set: Vec<char> = c
                            .strs
                            .first()
                            .map(|s| s.chars().collect())
                            .unwrap_or_default();
                        map_strs(recv, |s| match name {
                            "strip" => s.trim_matches(set.as_slice()).to_string(),
                            "lstrip" => s.trim_start_matches(set.as_slice()).to_string(),
                            _ => s.trim_end_matches(set.as_slice()).to_string(),
                        })
                    }
                    Some(_) => Val::built(),
                }
            }
            "removeprefix" | "removesuffix" => {
                let a = arg(0);
                if !(a.only_strs()) {
                    return Val::built();
                }
                let mut out = Val::default();
                for s in &recv.strs {
                    for p in &a.strs {
                        let r = if name == "removeprefix" {
                            s.strip_prefix(p.as_str())
                        } else {
                            s.strip_suffix(p.as_str())
                        };
                        push_str(&mut out, r.unwrap_or(s).to_string());
                    }
                }
                out
            }
            "split" | "rsplit" => {
                let sep = arg(0);
                match (recv.strs.as_slice(), sep.strs.as_slice()) {
                    ([s], [sep]) if !sep.is_empty() && recv.only_strs() => {
                        let parts: Vec<Val> = s.split(sep.as_str()).map(Val::string).collect();
                        if parts.len() <= MAX_ITEMS {
                            Val {
                                items: Some(parts),
                                ..Val::default()
                            }
                        } else {
                            Val::built()
                        }
                    }
                    ([s], []) if args.is_empty() && recv.only_strs() => {
                        let parts: Vec<Val> = s.split_whitespace().map(Val::string).collect();
                        if parts.len() <= MAX_ITEMS {
                            Val {
                                items: Some(parts),
                                ..Val::default()
                            }
                        } else {
                            Val::built()
                        }
                    }
                    _ => Val::built(),
                }
            }
            "keys" => match &recv.fields {
                Some(f) => Val {
                    items: Some(f.iter().map(|(k, _)| Val::string(k.clone())).collect()),
                    ..Val::default()
                },
                None => Val::data(),
            },
            "values" => match &recv.fields {
                Some(f) => Val {
                    items: Some(f.iter().map(|(_, v)| v.clone()).collect()),
                    ..Val::default()
                },
                None => Val::data(),
            },
            "get" => {
                let k = arg(0);
                let mut out = self.plain_member_many(recv, &k);
                if let Some(d) = args.get(1) {
                    out = join(out, d.clone());
                }
                out
            }
            "copy" => recv.clone(),
            _ => {
                let all_const = args.iter().all(|a| !a.data && a.origin.is_none());
                if all_const && !recv.data {
                    Val::built()
                } else {
                    Val::data()
                }
            }
        }
    }

    /// `'{0.__class__}'.format(x)`: replacement fields walk attributes of the arguments.
    fn check_format_fields(
        &mut self,
        recv: &Val,
        args: &[Val],
        named: &[(String, Val)],
        arg_exprs: &'a Args,
        pos: Pos,
    ) {
        for fmt in recv.strs.clone() {
            for field in format_fields(&fmt) {
                if field.path.is_empty() {
                    continue;
                }
                let (mut cur, mut desc) = match field.arg.parse::<usize>() {
                    Ok(i) => (
                        args.get(i).cloned().unwrap_or_else(Val::data),
                        arg_exprs
                            .args
                            .get(i)
                            .map(describe)
                            .unwrap_or_else(|| format!("{{{i}}}")),
                    ),
                    Err(_) => (
                        named
                            .iter()
                            .find(|(k, _)| *k == field.arg)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_else(Val::data),
                        field.arg.clone(),
                    ),
                };
                for (is_attr, key) in &field.path {
                    let kind = if *is_attr { Access::Attr } else { Access::Item };
                    let kv = match key.parse::<i64>() {
                        Ok(i) if !*is_attr => Val::int(i),
                        _ => Val::string(key.clone()),
                    };
                    let next = self.access(&cur, &kv, kind, pos, &desc);
                    desc = match &next.origin {
                        Some(o) => o.chain.clone(),
                        None => step_text(&desc, kind, key),
                    };
                    cur = next;
                }
            }
        }
    }

    /// `base.name`, `base[key]`, `base|attr(key)`.
    fn access(&mut self, base: &Val, key: &Val, kind: Access, pos: Pos, base_desc: &str) -> Val {
        let base_chain = match &base.origin {
            Some(o) => o.chain.clone(),
            None => base_desc.to_string(),
        };
        let root = base
            .origin
            .as_ref()
            .map_or_else(String::new, |o| o.root.clone());
        let mut out: Option<Val> = None;
        for name in &key.strs {
            let chain = step_text(&base_chain, kind, name);
            let mut v: Option<Val> = None;
            match classify(name) {
                NameClass::Dunder => {
                    self.report(Severity::Critical, &chain, Tag::Dunder, name, pos);
                    v = Some(Val::origin(chain.clone(), true, &root));
                }
                NameClass::Mangled => {
                    self.report(Severity::Critical, &chain, Tag::Mangled, name, pos);
                    v = Some(Val::origin(chain.clone(), true, &root));
                }
                NameClass::Private => {
                    if kind != Access::Item || base.origin.is_some() || base.literal {
                        self.report(Severity::High, &chain, Tag::Private, name, pos);
                        v = Some(Val::origin(chain.clone(), true, &root));
                    }
                }
                NameClass::Plain => {}
            }
            if v.is_none() {
                if let Some(o) = &base.origin {
                    if o.introspected {
                        let tag = if EXEC_NAMES.contains(&name.as_str()) {
                            Tag::Exec
                        } else {
                            Tag::Walk
                        };
                        self.report(Severity::Critical, &chain, tag, name, pos);
                        v = Some(Val::origin(chain.clone(), true, &root));
                    } else {
                        self.report(Severity::High, &chain, Tag::GlobalWalk, &o.root, pos);
                        v = Some(Val::origin(chain.clone(), false, &o.root));
                    }
                }
            }
            let v = match v {
                Some(v) => v,
                None => self.plain_member(base, name, kind),
            };
            add_to(&mut out, v);
        }
        if kind == Access::Item {
            for &i in &key.ints {
                let v = if let Some(o) = &base.origin {
                    let chain = format!("{base_chain}[{i}]");
                    let (sev, tag) = if o.introspected {
                        (Severity::Critical, Tag::Walk)
                    } else {
                        (Severity::High, Tag::GlobalWalk)
                    };
                    self.report(sev, &chain, tag, &o.root, pos);
                    Val::origin(chain, o.introspected, &o.root)
                } else {
                    index_val(base, i)
                };
                add_to(&mut out, v);
            }
        }
        let unresolved = key.built || key.data || (key.strs.is_empty() && key.ints.is_empty());
        if unresolved {
            let chain = match kind {
                Access::AttrFilter => format!("{base_chain}|attr(?)"),
                _ => format!("{base_chain}[?]"),
            };
            let suspicious_base = base.origin.is_some() || base.literal;
            let introspected = base.origin.as_ref().is_some_and(|o| o.introspected);
            // Default deny: a key computed by something not followed (a filter or method we
            // do not model, a token text the file chooses) can name a dunder, and Jinja's
            // getitem falls back to getattr, so it is reported on any base.
            let _ = suspicious_base;
            if key.built {
                let sev = if introspected {
                    Severity::Critical
                } else {
                    Severity::High
                };
                self.report(sev, &chain, Tag::ComputedName, "", pos);
            } else if kind == Access::AttrFilter {
                let sev = if introspected {
                    Severity::Critical
                } else {
                    Severity::High
                };
                self.report(sev, &chain, Tag::ContextName, "", pos);
            } else if let Some(o) = &base.origin {
                let (sev, tag) = if o.introspected {
                    (Severity::Critical, Tag::Walk)
                } else {
                    (Severity::High, Tag::GlobalWalk)
                };
                self.report(sev, &chain, tag, &o.root, pos);
            }
            let v = match &base.origin {
                Some(o) => Val::origin(chain, o.introspected, &o.root),
                None if kind == Access::Item && base.fields.is_some() => {
                    // Any field of a dict literal.
                    let mut v = Val::data();
                    for (_, f) in base.fields.iter().flatten() {
                        v = join(v, f.clone());
                    }
                    v
                }
                None if kind == Access::Item && base.items.is_some() => elem_of(base),
                None => Val::data(),
            };
            add_to(&mut out, v);
        }
        out.unwrap_or_else(Val::data)
    }

    fn plain_member_many(&mut self, base: &Val, key: &Val) -> Val {
        let mut out = if key.strs.is_empty() {
            Val::data()
        } else {
            Val::default()
        };
        for k in &key.strs {
            out = join(out, self.plain_member(base, k, Access::Item));
        }
        if key.data || key.built {
            out.data = true;
        }
        out
    }

    /// An ordinary member: a namespace or dict field, a method of a constant.
    fn plain_member(&mut self, base: &Val, name: &str, kind: Access) -> Val {
        if let Some(id) = base.ns {
            if let Some(v) = self.namespaces.get(id).and_then(|s| s.get(name)) {
                return v.clone();
            }
            return Val::data();
        }
        if let Some(fields) = &base.fields {
            if let Some((_, v)) = fields.iter().find(|(k, _)| k == name) {
                return v.clone();
            }
            if kind != Access::Item && matches!(name, "keys" | "values" | "items" | "get" | "copy")
            {
                return Val {
                    method: Some(Box::new((base.clone(), name.to_string()))),
                    ..Val::default()
                };
            }
        }
        if kind != Access::Item
            && !base.strs.is_empty()
            && STR_METHODS.contains(&name)
            && !base.data
        {
            return Val {
                method: Some(Box::new((base.clone(), name.to_string()))),
                ..Val::default()
            };
        }
        if kind != Access::Item && base.items.is_some() && name == "copy" {
            return Val {
                method: Some(Box::new((base.clone(), name.to_string()))),
                ..Val::default()
            };
        }
        if base.built && !base.data {
            return Val::built();
        }
        Val::data()
    }

    // ---- filters ------------------------------------------------------------------------

    /// `{% filter f|g %}` / `{% set x | f %}`: the chain is applied to `input`.
    fn eval_filter_chain(&mut self, f: &'a Expr, input: Val) -> Val {
        match f {
            Expr::Filter {
                node,
                name,
                args,
                pos,
            } => {
                let base = match node {
                    Some(n) => self.eval_filter_chain(n, input),
                    None => input,
                };
                self.apply_filter(name, base, args, *pos, "(block)")
            }
            other => self.eval(other),
        }
    }

    /// Checks an attribute path given to a filter (`map(attribute='a.b')`, `selectattr('x')`);
    /// Jinja's `make_attrgetter` splits it on dots and looks each part up.
    fn attribute_path(&mut self, base: &Val, path: &Val, pos: Pos, desc: &str) -> Val {
        let item = elem_of(base);
        let item_desc = format!("{desc}[*]");
        let mut out = Val::default();
        for p in &path.strs {
            let mut cur = item.clone();
            let mut cur_desc = item_desc.clone();
            for part in p.split('.') {
                let kv = match part.parse::<i64>() {
                    Ok(i) => Val::int(i),
                    Err(_) => Val::string(part),
                };
                let next = self.access(&cur, &kv, Access::Attr, pos, &cur_desc);
                cur_desc = match &next.origin {
                    Some(o) => o.chain.clone(),
                    None => step_text(&cur_desc, Access::Attr, part),
                };
                cur = next;
            }
            out = join(out, cur);
        }
        if path.built || path.data {
            let k = Val {
                built: path.built,
                data: path.data,
                ..Val::default()
            };
            let v = self.access(&item, &k, Access::AttrFilter, pos, &item_desc);
            out = join(out, v);
        }
        out
    }

    fn apply_filter(&mut self, name: &str, base: Val, args: &'a Args, pos: Pos, desc: &str) -> Val {
        let (pargs, kwargs) = self.eval_args(args);
        let arg = |i: usize| pargs.get(i).cloned();
        let kw = |k: &str| kwargs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let keep_origin = |v: Val, base: &Val, name: &str| -> Val {
            match &base.origin {
                Some(o) => {
                    let mut v = v;
                    v.origin = Some(Origin {
                        chain: cap_chain(format!("{}|{name}", o.chain)),
                        introspected: o.introspected,
                        root: o.root.clone(),
                    });
                    v
                }
                None => v,
            }
        };
        match name {
            "attr" => {
                let key = arg(0).unwrap_or_else(Val::data);
                self.access(&base, &key, Access::AttrFilter, pos, desc)
            }
            "join" => {
                let sep = arg(0)
                    .or_else(|| kw("d"))
                    .unwrap_or_else(|| Val::string(""));
                if let Some(path) = kw("attribute").or_else(|| arg(1)) {
                    self.attribute_path(&base, &path, pos, desc);
                    return Val::data();
                }
                join_strings(&sep, &base)
            }
            "format" => {
                let mut out = Val::default();
                let arg_forms: Vec<Vec<FmtArg>> = pargs.iter().map(fmt_args).collect();
                let named: Vec<(String, Vec<FmtArg>)> = kwargs
                    .iter()
                    .map(|(k, v)| (k.clone(), fmt_args(v)))
                    .collect();
                let complete = pargs
                    .iter()
                    .chain(kwargs.iter().map(|(_, v)| v))
                    .all(|v| !v.data && !v.built && v.origin.is_none());
                for fmt in &base.strs {
                    let mut cands: Vec<FmtCandidate> = vec![(Vec::new(), Vec::new())];
                    for forms in &arg_forms {
                        let mut next = Vec::new();
                        for (p, n) in &cands {
                            for f in forms {
                                let mut p2 = p.clone();
                                p2.push(f.clone());
                                next.push((p2, n.clone()));
                            }
                        }
                        cands = next;
                        if cands.len() > MAX_STRS {
                            break;
                        }
                    }
                    for (k, forms) in &named {
                        let mut next = Vec::new();
                        for (p, n) in &cands {
                            for f in forms {
                                let mut n2 = n.clone();
                                n2.push((k.clone(), f.clone()));
                                next.push((p.clone(), n2));
                            }
                        }
                        cands = next;
                        if cands.len() > MAX_STRS {
                            break;
                        }
                    }
                    if cands.len() > MAX_STRS {
                        out.built = true;
                        continue;
                    }
                    for (p, n) in cands {
                        match percent_format(fmt, &p, &n) {
                            Some(s) => push_str(&mut out, s),
                            None => out.built = true,
                        }
                    }
                }
                if !complete || base.strs.is_empty() {
                    out.built = true;
                }
                out.built |= base.built;
                out.data |= base.data || pargs.iter().any(|a| a.data);
                out
            }
            "replace" => {
                let mut v = replace_val(
                    &base.stringified(),
                    &arg(0).unwrap_or_else(Val::data),
                    &arg(1).unwrap_or_else(Val::data),
                );
                v.data |= base.data;
                v
            }
            "reverse" => {
                let mut out = map_strs(&base, |s| s.chars().rev().collect());
                if let Some(items) = &base.items {
                    out.items = Some(items.iter().rev().cloned().collect());
                }
                keep_origin(out, &base, name)
            }
            "lower" => map_strs(&base.stringified(), |s| s.to_lowercase()),
            "upper" => map_strs(&base.stringified(), |s| s.to_uppercase()),
            "capitalize" => map_strs(&base.stringified(), capitalize),
            "title" => map_strs(&base.stringified(), title),
            "trim" => match arg(0).or_else(|| kw("chars")) {
                Some(c) if c.only_strs() && c.strs.len() == 1 => {
                    let set: Vec<char> = c
                        .strs
                        .first()
                        .map(|s| s.chars().collect())
                        .unwrap_or_default();
                    map_strs(&base.stringified(), |s| {
                        s.trim_matches(set.as_slice()).to_string()
                    })
                }
                Some(_) => Val::built(),
                None => map_strs(&base.stringified(), |s| s.trim().to_string()),
            },
            "string" | "safe" | "e" | "escape" | "forceescape" => {
                let v = base.stringified();
                if matches!(name, "e" | "escape" | "forceescape") {
                    map_strs(&v, html_escape)
                } else {
                    v
                }
            }
            "first" | "last" => {
                let mut out = Val::default();
                if let Some(items) = &base.items {
                    let pick = if name == "first" {
                        items.first()
                    } else {
                        items.last()
                    };
                    if let Some(p) = pick {
                        out = join(out, p.clone());
                    }
                }
                for s in &base.strs {
                    let c = if name == "first" {
                        s.chars().next()
                    } else {
                        s.chars().last()
                    };
                    if let Some(c) = c {
                        push_str(&mut out, c.to_string());
                    }
                }
                out.built |= base.built;
                out.data |= base.data || out.is_unknown();
                keep_origin(out, &base, name)
            }
            "list" => {
                let mut out = Val::default();
                if let Some(items) = &base.items {
                    out.items = Some(items.clone());
                } else if base.only_strs() && base.strs.len() == 1 {
                    let chars: Vec<Val> = base
                        .strs
                        .first()
                        .map(|s| s.chars().map(|c| Val::string(c.to_string())).collect())
                        .unwrap_or_default();
                    if chars.len() <= MAX_ITEMS {
                        out.items = Some(chars);
                    } else {
                        out.built = true;
                    }
                } else {
                    out.built = base.built || !base.strs.is_empty();
                    out.data = base.data;
                }
                keep_origin(out, &base, name)
            }
            "default" | "d" => join(base, arg(0).unwrap_or_else(|| Val::string(""))),
            "map" => {
                if let Some(path) = kw("attribute") {
                    let vals = self.attribute_path(&base, &path, pos, desc);
                    return keep_origin(
                        Val {
                            built: vals.built,
                            data: vals.data || vals.is_unknown(),
                            origin: vals.origin.clone(),
                            ..Val::default()
                        },
                        &base,
                        name,
                    );
                }
                let fname = arg(0).unwrap_or_else(Val::data);
                if !fname.only_strs() {
                    return Val::data();
                }
                // `map('attr', name)`, `map('lower')`, ...: apply the filter to each element.
                let rest: Vec<Val> = pargs.iter().skip(1).cloned().collect();
                let elems: Vec<Val> = match &base.items {
                    Some(items) => items.clone(),
                    None => vec![elem_of(&base)],
                };
                let mut mapped = Vec::new();
                for f in fname.strs.clone() {
                    for el in &elems {
                        let v = self.apply_filter_values(&f, el.clone(), &rest, &kwargs, pos, desc);
                        mapped.push(v);
                    }
                }
                let mut out = Val::default();
                if base.items.is_some() && mapped.len() <= MAX_ITEMS && fname.strs.len() == 1 {
                    out.items = Some(mapped);
                } else {
                    for m in mapped {
                        out = join(out, m);
                    }
                    out.items = None;
                    out.built = true;
                }
                out
            }
            "selectattr" | "rejectattr" => {
                if let Some(path) = arg(0) {
                    self.attribute_path(&base, &path, pos, desc);
                }
                keep_origin(base.clone(), &base, name)
            }
            "select" | "reject" | "unique" | "sort" | "batch" | "slice" | "dictsort" => {
                if let Some(path) = kw("attribute") {
                    self.attribute_path(&base, &path, pos, desc);
                }
                let mut v = Val {
                    items: base.items.clone(),
                    data: base.data || base.items.is_none(),
                    built: base.built,
                    ..Val::default()
                };
                if base.items.is_none() && !base.strs.is_empty() {
                    v.built = true;
                }
                keep_origin(v, &base, name)
            }
            "groupby" => {
                if let Some(path) = arg(0).or_else(|| kw("attribute")) {
                    self.attribute_path(&base, &path, pos, desc);
                }
                keep_origin(Val::data(), &base, name)
            }
            "sum" | "min" | "max" => {
                if let Some(path) = kw("attribute") {
                    self.attribute_path(&base, &path, pos, desc);
                }
                let mut v = Val::data();
                if name != "sum" {
                    v = join(v, elem_of(&base));
                }
                v
            }
            "int" => {
                let mut out = Val::default();
                for s in &base.strs {
                    if let Ok(i) = s.trim().parse::<i64>() {
                        push_int(&mut out, i);
                    }
                }
                for i in &base.ints {
                    push_int(&mut out, *i);
                }
                out.data = base.data || out.ints.is_empty();
                out.built = base.built;
                out
            }
            "length" | "count" => {
                let mut out = Val::default();
                for s in &base.strs {
                    push_int(&mut out, s.chars().count() as i64);
                }
                if let Some(items) = &base.items {
                    push_int(&mut out, items.len() as i64);
                }
                out.data = base.data || out.ints.is_empty();
                out
            }
            "items" => match &base.fields {
                Some(f) => Val {
                    items: Some(
                        f.iter()
                            .map(|(k, v)| Val {
                                items: Some(vec![Val::string(k.clone()), v.clone()]),
                                ..Val::default()
                            })
                            .collect(),
                    ),
                    ..Val::default()
                },
                None => keep_origin(Val::data(), &base, name),
            },
            _ => {
                // Filters that do not spell names (tojson, indent, wordcount ...), and unknown
                // filters (which Jinja rejects when compiling).
                let constant = !base.data
                    && base.origin.is_none()
                    && pargs.iter().all(|a| !a.data && a.origin.is_none());
                if constant { Val::built() } else { Val::data() }
            }
        }
    }

    /// A filter applied to an already computed value (for `map('filter', ...)`).
    fn apply_filter_values(
        &mut self,
        name: &str,
        base: Val,
        args: &[Val],
        kwargs: &[(String, Val)],
        pos: Pos,
        desc: &str,
    ) -> Val {
        let item_desc = format!("{desc}[*]");
        match name {
            "attr" => {
                let key = args.first().cloned().unwrap_or_else(Val::data);
                self.access(&base, &key, Access::AttrFilter, pos, &item_desc)
            }
            "lower" => map_strs(&base.stringified(), |s| s.to_lowercase()),
            "upper" => map_strs(&base.stringified(), |s| s.to_uppercase()),
            "capitalize" => map_strs(&base.stringified(), capitalize),
            "title" => map_strs(&base.stringified(), title),
            "trim" => map_strs(&base.stringified(), |s| s.trim().to_string()),
            "string" | "safe" => base.stringified(),
            "reverse" => map_strs(&base, |s| s.chars().rev().collect()),
            "replace" => replace_val(
                &base.stringified(),
                &args.first().cloned().unwrap_or_else(Val::data),
                &args.get(1).cloned().unwrap_or_else(Val::data),
            ),
            "join" => join_strings(
                &args.first().cloned().unwrap_or_else(|| Val::string("")),
                &base,
            ),
            "format" => {
                let forms: Vec<Vec<FmtArg>> = args.iter().map(fmt_args).collect();
                let mut out = Val::default();
                let firsts: Option<Vec<FmtArg>> =
                    forms.iter().map(|f| f.first().cloned()).collect();
                let named: Vec<(String, FmtArg)> = kwargs
                    .iter()
                    .filter_map(|(k, v)| fmt_args(v).first().map(|f| (k.clone(), f.clone())))
                    .collect();
                for fmt in &base.strs {
                    match firsts.as_ref().and_then(|p| percent_format(fmt, p, &named)) {
                        Some(s) => push_str(&mut out, s),
                        None => out.built = true,
                    }
                }
                out
            }
            _ => {
                if base.data {
                    Val::data()
                } else {
                    Val::built()
                }
            }
        }
    }
}

// ---- value operations ---------------------------------------------------------------------

/// Whether `break`/`continue` appear in a loop body (nested loops included, which only
/// over-approximates).
fn has_loop_control(nodes: &[Node]) -> bool {
    nodes.iter().any(|n| match n {
        Node::Break | Node::Continue => true,
        Node::For {
            body, otherwise, ..
        } => has_loop_control(body) || has_loop_control(otherwise),
        Node::If {
            branches,
            otherwise,
        } => branches.iter().any(|(_, b)| has_loop_control(b)) || has_loop_control(otherwise),
        Node::SetBlock { body, .. }
        | Node::With { body, .. }
        | Node::FilterBlock { body, .. }
        | Node::Scope(body) => has_loop_control(body),
        _ => false,
    })
}

fn add_to(out: &mut Option<Val>, v: Val) {
    *out = Some(match out.take() {
        Some(p) => join(p, v),
        None => v,
    });
}

fn with_trimmed(v: Val) -> Val {
    // trim_blocks / lstrip_blocks (on in transformers) remove whitespace around tags; the
    // rendered text of a block may be the trimmed form.
    let mut out = v.clone();
    for s in &v.strs {
        push_str(&mut out, s.trim().to_string());
    }
    out
}

fn dict_val(fields: Vec<(String, Val)>) -> Val {
    let keys: Vec<Val> = fields.iter().map(|(k, _)| Val::string(k.clone())).collect();
    if keys.len() > MAX_ITEMS {
        return Val::built();
    }
    Val {
        items: Some(keys),
        fields: Some(fields),
        ..Val::default()
    }
}

fn range_val(args: &[Val]) -> Val {
    let one = |v: Option<&Val>| -> Option<i64> {
        let v = v?;
        match (v.ints.as_slice(), v.data || v.built) {
            ([i], false) => Some(*i),
            _ => None,
        }
    };
    let (start, stop, step) = match args.len() {
        1 => (Some(0), one(args.first()), Some(1)),
        2 => (one(args.first()), one(args.get(1)), Some(1)),
        3 => (one(args.first()), one(args.get(1)), one(args.get(2))),
        _ => (None, None, None),
    };
    if let (Some(a), Some(b), Some(s)) = (start, stop, step) {
        if s != 0 {
            let mut items = Vec::new();
            let mut i = a;
            while (s > 0 && i < b) || (s < 0 && i > b) {
                items.push(Val::int(i));
                if items.len() > MAX_UNROLL {
                    return Val::data();
                }
                match i.checked_add(s) {
                    Some(n) => i = n,
                    None => break,
                }
            }
            return Val {
                items: Some(items),
                ..Val::default()
            };
        }
    }
    Val::data()
}

/// What iterating over `v` yields.
fn elem_of(v: &Val) -> Val {
    let mut out = Val::default();
    let mut any = false;
    if let Some(items) = &v.items {
        for i in items {
            out = join(out, i.clone());
        }
        any = true;
    }
    if v.items.is_none() {
        for s in &v.strs {
            for c in s.chars().take(MAX_STRS) {
                push_str(&mut out, c.to_string());
            }
            any = true;
        }
        if let Some(f) = &v.fields {
            for (k, _) in f {
                push_str(&mut out, k.clone());
            }
            any = true;
        }
    }
    if let Some(o) = &v.origin {
        out.origin = Some(Origin {
            chain: cap_chain(format!("{}[*]", o.chain)),
            introspected: o.introspected,
            root: o.root.clone(),
        });
        any = true;
    }
    out.built |= v.built;
    out.data |= v.data || !any;
    out
}

fn index_val(base: &Val, i: i64) -> Val {
    let mut out = Val::default();
    let mut any = false;
    if let Some(items) = &base.items {
        let idx = if i < 0 { items.len() as i64 + i } else { i };
        if let Some(v) = usize::try_from(idx).ok().and_then(|x| items.get(x)) {
            out = join(out, v.clone());
            any = true;
        }
    }
    for s in &base.strs {
        let chars: Vec<char> = s.chars().collect();
        let idx = if i < 0 { chars.len() as i64 + i } else { i };
        if let Some(c) = usize::try_from(idx).ok().and_then(|x| chars.get(x)) {
            push_str(&mut out, c.to_string());
            any = true;
        }
    }
    if let Some(fields) = &base.fields {
        let key = i.to_string();
        if let Some((_, v)) = fields.iter().find(|(k, _)| *k == key) {
            out = join(out, v.clone());
            any = true;
        }
    }
    out.built |= base.built;
    out.data |= base.data || !any;
    out
}

fn one_int(v: Option<&Val>) -> Result<Option<i64>, ()> {
    match v {
        None => Ok(None),
        Some(v) if v.lit.iter().any(|l| l == "None") && v.ints.is_empty() => Ok(None),
        Some(v) => match (v.ints.as_slice(), v.data || v.built) {
            ([i], false) => Ok(Some(*i)),
            _ => Err(()),
        },
    }
}

fn slice_val(base: &Val, start: Option<&Val>, stop: Option<&Val>, step: Option<&Val>) -> Val {
    let mut out = Val::default();
    match (one_int(start), one_int(stop), one_int(step)) {
        (Ok(a), Ok(b), Ok(c)) => {
            for s in &base.strs {
                let chars: Vec<char> = s.chars().collect();
                match py_slice(&chars, a, b, c) {
                    Some(r) => push_str(&mut out, r.into_iter().collect()),
                    None => out.built = true,
                }
            }
            if let Some(items) = &base.items {
                out.items = py_slice(items, a, b, c);
            }
        }
        _ => {
            if !base.strs.is_empty() || base.items.is_some() {
                out.built = true;
            }
        }
    }
    out.built |= base.built;
    out.data |= base.data;
    if out.is_unknown() && !out.built {
        out.data = true;
    }
    if let Some(o) = &base.origin {
        out.origin = Some(Origin {
            chain: cap_chain(format!("{}[:]", o.chain)),
            introspected: o.introspected,
            root: o.root.clone(),
        });
    }
    out
}

fn map_strs(v: &Val, f: impl Fn(&str) -> String) -> Val {
    let mut out = Val {
        built: v.built,
        data: v.data,
        ..Val::default()
    };
    for s in &v.strs {
        push_str(&mut out, f(s));
    }
    if v.strs.is_empty() && !v.built {
        out.data = true;
    }
    out
}

fn replace_val(base: &Val, old: &Val, new: &Val) -> Val {
    let mut out = Val {
        built: base.built || old.built || new.built,
        data: base.data || old.data || new.data,
        ..Val::default()
    };
    let (olds, _, _) = old.str_forms();
    let (news, _, _) = new.str_forms();
    'outer: for s in &base.strs {
        for o in &olds {
            for n in &news {
                if full(&out) {
                    out.built = true;
                    break 'outer;
                }
                if s.len().saturating_mul(n.len().max(1)) > MAX_STR_LEN * 4 {
                    out.built = true;
                    continue;
                }
                let r = if o.is_empty() {
                    // Python inserts `new` between every character.
                    let mut r = n.clone();
                    for c in s.chars() {
                        r.push(c);
                        r.push_str(n);
                    }
                    r
                } else {
                    s.replace(o.as_str(), n)
                };
                push_str(&mut out, r);
            }
        }
    }
    if out.strs.is_empty() && !out.data {
        out.built = true;
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// `sep.join(iterable)` / `iterable|join(sep)`.
fn join_strings(sep: &Val, iterable: &Val) -> Val {
    let (seps, sb, sd) = sep.str_forms();
    let parts: Option<Vec<Val>> = if let Some(items) = &iterable.items {
        Some(items.clone())
    } else if iterable.only_strs() && iterable.strs.len() == 1 {
        iterable
            .strs
            .first()
            .map(|s| s.chars().map(|c| Val::string(c.to_string())).collect())
    } else {
        iterable
            .fields
            .as_ref()
            .map(|f| f.iter().map(|(k, _)| Val::string(k.clone())).collect())
    };
    let mut out = Val {
        built: sb || iterable.built,
        data: sd || iterable.data || iterable.origin.is_some(),
        ..Val::default()
    };
    let Some(parts) = parts else {
        if !iterable.strs.is_empty() {
            out.built = true;
        }
        if !out.built {
            out.data = true;
        }
        return out;
    };
    let mut forms = Vec::new();
    for p in &parts {
        let (s, b, d) = p.str_forms();
        out.built |= b;
        out.data |= d;
        forms.push(s);
    }
    match combos(&forms) {
        Some(cs) => {
            'outer: for sep in &seps {
                for c in &cs {
                    if full(&out) {
                        out.built = true;
                        break 'outer;
                    }
                    let len: usize = c.iter().map(String::len).sum::<usize>()
                        + sep.len() * c.len().saturating_sub(1);
                    if len > MAX_STR_LEN {
                        out.built = true;
                        continue;
                    }
                    push_str(&mut out, c.join(sep.as_str()));
                }
            }
        }
        None => out.built = true,
    }
    out
}

fn fmt_args(v: &Val) -> Vec<FmtArg> {
    let mut out: Vec<FmtArg> = v.strs.iter().map(|s| FmtArg::Str(s.clone())).collect();
    out.extend(v.ints.iter().map(|i| FmtArg::Int(*i)));
    out.extend(v.lit.iter().map(|s| FmtArg::Str(s.clone())));
    out
}

fn binary(op: &str, l: &Val, r: &Val) -> Val {
    match op {
        "~" => concat(l, r),
        "and" | "or" => join(l.clone(), r.clone()),
        "+" => {
            if let (Some(a), Some(b)) = (&l.items, &r.items) {
                let mut items = a.clone();
                items.extend(b.iter().cloned());
                if items.len() <= MAX_ITEMS {
                    return Val {
                        items: Some(items),
                        literal: l.literal || r.literal,
                        ..Val::default()
                    };
                }
                return Val::built();
            }
            let mut out = Val {
                built: l.built || r.built,
                data: l.data || r.data || l.origin.is_some() || r.origin.is_some(),
                ..Val::default()
            };
            'outer: for a in &l.strs {
                for b in &r.strs {
                    if full(&out) {
                        out.built = true;
                        break 'outer;
                    }
                    if a.len() + b.len() <= MAX_STR_LEN {
                        push_str(&mut out, format!("{a}{b}"));
                    } else {
                        out.built = true;
                    }
                }
            }
            for a in &l.ints {
                for b in &r.ints {
                    if let Some(s) = a.checked_add(*b) {
                        push_int(&mut out, s);
                    }
                }
            }
            if out.strs.is_empty() && out.ints.is_empty() && !out.built {
                out.data = true;
            }
            out
        }
        "*" => {
            let mut out = Val {
                built: l.built || r.built,
                data: l.data || r.data,
                ..Val::default()
            };
            let pairs = [(l, r), (r, l)];
            'outer: for (s, n) in pairs {
                for text in &s.strs {
                    for &k in &n.ints {
                        if full(&out) {
                            out.built = true;
                            break 'outer;
                        }
                        let k = usize::try_from(k).unwrap_or(0);
                        if text.len().saturating_mul(k) <= MAX_STR_LEN {
                            push_str(&mut out, text.repeat(k));
                        } else {
                            out.built = true;
                        }
                    }
                }
            }
            for a in &l.ints {
                for b in &r.ints {
                    if let Some(p) = a.checked_mul(*b) {
                        push_int(&mut out, p);
                    }
                }
            }
            if let (Some(items), [k]) = (&l.items, r.ints.as_slice()) {
                let k = usize::try_from(*k).unwrap_or(0);
                if items.len().saturating_mul(k) <= MAX_ITEMS {
                    let mut all = Vec::new();
                    for _ in 0..k {
                        all.extend(items.iter().cloned());
                    }
                    out.items = Some(all);
                }
            }
            if out.is_unknown() && !out.built {
                out.data = true;
            }
            out
        }
        "%" => {
            let mut out = Val {
                built: l.built || r.built,
                data: l.data || r.data,
                ..Val::default()
            };
            if !l.strs.is_empty() {
                // The right side is a tuple of arguments, a dict, or a single value.
                let (pos_forms, named): (Vec<Vec<FmtArg>>, NamedForms) = if let Some(f) = &r.fields
                {
                    (
                        Vec::new(),
                        f.iter().map(|(k, v)| (k.clone(), fmt_args(v))).collect(),
                    )
                } else if let Some(items) = &r.items {
                    (items.iter().map(fmt_args).collect(), Vec::new())
                } else {
                    (vec![fmt_args(r)], Vec::new())
                };
                let pos_strs: Vec<Vec<String>> = pos_forms
                    .iter()
                    .map(|f| (0..f.len()).map(|i| i.to_string()).collect())
                    .collect();
                match combos(&pos_strs) {
                    Some(idx_combos) => {
                        for fmt in &l.strs {
                            for ic in &idx_combos {
                                let args: Vec<FmtArg> = ic
                                    .iter()
                                    .zip(pos_forms.iter())
                                    .filter_map(|(i, f)| {
                                        i.parse::<usize>().ok().and_then(|i| f.get(i)).cloned()
                                    })
                                    .collect();
                                let nm: Vec<(String, FmtArg)> = named
                                    .iter()
                                    .filter_map(|(k, f)| f.first().map(|x| (k.clone(), x.clone())))
                                    .collect();
                                match percent_format(fmt, &args, &nm) {
                                    Some(s) => push_str(&mut out, s),
                                    None => out.built = true,
                                }
                            }
                        }
                    }
                    None => out.built = true,
                }
            }
            for a in &l.ints {
                for b in &r.ints {
                    if *b != 0 {
                        push_int(&mut out, a.rem_euclid(*b));
                    }
                }
            }
            if out.is_unknown() && !out.built {
                out.data = true;
            }
            out
        }
        "-" | "//" | "**" | "/" => {
            let mut out = Val {
                built: l.built || r.built,
                data: l.data || r.data,
                ..Val::default()
            };
            for a in &l.ints {
                for b in &r.ints {
                    let v = match op {
                        "-" => a.checked_sub(*b),
                        "//" => (*b != 0).then(|| a.div_euclid(*b)),
                        "**" => u32::try_from(*b).ok().and_then(|e| a.checked_pow(e)),
                        _ => None,
                    };
                    if let Some(v) = v {
                        push_int(&mut out, v);
                    }
                }
            }
            if out.ints.is_empty() && !out.built {
                out.data = true;
            }
            out
        }
        _ => Val::data(),
    }
}

// ---- descriptions -------------------------------------------------------------------------

fn step_text(base: &str, kind: Access, key: &str) -> String {
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

fn quote(s: &str) -> String {
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
fn describe(e: &Expr) -> String {
    let s = describe_inner(e, 0);
    cap_chain(s)
}

fn describe_inner(e: &Expr, depth: u32) -> String {
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

fn describe_args(args: &Args) -> String {
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
fn merge(mut findings: Vec<Finding>) -> Vec<Finding> {
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
fn token_scan(toks: &[super::lexer::Token]) -> Vec<Finding> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> TemplateAnalysis {
        analyse(src, &Options::default())
    }

    fn worst(src: &str) -> Option<Severity> {
        let a = run(src);
        assert!(a.syntax_error.is_none(), "{:?}", a.syntax_error);
        a.findings.iter().map(|f| f.severity).max()
    }

    #[test]
    fn plain_chatml_template_is_clean() {
        let t = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
        assert_eq!(worst(t), None);
    }

    #[test]
    fn keys_computed_by_anything_not_followed_are_denied_on_any_base() {
        // Filters and methods the analysis does not evaluate can build `__class__`; Jinja's
        // getitem falls back to getattr, so the lookup is reported even on render data.
        for t in [
            "{{ messages[('<b>__class__</b>'|striptags)] }}",
            "{{ (messages|first)['class'|center(9)|replace(' ','_')] }}",
            "{% set k = 'class__'.zfill(9).replace('0','_') %}{{ messages[k] }}",
            "{% set k = '{:_^9}'.format('class') %}{{ messages[k] }}",
            // Token texts the file chooses, unseen here.
            "{{ messages[bos_token] }}",
        ] {
            assert!(worst(t).is_some_and(|s| s >= Severity::High), "{t}");
        }
        // Constant keys, keys from the messages themselves, and token texts printed are fine.
        for t in [
            "{% for m in messages %}{{ m['role'] }}{{ m['content'] }}{% endfor %}{{ bos_token }}",
            "{% for m in messages %}{% for k in m %}{{ m[k] }}{% endfor %}{% endfor %}",
        ] {
            assert_eq!(worst(t), None, "{t}");
        }
    }

    #[test]
    fn namespace_attributes_are_not_introspection() {
        let t = "{% set ns = namespace(found=false, idx=0) %}{% for m in messages %}{% set ns.found = true %}{% set ns.idx = ns.idx + 1 %}{% endfor %}{{ ns.found }}";
        assert_eq!(worst(t), None);
    }

    #[test]
    fn subclasses_walk_is_critical() {
        let a = run("{{ ''.__class__.__mro__[1].__subclasses__() }}");
        assert_eq!(a.findings.len(), 1);
        let f = &a.findings[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.chain, "''.__class__.__mro__[1].__subclasses__()");
        assert_eq!(f.rule(), "template.injection");
    }

    #[test]
    fn cycler_globals_os_popen_reaches_code_execution() {
        let a = run("{{ cycler.__init__.__globals__.os.popen('id').read() }}");
        assert_eq!(a.findings.len(), 1);
        let f = &a.findings[0];
        assert_eq!(f.chain, "cycler.__init__.__globals__.os.popen('id').read()");
        assert!(f.summary().contains("`os`"), "{}", f.summary());
    }

    #[test]
    fn names_built_by_concatenation_are_resolved() {
        let a = run("{{ ''|attr('__cla' ~ 'ss__') }}");
        assert_eq!(a.findings[0].chain, "''|attr('__class__')");
        assert_eq!(
            worst("{% set a = '__cla' %}{% set b = a + 'ss__' %}{{ x[b] }}"),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn names_built_by_join_format_and_escapes_are_resolved() {
        for t in [
            "{{ ''|attr(['__','class','__']|join) }}",
            "{{ ''|attr(dict(__cla=1,ss__=1)|join) }}",
            "{{ ''|attr('%s%sclass%s%s'|format('_','_','_','_')) }}",
            "{{ ''|attr('%c%cclass%c%c' % (95,95,95,95)) }}",
            "{{ ''|attr(\"\\x5f\\x5fclass\\x5f\\x5f\") }}",
            "{{ ''|attr('__CLASS__'|lower) }}",
            "{{ ''|attr('__ssalc__'|reverse) }}",
            "{{ ''|attr('__ssalc__'[::-1]) }}",
            "{{ ''|attr('__cXlass__'|replace('X','')) }}",
            "{{ ''|attr('{}{}'.format('__class', '__')) }}",
            "{{ ''|attr('_'*2 ~ 'class' ~ '_'*2) }}",
            "{% set ns = namespace(a='') %}{% for c in ['__','class','__'] %}{% set ns.a = ns.a ~ c %}{% endfor %}{{ ''|attr(ns.a) }}",
            "{% set n %}__class__{% endset %}{{ ''|attr(n) }}",
            "{% macro n() %}__class__{% endmacro %}{{ ''|attr(n()) }}",
            "{{ ''|attr('\\N{LOW LINE}\\N{LOW LINE}class__') }}",
            "{{ [''] | map('attr', '__class__') | list }}",
            "{{ '{0.__class__}'.format('') }}",
        ] {
            assert_eq!(worst(t), Some(Severity::Critical), "{t}");
        }
    }

    #[test]
    fn attr_with_a_context_name_is_high() {
        assert_eq!(worst("{{ message|attr(key) }}"), Some(Severity::High));
    }

    #[test]
    fn globals_reached_by_subscript_are_followed() {
        let a = run(
            "{% set g = (lipsum|attr('\\x5f\\x5fglobals\\x5f\\x5f')) %}{{ (g['o'~'s']|attr('po'~'pen'))('id') }}",
        );
        let f = &a.findings[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(
            f.chain,
            "lipsum|attr('__globals__')['os']|attr('popen')('id')"
        );
        assert!(f.summary().contains("`os`") || f.summary().contains("`popen`"));
    }

    #[test]
    fn template_reference_context_is_critical() {
        assert_eq!(
            worst("{{ self._TemplateReference__context }}"),
            Some(Severity::Critical)
        );
    }

    #[test]
    fn walking_a_bare_global_is_high() {
        assert_eq!(worst("{{ request.application }}"), Some(Severity::High));
        assert_eq!(worst("{{ cycler(1,2).next() }}"), None);
        assert_eq!(worst("{{ range(3)|list }}"), None);
    }

    #[test]
    fn unparsable_template_falls_back_to_a_token_scan() {
        let a = run("{% frob %}{{ x.__class__ }}");
        assert!(a.syntax_error.is_some());
        assert_eq!(a.findings[0].severity, Severity::Critical);
    }

    #[test]
    fn deep_but_allowed_nesting_is_analysed_without_exhausting_the_stack() {
        let n = 190;
        for t in [
            format!("{}x{}", "{% if a %}".repeat(n), "{% endif %}".repeat(n)),
            format!(
                "{{{{ {}''.__class__{} }}}}",
                "(".repeat(n / 2 - 2),
                ")".repeat(n / 2 - 2)
            ),
            format!("{{{{ {} ~ x.__class__ }}}}", vec!["'a'"; n - 2].join(" ~ ")),
            format!("{{{{ x{}.__class__ }}}}", ".a".repeat(n - 2)),
        ] {
            let a = run(&t);
            assert!(a.syntax_error.is_none(), "{:?}", a.syntax_error);
            assert!(!a.budget_exhausted);
        }
    }

    #[test]
    fn nesting_past_the_limit_is_a_syntax_error_with_a_token_scan() {
        let n = 300;
        let t = format!(
            "{}{{{{ x.__globals__ }}}}{}",
            "{% if a %}".repeat(n),
            "{% endif %}".repeat(n)
        );
        let a = run(&t);
        assert!(a.syntax_error.as_ref().unwrap().message.contains("nesting"));
        assert_eq!(a.findings[0].severity, Severity::Critical);
    }

    #[test]
    fn macros_calling_macros_stay_bounded() {
        // Each macro nests 150 levels and calls the next one with a constant.
        let mut t = String::new();
        for i in 0..12 {
            t.push_str(&format!("{{% macro m{i}(a) %}}"));
            t.push_str(&"{% if a %}".repeat(150));
            t.push_str(&format!("{{{{ m{}('x') }}}}", i + 1));
            t.push_str(&"{% endif %}".repeat(150));
            t.push_str("{% endmacro %}");
        }
        t.push_str("{% macro m12(a) %}{{ a }}{% endmacro %}{{ m0('x') }}");
        let a = run(&t);
        assert!(a.syntax_error.is_none());
        assert!(a.findings.is_empty());
    }

    #[test]
    fn combining_many_long_strings_stays_bounded() {
        let mut t = String::from("{% set a = ");
        let alts: Vec<String> = (0..64)
            .map(|i| format!("'{}{i}'", "x".repeat(3000)))
            .collect();
        t.push_str(&alts.join(" or "));
        t.push_str(" %}{% for i in range(16) %}{% for j in range(16) %}");
        t.push_str("{{ a ~ a }}{{ (a ~ a)|replace('x', 'yy') }}{{ [a, a, a]|join }}{{ a * 3 }}");
        t.push_str("{% endfor %}{% endfor %}{{ ''|attr(a ~ '__class__') }}");
        let a = run(&t);
        assert!(a.syntax_error.is_none());
        // Too many candidates to resolve: the name counts as built, not as clean.
        assert_eq!(a.findings[0].severity, Severity::High);
    }

    #[test]
    fn exponential_templates_hit_the_budget_not_the_clock() {
        let mut t = String::new();
        for i in 0..30 {
            t.push_str(&format!("{{% for a{i} in messages %}}"));
        }
        t.push_str("{{ x }}");
        for _ in 0..30 {
            t.push_str("{% endfor %}");
        }
        let a = analyse(
            &t,
            &Options {
                max_steps: 100_000,
                ..Options::default()
            },
        );
        assert!(a.budget_exhausted);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_template_text_never_panics(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("{{".to_string()),
                    proptest::strategy::Just("}}".to_string()),
                    proptest::strategy::Just("{%".to_string()),
                    proptest::strategy::Just("%}".to_string()),
                    proptest::strategy::Just("{#".to_string()),
                    proptest::strategy::Just("#}".to_string()),
                    proptest::strategy::Just(" for x in ".to_string()),
                    proptest::strategy::Just(" endfor ".to_string()),
                    proptest::strategy::Just(" if ".to_string()),
                    proptest::strategy::Just(" endif ".to_string()),
                    proptest::strategy::Just(" set ns.a = ".to_string()),
                    proptest::strategy::Just("namespace(a='')".to_string()),
                    proptest::strategy::Just("|attr(".to_string()),
                    proptest::strategy::Just("|join".to_string()),
                    proptest::strategy::Just("|format(".to_string()),
                    proptest::strategy::Just("'__cla'".to_string()),
                    proptest::strategy::Just("\"\\x5f\"".to_string()),
                    proptest::strategy::Just(" ~ ".to_string()),
                    proptest::strategy::Just(" % ".to_string()),
                    proptest::strategy::Just("[::-1]".to_string()),
                    proptest::strategy::Just("(".to_string()),
                    proptest::strategy::Just(")".to_string()),
                    proptest::strategy::Just("[".to_string()),
                    proptest::strategy::Just("]".to_string()),
                    proptest::strategy::Just(".__class__".to_string()),
                    proptest::strategy::Just("cycler".to_string()),
                    proptest::strategy::Just(" macro m(a) ".to_string()),
                    proptest::strategy::Just(" endmacro ".to_string()),
                    proptest::strategy::Just("m(1)".to_string()),
                    "[a-z0-9_ ,.:'\"|()\\[\\]{}%#~+*/-]{0,6}",
                ],
                0..40,
            )
        ) {
            let t: String = parts.concat();
            let _ = analyse(&t, &Options { max_steps: 20_000, ..Options::default() });
        }
    }
}
