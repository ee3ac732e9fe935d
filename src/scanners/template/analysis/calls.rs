//! Call rules: calling a macro, a bare global (`dict`, `namespace`, `range`, `cycler` ...),
//! a method of a string or of a known object (`str.format`, `join`, `get`, `items` ...), and
//! the `str.format` fields that reach attributes (`'{0.__class__}'.format(x)`).

use super::*;

impl<'a> Analyzer<'a> {
    pub(super) fn eval_call(&mut self, node: &'a Expr, args: &'a Args, pos: Pos) -> Val {
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
    pub(super) fn call_method(
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
    pub(super) fn check_format_fields(
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
}
