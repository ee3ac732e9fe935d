//! The globals policy: what one imported `(module, qualname)` is, in three tiers.
//!
//! 1. *Dangerous*: a denylist (ModelScan's, picklescan's and fickling's lists merged, plus the
//!    additions of `shared/spec/globals-policy.md` §2.5), matched on every dotted prefix of the
//!    module and of the qualname, on attribute walks into other modules (`random._os.system`), and
//!    on private twins (`_io` for `io`).
//! 2. *Safe*: allowlist profiles for what real model files contain (torch's `weights_only` set,
//!    numpy, scikit-learn, pandas, scipy, xgboost, lightgbm, catboost, transformers, tokenizers,
//!    stdlib data types), each entry with the reason it is safe.
//! 3. *Unknown*: everything else, split into standard-library names and third-party names.
//!
//! Name resolution as CPython performs it (`_compat_pickle` for protocols < 3, `posix`/`nt`
//! as `os`) is in `resolve`; the VM calls it before `judge`. What the VM does with a verdict (when
//! an unknown global becomes an issue) is decided in `vm.rs`.

use super::python_tables::{IMPORT_MAPPING, NAME_MAPPING, STDLIB_MODULES};
use crate::findings::Severity;
use crate::settings::{NameFilter, Settings};

/// The verdict on one imported global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// On an allowlist profile.
    Safe,
    /// Not listed exactly, but a class-shaped name of a library profile (scikit-learn, torch,
    /// pandas ...): importing it and constructing it with `__new__` (NEWOBJ,
    /// `copyreg._reconstructor`) and setting its state are data; *calling* it is not vouched
    /// for (a library class can exec a string, open a file or be a function re-exported under a
    /// capitalised name), so a call is judged as a call of an unknown global.
    ConstructOnly { reason: &'static str },
    /// On neither list; `stdlib` when the module belongs to Python's standard library.
    Unknown { stdlib: bool },
    /// Known to be dangerous, with the severity and a one-line reason.
    Dangerous { severity: Severity, reason: String },
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Safe => "safe",
            Verdict::ConstructOnly { .. } => "construct-only",
            Verdict::Unknown { .. } => "unknown",
            Verdict::Dangerous { .. } => "dangerous",
        }
    }
}

/// `(module, name)` as the unpickler really looks it up: `_compat_pickle`'s fix_imports
/// mapping applies when the stream's protocol is below 3 (`Unpickler.find_class`).
pub fn resolve<'a>(module: &'a str, name: &'a str, protocol: u8) -> (&'a str, &'a str) {
    if protocol < 3 && maybe_renamed(module) {
        // Both tables are sorted (a test checks it).
        if let Ok(i) = NAME_MAPPING.binary_search_by(|((a, b), _)| (*a, *b).cmp(&(module, name))) {
            if let Some((_, (m2, n2))) = NAME_MAPPING.get(i) {
                return (m2, n2);
            }
        } else if let Ok(i) = IMPORT_MAPPING.binary_search_by(|(a, _)| (*a).cmp(module)) {
            if let Some((_, m2)) = IMPORT_MAPPING.get(i) {
                return (m2, name);
            }
        }
    }
    (module, name)
}

/// Whether `module` can be a module of `_compat_pickle`'s tables: a bit per (first byte,
/// length) of theirs, so that the modules of a model file (none of them there) are turned away
/// without searching the tables.
fn maybe_renamed(module: &str) -> bool {
    static SHAPES: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let shapes = SHAPES.get_or_init(|| {
        let mut t = [0u64; 256];
        let modules = NAME_MAPPING
            .iter()
            .map(|((m, _), _)| *m)
            .chain(IMPORT_MAPPING.iter().map(|(m, _)| *m));
        for m in modules {
            if let Some(slot) = m.bytes().next().and_then(|b| t.get_mut(usize::from(b))) {
                *slot |= 1u64 << m.len().min(63);
            }
        }
        t
    });
    let Some(first) = module.bytes().next() else {
        return false;
    };
    shapes
        .get(usize::from(first))
        .is_some_and(|bits| bits & (1u64 << module.len().min(63)) != 0)
}

