//! Benchmarks of format detection (`engine::detect::detect`), which runs on every file and every
//! archive member: one 64 KiB head and tail per call, for each kind of content the scanner meets,
//! plus weight-like bytes that match nothing (the slowest path: every rule is tried).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use modelscan::engine::detect::{self, Format, HEAD_LEN};
use std::hint::black_box;

fn noise(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

/// A head of `HEAD_LEN` bytes starting with `prefix`, padded with weight-like bytes.
fn head(prefix: &[u8]) -> Vec<u8> {
    let mut h = prefix.to_vec();
    h.extend(noise(HEAD_LEN.saturating_sub(prefix.len()), 11));
    h
}

fn cases() -> Vec<(&'static str, &'static str, Vec<u8>, Format)> {
    let mut safetensors = br#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#.to_vec();
    let hdr = (safetensors.len() as u64).to_le_bytes();
    safetensors.splice(0..0, hdr);
    vec![
        (
            "pickle_p4",
            "model.pkl",
            head(b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x05numpy\x94"),
            Format::Pickle,
        ),
        (
            "pickle_p0",
            "model.pkl",
            head(b"cnumpy.core.multiarray\n_reconstruct\np0\n(cnumpy\nndarray\n"),
            Format::Pickle,
        ),
        (
            "torch_zip",
            "model.pt",
            head(b"PK\x03\x04\x00\x00\x08\x00"),
            Format::Zip,
        ),
        (
            "numpy",
            "a.npy",
            head(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'"),
            Format::Numpy,
        ),
        ("hdf5", "model.h5", head(b"\x89HDF\r\n\x1a\n"), Format::Hdf5),
        (
            "gguf",
            "model.gguf",
            head(b"GGUF\x03\x00\x00\x00"),
            Format::Gguf,
        ),
        (
            "safetensors",
            "model.safetensors",
            head(&safetensors),
            Format::Safetensors,
        ),
        (
            "gzip",
            "model.pkl.gz",
            head(b"\x1f\x8b\x08\x00"),
            Format::Gzip,
        ),
        (
            "json",
            "config.json",
            br#"{"architectures": ["BertModel"], "hidden_size": 768}"#.to_vec(),
            Format::Json,
        ),
    ]
}

fn bench_detect(c: &mut Criterion) {
    let tail = noise(detect::TAIL_LEN, 5);
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(1));
    for (label, name, h, want) in cases() {
        let len = 1u64 << 30;
        assert_eq!(detect::detect(name, &h, &tail, len), want, "{label}");
        g.bench_with_input(BenchmarkId::from_parameter(label), &h, |b, h| {
            b.iter(|| detect::detect(black_box(name), black_box(h), &tail, len))
        });
    }
    // Tensor-storage-like bytes without a name to go by: every content rule runs. A handful of
    // seeds, since random bytes can happen to look like something.
    let heads: Vec<Vec<u8>> = (1..=16).map(|s| noise(HEAD_LEN, s * 7919)).collect();
    g.throughput(Throughput::Elements(heads.len() as u64));
    g.bench_function("weights_no_extension_x16", |b| {
        b.iter(|| {
            for h in &heads {
                black_box(detect::detect(
                    "archive/data/0",
                    black_box(h),
                    &tail,
                    1 << 24,
                ));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_detect);
criterion_main!(benches);
