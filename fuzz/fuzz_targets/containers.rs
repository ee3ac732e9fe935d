//! Tar, 7z and the single-stream decompressors (gzip, bz2, xz, lzma, zstd, zlib, joblib's
//! z-files), chosen by the
//! first byte so that one corpus reaches all of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;

const KINDS: &[(Format, &str)] = &[
    (Format::Tar, "fuzz.tar"),
    (Format::Gzip, "fuzz.pkl.gz"),
    (Format::Bzip2, "fuzz.pkl.bz2"),
    (Format::Xz, "fuzz.pkl.xz"),
    (Format::LzmaAlone, "fuzz.joblib.lzma"),
    (Format::Zstd, "fuzz.pkl.zst"),
    (Format::Zlib, "fuzz.joblib.z"),
    (Format::SevenZip, "fuzz.7z"),
    (Format::JoblibZfile, "fuzz.pkl"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (format, name) = KINDS[usize::from(sel) % KINDS.len()];
    modelscan_fuzz::scan_as_checked(name, rest, format);
});
