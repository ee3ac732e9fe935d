//! Unit tests of the globals policy.

#[test]
fn a_name_with_thousands_of_dots_gives_a_bounded_candidate_list() {
    let long = format!("{}os.system", "x.".repeat(5000));
    let c = candidates("builtins", &long);
    // The whole name, 2 pairs per split of the first components, the module walks.
    assert!(
        c.len() <= 1 + 2 * MAX_SPLIT_COMPONENTS + MAX_MODULE_WALKS,
        "{}",
        c.len()
    );
    // A denylisted module deep in the chain is still followed.
    assert!(c.contains(&("os".to_string(), "system".to_string())));
    let walks = format!("{}system", "os.".repeat(5000));
    let c = candidates("builtins", &walks);
    assert!(
        c.len() <= 1 + 2 * MAX_SPLIT_COMPONENTS + MAX_MODULE_WALKS,
        "{}",
        c.len()
    );
}
use super::profiles::*;
use super::*;

fn s() -> Settings {
    Settings::defaults()
}

fn sev(v: &Verdict) -> Option<Severity> {
    match v {
        Verdict::Dangerous { severity, .. } => Some(*severity),
        _ => None,
    }
}

#[test]
fn posix_system_is_critical() {
    assert_eq!(
        sev(&judge(&s(), "posix", "system")),
        Some(Severity::Critical)
    );
}

#[test]
fn private_os_alias_inside_a_harmless_module_is_critical() {
    assert_eq!(
        sev(&judge(&s(), "random", "_os.system")),
        Some(Severity::Critical)
    );
}

#[test]
fn dotted_class_method_of_a_denied_module_is_dangerous() {
    assert_eq!(
        sev(&judge(&s(), "bdb", "Bdb.run")),
        Some(Severity::Critical)
    );
    assert!(sev(&judge(&s(), "torch", "hub.load")).is_some());
}

#[test]
fn submodule_of_a_denied_module_is_dangerous() {
    assert!(sev(&judge(&s(), "multiprocessing.util", "spawnv_passfds")).is_some());
    assert!(sev(&judge(&s(), "_posixsubprocess", "fork_exec")).is_some());
}

#[test]
fn compat_mapping_turns_py2_names_into_py3_modules() {
    assert_eq!(resolve("__builtin__", "eval", 2), ("builtins", "eval"));
    assert_eq!(resolve("commands", "getoutput", 0).0, "subprocess");
    assert_eq!(resolve("commands", "getoutput", 4).0, "commands");
}

#[test]
fn compat_tables_are_sorted_so_that_resolve_can_search_them() {
    assert!(NAME_MAPPING.windows(2).all(|w| match w {
        [a, b] => a.0 < b.0,
        _ => true,
    }));
    assert!(IMPORT_MAPPING.windows(2).all(|w| match w {
        [a, b] => a.0 < b.0,
        _ => true,
    }));
    // Every entry is found, with the name table first, as `_compat_pickle` applies them.
    for ((m, n), (m2, n2)) in NAME_MAPPING {
        assert_eq!(resolve(m, n, 2), (*m2, *n2));
        assert_eq!(resolve(m, n, 3), (*m, *n));
    }
    for (m, m2) in IMPORT_MAPPING {
        assert_eq!(resolve(m, "not_renamed", 1), (*m2, "not_renamed"));
    }
    assert_eq!(resolve("zzz", "a", 0), ("zzz", "a"));
    // The quick test that turns other modules away lets every module of the tables through.
    for m in NAME_MAPPING
        .iter()
        .map(|((m, _), _)| *m)
        .chain(IMPORT_MAPPING.iter().map(|(m, _)| *m))
    {
        assert!(maybe_renamed(m), "{m}");
    }
    assert!(!maybe_renamed("numpy") && !maybe_renamed("collections") && !maybe_renamed(""));
}

#[test]
fn framework_classes_are_safe() {
    for (m, n) in [
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch", "FloatStorage"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("sklearn.tree._tree", "Tree"),
        ("numpy", "float64"),
    ] {
        assert_eq!(judge(&s(), m, n), Verdict::Safe, "{m}.{n}");
    }
}

