//! Limits on what one file's scan may consume, and the `Budget` every parser charges while it
//! reads. Limits come from the settings (`[limits]`); hitting one is reported, never treated as
//! clean.

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Bytes read from one file on disk (all of its members together).
    pub max_file_bytes: u64,
    /// Decompressed bytes produced for one compressed member or stream.
    pub max_decompressed_bytes: u64,
    /// Compression ratio above which a member is a bomb, once past `bomb_floor_bytes`.
    pub max_compression_ratio: u64,
    /// Decompressed size under which the ratio is not judged (sparse weights compress well).
    pub bomb_floor_bytes: u64,
    /// Archives inside archives.
    pub max_archive_depth: u32,
    /// Members of one archive.
    pub max_archive_members: u64,
    /// Opcodes of one pickle stream.
    pub max_pickle_opcodes: u64,
    /// Values on the pickle stack at once.
    pub max_pickle_stack: u64,
    /// Entries in the pickle memo.
    pub max_pickle_memo: u64,
    /// Bytes of one string/bytes operand kept in memory for analysis (larger ones are skipped).
    pub max_kept_operand_bytes: u64,
    /// Nesting depth of JSON configs, templates, protobuf sub-graphs, nested pickles.
    pub max_nesting_depth: u32,
    /// Memory one file's parse may hold: a member read into memory when a format needs random
    /// access (a compressed zip member, a JSON config), what a protobuf decode allocates (its
    /// compact copy and messages), what a parsed JSON text takes, and any single read the HDF5
    /// parser asks for.
    pub max_in_memory_bytes: u64,
    /// Seconds one file may take (0 = no limit).
    pub max_seconds_per_file: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 1 << 40,
            max_decompressed_bytes: 4 << 30,
            max_compression_ratio: 500,
            bomb_floor_bytes: 64 << 20,
            max_archive_depth: 8,
            max_archive_members: 100_000,
            max_pickle_opcodes: 200_000_000,
            max_pickle_stack: 2_000_000,
            max_pickle_memo: 4_000_000,
            max_kept_operand_bytes: 8 << 20,
            max_nesting_depth: 200,
            max_in_memory_bytes: 1 << 30,
            max_seconds_per_file: 300,
        }
    }
}

/// What a limit stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitHit {
    pub limit: &'static str,
    pub detail: String,
}

/// A per-file budget: a deadline plus counters. Cheap to check in hot loops.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Option<Instant>,
    bytes_left: u64,
}

impl Budget {
    pub fn new(limits: &Limits) -> Budget {
        let deadline = if limits.max_seconds_per_file == 0 {
            None
        } else {
            Instant::now().checked_add(Duration::from_secs(limits.max_seconds_per_file))
        };
        Budget {
            deadline,
            bytes_left: limits.max_file_bytes,
        }
    }

    pub fn unlimited() -> Budget {
        Budget {
            deadline: None,
            bytes_left: u64::MAX,
        }
    }

    pub fn check_time(&self) -> Result<(), LimitHit> {
        match self.deadline {
            Some(d) if Instant::now() > d => Err(LimitHit {
                limit: "max_seconds_per_file",
                detail: "time limit per file reached".into(),
            }),
            _ => Ok(()),
        }
    }

    pub fn charge_bytes(&mut self, n: u64) -> Result<(), LimitHit> {
        match self.bytes_left.checked_sub(n) {
            Some(left) => {
                self.bytes_left = left;
                Ok(())
            }
            None => {
                self.bytes_left = 0;
                Err(LimitHit {
                    limit: "max_file_bytes",
                    detail: "bytes read per file limit reached".into(),
                })
            }
        }
    }
}
