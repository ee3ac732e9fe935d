//! The one table of rules. Every issue a scanner reports names a rule id from here; the table
//! gives its default severity, title, what it detects, why that is dangerous, what to do, and
//! its CWE. `modelscan rules`, `docs/rules.md` and the SARIF `rules` array are all made from it.

use crate::findings::Severity;

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// What it detects.
    pub detects: &'static str,
    /// Why it is dangerous.
    pub why: &'static str,
    /// What to do about it.
    pub remediation: &'static str,
    pub cwe: &'static [u32],
}

macro_rules! rule {
    ($id:expr, $sev:ident, $title:expr, $detects:expr, $why:expr, $fix:expr, [$($cwe:expr),*]) => {
        Rule {
            id: $id,
            severity: Severity::$sev,
            title: $title,
            detects: $detects,
            why: $why,
            remediation: $fix,
            cwe: &[$($cwe),*],
        }
    };
}

const DO_NOT_LOAD: &str = "Do not load this file. Obtain the model from a trusted source, or ask \
the publisher for a weights-only format (safetensors, GGUF, ONNX without external paths).";

pub static RULES: &[Rule] = &[
    // ---- pickle ------------------------------------------------------------------------
    rule!(
        "pickle.dangerous-global",
        Critical,
        "Dangerous global imported by a pickle",
        "A pickle (or a pickle inside a PyTorch, joblib, numpy or dill file) imports a function or \
         class known to run code, commands, file or network operations when the file is loaded.",
        "Unpickling resolves the import and, through REDUCE/NEWOBJ/BUILD, calls it with arguments \
         chosen by whoever wrote the file: arbitrary code execution on the loading machine.",
        DO_NOT_LOAD,
        [502, 94]
    ),
    rule!(
        "pickle.unknown-stdlib-global",
        High,
        "Standard-library callable outside the allowlist",
        "A pickle imports a standard-library name that is not a known data type or constructor.",
        "Standard-library modules hold many gadgets (process, file, import and introspection \
         helpers). A name that no benign model needs is how new bypasses of denylists work.",
        "Inspect the import list (`modelscan inspect FILE`). If the name is benign, add it to \
         `[pickle] allow` in the settings file.",
        [502]
    ),
    rule!(
        "pickle.unknown-global-called",
        High,
        "Unknown function called by a pickle",
        "A pickle calls (REDUCE, INST or OBJ) a third-party function that is neither on the \
         allowlist nor known to be dangerous, in a way no class construction needs.",
        "Loading calls the function with arguments from the file; what it does is not known.",
        "Check what the function does; if it is benign add it to `[pickle] allow`.",
        [502]
    ),
    rule!(
        "pickle.unknown-global",
        Low,
        "Unknown third-party class (strict mode)",
        "A pickle constructs a third-party class that is not on the allowlist (reported as an \
         issue only with --strict).",
        "Constructing a class runs its `__new__`/`__setstate__`/`__init__` code from an installed \
         package; it is as safe as that package.",
        "Add the class to `[pickle] allow` if you trust the package.",
        [502]
    ),
    rule!(
        "pickle.computed-import",
        Critical,
        "Import name computed at load time",
        "STACK_GLOBAL takes its module or name from something other than a string constant (the \
         result of a call, an object from the memo).",
        "The imported name is only known when the file is loaded, so no static list can vouch \
         for it; this is how denylist scanners are bypassed.",
        DO_NOT_LOAD,
        [502, 94]
    ),
    rule!(
        "pickle.computed-call",
        Critical,
        "Call on a computed callable",
        "REDUCE/NEWOBJ/OBJ/INST call something that is not a plain imported global: the result of \
         getattr, attrgetter, import_module or another call.",
        "Calling a callable fetched at load time reaches any function of any module (for example \
         `getattr(__import__('os'), 'system')`).",
        DO_NOT_LOAD,
        [502, 94]
    ),
    rule!(
        "pickle.build-on-callable",
        Critical,
        "Attributes set on a class, function or module",
        "BUILD or SETITEM(S) modifies a class, function or module object instead of a freshly \
         created instance.",
        "Setting attributes such as `__code__`, `__globals__` or `__reduce__` on shared objects \
         changes what later code runs.",
        DO_NOT_LOAD,
        [502, 915]
    ),
    rule!(
        "pickle.planted-method",
        Critical,
        "BUILD plants a method the unpickler then calls",
        "A BUILD state (its dict or its slot-state dict) gives the object an attribute the \
         unpickler looks up and calls: `__setstate__` (called by the next BUILD), or a callable \
         `append`/`extend` (APPEND, APPENDS) or `add` (ADDITEMS) that such an opcode then calls.",
        "The unpickler finds these names on the object itself, so the planted value is called with \
         data from the file: any callable the stream holds runs without a REDUCE.",
        DO_NOT_LOAD,
        [502, 94]
    ),
    rule!(
        "pickle.implicit-call",
        High,
        "An allowlisted callable is handed an object whose methods it calls",
        "An allowlisted callable that calls methods of its arguments (`dict(x)` calls `x.keys()` \
         and `x[k]`; `list`, `tuple`, `set`, `sorted`, `iter` iterate; `str` and `format` call \
         `__str__`/`__format__`; see `implicit_call_methods` in the pickle policy) is handed an \
         instance of a class no allowlist entry vouches for, or a state that replaces what it \
         calls (a `functools.partial` rebuilt by BUILD with another function).",
        "The allowlisted callable is harmless; the methods it calls on the object are the \
         object's class's, chosen by whoever wrote the file.",
        DO_NOT_LOAD,
        [502, 94]
    ),
    rule!(
        "pickle.external-file",
        High,
        "A pickle makes its loader read a file outside its folder",
        "An old joblib pickle's `NDArrayWrapper` names the file that `joblib.load` reads with \
         `numpy.load(allow_pickle=True)`; the name is absolute or climbs out of the folder. \
         (A name beside the file is scanned as part of it.)",
        "That file is unpickled too: whoever controls the name chooses which file's code runs.",
        DO_NOT_LOAD,
        [502, 22]
    ),
    rule!(
        "pickle.unknown-class-method",
        Medium,
        "An opcode calls a method of a class no entry vouches for",
        "BUILD (`__setstate__`, or `__setattr__` for slot state), SETITEM(S) (`__setitem__`), \
         APPEND(S) (`append`/`extend`) or ADDITEMS (`add`) acts on an instance of a \
         third-party class that is neither on the allowlist nor in a library profile.",
        "The unpickler calls the class's own method with data from the file; library classes \
         exist whose `__setstate__` opens a file or whose `__setitem__` writes one.",
        "Inspect the class (`modelscan inspect FILE`); if it is plain data, add it to `[pickle] \
         allow` in the settings file.",
        [502]
    ),
    rule!(
        "pickle.unresolved-global",
        Critical,
        "A pickle import whose name ModelScan's reading cannot recover",
        "A STACK_GLOBAL whose module or name does not come from a string literal (directly or \
         through the memo) in ModelScan's reading of the opcodes: the name is computed while \
         loading.",
        "No pickler writes such operands; a computed name can import any global, and it is how \
         denylist scanners are bypassed.",
        DO_NOT_LOAD,
        [502, 94]
    ),
    rule!(
        "pickle.dunder-name",
        Critical,
        "Dunder attribute in an import path",
        "An imported qualname walks through a dunder attribute (`__globals__`, `__builtins__`, \
         `__subclasses__`, `__class__` ...).",
        "Dunder walks reach interpreter internals and from there any module.",
        DO_NOT_LOAD,
        [502, 94]
    ),
    rule!(
        "pickle.higher-order-call",
        High,
        "Allowlisted helper given an unsafe callable",
        "An allowlisted higher-order helper (functools.partial, copyreg._reconstructor, \
         _rebuild_from_type_v2, map, defaultdict ...) receives a callable that is not itself safe.",
        "These helpers call their argument; the allowlist vouches for the helper, not for what it \
         is handed.",
        DO_NOT_LOAD,
        [502]
    ),
    rule!(
        "pickle.extension-code",
        Critical,
        "Extension-registry opcode",
        "EXT1/EXT2/EXT4 refers to a `copyreg` extension code, or the stream registers one with \
         `copyreg.add_extension`.",
        "The default extension registry is empty: a code only resolves if the file (or something \
         before it) registered it, a way to import a global without naming it.",
        DO_NOT_LOAD,
        [502]
    ),
    rule!(
        "pickle.nested-pickle",
        Critical,
        "Nested pickle payload",
        "Bytes or a string are passed to a deserializer (pickle.loads, dill.loads, torch.load ...) \
         inside the pickle; the nested stream was scanned too.",
        "A nested deserialization runs a second, hidden pickle.",
        DO_NOT_LOAD,
        [502]
    ),
    rule!(
        "pickle.resource-exhaustion",
        Medium,
        "Pickle resource budget exceeded",
        "The stack, memo or opcode count of a pickle grows past the configured budget.",
        "Expansion pickles (billion-laughs style memo fan-out) exhaust memory or CPU at load time.",
        "Raise the limit in `[limits]` only if the file is trusted.",
        [400, 776]
    ),
    rule!(
        "pickle.anomaly",
        Medium,
        "Pickle stream anomaly",
        "The stream has a shape no pickler writes: a second PROTO, a frame an operand straddles, \
         a string decoded differently by different loaders.",
        "Readers that disagree about the bytes are how scanners are fooled: the scanner sees one \
         program, the loader runs another.",
        DO_NOT_LOAD,
        [436]
    ),
    // ---- containers ---------------------------------------------------------------------
    rule!(
        "archive.zip-anomaly",
        Medium,
        "Zip structure anomaly",
        "The zip has a shape that makes readers disagree: wrong CRC, encryption flag without \
         encryption, local and central names that differ, duplicate names, entries hidden from \
         the end-of-central-directory count, data before the first entry, several archives.",
        "Python's zipfile, PyTorch's miniz reader and scanners read such archives differently; \
         the member a scanner vouches for may not be the one that gets loaded.",
        DO_NOT_LOAD,
        [436]
    ),
    rule!(
        "archive.path-traversal",
        High,
        "Archive member escapes the extraction folder",
        "A member name is absolute or climbs with `..`, or a symlink/hardlink member points outside \
         the archive.",
        "Extracting the archive writes or reads files outside the target folder.",
        "Do not extract the archive; repack it without the offending members.",
        [22, 59]
    ),
    rule!(
        "archive.bomb",
        High,
        "Decompression bomb",
        "A compressed member or stream expands past the configured size with an extreme ratio.",
        "Loading or extracting exhausts memory or disk.",
        DO_NOT_LOAD,
        [409]
    ),
    rule!(
        "archive.polyglot",
        Medium,
        "File valid as two formats",
        "The file parses as two formats (a pickle with a zip at its end, a zip named \
         .safetensors); each view was scanned.",
        "Different loaders see different content: a scanner that reads one view vouches for a \
         file whose other view runs code.",
        DO_NOT_LOAD,
        [436]
    ),
    // ---- keras / tensorflow (rows for keras/, savedmodel/) -----------------------------
    rule!(
        "keras.lambda-layer",
        Medium,
        "Keras Lambda layer",
        "A Keras model (HDF5, .keras config, JSON config, keras_metadata.pb) has a Lambda layer: \
         Python bytecode or a Python function reference stored in the file. Its code was decoded \
         and reaches nothing known to be dangerous (ModelScan reports every Lambda).",
        "Keras rebuilds the function from the file and runs it when the model is loaded with \
         safe_mode=False (always, with tf.keras/tf_keras) or called; the code is the file \
         author's.",
        "Load the model only if you trust its author, or rebuild the layer in code and load the \
         weights alone.",
        [94, 502]
    ),
    rule!(
        "keras.lambda-dangerous-code",
        Critical,
        "Keras Lambda whose code reaches dangerous calls",
        "A Lambda layer (or a serialized lambda elsewhere in a Keras config) whose decoded \
         bytecode or named function uses process, import, introspection, file or network \
         functions (os.system, __import__, eval, subprocess, open, getattr with dunder names ...).",
        "The function runs when the model is loaded or called, with the rights of the loading \
         process: the classic Keras model backdoor (CVE-2024-3660).",
        DO_NOT_LOAD,
        [94, 502]
    ),
    rule!(
        "keras.lambda-undecodable-code",
        High,
        "Keras Lambda whose code cannot be decoded",
        "A Lambda layer holds a code string that is neither base64 nor marshal data of a known \
         CPython layout.",
        "What the code does cannot be checked; a loader that can decode it will run it.",
        DO_NOT_LOAD,
        [94, 502]
    ),
    rule!(
        "keras.unsafe-module-reference",
        Critical,
        "Keras config references a dangerous module or helper",
        "A Keras config names a callable or class by module (`module`/`class_name`/`config`, a \
         `package>Name` registered name, or a TFOpLambda symbol) in a module no model needs (os, \
         subprocess, builtins.exec, importlib ...), a Keras helper that is not a modeling API \
         (keras.utils.get_file, keras.config.enable_unsafe_deserialization, load_model ...), or \
         a TensorFlow file, Python-callback or library-loading function.",
        "Keras imports and calls what the config names while it rebuilds the model, before \
         safe_mode judges anything; this is how CVE-2025-1550 and the later safe_mode bypasses \
         run code or touch files.",
        DO_NOT_LOAD,
        [502, 94, 470]
    ),
    rule!(
        "keras.hdf5-external-reference",
        Medium,
        "HDF5 file refers to other files",
        "An HDF5 model or weights file has an external link, a dataset stored in external \
         raw-data files, or a virtual dataset; HIGH when the target is absolute or climbs out \
         of the model's folder.",
        "Reading the weights makes the HDF5 library open files chosen by the model's author on \
         the loading machine and copy their bytes into the model (local file disclosure).",
        "Do not load the file; ask for a self-contained weights file.",
        [73, 22]
    ),
    rule!(
        "tensorflow.dangerous-op",
        High,
        "Dangerous TensorFlow graph op",
        "A SavedModel or frozen graph contains an op that reads or writes local files \
         (ReadFile, WriteFile, dataset readers and writers, PrintV2 to a file, checkpoint ops \
         on fixed outside paths), calls back into Python (PyFunc, EagerPyFunc), talks to the \
         network (RPC, tf.data service) or dumps tensors to debug URLs. Ops in library \
         functions count.",
        "The op runs with the rights of the serving process whenever the graph is called: \
         file exfiltration, file planting or code execution through a Python callback.",
        DO_NOT_LOAD,
        [73, 94, 200]
    ),
    rule!(
        "tensorflow.unknown-op",
        Medium,
        "TensorFlow op not in stock TensorFlow",
        "A SavedModel or frozen graph uses an op that stock TensorFlow does not register \
         (ModelScan reports ops missing from tf.raw_ops).",
        "Running the graph needs a custom kernel library loaded beside it: native code whose \
         behaviour the model file does not show.",
        "Check which library provides the op and whether you trust it.",
        [829]
    ),
    // ---- gguf / templates / safetensors / onnx / torchscript ----------------------------
    rule!(
        "template.injection",
        Critical,
        "Chat template reaches Python internals (template injection)",
        "A Jinja2 chat template (in GGUF metadata, tokenizer_config.json, chat_template.json or a \
         .jinja file) accesses dunder or name-mangled private attributes (`__class__`, \
         `__globals__`, `__subclasses__`, `_TemplateReference__context` ...), spelled directly or \
         built at render time from constants (concatenation, join, format, escapes, filters).",
        "Loaders render chat templates with Jinja2. Without a sandbox (llama-cpp-python before \
         0.2.72, CVE-2024-34359, and custom loaders) such a chain walks from any object to `os`, \
         `subprocess` or `__import__` and runs commands on the machine that formats a prompt. No \
         chat template needs Python internals.",
        "Do not load the model with this template. Replace the template with the publisher's \
         original, and render templates only with jinja2's ImmutableSandboxedEnvironment.",
        [1336, 94]
    ),
    rule!(
        "template.suspicious-access",
        High,
        "Chat template uses introspection",
        "A Jinja2 chat template looks up attributes in ways only template-injection payloads do: \
         `attr` with a name that is not a constant, a name built from constants that could not \
         be resolved, private (`_x`) attributes, or attribute walks on the bare Jinja globals \
         (`cycler`, `joiner`, `lipsum`, `namespace`, `self`, Flask's `request`/`config`).",
        "These are the building blocks of sandbox escapes and of payloads that hide dunder names \
         from scanners; the template's author chose to compute attribute names at render time.",
        "Inspect the template. If it came with the model, replace it with the publisher's \
         original and render it only in a sandboxed Jinja2 environment.",
        [1336]
    ),
    rule!(
        "gguf.malformed-structure",
        Medium,
        "GGUF structure anomaly",
        "A GGUF file has a structure no conforming writer produces: the same metadata key or \
         tensor name twice, or tensors whose data ranges overlap.",
        "Readers disagree on such files (llama.cpp and the gguf Python reader refuse duplicate \
         keys, others keep the first or the last value), so what a scanner checks may not be \
         what a loader uses; overlapping tensors are a sign of a hand-crafted file.",
        "Re-export the model with the gguf tools from a trusted source; do not load hand-edited \
         GGUF files.",
        [20, 436]
    ),
    rule!(
        "safetensors.suspicious-metadata",
        High,
        "Code or shell command in safetensors metadata",
        "A `__metadata__` value of a safetensors file holds Python code (`__import__`, `eval(`, \
         `os.system`, `subprocess` ...) or a shell command (`curl ... | sh`, `bash -c`, `rm -rf`).",
        "Safetensors never executes metadata, but the tools that read it (training scripts, UI \
         nodes, config loaders) may; weights need neither code nor commands, so their presence \
         is a payload waiting for a careless consumer.",
        "Do not pass this file's metadata to any tool that evaluates text. Strip the metadata \
         (re-save the tensors) or obtain the model from a trusted source.",
        [94, 78]
    ),
    rule!(
        "safetensors.metadata-url",
        Low,
        "URL in safetensors metadata",
        "A `__metadata__` value of a safetensors file holds a URL.",
        "A URL in metadata is harmless to the safetensors loader; tools that follow it fetch \
         content the model publisher controls.",
        "Check where the URL points before any tool follows it.",
        [829]
    ),
    rule!(
        "safetensors.header-anomaly",
        Medium,
        "Safetensors header that readers disagree on",
        "The safetensors header has duplicate keys, tensors whose byte ranges overlap, or \
         byte ranges past the end of the file.",
        "Readers resolve duplicate keys differently (first or last wins), and readers that do \
         not validate offsets read aliased or out-of-bounds memory: the weights a scanner or \
         a careful reader sees are not the ones another reader loads.",
        DO_NOT_LOAD,
        [436, 125]
    ),
    rule!(
        "onnx.external-data-traversal",
        High,
        "ONNX external data outside the model folder",
        "A tensor of an ONNX model (initializer, Constant attribute, nested graph or function) \
         stores its data in an external file whose `location` is absolute, climbs out of the \
         model's folder with `..`, or resolves through a symlink to a file outside the folder.",
        "Loading the model (`onnx.load`, ONNX Runtime) reads that file into a tensor: any file \
         the loading user can read (keys, credentials) ends up in the model's weights and \
         outputs (CVE-2022-25882, CVE-2024-27318; through symlinks CVE-2026-27489); saving the \
         model again writes to that path (CVE-2025-51480).",
        "Do not load the model with its external data. Keep external data files next to the \
         model, named by a relative path inside its folder.",
        [22, 59, 73]
    ),
    rule!(
        "onnx.external-data-anomaly",
        Medium,
        "ONNX external data entry onnx does not define",
        "A tensor's `external_data` has a key other than location, offset, length, checksum and \
         basepath, or an offset or length that is not a non-negative integer.",
        "onnx's `ExternalDataInfo` set every key as an attribute of itself (CVE-2026-34445): \
         unexpected keys overwrite its internals, and huge lengths make the loader allocate \
         without bound.",
        DO_NOT_LOAD,
        [915, 400]
    ),
    rule!(
        "onnx.python-op",
        Critical,
        "Python operator in an ONNX graph",
        "A node is a Python-backed operator: ONNX Runtime's language-interop `PyOp` (which imports \
         the module named in its `module` attribute and instantiates `class_name`), \
         `PythonOp`, or another Python-function op.",
        "With a runtime built to run Python operators, creating an inference session imports \
         and runs Python code named by the model file.",
        DO_NOT_LOAD,
        [94, 470]
    ),
    rule!(
        "onnx.custom-domain",
        Low,
        "ONNX operator from a custom domain",
        "A node uses an operator domain that is neither the ONNX standard domains, ONNX \
         Runtime's contrib domains, nor a function defined inside the model.",
        "Such an operator only runs if a native custom-operator library is registered before \
         the model is loaded; that library's code runs with the loader's rights.",
        "Find out which library implements the domain and whether you trust it.",
        [829]
    ),
    rule!(
        "torchscript.dangerous-call",
        High,
        "TorchScript code reaches files, processes or Python",
        "The code of a TorchScript archive (`code/*.py`) calls an operator that reads or writes \
         files (`torch.from_file`, `torch.save`, `torch.load`), a Python or process escape \
         (`__import__`, `eval`, `os.system`, `subprocess`), or remote procedure calls.",
        "TorchScript code runs when the module is called (and `__setstate__` when it is loaded): \
         file access or remote calls inside a model read secrets, write files or fetch code.",
        DO_NOT_LOAD,
        [94, 73]
    ),
    rule!(
        "torchscript.custom-op",
        Medium,
        "TorchScript code uses a custom operator or class",
        "The code of a TorchScript archive calls an operator from a namespace outside PyTorch and \
         its standard companions (`ops.<namespace>.<op>`), or a custom class (`torch.classes`).",
        "Custom operators and classes are native code from a library registered before loading; \
         the model names them, and that library runs with the loader's rights.",
        "Find out which library implements the operator and whether you trust it.",
        [829]
    ),
    // ---- generic --------------------------------------------------------------------------
    rule!(
        "scan.limit-exceeded",
        Medium,
        "Scan limit reached",
        "A configured limit (bytes, depth, members, opcodes, time) stopped the scan of a file          before all of it was read.",
        "What was not read was not vouched for; attackers pad files to push payloads past          scanner limits.",
        "Raise the limit in `[limits]` and scan again, if the file is trusted.",
        [400]
    ),
    rule!(
        "format.extension-mismatch",
        Low,
        "Content does not match the file name",
        "The file's content is a different format than its extension says.",
        "Tools that route by extension skip or misread such files.",
        "Rename the file after its real format, or find out why it is disguised.",
        [646]
    ),
];

pub fn lookup(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len());
    }
}
