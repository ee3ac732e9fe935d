//! Attribute and subscript access rules: which names count as introspection (dunder,
//! name-mangled, private), the Jinja/Flask globals payloads start from, the names that mean
//! code execution once reached from internals, and what `x.name`, `x[key]` and
//! `x|attr(key)` yield and report. Values are `values.rs`; the walk is `walk.rs`.

use super::*;

// ---- names ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum NameClass {
    Dunder,
    Mangled,
    Private,
    Plain,
}

pub(super) fn classify(name: &str) -> NameClass {
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

/// Jinja's default globals (`jinja2.defaults.DEFAULT_NAMESPACE`), the template reference,
/// Flask's template globals (payloads are written for Flask and work wherever these exist),
/// and the functions transformers adds to chat templates.
pub(super) const SPECIAL_GLOBALS: &[&str] = &[
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
pub(super) const EXEC_NAMES: &[&str] = &[
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

pub(super) const STR_METHODS: &[&str] = &[
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

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Access {
    Attr,
    Item,
    AttrFilter,
}

impl<'a> Analyzer<'a> {
    /// `base.name`, `base[key]`, `base|attr(key)`.
    pub(super) fn access(
        &mut self,
        base: &Val,
        key: &Val,
        kind: Access,
        pos: Pos,
        base_desc: &str,
    ) -> Val {
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

    pub(super) fn plain_member_many(&mut self, base: &Val, key: &Val) -> Val {
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
    pub(super) fn plain_member(&mut self, base: &Val, name: &str, kind: Access) -> Val {
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
}