/// Module aliases that are the same module object at run time.
fn canonical_module(m: &str) -> &str {
    match m {
        "posix" | "nt" => "os",
        "__builtin__" | "__builtins__" => "builtins",
        "posixpath" | "ntpath" => "os.path",
        _ => m,
    }
}

pub fn is_stdlib(module: &str) -> bool {
    let top = module.split('.').next().unwrap_or(module);
    STDLIB_MODULES.binary_search(&top).is_ok()
}

type Entry = (&'static str, &'static str, Severity, &'static str);

use Severity::{Critical as C, High as H, Medium as M};

mod allow;
mod callables;
mod deny;
pub mod docs;
mod library_names;
mod numpy_names;
mod profiles;
#[cfg(test)]
mod tests;

use allow::*;
pub use allow::{
    Allow, BUILD_GUARDS, BuildGuard, CONSTRUCT, FUNC, Ops, TYPE, allow_reason, allowed,
    build_guard, entries as allow_entries, plain_formula, scipy_arg_template,
};
pub use callables::{
    Calls, HIGHER_ORDER, HigherOrder, IMPLICIT_CALLS, NESTED_LOADERS, OPCODE_CALLS, higher_order,
    implicit_call_methods, is_higher_order, is_nested_loader,
};
use deny::*;
pub use profiles::library_class_reason;

/// The dotted components of a qualname that look like dunders (`__globals__`).
fn dunder_component(qualname: &str) -> Option<&str> {
    qualname
        .split('.')
        .find(|c| c.len() > 4 && c.starts_with("__") && c.ends_with("__"))
}

fn module_matches(pattern: &str, module: &str) -> bool {
    module == pattern
        || module
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn name_matches(pattern: &str, qualname: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return qualname.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return qualname.ends_with(suffix);
    }
    qualname == pattern
        || qualname
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
}

/// Every (module, qualname) the lookup could really reach: the name as given, each dotted
/// prefix of it (`find_class` walks attributes one by one), attribute walks read as submodule
/// imports (`torch` + `hub.load` reaches `torch.hub`), private aliases of modules inside a
/// qualname (`random` + `_os.system` reaches `os.system`), and private twins (`_io` as `io`).
/// Dotted names are split into (module, attribute path) pairs at their first this-many dots
/// only. Real qualified names have a handful of components; a hostile one can have thousands,
/// and every split costs a copy of the name, so without a cap one import costs quadratic time.
const MAX_SPLIT_COMPONENTS: usize = 16;

/// Attribute walks through denylisted modules followed per name, at most (see below).
const MAX_MODULE_WALKS: usize = 16;

fn candidates(module: &str, qualname: &str) -> Vec<(String, String)> {
    let module = canonical_module(module);
    let comps: Vec<&str> = qualname.split('.').collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut seen: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
    let mut push = |m: String, q: String| {
        if seen.insert((m.clone(), q.clone())) {
            out.push((m, q));
        }
    };
    let mut modules = vec![module.to_string()];
    if let Some(twin) = module.strip_prefix('_') {
        if is_stdlib(twin) && !twin.starts_with('_') {
            modules.push(twin.to_string());
        }
    }
    let splits = comps.len().min(MAX_SPLIT_COMPONENTS);
    for m in &modules {
        push(m.clone(), qualname.to_string());
        for k in 1..splits {
            let head = comps.get(..k).unwrap_or(&[]).join(".");
            let tail = comps.get(k..).unwrap_or(&[]).join(".");
            push(m.clone(), head.clone());
            push(format!("{m}.{head}"), tail);
        }
    }
    // Attribute walks into another module: any component may be a module object imported
    // by the one before it (`_os`, `os`, `sys`, `_sys`, `subprocess` ...). Every component is
    // looked at; the rest of the name is only built for the first few that are denylisted.
    let mut walks = 0usize;
    for k in 0..comps.len().saturating_sub(1) {
        let Some(c) = comps.get(k) else { continue };
        let bare = canonical_module(c.trim_start_matches('_'));
        if DENYLIST.iter().any(|(m, _, _, _)| module_matches(m, bare)) {
            let tail = comps.get(k + 1..).unwrap_or(&[]).join(".");
            push(bare.to_string(), tail);
            walks += 1;
            if walks >= MAX_MODULE_WALKS {
                break;
            }
        }
    }
    out
}

fn deny_lookup(settings: &Settings, module: &str, qualname: &str) -> Option<(Severity, String)> {
    let mut worst: Option<(Severity, String)> = None;
    let mut consider = |sev: Severity, why: String| {
        if worst.as_ref().is_none_or(|(w, _)| sev > *w) {
            worst = Some((sev, why));
        }
    };
    for (m, q) in candidates(module, qualname) {
        for (pm, pn, sev, why) in DENYLIST {
            if module_matches(pm, &m) && name_matches(pn, &q) {
                let target = if *pn == "*" {
                    format!("module {pm}")
                } else {
                    format!("{pm}.{pn}")
                };
                consider(*sev, format!("{target} {why}"));
            }
        }
        for (pattern, sev) in &settings.deny {
            if let Some((pm, pn)) = split_pattern(pattern) {
                if module_matches(pm, &m) && name_matches(pn, &q) {
                    consider(*sev, format!("{pattern} is denied by the settings file"));
                }
            }
        }
    }
    worst
}

/// Whether a deny entry names this global itself (not only its whole module).
fn denied_by_name(module: &str, qualname: &str) -> bool {
    candidates(module, qualname).iter().any(|(m, q)| {
        DENYLIST
            .iter()
            .any(|(pm, pn, _, _)| *pn != "*" && module_matches(pm, m) && name_matches(pn, q))
    })
}

/// "module.name" -> (module, name), where the module is everything before the last dot
/// that precedes a capitalised or starred component; "module.*" -> (module, "*").
fn split_pattern(p: &str) -> Option<(&str, &str)> {
    if let Some(m) = p.strip_suffix(".*") {
        return Some((m, "*"));
    }
    p.rsplit_once('.')
}

/// What a name judged `Verdict::Safe` may be used for. A name the settings allow, or one that a
/// rule rather than an entry vouches for, may be used for everything; an entry says exactly.
pub fn allowed_ops(settings: &Settings, module: &str, qualname: &str) -> Ops {
    let canon = canonical_module(module);
    if allowed_by_settings(settings, canon, qualname) {
        return TYPE;
    }
    allowed(canon, qualname).map_or(TYPE, |(ops, _)| ops)
}

fn allowed_by_settings(settings: &Settings, module: &str, qualname: &str) -> bool {
    settings.allow.iter().any(|p| match split_pattern(p) {
        Some((pm, "*")) => module_matches(pm, module),
        Some(_) => *p == format!("{module}.{qualname}"),
        None => false,
    })
}

/// Allowlist names match exactly (or by an explicit `*` pattern), never their dotted
/// descendants: `numpy.ndarray` is safe, `numpy.ndarray.tofile` is not.
fn allow_name_matches(pattern: &str, qualname: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return qualname.starts_with(prefix);
    }
    if let Some(suffix) = pattern.strip_prefix('*') {
        return qualname.ends_with(suffix) && !qualname.contains('.');
    }
    qualname == pattern
}

