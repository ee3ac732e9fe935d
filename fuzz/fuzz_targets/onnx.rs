//! ONNX protobuf: the compact copy of the declared fields, then the scanner. Property: when
//! the copy can be made, it decodes to the same `ModelProto` as the input (or both fail).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::blob::Blob;
use modelscan::engine::detect::Format;
use modelscan::scanners::onnx::{proto::ModelProto, wire};
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = wire::compact(&Blob::from_vec(data.to_vec()), 100_000, 32 << 20) {
        assert!(c.bytes.len() <= data.len() + 4 * c.census.messages as usize);
        let whole = ModelProto::decode(data).ok();
        let copy = ModelProto::decode(c.bytes.as_slice()).ok();
        assert_eq!(whole, copy, "the compact copy decodes differently");
    }
    modelscan_fuzz::scan_as_checked("fuzz.onnx", data, Format::Onnx);
});
