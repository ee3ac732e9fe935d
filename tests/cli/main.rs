#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

//! All integration tests, compiled into one binary. Each module tests one area through the
//! real `modelscan` binary; `common` has the helpers (temp dirs, running the binary, reading
//! its JSON report).

mod common;

mod cli_basics;
mod exit_codes;
mod pickle_fixtures;
