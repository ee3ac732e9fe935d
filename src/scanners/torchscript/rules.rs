//! What a resolved TorchScript name is: the deny tables and `judge`. A name reaches here as
//! the dotted path `analysis.rs` resolved (through parentheses, local aliases, `getattr`
//! with a literal name, attribute chains): TorchScript operators that touch the file system
//! (`torch.from_file`, `torch.save`, `ops.aten.load`), Python and process escapes that the
//! TorchScript compiler would only see in a hand-edited archive (`__import__`, `os.system`),
//! remote calls, and operators or classes from namespaces outside PyTorch and its standard
//! companions (which need a native library registered first). The conservative rules for
//! callees that do not resolve to a name are here too (`DANGEROUS_LEAVES`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dangerous,
    Custom,
}

/// Operator namespaces of PyTorch itself and of its standard companion libraries.
pub const KNOWN_OP_NAMESPACES: &[&str] = &[
    "aten",
    "prim",
    "prims",
    "quantized",
    "_quantized",
    "quantized_decomposed",
    "_caffe2",
    "caffe2",
    "cuda",
    "profiler",
    "xnnpack",
    "prepacked",
    "mkldnn",
    "mkldnn_prepacked",
    "onednn",
    "sparse",
    "fbgemm",
    "vulkan",
    "vulkan_prepack",
    "metal",
    "metal_prepack",
    "_nnapi",
    "c10d",
    "_c10d_functional",
    "_c10d_functional_autograd",
    "c10d_functional",
    "_dtensor",
    "inductor",
    "higher_order",
    "rngprims",
    "debugprims",
    "torchvision",
    "torchaudio",
    "torchtext",
    "image",
];

/// Namespaces of `torch.classes` that PyTorch and its companions register.
pub const KNOWN_CLASS_NAMESPACES: &[&str] = &[
    "quantized",
    "xnnpack",
    "onednn",
    "mkldnn",
    "sparse",
    "dist_c10d",
    "c10d",
    "dist_rpc",
    "profiling",
    "cuda",
    "vulkan",
    "metal",
    "torchaudio",
    "torchtext",
    "torchvision",
];

/// Python modules that reach the process, the file system, the network or the interpreter.
pub const PYTHON_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "sys",
    "builtins",
    "__builtin__",
    "__builtins__",
    "importlib",
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "marshal",
    "shutil",
    "socket",
    "ctypes",
    "pty",
    "runpy",
    "urllib",
    "requests",
    "http",
    "ftplib",
    "telnetlib",
    "webbrowser",
    "multiprocessing",
    "pathlib",
    "pdb",
    "bdb",
    "cProfile",
    "shlex",
];

/// Python builtins that run code or open files, flagged when called.
pub const PYTHON_BUILTINS: &[&str] = &[
    "__import__",
    "eval",
    "exec",
    "execfile",
    "compile",
    "open",
    "globals",
    "locals",
    "vars",
    "breakpoint",
];

/// Builtins TorchScript code calls by bare name; other bare-name calls are locals (function
/// values bound earlier) or keywords, and are left out of the inventory.
pub const SCRIPT_BUILTINS: &[&str] = &[
    "getattr",
    "hasattr",
    "isinstance",
    "print",
    "int",
    "float",
    "bool",
    "str",
    "len",
    "range",
    "list",
    "dict",
    "tuple",
    "min",
    "max",
    "abs",
    "enumerate",
    "zip",
    "round",
    "divmod",
    "ord",
    "chr",
    "hash",
    "id",
    "sorted",
    "any",
    "all",
    "annotate",
    "uninitialized",
    "unchecked_cast",
];

/// Attributes that walk into interpreter internals.
pub const DUNDER_WALKS: &[&str] = &[
    "__globals__",
    "__builtins__",
    "__subclasses__",
    "__code__",
    "__getattribute__",
    "__reduce__",
    "__reduce_ex__",
    "__bases__",
    "__mro__",
];

