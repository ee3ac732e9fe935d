//! Resolves every callee and name reference of a TorchScript code member to a dotted name
//! and judges it with `rules.rs`. Resolution follows what `torch.jit.load`'s compiler
//! accepts: parentheses (`(torch).from_file`), attribute chains, local aliases within a
//! function (`t = torch` then `t.from_file(...)`, `a = ops.aten` then `a.save(...)`,
//! `g = getattr`), `getattr(x, "literal")`, `annotate(T, x)`, and elements of tuples and
//! lists.
//!
//! Locals are followed flow-insensitively: a name holds every value assigned to it anywhere
//! in its function (a union, computed to a fixed point), so no branch or loop order can hide
//! an alias. What is not followed becomes "unknown" and is judged conservatively: an
//! unknown value called through an attribute named like a file or process operation
//! (`DANGEROUS_LEAVES`), or called directly, is reported.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::lexer::{Tok, Token, lines, string_value};
use super::parser::{Arg, Expr, Stmt, StmtKind, statements};
use super::rules::{
    DANGEROUS_LEAVES, DUNDER_WALKS, Kind, PYTHON_BUILTINS, PYTHON_MODULES, SCRIPT_BUILTINS,
    SCRIPT_GLOBALS, judge,
};
use crate::findings::ImportRecord;

/// Possible values one expression or local keeps (more become "unknown").
const MAX_SYMS: usize = 16;
/// Parts of a dotted name, elements of a tuple, and nested tuples a value keeps.
const MAX_PARTS: usize = 32;
const MAX_WEIGHT: usize = 256;
/// Rounds of alias propagation within one function.
const MAX_ROUNDS: usize = 8;
/// Evaluation steps for the alias propagation of a whole member.
const MAX_STEPS: u64 = 2_000_000;
/// Longest rendering of an expression in a report.
const MAX_SPELLED: usize = 160;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// The resolved name (`torch.from_file`), or the expression when it did not resolve.
    pub chain: String,
    /// How the code spells it, when that differs (`(t).from_file`).
    pub spelled: Option<String>,
    pub what: &'static str,
    pub offset: usize,
}

#[derive(Debug, Default)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    pub calls: Vec<ImportRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    /// A global name (`torch`, `ops`, `os` ...).
    Global,
    /// A parameter of the function (`self`, `x`): methods on it are compiled code.
    Param,
}

/// One possible value of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sym {
    Path(Vec<String>, Root),
    Str(String),
    Seq(Vec<Val>),
    /// Not followed; the last attribute taken from it, if any.
    Unknown(Option<String>),
}

type Val = Vec<Sym>;

fn unknown() -> Val {
    vec![Sym::Unknown(None)]
}

fn weight(v: &Val) -> usize {
    v.iter()
        .map(|s| match s {
            Sym::Seq(items) => 1usize.saturating_add(items.iter().map(weight).sum::<usize>()),
            _ => 1,
        })
        .fold(0usize, usize::saturating_add)
}

/// Adds `more` to `into`; true when something new was added.
fn union(into: &mut Val, more: Val) -> bool {
    let mut changed = false;
    for s in more {
        if into.contains(&s) {
            continue;
        }
        if into.len() >= MAX_SYMS || weight(into) >= MAX_WEIGHT {
            let u = Sym::Unknown(None);
            if !into.contains(&u) {
                into.push(u);
                changed = true;
            }
            break;
        }
        into.push(s);
        changed = true;
    }
    changed
}

fn attr(s: &Sym, name: &str) -> Sym {
    match s {
        Sym::Path(parts, root) if parts.len() < MAX_PARTS => {
            let mut p = parts.clone();
            p.push(name.to_string());
            Sym::Path(p, *root)
        }
        _ => Sym::Unknown(Some(name.to_string())),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The callee of a call.
    Callee,
    /// The base of an attribute (`x` in `x.y`): judged as part of the longer name.
    Base,
    Other,
}

#[derive(Default)]
struct Scope<'a> {
    locals: HashMap<&'a str, Val>,
    params: HashSet<&'a str>,
}

struct Analyzer<'a> {
    out: Analysis,
    seen: HashSet<String>,
    calls: BTreeMap<String, &'static str>,
    steps: u64,
    _scope: std::marker::PhantomData<&'a ()>,
}

