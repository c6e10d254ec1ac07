//! CQL2 JSON: parsing, then translation to SQL and to a column condition.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stac_indexed_filter::{FilterLang, parse_filter};
use stac_indexed_fuzz::{queryables, translate};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(expr) = parse_filter(&value, FilterLang::Cql2Json) {
        translate(&expr, &queryables());
    }
});
