//! JSON output with Python's `json.dumps` separators (`", "` and `": "`), as ModelScan writes
//! it, so existing parsers and diffs keep working.

use super::Report;
use serde::Serialize;
use std::io;

struct PythonStyle;

impl serde_json::ser::Formatter for PythonStyle {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

pub fn to_string(value: &impl Serialize) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, PythonStyle);
    if value.serialize(&mut ser).is_err() {
        return "{}".into();
    }
    String::from_utf8(buf).unwrap_or_default()
}

pub fn render(report: &Report) -> String {
    to_string(report)
}

/// The report, serialized straight into `w` (no copy of it as text).
pub fn write(report: &Report, w: &mut dyn io::Write) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, PythonStyle);
    report.serialize(&mut ser).map_err(io::Error::other)
}