/// ModelScan's own matching of its `unsafe_globals` table (exact module, `*` or substring of
/// the name); the severity of the first table that matches, CRITICAL first.
pub fn modelscan_floor(settings: &Settings, module: &str, name: &str) -> Option<Severity> {
    for (sev, table) in &settings.unsafe_globals {
        if let Some(filter) = table.get(module) {
            let hit = match filter {
                NameFilter::All => true,
                NameFilter::Substrings(subs) => subs.iter().any(|s| name.contains(s.as_str())),
            };
            if hit {
                return Some(*sev);
            }
        }
    }
    None
}

/// Judge `module` + `qualname` (dotted) after the CPython name resolution has been applied.
///
/// The verdict depends on the built-in tables and on three settings (`deny`, `unsafe_globals`,
/// `allow`). The table-only part is the costly one (a walk of every candidate name against the
/// denylist and the allowlists), so it is memoised per thread (`STATIC_CACHE`); the
/// settings are applied afresh on every call, so a cached entry is right for any `Settings`.
pub fn judge(settings: &Settings, module: &str, qualname: &str) -> Verdict {
    judge_ops(settings, module, qualname).0
}

/// `judge`, with what a `Verdict::Safe` name may be used for (`allowed_ops`), from the same
/// per-thread memo.
pub fn judge_ops(settings: &Settings, module: &str, qualname: &str) -> (Verdict, Ops) {
    let with_ops = |part: &StaticPart| {
        let v = judge_with(settings, module, qualname, part);
        let ops = if allowed_by_settings(settings, canonical_module(module), qualname) {
            TYPE
        } else {
            part.ops
        };
        (v, ops)
    };
    let hit = STATIC_CACHE.try_with(|c| {
        let c = c.try_borrow().ok()?;
        let part = c.0.get(module)?.get(qualname)?;
        Some(with_ops(part))
    });
    if let Ok(Some(v)) = hit {
        return v;
    }
    let part = StaticPart::compute(module, qualname);
    let v = with_ops(&part);
    part.remember(module, qualname);
    v
}

