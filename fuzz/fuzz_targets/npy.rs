//! The `.npy` header parser, then the numpy scanner (object arrays hand their pickle to the VM).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;
use modelscan::scanners::pickle::numpy;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = numpy::parse_header(data) {
        assert!(
            h.data_offset <= data.len() as u64,
            "data offset past the header bytes"
        );
    }
    modelscan_fuzz::scan_as_checked("fuzz.npy", data, Format::Numpy);
});
