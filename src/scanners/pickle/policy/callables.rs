//! What code runs besides the callable a pickle names, as data: the allowed callables that call
//! an argument (higher-order), the ones that call methods of their arguments (implicit calls),
//! the ones that deserialize an argument (nested loaders), and the methods each opcode invokes.
//! The VM consults these tables; `docs/pickle-policy.md` is generated from them.

use super::*;

/// Which argument of a higher-order callable it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calls {
    /// The argument at this position (a list or tuple there is checked item by item).
    Arg(usize),
    /// Any argument: each one is checked.
    Every,
    /// Nothing when it is made; what it holds is checked where it is called.
    Later,
}

/// A callable that calls one of its arguments.
#[derive(Debug, Clone, Copy)]
pub struct HigherOrder {
    /// Module names, as the unpickler resolves them (canonical).
    pub modules: &'static [&'static str],
    /// Qualnames; a trailing `*` matches a prefix.
    pub names: &'static [&'static str],
    pub calls: Calls,
    pub why: &'static str,
}

/// Allowed callables that call one of their arguments, so that argument must be safe too.
pub static HIGHER_ORDER: &[HigherOrder] = &[
    HigherOrder {
        modules: &["functools", "_functools"],
        names: &["partial"],
        calls: Calls::Later,
        why: "making a partial calls nothing; the partial's function is checked where the \
              partial is called or handed to something that calls it",
    },
    HigherOrder {
        modules: &["copyreg"],
        names: &["_reconstructor"],
        calls: Calls::Arg(1),
        why: "calls base.__init__(obj, state) when the base is not object",
    },
    HigherOrder {
        modules: &["torch._tensor"],
        names: &["_rebuild_from_type", "_rebuild_from_type_v2"],
        calls: Calls::Arg(0),
        why: "calls the function it is given to rebuild the tensor",
    },
    HigherOrder {
        modules: &["torch._utils"],
        names: &["_rebuild_wrapper_subclass"],
        calls: Calls::Later,
        why: "builds a tensor subclass; the class is judged as an import",
    },
    HigherOrder {
        modules: &["builtins"],
        names: &["map", "filter"],
        calls: Calls::Every,
        why: "partial(map, f) and map(partial, ...) put the function in any position",
    },
    HigherOrder {
        modules: &["builtins"],
        names: &["iter"],
        calls: Calls::Arg(0),
        why: "iter(callable, sentinel) calls the callable",
    },
    HigherOrder {
        modules: &["numpy"],
        names: &["piecewise"],
        calls: Calls::Arg(2),
        why: "piecewise(x, condlist, funclist) calls each function of the list",
    },
    HigherOrder {
        modules: &["numpy"],
        names: &[
            "fromfunction",
            "apply_along_axis",
            "apply_over_axes",
            "vectorize",
            "frompyfunc",
            "seterrcall",
        ],
        calls: Calls::Arg(0),
        why: "calls (or registers to call) the function it is given first",
    },
    HigherOrder {
        modules: &["collections"],
        names: &["defaultdict"],
        calls: Calls::Arg(0),
        why: "calls its default factory on a missing key",
    },
    HigherOrder {
        modules: &["dill._dill"],
        names: &["_get_attr", "_load_type"],
        calls: Calls::Arg(0),
        why: "resolves an attribute or a type by name from what it is given",
    },
];

/// The higher-order entry for `module.qualname`, if it calls an argument.
pub fn higher_order(module: &str, qualname: &str) -> Option<&'static HigherOrder> {
    let module = canonical_module(module);
    HIGHER_ORDER.iter().find(|h| {
        h.modules.contains(&module) && h.names.iter().any(|n| allow_name_matches(n, qualname))
    })
}

/// Globals that call one of their arguments, so their arguments must be safe too.
pub fn is_higher_order(module: &str, qualname: &str) -> bool {
    higher_order(module, qualname).is_some()
}

/// An allowed callable that calls methods of the objects it is handed.
#[derive(Debug, Clone, Copy)]
pub struct ImplicitCalls {
    pub modules: &'static [&'static str],
    /// Qualnames; `*` is every name of the module.
    pub names: &'static [&'static str],
    /// The methods it invokes on its arguments.
    pub methods: &'static str,
}

const BUILTINS: &[&str] = &["builtins", "__builtin__"];

/// Allowlisted callables that call methods of the objects they are handed, and which. An
/// argument that is an instance of a class no entry vouches for makes such a call run that
/// class's code.
pub static IMPLICIT_CALLS: &[ImplicitCalls] = &[
    ImplicitCalls {
        modules: BUILTINS,
        names: &["dict"],
        methods: "keys() and __getitem__ (or __iter__)",
    },
    ImplicitCalls {
        modules: BUILTINS,
        names: &[
            "list",
            "tuple",
            "set",
            "frozenset",
            "iter",
            "enumerate",
            "zip",
            "reversed",
            "map",
            "filter",
        ],
        methods: "__iter__ and __next__",
    },
    ImplicitCalls {
        modules: BUILTINS,
        names: &["sorted", "min", "max", "sum", "any", "all"],
        methods: "__iter__, __next__ and the items' comparison or arithmetic",
    },
    ImplicitCalls {
        modules: BUILTINS,
        names: &["str", "repr", "ascii", "format"],
        methods: "__str__, __repr__ or __format__",
    },
    ImplicitCalls {
        modules: BUILTINS,
        names: &["bytes", "bytearray"],
        methods: "__bytes__, __index__ or __iter__",
    },
    ImplicitCalls {
        modules: BUILTINS,
        names: &["int", "float", "complex", "bool", "round", "abs"],
        methods: "__int__, __index__, __float__, __complex__, __bool__, __round__ or __abs__",
    },
    ImplicitCalls {
        modules: BUILTINS,
        names: &["len", "hash"],
        methods: "__len__ or __hash__",
    },
    ImplicitCalls {
        modules: BUILTINS,
        names: &["isinstance", "issubclass"],
        methods: "__instancecheck__",
    },
    ImplicitCalls {
        modules: &["collections"],
        names: &[
            "OrderedDict",
            "defaultdict",
            "Counter",
            "deque",
            "ChainMap",
            "UserDict",
            "UserList",
        ],
        methods: "keys() and __getitem__ (or __iter__)",
    },
    // Making a partial calls nothing; calling it later is checked where that happens.
    ImplicitCalls {
        modules: &["functools"],
        names: &["reduce"],
        methods: "__call__ and __iter__",
    },
    ImplicitCalls {
        modules: &["itertools"],
        names: &["*"],
        methods: "__iter__ and __next__",
    },
    ImplicitCalls {
        modules: &["operator"],
        names: &["*"],
        methods: "the operator's special method",
    },
    ImplicitCalls {
        modules: &["copy"],
        names: &["copy", "deepcopy"],
        methods: "__copy__, __deepcopy__ or __reduce_ex__",
    },
];

