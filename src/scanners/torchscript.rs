//! The TorchScript code scanner. `torch.jit.save` writes a zip whose `code/` folder holds the
//! module's methods as Python-subset source (`code/__torch__/....py`); `torch.jit.load`
//! compiles that text and runs it when the module is called (and `__setstate__` while loading).
//! The engine expands the zip and hands each member over as its own item; this scanner reads
//! the `code/**.py` members. The pickles of the archive (`data.pkl`, `constants.pkl`,
//! `*.debug_pkl`) go to the pickle scanner, not here.
//!
//! The text is tokenized (strings, comments, line continuations) so that names inside string
//! literals or comments are never taken for calls; dotted names are then judged: TorchScript
//! operators that touch the file system (`torch.from_file`, `torch.save`), Python and process
//! escapes that the TorchScript compiler would only see in a hand-edited archive
//! (`__import__`, `os.system`), remote calls, and operators or classes from namespaces outside
//! PyTorch and its standard companions (which need a native library registered first).

use std::collections::BTreeMap;

use crate::error::ScanError;
use crate::findings::{ImportRecord, Severity};
use crate::limits::LimitHit;
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};

const SCAN_NAME: &str = "torchscript";
const SCANNER: &str = "modelscan.scanners.TorchScriptCodeScan";

/// Code members larger than this are not read (real ones are a few kilobytes to a few MB).
const MAX_CODE_BYTES: u64 = 64 << 20;

pub struct TorchScriptScanner;

/// Whether a member path is TorchScript source: `<archive>/code/<...>.py`, as
/// `torch.jit.save` lays it out (`code` is the first or second folder of the member path;
/// deeper `code` folders belong to source trees that happen to be zipped with a model).
pub fn is_code_member(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split(['/', '\\']).collect();
    let Some(leaf) = parts.pop() else {
        return false;
    };
    // torch's record lookup ignores case (`CODE/__torch__/m.PY` is read as code too).
    leaf.to_ascii_lowercase().ends_with(".py")
        && parts.iter().take(2).any(|p| p.eq_ignore_ascii_case("code"))
}

impl Scanner for TorchScriptScanner {
    fn name(&self) -> &'static str {
        SCANNER
    }
    fn scan_name(&self) -> &'static str {
        SCAN_NAME
    }
    fn accepts(&self, item: &Item) -> bool {
        item.source
            .members
            .last()
            .is_some_and(|m| is_code_member(m))
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let cap = MAX_CODE_BYTES.min(ctx.settings.limits.max_in_memory_bytes);
        let len = item.blob.len();
        if len > cap {
            return Err(ScanError::Limit(LimitHit {
                limit: "max_in_memory_bytes",
                detail: format!("TorchScript code member of {len} bytes (read up to {cap})"),
            }));
        }
        ctx.budget.charge_bytes(len)?;
        let bytes = item
            .blob
            .to_vec_capped(cap)?
            .ok_or_else(|| ScanError::Unsupported("TorchScript code member too large".into()))?;
        let text = String::from_utf8_lossy(&bytes);
        let report = analyze(&text);
        for f in &report.findings {
            let (rule, severity) = match f.kind {
                Kind::Dangerous => ("torchscript.dangerous-call", Severity::High),
                Kind::Custom => ("torchscript.custom-op", Severity::Medium),
            };
            let (module, name) = split_chain(&f.chain);
            ctx.issue(
                SCANNER,
                &item.source,
                IssueBuilder::new(rule)
                    .operator(module, name)
                    .severity(severity)
                    .description(format!("TorchScript code {}: {}", f.what, f.chain))
                    .offset(f.offset as u64),
            );
        }
        ctx.imports(&item.source, report.calls);
        Ok(())
    }
}

fn split_chain(chain: &str) -> (String, String) {
    match chain.rsplit_once('.') {
        Some((m, n)) => (m.to_string(), n.to_string()),
        None => ("builtins".to_string(), chain.to_string()),
    }
}

