//! Unit tests of the VM: opcodes, calls, planted methods, inputs.

use super::*;

fn run(bytes: &[u8]) -> VmOutcome {
    let settings = Settings::defaults();
    let mut budget = Budget::unlimited();
    let vm = Vm::new(&settings, &mut budget);
    vm.run(&mut Input::new(bytes), StreamKind::Multiple)
}

fn rules(o: &VmOutcome) -> Vec<&'static str> {
    o.findings.iter().map(|f| f.rule).collect()
}

#[test]
fn strings_are_kept_inline_when_short_and_decoded_as_python_does() {
    assert!(
        std::mem::size_of::<V>() <= 32,
        "{}",
        std::mem::size_of::<V>()
    );
    for (bytes, text, inline) in [
        (&b"coef_"[..], "coef_", true),
        (&[b'a'; INLINE_TEXT][..], &"a".repeat(INLINE_TEXT)[..], true),
        (
            &[b'a'; INLINE_TEXT + 1][..],
            &"a".repeat(INLINE_TEXT + 1)[..],
            false,
        ),
        ("\u{e9}t\u{e9}".as_bytes(), "\u{e9}t\u{e9}", true),
        (&b"a\xffb"[..], "a\u{fffd}b", true),
        (&b""[..], "", true),
    ] {
        let t = Text::from_utf8_lossy(bytes);
        assert_eq!(t.as_str(), text);
        assert_eq!(matches!(t, Text::Inline(..)), inline, "{text:?}");
    }
}

#[test]
fn container_opcodes_move_items_off_the_stack_and_check_what_is_under_them() {
    let top = |p: &[u8]| {
        let o = run(p);
        let t = o.tops.first().map(|t| (t.kind.clone(), t.len));
        (t, o.error.clone(), rules(&o))
    };
    let ok = |kind: &str, len: usize| (Some((kind.to_string(), Some(len))), None, vec![]);
    // APPEND, APPENDS, SETITEM, SETITEMS, ADDITEMS on fresh containers.
    assert_eq!(top(b"]K\x01a."), ok("list", 1));
    assert_eq!(top(b"](K\x01K\x02K\x03e."), ok("list", 3));
    assert_eq!(top(b"}K\x01K\x02s."), ok("dict", 1));
    assert_eq!(top(b"}(K\x01K\x02K\x03K\x04uK\x05K\x06s."), ok("dict", 3));
    assert_eq!(top(b"\x80\x04\x8f(K\x01K\x02\x90."), ok("set", 2));
    // A container under a mark: the items above the inner mark only.
    assert_eq!(
        top(b"(}(K\x01K\x02ut."),
        (Some(("tuple".to_string(), Some(1))), None, vec![])
    );
    // The target must lie above the enclosing mark, as in _pickle.c.
    let underflow = Some("unpickling stack underflow".to_string());
    assert_eq!(top(b"(K\x01a.").1, underflow);
    assert_eq!(top(b"(K\x01K\x02s.").1, underflow);
    assert_eq!(top(b"(K\x01K\x02u.").1, underflow);
    assert_eq!(top(b"(K\x01e.").1, underflow);
    assert_eq!(top(b"](K\x01e(e.").1, None);
    assert_eq!(
        top(b"}(K\x01u.").1,
        Some("odd number of items for SETITEMS".to_string())
    );
    // On something that is not a container: nothing kept, nothing wrong.
    assert_eq!(
        top(b"K\x07(K\x01K\x02u."),
        (Some(("int".to_string(), None)), None, vec![])
    );
    // On an imported callable: reported.
    for p in [&b"cos\nsystem\nK\x01a."[..], b"cos\nsystem\n(K\x01K\x02u."] {
        let r = top(p).2;
        assert!(r.contains(&"pickle.build-on-callable"), "{r:?}");
    }
}

#[test]
fn protocol_0_os_system_is_a_dangerous_global() {
    let o = run(b"cposix\nsystem\n(S'echo hi'\ntR.");
    assert_eq!(rules(&o), vec!["pickle.dangerous-global"]);
    assert_eq!(o.findings[0].severity, Severity::Critical);
    assert_eq!(o.findings[0].module, "posix");
    assert_eq!(o.findings[0].offset, 0);
    assert!(o.error.is_none());
}

