//! UBJSON through the XGBoost scanner: the bounded UBJSON reader, then the model check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;

fuzz_target!(|data: &[u8]| {
    modelscan_fuzz::scan_as_checked("fuzz.ubj", data, Format::Ubjson);
});
