//! HDF5 files through the Keras H5 scanner (model_config attribute, external links/storage).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;

fuzz_target!(|data: &[u8]| {
    modelscan_fuzz::scan_as_checked("fuzz.h5", data, Format::Hdf5);
});
