//! Unit tests of the template analysis.

use super::*;

fn run(src: &str) -> TemplateAnalysis {
    analyse(src, &Options::default())
}

fn worst(src: &str) -> Option<Severity> {
    let a = run(src);
    assert!(a.syntax_error.is_none(), "{:?}", a.syntax_error);
    a.findings.iter().map(|f| f.severity).max()
}

#[test]
fn plain_chatml_template_is_clean() {
    let t = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    assert_eq!(worst(t), None);
}

#[test]
fn keys_computed_by_anything_not_followed_are_denied_on_any_base() {
    // Filters and methods the analysis does not evaluate can build `__class__`; Jinja's
    // getitem falls back to getattr, so the lookup is reported even on render data.
    for t in [
        "{{ messages[('<b>__class__</b>'|striptags)] }}",
        "{{ (messages|first)['class'|center(9)|replace(' ','_')] }}",
        "{% set k = 'class__'.zfill(9).replace('0','_') %}{{ messages[k] }}",
        "{% set k = '{:_^9}'.format('class') %}{{ messages[k] }}",
        // Token texts the file chooses, unseen here.
        "{{ messages[bos_token] }}",
    ] {
        assert!(worst(t).is_some_and(|s| s >= Severity::High), "{t}");
    }
    // Constant keys, keys from the messages themselves, and token texts printed are fine.
    for t in [
        "{% for m in messages %}{{ m['role'] }}{{ m['content'] }}{% endfor %}{{ bos_token }}",
        "{% for m in messages %}{% for k in m %}{{ m[k] }}{% endfor %}{% endfor %}",
    ] {
        assert_eq!(worst(t), None, "{t}");
    }
}

#[test]
fn namespace_attributes_are_not_introspection() {
    let t = "{% set ns = namespace(found=false, idx=0) %}{% for m in messages %}{% set ns.found = true %}{% set ns.idx = ns.idx + 1 %}{% endfor %}{{ ns.found }}";
    assert_eq!(worst(t), None);
}

#[test]
fn subclasses_walk_is_critical() {
    let a = run("{{ ''.__class__.__mro__[1].__subclasses__() }}");
    assert_eq!(a.findings.len(), 1);
    let f = &a.findings[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.chain, "''.__class__.__mro__[1].__subclasses__()");
    assert_eq!(f.rule(), "template.injection");
}

#[test]
fn cycler_globals_os_popen_reaches_code_execution() {
    let a = run("{{ cycler.__init__.__globals__.os.popen('id').read() }}");
    assert_eq!(a.findings.len(), 1);
    let f = &a.findings[0];
    assert_eq!(f.chain, "cycler.__init__.__globals__.os.popen('id').read()");
    assert!(f.summary().contains("`os`"), "{}", f.summary());
}

#[test]
fn names_built_by_concatenation_are_resolved() {
    let a = run("{{ ''|attr('__cla' ~ 'ss__') }}");
    assert_eq!(a.findings[0].chain, "''|attr('__class__')");
    assert_eq!(
        worst("{% set a = '__cla' %}{% set b = a + 'ss__' %}{{ x[b] }}"),
        Some(Severity::Critical)
    );
}

#[test]
fn names_built_by_join_format_and_escapes_are_resolved() {
    for t in [
        "{{ ''|attr(['__','class','__']|join) }}",
        "{{ ''|attr(dict(__cla=1,ss__=1)|join) }}",
        "{{ ''|attr('%s%sclass%s%s'|format('_','_','_','_')) }}",
        "{{ ''|attr('%c%cclass%c%c' % (95,95,95,95)) }}",
        "{{ ''|attr(\"\\x5f\\x5fclass\\x5f\\x5f\") }}",
        "{{ ''|attr('__CLASS__'|lower) }}",
        "{{ ''|attr('__ssalc__'|reverse) }}",
        "{{ ''|attr('__ssalc__'[::-1]) }}",
        "{{ ''|attr('__cXlass__'|replace('X','')) }}",
        "{{ ''|attr('{}{}'.format('__class', '__')) }}",
        "{{ ''|attr('_'*2 ~ 'class' ~ '_'*2) }}",
        "{% set ns = namespace(a='') %}{% for c in ['__','class','__'] %}{% set ns.a = ns.a ~ c %}{% endfor %}{{ ''|attr(ns.a) }}",
        "{% set n %}__class__{% endset %}{{ ''|attr(n) }}",
        "{% macro n() %}__class__{% endmacro %}{{ ''|attr(n()) }}",
        "{{ ''|attr('\\N{LOW LINE}\\N{LOW LINE}class__') }}",
        "{{ [''] | map('attr', '__class__') | list }}",
        "{{ '{0.__class__}'.format('') }}",
    ] {
        assert_eq!(worst(t), Some(Severity::Critical), "{t}");
    }
}

#[test]
fn attr_with_a_context_name_is_high() {
    assert_eq!(worst("{{ message|attr(key) }}"), Some(Severity::High));
}

#[test]
fn globals_reached_by_subscript_are_followed() {
    let a = run(
        "{% set g = (lipsum|attr('\\x5f\\x5fglobals\\x5f\\x5f')) %}{{ (g['o'~'s']|attr('po'~'pen'))('id') }}",
    );
    let f = &a.findings[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.chain,
        "lipsum|attr('__globals__')['os']|attr('popen')('id')"
    );
    assert!(f.summary().contains("`os`") || f.summary().contains("`popen`"));
}

#[test]
fn template_reference_context_is_critical() {
    assert_eq!(
        worst("{{ self._TemplateReference__context }}"),
        Some(Severity::Critical)
    );
}

