//! The zip central-directory walker, then the whole zip expansion (members, CRCs, anomalies).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::blob::Blob;
use modelscan::engine::detect::Format;
use modelscan::engine::zipdir;

fuzz_target!(|data: &[u8]| {
    let blob = Blob::from_vec(data.to_vec());
    if let Ok(dir) = zipdir::read_directory(&blob, 2_000) {
        assert!(dir.entries.len() <= 2_000);
        assert!(dir.prefix_len <= data.len() as u64);
        for e in &dir.entries {
            // The walker only lists entries whose local header it found.
            assert!(
                e.local_offset + 30 <= data.len() as u64,
                "local header past the end"
            );
        }
    }
    modelscan_fuzz::scan_as_checked("fuzz.zip", data, Format::Zip);
});
