//! Benchmarks of the pickle VM walking realistic streams, assembled here opcode by opcode exactly
//! as CPython's pickler writes them (no Python needed):
//! - a float64 numpy array pickled with protocol 4 (`numpy._core.multiarray._reconstruct`,
//!   raw data as one BINBYTES) and protocol 2 (data as a latin-1 BINUNICODE passed to
//!   `_codecs.encode`), read from memory (payload streamed through the buffer) and from a file
//!   through `Input::seekable` (payload seeked over, as the scanner reads files);
//! - a pickle made of many small opcodes (a 200,000-entry vocabulary dict and a list of floats),
//!   the shape of tokenizers and scikit-learn feature names, where per-opcode cost dominates.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use modelscan::engine::blob::Blob;
use modelscan::limits::Budget;
use modelscan::scanners::pickle::vm::{Input, StreamKind, Vm, VmOutcome};
use modelscan::settings::Settings;
use std::hint::black_box;
use std::io::Read;

/// Size of the array data in the large pickles (kept in memory while benchmarking).
const ARRAY_BYTES: usize = 64 << 20;

fn short_unicode(p: &mut Vec<u8>, s: &str) {
    p.push(0x8c);
    p.push(s.len() as u8);
    p.extend_from_slice(s.as_bytes());
    p.push(0x94); // MEMOIZE
}

/// Deterministic bytes that look like float64 weights; all below 0x80 so that the protocol 2
/// form (latin-1 text as UTF-8) has exactly the same length.
fn array_data(n: usize) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0x7f) as u8
        })
        .collect()
}

/// `pickle.dumps(np.ndarray(float64, n/8), protocol=4)`.
fn numpy_protocol4(data: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 4];
    // The header frame (FRAME + length), as the framer writes it before a large payload.
    let mut head = Vec::new();
    short_unicode(&mut head, "numpy._core.multiarray");
    short_unicode(&mut head, "_reconstruct");
    head.extend_from_slice(b"\x93\x94");
    short_unicode(&mut head, "numpy");
    short_unicode(&mut head, "ndarray");
    head.extend_from_slice(b"\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01");
    head.push(b'J');
    head.extend_from_slice(&((data.len() / 8) as i32).to_le_bytes());
    head.extend_from_slice(b"\x85\x94h\x03");
    short_unicode(&mut head, "dtype");
    head.extend_from_slice(b"\x93\x94");
    short_unicode(&mut head, "f8");
    head.extend_from_slice(b"\x89\x88\x87\x94R\x94(K\x03");
    short_unicode(&mut head, "<");
    head.extend_from_slice(b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89");
    p.push(0x95);
    p.extend_from_slice(&(head.len() as u64).to_le_bytes());
    p.extend_from_slice(&head);
    // The array bytes outside any frame: BINBYTES.
    p.push(b'B');
    p.extend_from_slice(&(data.len() as u32).to_le_bytes());
    p.extend_from_slice(data);
    p.extend_from_slice(b"\x94t\x94b.");
    p
}

/// `pickle.dumps(np.ndarray(float64, n/8), protocol=2)`.
fn numpy_protocol2(data: &[u8]) -> Vec<u8> {
    let mut p = b"\x80\x02cnumpy._core.multiarray\n_reconstruct\nq\x00cnumpy\nndarray\nq\x01K\x00\x85q\x02c_codecs\nencode\nq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07\x87q\x08Rq\t(K\x01".to_vec();
    p.push(b'J');
    p.extend_from_slice(&((data.len() / 8) as i32).to_le_bytes());
    p.extend_from_slice(b"\x85q\ncnumpy\ndtype\nq\x0bX\x02\x00\x00\x00f8q\x0c\x89\x88\x87q\rRq\x0e(K\x03X\x01\x00\x00\x00<q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x10b\x89h\x03");
    p.push(b'X');
    p.extend_from_slice(&(data.len() as u32).to_le_bytes());
    p.extend_from_slice(data);
    p.extend_from_slice(b"q\x11h\x05\x86q\x12Rq\x13tq\x14b.");
    p
}

/// A protocol 4 pickle of `{"tok0": 0, ...}` (200,000 entries, SETITEMS batches of 1,000 as the
/// pickler writes them) followed by a list of 100,000 floats: about 1.1 million opcodes.
fn many_small_opcodes() -> Vec<u8> {
    let mut p = vec![0x80, 4, b'}', 0x94];
    let entries = 200_000u32;
    for batch in 0..entries / 1000 {
        p.push(b'(');
        for i in batch * 1000..(batch + 1) * 1000 {
            short_unicode(&mut p, &format!("tok{i}"));
            p.push(b'J');
            p.extend_from_slice(&(i as i32).to_le_bytes());
        }
        p.push(b'u'); // SETITEMS
    }
    // A tuple (dict, list of floats).
    p.extend_from_slice(b"]\x94");
    for batch in 0..100 {
        p.push(b'(');
        for i in 0..1000 {
            p.push(b'G');
            p.extend_from_slice(&f64::from(batch * 1000 + i).to_be_bytes());
        }
        p.push(b'e'); // APPENDS
    }
    p.extend_from_slice(b"\x86\x94.");
    p
}

fn walk<R: Read>(settings: &Settings, mut input: Input<R>) -> VmOutcome {
    let mut budget = Budget::unlimited();
    let out = Vm::new(settings, &mut budget).run(&mut input, StreamKind::Multiple);
    assert!(out.error.is_none(), "{:?}", out.error);
    out
}

fn bench_large_arrays(c: &mut Criterion) {
    let settings = Settings::defaults();
    let data = array_data(ARRAY_BYTES);
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("numpy_array_pickle");
    g.sample_size(10);
    for (name, bytes) in [
        ("protocol4", numpy_protocol4(&data)),
        ("protocol2", numpy_protocol2(&data)),
    ] {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("memory_stream", name), &bytes, |b, p| {
            b.iter(|| walk(&settings, Input::new(black_box(&p[..]))))
        });
        let path = dir.path().join(format!("{name}.pkl"));
        std::fs::write(&path, &bytes).unwrap();
        let blob = Blob::from_file(std::fs::File::open(&path).unwrap()).unwrap();
        g.bench_with_input(BenchmarkId::new("file_seekable", name), &blob, |b, blob| {
            b.iter(|| walk(&settings, Input::seekable(blob.reader()).unwrap()))
        });
    }
    g.finish();
}

fn bench_small_opcodes(c: &mut Criterion) {
    let settings = Settings::defaults();
    let bytes = many_small_opcodes();
    let mut g = c.benchmark_group("many_small_opcodes");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(20);
    g.bench_function("vocab_dict_and_float_list", |b| {
        b.iter(|| walk(&settings, Input::new(black_box(&bytes[..]))))
    });
    g.finish();
}

criterion_group!(benches, bench_large_arrays, bench_small_opcodes);
criterion_main!(benches);