/// Analyses one code member.
pub fn analyze(text: &str) -> Analysis {
    let stmts = statements(&lines(text));
    let mut a = Analyzer {
        out: Analysis::default(),
        seen: HashSet::new(),
        calls: BTreeMap::new(),
        steps: 0,
        _scope: std::marker::PhantomData,
    };
    let module = Scope::default();
    let mut i = 0;
    while let Some(s) = stmts.get(i) {
        if let StmtKind::Def { .. } = s.kind {
            let end = stmts
                .iter()
                .skip(i + 1)
                .position(|b| b.indent <= s.indent)
                .map_or(stmts.len(), |k| i + 1 + k);
            a.function(stmts.get(i..end).unwrap_or_default());
            i = end;
        } else {
            a.statement(s, &module);
            i += 1;
        }
    }
    a.out.calls = std::mem::take(&mut a.calls)
        .into_iter()
        .map(|(chain, verdict)| {
            let (module, name) = split_chain(&chain);
            ImportRecord {
                module: crate::findings::Name::new(&module),
                name: crate::findings::Name::new(&name),
                verdict,
            }
        })
        .collect();
    a.out
}

/// `a.b.c` as (`a.b`, `c`); a bare name is a builtin.
pub fn split_chain(chain: &str) -> (String, String) {
    match chain.rsplit_once('.') {
        Some((m, n)) => (m.to_string(), n.to_string()),
        None => ("builtins".to_string(), chain.to_string()),
    }
}