#[test]
fn a_library_profile_vouches_only_for_the_classes_it_lists() {
    // Listed (generated from the libraries): construction and state only.
    for (m, n) in [
        ("sklearn.linear_model._logistic", "LogisticRegression"),
        ("torch.nn.modules.linear", "Linear"),
        ("pandas.core.frame", "DataFrame"),
        ("scipy.spatial._ckdtree", "cKDTree"),
    ] {
        assert!(
            matches!(judge(&s(), m, n), Verdict::ConstructOnly { .. }),
            "{m}.{n}"
        );
    }
    // A name the table does not list is unknown whatever its package or shape: a class that
    // does not exist, a function, a class whose __setstate__ runs code from the state (scipy's
    // distributions exec a template; GraphModule regenerates and execs its code).
    for (m, n) in [
        ("sklearn.linear_model._logistic", "NotAnEstimator"),
        ("torch.nn.modules.linear", "exec_setup"),
        ("torch.fx.graph_module", "GraphModule"),
        ("pandas", "read_pickle"),
    ] {
        assert!(
            matches!(
                judge(&s(), m, n),
                Verdict::Unknown { stdlib: false } | Verdict::Dangerous { .. }
            ),
            "{m}.{n}: {:?}",
            judge(&s(), m, n)
        );
    }
    // Outside the profiles: not vouched for at all.
    assert!(matches!(
        judge(&s(), "fsspec.caching", "MMapCache"),
        Verdict::Unknown { stdlib: false }
    ));
    assert!(matches!(
        judge(&s(), "joblib.parallel", "mp.Process"),
        Verdict::Unknown { .. } | Verdict::Dangerous { .. }
    ));
}

#[test]
fn the_generated_library_table_is_sorted_for_binary_search() {
    use super::profiles::library_lines;
    let lines: Vec<(&str, Vec<&str>)> = library_lines()
        .map(|(m, names)| (m, names.split(' ').collect()))
        .collect();
    assert!(lines.len() > 1000);
    assert_eq!(
        lines.len(),
        super::library_names::LIBRARY_CLASSES.lines().count()
    );
    for w in lines.windows(2) {
        assert!(w[0].0 < w[1].0, "{} / {}", w[0].0, w[1].0);
    }
    for (m, names) in &lines {
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{m}");
    }
    // Every entry is found by the binary search, and names next to it are not.
    let mut n = 0;
    for (m, names) in &lines {
        for name in names {
            assert!(library_class_reason(m, name).is_some(), "{m}.{name}");
            n += 1;
        }
        assert!(library_class_reason(m, "NoSuchName").is_none(), "{m}");
    }
    assert!(n > 50_000, "{n}");
}

#[test]
fn a_model_formula_is_data_only_when_it_names_columns_and_calls_transforms() {
    for f in [
        "y ~ x + np.log(z)",
        "y ~ C(group, Treatment(reference='a')) + x:z + I(x ** 2) - 1",
        "np.log(y) ~ standardize(x) + bs(z, df=4)",
        "Q('weird name') ~ x",
    ] {
        assert!(plain_formula(f), "{f}");
    }
    for f in [
        "y ~ x + system('touch m')",
        "y ~ I(__import__('os').system('x'))",
        "y ~ os.system(x)",
        "y ~ x + (lambda: 1)()",
        "y ~ x[0]",
        "y ~ I(eval(x))",
        "y ~ np.lib.npyio.os.system(x)",
        "y ~ 'unterminated",
    ] {
        assert!(!plain_formula(f), "{f}");
    }
    let g = build_guard("statsmodels.base.data", "PandasData").unwrap();
    assert!(g.keys.contains(&"restore_model_spec") && g.check.is_some_and(|(k, _)| k == "formula"));
    // scipy's distributions: the template scipy writes is data, anything else is code.
    let norm = "\ndef _parse_args(self,  loc=0, scale=1):\n    return (), loc, scale\n\ndef _parse_args_rvs(self,  loc=0, scale=1, size=None):\n    return self._argcheck_rvs( loc, scale, size=size)\n\ndef _parse_args_stats(self,  loc=0, scale=1, moments='mv'):\n    return (), loc, scale, moments\n";
    let randint = "\ndef _parse_args(self, low, high,  loc=0):\n    return (low, high, ), loc, 1\n\ndef _parse_args_rvs(self, low, high,  loc=0, size=None):\n    return self._argcheck_rvs(low, high,  loc, 1, size=size)\n\ndef _parse_args_stats(self, low, high,  loc=0, moments='mv'):\n    return (low, high, ), loc, 1, moments\n";
    assert!(scipy_arg_template(norm) && scipy_arg_template(randint));
    assert!(!scipy_arg_template(&norm.replace(
        "return (), loc",
        "return __import__('os').system('x'), loc"
    )));
    assert!(!scipy_arg_template(&randint.replace(
        "low, high,  loc=0):",
        "low=exec('x'), high,  loc=0):"
    )));
    assert!(build_guard("scipy.stats._continuous_distns", "norm_gen").is_some());
    assert!(BUILD_GUARDS.iter().all(|g| {
        g.names
            .iter()
            .all(|n| allowed(g.module, n).is_some_and(|(ops, _)| ops.build))
    }));
}

