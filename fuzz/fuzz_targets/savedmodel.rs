//! TensorFlow SavedModel protobuf (saved_model.pb): graph, function library, op rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;

fuzz_target!(|data: &[u8]| {
    modelscan_fuzz::scan_as_checked("saved_model.pb", data, Format::SavedModel);
});