#[test]
fn an_unknown_function_is_flagged_whichever_opcode_calls_it() {
    let called = |p: &[u8]| {
        let o = run(p);
        assert!(o.error.is_none(), "{:?}", o.error);
        rules(&o)
    };
    let flagged = vec!["pickle.unknown-global-called"];
    // REDUCE, INST and OBJ all call the object they are given.
    assert_eq!(
        called(b"\x80\x02cevilpkg.helpers\nrun_code\nX\x01\x00\x00\x00x\x85R."),
        flagged
    );
    assert_eq!(called(b"(S'x'\nievilpkg.helpers\nrun_code\n."), flagged);
    assert_eq!(
        called(b"\x80\x02(cevilpkg.helpers\nrun_code\nX\x01\x00\x00\x00xo."),
        flagged
    );
    // With no arguments too: a function is not a type, so the unpickler calls it.
    assert_eq!(called(b"(ievilpkg.helpers\nrun_code\n."), flagged);
    // A capitalised name is called all the same: a class runs its constructor, and a
    // capitalised module attribute can be a function.
    assert_eq!(called(b"(S'x'\nievilpkg.helpers\nRunner\n."), flagged);
    assert_eq!(
        called(b"\x80\x02(cevilpkg.helpers\nRunner\nX\x01\x00\x00\x00xo."),
        flagged
    );
    // So is a class-shaped name of a library profile that no entry lists.
    assert_eq!(called(b"\x80\x02ctorch.utils.data\nDataset\n)R."), flagged);
    // NEWOBJ reaches only a type's __new__: without arguments that is object.__new__;
    // with arguments from the file, the class's own __new__ runs them (sympy evals).
    assert!(called(b"\x80\x02cevilpkg.helpers\nRunner\n)\x81.").is_empty());
    assert_eq!(
        called(b"\x80\x02cevilpkg.helpers\nrun_code\nX\x01\x00\x00\x00x\x85\x81."),
        flagged
    );
    assert_eq!(
        called(b"\x80\x04\x8c\x05sympy\x8c\x03Abs\x93\x8c\x01x\x85\x81."),
        flagged
    );
}

#[test]
fn opcodes_that_call_methods_of_unvouched_classes_are_reported() {
    let rules_of = |p: &[u8]| {
        let o = run(p);
        assert!(o.error.is_none(), "{:?}", o.error);
        rules(&o)
    };
    let want = vec!["pickle.unknown-class-method"];
    // fsspec.caching.MMapCache(): BUILD runs its __setstate__ (which opens a file).
    let obj = b"\x80\x04\x8c\x0efsspec.caching\x8c\tMMapCache\x93)\x81";
    assert_eq!(
        rules_of(&[&obj[..], b"}\x8c\x01k\x8c\x01v\x73b."].concat()),
        want
    );
    // SETITEM on it runs its __setitem__; APPEND its append.
    assert_eq!(
        rules_of(&[&obj[..], b"\x8c\x01k\x8c\x01vs."].concat()),
        want
    );
    assert_eq!(rules_of(&[&obj[..], b"\x8c\x01ka."].concat()), want);
    // A library profile's class, or an allowlisted one, is data.
    let sk =
        b"\x80\x04\x8c\x1esklearn.linear_model._logistic\x8c\x12LogisticRegression\x93)\x81}b.";
    assert!(rules_of(sk).is_empty());
    let od = b"\x80\x04\x8c\x0bcollections\x8c\x0bOrderedDict\x93)R\x8c\x01k\x8c\x01vs.";
    assert!(rules_of(od).is_empty());
}

