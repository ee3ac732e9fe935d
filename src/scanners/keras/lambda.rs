//! What a Keras Lambda (or any serialized Python function in a Keras config) would do: decoding
//! the stored code string the way Keras' `func_load` does (base64, else `raw_unicode_escape`
//! bytes), reading it with `scanners::marshal`, and judging the names and string constants it
//! reaches against tables of process, import, introspection, file and network gadgets. The
//! tables for callables named by module + name (Keras 3 `{"module": .., "class_name":
//! "function"}`, TFOpLambda symbols, CVE-2025-1550-style references) live here too, so that the
//! config walker (`config.rs`) and the SavedModel metadata scanner judge alike.

use crate::findings::Severity;
use crate::scanners::marshal::{self, CodeFacts, Layout};
use crate::scanners::pickle::policy::{self, Verdict};
use crate::settings::{NameFilter, Settings};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use std::collections::BTreeMap;

/// One dangerous thing found, with its severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub severity: Severity,
    pub reason: String,
}

/// The outcome of reading one serialized function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeReport {
    /// Decoded; `hits` lists the dangerous names it reaches (empty for e.g. `x * 2`).
    Decoded {
        layout: Layout,
        facts: CodeFacts,
        hits: Vec<(String, Severity)>,
    },
    /// The string is neither base64 nor raw marshal data that CPython could load.
    Undecodable(String),
}

impl CodeReport {
    pub fn severity(&self) -> Option<Severity> {
        match self {
            CodeReport::Decoded { hits, .. } => hits.iter().map(|(_, s)| *s).max(),
            CodeReport::Undecodable(_) => None,
        }
    }

    /// One line for an issue: what the code reaches, its names and strings.
    pub fn summary(&self) -> String {
        match self {
            CodeReport::Decoded {
                layout,
                facts,
                hits,
            } => {
                let mut s = String::new();
                if hits.is_empty() {
                    s.push_str("its bytecode reaches nothing known to be dangerous");
                } else {
                    let names: Vec<&str> = hits.iter().map(|(n, _)| n.as_str()).collect();
                    s.push_str(&format!("its bytecode reaches {}", names.join(", ")));
                }
                s.push_str(&format!(" ({} code object", layout.describe()));
                if !facts.names.is_empty() {
                    let names: Vec<&str> =
                        facts.names.iter().map(String::as_str).take(12).collect();
                    s.push_str(&format!("; names: {}", names.join(", ")));
                }
                let strings: Vec<String> = facts
                    .strings
                    .iter()
                    .filter(|s| !s.is_empty())
                    .take(6)
                    .map(|s| format!("'{}'", clip(s, 60)))
                    .collect();
                if !strings.is_empty() {
                    s.push_str(&format!("; strings: {}", strings.join(", ")));
                }
                if !facts.functions.is_empty() {
                    let f: Vec<&str> = facts.functions.iter().map(String::as_str).take(6).collect();
                    s.push_str(&format!("; nested functions: {}", f.join(", ")));
                }
                s.push(')');
                s
            }
            CodeReport::Undecodable(e) => format!("its code could not be decoded ({e})"),
        }
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.escape_debug().to_string()
    } else {
        let head: String = s.chars().take(max).collect();
        format!("{}...", head.escape_debug())
    }
}

/// `binascii.a2b_base64` in its default (non-strict) mode skips characters outside the
/// alphabet and stops at the padding that completes a quantum; mirror that so junk inserted
/// into the string cannot hide the code from us while Python still decodes it.
fn python_base64(s: &str) -> Option<Vec<u8>> {
    let mut clean = String::with_capacity(s.len());
    let mut quad = 0usize;
    for c in s.chars() {
        if c == '=' {
            if quad >= 2 {
                break;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '+' || c == '/' {
            clean.push(c);
            quad = (quad + 1) % 4;
        }
    }
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    engine.decode(clean.as_bytes()).ok()
}

/// `str.encode("raw_unicode_escape")`: Keras' fallback when the code is not base64.
fn raw_unicode_escape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let cp = u32::from(c);
        if let Ok(b) = u8::try_from(cp) {
            out.push(b);
        } else if cp <= 0xffff {
            out.extend_from_slice(format!("\\u{cp:04x}").as_bytes());
        } else {
            out.extend_from_slice(format!("\\U{cp:08x}").as_bytes());
        }
    }
    out
}