// ---- tokenizer ----------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Name,
    Str,
    Num,
    Op,
    Newline,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Tok,
    text: &'a str,
    start: usize,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Length of a string-literal prefix (`r`, `b`, `f`, `rb`, `Br` ...) at `i`, if a quote follows.
fn string_prefix(b: &[u8], i: usize) -> Option<usize> {
    let is_prefix = |c: u8| matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f');
    let mut n = 0;
    while n < 2 && b.get(i + n).copied().is_some_and(is_prefix) {
        n += 1;
    }
    matches!(b.get(i + n), Some(b'\'' | b'"')).then_some(n)
}

/// End of the string literal whose opening quote is at `q` (exclusive).
fn string_end(b: &[u8], q: usize) -> usize {
    let Some(&quote) = b.get(q) else {
        return b.len();
    };
    let triple = b.get(q + 1) == Some(&quote) && b.get(q + 2) == Some(&quote);
    let mut i = if triple { q + 3 } else { q + 1 };
    while let Some(&c) = b.get(i) {
        if c == b'\\' {
            i += 2;
            continue;
        }
        if triple {
            if c == quote && b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote) {
                return i + 3;
            }
        } else if c == quote {
            return i + 1;
        } else if c == b'\n' {
            // Unterminated single-line string: it ends with the line.
            return i;
        }
        i += 1;
    }
    b.len()
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let tok = |kind, start: usize, end: usize| Token {
        kind,
        text: text.get(start..end).unwrap_or_default(),
        start,
    };
    while let Some(&c) = b.get(i) {
        match c {
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'\n' => {
                out.push(tok(Tok::Newline, i, i + 1));
                i += 1;
            }
            b'\\' if matches!(b.get(i + 1), Some(b'\n')) => i += 2,
            b'\\' if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') => i += 3,
            b' ' | b'\t' | b'\r' | b'\x0c' => i += 1,
            b'\'' | b'"' => {
                let end = string_end(b, i);
                out.push(tok(Tok::Str, i, end));
                i = end.max(i + 1);
            }
            _ if is_name_start(c) => {
                if let Some(p) = string_prefix(b, i) {
                    let end = string_end(b, i + p);
                    out.push(tok(Tok::Str, i, end));
                    i = end.max(i + 1);
                    continue;
                }
                let start = i;
                while b.get(i).copied().is_some_and(is_name_char) {
                    i += 1;
                }
                out.push(tok(Tok::Name, start, i));
            }
            _ if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let start = i;
                while b
                    .get(i)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
                {
                    i += 1;
                }
                out.push(tok(Tok::Num, start, i));
            }
            _ => {
                out.push(tok(Tok::Op, i, i + 1));
                i += 1;
            }
        }
    }
    out
}

// ---- judging names ----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dangerous,
    Custom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    kind: Kind,
    chain: String,
    what: &'static str,
    offset: usize,
}

#[derive(Debug, Default)]
struct Analysis {
    findings: Vec<Finding>,
    calls: Vec<ImportRecord>,
}