#[test]
fn a_build_that_plants_a_method_the_unpickler_calls_is_flagged() {
    // SimpleNamespace(); BUILD {'__setstate__': f}; BUILD 'payload' calls f('payload').
    let dict_form = b"\x80\x02ctypes\nSimpleNamespace\n)R}X\x0c\x00\x00\x00__setstate__cevilpkg.helpers\nrun_code\nsbX\x07\x00\x00\x00payloadb.";
    // The same through the slot-state half of a (state, slotstate) pair.
    let slot_form = b"\x80\x02ctypes\nSimpleNamespace\n)RN}X\x0c\x00\x00\x00__setstate__cevilpkg.helpers\nrun_code\ns\x86bX\x07\x00\x00\x00payloadb.";
    for p in [&dict_form[..], &slot_form[..]] {
        let o = run(p);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(rules(&o), vec!["pickle.planted-method"]);
        let f = &o.findings[0];
        assert_eq!(f.severity, Severity::Critical);
        assert!(
            f.description
                .as_deref()
                .is_some_and(|d| d.contains("evilpkg.helpers.run_code")),
            "{f:?}"
        );
    }
    // append/extend/add planted by BUILD and called by APPEND, APPENDS, ADDITEMS.
    let ns = &b"\x80\x04ctypes\nSimpleNamespace\n)R}X"[..];
    for (key, tail) in [
        (&b"append"[..], &b"X\x01\x00\x00\x00xa."[..]),
        (b"extend", b"(X\x01\x00\x00\x00xe."),
        (b"add", b"(X\x01\x00\x00\x00x\x90."),
    ] {
        let mut p = ns.to_vec();
        p.extend_from_slice(&(key.len() as u32).to_le_bytes());
        p.extend_from_slice(key);
        p.extend_from_slice(b"cevilpkg.helpers\nrun_code\nsb");
        p.extend_from_slice(tail);
        let o = run(&p);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(rules(&o), vec!["pickle.planted-method"], "{key:?}");
        // Data under the same name is not a planted method.
        let plain = [&p[..p.len() - tail.len() - 28], b"\x88sb", tail].concat();
        let o = run(&plain);
        assert!(o.error.is_none(), "{:?}", o.error);
        assert!(rules(&o).is_empty(), "{key:?} {:?}", o.findings);
    }
    // A second BUILD with other keys leaves the planted method in place; one that sets
    // the name to data replaces it.
    let planted = b"\x80\x02ctypes\nSimpleNamespace\n)R}X\x06\x00\x00\x00appendcevilpkg.helpers\nrun_code\nsb";
    let other = b"}X\x01\x00\x00\x00yK\x01sb";
    let reset = b"}X\x06\x00\x00\x00append\x88sb";
    let o = run(&[&planted[..], other, b"X\x01\x00\x00\x00xa."].concat());
    assert_eq!(rules(&o), vec!["pickle.planted-method"]);
    let o = run(&[&planted[..], reset, b"X\x01\x00\x00\x00xa."].concat());
    assert!(rules(&o).is_empty(), "{:?}", o.findings);
    // The key hidden past the dict's item cap, or in an OrderedDict built by a call
    // (from pairs, or filled by SETITEMS): still seen.
    let ns = b"\x80\x02ctypes\nSimpleNamespace\n)R";
    let f = b"cevilpkg.helpers\nrun_code\n";
    let mut filler = b"}(".to_vec();
    for i in 0..300u32 {
        filler.extend_from_slice(b"J");
        filler.extend_from_slice(&i.to_le_bytes());
        filler.push(b'N');
    }
    let key = b"X\x0c\x00\x00\x00__setstate__";
    for state in [
        [&filler[..], key, f, b"u"].concat(),
        [&b"ccollections\nOrderedDict\n]"[..], key, f, b"\x86a\x85R"].concat(),
        [&b"ccollections\nOrderedDict\n)R"[..], key, f, b"s"].concat(),
    ] {
        let o = run(&[&ns[..], &state, b"bX\x01\x00\x00\x00xb."].concat());
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(rules(&o), vec!["pickle.planted-method"]);
    }
    // The same past the cap of a DICT opcode, and a mapping built from more pairs than the
    // VM keeps (it cannot tell what they set).
    let mut dict_op = b"(".to_vec();
    let mut pair_list = b"(".to_vec();
    for i in 0..300u32 {
        dict_op.extend_from_slice(b"J");
        dict_op.extend_from_slice(&i.to_le_bytes());
        dict_op.push(b'N');
        pair_list.extend_from_slice(b"J");
        pair_list.extend_from_slice(&i.to_le_bytes());
        pair_list.extend_from_slice(b"N\x86");
    }
    for state in [
        [&dict_op[..], key, f, b"d"].concat(),
        [&b"cbuiltins\ndict\n"[..], &pair_list, b"l\x85R"].concat(),
        [&b"cbuiltins\ndict\n"[..], &pair_list, b"t\x85R"].concat(),
    ] {
        let o = run(&[&ns[..], &state, b"bX\x01\x00\x00\x00xb."].concat());
        assert!(o.error.is_none(), "{:?}", o.error);
        assert_eq!(rules(&o), vec!["pickle.planted-method"]);
    }
    // Past the per-pickle record limit (4,096 mappings holding one of the names here) a
    // callable under such a name is reported as soon as it is stored.
    let mut many = b"\x80\x02ctypes\nSimpleNamespace\n)R\x94".to_vec();
    let set_append = |v: &[u8]| [&b"h\x00}X\x06\x00\x00\x00append"[..], v, b"sb0"].concat();
    for _ in 0..MAX_PLANTED {
        many.extend_from_slice(&set_append(b"\x88"));
    }
    let o = run(&[&many[..], b"h\x00."].concat());
    assert!(rules(&o).is_empty(), "{:?}", o.findings);
    let o = run(&[&many[..], &set_append(f), b"h\x00."].concat());
    assert!(o.error.is_none(), "{:?}", o.error);
    assert!(!rules(&o).is_empty());
    assert!(rules(&o).iter().all(|r| *r == "pickle.planted-method"));
    // Ordinary instance state is not: other keys, or `__setstate__` as a value.
    let plain = b"\x80\x02ctypes\nSimpleNamespace\n)R}(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bX\x0c\x00\x00\x00__setstate__ub.";
    let o = run(plain);
    assert!(o.error.is_none(), "{:?}", o.error);
    assert!(rules(&o).is_empty(), "{:?}", o.findings);
}

