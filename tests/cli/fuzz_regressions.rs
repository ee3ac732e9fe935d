//! Replays every input kept in `fuzz/regressions/<target>/` (crashes the fuzzers found, once
//! minimised) the way its fuzz target feeds it, so a fixed crash stays fixed without
//! `cargo fuzz`. Each must scan without a panic, within the budget, and with every offset on
//! the outer item inside the input.

use modelscan::engine::detect::Format;
use modelscan::engine::{scan_bytes, scan_bytes_as};
use modelscan::findings::Outcome;
use modelscan::limits::Budget;
use modelscan::scanners::pickle::vm::{Input, StreamKind, Vm};
use modelscan::settings::Settings;
use std::path::Path;
use std::time::{Duration, Instant};

/// The fuzz targets' limits (`fuzz/src/lib.rs`).
fn settings() -> Settings {
    let mut s = Settings::defaults();
    let l = &mut s.limits;
    l.max_seconds_per_file = 2;
    l.max_pickle_opcodes = 200_000;
    l.max_pickle_stack = 100_000;
    l.max_pickle_memo = 100_000;
    l.max_kept_operand_bytes = 1 << 20;
    l.max_decompressed_bytes = 32 << 20;
    l.bomb_floor_bytes = 1 << 20;
    l.max_in_memory_bytes = 32 << 20;
    l.max_archive_members = 2_000;
    l.max_archive_depth = 6;
    l.max_nesting_depth = 64;
    s.jobs = 1;
    s
}

fn check(out: &Outcome, len: usize, what: &str) {
    for i in &out.issues {
        if let (true, Some(off)) = (i.source.members.is_empty(), i.offset) {
            assert!(
                off <= len as u64,
                "{what}: issue {} at {off} past the end",
                i.rule
            );
        }
    }
}

const CONTAINERS: &[(Format, &str)] = &[
    (Format::Tar, "fuzz.tar"),
    (Format::Gzip, "fuzz.pkl.gz"),
    (Format::Bzip2, "fuzz.pkl.bz2"),
    (Format::Xz, "fuzz.pkl.xz"),
    (Format::LzmaAlone, "fuzz.joblib.lzma"),
    (Format::Zstd, "fuzz.pkl.zst"),
    (Format::Zlib, "fuzz.joblib.z"),
    (Format::SevenZip, "fuzz.7z"),
];

const ANY_NAMES: &[&str] = &[
    "model.bin",
    "model.pkl",
    "data",
    "model.onnx",
    "saved_model.pb",
    "config.json",
    "model.h5",
    "model.gguf",
    "model.safetensors",
    "arr.npy",
    "model.pt",
    "chat_template.jinja",
];

/// Feed `data` as the fuzz target `target` does.
fn replay(target: &str, data: &[u8], what: &str) {
    let s = settings();
    let as_format = |name: &str, f: Format| {
        let out = scan_bytes_as(name, data, f, &s);
        check(&out, data.len(), what);
    };
    match target {
        "pickle_vm" => {
            for kind in [StreamKind::Multiple, StreamKind::Single] {
                let mut budget = Budget::new(&s.limits);
                let o = Vm::new(&s, &mut budget).run(&mut Input::new(data), kind);
                assert!(
                    o.bytes_read <= data.len() as u64,
                    "{what}: read past the end"
                );
            }
            as_format("fuzz.pkl", Format::Pickle);
        }
        "zipdir" => as_format("fuzz.zip", Format::Zip),
        "npy" => as_format("fuzz.npy", Format::Numpy),
        "hdf5_keras" => as_format("fuzz.h5", Format::Hdf5),
        "keras_config" => as_format("config.json", Format::Json),
        "onnx" => as_format("fuzz.onnx", Format::Onnx),
        "savedmodel" => as_format("saved_model.pb", Format::SavedModel),
        "gguf" => as_format("fuzz.gguf", Format::Gguf),
        "safetensors" => as_format("fuzz.safetensors", Format::Safetensors),
        "template" => as_format("chat_template.jinja", Format::Unknown),
        "marshal" => {
            if let Ok((v, _)) = modelscan::scanners::marshal::loads(data, 64) {
                let _ = modelscan::scanners::marshal::code_facts(&v);
            }
        }
        "containers" => {
            if let Some((&sel, rest)) = data.split_first() {
                let (f, name) = CONTAINERS[usize::from(sel) % CONTAINERS.len()];
                let out = scan_bytes_as(name, rest, f, &s);
                check(&out, rest.len(), what);
            }
        }
        "scan_any" => {
            if let Some((&sel, rest)) = data.split_first() {
                let out = scan_bytes(ANY_NAMES[usize::from(sel) % ANY_NAMES.len()], rest, &s);
                check(&out, rest.len(), what);
            }
        }
        other => panic!("fuzz/regressions/{other}: no such fuzz target"),
    }
}

#[test]
fn every_fuzz_regression_input_scans_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut n = 0;
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return;
    };
    let mut dirs: Vec<_> = dirs.flatten().map(|d| d.path()).collect();
    dirs.sort();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let what = format!("{target}/{}", f.file_name().unwrap().to_string_lossy());
            let start = Instant::now();
            replay(&target, &data, &what);
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{what}: took {:?}",
                start.elapsed()
            );
            n += 1;
        }
    }
    eprintln!("replayed {n} fuzz regression inputs");
}