/// Decode and judge the code string of a serialized function (Keras `func_dump` output).
pub fn analyze_code_string(code: &str, max_depth: u32) -> CodeReport {
    let attempt = |bytes: &[u8]| marshal::loads(bytes, max_depth);
    let result = match python_base64(code) {
        Some(bytes) => match attempt(&bytes) {
            Ok(v) => Ok(v),
            // Keras falls back only when base64 fails, but a string that is both is rare
            // enough that trying the raw bytes as well costs nothing.
            Err(e) => attempt(&raw_unicode_escape(code)).map_err(|_| e),
        },
        None => attempt(&raw_unicode_escape(code)),
    };
    match result {
        Ok((value, layout)) => {
            let facts = marshal::code_facts(&value);
            let hits = judge_facts(&facts);
            CodeReport::Decoded {
                layout,
                facts,
                hits,
            }
        }
        Err(e) => CodeReport::Undecodable(format!("marshal: {e}")),
    }
}

// ---- tables ----------------------------------------------------------------------------

/// Names that give code execution, process control, the import machinery or the interpreter's
/// internals; a serialized model function has no reason to touch them.
const CRITICAL_NAMES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "pty",
    "commands",
    "runpy",
    "importlib",
    "sys",
    "builtins",
    "__builtin__",
    "__builtins__",
    "__import__",
    "import_module",
    "eval",
    "exec",
    "execfile",
    "compile",
    "open",
    "socket",
    "ctypes",
    "cffi",
    "CDLL",
    "cdll",
    "windll",
    "LoadLibrary",
    "dlopen",
    "marshal",
    "pickle",
    "_pickle",
    "cPickle",
    "dill",
    "cloudpickle",
    "system",
    "popen",
    "Popen",
    "popen2",
    "popen3",
    "spawnl",
    "spawnle",
    "spawnlp",
    "spawnlpe",
    "spawnv",
    "spawnve",
    "spawnvp",
    "spawnvpe",
    "posix_spawn",
    "posix_spawnp",
    "execl",
    "execle",
    "execlp",
    "execlpe",
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "fork",
    "forkpty",
    "startfile",
    "check_output",
    "check_call",
    "getoutput",
    "getstatusoutput",
    "globals",
    "locals",
    "vars",
    "setattr",
    "delattr",
    "breakpoint",
    "load_op_library",
    "load_library",
    "py_function",
    "numpy_function",
    "py_func",
    "__globals__",
    "__subclasses__",
    "__bases__",
    "__base__",
    "__mro__",
    "__code__",
    "__closure__",
    "__getattribute__",
    "__reduce__",
    "__reduce_ex__",
    "__loader__",
    "__spec__",
    "func_globals",
    "f_globals",
    "f_builtins",
    "f_locals",
    "f_back",
    "gi_frame",
    "tb_frame",
    "_getframe",
    "exec_module",
    "load_module",
];

/// File-system and network access: data leaves or lands on the machine.
const HIGH_NAMES: &[&str] = &[
    "shutil",
    "rmtree",
    "remove",
    "unlink",
    "rmdir",
    "removedirs",
    "chmod",
    "chown",
    "write_file",
    "read_file",
    "gfile",
    "GFile",
    "urllib",
    "urllib2",
    "urlopen",
    "urlretrieve",
    "requests",
    "httpx",
    "http",
    "httplib",
    "ftplib",
    "telnetlib",
    "smtplib",
    "webbrowser",
    "paramiko",
    "asyncio",
    "multiprocessing",
    "signal",
    "kill",
    "killpg",
    "getenv",
    "putenv",
    "environ",
    "tempfile",
    "pathlib",
    "write_text",
    "write_bytes",
    "read_text",
    "read_bytes",
    "glob",
    "listdir",
    "scandir",
    "get_file",
    "enable_unsafe_deserialization",
];