#[test]
fn allowlisted_functions_that_call_their_argument_are_checked() {
    const F: &[u8] = b"cevilpkg.helpers\nrun_code\n";
    // callee(args...) where `args` pushes the arguments after a MARK.
    let call = |callee: &[u8], args: &[u8]| {
        let mut p = b"\x80\x02".to_vec();
        p.extend_from_slice(callee);
        p.push(b'(');
        p.extend_from_slice(args);
        p.extend_from_slice(b"tR.");
        let o = run(&p);
        assert!(o.error.is_none(), "{:?}", o.error);
        rules(&o)
    };
    let flagged = vec!["pickle.higher-order-call"];
    let one = |a: &[u8], b: &[u8]| [a, b].concat();
    // The function comes first.
    for callee in [
        &b"cbuiltins\nmap\n"[..],
        b"cbuiltins\nfilter\n",
        b"cbuiltins\niter\n",
        b"cnumpy\nfromfunction\n",
        b"cnumpy\napply_along_axis\n",
        b"cnumpy\napply_over_axes\n",
        b"cnumpy\nvectorize\n",
        b"cnumpy\nfrompyfunc\n",
        b"cnumpy\nseterrcall\n",
    ] {
        assert_eq!(call(callee, &one(F, b"]K\x01a")), flagged, "{callee:?}");
        // With an allowlisted function, or with data, nothing is reported.
        assert!(
            call(callee, b"cnumpy\nsin\n]K\x01a").is_empty(),
            "{callee:?}"
        );
        assert!(call(callee, b"]K\x01a").is_empty(), "{callee:?}");
    }
    // Making a partial calls nothing (real files hold partials of their own functions);
    // handing it to something that calls it, or calling it, is reported.
    assert!(call(b"cfunctools\npartial\n", F).is_empty());
    assert_eq!(
        call(
            b"cbuiltins\nmap\n",
            &[&b"cfunctools\npartial\n("[..], F, b"tR]K\x01a"].concat()
        ),
        flagged
    );
    // partial(partial, f) and map(g, ..., f): every position is checked.
    assert_eq!(
        call(b"cbuiltins\nmap\n", &[&b"cnumpy\nsin\n"[..], F].concat()),
        flagged
    );
    // numpy.piecewise(x, condlist, funclist) calls every function of its third argument.
    assert_eq!(
        call(
            b"cnumpy\npiecewise\n",
            &[&b"]K\x01a]\x88a](cnumpy\nsin\n"[..], F, b"e"].concat()
        ),
        flagged
    );
    assert!(call(b"cnumpy\npiecewise\n", b"]K\x01a]\x88a]cnumpy\nsin\na").is_empty());
    // A function list longer than the VM keeps cannot be cleared.
    let mut long = b"]K\x01a]\x88a(cnumpy\nsin\n\x94".to_vec();
    for _ in 0..300 {
        long.extend_from_slice(b"h\x00");
    }
    long.push(b'l');
    assert_eq!(call(b"cnumpy\npiecewise\n", &long), flagged);
    // copyreg._reconstructor(cls, base, state) calls base.
    assert_eq!(
        call(
            b"ccopyreg\n_reconstructor\n",
            &[&b"cbuiltins\nobject\n"[..], F, b"N"].concat()
        ),
        flagged
    );
}