/// Operator namespaces of PyTorch itself and of its standard companion libraries.
const KNOWN_OP_NAMESPACES: &[&str] = &[
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
const KNOWN_CLASS_NAMESPACES: &[&str] = &[
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
const PYTHON_MODULES: &[&str] = &[
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
const PYTHON_BUILTINS: &[&str] = &[
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
const SCRIPT_BUILTINS: &[&str] = &[
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
const DUNDER_WALKS: &[&str] = &[
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
fn judge(parts: &[&str], called: bool) -> Option<(Kind, &'static str)> {
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

/// Tokenizes `text` and judges every dotted name that starts a chain.
/// Parentheses around a bare dotted name group nothing: `(torch).from_file` and
/// `((torch.ops)).aten` name the same callee as without them. Such pairs are dropped (until
/// none is left) so the callee is resolved as the compiler resolves it. A `(` right after a
/// name, `)` or `]` is a call or a subscript, not a group, and is kept.
/// Python keywords after which `(` opens a group, not a call.
const KEYWORDS: &[&str] = &[
    "return", "if", "elif", "else", "and", "or", "not", "in", "is", "yield", "await", "lambda",
    "assert", "del", "while", "for", "with", "as", "raise", "from", "import", "global",
];

fn ungroup<'a>(mut tokens: Vec<Token<'a>>) -> Vec<Token<'a>> {
    let is_op =
        |t: Option<&Token<'_>>, s: &str| t.is_some_and(|t| t.kind == Tok::Op && t.text == s);
    for _ in 0..64 {
        let mut out: Vec<Token<'a>> = Vec::with_capacity(tokens.len());
        let mut changed = false;
        let mut i = 0;
        while i < tokens.len() {
            let open = is_op(tokens.get(i), "(");
            let grouping = open
                && !out.last().is_some_and(|p| {
                    (p.kind == Tok::Name && !KEYWORDS.contains(&p.text))
                        || (p.kind == Tok::Op && (p.text == ")" || p.text == "]"))
                });
            if grouping {
                let (parts, next) = chain_at(&tokens, i + 1);
                if !parts.is_empty() && is_op(tokens.get(next), ")") {
                    out.extend(tokens.get(i + 1..next).unwrap_or(&[]).iter().copied());
                    i = next + 1;
                    changed = true;
                    continue;
                }
            }
            if let Some(t) = tokens.get(i) {
                out.push(*t);
            }
            i += 1;
        }
        tokens = out;
        if !changed {
            break;
        }
    }
    tokens
}

fn analyze(text: &str) -> Analysis {
    let tokens = ungroup(tokenize(text));
    let mut out = Analysis::default();
    let mut seen: BTreeMap<String, ()> = BTreeMap::new();
    let mut calls: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut i = 0;
    while let Some(t) = tokens.get(i) {
        if t.kind != Tok::Name {
            i += 1;
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| tokens.get(p));
        // `x.name` continues an expression (a method or attribute of something else).
        if prev.is_some_and(|p| p.kind == Tok::Op && p.text == ".") {
            i += 1;
            continue;
        }
        // `import a.b` / `from a.b import c`.
        if matches!(t.text, "import" | "from")
            && prev.is_none_or(|p| p.kind == Tok::Newline || (p.kind == Tok::Op && p.text == ";"))
        {
            let (parts, next) = chain_at(&tokens, i + 1);
            if let Some(&m) = parts.first() {
                if PYTHON_MODULES.contains(&m) {
                    let chain = parts.join(".");
                    if seen.insert(format!("import {chain}"), ()).is_none() {
                        out.findings.push(Finding {
                            kind: Kind::Dangerous,
                            chain,
                            what: "imports a Python module for processes, files or the interpreter",
                            offset: t.start,
                        });
                    }
                }
            }
            i = next.max(i + 1);
            continue;
        }
        let defines =
            prev.is_some_and(|p| p.kind == Tok::Name && matches!(p.text, "def" | "class"));
        let (parts, next) = chain_at(&tokens, i);
        let called = tokens
            .get(next)
            .is_some_and(|n| n.kind == Tok::Op && n.text == "(");
        if !defines {
            let chain = parts.join(".");
            let verdict = judge(&parts, called);
            if let Some((kind, what)) = verdict {
                if seen.insert(chain.clone(), ()).is_none() {
                    out.findings.push(Finding {
                        kind,
                        chain: chain.clone(),
                        what,
                        offset: t.start,
                    });
                }
            }
            let listed = parts.len() > 1
                || PYTHON_BUILTINS.contains(&chain.as_str())
                || SCRIPT_BUILTINS.contains(&chain.as_str());
            if called && listed {
                let v = match verdict {
                    Some((Kind::Dangerous, _)) => "dangerous",
                    Some((Kind::Custom, _)) => "unknown",
                    None => "safe",
                };
                calls.entry(chain).or_insert(v);
            }
        }
        i = next.max(i + 1);
    }
    out.calls = calls
        .into_iter()
        .map(|(chain, verdict)| {
            let (module, name) = split_chain(&chain);
            ImportRecord {
                module,
                name,
                verdict,
            }
        })
        .collect();
    out
}

/// The dotted name starting at token `i` and the index of the token after it.
fn chain_at<'a>(tokens: &[Token<'a>], mut i: usize) -> (Vec<&'a str>, usize) {
    let mut parts = Vec::new();
    while let Some(t) = tokens.get(i) {
        if t.kind != Tok::Name {
            break;
        }
        parts.push(t.text);
        i += 1;
        let dot = tokens
            .get(i)
            .is_some_and(|d| d.kind == Tok::Op && d.text == ".");
        let name_follows = tokens.get(i + 1).is_some_and(|n| n.kind == Tok::Name);
        if dot && name_follows {
            i += 1;
        } else {
            break;
        }
    }
    (parts, i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::blob::Blob;
    use crate::engine::detect::Format;
    use crate::findings::Source;
    use crate::limits::Budget;
    use crate::scanners::Outcome;
    use crate::settings::Settings;
    use std::io::Read;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/torchscript");

    /// Every `code/*.py` member of a saved TorchScript archive, scanned as the engine would.
    fn scan_archive(rel: &str) -> Outcome {
        let mut settings = Settings::defaults();
        // The inventory is kept only for a report that shows it.
        settings.show_imports = true;
        scan_archive_with(rel, &settings)
    }

    fn scan_archive_with(rel: &str, settings: &Settings) -> Outcome {
        let path = format!("{DIR}/{rel}");
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut out = Outcome::default();
        let mut code_members = 0;
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            let item = Item {
                source: Source::file(rel.to_string(), path.clone().into()).child(name.clone()),
                blob: Blob::from_vec(bytes),
                format: Format::Unknown,
                head: Vec::new(),
            };
            if !TorchScriptScanner.accepts(&item) {
                continue;
            }
            code_members += 1;
            let mut ctx = ScanCtx {
                settings,
                budget: Budget::unlimited(),
                out: &mut out,
                depth: 1,
            };
            TorchScriptScanner.scan(&item, &mut ctx).unwrap();
        }
        assert!(code_members > 0, "{rel} has no code members");
        out
    }

    fn chains(out: &Outcome) -> Vec<(&'static str, String)> {
        out.issues
            .iter()
            .map(|i| (i.rule, format!("{}.{}", i.module, i.operator)))
            .collect()
    }

    #[test]
    fn only_python_files_under_code_are_accepted() {
        assert!(is_code_member(
            "traced/code/__torch__/torch/nn/modules/conv.py"
        ));
        assert!(is_code_member("m/code/__torch__.py"));
        assert!(!is_code_member("traced/code/__torch__/conv.py.debug_pkl"));
        assert!(!is_code_member("traced/data.pkl"));
        assert!(!is_code_member("traced/extra/code.py"));
        assert!(!is_code_member("code.py"));
        assert!(!is_code_member("repo/src/code/train.py"));
    }

    #[test]
    fn traced_and_scripted_modules_are_clean() {
        for f in ["benign/traced.pt", "benign/scripted.pt"] {
            let out = scan_archive(f);
            assert!(out.issues.is_empty(), "{f}: {:?}", out.issues);
            // The inventory lists the calls, all judged safe.
            let calls: Vec<_> = out.imports.iter().flat_map(|(_, r)| r).collect();
            assert!(!calls.is_empty());
            assert!(calls.iter().all(|r| r.verdict == "safe"), "{calls:?}");
        }
    }

    #[test]
    fn the_inventory_is_kept_only_for_reports_that_show_it() {
        let mut settings = Settings::defaults();
        settings.report_format = crate::settings::ReportFormat::Console;
        settings.show_imports = false;
        assert!(
            scan_archive_with("benign/traced.pt", &settings)
                .imports
                .is_empty()
        );
        settings.report_format = crate::settings::ReportFormat::Json;
        assert!(
            !scan_archive_with("benign/traced.pt", &settings)
                .imports
                .is_empty()
        );
    }

    #[test]
    fn inventory_lists_qualified_calls_and_builtins_but_not_keywords_or_locals() {
        let a = analyze("  _0 = torch.relu\n  y = _0(x)\n  return (torch.add(y, 1), int(y))\n");
        let names: Vec<String> = a
            .calls
            .iter()
            .map(|r| format!("{}.{}", r.module, r.name))
            .collect();
        assert_eq!(names, ["builtins.int", "torch.add"]);
    }

    #[test]
    fn names_inside_strings_and_comments_are_not_calls() {
        // scripted.pt keeps "open('/etc/passwd') os.system('x') torch.from_file" as a string.
        let a =
            analyze("x = \"os.system('x')\"  # torch.load(f)\ny = '''\n__import__(\"os\")\n'''\n");
        assert!(a.findings.is_empty(), "{:?}", a.findings);
        let a = analyze("s = r'\\' + torch.from_file(p)'");
        assert!(a.findings.is_empty(), "{:?}", a.findings);
    }

    #[test]
    fn file_system_operators_scripted_by_torch_are_high() {
        let out = scan_archive("malicious/file_access.pt");
        assert_eq!(
            chains(&out),
            [
                ("torchscript.dangerous-call", "torch.from_file".to_string()),
                ("torchscript.dangerous-call", "torch.save".to_string()),
            ]
        );
        assert!(out.issues.iter().all(|i| i.severity == Severity::High));
        assert!(out.issues[0].offset.is_some());
    }

    #[test]
    fn custom_operator_namespace_is_medium() {
        let out = scan_archive("malicious/custom_op.pt");
        assert_eq!(
            chains(&out),
            [("torchscript.custom-op", "ops.fixture_ns.myop".to_string())]
        );
        assert_eq!(out.issues[0].severity, Severity::Medium);
    }

    #[test]
    fn hand_edited_import_call_is_high() {
        let out = scan_archive("malicious/edited_code.pt");
        assert_eq!(
            chains(&out),
            [(
                "torchscript.dangerous-call",
                "builtins.__import__".to_string()
            )]
        );
    }

    #[test]
    fn python_escapes_and_custom_classes_are_judged() {
        let code = "\
import os
def f(x):
  a = os.system(\"id\")
  b = subprocess.check_output([\"id\"])
  c = torch.ops.aten.from_file(\"/etc/passwd\")
  d = torch.classes.evil.Thing()
  e = torch.classes.quantized.LinearPackedParamsBase
  g = ops.prim.NumToTensor(1)
  h = ops.torchvision.nms(x, x, 0.5)
  k = torch.jit.load(\"other.pt\")
  m = self.__globals__
  n = open(\"/etc/passwd\")
  return torch.distributed.rpc.rpc_sync(\"w\", f, (x,))
";
        let a = analyze(code);
        let got: Vec<(Kind, &str)> = a
            .findings
            .iter()
            .map(|f| (f.kind, f.chain.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Kind::Dangerous, "os"),
                (Kind::Dangerous, "os.system"),
                (Kind::Dangerous, "subprocess.check_output"),
                (Kind::Dangerous, "torch.ops.aten.from_file"),
                (Kind::Custom, "torch.classes.evil.Thing"),
                (Kind::Dangerous, "torch.jit.load"),
                (Kind::Dangerous, "self.__globals__"),
                (Kind::Dangerous, "open"),
                (Kind::Dangerous, "torch.distributed.rpc.rpc_sync"),
            ]
        );
    }

    #[test]
    fn methods_and_local_definitions_are_not_mistaken_for_builtins() {
        let a = analyze("def open(self):\n  return (self.f).open(x)\n_0 = getattr(self, \"6\")\n");
        assert!(a.findings.is_empty(), "{:?}", a.findings);
    }

    #[test]
    fn unterminated_strings_and_odd_bytes_do_not_panic() {
        for s in [
            "'abc",
            "\"\"\"never closed",
            "r'\\",
            "\\",
            "x.\n.",
            "\u{ff}\u{fe}(",
            "1.e5.x(",
        ] {
            let _ = analyze(s);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        #[test]
        fn arbitrary_text_never_panics(s in "[a-z_.()'\"#\\\\\n rbf0-9]{0,80}") {
            let _ = analyze(&s);
        }
    }
}
