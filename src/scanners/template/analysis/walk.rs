//! The walk over the syntax tree: scopes and assignments, statements (`for`, `if`, `set`,
//! macros, blocks) and expressions. Calls are `calls.rs`, filters `filters.rs`, attribute
//! and subscript rules `access.rs`.

use super::*;

pub(super) struct MacroDef<'a> {
    pub(super) params: &'a [(String, Option<Expr>)],
    pub(super) body: &'a [Node],
    /// Output with the parameters unknown.
    pub(super) generic: Val,
}

pub(super) struct Analyzer<'a> {
    pub(super) scopes: Vec<HashMap<String, Val>>,
    pub(super) namespaces: Vec<HashMap<String, Val>>,
    pub(super) macros: Vec<MacroDef<'a>>,
    pub(super) macro_stack: Vec<usize>,
    pub(super) specialisations: usize,
    pub(super) known: HashMap<String, KnownVar>,
    pub(super) findings: Vec<Finding>,
    pub(super) steps: u64,
    pub(super) max_steps: u64,
    pub(super) exhausted: bool,
    /// Current nesting of `eval`/`exec` calls.
    pub(super) recursion: u32,
    /// How many enclosing constructs may run zero or several times (branches, loops followed
    /// as a union, macro bodies): assignments there add to a variable's possible values
    /// instead of replacing them.
    pub(super) conditional: u32,
}

impl<'a> Analyzer<'a> {
    pub(super) fn new(opts: &Options) -> Analyzer<'a> {
        Analyzer {
            scopes: vec![HashMap::new()],
            namespaces: Vec::new(),
            macros: Vec::new(),
            macro_stack: Vec::new(),
            specialisations: 0,
            known: opts
                .known_vars
                .iter()
                .map(|k| (k.name.clone(), k.clone()))
                .collect(),
            findings: Vec::new(),
            steps: 0,
            max_steps: opts.max_steps,
            exhausted: false,
            conditional: 0,
            recursion: 0,
        }
    }

    pub(super) fn tick(&mut self) -> bool {
        self.steps += 1;
        if self.steps > self.max_steps {
            self.exhausted = true;
        }
        self.exhausted
    }

    pub(super) fn report(
        &mut self,
        severity: Severity,
        chain: &str,
        tag: Tag,
        note: &str,
        pos: Pos,
    ) {
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

    pub(super) fn lookup(&self, name: &str) -> Option<&Val> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    pub(super) fn bind(&mut self, name: &str, v: Val) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), v);
        }
    }

    /// `{% set %}`: Jinja assigns in the current scope. In straight-line code the new value
    /// replaces the old one; where the assignment may or may not run (a branch, a loop
    /// followed as a union), it joins what the variable already held.
    pub(super) fn assign(&mut self, name: &str, v: Val) {
        let weak = self.conditional > 0;
        if let Some(s) = self.scopes.last_mut() {
            let nv = match s.remove(name) {
                Some(old) if weak => join(old, v),
                _ => v,
            };
            s.insert(name.to_string(), nv);
        }
    }

    pub(super) fn bind_target(&mut self, t: &Target, v: Val, weak: bool) {
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
    pub(super) fn exec_body(&mut self, nodes: &'a [Node]) -> Val {
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

    pub(super) fn exec(&mut self, node: &'a Node) -> Val {
        if self.recursion >= MAX_RECURSION {
            self.exhausted = true;
            return Val::data();
        }
        self.recursion += 1;
        let v = self.exec_inner(node);
        self.recursion -= 1;
        v
    }

    pub(super) fn exec_inner(&mut self, node: &'a Node) -> Val {
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

    pub(super) fn exec_for(
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

    pub(super) fn define_macro(
        &mut self,
        params: &'a [(String, Option<Expr>)],
        body: &'a [Node],
    ) -> usize {
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

    pub(super) fn call_macro(&mut self, id: usize, args: &[Val], kwargs: &[(String, Val)]) -> Val {
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

    pub(super) fn eval(&mut self, e: &'a Expr) -> Val {
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

    pub(super) fn eval_inner(&mut self, e: &'a Expr) -> Val {
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

    pub(super) fn eval_name(&mut self, name: &str) -> Val {
        if let Some(v) = self.lookup(name) {
            return v.clone();
        }
        if SPECIAL_GLOBALS.contains(&name) {
            return Val::origin(name.to_string(), false, name);
        }
        if let Some(k) = self.known.get(name) {
            // The value the renderer passes: judged as the constant it is (a dunder used as a
            // key is reported, an ordinary token text is not).
            let v = Val::string(k.value.clone());
            if k.exact {
                return v;
            }
            let mut any = Val::data();
            any.built = true;
            return join(v, any);
        }
        if crate::scanners::template::SPECIAL_TOKEN_KEYS.contains(&name)
            || name == "additional_special_tokens"
        {
            // The renderer passes the special tokens' texts, which the same file chooses
            // (GGUF metadata, the tokenizer config); unseen here, they are as good as a name
            // the template built: used as a key, they can name a dunder.
            let mut v = Val::data();
            v.built = true;
            return v;
        }
        Val::data()
    }

    pub(super) fn eval_args(&mut self, args: &'a Args) -> (Vec<Val>, Vec<(String, Val)>) {
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
}

/// Whether `break`/`continue` appear in a loop body (nested loops included, which only
/// over-approximates).
pub(super) fn has_loop_control(nodes: &[Node]) -> bool {
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
