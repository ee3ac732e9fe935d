//! The allowlist: exact `(module, qualname)` entries, each with the operations it vouches for
//! (constructed with `__new__`, called with arguments, given a BUILD state) and the reason it is
//! safe; plus the few families matched by rule (torch dtypes, numpy scalar types).

use super::*;

/// What an allowlist entry vouches for, operation by operation. Importing a listed name is
/// always allowed; each operation that runs the name's code needs its own allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ops {
    /// Constructed with its `__new__` (NEWOBJ, NEWOBJ_EX, `copyreg._reconstructor`,
    /// `copyreg.__newobj__`).
    pub new: bool,
    /// Called with arguments from the file (REDUCE, INST, OBJ).
    pub call: bool,
    /// Its instances take a BUILD state (their `__setstate__`, or a `__dict__` update).
    pub build: bool,
}

impl Ops {
    /// The operations by name, for reports and documentation.
    pub fn describe(self) -> String {
        let mut out = Vec::new();
        if self.new {
            out.push("new");
        }
        if self.call {
            out.push("call");
        }
        if self.build {
            out.push("build");
        }
        if out.is_empty() {
            return "import only".to_string();
        }
        out.join(", ")
    }
}

/// A type: constructed, called with arguments and given state.
pub const TYPE: Ops = Ops {
    new: true,
    call: true,
    build: true,
};
/// A function: called with arguments (what it returns is the library's own data).
pub const FUNC: Ops = Ops {
    new: false,
    call: true,
    build: false,
};
/// What a library profile vouches for a name no entry lists: construction and state, never a
/// call.
pub const CONSTRUCT: Ops = Ops {
    new: true,
    call: false,
    build: true,
};

/// Importable as a value, never called, constructed or given state.
pub const IMPORT_ONLY: Ops = Ops {
    new: false,
    call: false,
    build: false,
};

/// One exact allowlist entry.
#[derive(Debug, Clone, Copy)]
pub struct Allow {
    pub module: &'static str,
    /// A qualname, or a pattern with one `*` at its start or end.
    pub name: &'static str,
    pub ops: Ops,
    pub why: &'static str,
}

impl Allow {
    pub(super) const fn new(
        module: &'static str,
        name: &'static str,
        ops: Ops,
        why: &'static str,
    ) -> Allow {
        Allow {
            module,
            name,
            ops,
            why,
        }
    }
}

/// The allowlist entries, in table order (for documentation and the differential oracle).
pub fn entries() -> &'static [Allow] {
    ALLOW
}

/// Safe globals: exact (module, qualname) entries, what each vouches for and why it is safe.
/// A check that proves a text from a state harmless.
pub type TextCheck = fn(&str) -> bool;

/// A class whose BUILD restores plain data unless the state holds one of `keys`: then its
/// `__setstate__` runs code the state names. Its entry allows BUILD; a BUILD whose state holds
/// such a key, or whose state is not a dict read whole, is an issue.
#[derive(Debug, Clone, Copy)]
pub struct BuildGuard {
    pub module: &'static str,
    /// The guarded classes of `module` (`*`: every one).
    pub names: &'static [&'static str],
    pub keys: &'static [&'static str],
    /// The state key whose text `keys` make `__setstate__` run, and the check that proves a
    /// given text harmless (a plain model formula; scipy's own argument-parser template).
    pub check: Option<(&'static str, TextCheck)>,
    pub why: &'static str,
}

/// The functions a model formula may call (patsy's and formulaic's transforms and contrasts,
/// numpy's elementwise math): they compute on the columns they are given.
const FORMULA_FUNCS: &[&str] = &[
    "C",
    "Diff",
    "Helmert",
    "I",
    "Poly",
    "Q",
    "Sum",
    "Treatment",
    "bs",
    "cc",
    "center",
    "cr",
    "lag",
    "log",
    "np.abs",
    "np.cos",
    "np.exp",
    "np.log",
    "np.log10",
    "np.log1p",
    "np.log2",
    "np.power",
    "np.sin",
    "np.sqrt",
    "np.square",
    "numpy.exp",
    "numpy.log",
    "numpy.sqrt",
    "poly",
    "scale",
    "standardize",
    "te",
];

/// Whether a model formula only names columns and calls formula transforms: no attribute
/// walk other than a listed function, no dunder, no call of anything else, no lambda,
/// subscript or string escape. Formula terms are evaluated as Python expressions, so anything
/// else is judged as code.
pub fn plain_formula(formula: &str) -> bool {
    if formula.contains("__") || formula.contains('[') || formula.contains('\\') {
        return false;
    }
    let bytes = formula.as_bytes();
    let mut i = 0usize;
    let mut quote: Option<u8> = None;
    while let Some(&b) = bytes.get(i) {
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if b == b'\'' || b == b'"' {
            quote = Some(b);
            i += 1;
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while bytes
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
            {
                i += 1;
            }
            let name = formula.get(start..i).unwrap_or_default();
            let mut j = i;
            while bytes.get(j).is_some_and(u8::is_ascii_whitespace) {
                j += 1;
            }
            let called = bytes.get(j) == Some(&b'(');
            if name == "lambda"
                || ((called || name.contains('.')) && !FORMULA_FUNCS.contains(&name))
            {
                return false;
            }
            continue;
        }
        if !(b.is_ascii_digit() || b" ~+-*/:^%(),.=<>!&|\t\r\n".contains(&b)) {
            return false;
        }
        i += 1;
    }
    quote.is_none()
}

/// statsmodels' model data re-evaluates the model's formula (whose terms are Python
/// expressions, run by patsy or formulaic) when the state asks it to rebuild the design.
const STATSMODELS_FORMULA: &[&str] = &["restore_model_spec", "restore_design_info"];
const STATSMODELS_WHY: &str = "with `restore_model_spec` (`restore_design_info` before 0.14) in \
     the state, __setstate__ evaluates the state's `formula` against its data: formula terms are \
     Python expressions (a formula that only names columns and calls formula transforms is \
     data)";

/// scipy's distributions exec the argument-parser source kept in their state when unpickled.
const SCIPY_WHY: &str = "__setstate__ calls _attach_methods, which exec()s the state's \
     `_parse_arg_template` (a template scipy fills with the distribution's shape names is data; \
     any other text is code)";

