//! GGUF: header, metadata key/values, tensor infos, chat templates in the metadata.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;

fuzz_target!(|data: &[u8]| {
    modelscan_fuzz::scan_as_checked("fuzz.gguf", data, Format::Gguf);
});
