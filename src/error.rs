//! `ScanError`: why a scanner could not finish a file, with whose fault it was. The engine turns
//! it into an error entry for that file; findings made before the error are kept.

use crate::findings::ErrorCategory;
use crate::limits::LimitHit;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ScanError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The input is not valid for its format (the file's fault).
    #[error("{format}: {reason}{}", offset.map(|o| format!(" (at byte {o})")).unwrap_or_default())]
    Malformed {
        format: &'static str,
        offset: Option<u64>,
        reason: String,
    },
    /// A configured limit stopped the scan.
    #[error("{}: {}", .0.limit, .0.detail)]
    Limit(LimitHit),
    /// Valid input we cannot decode (encryption, an unknown compression method).
    #[error("{0}")]
    Unsupported(String),
    /// Pickle parsing failed; the text mirrors pickletools' messages where ModelScan shows them.
    #[error("Parsing error: {0}")]
    Pickle(String),
}

impl ScanError {
    pub fn malformed(format: &'static str, offset: Option<u64>, reason: impl Into<String>) -> Self {
        ScanError::Malformed {
            format,
            offset,
            reason: reason.into(),
        }
    }

    pub fn category(&self) -> ErrorCategory {
        match self {
            ScanError::Io(_) => ErrorCategory::Io,
            ScanError::Malformed { .. } => ErrorCategory::Malformed,
            ScanError::Limit(_) => ErrorCategory::LimitExceeded,
            ScanError::Unsupported(_) => ErrorCategory::Unsupported,
            ScanError::Pickle(_) => ErrorCategory::PickleGenops,
        }
    }
}

impl From<LimitHit> for ScanError {
    fn from(h: LimitHit) -> Self {
        ScanError::Limit(h)
    }
}
