//! The search parameter parser: the input as a GET query string, and as a
//! POST body when it is a JSON object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stac_indexed_api::search::{Limits, SearchParams};

const LIMITS: Limits = Limits {
    default: 10,
    max: 10_000,
};

fuzz_target!(|data: &[u8]| {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    let _ = SearchParams::from_query(&pairs, LIMITS);
    if let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) {
        let _ = SearchParams::from_body(&body, LIMITS);
    }
});
