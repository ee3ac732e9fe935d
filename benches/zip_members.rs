//! Benchmarks of zip handling, on archives built here with stored (uncompressed) members as
//! PyTorch writes them:
//! - the central-directory walk alone (`zipdir::read_directory`) over 5,000 members;
//! - reading every member's bytes through `Blob` windows (positional reads of the file);
//! - the whole engine (`engine::scan_file`: detection, hashing, CRC, scanners) on the same
//!   archive, and on a PyTorch-shaped checkpoint whose tensor storages must not be read (its
//!   time should not depend on the storage size).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use modelscan::engine::blob::Blob;
use modelscan::engine::{self, zipdir};
use modelscan::findings::Source;
use modelscan::settings::Settings;
use std::hint::black_box;
use std::io::Write;
use std::path::Path;

const MEMBERS: usize = 5_000;
const MEMBER_BYTES: usize = 4 << 10;

fn stored_zip(path: &Path, members: impl Iterator<Item = (String, Vec<u8>)>) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = zip::ZipWriter::new(std::io::BufWriter::new(f));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    for (name, data) in members {
        w.start_file(name, opts).unwrap();
        w.write_all(&data).unwrap();
    }
    w.finish().unwrap().flush().unwrap();
}

/// A small benign protocol 2 pickle: `{"step": i, "name": "run-i"}`.
fn small_pickle(i: usize) -> Vec<u8> {
    let mut p = b"\x80\x02}q\x00(X\x04\x00\x00\x00stepq\x01J".to_vec();
    p.extend_from_slice(&(i as i32).to_le_bytes());
    let name = format!("run-{i}");
    p.extend_from_slice(b"X\x04\x00\x00\x00nameq\x02X");
    p.extend_from_slice(&(name.len() as u32).to_le_bytes());
    p.extend_from_slice(name.as_bytes());
    p.extend_from_slice(b"q\x03u.");
    p
}

/// Weight-like bytes that sniff as nothing (the first byte is no pickle opcode: random bytes can
/// otherwise pass the protocol 0 heuristic, see RESULTS.md).
fn weights(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect();
    if let Some(b) = v.first_mut() {
        *b = 0xff;
    }
    v
}

fn many_members(path: &Path) {
    stored_zip(
        path,
        (0..MEMBERS).map(|i| {
            if i % 10 == 0 {
                (format!("run/state_{i}.pkl"), small_pickle(i))
            } else {
                (format!("run/blob_{i}.raw"), weights(MEMBER_BYTES, i as u32))
            }
        }),
    );
}

/// `torch.save(state_dict)` layout: `archive/data.pkl`, `archive/version`, one stored member per
/// tensor storage.
fn torch_checkpoint(path: &Path, storages: usize, storage_bytes: usize) {
    let members = [
        ("archive/data.pkl".to_string(), small_pickle(0)),
        ("archive/byteorder".to_string(), b"little".to_vec()),
    ]
    .into_iter()
    .chain((0..storages).map(move |i| {
        (
            format!("archive/data/{i}"),
            weights(storage_bytes, i as u32 + 7),
        )
    }))
    .chain([("archive/version".to_string(), b"3\n".to_vec())]);
    stored_zip(path, members);
}

fn source(path: &Path) -> Source {
    Source::file(
        path.file_name().unwrap().to_string_lossy().into_owned(),
        path.to_path_buf(),
    )
}

fn bench_many_members(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.zip");
    many_members(&path);
    let blob = Blob::from_file(std::fs::File::open(&path).unwrap()).unwrap();
    let mut g = c.benchmark_group("zip_5000_stored_members");
    g.throughput(Throughput::Elements(MEMBERS as u64));
    g.sample_size(20);
    g.bench_function("central_directory", |b| {
        b.iter(|| {
            let d = zipdir::read_directory(black_box(&blob), 100_000).unwrap();
            assert_eq!(d.entries.len(), MEMBERS);
        })
    });
    let entries = zipdir::read_directory(&blob, 100_000).unwrap().entries;
    g.bench_function("read_every_member", |b| {
        let mut buf = vec![0u8; MEMBER_BYTES];
        b.iter(|| {
            let mut total = 0usize;
            for e in &entries {
                let w = blob.slice(e.data_offset, e.compressed_size);
                total += w.read_at(0, &mut buf).unwrap();
            }
            black_box(total)
        })
    });
    let settings = Settings::defaults();
    let src = source(&path);
    g.bench_function("engine_scan_file", |b| {
        b.iter(|| {
            let out = engine::scan_file(black_box(&src), &settings);
            assert!(out.errors.is_empty(), "{:?}", out.errors.first());
        })
    });
    g.finish();
}

fn bench_torch_checkpoint(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::defaults();
    let mut g = c.benchmark_group("torch_checkpoint_200_storages");
    g.sample_size(20);
    for storage_kib in [16usize, 1024] {
        let path = dir.path().join(format!("ckpt_{storage_kib}k.pt"));
        torch_checkpoint(&path, 200, storage_kib << 10);
        let src = source(&path);
        g.bench_with_input(
            BenchmarkId::new("engine_scan_file", format!("{storage_kib}KiB_each")),
            &src,
            |b, src| {
                b.iter(|| {
                    let out = engine::scan_file(black_box(src), &settings);
                    assert!(out.errors.is_empty(), "{:?}", out.errors.first());
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_many_members, bench_torch_checkpoint);
criterion_main!(benches);
