//! Imports (GLOBAL, STACK_GLOBAL, INST, extension codes): name resolution, the policy verdict and
//! the findings an import alone earns.

use super::*;

impl Vm<'_> {
    /// The id of the import of `module.name` (as written) seen before, if any. A file has a
    /// handful of imports: a scan of them costs less than building the map's key.
    pub(super) fn find_import(&self, module: &str, name: &str) -> Option<u32> {
        if self.imports.len() <= LINEAR_IMPORTS {
            return self
                .imports
                .iter()
                .position(|i| &*i.module == module && &*i.name == name)
                .map(|k| k as u32);
        }
        self.import_index
            .get(&(module.to_string(), name.to_string()))
            .copied()
    }

    pub(super) fn import(&mut self, module: &str, name: &str, proto: u8, offset: u64) -> u32 {
        if let Some(id) = self.find_import(module, name) {
            return id;
        }
        let (rm, rn) = policy::resolve(module, name, proto);
        let (verdict, ops) = policy::judge_ops(self.settings, rm, rn);
        // How the import is named in findings; only built when there is one.
        let display = || {
            if (rm, rn) != (module, name) {
                format!("{module}.{name} (loaded as {rm}.{rn})")
            } else {
                format!("{module}.{name}")
            }
        };
        match &verdict {
            // `getattr(<imported global>, '<constant>')` is an import of `global.constant` in
            // another form (CPython pickles ZoneInfo and bound methods that way); it is judged
            // when called. Any other use is reported with ModelScan's severity.
            Verdict::Dangerous { severity, reason }
                if (rm, rn) == ("builtins", "getattr") =>
            {
                self.getattr_pending = Some(VmFinding {
                    rule: "pickle.dangerous-global",
                    severity: *severity,
                    module: module.to_string(),
                    operator: name.to_string(),
                    description: None,
                    why: format!("{}: {reason}", display()),
                    offset,
                });
            }
            Verdict::Dangerous { severity, reason } => {
                let rule = if rn.split('.').any(|c| c.len() > 4 && c.starts_with("__") && c.ends_with("__"))
                    && !matches!(rn, "__import__")
                {
                    "pickle.dunder-name"
                } else {
                    "pickle.dangerous-global"
                };
                self.finding(
                    rule,
                    *severity,
                    module,
                    name,
                    format!("{}: {reason}", display()),
                    offset,
                );
            }
            Verdict::Unknown { stdlib: true } => self.finding(
                "pickle.unknown-stdlib-global",
                Severity::High,
                module,
                name,
                format!(
                    "{} is a standard-library name outside the allowlist; no benign model \
                     needs it, and unlisted standard-library callables are how denylists are bypassed",
                    display()
                ),
                offset,
            ),
            Verdict::Unknown { stdlib: false } if self.settings.strict => self.finding(
                "pickle.unknown-global",
                Severity::Medium,
                module,
                name,
                format!("{} is not on the allowlist (strict mode)", display()),
                offset,
            ),
            _ => {}
        }
        let id = self.imports.len() as u32;
        let (written_module, written_name): (Rc<str>, Rc<str>) = (module.into(), name.into());
        // Resolution renames a handful of Python 2 names: the rest share the written text.
        let resolved = |resolved: &str, written: &Rc<str>| {
            if resolved == &**written {
                written.clone()
            } else {
                Rc::from(resolved)
            }
        };
        self.imports.push(Rc::new(Import {
            resolved_module: resolved(rm, &written_module),
            resolved_name: resolved(rn, &written_name),
            module: written_module,
            name: written_name,
            verdict,
            ops,
            offset,
        }));
        if self.imports.len() > LINEAR_IMPORTS {
            if self.import_index.is_empty() {
                for (k, i) in self.imports.iter().enumerate() {
                    self.import_index
                        .insert((i.module.to_string(), i.name.to_string()), k as u32);
                }
            } else {
                self.import_index
                    .insert((module.to_string(), name.to_string()), id);
            }
        }
        id
    }

    pub(super) fn summarize(&self, st: &State, v: &V) -> TopSummary {
        let (kind, len) = match v {
            V::None => ("none".to_string(), None),
            V::Bool => ("bool".into(), None),
            V::Int(_) | V::BigInt => ("int".into(), None),
            V::Float => ("float".into(), None),
            V::Str(s) => ("str".into(), Some(s.chars().count())),
            V::Bytes(b) => ("bytes".into(), Some(b.len())),
            V::Tuple(t) => ("tuple".into(), Some(t.len().min(MAX_ITEMS))),
            V::Node(i) => match st.nodes.get(*i as usize) {
                Some(Node::List(items)) => ("list".into(), Some(items.len())),
                Some(Node::Dict(items)) => ("dict".into(), Some(items.len())),
                Some(Node::Set(items)) => ("set".into(), Some(items.len())),
                Some(Node::Obj { callee, args, .. }) => {
                    let name = self.import_of(callee).map_or_else(
                        || "?".to_string(),
                        |g| format!("{}.{}", g.resolved_module, g.resolved_name),
                    );
                    // One level only: a chain of calls must not recurse.
                    let len = match tuple_items(args).first() {
                        Some(first @ V::Node(j))
                            if !matches!(st.nodes.get(*j as usize), Some(Node::Obj { .. })) =>
                        {
                            self.summarize(st, first).len
                        }
                        Some(V::Node(_)) | None => None,
                        Some(first) => self.summarize(st, first).len,
                    };
                    (format!("call {name}"), len)
                }
                None => ("other".into(), None),
            },
            _ => ("other".into(), None),
        };
        TopSummary { kind, len }
    }

    /// `import_of`, as a handle that outlives borrows of `self`.
    pub(super) fn import_rc(&self, v: &V) -> Option<Rc<Import>> {
        match v {
            V::Global(id) => self.imports.get(*id as usize).cloned(),
            _ => None,
        }
    }

    pub(super) fn import_of(&self, v: &V) -> Option<&Import> {
        match v {
            V::Global(id) => self.imports.get(*id as usize).map(|i| &**i),
            _ => None,
        }
    }
}