/// Substrings of string constants that read as shell commands.
const SHELL_MARKERS: &[&str] = &[
    "/bin/sh",
    "/bin/bash",
    "cmd.exe",
    "powershell",
    "curl ",
    "wget ",
    "nc -",
    "rm -rf",
    "chmod +x",
    "/dev/tcp/",
    "base64 -d",
];

fn name_severity(name: &str) -> Option<Severity> {
    if CRITICAL_NAMES.contains(&name) {
        Some(Severity::Critical)
    } else if HIGH_NAMES.contains(&name) {
        Some(Severity::High)
    } else {
        None
    }
}

fn is_dunder(s: &str) -> bool {
    s.len() > 4 && s.starts_with("__") && s.ends_with("__")
}

/// Judge the names and strings of decoded code. Names are matched exactly; string constants
/// are matched whole or by their dotted parts (`"os.system"`), since `getattr` and
/// `__import__` take their targets as strings.
pub fn judge_facts(facts: &CodeFacts) -> Vec<(String, Severity)> {
    let mut hits: BTreeMap<String, Severity> = BTreeMap::new();
    fn add(hits: &mut BTreeMap<String, Severity>, what: String, sev: Severity) {
        let e = hits.entry(what).or_insert(sev);
        *e = (*e).max(sev);
    }
    for n in &facts.names {
        if let Some(sev) = name_severity(n) {
            add(&mut hits, n.clone(), sev);
        }
    }
    let uses_getattr = facts.names.contains("getattr");
    for s in &facts.strings {
        let t = s.trim();
        let mut matched = false;
        for part in std::iter::once(t).chain(t.split('.')) {
            if let Some(sev) = name_severity(part) {
                add(&mut hits, format!("'{}' (string)", clip(part, 40)), sev);
                matched = true;
            }
        }
        if uses_getattr && !matched && is_dunder(t) {
            add(
                &mut hits,
                format!("getattr(..., '{}')", clip(t, 40)),
                Severity::Critical,
            );
        }
        let lower = t.to_ascii_lowercase();
        if SHELL_MARKERS.iter().any(|m| lower.contains(m)) {
            add(
                &mut hits,
                format!("shell command '{}'", clip(t, 60)),
                Severity::High,
            );
        }
    }
    if uses_getattr && !hits.is_empty() {
        add(&mut hits, "getattr".into(), Severity::Critical);
    }
    hits.into_iter().collect()
}

/// Roots of the Keras and TensorFlow packages: references inside them are judged by name.
const KERAS_FAMILY: &[&str] = &[
    "keras",
    "tf_keras",
    "tensorflow",
    "tf",
    "keras_hub",
    "keras_cv",
    "keras_nlp",
];

/// Keras helpers that Keras itself refuses during deserialization since 3.11
/// (`serialization_lib.NON_MODELING_APIS`); older Keras resolved them from a config, which is
/// how the safe_mode bypasses worked (CVE-2025-1550, CVE-2025-8747, CVE-2025-9905).
const KERAS_HELPERS: &[(&str, Severity, &str)] = &[
    (
        "enable_unsafe_deserialization",
        Severity::Critical,
        "turns safe_mode off for the rest of the load, so Lambda layers and pickled objects that follow run",
    ),
    (
        "get_file",
        Severity::High,
        "downloads a URL chosen by the file to a local path",
    ),
    (
        "load_model",
        Severity::High,
        "loads a second model from a path chosen by the file, under its own rules",
    ),
    (
        "model_from_json",
        Severity::High,
        "builds a second model from a config chosen by the file",
    ),
    (
        "model_from_yaml",
        Severity::High,
        "builds a second model from a config chosen by the file",
    ),
    (
        "deserialize_keras_object",
        Severity::High,
        "deserializes a second object from a config chosen by the file",
    ),
    (
        "load_weights",
        Severity::High,
        "reads weights from a path chosen by the file",
    ),
    (
        "save_model",
        Severity::High,
        "writes a file to a path chosen by the file",
    ),
    (
        "save_weights",
        Severity::High,
        "writes a file to a path chosen by the file",
    ),
    (
        "save_img",
        Severity::High,
        "writes a file to a path chosen by the file",
    ),
    (
        "load_img",
        Severity::Medium,
        "reads a local file chosen by the file",
    ),
    (
        "image_dataset_from_directory",
        Severity::Medium,
        "reads local files chosen by the file",
    ),
    (
        "text_dataset_from_directory",
        Severity::Medium,
        "reads local files chosen by the file",
    ),
    (
        "audio_dataset_from_directory",
        Severity::Medium,
        "reads local files chosen by the file",
    ),
    (
        "register_keras_serializable",
        Severity::Medium,
        "registers new objects while the model is being loaded",
    ),
];