/// scipy's argument-parser template (`_distn_infrastructure.parse_arg_template`).
const SCIPY_TEMPLATE: &str = "\ndef _parse_args(self, %S %I):\n    return (%S), %O\n\n\
     def _parse_args_rvs(self, %S %I, size=None):\n    return self._argcheck_rvs(%S %O, size=size)\n\n\
     def _parse_args_stats(self, %S %I, moments='mv'):\n    return (%S), %O, moments\n";

/// Whether `text` is scipy's template filled as scipy fills it: shape names (identifiers, each
/// followed by `, `) and the location/scale arguments of a continuous or a discrete distribution.
pub fn scipy_arg_template(text: &str) -> bool {
    let head = "\ndef _parse_args(self, ";
    let Some(rest) = text.strip_prefix(head) else {
        return false;
    };
    [("loc=0, scale=1", "loc, scale"), ("loc=0", "loc, 1")]
        .iter()
        .any(|(inner, outer)| {
            let Some(end) = rest.find(&format!(" {inner}):")) else {
                return false;
            };
            let shapes = rest.get(..end).unwrap_or_default();
            let names_ok = shapes.is_empty()
                || shapes.strip_suffix(", ").is_some_and(|names| {
                    names.split(", ").all(|n| {
                        n.chars()
                            .next()
                            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
                });
            names_ok
                && SCIPY_TEMPLATE
                    .replace("%S", shapes)
                    .replace("%I", inner)
                    .replace("%O", outer)
                    == text
        })
}

pub static BUILD_GUARDS: &[BuildGuard] = &[
    BuildGuard {
        module: "scipy.stats._continuous_distns",
        names: &["*"],
        keys: &["_parse_arg_template"],
        check: Some(("_parse_arg_template", scipy_arg_template)),
        why: SCIPY_WHY,
    },
    BuildGuard {
        module: "scipy.stats._discrete_distns",
        names: &["*"],
        keys: &["_parse_arg_template"],
        check: Some(("_parse_arg_template", scipy_arg_template)),
        why: SCIPY_WHY,
    },
    BuildGuard {
        module: "scipy.stats._distn_infrastructure",
        names: &["*"],
        keys: &["_parse_arg_template"],
        check: Some(("_parse_arg_template", scipy_arg_template)),
        why: SCIPY_WHY,
    },
    BuildGuard {
        module: "statsmodels.base.data",
        names: &["FormulaicData", "ModelData", "PandasData", "PatsyData"],
        keys: STATSMODELS_FORMULA,
        check: Some(("formula", plain_formula)),
        why: STATSMODELS_WHY,
    },
];

/// The guard on BUILD of `module.qualname`, if it has one.
pub fn build_guard(module: &str, qualname: &str) -> Option<&'static BuildGuard> {
    BUILD_GUARDS
        .iter()
        .find(|g| g.module == module && g.names.iter().any(|n| *n == qualname || *n == "*"))
}

pub(super) static ALLOW: &[Allow] = &[
    Allow::new(
        "pyarrow.lib",
        "_restore_array",
        FUNC,
        "rebuilds an Arrow array from its type, length and buffers (how every Arrow array pickles; pandas 3 string columns)",
    ),
    Allow::new(
        "pyarrow.lib",
        "_reconstruct_table",
        FUNC,
        "rebuilds an Arrow table from its columns and schema",
    ),
    Allow::new(
        "pyarrow.lib",
        "_reconstruct_record_batch",
        FUNC,
        "rebuilds an Arrow record batch from its columns and schema",
    ),
    Allow::new(
        "pyarrow.lib",
        "py_buffer",
        FUNC,
        "wraps bytes from the file as an Arrow buffer",
    ),
    Allow::new(
        "pyarrow.lib",
        "type_for_alias",
        FUNC,
        "an Arrow data type from its name (`int64`, `string`): a table lookup",
    ),
    Allow::new(
        "pyarrow.lib",
        "chunked_array",
        FUNC,
        "an Arrow chunked array from arrays and a type",
    ),
    Allow::new(
        "pyarrow.lib",
        "field",
        FUNC,
        "an Arrow schema field: name, type, nullability, metadata",
    ),
    Allow::new(
        "pyarrow.lib",
        "schema",
        FUNC,
        "an Arrow schema from fields and metadata",
    ),
    Allow::new(
        "pyarrow.lib",
        "timestamp",
        FUNC,
        "an Arrow timestamp type from a unit and a time zone name",
    ),
    Allow::new(
        "pyarrow.lib",
        "time32",
        FUNC,
        "an Arrow time type from a unit",
    ),
    Allow::new(
        "pyarrow.lib",
        "time64",
        FUNC,
        "an Arrow time type from a unit",
    ),
    Allow::new(
        "pyarrow.lib",
        "duration",
        FUNC,
        "an Arrow duration type from a unit",
    ),
    Allow::new(
        "pyarrow.lib",
        "decimal128",
        FUNC,
        "an Arrow decimal type from precision and scale",
    ),
    Allow::new(
        "pyarrow.lib",
        "decimal256",
        FUNC,
        "an Arrow decimal type from precision and scale",
    ),
    Allow::new(
        "pyarrow.lib",
        "list_",
        FUNC,
        "an Arrow list type from its value type",
    ),
    Allow::new(
        "pyarrow.lib",
        "large_list",
        FUNC,
        "an Arrow list type from its value type",
    ),
    Allow::new(
        "pyarrow.lib",
        "struct",
        FUNC,
        "an Arrow struct type from fields",
    ),
    Allow::new(
        "pyarrow.lib",
        "dictionary",
        FUNC,
        "an Arrow dictionary type from index and value types",
    ),
    Allow::new("pyarrow.lib", "binary", FUNC, "an Arrow binary type"),
    Allow::new(
        "pyarrow.lib",
        "map_",
        FUNC,
        "an Arrow map type from key and item types",
    ),
    Allow::new(
        "statsmodels.base.data",
        "ModelData",
        CONSTRUCT,
        "a model's data; BUILD is guarded (BUILD_GUARDS): a state that asks to re-evaluate the formula is an issue",
    ),
    Allow::new(
        "statsmodels.base.data",
        "PandasData",
        CONSTRUCT,
        "a model's data; BUILD is guarded (BUILD_GUARDS): a state that asks to re-evaluate the formula is an issue",
    ),
    Allow::new(
        "statsmodels.base.data",
        "PatsyData",
        CONSTRUCT,
        "a model's data; BUILD is guarded (BUILD_GUARDS): a state that asks to re-evaluate the formula is an issue",
    ),
    Allow::new(
        "statsmodels.base.data",
        "FormulaicData",
        CONSTRUCT,
        "a model's data; BUILD is guarded (BUILD_GUARDS): a state that asks to re-evaluate the formula is an issue",
    ),
    Allow::new("collections", "OrderedDict", TYPE, "dict subclass"),
    Allow::new("collections", "Counter", TYPE, "dict subclass"),
    Allow::new("collections", "deque", TYPE, "container"),
    Allow::new(
        "collections",
        "defaultdict",
        TYPE,
        "dict subclass; its factory is checked as a higher-order argument",
    ),
    Allow::new("collections", "ChainMap", TYPE, "container"),
    Allow::new("collections", "UserDict", TYPE, "container"),
    Allow::new("collections", "UserList", TYPE, "container"),
    Allow::new("collections", "UserString", TYPE, "container"),
    Allow::new(
        "collections",
        "namedtuple",
        FUNC,
        "builds a tuple class from validated identifiers",
    ),
    Allow::new(
        "copyreg",
        "_reconstructor",
        FUNC,
        "object.__new__ plus base.__init__; its arguments are checked",
    ),
    Allow::new(
        "copyreg",
        "__newobj__",
        FUNC,
        "cls.__new__(cls, *args): construction only",
    ),
    Allow::new(
        "copyreg",
        "__newobj_ex__",
        FUNC,
        "cls.__new__(cls, *args, **kwargs): construction only",
    ),
    Allow::new("copyreg", "_reduce_ex", FUNC, "pickle helper"),
    Allow::new(
        "_codecs",
        "encode",
        FUNC,
        "how protocol 2 stores bytes (latin-1 text to bytes)",
    ),
    Allow::new("codecs", "encode", FUNC, "how protocol 2 stores bytes"),
    Allow::new("builtins", "set", TYPE, "container"),
    Allow::new("builtins", "frozenset", TYPE, "container"),
    Allow::new("builtins", "bytearray", TYPE, "container"),
    Allow::new("builtins", "bytes", TYPE, "value type"),
    Allow::new("builtins", "complex", TYPE, "number"),
    Allow::new("builtins", "int", TYPE, "number"),
    Allow::new("builtins", "float", TYPE, "number"),
    Allow::new("builtins", "bool", TYPE, "value type"),
    Allow::new("builtins", "str", TYPE, "value type"),
    Allow::new("builtins", "list", TYPE, "container"),
    Allow::new("builtins", "tuple", TYPE, "container"),
    Allow::new("builtins", "dict", TYPE, "container"),
    Allow::new("builtins", "slice", TYPE, "value type"),
    Allow::new("builtins", "range", TYPE, "value type"),
    Allow::new("builtins", "object", TYPE, "the base class"),
    Allow::new("builtins", "NoneType", TYPE, "value type"),
    Allow::new("builtins", "Ellipsis", FUNC, "constant"),
    Allow::new("builtins", "NotImplemented", FUNC, "constant"),
    Allow::new("builtins", "reversed", TYPE, "iterator over its argument"),
    Allow::new("builtins", "enumerate", TYPE, "iterator over its argument"),
    Allow::new("builtins", "zip", TYPE, "iterator over its arguments"),
    Allow::new("builtins", "iter", FUNC, "iterator over its argument"),
    Allow::new(
        "builtins",
        "map",
        TYPE,
        "higher-order: its function argument is checked",
    ),
    Allow::new(
        "builtins",
        "filter",
        TYPE,
        "higher-order: its function argument is checked",
    ),
    Allow::new("builtins", "property", TYPE, "descriptor"),
    Allow::new("builtins", "staticmethod", TYPE, "descriptor"),
    Allow::new("builtins", "classmethod", TYPE, "descriptor"),
    Allow::new(
        "functools",
        "partial",
        TYPE,
        "higher-order: its function argument is checked",
    ),
    Allow::new(
        "_functools",
        "partial",
        TYPE,
        "higher-order: its function argument is checked",
    ),
    Allow::new("datetime", "datetime", TYPE, "value type"),
    Allow::new("datetime", "date", TYPE, "value type"),
    Allow::new("datetime", "time", TYPE, "value type"),
    Allow::new("datetime", "timedelta", TYPE, "value type"),
    Allow::new("datetime", "timezone", TYPE, "value type"),
    Allow::new("datetime", "tzinfo", TYPE, "value type"),
    Allow::new(
        "zoneinfo",
        "ZoneInfo",
        TYPE,
        "value type (reads the system tz database)",
    ),
    Allow::new("zoneinfo._common", "load_data", FUNC, "tz database"),
    Allow::new("decimal", "Decimal", TYPE, "number"),
    Allow::new("_decimal", "Decimal", TYPE, "number"),
    Allow::new("_pydecimal", "Decimal", TYPE, "number"),
    Allow::new("fractions", "Fraction", TYPE, "number"),
    Allow::new("uuid", "UUID", TYPE, "value type"),
    Allow::new("uuid", "SafeUUID", TYPE, "enum"),
    Allow::new("pathlib", "PurePath", TYPE, "path value"),
    Allow::new("pathlib", "PurePosixPath", TYPE, "path value"),
    Allow::new("pathlib", "PureWindowsPath", TYPE, "path value"),
    Allow::new(
        "pathlib",
        "Path",
        TYPE,
        "path value (construction does no I/O)",
    ),
    Allow::new(
        "pathlib",
        "PosixPath",
        TYPE,
        "path value (construction does no I/O)",
    ),
    Allow::new(
        "pathlib",
        "WindowsPath",
        TYPE,
        "path value (construction does no I/O)",
    ),
    Allow::new("ipaddress", "IPv4Address", TYPE, "value type"),
    Allow::new("ipaddress", "IPv6Address", TYPE, "value type"),
    Allow::new("ipaddress", "IPv4Network", TYPE, "value type"),
    Allow::new("ipaddress", "IPv6Network", TYPE, "value type"),
    Allow::new("ipaddress", "IPv4Interface", TYPE, "value type"),
    Allow::new("ipaddress", "IPv6Interface", TYPE, "value type"),
    Allow::new("array", "array", TYPE, "container"),
    Allow::new("array", "_array_reconstructor", FUNC, "array constructor"),
    Allow::new("re", "compile", FUNC, "compiles a regular expression"),
    Allow::new("re", "_compile", FUNC, "compiles a regular expression"),
    Allow::new("re", "Pattern", TYPE, "value type"),
    Allow::new("re", "RegexFlag", TYPE, "enum"),
    Allow::new("http", "HTTPStatus", TYPE, "enum of status codes"),
    Allow::new(
        "logging",
        "getLogger",
        FUNC,
        "how Logger objects pickle: a lookup by name",
    ),
    Allow::new("logging", "Logger", TYPE, "logger object"),
    Allow::new("logging", "RootLogger", TYPE, "logger object"),
    Allow::new("logging", "LoggerAdapter", TYPE, "logger wrapper"),
    Allow::new(
        "zoneinfo",
        "ZoneInfo._unpickle",
        FUNC,
        "how ZoneInfo pickles: a lookup by key",
    ),
    Allow::new("pytz", "_p", FUNC, "how pytz time zones pickle"),
    Allow::new("pytz", "_UTC", TYPE, "the UTC zone"),
    Allow::new("pytz.tzinfo", "*", TYPE, "time zone classes"),
    Allow::new("dateutil.tz.tz", "*", TYPE, "time zone classes"),
    Allow::new(
        "urllib.parse",
        "ParseResult",
        TYPE,
        "named tuple of URL parts",
    ),
    Allow::new(
        "urllib.parse",
        "SplitResult",
        TYPE,
        "named tuple of URL parts",
    ),
    Allow::new(
        "urllib.parse",
        "DefragResult",
        TYPE,
        "named tuple of URL parts",
    ),
    Allow::new(
        "urllib.parse",
        "ParseResultBytes",
        TYPE,
        "named tuple of URL parts",
    ),
    Allow::new(
        "urllib.parse",
        "SplitResultBytes",
        TYPE,
        "named tuple of URL parts",
    ),
    Allow::new(
        "urllib.parse",
        "DefragResultBytes",
        TYPE,
        "named tuple of URL parts",
    ),
    Allow::new("time", "struct_time", TYPE, "time tuple"),
    Allow::new("calendar", "Day", TYPE, "enum"),
    Allow::new("calendar", "Month", TYPE, "enum"),
    Allow::new("inspect", "_empty", TYPE, "marker class"),
    Allow::new("ssl", "TLSVersion", TYPE, "enum"),
    Allow::new("signal", "Signals", TYPE, "enum"),
    Allow::new("enum", "Enum", TYPE, "enum base"),
    Allow::new("enum", "IntEnum", TYPE, "enum base"),
    Allow::new("enum", "Flag", TYPE, "enum base"),
    Allow::new("enum", "IntFlag", TYPE, "enum base"),
    Allow::new("types", "SimpleNamespace", TYPE, "attribute bag"),
    Allow::new("types", "MappingProxyType", TYPE, "read-only mapping"),
    Allow::new("argparse", "Namespace", TYPE, "attribute bag"),
    Allow::new(
        "string",
        "Template",
        TYPE,
        "no evaluation, $-substitution only",
    ),
    Allow::new("struct", "Struct", TYPE, "value type"),
    Allow::new("statistics", "NormalDist", TYPE, "value type"),
    Allow::new("random", "Random", TYPE, "random generator state"),
    Allow::new("_random", "Random", TYPE, "random generator state"),
    Allow::new("email.message", "Message", TYPE, "value type"),
    Allow::new("io", "BytesIO", TYPE, "in-memory buffer"),
    Allow::new("_io", "BytesIO", TYPE, "in-memory buffer"),
    Allow::new("io", "StringIO", TYPE, "in-memory buffer"),
    Allow::new("_io", "StringIO", TYPE, "in-memory buffer"),
    Allow::new("numpy", "dtype", TYPE, "numpy dtype"),
    Allow::new("numpy", "ndarray", TYPE, "numpy array"),
    Allow::new("numpy", "matrix", TYPE, "numpy matrix"),
    Allow::new(
        "numpy",
        "memmap",
        TYPE,
        "array class (no file is opened by unpickling)",
    ),
    Allow::new("numpy", "recarray", TYPE, "array subclass"),
    Allow::new(
        "numpy.core.multiarray",
        "_reconstruct",
        FUNC,
        "ndarray reconstruction",
    ),
    Allow::new(
        "numpy._core.multiarray",
        "_reconstruct",
        FUNC,
        "ndarray reconstruction",
    ),
    Allow::new(
        "numpy.core.multiarray",
        "scalar",
        FUNC,
        "numpy scalar reconstruction",
    ),
    Allow::new(
        "numpy._core.multiarray",
        "scalar",
        FUNC,
        "numpy scalar reconstruction",
    ),
    Allow::new(
        "numpy.core.numeric",
        "_frombuffer",
        FUNC,
        "protocol 5 out-of-band array",
    ),
    Allow::new(
        "numpy._core.numeric",
        "_frombuffer",
        FUNC,
        "protocol 5 out-of-band array",
    ),
    Allow::new(
        "numpy.ma.core",
        "_mareconstruct",
        FUNC,
        "masked array reconstruction",
    ),
    Allow::new("numpy.ma.core", "MaskedArray", TYPE, "masked array"),
    Allow::new("numpy.ma.core", "mvoid", TYPE, "masked void"),
    Allow::new("numpy.matrixlib.defmatrix", "matrix", TYPE, "numpy matrix"),
    Allow::new(
        "numpy.random._pickle",
        "__randomstate_ctor",
        FUNC,
        "RandomState constructor",
    ),
    Allow::new(
        "numpy.random._pickle",
        "__generator_ctor",
        FUNC,
        "Generator constructor",
    ),
    Allow::new(
        "numpy.random._pickle",
        "__bit_generator_ctor",
        FUNC,
        "bit generator constructor",
    ),
    Allow::new(
        "numpy.random",
        "__RandomState_ctor",
        FUNC,
        "RandomState constructor (old numpy)",
    ),
    Allow::new("numpy.random.mtrand", "RandomState", TYPE, "random state"),
    Allow::new(
        "numpy.random.mtrand",
        "_rand",
        FUNC,
        "the global RandomState",
    ),
    Allow::new(
        "numpy.random._generator",
        "Generator",
        TYPE,
        "random generator",
    ),
    Allow::new("numpy.random._pcg64", "PCG64", TYPE, "bit generator"),
    Allow::new("numpy.random._pcg64", "PCG64DXSM", TYPE, "bit generator"),
    Allow::new("numpy.random._mt19937", "MT19937", TYPE, "bit generator"),
    Allow::new("numpy.random._philox", "Philox", TYPE, "bit generator"),
    Allow::new("numpy.random._sfc64", "SFC64", TYPE, "bit generator"),
    Allow::new(
        "numpy.random.bit_generator",
        "SeedSequence",
        TYPE,
        "seed sequence",
    ),
    Allow::new(
        "numpy.random.bit_generator",
        "__pyx_unpickle_SeedSequence",
        FUNC,
        "seed sequence",
    ),
    Allow::new(
        "joblib.numpy_pickle",
        "NumpyArrayWrapper",
        TYPE,
        "joblib inline array header (the array data is read as data)",
    ),
    Allow::new(
        "joblib.numpy_pickle",
        "NDArrayWrapper",
        TYPE,
        "old joblib array header",
    ),
    Allow::new(
        "joblib.numpy_pickle_compat",
        "NDArrayWrapper",
        TYPE,
        "old joblib array header",
    ),
    Allow::new(
        "joblib.numpy_pickle_compat",
        "ZNDArrayWrapper",
        TYPE,
        "old joblib array header",
    ),
    Allow::new("torch", "Size", TYPE, "tensor shape"),
    Allow::new("torch", "Tensor", TYPE, "tensor"),
    Allow::new("torch", "device", TYPE, "device name"),
    Allow::new("torch", "dtype", TYPE, "dtype"),
    Allow::new("torch", "layout", TYPE, "layout"),
    Allow::new("torch", "memory_format", TYPE, "memory format"),
    Allow::new("torch", "finfo", TYPE, "dtype info"),
    Allow::new("torch", "iinfo", TYPE, "dtype info"),
    Allow::new("torch", "Generator", TYPE, "random generator state"),
    Allow::new(
        "torch._utils",
        "_rebuild_tensor",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_tensor_v2",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_tensor_v3",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_parameter",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_parameter_with_state",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_qtensor",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_sparse_tensor",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_nested_tensor",
        FUNC,
        "rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_meta_tensor_no_storage",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_wrapper_subclass",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_device_tensor_from_numpy",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_device_tensor_from_cpu_tensor",
        FUNC,
        "weights_only rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_xla_tensor",
        FUNC,
        "rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_rebuild_mps_tensor",
        FUNC,
        "rebuild function",
    ),
    Allow::new(
        "torch._utils",
        "_restore_device_fake_mode",
        FUNC,
        "rebuild helper",
    ),
    Allow::new(
        "torch._tensor",
        "_rebuild_from_type",
        FUNC,
        "rebuild function; its arguments are checked",
    ),
    Allow::new(
        "torch._tensor",
        "_rebuild_from_type_v2",
        FUNC,
        "weights_only rebuild function; its arguments are checked",
    ),
    Allow::new(
        "torch.serialization",
        "_get_layout",
        FUNC,
        "weights_only layout lookup",
    ),
    Allow::new(
        "torch.storage",
        "_load_from_bytes",
        FUNC,
        "nested torch.load of a storage: the embedded archive is scanned in turn",
    ),
    Allow::new(
        "torch.jit._pickle",
        "build_intlist",
        FUNC,
        "TorchScript unpickler helper (builds a list)",
    ),
    Allow::new(
        "torch.jit._pickle",
        "build_tensorlist",
        FUNC,
        "TorchScript unpickler helper (builds a list)",
    ),
    Allow::new(
        "torch.jit._pickle",
        "build_doublelist",
        FUNC,
        "TorchScript unpickler helper (builds a list)",
    ),
    Allow::new(
        "torch.jit._pickle",
        "build_boollist",
        FUNC,
        "TorchScript unpickler helper (builds a list)",
    ),
    Allow::new(
        "torch.jit._pickle",
        "build_tensor_from_id",
        FUNC,
        "TorchScript unpickler helper (tensor table lookup)",
    ),
    Allow::new(
        "torch.jit._pickle",
        "restore_type_tag",
        FUNC,
        "TorchScript unpickler helper (type annotation)",
    ),
    Allow::new(
        "torch.nn.parameter",
        "Parameter",
        TYPE,
        "weights_only class",
    ),
    Allow::new(
        "torch.nn.parameter",
        "UninitializedParameter",
        TYPE,
        "parameter class",
    ),
    Allow::new("torch.nn.parameter", "Buffer", TYPE, "buffer class"),
    Allow::new(
        "torch.storage",
        "TypedStorage",
        TYPE,
        "weights_only storage class",
    ),
    Allow::new(
        "torch.storage",
        "UntypedStorage",
        TYPE,
        "weights_only storage class",
    ),
    Allow::new("torch.storage", "_StorageBase", TYPE, "storage class"),
    Allow::new("torch.return_types", "*", TYPE, "named tuples of results"),
    Allow::new("torch.cuda", "*Tensor", TYPE, "legacy tensor classes"),
    Allow::new("torch.cuda", "*Storage", TYPE, "legacy storage classes"),
    Allow::new("torch.ao.quantization", "*", TYPE, "quantization configs"),
    Allow::new("torch.quantization", "*", TYPE, "quantization configs"),
    Allow::new("torch.distributions", "*", TYPE, "distribution classes"),
    Allow::new(
        "torch._C",
        "_nn.gelu",
        FUNC,
        "activation function reference",
    ),
    Allow::new(
        "torch.nn.functional",
        "*",
        TYPE,
        "functional ops referenced by modules",
    ),
    Allow::new("torch.nn.init", "*", TYPE, "initialisers"),
    Allow::new("scipy.sparse._csr", "csr_matrix", TYPE, "sparse matrix"),
    Allow::new("scipy.sparse._csc", "csc_matrix", TYPE, "sparse matrix"),
    Allow::new("scipy.sparse._coo", "coo_matrix", TYPE, "sparse matrix"),
    Allow::new("scipy.sparse._lil", "lil_matrix", TYPE, "sparse matrix"),
    Allow::new("scipy.sparse._dok", "dok_matrix", TYPE, "sparse matrix"),
    Allow::new("scipy.sparse._bsr", "bsr_matrix", TYPE, "sparse matrix"),
    Allow::new("scipy.sparse._dia", "dia_matrix", TYPE, "sparse matrix"),
    Allow::new("scipy.sparse._csr", "csr_array", TYPE, "sparse array"),
    Allow::new("scipy.sparse._csc", "csc_array", TYPE, "sparse array"),
    Allow::new("scipy.sparse._coo", "coo_array", TYPE, "sparse array"),
    Allow::new(
        "scipy.sparse.csr",
        "csr_matrix",
        TYPE,
        "sparse matrix (old path)",
    ),
    Allow::new(
        "scipy.sparse.csc",
        "csc_matrix",
        TYPE,
        "sparse matrix (old path)",
    ),
    Allow::new(
        "scipy.sparse.coo",
        "coo_matrix",
        TYPE,
        "sparse matrix (old path)",
    ),
    Allow::new(
        "scipy.stats._continuous_distns",
        "*",
        TYPE,
        "distribution objects; BUILD is guarded (BUILD_GUARDS): a state whose argument-parser template is not scipy's is an issue",
    ),
    Allow::new(
        "scipy.stats._discrete_distns",
        "*",
        TYPE,
        "distribution objects; BUILD is guarded (BUILD_GUARDS): a state whose argument-parser template is not scipy's is an issue",
    ),
    Allow::new(
        "scipy.stats._distn_infrastructure",
        "*",
        TYPE,
        "distribution objects; BUILD is guarded (BUILD_GUARDS): a state whose argument-parser template is not scipy's is an issue",
    ),
    Allow::new("scipy.interpolate._interpolate", "*", TYPE, "interpolators"),
    Allow::new(
        "pandas._libs.internals",
        "_unpickle_block",
        FUNC,
        "pandas block reconstruction",
    ),
    Allow::new(
        "pandas._libs.tslibs.timestamps",
        "_unpickle_timestamp",
        FUNC,
        "timestamp reconstruction",
    ),
    Allow::new(
        "pandas._libs.tslibs.timedeltas",
        "_timedelta_unpickle",
        FUNC,
        "timedelta reconstruction",
    ),
    Allow::new(
        "pandas._libs.tslibs.nattype",
        "__nat_unpickle",
        FUNC,
        "NaT reconstruction",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "_unpickle_offset",
        FUNC,
        "offset reconstruction",
    ),
    Allow::new(
        "pandas.core.indexes.base",
        "_new_Index",
        FUNC,
        "index reconstruction",
    ),
    Allow::new(
        "pandas.core.arrays.categorical",
        "_new_Categorical",
        FUNC,
        "categorical reconstruction",
    ),
    Allow::new(
        "pandas.core.indexes.period",
        "_new_PeriodIndex",
        FUNC,
        "index reconstruction",
    ),
    Allow::new(
        "pandas.core.indexes.datetimes",
        "_new_DatetimeIndex",
        FUNC,
        "index reconstruction",
    ),
    Allow::new(
        "pandas.core.internals.blocks",
        "new_block",
        FUNC,
        "block reconstruction",
    ),
    Allow::new(
        "pandas.core.internals.blocks",
        "_unpickle_block",
        FUNC,
        "block reconstruction",
    ),
    // Harmless builtins, annotation objects and data containers that real files hold.
    Allow::new(
        "builtins",
        "hash",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "hash",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "len",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "len",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "abs",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "abs",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "min",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "min",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "max",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "max",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "sum",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "sum",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "round",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "round",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "divmod",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "divmod",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "pow",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "pow",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "repr",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "repr",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "ascii",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "ascii",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "callable",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "callable",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "isinstance",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "isinstance",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "issubclass",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "issubclass",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "ord",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "ord",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "chr",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "chr",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "bin",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "bin",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "hex",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "hex",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "oct",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "oct",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "all",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "all",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "any",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "any",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "id",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "id",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "zip",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "zip",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "enumerate",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "enumerate",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "reversed",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "reversed",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "sorted",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "sorted",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "format",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "format",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "slice",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "slice",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "range",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "range",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "object",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "object",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "type",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "type",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "NotImplemented",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "NotImplemented",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "builtins",
        "Ellipsis",
        FUNC,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "__builtin__",
        "Ellipsis",
        TYPE,
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    Allow::new(
        "typing",
        "Any",
        TYPE,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Union",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Optional",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "List",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Dict",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Tuple",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Set",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "FrozenSet",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Callable",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Type",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Sequence",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Mapping",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "MutableMapping",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Iterable",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Iterator",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Generic",
        TYPE,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "TypeVar",
        IMPORT_ONLY,
        "type variable class, referenced as a value (a TypeVar pickles as its own global); calling it compiles its constraint strings",
    ),
    Allow::new(
        "typing",
        "Literal",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "ClassVar",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "Final",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "NamedTuple",
        FUNC,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "_GenericAlias",
        TYPE,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "_SpecialForm",
        TYPE,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "_UnionGenericAlias",
        TYPE,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "_LiteralGenericAlias",
        TYPE,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "_CallableGenericAlias",
        TYPE,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "_SpecialGenericAlias",
        TYPE,
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    Allow::new(
        "typing",
        "ForwardRef",
        IMPORT_ONLY,
        "the class as a value (its instances hold a code object and cannot be pickled); calling it compiles its string",
    ),
    Allow::new(
        "collections.abc",
        "Iterable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Iterable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Iterator",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Iterator",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Mapping",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Mapping",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "MutableMapping",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "MutableMapping",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Sequence",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Sequence",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "MutableSequence",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "MutableSequence",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Set",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Set",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "MutableSet",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "MutableSet",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Callable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Callable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Hashable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Hashable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Sized",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Sized",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Container",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Container",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Collection",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Collection",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Generator",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Generator",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Awaitable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Awaitable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Coroutine",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Coroutine",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "AsyncIterable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "AsyncIterable",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "AsyncIterator",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "AsyncIterator",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "KeysView",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "KeysView",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "ItemsView",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "ItemsView",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "ValuesView",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "ValuesView",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "ByteString",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "ByteString",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "collections.abc",
        "Reversible",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "_collections_abc",
        "Reversible",
        TYPE,
        "abstract base class (type annotation metadata)",
    ),
    Allow::new(
        "sklearn.datasets.base",
        "Bunch",
        TYPE,
        "dict subclass holding data (older scikit-learn pickles name it under sklearn.datasets)",
    ),
    Allow::new(
        "sklearn.datasets._base",
        "Bunch",
        TYPE,
        "dict subclass holding data (older scikit-learn pickles name it under sklearn.datasets)",
    ),
    Allow::new(
        "sklearn.utils",
        "Bunch",
        TYPE,
        "dict subclass holding data (older scikit-learn pickles name it under sklearn.datasets)",
    ),
    Allow::new(
        "sklearn.utils._bunch",
        "Bunch",
        TYPE,
        "dict subclass holding data (older scikit-learn pickles name it under sklearn.datasets)",
    ),
    Allow::new(
        "gensim.models.doc2vec",
        "Doctag",
        TYPE,
        "namedtuple of a document tag's counts",
    ),
    Allow::new(
        "gensim.models.doc2vec",
        "TaggedDocument",
        TYPE,
        "namedtuple of words and tags",
    ),
    Allow::new(
        "morfessor.baseline",
        "ConstrNode",
        TYPE,
        "namedtuple of a construction's counts",
    ),
    // Mined from what real model files call (fixtures/gen/mine_allowlist.py over the benign
    // fixtures, the labelled corpus and the real-world PyPI files), each reviewed.
    Allow::new(
        "pandas",
        "StringDtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "PeriodDtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "IntervalDtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "CategoricalDtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "SparseDtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "ArrowDtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "DatetimeTZDtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "BooleanDtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "Int8Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "Int16Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "Int32Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "Int64Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "UInt8Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "UInt16Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "UInt32Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "UInt64Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "Float32Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "Float64Dtype",
        TYPE,
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    Allow::new(
        "pandas",
        "Interval",
        TYPE,
        "pandas scalar value, called with its fields",
    ),
    Allow::new(
        "pandas",
        "Period",
        TYPE,
        "pandas scalar value, called with its fields",
    ),
    Allow::new(
        "pandas",
        "Timestamp",
        TYPE,
        "pandas scalar value, called with its fields",
    ),
    Allow::new(
        "pandas",
        "Timedelta",
        TYPE,
        "pandas scalar value, called with its fields",
    ),
    Allow::new(
        "pandas._libs.arrays",
        "__pyx_unpickle_NDArrayBacked",
        FUNC,
        "Cython reconstructor: __new__ then __setstate__ with arrays",
    ),
    Allow::new(
        "pandas._libs.interval",
        "__pyx_unpickle_IntervalMixin",
        FUNC,
        "Cython reconstructor of interval data",
    ),
    Allow::new(
        "pandas._libs.sparse",
        "IntIndex",
        TYPE,
        "sparse index: (length, indices array)",
    ),
    Allow::new(
        "pandas._libs.sparse",
        "BlockIndex",
        TYPE,
        "sparse index: (length, blocs, blengths)",
    ),
    Allow::new(
        "pandas.core.internals.managers",
        "BlockManager",
        TYPE,
        "pandas frame storage: (blocks, axes)",
    ),
    Allow::new(
        "pandas.core.internals.managers",
        "SingleBlockManager",
        TYPE,
        "pandas series storage: (block, axis)",
    ),
    Allow::new(
        "pandas._libs.tslibs.nattype",
        "_nat_unpickle",
        FUNC,
        "NaT singleton",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Day",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Hour",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Minute",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Second",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Milli",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Micro",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Nano",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "BusinessDay",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "BusinessHour",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "CustomBusinessDay",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "CustomBusinessHour",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "MonthEnd",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "MonthBegin",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "BusinessMonthEnd",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "BusinessMonthBegin",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "CustomBusinessMonthEnd",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "CustomBusinessMonthBegin",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "SemiMonthEnd",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "SemiMonthBegin",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Week",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "WeekOfMonth",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "LastWeekOfMonth",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "QuarterEnd",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "QuarterBegin",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "BQuarterEnd",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "BQuarterBegin",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "YearEnd",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "YearBegin",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "BYearEnd",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "BYearBegin",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "FY5253",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "FY5253Quarter",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Easter",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "DateOffset",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas._libs.tslibs.offsets",
        "Tick",
        TYPE,
        "date offset value: (n, normalize, fields)",
    ),
    Allow::new(
        "pandas.core.indexes.interval",
        "_new_IntervalIndex",
        FUNC,
        "index reconstruction",
    ),
    Allow::new(
        "pandas.core.indexes.timedeltas",
        "_new_TimedeltaIndex",
        FUNC,
        "index reconstruction",
    ),
    Allow::new(
        "sklearn.tree._tree",
        "Tree",
        TYPE,
        "decision tree arrays: (n_features, n_classes, n_outputs)",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyHalfSquaredError",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyAbsoluteError",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyPinballLoss",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyHuberLoss",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyHalfPoissonLoss",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyHalfGammaLoss",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyHalfTweedieLoss",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyHalfTweedieLossIdentity",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyHalfBinomialLoss",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyExponentialLoss",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn._loss._loss",
        "CyHalfMultinomialLoss",
        TYPE,
        "Cython loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.linear_model._sgd_fast",
        "Hinge",
        TYPE,
        "SGD loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.linear_model._sgd_fast",
        "ModifiedHuber",
        TYPE,
        "SGD loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.linear_model._sgd_fast",
        "SquaredHinge",
        TYPE,
        "SGD loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.linear_model._sgd_fast",
        "Log",
        TYPE,
        "SGD loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.linear_model._sgd_fast",
        "SquaredLoss",
        TYPE,
        "SGD loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.linear_model._sgd_fast",
        "Huber",
        TYPE,
        "SGD loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.linear_model._sgd_fast",
        "EpsilonInsensitive",
        TYPE,
        "SGD loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.linear_model._sgd_fast",
        "SquaredEpsilonInsensitive",
        TYPE,
        "SGD loss object: numeric parameters only",
    ),
    Allow::new(
        "sklearn.metrics._dist_metrics",
        "newObj",
        FUNC,
        "Cython helper: cls.__new__(cls), then BUILD sets the arrays",
    ),
    Allow::new(
        "sklearn.neighbors._ball_tree",
        "newObj",
        FUNC,
        "Cython helper: cls.__new__(cls), then BUILD sets the arrays",
    ),
    Allow::new(
        "sklearn.neighbors._kd_tree",
        "newObj",
        FUNC,
        "Cython helper: cls.__new__(cls), then BUILD sets the arrays",
    ),
    Allow::new(
        "sklearn.neighbors._binary_tree",
        "newObj",
        FUNC,
        "Cython helper: cls.__new__(cls), then BUILD sets the arrays",
    ),
    Allow::new(
        "torch._C",
        "Generator",
        TYPE,
        "random generator: (device); its state is set from bytes",
    ),
    Allow::new(
        "torch",
        "Generator",
        TYPE,
        "random generator: (device); its state is set from bytes",
    ),
    Allow::new(
        "numpy.core._internal",
        "_reconstruct",
        FUNC,
        "ndarray.__new__(subtype, shape, dtype) (numpy 1.x name)",
    ),
    Allow::new(
        "numpy._core._internal",
        "_reconstruct",
        FUNC,
        "ndarray.__new__(subtype, shape, dtype)",
    ),
    Allow::new(
        "transformers.trainer_utils",
        "IntervalStrategy",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.trainer_utils",
        "EvaluationStrategy",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.trainer_utils",
        "HubStrategy",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.trainer_utils",
        "SaveStrategy",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.trainer_utils",
        "SchedulerType",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.trainer_utils",
        "FSDPOption",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.trainer_utils",
        "ShardedDDPOption",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.trainer_utils",
        "HPSearchBackend",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.training_args",
        "OptimizerNames",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.training_args",
        "ParallelMode",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "transformers.debug_utils",
        "DebugOption",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "accelerate.utils.dataclasses",
        "DistributedType",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "accelerate.utils.dataclasses",
        "PrecisionType",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "accelerate.utils.dataclasses",
        "ComputeEnvironment",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "peft.utils.peft_types",
        "PeftType",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new(
        "peft.utils.peft_types",
        "TaskType",
        TYPE,
        "enum: called with a member value",
    ),
    Allow::new("xgboost.core", "_parse_eval_str", FUNC, "booster helper"),
    Allow::new(
        "dill._dill",
        "_load_type",
        FUNC,
        "looks up a builtin type by name (its argument is checked)",
    ),
    Allow::new(
        "dill._dill",
        "_create_array",
        FUNC,
        "numpy array reconstruction",
    ),
    Allow::new(
        "dill._dill",
        "_create_namedtuple",
        FUNC,
        "namedtuple class by field names",
    ),
    Allow::new(
        "dill._dill",
        "_get_attr",
        FUNC,
        "higher-order: resolves an attribute; its arguments are checked",
    ),
    Allow::new("tokenizers", "Tokenizer", TYPE, "tokenizer"),
    Allow::new("tokenizers", "AddedToken", TYPE, "token"),
    Allow::new("tokenizers.models", "Model", TYPE, "tokenizer model"),
];

/// Numpy's scalar and dtype class names that are lower-case (`numpy.float64`).
pub(super) fn is_numpy_scalar_type(name: &str) -> bool {
    const SCALARS: &[&str] = &[
        "bool_",
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "float128",
        "complex64",
        "complex128",
        "complex256",
        "longdouble",
        "clongdouble",
        "intc",
        "uintc",
        "intp",
        "uintp",
        "half",
        "single",
        "double",
        "longlong",
        "ulonglong",
        "short",
        "ushort",
        "byte",
        "ubyte",
        "csingle",
        "cdouble",
        "str_",
        "bytes_",
        "object_",
        "void",
        "datetime64",
        "timedelta64",
        "generic",
        "number",
        "integer",
        "floating",
        "complexfloating",
        "signedinteger",
        "unsignedinteger",
    ];
    SCALARS.contains(&name)
}

/// Why an import is on the allowlist, if it is.
pub fn allow_reason(module: &str, qualname: &str) -> Option<&'static str> {
    allowed(module, qualname).map(|(_, why)| why)
}

/// The entry (or rule) that lists `module.qualname`: what it vouches for and why.
pub fn allowed(module: &str, qualname: &str) -> Option<(Ops, &'static str)> {
    if let Some(a) = ALLOW
        .iter()
        .find(|a| a.module == module && allow_name_matches(a.name, qualname))
    {
        return Some((a.ops, a.why));
    }
    if module.starts_with("torch") && !qualname.contains('.') {
        // torch dtypes, storages and tensor classes (torch.float32, torch.FloatStorage ...).
        if module == "torch"
            && (qualname.ends_with("Storage")
                || qualname.ends_with("Tensor")
                || TORCH_DTYPES.contains(&qualname))
        {
            return Some((
                TYPE,
                "torch dtype, storage or tensor class (weights_only set)",
            ));
        }
    }
    if (module == "numpy" || module.starts_with("numpy.")) && is_numpy_scalar_type(qualname) {
        return Some((TYPE, "numpy scalar type"));
    }
    if module == "numpy" {
        // numpy's own namespace, name by name (generated, reviewed by category).
        if let Some(a) = super::numpy_names::NUMPY
            .iter()
            .find(|a| a.name == qualname)
        {
            return Some((a.ops, a.why));
        }
    }
    if module.starts_with("numpy.dtypes") {
        return Some((TYPE, "numpy dtype class"));
    }
    None
}

pub(super) const TORCH_DTYPES: &[&str] = &[
    "float64",
    "float32",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "complex128",
    "complex64",
    "complex32",
    "qint8",
    "qint32",
    "quint8",
    "quint4x2",
    "quint2x4",
    "float8_e5m2",
    "float8_e4m3fn",
    "float8_e5m2fnuz",
    "float8_e4m3fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn_x2",
    "bits8",
    "bits16",
    "bits1x8",
    "bits2x4",
    "bits4x2",
    "uint1",
    "uint2",
    "uint3",
    "uint4",
    "uint5",
    "uint6",
    "uint7",
    "int1",
    "int2",
    "int3",
    "int4",
    "int5",
    "int6",
    "int7",
    "half",
    "float",
    "double",
    "long",
    "int",
    "short",
    "cfloat",
    "cdouble",
    "strided",
    "sparse_coo",
    "sparse_csr",
    "sparse_csc",
    "sparse_bsr",
    "sparse_bsc",
    "_mkldnn",
    "contiguous_format",
    "channels_last",
    "channels_last_3d",
    "preserve_format",
    "per_tensor_affine",
    "per_tensor_symmetric",
    "per_channel_affine",
    "per_channel_symmetric",
    "per_channel_affine_float_qparams",
];
