//! Jinja filters (`attr`, `map`, `join`, `format`, `replace`, `reverse`, case filters ...)
//! applied to abstract values, and `{% filter %}` blocks.

use super::*;

impl<'a> Analyzer<'a> {
    /// `{% filter f|g %}` / `{% set x | f %}`: the chain is applied to `input`.
    pub(super) fn eval_filter_chain(&mut self, f: &'a Expr, input: Val) -> Val {
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
    pub(super) fn attribute_path(&mut self, base: &Val, path: &Val, pos: Pos, desc: &str) -> Val {
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

    pub(super) fn apply_filter(
        &mut self,
        name: &str,
        base: Val,
        args: &'a Args,
        pos: Pos,
        desc: &str,
    ) -> Val {
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
    pub(super) fn apply_filter_values(
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