#[test]
fn third_party_and_stdlib_unknowns_are_told_apart() {
    assert_eq!(
        judge(&s(), "mypackage.nets", "Net"),
        Verdict::Unknown { stdlib: false }
    );
    assert_eq!(
        judge(&s(), "html", "unescape"),
        Verdict::Unknown { stdlib: true }
    );
}

#[test]
fn exact_allow_entries_beat_module_wide_denials() {
    assert_eq!(judge(&s(), "types", "SimpleNamespace"), Verdict::Safe);
    assert!(sev(&judge(&s(), "types", "FunctionType")).is_some());
}

#[test]
fn nothing_is_judged_below_modelscans_table() {
    // ModelScan's unsafe_globals table is the floor, whatever the allowlists say.
    for (m, n) in [
        ("os", "stat_result"),
        ("posix", "getcwd"),
        ("socket", "AddressFamily"),
    ] {
        assert_eq!(sev(&judge(&s(), m, n)), Some(Severity::Critical), "{m}.{n}");
    }
}

#[test]
fn allowlisted_classes_do_not_allow_their_methods() {
    assert_eq!(judge(&s(), "numpy", "ndarray"), Verdict::Safe);
    assert_ne!(judge(&s(), "numpy", "ndarray.tofile"), Verdict::Safe);
    assert_ne!(
        judge(&s(), "collections", "OrderedDict.fromkeys"),
        Verdict::Safe
    );
    assert_ne!(judge(&s(), "numpy", "memmap"), Verdict::Safe);
    assert_eq!(judge(&s(), "numpy", "log1p"), Verdict::Safe);
    assert_eq!(
        judge(&s(), "sklearn.neighbors._kd_tree", "newObj"),
        Verdict::Safe
    );
    assert_eq!(judge(&s(), "logging", "getLogger"), Verdict::Safe);
    assert!(sev(&judge(&s(), "logging.config", "dictConfig")).is_some());
}

#[test]
fn dunder_walks_are_critical() {
    assert_eq!(
        sev(&judge(&s(), "mypackage", "thing.__globals__")),
        Some(Severity::Critical)
    );
}

/// `judge` as it was written before the table-only part was memoised: the reference the
/// memoised `judge` must agree with.
fn judge_reference(settings: &Settings, module: &str, qualname: &str) -> Verdict {
    let canon = canonical_module(module);
    let mut danger = deny_lookup(settings, module, qualname);
    for (m, n) in [(module, qualname), (canon, qualname)] {
        if let Some(sev) = modelscan_floor(settings, m, n) {
            if danger.as_ref().is_none_or(|(s, _)| sev > *s) {
                danger = Some((sev, format!("{m}.{n} is in the unsafe_globals table")));
            }
        }
    }
    if allowed_by_settings(settings, canon, qualname) && danger.is_none() {
        return Verdict::Safe;
    }
    let exact_allow = ALLOW
        .iter()
        .any(|a| a.module == canon && !a.name.contains('*') && a.name == qualname);
    let floor = modelscan_floor(settings, module, qualname)
        .or_else(|| modelscan_floor(settings, canon, qualname));
    if exact_allow && !denied_by_name(module, qualname) && floor.is_none() {
        return Verdict::Safe;
    }
    if let Some((severity, reason)) = danger {
        return Verdict::Dangerous { severity, reason };
    }
    if allowed_by_settings(settings, canon, qualname) {
        return Verdict::Safe;
    }
    rest_verdict(module, qualname)
}