#[test]
fn walking_a_bare_global_is_high() {
    assert_eq!(worst("{{ request.application }}"), Some(Severity::High));
    assert_eq!(worst("{{ cycler(1,2).next() }}"), None);
    assert_eq!(worst("{{ range(3)|list }}"), None);
}

#[test]
fn unparsable_template_falls_back_to_a_token_scan() {
    let a = run("{% frob %}{{ x.__class__ }}");
    assert!(a.syntax_error.is_some());
    assert_eq!(a.findings[0].severity, Severity::Critical);
}

#[test]
fn deep_but_allowed_nesting_is_analysed_without_exhausting_the_stack() {
    let n = 190;
    for t in [
        format!("{}x{}", "{% if a %}".repeat(n), "{% endif %}".repeat(n)),
        format!(
            "{{{{ {}''.__class__{} }}}}",
            "(".repeat(n / 2 - 2),
            ")".repeat(n / 2 - 2)
        ),
        format!("{{{{ {} ~ x.__class__ }}}}", vec!["'a'"; n - 2].join(" ~ ")),
        format!("{{{{ x{}.__class__ }}}}", ".a".repeat(n - 2)),
    ] {
        let a = run(&t);
        assert!(a.syntax_error.is_none(), "{:?}", a.syntax_error);
        assert!(!a.budget_exhausted);
    }
}

#[test]
fn nesting_past_the_limit_is_a_syntax_error_with_a_token_scan() {
    let n = 300;
    let t = format!(
        "{}{{{{ x.__globals__ }}}}{}",
        "{% if a %}".repeat(n),
        "{% endif %}".repeat(n)
    );
    let a = run(&t);
    assert!(a.syntax_error.as_ref().unwrap().message.contains("nesting"));
    assert_eq!(a.findings[0].severity, Severity::Critical);
}

#[test]
fn macros_calling_macros_stay_bounded() {
    // Each macro nests 150 levels and calls the next one with a constant.
    let mut t = String::new();
    for i in 0..12 {
        t.push_str(&format!("{{% macro m{i}(a) %}}"));
        t.push_str(&"{% if a %}".repeat(150));
        t.push_str(&format!("{{{{ m{}('x') }}}}", i + 1));
        t.push_str(&"{% endif %}".repeat(150));
        t.push_str("{% endmacro %}");
    }
    t.push_str("{% macro m12(a) %}{{ a }}{% endmacro %}{{ m0('x') }}");
    let a = run(&t);
    assert!(a.syntax_error.is_none());
    assert!(a.findings.is_empty());
}

#[test]
fn combining_many_long_strings_stays_bounded() {
    let mut t = String::from("{% set a = ");
    let alts: Vec<String> = (0..64)
        .map(|i| format!("'{}{i}'", "x".repeat(3000)))
        .collect();
    t.push_str(&alts.join(" or "));
    t.push_str(" %}{% for i in range(16) %}{% for j in range(16) %}");
    t.push_str("{{ a ~ a }}{{ (a ~ a)|replace('x', 'yy') }}{{ [a, a, a]|join }}{{ a * 3 }}");
    t.push_str("{% endfor %}{% endfor %}{{ ''|attr(a ~ '__class__') }}");
    let a = run(&t);
    assert!(a.syntax_error.is_none());
    // Too many candidates to resolve: the name counts as built, not as clean.
    assert_eq!(a.findings[0].severity, Severity::High);
}

#[test]
fn exponential_templates_hit_the_budget_not_the_clock() {
    let mut t = String::new();
    for i in 0..30 {
        t.push_str(&format!("{{% for a{i} in messages %}}"));
    }
    t.push_str("{{ x }}");
    for _ in 0..30 {
        t.push_str("{% endfor %}");
    }
    let a = analyse(
        &t,
        &Options {
            max_steps: 100_000,
            ..Options::default()
        },
    );
    assert!(a.budget_exhausted);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_template_text_never_panics(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::strategy::Just("{{".to_string()),
                proptest::strategy::Just("}}".to_string()),
                proptest::strategy::Just("{%".to_string()),
                proptest::strategy::Just("%}".to_string()),
                proptest::strategy::Just("{#".to_string()),
                proptest::strategy::Just("#}".to_string()),
                proptest::strategy::Just(" for x in ".to_string()),
                proptest::strategy::Just(" endfor ".to_string()),
                proptest::strategy::Just(" if ".to_string()),
                proptest::strategy::Just(" endif ".to_string()),
                proptest::strategy::Just(" set ns.a = ".to_string()),
                proptest::strategy::Just("namespace(a='')".to_string()),
                proptest::strategy::Just("|attr(".to_string()),
                proptest::strategy::Just("|join".to_string()),
                proptest::strategy::Just("|format(".to_string()),
                proptest::strategy::Just("'__cla'".to_string()),
                proptest::strategy::Just("\"\\x5f\"".to_string()),
                proptest::strategy::Just(" ~ ".to_string()),
                proptest::strategy::Just(" % ".to_string()),
                proptest::strategy::Just("[::-1]".to_string()),
                proptest::strategy::Just("(".to_string()),
                proptest::strategy::Just(")".to_string()),
                proptest::strategy::Just("[".to_string()),
                proptest::strategy::Just("]".to_string()),
                proptest::strategy::Just(".__class__".to_string()),
                proptest::strategy::Just("cycler".to_string()),
                proptest::strategy::Just(" macro m(a) ".to_string()),
                proptest::strategy::Just(" endmacro ".to_string()),
                proptest::strategy::Just("m(1)".to_string()),
                "[a-z0-9_ ,.:'\"|()\\[\\]{}%#~+*/-]{0,6}",
            ],
            0..40,
        )
    ) {
        let t: String = parts.concat();
        let _ = analyse(&t, &Options { max_steps: 20_000, ..Options::default() });
    }
}
