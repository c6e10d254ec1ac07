//! CQL2 text: parsing, then translation to SQL and to a column condition.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stac_indexed_filter::{FilterLang, parse_filter};
use stac_indexed_fuzz::{queryables, translate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(expr) = parse_filter(&Value::String(text.to_string()), FilterLang::Cql2Text) {
        translate(&expr, &queryables());
    }
});