/// Every name the tables know, in the forms a pickle can write them: as listed, with a
/// sample name for module-wide entries, dotted walks, submodules, aliases, private twins.
fn table_names() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |m: &str, n: &str| {
        let n = n.replace('*', "x");
        for (m2, n2) in [
            (m.to_string(), n.clone()),
            (format!("{m}.sub"), n.clone()),
            (format!("_{m}"), n.clone()),
            (m.to_string(), format!("{n}.attr")),
            (m.to_string(), format!("Cls.{n}")),
            (m.to_string(), format!("{n}.__globals__")),
            ("random".to_string(), format!("_{m}.{n}")),
        ] {
            out.push((m2, n2));
        }
    };
    for (m, n, _, _) in DENYLIST {
        add(m, n);
    }
    for a in ALLOW {
        add(a.module, a.name);
    }
    for (m, _) in ALLOW_LIBRARY_PREFIXES {
        for n in ["Model", "_reconstruct", "newObj", "helper", "float64"] {
            add(m, n);
        }
    }
    for n in TORCH_DTYPES {
        add("torch", n);
    }
    for (from, to) in NAME_MAPPING {
        add(from.0, from.1);
        add(to.0, to.1);
    }
    for (from, to) in IMPORT_MAPPING {
        add(from, "thing");
        add(to, "Thing");
    }
    for m in [
        "posix",
        "nt",
        "__builtin__",
        "__builtins__",
        "posixpath",
        "ntpath",
        "__torch__.model",
        "__main__",
        "pkg.__init__",
        "mypackage",
        "",
    ] {
        add(m, "system");
        add(m, "Net");
    }
    add("", "");
    out
}

#[test]
fn memoised_verdicts_match_the_reference_for_every_table_name() {
    let defaults = s();
    let mut strict = s();
    strict.strict = true;
    let custom = Settings::from_toml_str(
        "[pickle]\nallow = [\"mypackage.make\", \"numpy.*\", \"os.system\", \"collections.OrderedDict\"]\n\
         [pickle.deny]\n\"otherpkg.*\" = \"HIGH\"\n\"collections.OrderedDict\" = \"LOW\"\n\
         \"torch.load\" = \"MEDIUM\"\n\"sklearn.*\" = \"CRITICAL\"\n",
        Some("t"),
    )
    .unwrap();
    let mut no_table = s();
    no_table.unsafe_globals.clear();
    let names = table_names();
    assert!(names.len() > 1000);
    for settings in [&defaults, &strict, &custom, &no_table] {
        // Twice: the first call fills the memo, the second reads it.
        for _ in 0..2 {
            for (m, n) in &names {
                let want = judge_reference(settings, m, n);
                assert_eq!(judge(settings, m, n), want, "{m} / {n}");
                assert_eq!(judge_uncached(settings, m, n), want, "{m} / {n}");
            }
        }
    }
}

#[test]
fn settings_can_extend_both_lists() {
    let st = Settings::from_toml_str(
        "[pickle]\nallow = [\"mypackage.make\"]\n[pickle.deny]\n\"otherpkg.*\" = \"HIGH\"\n",
        Some("t"),
    )
    .unwrap();
    assert_eq!(judge(&st, "mypackage", "make"), Verdict::Safe);
    assert_eq!(sev(&judge(&st, "otherpkg.sub", "x")), Some(Severity::High));
}

#[test]
fn the_memoised_allowances_are_the_tables_allowances() {
    let s = Settings::defaults();
    for (m, q) in [
        ("numpy", "sin"),
        ("typing", "TypeVar"),
        ("typing", "ForwardRef"),
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor_v2"),
    ] {
        for _ in 0..2 {
            let (v, ops) = judge_ops(&s, m, q);
            assert_eq!(v, Verdict::Safe, "{m}.{q}");
            assert_eq!(ops, allowed_ops(&s, m, q), "{m}.{q}");
        }
    }
    assert!(!judge_ops(&s, "typing", "TypeVar").1.call);
    assert!(judge_ops(&s, "numpy", "sin").1.call);
}
