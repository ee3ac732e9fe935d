//! numpy `.npy`.

use crate::error::ScanError;
use crate::scanners::{Item, ScanCtx, Scanner};

pub struct NumpyScanner;

impl Scanner for NumpyScanner {
    fn name(&self) -> &'static str {
        "modelscan.scanners.NumpyUnsafeOpScan"
    }
    fn scan_name(&self) -> &'static str {
        "numpy"
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == crate::engine::detect::Format::Numpy
    }
    fn scan(&self, _item: &Item, _ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        Ok(())
    }
}