/// Judge a TensorFlow symbol path without its root (`io.write_file`, `raw_ops.ReadFile`).
pub fn judge_tf_symbol(path: &str) -> Option<Judgement> {
    let path = path
        .strip_prefix("tensorflow.")
        .or_else(|| path.strip_prefix("tf."))
        .unwrap_or(path);
    let parts: Vec<&str> = path.split('.').collect();
    let last = parts.last().copied().unwrap_or_default();
    if parts.first() == Some(&"raw_ops") {
        return crate::scanners::savedmodel::ops::judge_op(last).map(|(severity, why)| Judgement {
            severity,
            reason: format!("raw op {last}: {why}"),
        });
    }
    let hit = |severity: Severity, why: &str| {
        Some(Judgement {
            severity,
            reason: format!("tf.{path} {why}"),
        })
    };
    match last {
        "py_function" | "numpy_function" | "py_func" | "eager_py_func" => {
            hit(Severity::Critical, "calls back into arbitrary Python code")
        }
        "load_op_library" | "load_library" | "load_pluggable_device_library" => hit(
            Severity::Critical,
            "loads a native shared library into the process",
        ),
        "read_file" => hit(Severity::High, "reads a local file"),
        "write_file" => hit(Severity::High, "writes a local file"),
        "matching_files" => hit(Severity::Medium, "lists local files"),
        "create_file_writer" | "create_file_writer_v2" => {
            hit(Severity::Medium, "writes event files to a directory")
        }
        _ if parts.contains(&"gfile") => hit(Severity::High, "accesses the file system"),
        "load" if parts.contains(&"saved_model") => hit(
            Severity::High,
            "loads a second model from a path chosen by the file",
        ),
        _ => KERAS_HELPERS
            .iter()
            .find(|(n, _, _)| *n == last)
            .map(|(_, severity, why)| Judgement {
                severity: *severity,
                reason: format!("{path} {why}"),
            }),
    }
}

/// Builtins that run code or reach the interpreter; other names under `builtins` are how
/// Keras 3 serializes its own functions (`relu`, `mse`) and are fine.
const DANGEROUS_BUILTINS: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "open",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "breakpoint",
    "input",
    "execfile",
    "file",
    "apply",
    "__build_class__",
    "memoryview",
];