#[test]
fn stack_global_from_memo_is_resolved() {
    // \x80\x04 'os' MEMOIZE 'system' MEMOIZE POP POP BINGET 0 BINGET 1 STACK_GLOBAL ...
    let p = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x9400h\x00h\x01\x93)R.";
    let o = run(p);
    assert!(
        o.findings
            .iter()
            .any(|f| f.rule == "pickle.dangerous-global" && f.operator == "system"),
        "{:?} {:?}",
        o.findings,
        o.error
    );
}

#[test]
fn truncated_pickle_keeps_findings_made_before_the_error() {
    let o = run(b"cposix\nsystem\n(S'echo hi'\ntR");
    assert_eq!(rules(&o), vec!["pickle.dangerous-global"]);
    assert_eq!(
        o.error.as_deref(),
        Some("pickle exhausted before seeing STOP")
    );
}

#[test]
fn py2_module_names_are_resolved_before_the_policy() {
    let o = run(b"ccommands\ngetoutput\n(S'id'\ntR.");
    assert_eq!(&*o.imports[0].resolved_module, "subprocess");
    assert_eq!(o.findings[0].severity, Severity::Critical);
}

#[test]
fn call_on_a_computed_callable_is_critical() {
    // builtins.getattr(<result of a call>, 'system') then call the result
    let p = b"cbuiltins\ngetattr\n(cmypkg\nThing\n)RS'system'\ntR(S'1'\ntR.";
    let o = run(p);
    // The bound method is `mypkg.Thing.system`, judged as that import and called; the
    // getattr that fetched it is not proven harmless and stays reported.
    let r = rules(&o);
    assert!(
        r.contains(&"pickle.unknown-global-called"),
        "{:?}",
        o.findings
    );
    assert!(r.contains(&"pickle.dangerous-global"), "{:?}", o.findings);
}

#[test]
fn unregistered_extension_code_is_reported() {
    let o = run(b"\x80\x02\x82\xe7)R.");
    assert!(rules(&o).contains(&"pickle.extension-code"));
}

#[test]
fn self_registered_extension_resolves_to_its_global() {
    let mut p = b"\x80\x02ccopyreg\nadd_extension\nX\x05\x00\x00\x00posixX\x06\x00\x00\x00systemM\x34\x12\x87R0".to_vec();
    p.extend_from_slice(b"\x83\x34\x12X\x02\x00\x00\x00id\x85R.");
    let o = run(&p);
    assert!(
        o.findings
            .iter()
            .any(|f| f.rule == "pickle.extension-code" && f.module == "posix"),
        "{:?}",
        o.findings
    );
}

#[test]
fn build_on_an_imported_class_is_critical() {
    let o = run(b"\x80\x02cmypkg\nThing\n}X\x01\x00\x00\x00aK\x01sb.");
    assert!(rules(&o).contains(&"pickle.build-on-callable"));
}

#[test]
fn nested_pickle_bytes_are_collected() {
    let inner = b"cposix\nsystem\n(S'id'\ntR.";
    let mut p = b"\x80\x03cpickle\nloads\nC".to_vec();
    p.push(inner.len() as u8);
    p.extend_from_slice(inner);
    p.extend_from_slice(b"\x85R.");
    let o = run(&p);
    assert_eq!(o.nested.len(), 1);
    assert_eq!(o.nested[0].bytes, Some(inner.to_vec()));
}

#[test]
fn dill_load_type_resolves_to_the_named_type() {
    let ok = run(b"\x80\x04\x8c\ndill._dill\x8c\n_load_type\x93\x8c\tbytearray\x85RC\x03abc\x85R.");
    assert!(ok.findings.is_empty(), "{:?}", ok.findings);
    let bad = run(b"\x80\x04\x8c\ndill._dill\x8c\n_load_type\x93\x8c\x08CodeType\x85R)R.");
    assert!(
        bad.findings
            .iter()
            .any(|f| f.module == "types" && f.severity == Severity::Critical),
        "{:?}",
        bad.findings
    );
}

