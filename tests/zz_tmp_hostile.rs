#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#[path = "cli/common.rs"]
mod common;
#[path = "cli/fuzz_regressions.rs"]
mod fuzz_regressions;
#[path = "cli/limits.rs"]
mod limits;
#[path = "cli/malformed_containers.rs"]
mod malformed_containers;
#[path = "cli/proptests.rs"]
mod proptests;