/// `judge` without the per-thread memo: every table is walked again. The reference the memo is
/// tested against.
#[cfg(test)]
fn judge_uncached(settings: &Settings, module: &str, qualname: &str) -> Verdict {
    judge_with(
        settings,
        module,
        qualname,
        &StaticPart::compute(module, qualname),
    )
}

/// `judge`, given the table-only facts about `(module, qualname)`.
fn judge_with(settings: &Settings, module: &str, qualname: &str, part: &StaticPart) -> Verdict {
    let canon = canonical_module(module);
    // With no settings deny entries, the deny walk is the built-in denylist's alone; otherwise
    // both are walked together (the first entry of the highest severity wins, in walk order).
    let mut danger = if settings.deny.is_empty() {
        part.deny.clone()
    } else {
        deny_lookup(settings, module, qualname)
    };
    let floor_module = modelscan_floor(settings, module, qualname);
    // Same lookup when the module is its own canonical name: no need to do it twice.
    let floor_canon = if canon == module {
        floor_module
    } else {
        modelscan_floor(settings, canon, qualname)
    };
    for (m, f) in [(module, floor_module), (canon, floor_canon)] {
        if let Some(sev) = f {
            if danger.as_ref().is_none_or(|(s, _)| sev > *s) {
                danger = Some((
                    sev,
                    format!("{m}.{qualname} is in the unsafe_globals table"),
                ));
            }
        }
    }
    let allowed = allowed_by_settings(settings, canon, qualname);
    if allowed && danger.is_none() {
        return Verdict::Safe;
    }
    // An exact allowlist entry (types.SimpleNamespace) wins over a module-wide deny entry
    // (types.*), never over one that names it.
    let floor = floor_module.or(floor_canon);
    if part.exact_allow_not_named && floor.is_none() {
        return Verdict::Safe;
    }
    if let Some((severity, reason)) = danger {
        return Verdict::Dangerous { severity, reason };
    }
    if allowed {
        return Verdict::Safe;
    }
    part.rest.clone()
}

/// What the built-in tables alone say about one `(module, qualname)`: everything `judge` needs
/// that does not depend on the settings.
#[derive(Debug, Clone)]
struct StaticPart {
    /// The worst built-in denylist match over every candidate name (`deny_lookup` without
    /// settings deny entries).
    deny: Option<(Severity, String)>,
    /// An exact allowlist entry names it and no deny entry names it (module-wide ones aside).
    exact_allow_not_named: bool,
    /// The verdict when neither the denylists nor the settings decided.
    rest: Verdict,
    /// What the entry that lists it allows (everything when no entry does).
    ops: Ops,
}

/// Most `(module, qualname)` pairs remembered per thread; past it, verdicts are computed
/// without being stored, so a file with millions of distinct names costs no more memory.
const STATIC_CACHE_MAX: usize = 4096;

/// module -> qualname -> table-only facts, per thread (no lock on the scanning threads).
type StaticCache =
    std::collections::HashMap<Box<str>, std::collections::HashMap<Box<str>, StaticPart>>;

thread_local! {
    static STATIC_CACHE: std::cell::RefCell<(StaticCache, usize)> =
        std::cell::RefCell::new((StaticCache::new(), 0));
}