#[test]
fn getattr_of_a_constant_attribute_is_judged_as_that_import() {
    // How CPython pickles zoneinfo.ZoneInfo: getattr(ZoneInfo, '_unpickle')('UTC', 1).
    let ok = run(b"\x80\x02c__builtin__\ngetattr\nczoneinfo\nZoneInfo\nX\x09\x00\x00\x00_unpickle\x86RX\x03\x00\x00\x00UTCK\x01\x86R.");
    assert!(ok.findings.is_empty(), "{:?}", ok.findings);
    let bad =
        run(b"\x80\x02c__builtin__\ngetattr\ncsubprocess\nPopen\nX\x04\x00\x00\x00wait\x86R)R.");
    assert!(
        bad.findings.iter().any(|f| f.module == "subprocess"),
        "{:?}",
        bad.findings
    );
    // A computed attribute name keeps ModelScan's CRITICAL finding on getattr.
    let computed =
        run(b"\x80\x02c__builtin__\ngetattr\nczoneinfo\nZoneInfo\ncmypkg\nname\n)R\x86R.");
    assert!(
        computed
            .findings
            .iter()
            .any(|f| f.operator == "getattr" && f.severity == Severity::Critical),
        "{:?}",
        computed.findings
    );
    // getattr imported but never called is reported too.
    let unused = run(b"\x80\x02c__builtin__\ngetattr\n0N.");
    assert!(
        unused.findings.iter().any(|f| f.operator == "getattr"),
        "{:?}",
        unused.findings
    );
}

#[test]
fn second_proto_is_an_anomaly() {
    let o = run(b"\x80\x02\x80\x02N.");
    assert!(rules(&o).contains(&"pickle.anomaly"));
}

