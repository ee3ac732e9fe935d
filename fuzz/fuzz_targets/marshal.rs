//! The marshal reader (Python code objects in Keras Lambda layers and dill pickles), with the
//! facts the rules read from what it decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::scanners::marshal;

fuzz_target!(|data: &[u8]| {
    if let Ok((value, _layout)) = marshal::loads(data, 64) {
        let _ = marshal::code_facts(&value);
    }
});
