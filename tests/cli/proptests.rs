//! Property tests of the scanner against hostile and random input.
//!
//! - The pickle VM against Python: every pickle in `fixtures/pickle/proptest/` (random nested
//!   plain data, protocols 0-5, made by `fixtures/gen/proptest_pickles.py`) scans with no
//!   finding and no error, and the VM sees the top value Python pickled (type and length,
//!   from `expected.json`).
//! - Random mutations (bit flips, inserted, deleted and truncated bytes) of every fixture give
//!   a result (findings or errors, or a clean scan) without a panic and within the budget. The
//!   default run tries 500 mutations; `mutations_of_fixtures_full` (ignored, run it with
//!   `cargo test --release --test cli mutations_of_fixtures_full -- --ignored`) tries 10,000.

use modelscan::engine::scan_bytes;
use modelscan::limits::Budget;
use modelscan::scanners::pickle::vm::{Input, StreamKind, Vm};
use modelscan::settings::Settings;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

// ---- the VM against Python's view of the same pickles ----------------------------------

/// What the VM's summary of a top value means in Python's terms: (type, len).
fn python_view(kind: &str, len: Option<usize>) -> (String, Option<usize>) {
    match kind {
        // Before protocol 4, sets and frozensets are pickled as calls on a list.
        "call builtins.set" => ("set".into(), len),
        "call builtins.frozenset" => ("frozenset".into(), len),
        // Before protocol 3, bytes are `_codecs.encode(str, "latin1")`, or `bytes()` if empty.
        "call _codecs.encode" => ("bytes".into(), len),
        "call builtins.bytes" => ("bytes".into(), Some(len.unwrap_or(0))),
        other => (other.to_string(), len),
    }
}

#[test]
fn random_plain_data_pickles_match_what_python_pickled() {
    let dir = fixtures_dir().join("pickle/proptest");
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert!(expected.len() >= 300);
    let settings = Settings::defaults();
    for (name, want) in expected {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let out = scan_bytes(name, &bytes, &settings);
        assert!(out.issues.is_empty(), "{name}: {:#?}", out.issues);
        assert!(out.errors.is_empty(), "{name}: {:#?}", out.errors);
        assert_eq!(out.scanned.len(), 1, "{name} was not scanned");

        let mut budget = Budget::unlimited();
        let o =
            Vm::new(&settings, &mut budget).run(&mut Input::new(&bytes[..]), StreamKind::Multiple);
        assert_eq!(o.error, None, "{name}");
        assert_eq!(o.pickles, 1, "{name}");
        assert_eq!(o.bytes_read, bytes.len() as u64, "{name}");
        let top = o.tops.first().unwrap();
        let (ty, len) = python_view(&top.kind, top.len);
        let want_ty = want["type"].as_str().unwrap();
        let want_len = want["len"].as_u64().map(|n| n as usize);
        // FROZENSET (protocol 4+) builds a set like EMPTY_SET does.
        let same_type = ty == want_ty || (want_ty == "frozenset" && ty == "set");
        assert!(
            same_type,
            "{name}: VM sees {} ({ty}), Python pickled {want_ty}",
            top.kind
        );
        assert_eq!(len, want_len, "{name}: length of the {want_ty}");
    }
}

// ---- mutations of every fixture --------------------------------------------------------

/// Every fixture (generator scripts and docs aside), with its path relative to `fixtures/`.
static FIXTURES: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(|| {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "gen") {
                    continue;
                }
                walk(&p, root, out);
            } else if p.is_file() {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                if rel.ends_with(".md") || rel.ends_with(".jsonl") || rel.ends_with("expected.json")
                {
                    continue;
                }
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let root = fixtures_dir();
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
});

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, b)| Mutation::Insert(at, b)),
        2 => (any::<usize>(), 1usize..64).prop_map(|(at, n)| Mutation::Delete(at, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(data: &mut Vec<u8>, m: &Mutation) {
    let len = data.len();
    match m {
        Mutation::Flip(at, mask) if len > 0 => data[at % len] ^= mask,
        Mutation::Insert(at, b) => {
            let at = at % (len + 1);
            data.splice(at..at, b.iter().copied());
        }
        Mutation::Delete(at, n) if len > 0 => {
            let at = at % len;
            data.drain(at..(at + n).min(len));
        }
        Mutation::Truncate(at) => data.truncate(at % (len + 1)),
        _ => {}
    }
}

/// Limits that keep one scan of a mutated fixture within about two seconds.
fn budget_settings() -> Settings {
    let mut s = Settings::defaults();
    s.limits.max_seconds_per_file = 2;
    s.jobs = 1;
    s
}

fn run_mutations(cases: u32) {
    let settings = budget_settings();
    let n = FIXTURES.len();
    assert!(n > 100, "fixtures not found");
    let strategy = (0..n, proptest::collection::vec(mutation(), 1..4));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let slowest = std::cell::Cell::new(Duration::ZERO);
    let result = runner.run(&strategy, |(which, muts)| {
        let (name, bytes) = &FIXTURES[which];
        let mut data = bytes.clone();
        for m in &muts {
            apply(&mut data, m);
        }
        let start = Instant::now();
        let out = scan_bytes(name, &data, &settings);
        let took = start.elapsed();
        slowest.set(slowest.get().max(took));
        prop_assert!(took < Duration::from_secs(5), "{name}: {took:?}");
        for i in &out.issues {
            if let (true, Some(off)) = (i.source.members.is_empty(), i.offset) {
                prop_assert!(
                    off <= data.len() as u64,
                    "{name}: issue {} at {off}",
                    i.rule
                );
            }
        }
        for e in &out.errors {
            prop_assert!(e.category != modelscan::findings::ErrorCategory::InternalError);
        }
        Ok(())
    });
    eprintln!(
        "{cases} mutations of {n} fixtures; slowest scan {:?}",
        slowest.get()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn mutations_of_fixtures_never_panic_or_hang() {
    run_mutations(500);
}

#[test]
#[ignore = "10,000 mutations (a few seconds in release); run with --ignored"]
fn mutations_of_fixtures_full() {
    run_mutations(10_000);
}
