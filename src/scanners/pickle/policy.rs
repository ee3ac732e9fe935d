//! The globals policy: what a resolved (module, qualname) import is.

use crate::findings::Severity;
use crate::settings::Settings;

/// The verdict on one imported global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// On an allowlist profile.
    Safe,
    /// On neither list; `stdlib` when the module belongs to Python's standard library.
    Unknown { stdlib: bool },
    /// Known to be dangerous, with the severity and a one-line reason.
    Dangerous { severity: Severity, reason: String },
}

/// Judge `module` + `qualname` (dotted) after the CPython name resolution has been applied.
pub fn judge(settings: &Settings, module: &str, qualname: &str) -> Verdict {
    let _ = (settings, module, qualname);
    Verdict::Unknown { stdlib: false }
}
