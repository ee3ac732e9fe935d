//! Pickle scanning.

pub mod numpy;
pub mod opcodes;
pub mod policy;

use crate::error::ScanError;
use crate::scanners::{Item, ScanCtx, Scanner};

pub struct PickleScanner;

impl Scanner for PickleScanner {
    fn name(&self) -> &'static str {
        "modelscan.scanners.PickleUnsafeOpScan"
    }
    fn scan_name(&self) -> &'static str {
        "pickle"
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == crate::engine::detect::Format::Pickle
    }
    fn scan(&self, _item: &Item, _ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        Ok(())
    }
}