impl<'a> Analyzer<'a> {
    /// A `def` and its body (nested definitions included): aliases are followed to a fixed
    /// point, then every expression is judged.
    fn function(&mut self, stmts: &[Stmt<'a>]) {
        let mut scope = Scope::default();
        for s in stmts {
            if let StmtKind::Def { params, .. } = &s.kind {
                scope.params.extend(params.iter().copied());
            }
        }
        let mut converged = false;
        for _ in 0..MAX_ROUNDS {
            let mut changed = false;
            for s in stmts {
                changed |= self.bind(s, &mut scope);
            }
            if !changed {
                converged = true;
                break;
            }
            if self.steps > MAX_STEPS {
                break;
            }
        }
        if !converged {
            // Values still growing: every local may also be something not followed.
            for v in scope.locals.values_mut() {
                union(v, unknown());
            }
        }
        for s in stmts {
            self.statement(s, &scope);
        }
    }

    /// Adds the values a statement assigns to the scope's locals.
    fn bind(&mut self, s: &Stmt<'a>, scope: &mut Scope<'a>) -> bool {
        let mut changed = false;
        match &s.kind {
            StmtKind::Assign {
                targets,
                value,
                augmented,
                ..
            } => {
                let v = if *augmented {
                    unknown()
                } else {
                    self.eval(value, scope, Place::Other, false)
                };
                for t in targets {
                    changed |= bind_target(t, v.clone(), scope);
                }
            }
            StmtKind::Bind { targets, .. } => {
                for t in targets {
                    changed |= bind_target(t, unknown(), scope);
                }
            }
            _ => {}
        }
        changed
    }

    fn statement(&mut self, s: &Stmt<'a>, scope: &Scope<'a>) {
        let mut exprs: Vec<&Expr<'a>> = Vec::new();
        match &s.kind {
            StmtKind::Def { exprs: e, .. } | StmtKind::Exprs(e) => exprs.extend(e),
            StmtKind::Assign {
                targets,
                value,
                exprs: e,
                ..
            } => {
                exprs.extend(targets);
                exprs.push(value);
                exprs.extend(e);
            }
            StmtKind::Bind { targets, exprs: e } => {
                exprs.extend(targets);
                exprs.extend(e);
            }
            StmtKind::Import { path, start } => {
                if path.first().is_some_and(|m| PYTHON_MODULES.contains(m)) {
                    let chain = path.join(".");
                    self.report(
                        Kind::Dangerous,
                        chain,
                        None,
                        "imports a Python module for processes, files or the interpreter",
                        *start,
                        true,
                    );
                }
            }
        }
        for e in exprs {
            self.eval(e, scope, Place::Other, true);
        }
        if let Some(toks) = &s.deep {
            self.flat_scan(toks);
        }
    }

    fn report(
        &mut self,
        kind: Kind,
        chain: String,
        spelled: Option<String>,
        what: &'static str,
        offset: usize,
        import: bool,
    ) {
        let key = if import {
            format!("import {chain}")
        } else {
            chain.clone()
        };
        if self.seen.insert(key) {
            self.out.findings.push(Finding {
                kind,
                chain,
                spelled,
                what,
                offset,
            });
        }
    }

    fn eval(&mut self, e: &Expr<'a>, scope: &Scope<'a>, place: Place, judging: bool) -> Val {
        self.steps = self.steps.saturating_add(1);
        let v = match e {
            Expr::Name(t) => match scope.locals.get(t.text) {
                Some(v) => v.clone(),
                None if scope.params.contains(t.text) => {
                    vec![Sym::Path(vec![t.text.to_string()], Root::Param)]
                }
                None => vec![Sym::Path(vec![t.text.to_string()], Root::Global)],
            },
            Expr::Str(parts) => {
                let mut s = String::new();
                let mut known = true;
                for p in parts {
                    match string_value(p.text) {
                        Some(v) => s.push_str(&v),
                        None => known = false,
                    }
                }
                if known { vec![Sym::Str(s)] } else { unknown() }
            }
            Expr::Const(_) => unknown(),
            Expr::Attr { base, name } => {
                let b = self.eval(base, scope, Place::Base, judging);
                b.iter().map(|s| attr(s, name.text)).collect()
            }
            Expr::Call { callee, args, .. } => {
                let c = self.eval(callee, scope, Place::Callee, judging);
                let vals: Vec<Val> = args
                    .iter()
                    .map(|a| self.eval(a.expr(), scope, Place::Other, judging))
                    .collect();
                let positional: Vec<&Val> = args
                    .iter()
                    .zip(&vals)
                    .filter(|(a, _)| matches!(a, Arg::Pos(_)))
                    .map(|(_, v)| v)
                    .collect();
                let mut out = Val::new();
                for s in &c {
                    let r = match s {
                        Sym::Path(p, Root::Global) if is_bare(p, "getattr") => {
                            self.getattr(&positional, e, judging)
                        }
                        // `__import__("os")` is the module `os` (its top package, as
                        // CPython's `__import__` returns without `fromlist`).
                        Sym::Path(p, Root::Global) if is_bare(p, "__import__") => {
                            let mut out = Val::new();
                            for s in positional.first().map_or(&[][..], |v| v.as_slice()) {
                                let m = match s {
                                    Sym::Str(m) => m.split('.').next().unwrap_or_default(),
                                    _ => "",
                                };
                                let sym = if m.is_empty() {
                                    Sym::Unknown(None)
                                } else {
                                    Sym::Path(vec![m.to_string()], Root::Global)
                                };
                                union(&mut out, vec![sym]);
                            }
                            if out.is_empty() { unknown() } else { out }
                        }
                        Sym::Path(p, Root::Global)
                            if is_bare(p, "annotate") || is_bare(p, "unchecked_cast") =>
                        {
                            positional.get(1).map_or_else(unknown, |v| (*v).clone())
                        }
                        _ => unknown(),
                    };
                    union(&mut out, r);
                }
                if out.is_empty() { unknown() } else { out }
            }
            Expr::Subscript { base, index } => {
                let b = self.eval(base, scope, Place::Other, judging);
                for a in index {
                    self.eval(a.expr(), scope, Place::Other, judging);
                }
                let at = match index.as_slice() {
                    [Arg::Pos(Expr::Const(Some(t)))] if t.kind == Tok::Num => {
                        t.text.parse::<usize>().ok()
                    }
                    _ => None,
                };
                let mut out = Val::new();
                for s in &b {
                    match s {
                        Sym::Seq(items) => match at.and_then(|k| items.get(k)) {
                            Some(v) => {
                                union(&mut out, v.clone());
                            }
                            None => {
                                for v in items {
                                    union(&mut out, v.clone());
                                }
                            }
                        },
                        _ => {
                            union(&mut out, unknown());
                        }
                    }
                }
                if out.is_empty() { unknown() } else { out }
            }
            Expr::Seq(items) => {
                let mut elems = Vec::new();
                let mut shaped = true;
                for a in items {
                    let v = self.eval(a.expr(), scope, Place::Other, judging);
                    match a {
                        Arg::Pos(_) if elems.len() < MAX_PARTS => elems.push(v),
                        _ => shaped = false,
                    }
                }
                if !shaped {
                    // A comprehension or a starred element: its elements are unknown.
                    elems.push(unknown());
                }
                let v = vec![Sym::Seq(elems)];
                if weight(&v) > MAX_WEIGHT {
                    unknown()
                } else {
                    v
                }
            }
            Expr::Either { values, others } => {
                for o in others {
                    self.eval(o, scope, Place::Other, judging);
                }
                let mut out = Val::new();
                for x in values {
                    let v = self.eval(x, scope, Place::Other, judging);
                    union(&mut out, v);
                }
                if out.is_empty() { unknown() } else { out }
            }
            Expr::Op(parts) => {
                for p in parts {
                    self.eval(p, scope, Place::Other, judging);
                }
                unknown()
            }
        };
        if judging && place != Place::Base && !matches!(e, Expr::Const(_) | Expr::Op(_)) {
            self.judge_val(&v, place == Place::Callee, e);
        }
        v
    }

    /// `getattr(base, "name")`: `base.name`. A name that is not a string literal is
    /// unknown (TorchScript itself requires a literal).
    fn getattr(&mut self, args: &[&Val], call: &Expr<'a>, judging: bool) -> Val {
        let (Some(base), Some(name)) = (args.first(), args.get(1)) else {
            return unknown();
        };
        let names: Vec<&str> = name
            .iter()
            .filter_map(|s| match s {
                Sym::Str(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        let mut out = Val::new();
        if names.len() != name.len() {
            // Some possible name is not known: an attribute of `base` that no one can name.
            if judging {
                for s in base.iter() {
                    if let Sym::Path(p, Root::Global) = s {
                        let root = p.first().map(String::as_str).unwrap_or_default();
                        if matches!(root, "torch" | "ops" | "__torch__")
                            || PYTHON_MODULES.contains(&root)
                        {
                            self.report(
                                Kind::Dangerous,
                                format!("{}.?", p.join(".")),
                                Some(describe(call)),
                                "looks up an operator by a name that is not a literal",
                                start_of(call),
                                false,
                            );
                        }
                    }
                }
            }
            union(&mut out, unknown());
        }
        for n in names {
            for s in base.iter() {
                union(&mut out, vec![attr(s, n)]);
            }
        }
        if out.is_empty() { unknown() } else { out }
    }

    fn judge_val(&mut self, v: &Val, called: bool, e: &Expr<'a>) {
        for s in v {
            match s {
                Sym::Path(parts, root) => {
                    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
                    let chain = refs.join(".");
                    let mut verdict = judge(&refs, called);
                    let first = refs.first().copied().unwrap_or_default();
                    let last = refs.last().copied().unwrap_or_default();
                    if verdict.is_none()
                        && called
                        && *root == Root::Global
                        && refs.len() > 1
                        && !SCRIPT_GLOBALS.contains(&first)
                        && !SCRIPT_BUILTINS.contains(&first)
                        && DANGEROUS_LEAVES.contains(&last)
                    {
                        verdict = Some((
                            Kind::Dangerous,
                            "calls a file or process operation on a name that does not resolve",
                        ));
                    }
                    let spelled = Some(describe(e)).filter(|d| *d != chain);
                    if let Some((kind, what)) = verdict {
                        self.report(kind, chain.clone(), spelled, what, start_of(e), false);
                    }
                    let listed = refs.len() > 1
                        || PYTHON_BUILTINS.contains(&first)
                        || SCRIPT_BUILTINS.contains(&first);
                    if called && listed {
                        let verdict = match verdict {
                            Some((Kind::Dangerous, _)) => "dangerous",
                            Some((Kind::Custom, _)) => "unknown",
                            None => "safe",
                        };
                        self.calls.entry(chain).or_insert(verdict);
                    }
                }
                Sym::Unknown(Some(leaf)) => {
                    let what = if DUNDER_WALKS.contains(&leaf.as_str()) {
                        "walks into interpreter internals"
                    } else if called && DANGEROUS_LEAVES.contains(&leaf.as_str()) {
                        "calls a file or process operation on a value that could not be resolved"
                    } else {
                        continue;
                    };
                    let chain = describe(e);
                    self.report(Kind::Dangerous, chain, None, what, start_of(e), false);
                }
                Sym::Unknown(None) | Sym::Str(_) | Sym::Seq(_) => {
                    if called {
                        let chain = describe(e);
                        self.report(
                            Kind::Custom,
                            chain,
                            None,
                            "calls a value that could not be resolved to a name",
                            start_of(e),
                            false,
                        );
                    }
                }
            }
        }
    }

    /// Every dotted name of a statement too deeply nested to parse, judged as written.
    fn flat_scan(&mut self, toks: &[Token<'a>]) {
        let mut i = 0;
        while let Some(t) = toks.get(i) {
            let after_dot = i
                .checked_sub(1)
                .and_then(|p| toks.get(p))
                .is_some_and(|p| p.is_op("."));
            if t.kind != Tok::Name || after_dot {
                i += 1;
                continue;
            }
            let mut parts = vec![t.text.to_string()];
            let mut j = i + 1;
            while toks.get(j).is_some_and(|d| d.is_op("."))
                && toks.get(j + 1).is_some_and(|n| n.kind == Tok::Name)
                && parts.len() < MAX_PARTS
            {
                if let Some(n) = toks.get(j + 1) {
                    parts.push(n.text.to_string());
                }
                j += 2;
            }
            let called = toks.get(j).is_some_and(|n| n.is_op("("));
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let leaf = refs.last().copied().unwrap_or_default();
            let verdict = judge(&refs, called).or_else(|| {
                (called && refs.len() > 1 && DANGEROUS_LEAVES.contains(&leaf)).then_some((
                    Kind::Dangerous,
                    "calls a file or process operation on a name that does not resolve",
                ))
            });
            if let Some((kind, what)) = verdict {
                self.report(kind, refs.join("."), None, what, t.start, false);
            }
            i = j;
        }
    }
}

fn is_bare(p: &[String], name: &str) -> bool {
    p.len() == 1 && p.first().is_some_and(|f| f == name)
}

/// Binds an assignment target to `v`; true when a local gained a value.
fn bind_target<'a>(t: &Expr<'a>, v: Val, scope: &mut Scope<'a>) -> bool {
    match t {
        Expr::Name(n) => union(scope.locals.entry(n.text).or_default(), v),
        Expr::Seq(items) => {
            let mut changed = false;
            for (k, a) in items.iter().enumerate() {
                let mut elem = Val::new();
                for s in &v {
                    match s {
                        Sym::Seq(vals) if vals.len() == items.len() => {
                            if let Some(x) = vals.get(k) {
                                union(&mut elem, x.clone());
                            }
                        }
                        Sym::Seq(vals) => {
                            for x in vals {
                                union(&mut elem, x.clone());
                            }
                            union(&mut elem, unknown());
                        }
                        _ => {
                            union(&mut elem, unknown());
                        }
                    }
                }
                if elem.is_empty() {
                    elem = unknown();
                }
                changed |= bind_target(a.expr(), elem, scope);
            }
            changed
        }
        // Attributes and subscripts are not locals.
        _ => false,
    }
}

fn start_of(e: &Expr<'_>) -> usize {
    match e {
        Expr::Name(t) => t.start,
        Expr::Str(p) => p.first().map_or(0, |t| t.start),
        Expr::Const(t) => t.map_or(0, |t| t.start),
        Expr::Attr { base, name } => match base.as_ref() {
            Expr::Op(p) if p.is_empty() => name.start,
            b => start_of(b),
        },
        Expr::Call { callee, .. } => start_of(callee),
        Expr::Subscript { base, .. } => start_of(base),
        Expr::Seq(items) => items.first().map_or(0, |a| start_of(a.expr())),
        Expr::Either { values, .. } => values.first().map_or(0, start_of),
        Expr::Op(p) => p.first().map_or(0, start_of),
    }
}

/// A short rendering of an expression, for reports.
fn describe(e: &Expr<'_>) -> String {
    let mut s = String::new();
    render(e, &mut s, 0);
    if s.len() > MAX_SPELLED {
        let mut cut = MAX_SPELLED;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

fn render(e: &Expr<'_>, out: &mut String, depth: u32) {
    if depth > 8 || out.len() > MAX_SPELLED {
        out.push('…');
        return;
    }
    match e {
        Expr::Name(t) => out.push_str(t.text),
        Expr::Str(p) => out.push_str(p.first().map_or("''", |t| t.text)),
        Expr::Const(t) => out.push_str(t.map_or("…", |t| t.text)),
        Expr::Attr { base, name } => {
            let grouped = !matches!(
                base.as_ref(),
                Expr::Name(_) | Expr::Attr { .. } | Expr::Call { .. } | Expr::Subscript { .. }
            );
            if grouped {
                out.push('(');
            }
            render(base, out, depth + 1);
            if grouped {
                out.push(')');
            }
            out.push('.');
            out.push_str(name.text);
        }
        Expr::Call { callee, args, .. } => {
            render(callee, out, depth + 1);
            out.push('(');
            for (k, a) in args.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                render(a.expr(), out, depth + 1);
            }
            out.push(')');
        }
        Expr::Subscript { base, index } => {
            render(base, out, depth + 1);
            out.push('[');
            for a in index {
                render(a.expr(), out, depth + 1);
            }
            out.push(']');
        }
        Expr::Seq(items) => {
            out.push('(');
            for (k, a) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                render(a.expr(), out, depth + 1);
            }
            out.push(')');
        }
        Expr::Either { values, .. } => {
            out.push('(');
            for (k, v) in values.iter().enumerate() {
                if k > 0 {
                    out.push_str(" or ");
                }
                render(v, out, depth + 1);
            }
            out.push(')');
        }
        Expr::Op(_) => out.push('…'),
    }
}
