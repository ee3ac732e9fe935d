//! The whole scan of small model files, in memory (no system calls): what each file of a
//! folder of many small pickles costs beyond opening and reading it (`benches/compare.sh`
//! times the same against the read floor). The inputs are the benign pickle fixtures made by
//! the real libraries (`fixtures/`, scikit-learn, numpy, torch, pandas, joblib ...): every one
//! of at most 64 KiB, scanned as `engine::scan_bytes` scans a file read whole.
//!
//! `cargo bench --bench small_files`; the figure to watch is the time per element (one file).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelscan::settings::Settings;
use std::hint::black_box;
use std::path::{Path, PathBuf};

/// Largest fixture taken: the size a folder of small model files is made of.
const MAX_BYTES: u64 = 64 << 10;

fn benign_pickles(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            benign_pickles(&p, out);
        } else if p.extension().is_some_and(|x| x == "pkl")
            && p.components().any(|c| c.as_os_str() == "benign")
            && e.metadata().is_ok_and(|m| m.len() <= MAX_BYTES)
        {
            out.push(p);
        }
    }
}

fn bench_small_files(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut paths = Vec::new();
    benign_pickles(&root, &mut paths);
    paths.sort();
    assert!(
        paths.len() > 50,
        "only {} benign fixture pickles",
        paths.len()
    );
    let files: Vec<(String, Vec<u8>)> = paths
        .iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(p).unwrap())
        })
        .collect();
    // As the command line scans them: no hashes unless asked for.
    let mut settings = Settings::defaults();
    settings.hashes = false;
    let mut g = c.benchmark_group("small_files");
    g.throughput(Throughput::Elements(files.len() as u64));
    g.bench_function("benign_fixture_pickles", |b| {
        b.iter(|| {
            let mut issues = 0;
            for (name, bytes) in &files {
                issues += modelscan::engine::scan_bytes(name, black_box(bytes), &settings)
                    .issues
                    .len();
            }
            issues
        })
    });
    g.finish();
}

criterion_group!(benches, bench_small_files);
criterion_main!(benches);
