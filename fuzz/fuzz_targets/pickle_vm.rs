//! The pickle VM on any bytes: read whole, read from a seekable source, and read a few bytes at
//! a time, it must find the same things, stop at the same error, and point only inside the
//! input. Then the same bytes as a pickle file through the scanner.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;
use modelscan::limits::Budget;
use modelscan::scanners::pickle::vm::{Input, StreamKind, Vm, VmOutcome};
use modelscan_fuzz::{Chunked, scan_as_checked, settings, timed};

/// How the bytes reach the VM.
enum Feed {
    /// A slice: every read gets all it asks for.
    Whole,
    /// A seekable cursor: payloads that are not kept are seeked over.
    Seekable,
    /// 1-7 bytes per read.
    Chunked(u32),
}

fn run(data: &[u8], feed: Feed, kind: StreamKind) -> VmOutcome {
    let s = settings();
    let mut budget = Budget::new(&s.limits);
    let vm = Vm::new(s, &mut budget);
    match feed {
        Feed::Whole => vm.run(&mut Input::new(data), kind),
        Feed::Seekable => match Input::seekable(std::io::Cursor::new(data)) {
            Ok(mut input) => vm.run(&mut input, kind),
            Err(_) => vm.run(&mut Input::new(data), kind),
        },
        Feed::Chunked(seed) => vm.run(&mut Input::new(Chunked::new(data, seed)), kind),
    }
}

fn same(a: &VmOutcome, b: &VmOutcome, how: &str) {
    assert_eq!(a.findings, b.findings, "findings differ when {how}");
    assert_eq!(a.error, b.error, "errors differ when {how}");
    assert_eq!(a.limit, b.limit, "limits differ when {how}");
    assert_eq!(a.pickles, b.pickles, "pickle counts differ when {how}");
    assert_eq!(a.bytes_read, b.bytes_read, "bytes read differ when {how}");
    assert_eq!(a.tops, b.tops, "top values differ when {how}");
}

fuzz_target!(|data: &[u8]| {
    let seed = data
        .iter()
        .fold(0x9e37_79b9u32, |h, &b| h.rotate_left(5) ^ u32::from(b));
    for kind in [StreamKind::Multiple, StreamKind::Single] {
        let whole = timed(|| run(data, Feed::Whole, kind));
        let parts = timed(|| run(data, Feed::Chunked(seed), kind));
        same(&whole, &parts, "streamed in small chunks");
        let seekable = timed(|| run(data, Feed::Seekable, kind));
        same(&whole, &seekable, "read from a seekable source");
        assert!(whole.bytes_read <= data.len() as u64);
        for f in &whole.findings {
            assert!(
                f.offset <= data.len() as u64,
                "finding {} at {} past the end",
                f.rule,
                f.offset
            );
        }
        for n in &whole.nested {
            if let Some((at, len)) = n.range {
                assert!(
                    at.saturating_add(len) <= data.len() as u64,
                    "nested payload range past the end"
                );
            }
        }
    }
    scan_as_checked("fuzz.pkl", data, Format::Pickle);
});
