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
mod containers;
mod exit_codes;
mod formats;
mod pickle_fixtures;
mod walk;

// Reports people can act on, and tools that fit CI.
mod ci_policy;
mod docs;
mod inspect;
mod integrations;
mod output_manners;
mod report_cases;
mod report_schema;
mod sarif;
mod scale_out;
mod weakenings;

// Hostile input: fuzz regressions, limits, malformed fixtures, property tests.
mod fuzz_regressions;
mod limits;
mod malformed_containers;
mod proptests;