/// What `parts` (a dotted name) is, if it is anything to report.
pub fn judge(parts: &[&str], called: bool) -> Option<(Kind, &'static str)> {
    let first = *parts.first()?;
    let get = |i: usize| parts.get(i).copied().unwrap_or_default();

    if parts.iter().any(|p| DUNDER_WALKS.contains(p)) {
        return Some((Kind::Dangerous, "walks into interpreter internals"));
    }
    if parts.len() == 1 {
        if called && PYTHON_BUILTINS.contains(&first) {
            return Some((
                Kind::Dangerous,
                "calls a Python builtin that runs code or opens files",
            ));
        }
        return None;
    }
    if PYTHON_MODULES.contains(&first) {
        return Some((
            Kind::Dangerous,
            "reaches a Python module for processes, files or the interpreter",
        ));
    }

    // Operators: `ops.ns.op` as TorchScript prints them, or `torch.ops.ns.op`.
    let ops_at = if first == "ops" {
        Some(1)
    } else if first == "torch" && get(1) == "ops" {
        Some(2)
    } else {
        None
    };
    if let Some(k) = ops_at {
        let ns = get(k);
        let op = get(k + 1);
        if matches!(ns, "load_library" | "import_module") {
            return Some((Kind::Dangerous, "loads a native library or Python module"));
        }
        if ns == "aten" && matches!(op, "from_file" | "save" | "load" | "_load_for_mobile") {
            return Some((Kind::Dangerous, "reads or writes files"));
        }
        if !ns.is_empty() && !KNOWN_OP_NAMESPACES.contains(&ns) {
            return Some((Kind::Custom, "calls an operator from a custom namespace"));
        }
        return None;
    }

    // Custom classes: `torch.classes.ns.Cls` or `__torch__.torch.classes.ns.Cls`.
    let classes_at = parts
        .windows(2)
        .position(|w| w.first() == Some(&"torch") && w.get(1) == Some(&"classes"))
        .map(|i| i + 2);
    if let Some(k) = classes_at {
        let ns = get(k);
        if ns == "load_library" {
            return Some((Kind::Dangerous, "loads a native library"));
        }
        if !ns.is_empty() && !KNOWN_CLASS_NAMESPACES.contains(&ns) {
            return Some((Kind::Custom, "uses a class from a custom namespace"));
        }
        return None;
    }

    if first == "torch" {
        let last = parts.last().copied().unwrap_or_default();
        let second = get(1);
        // aten operators print as `torch.<op>`; the Python-only ones are flagged as written.
        if parts.len() == 2 && matches!(second, "from_file" | "save" | "load") {
            return Some((Kind::Dangerous, "reads or writes files"));
        }
        if last == "from_file" {
            return Some((Kind::Dangerous, "maps a file into a tensor"));
        }
        if second == "jit" && matches!(get(2), "load" | "save" | "_load_for_lite_interpreter") {
            return Some((Kind::Dangerous, "loads or saves another model file"));
        }
        if matches!(second, "hub" | "package") || (second == "utils" && get(2) == "cpp_extension") {
            return Some((Kind::Dangerous, "fetches or builds code"));
        }
        if second == "distributed" && parts.contains(&"rpc") {
            return Some((Kind::Dangerous, "makes remote procedure calls"));
        }
    }
    None
}

/// Names TorchScript's import environment and compiler define without an import
/// (`torch/csrc/jit/serialization/import_source.cpp`, `frontend/ir_emitter.cpp`) and the
/// type names annotations use. A dotted name rooted elsewhere is one the compiler would
/// reject, unless something this parser did not read bound it: its last part is then
/// judged like a callee that did not resolve.
pub const SCRIPT_GLOBALS: &[&str] = &[
    "torch",
    "ops",
    "__torch__",
    "math",
    "CONSTANTS",
    "fork",
    "wait",
    "annotate",
    "unchecked_cast",
    "uninitialized",
    "inf",
    "nan",
    "infj",
    "nanj",
    "Tensor",
    "Optional",
    "List",
    "Dict",
    "Tuple",
    "Union",
    "NoneType",
    "Any",
    "Future",
    "Await",
    "RRef",
    "Device",
    "Stream",
    "Storage",
    "number",
    "complex",
    "super",
    "warnings",
];

/// Operator and function names that read or write files, load code or call out of the
/// process. A call whose callee did not resolve to a name (an attribute of something
/// unknown) is reported when it ends in one of these.
pub const DANGEROUS_LEAVES: &[&str] = &[
    "from_file",
    "save",
    "load",
    "_load_for_mobile",
    "_load_for_lite_interpreter",
    "load_library",
    "import_module",
    "__import__",
    "system",
    "popen",
    "exec",
    "eval",
    "rpc_sync",
    "rpc_async",
    "remote",
];