/// Module roots never needed by a model config, with the severity of a reference to them.
const DANGEROUS_MODULES: &[(&str, Severity)] = &[
    ("os", Severity::Critical),
    ("posix", Severity::Critical),
    ("nt", Severity::Critical),
    ("subprocess", Severity::Critical),
    ("pty", Severity::Critical),
    ("commands", Severity::Critical),
    ("runpy", Severity::Critical),
    ("importlib", Severity::Critical),
    ("sys", Severity::Critical),
    ("ctypes", Severity::Critical),
    ("cffi", Severity::Critical),
    ("marshal", Severity::Critical),
    ("pickle", Severity::Critical),
    ("_pickle", Severity::Critical),
    ("cPickle", Severity::Critical),
    ("dill", Severity::Critical),
    ("cloudpickle", Severity::Critical),
    ("joblib", Severity::Critical),
    ("code", Severity::Critical),
    ("codeop", Severity::Critical),
    ("pdb", Severity::Critical),
    ("bdb", Severity::Critical),
    ("socket", Severity::Critical),
    ("shutil", Severity::Critical),
    ("asyncio", Severity::Critical),
    ("multiprocessing", Severity::Critical),
    ("operator", Severity::High),
    ("types", Severity::High),
    ("inspect", Severity::High),
    ("webbrowser", Severity::High),
    ("urllib", Severity::High),
    ("urllib2", Severity::High),
    ("urllib3", Severity::High),
    ("http", Severity::High),
    ("httplib", Severity::High),
    ("requests", Severity::High),
    ("httpx", Severity::High),
    ("aiohttp", Severity::High),
    ("ftplib", Severity::High),
    ("telnetlib", Severity::High),
    ("smtplib", Severity::High),
    ("paramiko", Severity::High),
    ("tempfile", Severity::High),
    ("pathlib", Severity::High),
    ("glob", Severity::High),
    ("io", Severity::High),
    ("codecs", Severity::High),
    ("signal", Severity::High),
];