#[test]
fn legacy_torch_magic_number_is_recognised() {
    let o = run(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.");
    assert!(o.torch_legacy);
    assert_eq!(o.pickles, 2);
}

#[test]
fn memo_get_of_a_missing_index_is_a_parse_error() {
    let o = run(b"\x80\x02h\x05.");
    assert!(o.error.unwrap().contains("Memo value not found"));
}

#[test]
fn popping_below_a_mark_is_an_error_as_in_the_c_unpickler() {
    let o = run(b"N(R.");
    assert_eq!(o.error.as_deref(), Some("unpickling stack underflow"));
}

#[test]
fn unicode_escapes_in_protocol_0_names_are_decoded() {
    let o = run(b"V\\u006fs\nVsystem\n\x93(S'id'\ntR.");
    assert!(
        o.findings
            .iter()
            .any(|f| f.module == "os" && f.rule == "pickle.dangerous-global"),
        "{:?} {:?}",
        o.findings,
        o.error
    );
}

/// A seekable reader that counts the bytes actually read from it.
struct Counting {
    inner: std::io::Cursor<Vec<u8>>,
    read: u64,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for Counting {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn run_seekable(bytes: Vec<u8>) -> (VmOutcome, u64) {
    let settings = Settings::defaults();
    let mut budget = Budget::unlimited();
    let mut input = Input::seekable(Counting {
        inner: std::io::Cursor::new(bytes),
        read: 0,
    })
    .unwrap();
    let o = Vm::new(&settings, &mut budget).run(&mut input, StreamKind::Multiple);
    (o, input.r.get_ref().read)
}

/// os.system called after a BINBYTES payload of `n` bytes (of which `have` are present).
fn big_payload_pickle(n: u32, have: usize) -> Vec<u8> {
    let mut p = b"\x80\x04B".to_vec();
    p.extend_from_slice(&n.to_le_bytes());
    p.extend(std::iter::repeat_n(0x2eu8, have));
    if have == n as usize {
        p.extend_from_slice(b"0\x8c\x02os\x8c\x06system\x93)R.");
    }
    p
}

#[test]
fn a_seekable_input_seeks_over_large_payloads_with_the_same_outcome() {
    let n = 12 << 20;
    let bytes = big_payload_pickle(n, n as usize);
    let streamed = run(&bytes);
    let (seeked, read) = run_seekable(bytes.clone());
    assert_eq!(rules(&seeked), rules(&streamed));
    assert_eq!(rules(&seeked), vec!["pickle.dangerous-global"]);
    assert_eq!(seeked.findings[0].offset, streamed.findings[0].offset);
    assert_eq!(seeked.bytes_read, bytes.len() as u64);
    assert_eq!(seeked.error, None);
    // The payload was skipped by seeking: only the buffers around it were read.
    assert!(read < 1 << 20, "read {read} bytes");
}

#[test]
fn a_payload_running_past_the_end_fails_the_same_when_seeked() {
    let bytes = big_payload_pickle(12 << 20, 9 << 20);
    let streamed = run(&bytes);
    let (seeked, _) = run_seekable(bytes.clone());
    assert_eq!(
        seeked.error.as_deref(),
        Some("pickle exhausted before seeing STOP")
    );
    assert_eq!(seeked.error, streamed.error);
    assert_eq!(seeked.bytes_read, streamed.bytes_read);
    assert_eq!(seeked.bytes_read, bytes.len() as u64);
}

#[test]
fn numpy_names_are_allowed_one_by_one_not_as_a_namespace() {
    let call = |name: &str| {
        let p = format!("\u{80}\u{2}cnumpy\n{name}\n(tR.");
        let bytes: Vec<u8> = p.chars().map(|c| c as u8).collect();
        rules(&run(&bytes))
    };
    // Array math is listed name by name.
    assert!(call("sin").is_empty());
    assert!(call("concatenate").is_empty());
    // numpy.test runs pytest, numpy.lookfor imported modules in numpy 1.x, show_runtime loads
    // libraries: none is listed, so a call is an issue.
    for name in [
        "test",
        "lookfor",
        "show_runtime",
        "set_printoptions",
        "bmat",
    ] {
        assert!(
            call(name).contains(&"pickle.unknown-global-called"),
            "{name}: {:?}",
            call(name)
        );
    }
}

#[test]
fn the_planted_method_names_are_the_ones_the_opcode_table_lists() {
    let mut table: Vec<&str> = policy::OPCODE_CALLS
        .iter()
        .filter_map(|c| c.plantable)
        .collect();
    let mut keys = STATE_KEYS.to_vec();
    table.sort_unstable();
    keys.sort_unstable();
    assert_eq!(table, keys);
}

/// ModelScan's reading fed from the VM's loop is the standalone pass's reading, on every
/// fixture pickle the VM reads to the end. They differ only where the VM reads an operand as
/// Python does and the disassembler cannot: a protocol 0 STRING keeps its quotes there, and a
/// GET index such as `1_0` is text there (the standalone pass then says "unknown").
#[test]
fn the_floor_fed_by_the_vm_equals_the_standalone_pass() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut files,
    );
    let (mut compared, mut with_globals) = (0, 0);
    for p in files {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        if !crate::scanners::pickle::opcodes::looks_like_pickle(&bytes) {
            continue;
        }
        let out = run(&bytes);
        let Some(fed) = out.floor.clone() else {
            continue;
        };
        if out.bytes_read != bytes.len() as u64 || out.joblib_data {
            continue;
        }
        use crate::scanners::pickle::floor::{FloorGlobal, FloorName};
        let alone = crate::scanners::pickle::floor::modelscan_globals(&bytes[..]);
        // The VM's reading names its imports by id: their names as written.
        let named = |g: &FloorGlobal| match &g.name {
            FloorName::Import(id) => {
                let i = &out.imports[*id as usize];
                (i.module.to_string(), i.name.to_string(), g.offset)
            }
            FloorName::Written { module, name } => (module.clone(), name.clone(), g.offset),
        };
        let weaker = |(m, n, _): &(String, String, u64)| {
            [m, n]
                .iter()
                .any(|s| s.contains('\'') || s.as_str() == "unknown")
        };
        assert_eq!(fed.len(), alone.len(), "{}", p.display());
        for (f, a) in fed.iter().map(named).zip(alone.iter().map(named)) {
            assert!(f == a || weaker(&a), "{}: {f:?} {a:?}", p.display());
        }
        compared += 1;
        with_globals += usize::from(!fed.is_empty());
    }
    assert!(
        compared > 100 && with_globals > 100,
        "{compared} {with_globals}"
    );
}

/// The VM keeps no text for ModelScan's reading: it hands over the strings a STACK_GLOBAL pops.
/// On streams where memo entries are rewritten, read back and mixed with other values, that
/// gives exactly the standalone pass's names.
#[test]
fn the_floor_fed_by_the_vm_names_what_the_standalone_pass_names() {
    use crate::scanners::pickle::floor::{FloorName, modelscan_globals};
    let streams: &[&[u8]] = &[
        // Both operands through the memo, then an entry rewritten with a non-string and read.
        b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94h\x00h\x01\x93}q\x00h\x00h\x01\x93\x87.",
        // A string stored, overwritten by a later string at the same index, then read.
        b"\x80\x04\x8c\x01aq\x05\x8c\x02osq\x05\x8c\x06systemh\x05\x8c\x06system\x93\x86.",
        // One operand a string, the other a dict: the VM pops a non-string (computed import).
        b"\x80\x04\x8c\x02os}\x93.",
        b"\x80\x04}\x8c\x02os\x93.",
        // GLOBAL, and two pickles in one stream.
        b"cposix\nsystem\n.\x80\x04\x8c\x02os\x8c\x04stat\x93.",
        // The same import twice (one id), MEMOIZE after a non-string.
        b"\x80\x04\x8c\x02os\x94\x8c\x04stat\x94\x93\x94h\x00h\x01\x93\x86.",
    ];
    for (k, bytes) in streams.iter().enumerate() {
        let out = run(bytes);
        assert_eq!(out.error, None, "stream {k}");
        let fed = out.floor.clone().unwrap_or_default();
        let fed: Vec<(String, String)> = fed
            .iter()
            .map(|g| match &g.name {
                FloorName::Import(id) => {
                    let i = &out.imports[*id as usize];
                    (i.module.to_string(), i.name.to_string())
                }
                FloorName::Written { module, name } => (module.clone(), name.clone()),
            })
            .collect();
        let alone: Vec<(String, String)> = modelscan_globals(*bytes)
            .into_iter()
            .map(|g| match g.name {
                FloorName::Written { module, name } => (module, name),
                FloorName::Import(id) => ("import".into(), id.to_string()),
            })
            .collect();
        assert!(!alone.is_empty(), "stream {k}");
        assert_eq!(fed, alone, "stream {k}");
    }
}

