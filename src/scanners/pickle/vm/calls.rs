//! Call semantics: what REDUCE, NEWOBJ, NEWOBJ_EX, OBJ and INST do with the callable and the
//! arguments they are given, the higher-order and implicit calls of allowed callables, getattr
//! resolution and the few pure functions evaluated.

use super::*;

impl Vm<'_> {
    /// Whether a value handed to a higher-order helper as the function to call is unsafe,
    /// with a description.
    pub(super) fn unsafe_callable_arg(&self, st: &State, v: &V) -> Option<String> {
        match v {
            V::Global(_) => {
                let imp = self.import_of(v)?;
                match &imp.verdict {
                    Verdict::Safe => None,
                    // A class-shaped name proves nothing: whatever is not listed may run code
                    // when the helper calls it.
                    _ => Some(format!("{}.{}", imp.resolved_module, imp.resolved_name)),
                }
            }
            V::Node(id) => match st.nodes.get(*id as usize) {
                Some(Node::Obj {
                    callee,
                    args,
                    state,
                }) if self.is_partial(callee) => {
                    // A partial calls its function with its arguments (any of which may be
                    // a callable it hands on); a BUILD state may have replaced them.
                    if self.callable_depth.get() > 8 {
                        return Some("a deeply nested functools.partial".into());
                    }
                    // `partial.__setstate__` takes (func, args, kwds, dict) from a BUILD state.
                    let mut parts: Vec<V> = match state {
                        Some(s @ V::Tuple(_)) => {
                            let items = tuple_items(s);
                            let mut p: Vec<V> = items.iter().take(1).cloned().collect();
                            p.extend(
                                items
                                    .get(1)
                                    .map(tuple_items)
                                    .unwrap_or_default()
                                    .iter()
                                    .cloned(),
                            );
                            p
                        }
                        Some(other) => vec![other.clone()],
                        None => tuple_items(args).to_vec(),
                    };
                    if state.is_some() {
                        parts.extend(tuple_items(args).iter().cloned());
                    }
                    self.callable_depth.set(self.callable_depth.get() + 1);
                    let bad = parts.iter().find_map(|a| self.unsafe_callable_arg(st, a));
                    self.callable_depth.set(self.callable_depth.get() - 1);
                    bad.map(|b| format!("a functools.partial of {b}"))
                }
                Some(Node::Obj { callee, .. }) => {
                    let what = self
                        .import_of(callee)
                        .map(|i| format!("{}.{}", i.resolved_module, i.resolved_name))
                        .unwrap_or_else(|| "a computed value".into());
                    Some(format!("the result of calling {what}"))
                }
                _ => None,
            },
            V::Opaque => Some("a value computed at load time".into()),
            _ => None,
        }
    }

    pub(super) fn is_partial(&self, callee: &V) -> bool {
        self.import_of(callee).is_some_and(|i| {
            i.verdict == Verdict::Safe
                && matches!(
                    (&*i.resolved_module, &*i.resolved_name),
                    ("functools" | "_functools", "partial")
                )
        })
    }

    pub(super) fn call(
        &mut self,
        st: &mut State,
        kind: CallKind,
        callee: V,
        args: V,
        offset: u64,
    ) -> V {
        let imp = self.import_rc(&callee);
        let Some(imp) = imp else {
            // Calling something that is not a plain import: the result of getattr, attrgetter,
            // import_module, or any other call.
            let what = self.describe_value(st, &callee);
            self.finding_with(
                "pickle.computed-call",
                Severity::Critical,
                "unknown",
                "unknown",
                Some(format!(
                    "{} calls {what}, a callable computed at load time",
                    call_name(kind)
                )),
                format!(
                    "the callable is fetched while loading ({what}); calling it can reach any \
                     function of any module"
                ),
                offset,
            );
            return self.new_node(
                st,
                Node::Obj {
                    callee,
                    args,
                    state: None,
                },
            );
        };
        let (m, n) = (&*imp.resolved_module, &*imp.resolved_name);
        if (m, n) == ("builtins", "getattr") {
            if let Some(v) = self.resolve_getattr(st, kind, &args, offset) {
                self.getattr_resolved += 1;
                return v;
            }
            self.flush_getattr();
        }
        if matches!(
            imp.verdict,
            Verdict::Unknown { stdlib: false } | Verdict::ConstructOnly { .. }
        ) {
            // REDUCE, INST and OBJ call whatever they are given (the unpickler's
            // `instantiate` falls back to calling the object); NEWOBJ(_EX) only reach a
            // type's `__new__` and fail on a function. Calling a class runs its `__init__` (or
            // a metaclass `__call__`), so a capitalised name is no excuse.
            let calls_it = matches!(kind, CallKind::Reduce | CallKind::Inst | CallKind::Obj);
            // NEWOBJ hands the file's arguments to the class's own `__new__` (sympy's
            // classes eval a string there); without arguments it is `object.__new__`.
            let new_with_args = matches!(kind, CallKind::NewObj | CallKind::NewObjEx)
                && matches!(imp.verdict, Verdict::Unknown { stdlib: false })
                && !tuple_items(&args).is_empty();
            if new_with_args {
                self.finding_with(
                    "pickle.unknown-global-called",
                    Severity::High,
                    &imp.module,
                    &imp.name,
                    Some(format!(
                        "{} hands arguments from the file to {m}.{n}.__new__, a class no entry vouches for",
                        call_name(kind)
                    )),
                    format!(
                        "a class's own __new__ runs with the arguments (some evaluate strings); \
                         {m}.{n} is not on the allowlist"
                    ),
                    offset,
                );
            }
            if calls_it {
                let listed = if matches!(imp.verdict, Verdict::ConstructOnly { .. }) {
                    "its library is a profile, but no entry vouches for calling this name"
                } else {
                    "it is not on the allowlist"
                };
                self.finding(
                    "pickle.unknown-global-called",
                    Severity::High,
                    &imp.module,
                    &imp.name,
                    format!(
                        "{m}.{n} is called with arguments from the file; {listed}, and a class \
                         runs its constructor when called"
                    ),
                    offset,
                );
            }
        }
        if matches!(kind, CallKind::Reduce | CallKind::Inst | CallKind::Obj)
            && imp.verdict == Verdict::Safe
            && !imp.ops.call
        {
            self.finding(
                "pickle.unknown-global-called",
                Severity::High,
                &imp.module,
                &imp.name,
                format!(
                    "{m}.{n} is called with arguments from the file; its allowlist entry vouches \
                     only for {}",
                    imp.ops.describe()
                ),
                offset,
            );
        }
        let arg_items = tuple_items(&args);
        let calls_it = matches!(kind, CallKind::Reduce | CallKind::Inst | CallKind::Obj);
        if calls_it && imp.verdict == Verdict::Safe {
            if let Some(methods) = policy::implicit_call_methods(m, n) {
                self.check_implicit_calls(st, &imp, methods, arg_items, offset);
            }
        }
        if let Some(h) = policy::higher_order(m, n) {
            let one;
            let positions: &[usize] = match h.calls {
                policy::Calls::Arg(p) => {
                    one = [p];
                    &one
                }
                policy::Calls::Every => ALL_POSITIONS,
                policy::Calls::Later => &[],
            };
            for &p in positions {
                let Some(arg) = arg_items.get(p) else {
                    continue;
                };
                // A list or tuple of callables (numpy.piecewise) is checked item by item; one
                // longer than the VM keeps cannot be cleared.
                let items: &[V] = match arg {
                    V::Tuple(t) => t,
                    V::Node(id) if st.truncated.contains(id) => &[V::Opaque],
                    V::Node(id) => match st.nodes.get(*id as usize) {
                        Some(Node::List(l)) => l,
                        _ => std::slice::from_ref(arg),
                    },
                    other => std::slice::from_ref(other),
                };
                for arg in items {
                    if let Some(bad) = self.unsafe_callable_arg(st, arg) {
                        self.finding_with(
                            "pickle.higher-order-call",
                            Severity::High,
                            &imp.module,
                            &imp.name,
                            Some(format!(
                                "{m}.{n} is handed {bad}, which it will call"
                            )),
                            format!(
                                "{m}.{n} is allowlisted, but it calls its argument, and {bad} is not safe"
                            ),
                            offset,
                        );
                    }
                }
            }
        }
        if matches!((m, n), ("copyreg", "__newobj__" | "__newobj_ex__")) && arg_items.len() > 1 {
            // copyreg.__newobj__(cls, *args) is cls.__new__(cls, *args).
            let unknown = arg_items
                .first()
                .and_then(|c| self.import_rc(c))
                .filter(|c| matches!(c.verdict, Verdict::Unknown { stdlib: false }));
            if let Some(c) = unknown {
                self.finding_with(
                    "pickle.unknown-global-called",
                    Severity::High,
                    &c.module,
                    &c.name,
                    Some(format!(
                        "copyreg.{n} hands arguments from the file to {}.{}.__new__, a class no entry vouches for",
                        c.resolved_module, c.resolved_name
                    )),
                    "a class's own __new__ runs with the arguments (some evaluate strings)".into(),
                    offset,
                );
            }
        }
        if is_external_wrapper(&imp) {
            // NDArrayWrapper(filename, subclass, allow_mmap)
            if let Some(V::Str(name)) = arg_items.first() {
                self.push_external_file(offset, name.to_string());
            }
        }
        if (m, n) == ("copyreg", "add_extension") {
            if let (Some(V::Str(em)), Some(V::Str(en)), Some(V::Int(code))) =
                (arg_items.first(), arg_items.get(1), arg_items.get(2))
            {
                if let Ok(code) = i64::try_from(*code) {
                    self.ext_registry
                        .insert(code, (em.to_string(), en.to_string()));
                }
            }
        }
        // dill pickles builtin types by name: `dill._dill._load_type('bytearray')` returns the
        // type, which is then called. Resolve it to the type it names and judge that instead.
        if (m, n) == ("dill._dill", "_load_type") {
            if let Some(V::Str(tname)) = arg_items.first() {
                let module = if tname.ends_with("Type") && tname.as_ref() != "NoneType" {
                    "types"
                } else {
                    "builtins"
                };
                let id = self.import(module, tname, 4, offset);
                return V::Global(id);
            }
        }
        // Pure functions whose results later rules need: bytes in protocol 2, decoders.
        if let Some(v) = self.evaluate_pure(m, n, arg_items) {
            return v;
        }
        if policy::is_nested_loader(m, n) {
            let first = arg_items.first();
            let bytes = first.and_then(payload_bytes);
            let range = match first {
                Some(V::Big(at, len)) => Some((*at, *len)),
                _ => None,
            };
            if bytes.is_some() || range.is_some() {
                self.out.nested.push(NestedPayload {
                    offset,
                    loader: format!("{m}.{n}"),
                    bytes,
                    range,
                });
            } else if imp.verdict == Verdict::Safe {
                // An allowlisted loader (torch.storage._load_from_bytes) is only safe because
                // its payload is scanned; one we cannot see is not vouched for.
                self.finding(
                    "pickle.nested-pickle",
                    Severity::High,
                    &imp.module,
                    &imp.name,
                    format!(
                        "{m}.{n} deserializes {} that cannot be read statically",
                        first.map_or("nothing", describe)
                    ),
                    offset,
                );
            }
        }
        self.new_node(
            st,
            Node::Obj {
                callee,
                args,
                state: None,
            },
        )
    }

    /// The class an object node is an instance of, as the value that names it: the callee of
    /// a NEWOBJ or call, or the class handed to `copyreg._reconstructor` / `__newobj__`.
    pub(super) fn instance_class<'s>(&self, st: &'s State, v: &V) -> Option<Result<&'s V, ()>> {
        let V::Node(id) = v else { return None };
        let Some(Node::Obj { callee, args, .. }) = st.nodes.get(*id as usize) else {
            return None;
        };
        let Some(imp) = self.import_of(callee) else {
            return Some(Err(()));
        };
        let by_class = matches!(
            (&*imp.resolved_module, &*imp.resolved_name),
            ("copyreg", "_reconstructor" | "__newobj__" | "__newobj_ex__")
        );
        if by_class {
            return match args {
                V::Tuple(t) => t.first().map(Ok),
                _ => Some(Err(())),
            };
        }
        Some(Ok(callee))
    }

    /// An object whose methods no entry vouches for: an instance of a class that is not
    /// allowlisted exactly, or the result of a computed call.
    pub(super) fn unvouched_instance(&self, st: &State, v: &V) -> Option<String> {
        match self.instance_class(st, v)? {
            Err(()) => Some("an object computed at load time".into()),
            Ok(cls) => match self.import_of(cls) {
                Some(i) if i.verdict == Verdict::Safe => None,
                Some(i) => Some(format!(
                    "an instance of {}.{}",
                    i.resolved_module, i.resolved_name
                )),
                None => Some("an instance of a class computed at load time".into()),
            },
        }
    }

    /// An opcode that calls a method of the object it acts on (BUILD `__setstate__`, SETITEM
    /// `__setitem__`, APPEND `append`, ADDITEMS `add`): on an instance of a class that no
    /// entry or library profile vouches for, that method is the class's own code, run with
    /// data from the file.
    pub(super) fn check_method_on_unknown(
        &mut self,
        st: &State,
        target: &V,
        op: &str,
        method: &str,
        offset: u64,
    ) {
        let Some(Ok(cls)) = self.instance_class(st, target) else {
            return;
        };
        let Some(imp) = self.import_rc(cls) else {
            return;
        };
        // An allowlisted class whose entry does not vouch for BUILD (its `__setstate__` does
        // more than set attributes) is judged as an unknown one.
        let unvouched = match imp.verdict {
            Verdict::Unknown { stdlib: false } => true,
            Verdict::Safe => method.starts_with("__setstate__") && imp.ops.new && !imp.ops.build,
            _ => false,
        };
        if !unvouched {
            return;
        }
        self.finding_with(
            "pickle.unknown-class-method",
            Severity::Medium,
            &imp.module,
            &imp.name,
            Some(format!(
                "{op} calls {method} of {}.{}, a class no entry or library profile vouches for",
                imp.resolved_module, imp.resolved_name
            )),
            format!(
                "{op} runs the class's own {method} when it defines one (a file write, an eval of \
                 a string); nothing lists {}.{} as data",
                imp.resolved_module, imp.resolved_name
            ),
            offset,
        );
    }

    /// BUILD on an instance of a class whose entry allows BUILD only without certain state keys
    /// (`policy::BUILD_GUARDS`): a state holding one, or one not read whole as a dict with
    /// string keys, runs the code the guard names.
    pub(super) fn check_build_guard(&mut self, st: &State, target: &V, state: &V, offset: u64) {
        let Some(Ok(cls)) = self.instance_class(st, target) else {
            return;
        };
        let Some(imp) = self.import_rc(cls) else {
            return;
        };
        if imp.verdict != Verdict::Safe {
            return;
        }
        let Some(guard) = policy::build_guard(&imp.resolved_module, &imp.resolved_name) else {
            return;
        };
        let dict = match state {
            V::Node(id) => Some(*id),
            _ => None,
        };
        let items = dict.and_then(|id| match st.nodes.get(id as usize) {
            Some(Node::Dict(items)) if !st.dicts_cut.contains(&id) => Some(items),
            _ => None,
        });
        // The text the guarded keys make `__setstate__` run, when its check proves it harmless.
        let plain = |items: &[(V, V)]| {
            guard.check.is_some_and(|(key, harmless)| {
                items.iter().any(|(k, v)| {
                    matches!((k, v), (V::Str(k), V::Str(t)) if k.as_str() == key && harmless(t))
                })
            })
        };
        let hit = match items {
            None => Some("a state the scanner cannot read whole".to_string()),
            Some(items) => items.iter().find_map(|(k, _)| match k {
                V::Str(s) if guard.keys.contains(&s.as_str()) && !plain(items) => {
                    Some(format!("`{}` in the state", s.as_str()))
                }
                V::Str(_) => None,
                _ => Some("a state key that is not a string".to_string()),
            }),
        };
        let Some(what) = hit else {
            return;
        };
        self.finding_with(
            "pickle.unknown-class-method",
            Severity::High,
            &imp.module,
            &imp.name,
            Some(format!(
                "BUILD gives {}.{} {what}: its __setstate__ runs code the state names",
                imp.resolved_module, imp.resolved_name
            )),
            format!(
                "{}.{}: {}",
                imp.resolved_module, imp.resolved_name, guard.why
            ),
            offset,
        );
    }

    /// A call of an allowlisted callable that calls `methods` of its arguments: each argument
    /// (and each item of a list or tuple argument, which `sorted`, `min` or `dict` reach too)
    /// must be an object whose class is vouched for.
    pub(super) fn check_implicit_calls(
        &mut self,
        st: &State,
        imp: &Import,
        methods: &str,
        args: &[V],
        offset: u64,
    ) {
        let mut bad = None;
        'outer: for arg in args {
            let items: &[V] = match arg {
                V::Tuple(t) => t,
                V::Node(id) => match st.nodes.get(*id as usize) {
                    Some(Node::List(l) | Node::Set(l)) => l,
                    _ => &[],
                },
                _ => &[],
            };
            for v in std::iter::once(arg).chain(items.iter()) {
                if let Some(what) = self.unvouched_instance(st, v) {
                    bad = Some(what);
                    break 'outer;
                }
            }
        }
        let Some(what) = bad else { return };
        let (m, n) = (&imp.resolved_module, &imp.resolved_name);
        self.finding_with(
            "pickle.implicit-call",
            Severity::High,
            &imp.module,
            &imp.name,
            Some(format!(
                "{m}.{n} is handed {what}; it calls {methods} of that object"
            )),
            format!(
                "{m}.{n} is allowlisted, but the methods it calls belong to {what}, which no \
                 entry vouches for"
            ),
            offset,
        );
    }

    pub(super) fn flush_getattr(&mut self) {
        if let Some(f) = self.getattr_pending.take() {
            let (m, o) = (f.module.clone(), f.operator.clone());
            self.finding(f.rule, f.severity, &m, &o, f.why, f.offset);
        }
    }

    /// `getattr(<imported global>, '<name>')` is the import `global.name`; judge that import.
    /// `getattr(<instance of an allowlisted class>, '<name>')` is a bound method: a callable
    /// whose effect depends on the instance, so the getattr finding is kept and the value is
    /// treated as a computed callable wherever it is used.
    /// Dunder names and anything computed are not resolved.
    pub(super) fn resolve_getattr(
        &mut self,
        st: &mut State,
        kind: CallKind,
        args: &V,
        offset: u64,
    ) -> Option<V> {
        if kind != CallKind::Reduce {
            return None;
        }
        let items = tuple_items(args);
        let (Some(target), Some(V::Str(attr)), 2) = (items.first(), items.get(1), items.len())
        else {
            return None;
        };
        if attr.is_empty() || attr.contains('.') || attr.starts_with("__") {
            return None;
        }
        match target {
            V::Global(_) => {
                let imp = self.import_rc(target)?;
                let id = self.import(
                    &imp.resolved_module,
                    &format!("{}.{attr}", imp.resolved_name),
                    4,
                    offset,
                );
                Some(V::Global(id))
            }
            V::Node(_) => {
                // A bound method is the class's function with the instance bound: judge
                // `module.Class.attr` exactly as an import of that function. Only an entry that
                // names it (or the whole module) clears the getattr; a method of an allowlisted
                // class is not thereby allowlisted (`PosixPath.write_text` writes a file).
                let cls = match self.instance_class(st, target) {
                    Some(Ok(c)) => c.clone(),
                    _ => return None,
                };
                let imp = self.import_rc(&cls)?;
                let id = self.import(
                    &imp.resolved_module,
                    &format!("{}.{attr}", imp.resolved_name),
                    4,
                    offset,
                );
                let safe = self
                    .imports
                    .get(id as usize)
                    .is_some_and(|i| i.verdict == Verdict::Safe);
                if !safe {
                    self.flush_getattr();
                }
                Some(V::Global(id))
            }
            _ => None,
        }
    }

    /// Evaluates the few pure functions that real files rely on or that hide payloads.
    pub(super) fn evaluate_pure(&self, module: &str, name: &str, args: &[V]) -> Option<V> {
        let cap = self.settings.limits.max_kept_operand_bytes as usize;
        let first = args.first()?;
        let out: Vec<u8> = match (module, name) {
            ("_codecs" | "codecs", "encode") => {
                let V::Str(s) = first else { return None };
                let enc = match args.get(1) {
                    Some(V::Str(e)) => e.to_ascii_lowercase(),
                    _ => "utf-8".into(),
                };
                if enc.contains("latin") || enc == "iso-8859-1" {
                    latin1(s)
                } else {
                    s.as_bytes().to_vec()
                }
            }
            ("io" | "_io", "BytesIO") | ("builtins", "bytes" | "bytearray") => {
                return payload_bytes(first).map(|b| V::Bytes(Rc::from(b.into_boxed_slice())));
            }
            ("base64", "b64decode" | "standard_b64decode" | "decodebytes" | "decodestring")
            | ("binascii", "a2b_base64") => decode_base64(&payload_bytes(first)?, false)?,
            ("base64", "urlsafe_b64decode") => decode_base64(&payload_bytes(first)?, true)?,
            ("base64", "b16decode") | ("binascii", "a2b_hex" | "unhexlify") => {
                decode_hex(&payload_bytes(first)?)?
            }
            ("codecs", "decode") => {
                let data = payload_bytes(first)?;
                match args.get(1) {
                    Some(V::Str(e)) if e.contains("base64") => decode_base64(&data, false)?,
                    Some(V::Str(e)) if e.contains("hex") => decode_hex(&data)?,
                    Some(V::Str(e)) if e.contains("zlib") => inflate(&data, cap, true)?,
                    _ => return None,
                }
            }
            ("zlib", "decompress") => inflate(&payload_bytes(first)?, cap, true)?,
            ("gzip", "decompress") => gunzip(&payload_bytes(first)?, cap)?,
            ("bz2", "decompress") => bunzip(&payload_bytes(first)?, cap)?,
            ("lzma", "decompress") => unxz(&payload_bytes(first)?, cap)?,
            _ => return None,
        };
        Some(V::Bytes(Rc::from(out.into_boxed_slice())))
    }

    pub(super) fn describe_value(&self, st: &State, v: &V) -> String {
        match v {
            V::Node(id) => match st.nodes.get(*id as usize) {
                Some(Node::Obj { callee, .. }) => match self.import_of(callee) {
                    Some(i) => format!(
                        "the result of {}.{}(...)",
                        i.resolved_module, i.resolved_name
                    ),
                    None => "the result of a computed call".into(),
                },
                Some(Node::List(_)) => "a list".into(),
                Some(Node::Dict(_)) => "a dict".into(),
                Some(Node::Set(_)) => "a set".into(),
                None => "a value".into(),
            },
            other => describe(other).to_string(),
        }
    }
}

/// The bytes of `s` encoded as latin-1, each character below U+0100 its byte (characters above
/// keep their low byte). Straight from the UTF-8: a character below U+0100 is one byte, or two
/// with a lead byte of 0xC2 or 0xC3.
pub(super) fn latin1(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            0..0x80 => out.push(b),
            0xC2 | 0xC3 => match bytes.next() {
                Some(cont) => out.push(((b & 0x03) << 6) | (cont & 0x3F)),
                None => break,
            },
            // A character above U+00FF: the whole text character by character.
            _ => return s.chars().map(|c| c as u32 as u8).collect(),
        }
    }
    out
}