/// Judge a callable or class that a config names by `module` + `name` (the name after the
/// module, dotted for nested attributes). `None` means nothing known to be dangerous: third-
/// party modules are how custom layers are registered and are not reported.
pub fn judge_reference(settings: &Settings, module: &str, name: &str) -> Option<Judgement> {
    let module = module.trim();
    if module.is_empty() {
        return None;
    }
    let root = module.split('.').next().unwrap_or(module);
    let full = format!("{module}.{name}");
    // ModelScan's own table, as configured.
    for (severity, table) in &settings.unsafe_globals {
        let hit = match table.get(module) {
            Some(NameFilter::All) => true,
            Some(NameFilter::Substrings(subs)) => subs.iter().any(|s| name.contains(s.as_str())),
            None => false,
        };
        if hit {
            return Some(Judgement {
                severity: *severity,
                reason: format!("{full} is in the unsafe_globals table"),
            });
        }
    }
    if KERAS_FAMILY.contains(&root) {
        let rest = module.split_once('.').map(|(_, r)| r).unwrap_or_default();
        let path = if rest.is_empty() {
            name.to_string()
        } else {
            format!("{rest}.{name}")
        };
        if root == "tensorflow" || root == "tf" {
            return judge_tf_symbol(&path);
        }
        let last = name.rsplit('.').next().unwrap_or(name);
        return KERAS_HELPERS
            .iter()
            .find(|(n, _, _)| *n == last)
            .map(|(_, severity, why)| Judgement {
                severity: *severity,
                reason: format!("{full} {why}"),
            });
    }
    if root == "builtins" || root == "__builtin__" {
        let first = name.split('.').next().unwrap_or(name);
        return DANGEROUS_BUILTINS.contains(&first).then(|| Judgement {
            severity: Severity::Critical,
            reason: format!("{full} runs code or reaches the interpreter's internals"),
        });
    }
    if let Some((_, severity)) = DANGEROUS_MODULES.iter().find(|(m, _)| *m == root) {
        return Some(Judgement {
            severity: *severity,
            reason: format!(
                "{full} comes from '{root}', a module no model config needs (process, import, file or network access)"
            ),
        });
    }
    match policy::judge(settings, module, name) {
        Verdict::Dangerous { severity, reason } => Some(Judgement {
            severity,
            reason: format!("{full}: {reason}"),
        }),
        Verdict::Unknown { stdlib: true } => Some(Judgement {
            severity: Severity::Medium,
            reason: format!("{full} is a standard-library callable no model config needs"),
        }),
        Verdict::Unknown { stdlib: false } | Verdict::ConstructOnly { .. } | Verdict::Safe => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/fixtures/marshal/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn b64(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    #[test]
    fn os_system_lambda_is_critical_with_what_it_reaches() {
        let report = analyze_code_string(&b64(&fixture("py311_os_system_lambda.bin")), 200);
        assert_eq!(report.severity(), Some(Severity::Critical));
        let s = report.summary();
        assert!(
            s.contains("__import__") && s.contains("system") && s.contains("'os'"),
            "{s}"
        );
    }

    #[test]
    fn harmless_lambda_reaches_nothing() {
        let report = analyze_code_string(&b64(&fixture("py38_harmless_lambda.bin")), 200);
        assert_eq!(report.severity(), None);
        assert!(matches!(report, CodeReport::Decoded { .. }));
    }

    #[test]
    fn junk_characters_in_base64_do_not_hide_the_code() {
        let clean = b64(&fixture("py312_os_system_lambda.bin"));
        let noisy: String = clean.chars().flat_map(|c| [c, '!']).collect();
        let report = analyze_code_string(&noisy, 200);
        assert_eq!(
            report.severity(),
            Some(Severity::Critical),
            "{}",
            report.summary()
        );
    }

    #[test]
    fn raw_marshal_string_is_read_like_raw_unicode_escape() {
        let data = fixture("py36_os_system_lambda.bin");
        let text: String = data.iter().map(|&b| char::from(b)).collect();
        let report = analyze_code_string(&text, 200);
        assert_eq!(
            report.severity(),
            Some(Severity::Critical),
            "{}",
            report.summary()
        );
    }

    #[test]
    fn garbage_is_undecodable() {
        let report = analyze_code_string("not base64 at all!", 200);
        assert!(matches!(report, CodeReport::Undecodable(_)), "{report:?}");
    }

    #[test]
    fn getattr_with_a_dunder_string_is_critical() {
        let mut facts = CodeFacts::default();
        facts.names.insert("getattr".into());
        facts.strings.push("__class__".into());
        let hits = judge_facts(&facts);
        assert!(
            hits.iter().any(|(_, s)| *s == Severity::Critical),
            "{hits:?}"
        );
        let mut plain = CodeFacts::default();
        plain.names.insert("getattr".into());
        plain.strings.push("shape".into());
        assert!(judge_facts(&plain).is_empty());
    }

    #[test]
    fn references_are_judged_by_module_and_name() {
        let s = Settings::defaults();
        assert_eq!(
            judge_reference(&s, "os", "system").map(|j| j.severity),
            Some(Severity::Critical)
        );
        assert_eq!(
            judge_reference(&s, "builtins", "exec").map(|j| j.severity),
            Some(Severity::Critical)
        );
        assert_eq!(judge_reference(&s, "builtins", "relu"), None);
        assert_eq!(
            judge_reference(&s, "keras.utils", "get_file").map(|j| j.severity),
            Some(Severity::High)
        );
        assert_eq!(
            judge_reference(&s, "keras.config", "enable_unsafe_deserialization")
                .map(|j| j.severity),
            Some(Severity::Critical)
        );
        assert_eq!(
            judge_reference(&s, "tensorflow.io", "write_file").map(|j| j.severity),
            Some(Severity::High)
        );
        assert_eq!(judge_reference(&s, "keras.layers", "Dense"), None);
        assert_eq!(judge_reference(&s, "fixturepkg.layers", "Scale"), None);
    }

    #[test]
    fn tf_symbols_are_judged_by_their_path() {
        assert_eq!(
            judge_tf_symbol("io.write_file").map(|j| j.severity),
            Some(Severity::High)
        );
        assert_eq!(
            judge_tf_symbol("compat.v1.py_func").map(|j| j.severity),
            Some(Severity::Critical)
        );
        assert_eq!(
            judge_tf_symbol("raw_ops.EagerPyFunc").map(|j| j.severity),
            Some(Severity::Critical)
        );
        assert_eq!(judge_tf_symbol("math.add"), None);
        assert_eq!(judge_tf_symbol("strings.length"), None);
    }
}
