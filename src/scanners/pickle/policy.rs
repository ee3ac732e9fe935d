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
pub fn resolve(module: &str, name: &str, protocol: u8) -> (String, String) {
    let (mut m, mut n) = (module.to_string(), name.to_string());
    if protocol < 3 {
        // Both tables are sorted (a test checks it).
        if let Ok(i) = NAME_MAPPING.binary_search_by(|((a, b), _)| (*a, *b).cmp(&(module, name))) {
            if let Some((_, (m2, n2))) = NAME_MAPPING.get(i) {
                m = (*m2).to_string();
                n = (*n2).to_string();
            }
        } else if let Ok(i) = IMPORT_MAPPING.binary_search_by(|(a, _)| (*a).cmp(module)) {
            if let Some((_, m2)) = IMPORT_MAPPING.get(i) {
                m = (*m2).to_string();
            }
        }
    }
    (m, n)
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

const EXEC: &str = "executes Python code";
const SHELL: &str = "runs commands or starts processes";
const IMPORT: &str = "imports modules or resolves attributes by name";
const DESER: &str = "deserializes a nested payload (another pickle or code object)";
const FILE: &str = "reads, writes or deletes files";
const NET: &str = "opens network connections";
const DEBUG: &str = "runs code under a debugger or profiler";
const INTERP: &str = "controls the interpreter (tracing, signals, exit hooks)";
const CODEOBJ: &str = "builds functions or code objects";

/// The denylist: (module, name or "*", severity, reason). A module entry matches submodules too.
static DENYLIST: &[Entry] = &[
    ("builtins", "eval", C, EXEC),
    ("builtins", "exec", C, EXEC),
    ("builtins", "compile", C, EXEC),
    ("builtins", "execfile", C, EXEC),
    ("builtins", "apply", C, EXEC),
    ("builtins", "breakpoint", C, DEBUG),
    ("builtins", "__import__", C, IMPORT),
    ("builtins", "getattr", C, IMPORT),
    ("builtins", "setattr", C, IMPORT),
    ("builtins", "delattr", C, IMPORT),
    ("builtins", "vars", C, IMPORT),
    ("builtins", "globals", C, IMPORT),
    ("builtins", "locals", C, IMPORT),
    ("builtins", "open", H, FILE),
    ("builtins", "input", H, INTERP),
    ("builtins", "memoryview", H, INTERP),
    ("builtins", "super", C, IMPORT),
    ("builtins", "type", C, CODEOBJ),
    ("builtins", "dict.get", C, IMPORT),
    ("builtins", "object.__getattribute__", C, IMPORT),
    ("builtins", "type.__getattribute__", C, IMPORT),
    ("builtins", "help", H, INTERP),
    ("builtins", "exit", H, INTERP),
    ("builtins", "quit", H, INTERP),
    ("os", "*", C, SHELL),
    ("subprocess", "*", C, SHELL),
    ("_posixsubprocess", "*", C, SHELL),
    ("_winapi", "*", C, SHELL),
    ("pty", "*", C, SHELL),
    ("commands", "*", C, SHELL),
    ("popen2", "*", C, SHELL),
    ("pipes", "*", C, SHELL),
    ("multiprocessing", "*", C, SHELL),
    ("_multiprocessing", "*", C, SHELL),
    ("concurrent.futures", "*", H, SHELL),
    ("distutils", "*", C, SHELL),
    ("setuptools", "*", C, SHELL),
    ("pip", "*", C, SHELL),
    ("ensurepip", "*", C, SHELL),
    ("venv", "*", C, SHELL),
    ("webbrowser", "*", H, SHELL),
    ("sys", "*", C, INTERP),
    ("runpy", "*", C, EXEC),
    ("code", "*", C, EXEC),
    ("codeop", "*", C, EXEC),
    ("timeit", "*", C, EXEC),
    ("doctest", "*", C, EXEC),
    ("trace", "*", C, EXEC),
    ("pdb", "*", C, DEBUG),
    ("bdb", "*", C, DEBUG),
    ("cProfile", "*", C, DEBUG),
    ("profile", "*", C, DEBUG),
    ("_lsprof", "*", C, DEBUG),
    ("pydoc", "*", C, EXEC),
    ("idlelib", "*", C, EXEC),
    ("lib2to3", "*", C, EXEC),
    ("test", "*", C, EXEC),
    ("unittest", "*", H, EXEC),
    ("importlib", "*", C, IMPORT),
    ("_frozen_importlib", "*", C, IMPORT),
    ("_frozen_importlib_external", "*", C, IMPORT),
    ("_imp", "*", C, IMPORT),
    ("imp", "*", C, IMPORT),
    ("zipimport", "*", C, IMPORT),
    ("pkgutil", "*", C, IMPORT),
    ("site", "*", C, IMPORT),
    ("inspect", "*", C, IMPORT),
    ("operator", "attrgetter", C, IMPORT),
    ("operator", "methodcaller", C, IMPORT),
    ("operator", "itemgetter", H, IMPORT),
    ("_operator", "attrgetter", C, IMPORT),
    ("_operator", "methodcaller", C, IMPORT),
    ("_operator", "itemgetter", H, IMPORT),
    ("string", "Formatter", C, IMPORT),
    ("_string", "*", C, IMPORT),
    ("ctypes", "*", C, EXEC),
    ("_ctypes", "*", C, EXEC),
    ("cffi", "*", C, EXEC),
    ("_interpreters", "*", C, EXEC),
    ("_xxsubinterpreters", "*", C, EXEC),
    ("_thread", "*", H, INTERP),
    ("threading", "*", H, INTERP),
    ("signal", "*", H, INTERP),
    ("_signal", "*", H, INTERP),
    ("atexit", "*", H, INTERP),
    ("faulthandler", "*", H, INTERP),
    ("resource", "*", H, INTERP),
    ("gc", "*", H, INTERP),
    ("weakref", "finalize", H, INTERP),
    ("asyncio", "*", C, SHELL),
    ("marshal", "*", C, CODEOBJ),
    ("types", "*", C, CODEOBJ),
    ("pickle", "*", C, DESER),
    ("_pickle", "*", C, DESER),
    ("cPickle", "*", C, DESER),
    ("pickletools", "*", H, DESER),
    ("shelve", "*", C, DESER),
    ("dill", "*", C, DESER),
    ("cloudpickle", "*", C, DESER),
    ("joblib", "load", C, DESER),
    ("joblib.numpy_pickle", "load", C, DESER),
    ("joblib.externals.cloudpickle", "*", C, DESER),
    ("joblib.externals.loky", "*", C, SHELL),
    ("numpy", "load", C, DESER),
    ("numpy", "loads", C, DESER),
    ("numpy.lib.npyio", "load", C, DESER),
    ("numpy.core.numeric", "loads", C, DESER),
    ("numpy._core.numeric", "loads", C, DESER),
    ("numpy", "fromfile", H, FILE),
    ("numpy", "save", H, FILE),
    ("numpy", "savez", H, FILE),
    ("numpy", "savez_compressed", H, FILE),
    ("numpy", "savetxt", H, FILE),
    ("numpy", "loadtxt", H, FILE),
    ("numpy", "genfromtxt", H, FILE),
    ("numpy", "fromregex", H, FILE),
    ("numpy", "memmap", H, FILE),
    ("numpy", "DataSource", H, NET),
    ("numpy", "ndarray.tofile", H, FILE),
    ("numpy", "ndarray.dump", H, FILE),
    ("numpy.lib.format", "open_memmap", H, FILE),
    ("numpy.lib._datasource", "*", H, NET),
    ("numpy.lib.npyio", "*", H, FILE),
    ("numpy.lib._npyio_impl", "*", H, FILE),
    ("scipy.io", "*", H, FILE),
    ("scipy.weave", "*", C, EXEC),
    ("sklearn.datasets", "*", H, NET),
    ("sklearn.utils._testing", "*", H, EXEC),
    ("numpy.f2py", "*", C, EXEC),
    ("numpy.distutils", "*", C, SHELL),
    ("numpy.testing", "*", C, EXEC),
    ("numpy.ctypeslib", "*", C, EXEC),
    ("pandas", "read_pickle", C, DESER),
    ("pandas.io.pickle", "*", C, DESER),
    ("pandas", "read_csv", H, FILE),
    ("pandas", "read_json", H, FILE),
    ("pandas", "read_html", H, NET),
    ("pandas", "read_sql", H, NET),
    ("pandas", "eval", C, EXEC),
    ("pandas.core.computation", "*", C, EXEC),
    ("pandas.io", "*", H, FILE),
    ("torch", "load", C, DESER),
    ("torch.serialization", "load", C, DESER),
    ("torch.hub", "*", C, EXEC),
    ("torch.jit", "*", C, EXEC),
    ("torch._dynamo", "*", C, EXEC),
    ("torch._inductor", "*", C, EXEC),
    ("torch.compile", "*", C, EXEC),
    ("torch.distributed.rpc", "*", C, NET),
    ("torch.distributed.elastic", "*", C, SHELL),
    ("torch.distributed.launcher", "*", C, SHELL),
    ("torch.distributed.run", "*", C, SHELL),
    ("torch.distributed", "init_process_group", H, NET),
    ("torch.utils.collect_env", "*", C, SHELL),
    ("torch.utils.bottleneck", "*", C, EXEC),
    ("torch.utils._config_module", "*", C, EXEC),
    ("torch.utils.data.datapipes", "*", H, FILE),
    ("torch.utils.cpp_extension", "*", C, SHELL),
    ("torch.fx.experimental.symbolic_shapes", "*", C, EXEC),
    ("torch.fx.graph_module", "reduce_graph_module", C, EXEC),
    (
        "torch.fx.graph_module",
        "reduce_package_graph_module",
        C,
        EXEC,
    ),
    (
        "torch.fx.graph_module",
        "reduce_deploy_graph_module",
        C,
        EXEC,
    ),
    ("torch.fx.graph_module", "_forward_from_src", C, EXEC),
    ("torch.package", "*", C, EXEC),
    ("torch.ops", "*", H, EXEC),
    ("torch._C", "_jit_*", C, EXEC),
    ("torch.jit.unsupported_tensor_ops", "*", C, EXEC),
    ("socket", "*", C, NET),
    ("_socket", "*", C, NET),
    ("ssl", "*", H, NET),
    ("http", "*", H, NET),
    ("httplib", "*", H, NET),
    ("urllib", "*", H, NET),
    ("urllib2", "*", H, NET),
    ("requests", "*", H, NET),
    ("httpx", "*", H, NET),
    ("aiohttp", "*", H, NET),
    ("smtplib", "*", H, NET),
    ("ftplib", "*", H, NET),
    ("poplib", "*", H, NET),
    ("imaplib", "*", H, NET),
    ("nntplib", "*", H, NET),
    ("telnetlib", "*", H, NET),
    ("socketserver", "*", H, NET),
    ("SocketServer", "*", H, NET),
    ("xmlrpc", "*", H, NET),
    ("xmlrpclib", "*", H, NET),
    ("select", "*", H, NET),
    ("selectors", "*", H, NET),
    ("mmap", "*", H, FILE),
    ("shutil", "*", C, FILE),
    ("tempfile", "*", H, FILE),
    ("filecmp", "*", H, FILE),
    ("fileinput", "*", H, FILE),
    ("glob", "*", H, FILE),
    ("linecache", "*", H, FILE),
    ("tarfile", "*", H, FILE),
    ("zipfile", "*", H, FILE),
    ("gzip", "open", H, FILE),
    ("bz2", "open", H, FILE),
    ("lzma", "open", H, FILE),
    ("io", "open", H, FILE),
    ("io", "FileIO", H, FILE),
    ("io", "open_code", H, FILE),
    ("_io", "open", H, FILE),
    ("_io", "FileIO", H, FILE),
    ("_io", "open_code", H, FILE),
    ("_pyio", "*", H, FILE),
    ("codecs", "open", H, FILE),
    ("dbm", "*", H, FILE),
    ("sqlite3", "*", H, FILE),
    ("_sqlite3", "*", H, FILE),
    ("pathlib", "Path.write_text", H, FILE),
    ("pathlib", "Path.write_bytes", H, FILE),
    ("pathlib", "Path.open", H, FILE),
    ("pathlib", "Path.unlink", H, FILE),
    ("pathlib", "Path.rename", H, FILE),
    ("pathlib", "Path.read_text", H, FILE),
    ("pathlib", "Path.read_bytes", H, FILE),
    ("logging.config", "*", C, EXEC),
    ("logging", "*", H, FILE),
    ("syslog", "*", H, FILE),
    ("platform", "*", H, SHELL),
    ("uuid", "_get_command_stdout", C, SHELL),
    ("uuid", "getnode", H, SHELL),
    ("compileall", "*", C, EXEC),
    ("py_compile", "*", C, EXEC),
    ("copyreg", "add_extension", C, IMPORT),
    ("copyreg", "_inverted_registry", C, IMPORT),
    ("copyreg", "_extension_registry", C, IMPORT),
    ("copy_reg", "add_extension", C, IMPORT),
    ("functools", "reduce", H, EXEC),
    ("functools", "partialmethod", H, EXEC),
    ("functools", "singledispatch", H, EXEC),
    ("_osx_support", "*", C, SHELL),
    ("_aix_support", "*", C, SHELL),
    ("_pyrepl", "*", C, EXEC),
    ("rlcompleter", "*", H, EXEC),
    ("sysconfig", "*", H, SHELL),
    ("pexpect", "*", C, SHELL),
    ("sh", "*", C, SHELL),
    ("plumbum", "*", C, SHELL),
    ("fabric", "*", C, SHELL),
    ("paramiko", "*", H, NET),
    ("boto3", "*", H, NET),
    ("botocore", "*", H, NET),
    ("mlflow.projects", "*", C, SHELL),
    ("mlflow.utils.process", "*", C, SHELL),
    ("mlflow", "pyfunc.load_model", C, DESER),
    ("keras.config", "enable_unsafe_deserialization", C, EXEC),
    ("keras.src.saving", "*", H, DESER),
    ("tensorflow.io", "*", H, FILE),
    ("tensorflow.python.platform.gfile", "*", H, FILE),
    ("IPython", "*", C, EXEC),
    ("jinja2", "*", H, EXEC),
    ("yaml", "load", C, DESER),
    ("yaml", "unsafe_load", C, DESER),
    ("ruamel", "*", H, DESER),
    ("jsonpickle", "*", C, DESER),
    ("builtins", "print", M, INTERP),
];

/// Safe globals: exact (module, qualname) pairs with the reason they are safe.
static ALLOW_EXACT: &[(&str, &str, &str)] = &[
    ("collections", "OrderedDict", "dict subclass"),
    ("collections", "Counter", "dict subclass"),
    ("collections", "deque", "container"),
    (
        "collections",
        "defaultdict",
        "dict subclass; its factory is checked as a higher-order argument",
    ),
    ("collections", "ChainMap", "container"),
    ("collections", "UserDict", "container"),
    ("collections", "UserList", "container"),
    ("collections", "UserString", "container"),
    (
        "collections",
        "namedtuple",
        "builds a tuple class from validated identifiers",
    ),
    (
        "copyreg",
        "_reconstructor",
        "object.__new__ plus base.__init__; its arguments are checked",
    ),
    (
        "copyreg",
        "__newobj__",
        "cls.__new__(cls, *args): construction only",
    ),
    (
        "copyreg",
        "__newobj_ex__",
        "cls.__new__(cls, *args, **kwargs): construction only",
    ),
    ("copyreg", "_reduce_ex", "pickle helper"),
    (
        "_codecs",
        "encode",
        "how protocol 2 stores bytes (latin-1 text to bytes)",
    ),
    ("codecs", "encode", "how protocol 2 stores bytes"),
    ("builtins", "set", "container"),
    ("builtins", "frozenset", "container"),
    ("builtins", "bytearray", "container"),
    ("builtins", "bytes", "value type"),
    ("builtins", "complex", "number"),
    ("builtins", "int", "number"),
    ("builtins", "float", "number"),
    ("builtins", "bool", "value type"),
    ("builtins", "str", "value type"),
    ("builtins", "list", "container"),
    ("builtins", "tuple", "container"),
    ("builtins", "dict", "container"),
    ("builtins", "slice", "value type"),
    ("builtins", "range", "value type"),
    ("builtins", "object", "the base class"),
    ("builtins", "NoneType", "value type"),
    ("builtins", "Ellipsis", "constant"),
    ("builtins", "NotImplemented", "constant"),
    ("builtins", "reversed", "iterator over its argument"),
    ("builtins", "enumerate", "iterator over its argument"),
    ("builtins", "zip", "iterator over its arguments"),
    ("builtins", "iter", "iterator over its argument"),
    (
        "builtins",
        "map",
        "higher-order: its function argument is checked",
    ),
    (
        "builtins",
        "filter",
        "higher-order: its function argument is checked",
    ),
    ("builtins", "property", "descriptor"),
    ("builtins", "staticmethod", "descriptor"),
    ("builtins", "classmethod", "descriptor"),
    (
        "functools",
        "partial",
        "higher-order: its function argument is checked",
    ),
    (
        "_functools",
        "partial",
        "higher-order: its function argument is checked",
    ),
    ("datetime", "datetime", "value type"),
    ("datetime", "date", "value type"),
    ("datetime", "time", "value type"),
    ("datetime", "timedelta", "value type"),
    ("datetime", "timezone", "value type"),
    ("datetime", "tzinfo", "value type"),
    (
        "zoneinfo",
        "ZoneInfo",
        "value type (reads the system tz database)",
    ),
    ("zoneinfo._common", "load_data", "tz database"),
    ("decimal", "Decimal", "number"),
    ("_decimal", "Decimal", "number"),
    ("_pydecimal", "Decimal", "number"),
    ("fractions", "Fraction", "number"),
    ("uuid", "UUID", "value type"),
    ("uuid", "SafeUUID", "enum"),
    ("pathlib", "PurePath", "path value"),
    ("pathlib", "PurePosixPath", "path value"),
    ("pathlib", "PureWindowsPath", "path value"),
    ("pathlib", "Path", "path value (construction does no I/O)"),
    (
        "pathlib",
        "PosixPath",
        "path value (construction does no I/O)",
    ),
    (
        "pathlib",
        "WindowsPath",
        "path value (construction does no I/O)",
    ),
    ("ipaddress", "IPv4Address", "value type"),
    ("ipaddress", "IPv6Address", "value type"),
    ("ipaddress", "IPv4Network", "value type"),
    ("ipaddress", "IPv6Network", "value type"),
    ("ipaddress", "IPv4Interface", "value type"),
    ("ipaddress", "IPv6Interface", "value type"),
    ("array", "array", "container"),
    ("array", "_array_reconstructor", "array constructor"),
    ("re", "compile", "compiles a regular expression"),
    ("re", "_compile", "compiles a regular expression"),
    ("re", "Pattern", "value type"),
    ("re", "RegexFlag", "enum"),
    ("http", "HTTPStatus", "enum of status codes"),
    (
        "logging",
        "getLogger",
        "how Logger objects pickle: a lookup by name",
    ),
    ("logging", "Logger", "logger object"),
    ("logging", "RootLogger", "logger object"),
    ("logging", "LoggerAdapter", "logger wrapper"),
    (
        "zoneinfo",
        "ZoneInfo._unpickle",
        "how ZoneInfo pickles: a lookup by key",
    ),
    ("pytz", "_p", "how pytz time zones pickle"),
    ("pytz", "_UTC", "the UTC zone"),
    ("pytz.tzinfo", "*", "time zone classes"),
    ("dateutil.tz.tz", "*", "time zone classes"),
    ("urllib.parse", "ParseResult", "named tuple of URL parts"),
    ("urllib.parse", "SplitResult", "named tuple of URL parts"),
    ("urllib.parse", "DefragResult", "named tuple of URL parts"),
    (
        "urllib.parse",
        "ParseResultBytes",
        "named tuple of URL parts",
    ),
    (
        "urllib.parse",
        "SplitResultBytes",
        "named tuple of URL parts",
    ),
    (
        "urllib.parse",
        "DefragResultBytes",
        "named tuple of URL parts",
    ),
    ("time", "struct_time", "time tuple"),
    ("calendar", "Day", "enum"),
    ("calendar", "Month", "enum"),
    ("inspect", "_empty", "marker class"),
    ("ssl", "TLSVersion", "enum"),
    ("signal", "Signals", "enum"),
    ("enum", "Enum", "enum base"),
    ("enum", "IntEnum", "enum base"),
    ("enum", "Flag", "enum base"),
    ("enum", "IntFlag", "enum base"),
    ("types", "SimpleNamespace", "attribute bag"),
    ("types", "MappingProxyType", "read-only mapping"),
    ("argparse", "Namespace", "attribute bag"),
    ("string", "Template", "no evaluation, $-substitution only"),
    ("struct", "Struct", "value type"),
    ("statistics", "NormalDist", "value type"),
    ("random", "Random", "random generator state"),
    ("_random", "Random", "random generator state"),
    ("email.message", "Message", "value type"),
    ("io", "BytesIO", "in-memory buffer"),
    ("_io", "BytesIO", "in-memory buffer"),
    ("io", "StringIO", "in-memory buffer"),
    ("_io", "StringIO", "in-memory buffer"),
    ("numpy", "dtype", "numpy dtype"),
    ("numpy", "ndarray", "numpy array"),
    ("numpy", "matrix", "numpy matrix"),
    (
        "numpy",
        "memmap",
        "array class (no file is opened by unpickling)",
    ),
    ("numpy", "recarray", "array subclass"),
    (
        "numpy.core.multiarray",
        "_reconstruct",
        "ndarray reconstruction",
    ),
    (
        "numpy._core.multiarray",
        "_reconstruct",
        "ndarray reconstruction",
    ),
    (
        "numpy.core.multiarray",
        "scalar",
        "numpy scalar reconstruction",
    ),
    (
        "numpy._core.multiarray",
        "scalar",
        "numpy scalar reconstruction",
    ),
    (
        "numpy.core.numeric",
        "_frombuffer",
        "protocol 5 out-of-band array",
    ),
    (
        "numpy._core.numeric",
        "_frombuffer",
        "protocol 5 out-of-band array",
    ),
    (
        "numpy.ma.core",
        "_mareconstruct",
        "masked array reconstruction",
    ),
    ("numpy.ma.core", "MaskedArray", "masked array"),
    ("numpy.ma.core", "mvoid", "masked void"),
    ("numpy.matrixlib.defmatrix", "matrix", "numpy matrix"),
    (
        "numpy.random._pickle",
        "__randomstate_ctor",
        "RandomState constructor",
    ),
    (
        "numpy.random._pickle",
        "__generator_ctor",
        "Generator constructor",
    ),
    (
        "numpy.random._pickle",
        "__bit_generator_ctor",
        "bit generator constructor",
    ),
    (
        "numpy.random",
        "__RandomState_ctor",
        "RandomState constructor (old numpy)",
    ),
    ("numpy.random.mtrand", "RandomState", "random state"),
    ("numpy.random.mtrand", "_rand", "the global RandomState"),
    ("numpy.random._generator", "Generator", "random generator"),
    ("numpy.random._pcg64", "PCG64", "bit generator"),
    ("numpy.random._pcg64", "PCG64DXSM", "bit generator"),
    ("numpy.random._mt19937", "MT19937", "bit generator"),
    ("numpy.random._philox", "Philox", "bit generator"),
    ("numpy.random._sfc64", "SFC64", "bit generator"),
    (
        "numpy.random.bit_generator",
        "SeedSequence",
        "seed sequence",
    ),
    (
        "numpy.random.bit_generator",
        "__pyx_unpickle_SeedSequence",
        "seed sequence",
    ),
    (
        "joblib.numpy_pickle",
        "NumpyArrayWrapper",
        "joblib inline array header (the array data is read as data)",
    ),
    (
        "joblib.numpy_pickle",
        "NDArrayWrapper",
        "old joblib array header",
    ),
    (
        "joblib.numpy_pickle_compat",
        "NDArrayWrapper",
        "old joblib array header",
    ),
    (
        "joblib.numpy_pickle_compat",
        "ZNDArrayWrapper",
        "old joblib array header",
    ),
    ("torch", "Size", "tensor shape"),
    ("torch", "Tensor", "tensor"),
    ("torch", "device", "device name"),
    ("torch", "dtype", "dtype"),
    ("torch", "layout", "layout"),
    ("torch", "memory_format", "memory format"),
    ("torch", "finfo", "dtype info"),
    ("torch", "iinfo", "dtype info"),
    ("torch", "Generator", "random generator state"),
    (
        "torch._utils",
        "_rebuild_tensor",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_tensor_v2",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_tensor_v3",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_parameter",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_parameter_with_state",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_qtensor",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_sparse_tensor",
        "weights_only rebuild function",
    ),
    ("torch._utils", "_rebuild_nested_tensor", "rebuild function"),
    (
        "torch._utils",
        "_rebuild_meta_tensor_no_storage",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_wrapper_subclass",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_device_tensor_from_numpy",
        "weights_only rebuild function",
    ),
    (
        "torch._utils",
        "_rebuild_device_tensor_from_cpu_tensor",
        "weights_only rebuild function",
    ),
    ("torch._utils", "_rebuild_xla_tensor", "rebuild function"),
    ("torch._utils", "_rebuild_mps_tensor", "rebuild function"),
    (
        "torch._utils",
        "_restore_device_fake_mode",
        "rebuild helper",
    ),
    (
        "torch._tensor",
        "_rebuild_from_type",
        "rebuild function; its arguments are checked",
    ),
    (
        "torch._tensor",
        "_rebuild_from_type_v2",
        "weights_only rebuild function; its arguments are checked",
    ),
    (
        "torch.serialization",
        "_get_layout",
        "weights_only layout lookup",
    ),
    (
        "torch.storage",
        "_load_from_bytes",
        "nested torch.load of a storage: the embedded archive is scanned in turn",
    ),
    (
        "torch.jit._pickle",
        "build_intlist",
        "TorchScript unpickler helper (builds a list)",
    ),
    (
        "torch.jit._pickle",
        "build_tensorlist",
        "TorchScript unpickler helper (builds a list)",
    ),
    (
        "torch.jit._pickle",
        "build_doublelist",
        "TorchScript unpickler helper (builds a list)",
    ),
    (
        "torch.jit._pickle",
        "build_boollist",
        "TorchScript unpickler helper (builds a list)",
    ),
    (
        "torch.jit._pickle",
        "build_tensor_from_id",
        "TorchScript unpickler helper (tensor table lookup)",
    ),
    (
        "torch.jit._pickle",
        "restore_type_tag",
        "TorchScript unpickler helper (type annotation)",
    ),
    ("torch.nn.parameter", "Parameter", "weights_only class"),
    (
        "torch.nn.parameter",
        "UninitializedParameter",
        "parameter class",
    ),
    ("torch.nn.parameter", "Buffer", "buffer class"),
    (
        "torch.storage",
        "TypedStorage",
        "weights_only storage class",
    ),
    (
        "torch.storage",
        "UntypedStorage",
        "weights_only storage class",
    ),
    ("torch.storage", "_StorageBase", "storage class"),
    ("torch.return_types", "*", "named tuples of results"),
    ("torch.cuda", "*Tensor", "legacy tensor classes"),
    ("torch.cuda", "*Storage", "legacy storage classes"),
    ("torch.ao.quantization", "*", "quantization configs"),
    ("torch.quantization", "*", "quantization configs"),
    ("torch.distributions", "*", "distribution classes"),
    ("torch._C", "_nn.gelu", "activation function reference"),
    (
        "torch.nn.functional",
        "*",
        "functional ops referenced by modules",
    ),
    ("torch.nn.init", "*", "initialisers"),
    ("scipy.sparse._csr", "csr_matrix", "sparse matrix"),
    ("scipy.sparse._csc", "csc_matrix", "sparse matrix"),
    ("scipy.sparse._coo", "coo_matrix", "sparse matrix"),
    ("scipy.sparse._lil", "lil_matrix", "sparse matrix"),
    ("scipy.sparse._dok", "dok_matrix", "sparse matrix"),
    ("scipy.sparse._bsr", "bsr_matrix", "sparse matrix"),
    ("scipy.sparse._dia", "dia_matrix", "sparse matrix"),
    ("scipy.sparse._csr", "csr_array", "sparse array"),
    ("scipy.sparse._csc", "csc_array", "sparse array"),
    ("scipy.sparse._coo", "coo_array", "sparse array"),
    ("scipy.sparse.csr", "csr_matrix", "sparse matrix (old path)"),
    ("scipy.sparse.csc", "csc_matrix", "sparse matrix (old path)"),
    ("scipy.sparse.coo", "coo_matrix", "sparse matrix (old path)"),
    (
        "scipy.stats._continuous_distns",
        "*",
        "distribution objects",
    ),
    ("scipy.stats._discrete_distns", "*", "distribution objects"),
    (
        "scipy.stats._distn_infrastructure",
        "*",
        "distribution objects",
    ),
    ("scipy.interpolate._interpolate", "*", "interpolators"),
    (
        "pandas._libs.internals",
        "_unpickle_block",
        "pandas block reconstruction",
    ),
    (
        "pandas._libs.tslibs.timestamps",
        "_unpickle_timestamp",
        "timestamp reconstruction",
    ),
    (
        "pandas._libs.tslibs.timedeltas",
        "_timedelta_unpickle",
        "timedelta reconstruction",
    ),
    (
        "pandas._libs.tslibs.nattype",
        "__nat_unpickle",
        "NaT reconstruction",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "_unpickle_offset",
        "offset reconstruction",
    ),
    (
        "pandas.core.indexes.base",
        "_new_Index",
        "index reconstruction",
    ),
    (
        "pandas.core.arrays.categorical",
        "_new_Categorical",
        "categorical reconstruction",
    ),
    (
        "pandas.core.indexes.period",
        "_new_PeriodIndex",
        "index reconstruction",
    ),
    (
        "pandas.core.indexes.datetimes",
        "_new_DatetimeIndex",
        "index reconstruction",
    ),
    (
        "pandas.core.internals.blocks",
        "new_block",
        "block reconstruction",
    ),
    (
        "pandas.core.internals.blocks",
        "_unpickle_block",
        "block reconstruction",
    ),
    // Harmless builtins, annotation objects and data containers that real files hold.
    (
        "builtins",
        "hash",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "hash",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "len",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "len",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "abs",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "abs",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "min",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "min",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "max",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "max",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "sum",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "sum",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "round",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "round",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "divmod",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "divmod",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "pow",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "pow",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "repr",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "repr",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "ascii",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "ascii",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "callable",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "callable",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "isinstance",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "isinstance",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "issubclass",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "issubclass",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "ord",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "ord",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "chr",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "chr",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "bin",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "bin",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "hex",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "hex",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "oct",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "oct",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "all",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "all",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "any",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "any",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "id",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "id",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "zip",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "zip",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "enumerate",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "enumerate",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "reversed",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "reversed",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "sorted",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "sorted",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "format",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "format",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "slice",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "slice",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "range",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "range",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "object",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "object",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "type",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "type",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "NotImplemented",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "NotImplemented",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "builtins",
        "Ellipsis",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "__builtin__",
        "Ellipsis",
        "builtin function of values (used as a stored function reference, e.g. gensim's hashfxn)",
    ),
    (
        "typing",
        "Any",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Union",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Optional",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "List",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Dict",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Tuple",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Set",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "FrozenSet",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Callable",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Type",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Sequence",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Mapping",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "MutableMapping",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Iterable",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Iterator",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Generic",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "TypeVar",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Literal",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "ClassVar",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "Final",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "NamedTuple",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "_GenericAlias",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "_SpecialForm",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "_UnionGenericAlias",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "_LiteralGenericAlias",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "_CallableGenericAlias",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "_SpecialGenericAlias",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "typing",
        "ForwardRef",
        "type annotation object (omegaconf and dataclass metadata)",
    ),
    (
        "collections.abc",
        "Iterable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Iterable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Iterator",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Iterator",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Mapping",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Mapping",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "MutableMapping",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "MutableMapping",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Sequence",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Sequence",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "MutableSequence",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "MutableSequence",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Set",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Set",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "MutableSet",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "MutableSet",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Callable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Callable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Hashable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Hashable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Sized",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Sized",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Container",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Container",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Collection",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Collection",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Generator",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Generator",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Awaitable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Awaitable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Coroutine",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Coroutine",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "AsyncIterable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "AsyncIterable",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "AsyncIterator",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "AsyncIterator",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "KeysView",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "KeysView",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "ItemsView",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "ItemsView",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "ValuesView",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "ValuesView",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "ByteString",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "ByteString",
        "abstract base class (type annotation metadata)",
    ),
    (
        "collections.abc",
        "Reversible",
        "abstract base class (type annotation metadata)",
    ),
    (
        "_collections_abc",
        "Reversible",
        "abstract base class (type annotation metadata)",
    ),
    (
        "sklearn.datasets.base",
        "Bunch",
        "dict subclass holding data (older scikit-learn pickles name it under sklearn.datasets)",
    ),
    (
        "sklearn.datasets._base",
        "Bunch",
        "dict subclass holding data (older scikit-learn pickles name it under sklearn.datasets)",
    ),
    (
        "sklearn.utils",
        "Bunch",
        "dict subclass holding data (older scikit-learn pickles name it under sklearn.datasets)",
    ),
    (
        "sklearn.utils._bunch",
        "Bunch",
        "dict subclass holding data (older scikit-learn pickles name it under sklearn.datasets)",
    ),
    (
        "gensim.models.doc2vec",
        "Doctag",
        "namedtuple of a document tag's counts",
    ),
    (
        "gensim.models.doc2vec",
        "TaggedDocument",
        "namedtuple of words and tags",
    ),
    (
        "morfessor.baseline",
        "ConstrNode",
        "namedtuple of a construction's counts",
    ),
    // Mined from what real model files call (fixtures/gen/mine_allowlist.py over the benign
    // fixtures, the labelled corpus and the real-world PyPI files), each reviewed.
    (
        "pandas",
        "StringDtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "PeriodDtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "IntervalDtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "CategoricalDtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "SparseDtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "ArrowDtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "DatetimeTZDtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "BooleanDtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "Int8Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "Int16Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "Int32Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "Int64Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "UInt8Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "UInt16Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "UInt32Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "UInt64Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "Float32Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "Float64Dtype",
        "pandas dtype, called with its parameters (unit, storage, freq)",
    ),
    (
        "pandas",
        "Interval",
        "pandas scalar value, called with its fields",
    ),
    (
        "pandas",
        "Period",
        "pandas scalar value, called with its fields",
    ),
    (
        "pandas",
        "Timestamp",
        "pandas scalar value, called with its fields",
    ),
    (
        "pandas",
        "Timedelta",
        "pandas scalar value, called with its fields",
    ),
    (
        "pandas._libs.arrays",
        "__pyx_unpickle_NDArrayBacked",
        "Cython reconstructor: __new__ then __setstate__ with arrays",
    ),
    (
        "pandas._libs.interval",
        "__pyx_unpickle_IntervalMixin",
        "Cython reconstructor of interval data",
    ),
    (
        "pandas._libs.sparse",
        "IntIndex",
        "sparse index: (length, indices array)",
    ),
    (
        "pandas._libs.sparse",
        "BlockIndex",
        "sparse index: (length, blocs, blengths)",
    ),
    (
        "pandas.core.internals.managers",
        "BlockManager",
        "pandas frame storage: (blocks, axes)",
    ),
    (
        "pandas.core.internals.managers",
        "SingleBlockManager",
        "pandas series storage: (block, axis)",
    ),
    (
        "pandas._libs.tslibs.nattype",
        "_nat_unpickle",
        "NaT singleton",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Day",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Hour",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Minute",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Second",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Milli",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Micro",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Nano",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "BusinessDay",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "BusinessHour",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "CustomBusinessDay",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "CustomBusinessHour",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "MonthEnd",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "MonthBegin",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "BusinessMonthEnd",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "BusinessMonthBegin",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "CustomBusinessMonthEnd",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "CustomBusinessMonthBegin",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "SemiMonthEnd",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "SemiMonthBegin",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Week",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "WeekOfMonth",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "LastWeekOfMonth",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "QuarterEnd",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "QuarterBegin",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "BQuarterEnd",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "BQuarterBegin",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "YearEnd",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "YearBegin",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "BYearEnd",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "BYearBegin",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "FY5253",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "FY5253Quarter",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Easter",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "DateOffset",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas._libs.tslibs.offsets",
        "Tick",
        "date offset value: (n, normalize, fields)",
    ),
    (
        "pandas.core.indexes.interval",
        "_new_IntervalIndex",
        "index reconstruction",
    ),
    (
        "pandas.core.indexes.timedeltas",
        "_new_TimedeltaIndex",
        "index reconstruction",
    ),
    (
        "sklearn.tree._tree",
        "Tree",
        "decision tree arrays: (n_features, n_classes, n_outputs)",
    ),
    (
        "sklearn._loss._loss",
        "CyHalfSquaredError",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyAbsoluteError",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyPinballLoss",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyHuberLoss",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyHalfPoissonLoss",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyHalfGammaLoss",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyHalfTweedieLoss",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyHalfTweedieLossIdentity",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyHalfBinomialLoss",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyExponentialLoss",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn._loss._loss",
        "CyHalfMultinomialLoss",
        "Cython loss object: numeric parameters only",
    ),
    (
        "sklearn.linear_model._sgd_fast",
        "Hinge",
        "SGD loss object: numeric parameters only",
    ),
    (
        "sklearn.linear_model._sgd_fast",
        "ModifiedHuber",
        "SGD loss object: numeric parameters only",
    ),
    (
        "sklearn.linear_model._sgd_fast",
        "SquaredHinge",
        "SGD loss object: numeric parameters only",
    ),
    (
        "sklearn.linear_model._sgd_fast",
        "Log",
        "SGD loss object: numeric parameters only",
    ),
    (
        "sklearn.linear_model._sgd_fast",
        "SquaredLoss",
        "SGD loss object: numeric parameters only",
    ),
    (
        "sklearn.linear_model._sgd_fast",
        "Huber",
        "SGD loss object: numeric parameters only",
    ),
    (
        "sklearn.linear_model._sgd_fast",
        "EpsilonInsensitive",
        "SGD loss object: numeric parameters only",
    ),
    (
        "sklearn.linear_model._sgd_fast",
        "SquaredEpsilonInsensitive",
        "SGD loss object: numeric parameters only",
    ),
    (
        "sklearn.metrics._dist_metrics",
        "newObj",
        "Cython helper: cls.__new__(cls), then BUILD sets the arrays",
    ),
    (
        "sklearn.neighbors._ball_tree",
        "newObj",
        "Cython helper: cls.__new__(cls), then BUILD sets the arrays",
    ),
    (
        "sklearn.neighbors._kd_tree",
        "newObj",
        "Cython helper: cls.__new__(cls), then BUILD sets the arrays",
    ),
    (
        "sklearn.neighbors._binary_tree",
        "newObj",
        "Cython helper: cls.__new__(cls), then BUILD sets the arrays",
    ),
    (
        "torch._C",
        "Generator",
        "random generator: (device); its state is set from bytes",
    ),
    (
        "torch",
        "Generator",
        "random generator: (device); its state is set from bytes",
    ),
    (
        "numpy.core._internal",
        "_reconstruct",
        "ndarray.__new__(subtype, shape, dtype) (numpy 1.x name)",
    ),
    (
        "numpy._core._internal",
        "_reconstruct",
        "ndarray.__new__(subtype, shape, dtype)",
    ),
    (
        "transformers.trainer_utils",
        "IntervalStrategy",
        "enum: called with a member value",
    ),
    (
        "transformers.trainer_utils",
        "EvaluationStrategy",
        "enum: called with a member value",
    ),
    (
        "transformers.trainer_utils",
        "HubStrategy",
        "enum: called with a member value",
    ),
    (
        "transformers.trainer_utils",
        "SaveStrategy",
        "enum: called with a member value",
    ),
    (
        "transformers.trainer_utils",
        "SchedulerType",
        "enum: called with a member value",
    ),
    (
        "transformers.trainer_utils",
        "FSDPOption",
        "enum: called with a member value",
    ),
    (
        "transformers.trainer_utils",
        "ShardedDDPOption",
        "enum: called with a member value",
    ),
    (
        "transformers.trainer_utils",
        "HPSearchBackend",
        "enum: called with a member value",
    ),
    (
        "transformers.training_args",
        "OptimizerNames",
        "enum: called with a member value",
    ),
    (
        "transformers.training_args",
        "ParallelMode",
        "enum: called with a member value",
    ),
    (
        "transformers.debug_utils",
        "DebugOption",
        "enum: called with a member value",
    ),
    (
        "accelerate.utils.dataclasses",
        "DistributedType",
        "enum: called with a member value",
    ),
    (
        "accelerate.utils.dataclasses",
        "PrecisionType",
        "enum: called with a member value",
    ),
    (
        "accelerate.utils.dataclasses",
        "ComputeEnvironment",
        "enum: called with a member value",
    ),
    (
        "peft.utils.peft_types",
        "PeftType",
        "enum: called with a member value",
    ),
    (
        "peft.utils.peft_types",
        "TaskType",
        "enum: called with a member value",
    ),
    ("xgboost.core", "_parse_eval_str", "booster helper"),
    (
        "dill._dill",
        "_load_type",
        "looks up a builtin type by name (its argument is checked)",
    ),
    ("dill._dill", "_create_array", "numpy array reconstruction"),
    (
        "dill._dill",
        "_create_namedtuple",
        "namedtuple class by field names",
    ),
    (
        "dill._dill",
        "_get_attr",
        "higher-order: resolves an attribute; its arguments are checked",
    ),
    ("tokenizers", "Tokenizer", "tokenizer"),
    ("tokenizers", "AddedToken", "token"),
    ("tokenizers.models", "Model", "tokenizer model"),
];

/// Library prefixes whose classes (capitalised names) and reconstruction helpers
/// (`__pyx_unpickle_*`, `_unpickle*`, `_new_*`, `_reconstruct*`, `_rebuild*`) are safe: these
/// packages pickle estimators, configs and arrays, and their classes run only library code when
/// constructed. The denylist is checked first, so known gadgets inside them still count.
static ALLOW_LIBRARY_PREFIXES: &[(&str, &str)] = &[
    ("sklearn", "scikit-learn estimators and their helpers"),
    ("scipy", "scipy data structures"),
    ("numpy", "numpy types and dtypes"),
    ("pandas", "pandas data structures"),
    ("xgboost", "XGBoost boosters and estimators"),
    ("lightgbm", "LightGBM boosters and estimators"),
    ("catboost", "CatBoost models"),
    ("_catboost", "CatBoost models"),
    (
        "transformers",
        "Hugging Face configs, training arguments and tokenizers",
    ),
    ("tokenizers", "Hugging Face tokenizers"),
    ("sentencepiece", "sentencepiece processors"),
    ("torch", "torch tensors, modules, optimizers and schedulers"),
    ("torchvision", "torchvision modules and transforms"),
    ("torchaudio", "torchaudio modules"),
    ("timm", "timm models"),
    ("accelerate", "accelerate configs"),
    ("peft", "PEFT configs"),
    ("trl", "TRL configs"),
    (
        "sentence_transformers",
        "sentence-transformers models and configs",
    ),
    ("ultralytics", "YOLO models"),
    ("joblib", "joblib wrappers"),
    ("imblearn", "imbalanced-learn estimators"),
    ("statsmodels", "statsmodels results"),
    ("category_encoders", "encoders"),
    ("datetime", "value types"),
    ("gensim", "gensim models, vocabularies and dictionaries"),
    (
        "morfessor",
        "Morfessor segmentation models (shipped with gensim)",
    ),
    ("nltk", "NLTK tokenizers and taggers (punkt parameters)"),
    ("madmom", "madmom neural network processors"),
    ("allennlp", "AllenNLP vocabularies and configs"),
];

/// Numpy's scalar and dtype class names that are lower-case (`numpy.float64`).
fn is_numpy_scalar_type(name: &str) -> bool {
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

/// Why an import is on the allowlist, if it is.
pub fn allow_reason(module: &str, qualname: &str) -> Option<&'static str> {
    if let Some((_, _, why)) = ALLOW_EXACT
        .iter()
        .find(|(m, n, _)| *m == module && allow_name_matches(n, qualname))
    {
        return Some(why);
    }
    if module.starts_with("torch") && !qualname.contains('.') {
        // torch dtypes, storages and tensor classes (torch.float32, torch.FloatStorage ...).
        if module == "torch"
            && (qualname.ends_with("Storage")
                || qualname.ends_with("Tensor")
                || TORCH_DTYPES.contains(&qualname))
        {
            return Some("torch dtype, storage or tensor class (weights_only set)");
        }
    }
    if (module == "numpy" || module.starts_with("numpy.")) && is_numpy_scalar_type(qualname) {
        return Some("numpy scalar type");
    }
    if module == "numpy" && !qualname.contains('.') {
        // numpy's own namespace: ufuncs and array functions (its file and loader functions
        // are on the denylist, which is checked first).
        return Some("numpy math function or type");
    }
    if module.starts_with("numpy.dtypes") {
        return Some("numpy dtype class");
    }
    None
}

/// Why a name that no entry lists is still constructible data: a class-shaped name (or a
/// reconstruction helper's name) directly in a library profile's module. The shape of a name
/// proves nothing about what calling it does, so this vouches only for importing it,
/// constructing it with `__new__` and setting its state (`Verdict::ConstructOnly`).
pub fn library_class_reason(module: &str, qualname: &str) -> Option<&'static str> {
    if qualname.contains('.') {
        return None;
    }
    // Any top-level name: the profile vouches for constructing and setting state, never for
    // calling, so the shape of the name (`cKDTree`, `_BinMapper`, `bsr_array`) does not matter.
    ALLOW_LIBRARY_PREFIXES
        .iter()
        .find(|(prefix, _)| module_matches(prefix, module))
        .map(|(_, why)| *why)
}