/// BUILD on statsmodels' model data is data unless the state asks `__setstate__` to
/// re-evaluate a formula that calls more than the formula transforms.
#[test]
fn a_guarded_build_is_an_issue_only_when_the_state_holds_the_guarded_key() {
    fn s(p: &mut Vec<u8>, t: &str) {
        p.push(0x8c);
        p.push(t.len() as u8);
        p.extend_from_slice(t.as_bytes());
    }
    let pickle = |pairs: &[(&str, Option<&str>)]| {
        let mut p = b"\x80\x04".to_vec();
        s(&mut p, "statsmodels.base.data");
        s(&mut p, "PandasData");
        p.extend_from_slice(b"\x93)\x81}(");
        for (k, v) in pairs {
            s(&mut p, k);
            match v {
                Some(v) => s(&mut p, v),
                None => p.push(b'\x88'),
            }
        }
        p.extend_from_slice(b"ub.");
        p
    };
    let guarded = |o: &VmOutcome| {
        o.findings
            .iter()
            .any(|f| f.rule == "pickle.unknown-class-method" && f.severity == Severity::High)
    };
    let plain = run(&pickle(&[
        ("orig_endog", Some("y")),
        ("formula", Some("y ~ x")),
    ]));
    assert!(plain.findings.is_empty(), "{:?}", plain.findings);
    let benign = run(&pickle(&[
        ("restore_model_spec", None),
        ("formula", Some("y ~ x + np.log(z)")),
    ]));
    assert!(benign.findings.is_empty(), "{:?}", benign.findings);
    let evil = run(&pickle(&[
        ("restore_model_spec", None),
        ("formula", Some("y ~ x + system('touch m')")),
    ]));
    assert!(guarded(&evil), "{:?}", evil.findings);
    let old = run(&pickle(&[
        ("restore_design_info", None),
        ("formula", Some("y ~ eval(x)")),
    ]));
    assert!(guarded(&old), "{:?}", old.findings);
}

/// `_codecs.encode(text, 'latin1')` read straight from the UTF-8 gives each character's byte,
/// as the character-by-character reading does, whatever the characters.
#[test]
fn latin1_encoding_is_each_characters_byte() {
    let texts = [
        String::new(),
        "plain ascii".to_string(),
        (0u32..256).filter_map(char::from_u32).collect::<String>(),
        "\u{ff}\u{80}x\u{c0}".to_string(),
        "ab\u{100}\u{20ac}\u{e9}".to_string(),
    ];
    for t in texts {
        let want: Vec<u8> = t.chars().map(|c| c as u32 as u8).collect();
        assert_eq!(super::calls::latin1(&t), want, "{t:?}");
    }
}

/// A pickle's state is reused for the next one on the same thread: only its emptied vectors,
/// nothing it recorded. A method planted on node 0 by one file is not there for the next file's
/// node 0.
#[test]
fn nothing_planted_by_one_pickle_carries_over_to_the_next() {
    // A list, then BUILD with a state that plants `append` = posix.system on it.
    let planting = b"\x80\x04]}(\x8c\x06appendcposix\nsystem\nub.";
    let first = run(planting);
    assert!(!first.findings.is_empty(), "{:?}", first.findings);
    // A list and APPEND: node 0 again, in a new pickle.
    let plain = b"\x80\x04]K\x01a.";
    let second = run(plain);
    assert!(second.findings.is_empty(), "{:?}", second.findings);
    assert_eq!(second.error, None);
}
