//! Keras JSON configs (config.json of a .keras zip, model.to_json()), Lambda code included.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;

fuzz_target!(|data: &[u8]| {
    modelscan_fuzz::scan_as_checked("config.json", data, Format::Json);
});