const TORCH_DTYPES: &[&str] = &[
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
    let hit = STATIC_CACHE.try_with(|c| {
        let c = c.try_borrow().ok()?;
        let part = c.0.get(module)?.get(qualname)?;
        Some(judge_with(settings, module, qualname, part))
    });
    if let Ok(Some(v)) = hit {
        return v;
    }
    let part = StaticPart::compute(module, qualname);
    let v = judge_with(settings, module, qualname, &part);
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
        let exact_allow = ALLOW_EXACT
            .iter()
            .any(|(m, n, _)| *m == canon && !n.contains('*') && *n == qualname);
        let exact_allow_not_named = exact_allow && !denied_by_name(module, qualname);
        StaticPart {
            deny,
            exact_allow_not_named,
            rest: rest_verdict(module, qualname),
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
    if ALLOW_EXACT
        .iter()
        .any(|(m, n, _)| *m == canon && allow_name_matches(n, qualname))
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

/// Globals that call one of their arguments, so their arguments must be safe too.
pub fn is_higher_order(module: &str, qualname: &str) -> bool {
    matches!(
        (canonical_module(module), qualname),
        ("functools" | "_functools", "partial")
            | ("copyreg", "_reconstructor")
            | (
                "torch._tensor",
                "_rebuild_from_type" | "_rebuild_from_type_v2"
            )
            | ("torch._utils", "_rebuild_wrapper_subclass")
            | ("builtins", "map" | "filter" | "iter")
            | (
                "numpy",
                "fromfunction"
                    | "apply_along_axis"
                    | "apply_over_axes"
                    | "piecewise"
                    | "vectorize"
                    | "frompyfunc"
                    | "seterrcall"
            )
            | ("collections", "defaultdict")
            | ("dill._dill", "_get_attr" | "_load_type")
    )
}

/// Allowlisted callables that call methods of the objects they are handed, and which: one
/// table, consulted for every call of an allowlisted global. An argument that is an instance
/// of a class no entry vouches for makes such a call run that class's code.
pub fn implicit_call_methods(module: &str, qualname: &str) -> Option<&'static str> {
    Some(match (canonical_module(module), qualname) {
        ("builtins" | "__builtin__", "dict") => "keys() and __getitem__ (or __iter__)",
        (
            "builtins" | "__builtin__",
            "list" | "tuple" | "set" | "frozenset" | "iter" | "enumerate" | "zip" | "reversed"
            | "map" | "filter",
        ) => "__iter__ and __next__",
        ("builtins" | "__builtin__", "sorted" | "min" | "max" | "sum" | "any" | "all") => {
            "__iter__, __next__ and the items' comparison or arithmetic"
        }
        ("builtins" | "__builtin__", "str" | "repr" | "ascii" | "format") => {
            "__str__, __repr__ or __format__"
        }
        ("builtins" | "__builtin__", "bytes" | "bytearray") => "__bytes__, __index__ or __iter__",
        ("builtins" | "__builtin__", "int" | "float" | "complex" | "bool" | "round" | "abs") => {
            "__int__, __index__, __float__, __complex__, __bool__, __round__ or __abs__"
        }
        ("builtins" | "__builtin__", "len" | "hash") => "__len__ or __hash__",
        ("builtins" | "__builtin__", "isinstance" | "issubclass") => "__instancecheck__",
        (
            "collections",
            "OrderedDict" | "defaultdict" | "Counter" | "deque" | "ChainMap" | "UserDict"
            | "UserList",
        ) => "keys() and __getitem__ (or __iter__)",
        // Making a partial calls nothing; calling it later is checked where that happens.
        ("functools", "reduce") => "__call__ and __iter__",
        ("itertools", _) => "__iter__ and __next__",
        ("operator", _) => "the operator's special method",
        ("copy", "copy" | "deepcopy") => "__copy__, __deepcopy__ or __reduce_ex__",
        _ => return None,
    })
}

/// Globals that deserialize their (bytes or string) argument as a pickle.
pub fn is_nested_loader(module: &str, qualname: &str) -> bool {
    matches!(
        (canonical_module(module), qualname),
        (
            "pickle" | "_pickle" | "cPickle",
            "loads" | "_loads" | "load" | "_load"
        ) | ("dill" | "dill._dill", "loads" | "load")
            | ("cloudpickle" | "cloudpickle.cloudpickle", "loads" | "load")
            | ("torch" | "torch.serialization", "load")
            | ("torch.storage", "_load_from_bytes")
            | (
                "numpy" | "numpy.core.numeric" | "numpy._core.numeric",
                "loads" | "load"
            )
            | ("joblib" | "joblib.numpy_pickle", "load")
            | ("pandas" | "pandas.io.pickle", "read_pickle")
            | ("shelve", "open")
    )
}

#[cfg(test)]
mod tests {

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
        assert_eq!(
            resolve("__builtin__", "eval", 2),
            ("builtins".to_string(), "eval".to_string())
        );
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
            assert_eq!(resolve(m, n, 2), (m2.to_string(), n2.to_string()));
            assert_eq!(resolve(m, n, 3), (m.to_string(), n.to_string()));
        }
        for (m, m2) in IMPORT_MAPPING {
            assert_eq!(
                resolve(m, "not_renamed", 1),
                (m2.to_string(), "not_renamed".into())
            );
        }
        assert_eq!(resolve("zzz", "a", 0), ("zzz".to_string(), "a".to_string()));
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
    fn a_library_profile_vouches_only_for_constructing_its_unlisted_classes() {
        for (m, n) in [
            ("sklearn.linear_model._logistic", "LogisticRegression"),
            ("torch.nn.modules.linear", "Linear"),
            ("pandas.core.frame", "DataFrame"),
        ] {
            assert!(
                matches!(judge(&s(), m, n), Verdict::ConstructOnly { .. }),
                "{m}.{n}"
            );
        }
        // The shape of the name does not matter for construction (`cKDTree`, `_BinMapper`);
        // calling any of them is not vouched for.
        assert!(matches!(
            judge(&s(), "scipy.spatial._ckdtree", "cKDTree"),
            Verdict::ConstructOnly { .. }
        ));
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
        let exact_allow = ALLOW_EXACT
            .iter()
            .any(|(m, n, _)| *m == canon && !n.contains('*') && *n == qualname);
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
        for (m, n, _) in ALLOW_EXACT {
            add(m, n);
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
}
