//! The TorchScript code scanner. `torch.jit.save` writes a zip whose `code/` folder holds the
//! module's methods as Python-subset source (`code/__torch__/....py`); `torch.jit.load`
//! compiles that text and runs it when the module is called (and `__setstate__` while loading).
//! The engine expands the zip and hands each member over as its own item; this scanner reads
//! the `code/**.py` members. The pickles of the archive (`data.pkl`, `constants.pkl`,
//! `*.debug_pkl`) go to the pickle scanner, not here.
//!
//! The text is read like the TorchScript compiler reads it: `lexer.rs` (tokens and logical
//! lines: strings, comments and continuations never hide or fake a name), `parser.rs`
//! (expressions and statements, tolerant of what it does not understand), `analysis.rs`
//! (every callee and name reference resolved to a dotted name through parentheses, local
//! aliases, `getattr` and attribute chains; unresolved callees judged conservatively) and
//! `rules.rs` (the deny tables: file operators, Python escapes, custom namespaces).

pub mod analysis;
pub mod lexer;
pub mod parser;
pub mod rules;

use crate::error::ScanError;
use crate::findings::Severity;
use crate::limits::LimitHit;
use crate::scanners::{IssueBuilder, Item, ScanCtx, Scanner};
use analysis::{analyze, split_chain};
use rules::Kind;

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
                    .description(match &f.spelled {
                        Some(s) => {
                            format!("TorchScript code {}: {} (written `{s}`)", f.what, f.chain)
                        }
                        None => format!("TorchScript code {}: {}", f.what, f.chain),
                    })
                    .offset(f.offset as u64),
            );
        }
        ctx.imports(&item.source, report.calls);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::blob::Blob;
    use crate::engine::detect::Format;
    use crate::findings::Outcome;
    use crate::findings::Source;
    use crate::limits::Budget;
    use crate::scanners::torchscript::rules::Kind;
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
            [
                (
                    "torchscript.dangerous-call",
                    "builtins.__import__".to_string()
                ),
                ("torchscript.dangerous-call", "os.system".to_string()),
            ]
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
    fn callees_hidden_behind_parentheses_aliases_and_getattr_are_resolved() {
        // Each archive was loaded by torch.jit.load and ran its payload.
        for (f, chain) in [
            ("paren_chain_ops_aten_from_file", "ops.aten.from_file"),
            ("alias_module_from_file", "torch.from_file"),
            ("alias_chain_ops_save", "ops.aten.save"),
            ("getattr_nested_from_file", "ops.aten.from_file"),
            ("getattr_alias_from_file", "torch.from_file"),
        ] {
            let out = scan_archive(&format!("malicious/{f}.pt"));
            assert_eq!(
                chains(&out),
                [("torchscript.dangerous-call", chain.to_string())],
                "{f}"
            );
            assert_eq!(out.issues[0].severity, Severity::High, "{f}");
        }
    }

    fn found(code: &str) -> Vec<(Kind, String)> {
        analyze(code)
            .findings
            .into_iter()
            .map(|f| (f.kind, f.chain))
            .collect()
    }

    #[test]
    fn aliases_are_followed_through_every_assignment_of_a_function() {
        let code = "\
def f(self, x: Tensor) -> Tensor:
  if bool(x):
    a = torch
  else:
    a = self
  b = (a, 1)
  c, d = b
  e = b[0] if True else c
  for i in range(2):
    g = e
  return g.save(x, \"p\")
def h(self):
  t = torch
  return self.save(x)
";
        assert_eq!(
            found(code),
            [(Kind::Dangerous, "torch.save".to_string())],
            "a method named save on self (compiled code) is not a finding"
        );
    }

    #[test]
    fn aliases_do_not_leak_between_functions() {
        let code =
            "def f(self):\n  t = torch\n  return t\ndef g(self, t: Tensor):\n  return t.add(1)\n";
        assert!(found(code).is_empty(), "{:?}", found(code));
    }

    #[test]
    fn getattr_and_import_with_literal_names_resolve() {
        assert_eq!(
            found("x = getattr(getattr(ops, 'aten'), 'load')(p)\n"),
            [(Kind::Dangerous, "ops.aten.load".to_string())]
        );
        assert_eq!(
            found("x = __import__('os.path').system('id')\n")
                .into_iter()
                .map(|(_, c)| c)
                .collect::<Vec<_>>(),
            ["__import__", "os.system"]
        );
        // A name that is not a literal on a torch namespace cannot be resolved.
        assert_eq!(
            found("def f(self, n: str):\n  return getattr(torch, n)(p)\n")[0],
            (Kind::Dangerous, "torch.?".to_string())
        );
    }

    #[test]
    fn callees_that_do_not_resolve_are_judged_conservatively() {
        // An attribute named like a file operation on a value that was not followed.
        assert_eq!(
            found("def f(self):\n  for m in self.mods:\n    m.from_file(p)\n"),
            [(Kind::Dangerous, "m.from_file".to_string())]
        );
        // A name bound by nothing the parser read (the compiler would reject it).
        assert_eq!(
            found("def f(self):\n  return mystery.save(x, p)\n"),
            [(Kind::Dangerous, "mystery.save".to_string())]
        );
        // A call of something that is not a name at all.
        assert_eq!(
            found("def f(self, x: Tensor):\n  return self.fns[0](x)\n"),
            [(Kind::Custom, "self.fns[0]".to_string())]
        );
        // Ordinary methods on unknown values stay quiet.
        assert!(
            found("def f(self, x: Tensor):\n  y = torch.add(x, 1)\n  return y.size(0)\n")
                .is_empty()
        );
    }

    #[test]
    fn one_line_bodies_and_semicolons_are_statements_of_the_function() {
        assert_eq!(
            found("def f(self): t = torch; return t.from_file(p)\n"),
            [(Kind::Dangerous, "torch.from_file".to_string())]
        );
        assert_eq!(
            found("def f(self, x: bool):\n  if x: a = ops.aten\n  return a.save(x, p)\n"),
            [(Kind::Dangerous, "ops.aten.save".to_string())]
        );
    }

    #[test]
    fn statements_nested_past_the_parser_limit_are_scanned_flat() {
        let code = format!(
            "x = {}torch.save(y, p){}\n",
            "(".repeat(300),
            ")".repeat(300)
        );
        assert_eq!(found(&code), [(Kind::Dangerous, "torch.save".to_string())]);
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
