//! The abstract domain: a `Val` is a set of possible constant strings (and ints, items,
//! fields) with flags for what is not known (`built`, `data`) and an origin chain for
//! objects reached from a global or through internals; and the operations on values that
//! mirror Python's (`~`, `+`, `%`, indexing, slicing, `join`, `replace`). The rules that
//! judge an access are in `access.rs`.

use super::*;

// ---- abstract values --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Origin {
    pub(super) chain: String,
    /// Reached through a dunder/private attribute (as opposed to a bare global).
    pub(super) introspected: bool,
    /// The global the chain starts from, for a bare global.
    pub(super) root: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Val {
    /// Known possible string values.
    pub(super) strs: Vec<String>,
    /// Known possible integer values.
    pub(super) ints: Vec<i64>,
    /// `str()` of other scalar constants (`True`, `None`, floats), for `~`.
    pub(super) lit: Vec<String>,
    /// May also be something computed from template constants that was not resolved.
    pub(super) built: bool,
    /// May also be something from the render context.
    pub(super) data: bool,
    /// Elements of a literal list/tuple (or the keys of a dict).
    pub(super) items: Option<Vec<Val>>,
    /// Fields of a dict literal or a `dict()` call.
    pub(super) fields: Option<Vec<(String, Val)>>,
    /// A `namespace()` object.
    pub(super) ns: Option<usize>,
    pub(super) origin: Option<Origin>,
    /// A literal object (`''`, `[]`, `{}`, `()`).
    pub(super) literal: bool,
    /// A method of a constant value, not yet called.
    pub(super) method: Option<Box<(Val, String)>>,
    /// A macro (or a call block's `caller`).
    pub(super) mac: Option<usize>,
}

impl Val {
    pub(super) fn data() -> Val {
        Val {
            data: true,
            ..Val::default()
        }
    }

    pub(super) fn built() -> Val {
        Val {
            built: true,
            ..Val::default()
        }
    }

    pub(super) fn string(s: impl Into<String>) -> Val {
        let s = s.into();
        if s.len() > MAX_STR_LEN {
            return Val::built();
        }
        Val {
            strs: vec![s],
            ..Val::default()
        }
    }

    pub(super) fn int(i: i64) -> Val {
        Val {
            ints: vec![i],
            ..Val::default()
        }
    }

    pub(super) fn lit(s: &str) -> Val {
        Val {
            lit: vec![s.to_string()],
            ..Val::default()
        }
    }

    pub(super) fn origin(chain: String, introspected: bool, root: &str) -> Val {
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
    pub(super) fn only_strs(&self) -> bool {
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
    pub(super) fn is_unknown(&self) -> bool {
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
    pub(super) fn str_forms(&self) -> (Vec<String>, bool, bool) {
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
    pub(super) fn stringified(&self) -> Val {
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

pub(super) fn cap_chain(mut chain: String) -> String {
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

pub(super) fn push_str(v: &mut Val, s: String) {
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

pub(super) fn str_bytes(v: &Val) -> usize {
    v.strs.iter().map(String::len).sum()
}

/// No more strings fit: combining loops stop here.
pub(super) fn full(v: &Val) -> bool {
    v.strs.len() >= MAX_STRS || str_bytes(v) >= MAX_VAL_BYTES
}

pub(super) fn push_int(v: &mut Val, i: i64) {
    if !v.ints.contains(&i) {
        if v.ints.len() >= MAX_STRS {
            v.built = true;
        } else {
            v.ints.push(i);
        }
    }
}

/// Either value (the union of what both may be).
pub(super) fn join(a: Val, b: Val) -> Val {
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
pub(super) fn concat(a: &Val, b: &Val) -> Val {
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
pub(super) fn combos(vals: &[Vec<String>]) -> Option<Vec<Vec<String>>> {
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

/// Positional and named arguments of one `%`-formatting attempt.
pub(super) type FmtCandidate = (Vec<FmtArg>, Vec<(String, FmtArg)>);
/// Possible values of each named `%`-formatting argument.
pub(super) type NamedForms = Vec<(String, Vec<FmtArg>)>;

pub(super) fn add_to(out: &mut Option<Val>, v: Val) {
    *out = Some(match out.take() {
        Some(p) => join(p, v),
        None => v,
    });
}

pub(super) fn with_trimmed(v: Val) -> Val {
    // trim_blocks / lstrip_blocks (on in transformers) remove whitespace around tags; the
    // rendered text of a block may be the trimmed form.
    let mut out = v.clone();
    for s in &v.strs {
        push_str(&mut out, s.trim().to_string());
    }
    out
}

pub(super) fn dict_val(fields: Vec<(String, Val)>) -> Val {
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

pub(super) fn range_val(args: &[Val]) -> Val {
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
pub(super) fn elem_of(v: &Val) -> Val {
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

pub(super) fn index_val(base: &Val, i: i64) -> Val {
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

pub(super) fn one_int(v: Option<&Val>) -> Result<Option<i64>, ()> {
    match v {
        None => Ok(None),
        Some(v) if v.lit.iter().any(|l| l == "None") && v.ints.is_empty() => Ok(None),
        Some(v) => match (v.ints.as_slice(), v.data || v.built) {
            ([i], false) => Ok(Some(*i)),
            _ => Err(()),
        },
    }
}

pub(super) fn slice_val(
    base: &Val,
    start: Option<&Val>,
    stop: Option<&Val>,
    step: Option<&Val>,
) -> Val {
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

pub(super) fn map_strs(v: &Val, f: impl Fn(&str) -> String) -> Val {
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

pub(super) fn replace_val(base: &Val, old: &Val, new: &Val) -> Val {
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

pub(super) fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// `sep.join(iterable)` / `iterable|join(sep)`.
pub(super) fn join_strings(sep: &Val, iterable: &Val) -> Val {
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

pub(super) fn fmt_args(v: &Val) -> Vec<FmtArg> {
    let mut out: Vec<FmtArg> = v.strs.iter().map(|s| FmtArg::Str(s.clone())).collect();
    out.extend(v.ints.iter().map(|i| FmtArg::Int(*i)));
    out.extend(v.lit.iter().map(|s| FmtArg::Str(s.clone())));
    out
}

pub(super) fn binary(op: &str, l: &Val, r: &Val) -> Val {
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
