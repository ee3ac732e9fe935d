//! Plain JSON files (model configs, tokenizer files, XGBoost models): parsed with a depth
//! limit so a file is only counted as scanned when it really is JSON. Format-specific checks on
//! JSON (Keras configs, chat templates) are other scanners that accept the same items.

use crate::engine::detect::Format;
use crate::error::ScanError;
use crate::findings::ErrorCategory;
use crate::scanners::{Item, ScanCtx, Scanner};

pub struct JsonScanner;

pub const JSON_SCANNER: &str = "modelscan.scanners.JsonScan";

impl Scanner for JsonScanner {
    fn name(&self) -> &'static str {
        JSON_SCANNER
    }
    fn scan_name(&self) -> &'static str {
        "json"
    }
    fn accepts(&self, item: &Item) -> bool {
        item.format == Format::Json
    }
    fn scan(&self, item: &Item, ctx: &mut ScanCtx<'_>) -> Result<(), ScanError> {
        let Some(bytes) = item
            .blob
            .to_vec_capped(ctx.settings.limits.max_in_memory_bytes)?
        else {
            return Err(ScanError::Limit(crate::limits::LimitHit {
                limit: "max_in_memory_bytes",
                detail: "JSON file too large to parse".into(),
            }));
        };
        // serde_json stops at 128 levels of nesting, which is also what we allow.
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
            ctx.error(
                "json",
                &item.source,
                ErrorCategory::JsonDecode,
                format!("Not a valid JSON data: {e}"),
            );
        }
        Ok(())
    }
}
