//! safetensors: header length, JSON header, tensor layout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;

fuzz_target!(|data: &[u8]| {
    modelscan_fuzz::scan_as_checked("fuzz.safetensors", data, Format::Safetensors);
});
