//! TensorFlow protobufs: saved_model.pb (graph, function library, op rules), a frozen GraphDef
//! and keras_metadata.pb. Property: when the compact copy can be made, it decodes to the same
//! message as the input (or both fail), for each of the three roots.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::blob::Blob;
use modelscan::engine::detect::Format;
use modelscan::scanners::protowire;
use modelscan::scanners::savedmodel::proto::{GraphDef, Kind, SavedMetadata, SavedModel};
use prost::Message;

fn same<M: Message + Default + PartialEq + std::fmt::Debug>(data: &[u8], kind: Kind) {
    if let Ok(c) = protowire::compact(&Blob::from_vec(data.to_vec()), kind, 100_000, 32 << 20) {
        let whole = M::decode(data).ok();
        let copy = M::decode(c.bytes.as_slice()).ok();
        assert_eq!(whole, copy, "the compact copy decodes differently ({kind:?})");
    }
}

fuzz_target!(|data: &[u8]| {
    same::<SavedModel>(data, Kind::SavedModel);
    same::<GraphDef>(data, Kind::Graph);
    same::<SavedMetadata>(data, Kind::SavedMetadata);
    modelscan_fuzz::scan_as_checked("saved_model.pb", data, Format::SavedModel);
    modelscan_fuzz::scan_as_checked("keras_metadata.pb", data, Format::SavedModel);
});
