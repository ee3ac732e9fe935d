//! modelscan: tells whether a machine-learning model file can run code on the machine that
//! loads it, by reading its bytes (never loading it).
//!
//! The map of the crate:
//! - `settings` (defaults <- settings file <- command line, validated once), `limits` (what one
//!   file's scan may consume), `rules` (the one table of rule ids), `findings` (issues, errors,
//!   skipped entries and where they were found), `error` (why a scanner stopped).
//! - `engine`: walking the input (`walk`), format detection by content (`detect`), containers
//!   expanded into members (`containers`, `zipdir`), the policy step (`policy`).
//! - `scanners`: the `Scanner` trait, its registry, one module per format.
//! - `report`: the `Report` (a serde type = the JSON schema), its exit status, and the
//!   console/JSON/SARIF emitters; it depends on `findings`, never on `scanners`.
//! - `inspect`: the `inspect` command (a pickle's opcodes and imports, read with the scanner's VM).

#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod cli;
pub mod engine;
pub mod error;
pub mod findings;
pub mod inspect;
pub mod limits;
pub mod report;
pub mod rules;
pub mod scanners;
pub mod settings;

pub use engine::scan;