impl StaticPart {
    fn compute(module: &str, qualname: &str) -> StaticPart {
        let canon = canonical_module(module);
        let deny = deny_lookup_static(module, qualname);
        let exact_allow = ALLOW
            .iter()
            .any(|a| a.module == canon && !a.name.contains('*') && a.name == qualname);
        let exact_allow_not_named = exact_allow && !denied_by_name(module, qualname);
        StaticPart {
            deny,
            exact_allow_not_named,
            rest: rest_verdict(module, qualname),
            ops: allowed(canon, qualname).map_or(TYPE, |(ops, _)| ops),
        }
    }

    /// Store these facts for later calls on this thread, while there is room.
    fn remember(self, module: &str, qualname: &str) {
        let _ = STATIC_CACHE.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                if c.1 < STATIC_CACHE_MAX {
                    c.1 += 1;
                    c.0.entry(Box::from(module))
                        .or_default()
                        .insert(Box::from(qualname), self);
                }
            }
        });
    }
}

/// The built-in denylist's part of `deny_lookup`.
fn deny_lookup_static(module: &str, qualname: &str) -> Option<(Severity, String)> {
    let mut worst: Option<(Severity, String)> = None;
    for (m, q) in candidates(module, qualname) {
        for (pm, pn, sev, why) in DENYLIST {
            if module_matches(pm, &m)
                && name_matches(pn, &q)
                && worst.as_ref().is_none_or(|(w, _)| *sev > *w)
            {
                let target = if *pn == "*" {
                    format!("module {pm}")
                } else {
                    format!("{pm}.{pn}")
                };
                worst = Some((*sev, format!("{target} {why}")));
            }
        }
    }
    worst
}

/// The end of `judge`, when neither a deny entry, the settings, nor an exact allowlist entry
/// decided: allowlist patterns, TorchScript classes, dunder walks, the allowlist profiles.
fn rest_verdict(module: &str, qualname: &str) -> Verdict {
    let canon = canonical_module(module);
    if ALLOW
        .iter()
        .any(|a| a.module == canon && allow_name_matches(a.name, qualname))
    {
        return Verdict::Safe;
    }
    if module == "__torch__" || module.starts_with("__torch__.") {
        // TorchScript classes: torch.jit.load resolves them from the archive's own code/
        // folder (scanned as code), never by a Python import.
        return Verdict::Safe;
    }
    if let Some((sev, why)) = aliased_walk(qualname) {
        return Verdict::Dangerous {
            severity: sev,
            reason: why,
        };
    }
    if let Some(d) = dunder_component(qualname) {
        return Verdict::Dangerous {
            severity: Severity::Critical,
            reason: format!(
                "the qualname walks through `{d}`, which reaches interpreter internals"
            ),
        };
    }
    if module.split('.').any(|c| {
        c.len() > 4
            && c.starts_with("__")
            && c.ends_with("__")
            && c != "__main__"
            && c != "__builtin__"
            && c != "__builtins__"
    }) {
        return Verdict::Dangerous {
            severity: Severity::Critical,
            reason: "the module path walks through a dunder attribute".into(),
        };
    }
    if allow_reason(canon, qualname).is_some() {
        return Verdict::Safe;
    }
    if let Some(reason) = library_class_reason(canon, qualname) {
        return Verdict::ConstructOnly { reason };
    }
    Verdict::Unknown {
        stdlib: is_stdlib(canon),
    }
}

/// A dotted qualname whose first component is not class-shaped walks through a module
/// attribute, which can be any module the first one imported under any alias (`mp` for
/// multiprocessing, `_t` for types). The alias cannot be resolved without importing, but the
/// name at the end can be matched: one that a deny entry names is reported as that entry.
fn aliased_walk(qualname: &str) -> Option<(Severity, String)> {
    let (head, _) = qualname.split_once('.')?;
    if head.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
        return None;
    }
    let last = qualname.rsplit('.').next().unwrap_or(qualname);
    DENYLIST
        .iter()
        .filter(|(_, pn, _, _)| *pn == last)
        .max_by_key(|(_, _, sev, _)| *sev)
        .map(|(pm, pn, sev, why)| {
            (
                *sev,
                format!(
                    "`{qualname}` walks through a module attribute to `{last}`, the name of \
                     {pm}.{pn}, which {why}"
                ),
            )
        })
}