/// The methods an allowlisted callable calls on its arguments, if it calls any.
pub fn implicit_call_methods(module: &str, qualname: &str) -> Option<&'static str> {
    let module = canonical_module(module);
    IMPLICIT_CALLS
        .iter()
        .find(|e| {
            e.modules.contains(&module) && e.names.iter().any(|n| allow_name_matches(n, qualname))
        })
        .map(|e| e.methods)
}

/// Callables that deserialize their (bytes or string) argument as a pickle.
pub static NESTED_LOADERS: &[(&[&str], &[&str])] = &[
    (
        &["pickle", "_pickle", "cPickle"],
        &["loads", "_loads", "load", "_load"],
    ),
    (&["dill", "dill._dill"], &["loads", "load"]),
    (
        &["cloudpickle", "cloudpickle.cloudpickle"],
        &["loads", "load"],
    ),
    (&["torch", "torch.serialization"], &["load"]),
    (&["torch.storage"], &["_load_from_bytes"]),
    (
        &["numpy", "numpy.core.numeric", "numpy._core.numeric"],
        &["loads", "load"],
    ),
    (&["joblib", "joblib.numpy_pickle"], &["load"]),
    (&["pandas", "pandas.io.pickle"], &["read_pickle"]),
    (&["shelve"], &["open"]),
];

/// Globals that deserialize their (bytes or string) argument as a pickle.
pub fn is_nested_loader(module: &str, qualname: &str) -> bool {
    let module = canonical_module(module);
    NESTED_LOADERS
        .iter()
        .any(|(ms, ns)| ms.contains(&module) && ns.contains(&qualname))
}

/// A method the unpickler itself invokes while running one opcode.
#[derive(Debug, Clone, Copy)]
pub struct OpcodeCall {
    pub opcodes: &'static str,
    /// What is invoked, on what.
    pub invokes: &'static str,
    /// Whether a BUILD state or a dict item can plant this method on the object first (then
    /// the opcode calls whatever was planted).
    pub plantable: Option<&'static str>,
    /// How the scanner judges it.
    pub judged: &'static str,
}

/// Which methods each opcode invokes (CPython `Modules/_pickle.c`, `load_*`).
pub static OPCODE_CALLS: &[OpcodeCall] = &[
    OpcodeCall {
        opcodes: "GLOBAL, STACK_GLOBAL, INST, EXT1/2/4",
        invokes: "find_class(module, name): imports the module (running its top-level code) and \
                  walks the attributes of the name",
        plantable: None,
        judged: "every import by the denylist, the allowlist and the library profiles",
    },
    OpcodeCall {
        opcodes: "REDUCE, INST, OBJ",
        invokes: "callable(*args)",
        plantable: None,
        judged: "the callable's entry must allow `call`; an unlisted one is an issue",
    },
    OpcodeCall {
        opcodes: "NEWOBJ, NEWOBJ_EX",
        invokes: "cls.__new__(cls, *args, **kwargs)",
        plantable: None,
        judged: "with arguments, the class's own __new__ runs: an unlisted class is an issue",
    },
    OpcodeCall {
        opcodes: "BUILD",
        invokes: "obj.__setstate__(state) when the class defines it, else obj.__dict__ updates \
                  and setattr for slot state",
        plantable: Some("__setstate__"),
        judged: "the class's entry must allow `build`; an unlisted class is an issue; a planted \
                 __setstate__ is judged as a call",
    },
    OpcodeCall {
        opcodes: "APPEND",
        invokes: "obj.append(item) when obj is not a list",
        plantable: Some("append"),
        judged: "on an unlisted class, or a planted append, an issue",
    },
    OpcodeCall {
        opcodes: "APPENDS",
        invokes: "obj.extend(items), or obj.append(item) per item, when obj is not a list",
        plantable: Some("extend"),
        judged: "on an unlisted class, or a planted extend/append, an issue",
    },
    OpcodeCall {
        opcodes: "ADDITEMS",
        invokes: "obj.add(item) per item when obj is not a set",
        plantable: Some("add"),
        judged: "on an unlisted class, or a planted add, an issue",
    },
    OpcodeCall {
        opcodes: "SETITEM, SETITEMS",
        invokes: "obj[key] = value (__setitem__) when obj is not a dict",
        plantable: None,
        judged: "on an unlisted class, an issue",
    },
    OpcodeCall {
        opcodes: "PERSID, BINPERSID",
        invokes: "the loader's persistent_load(pid)",
        plantable: None,
        judged: "the loader's own (torch reads storages); the id is data",
    },
];
