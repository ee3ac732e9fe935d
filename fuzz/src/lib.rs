//! What every fuzz target shares: settings with small limits (so that a hostile input is cut
//! off by the budget, not by libFuzzer's timeout), a reader that hands out its bytes a few at a
//! time, and the properties checked on every scan besides "it did not panic".

use modelscan::engine::detect::Format;
use modelscan::scanners::Outcome;
use modelscan::settings::Settings;
use std::io::Read;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Seconds one input may take before the engine's own deadline stops it.
pub const SECONDS_PER_INPUT: u64 = 2;

/// The defaults with limits small enough for a fuzzer: a scan ends within about
/// `SECONDS_PER_INPUT` seconds and a few tens of MiB, whatever the input. Built once.
pub fn settings() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(build_settings)
}

fn build_settings() -> Settings {
    let mut s = Settings::defaults();
    let l = &mut s.limits;
    l.max_seconds_per_file = SECONDS_PER_INPUT;
    l.max_pickle_opcodes = 200_000;
    l.max_pickle_stack = 100_000;
    l.max_pickle_memo = 100_000;
    l.max_kept_operand_bytes = 1 << 20;
    l.max_decompressed_bytes = 32 << 20;
    l.bomb_floor_bytes = 1 << 20;
    l.max_in_memory_bytes = 32 << 20;
    l.max_archive_members = 2_000;
    l.max_archive_depth = 6;
    l.max_nesting_depth = 64;
    s.jobs = 1;
    s
}

/// A reader that returns 1 to 7 bytes per call, the sizes drawn from `seed`: the same stream
/// cut at other places, to show that no parser depends on how its input was chunked.
pub struct Chunked<'a> {
    data: &'a [u8],
    pos: usize,
    state: u32,
}

impl<'a> Chunked<'a> {
    pub fn new(data: &'a [u8], seed: u32) -> Chunked<'a> {
        Chunked {
            data,
            pos: 0,
            state: seed | 1,
        }
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // xorshift32: cheap and deterministic for a given seed.
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let want = 1 + (self.state % 7) as usize;
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        let n = want.min(rest.len()).min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

/// Run `f`, then check that it finished within the budget (with slack for instrumentation).
pub fn timed<T>(f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(SECONDS_PER_INPUT * 4 + 4),
        "the scan took {took:?}, past its {SECONDS_PER_INPUT} s budget"
    );
    out
}

/// Properties of every outcome: each issue on the outer item points inside it, and every
/// error and issue says something.
pub fn check_outcome(out: &Outcome, len: usize) {
    for i in &out.issues {
        if let (true, Some(off)) = (i.source.members.is_empty(), i.offset) {
            assert!(
                off <= len as u64,
                "issue {} at offset {off} lies outside the {len}-byte input",
                i.rule
            );
        }
        assert!(
            !i.description.is_empty(),
            "issue {} has no description",
            i.rule
        );
        assert!(
            modelscan::rules::lookup(i.rule).is_some(),
            "issue uses the unknown rule id {}",
            i.rule
        );
    }
    for e in &out.errors {
        assert!(
            !e.description.is_empty(),
            "an error entry has no description"
        );
    }
}

/// Scan `data` as a file named `name`, detection included, and check the outcome.
pub fn scan_checked(name: &str, data: &[u8]) -> Outcome {
    let out = timed(|| modelscan::engine::scan_bytes(name, data, settings()));
    check_outcome(&out, data.len());
    out
}

/// Scan `data` as `format` (detection skipped for the outer item) and check the outcome.
pub fn scan_as_checked(name: &str, data: &[u8], format: Format) -> Outcome {
    let out = timed(|| modelscan::engine::scan_bytes_as(name, data, format, settings()));
    check_outcome(&out, data.len());
    out
}
