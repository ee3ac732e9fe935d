//! Jinja chat templates: lexer, parser and the injection analysis, as a `.jinja` file and as
//! the `chat_template` of a tokenizer_config.json.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelscan::engine::detect::Format;

fuzz_target!(|data: &[u8]| {
    modelscan_fuzz::scan_as_checked("chat_template.jinja", data, Format::Unknown);
    if let Ok(text) = std::str::from_utf8(data) {
        let config = serde_json::json!({ "chat_template": text }).to_string();
        modelscan_fuzz::scan_as_checked("tokenizer_config.json", config.as_bytes(), Format::Json);
    }
});
