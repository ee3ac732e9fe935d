//! What allowed callables do with their arguments: the ones that call an argument
//! (higher-order), the ones that call methods of an argument (implicit calls), and the ones that
//! deserialize an argument (nested loaders).

use super::*;

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
