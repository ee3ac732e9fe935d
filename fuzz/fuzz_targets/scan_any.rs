//! The whole scan of a byte buffer, detection included, under one of several names (the name
//! decides where content without magic bytes goes).
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
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

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    modelscan_fuzz::scan_checked(NAMES[usize::from(sel) % NAMES.len()], rest);
});
