//! ONNX protobuf: the wire census, then the scanner.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;
use modelscan::scanners::onnx::wire;

fuzz_target!(|data: &[u8]| {
    let _ = wire::census(data, 100_000);
    modelscan_fuzz::scan_as_checked("fuzz.onnx", data, Format::Onnx);
});
