//! The OpenAPI document, generated from the handlers' annotations (utoipa)
//! and served as OpenAPI 3.0 (the `oas30` conformance class).

use crate::routes::{collections, items, landing, mgmt, queryables, search};
use serde_json::Value;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "stac-indexed", description = "A STAC API served from a Parquet index, without a database."),
    paths(
        landing::landing,
        landing::conformance,
        collections::list,
        collections::get,
        items::list,
        items::get,
        search::get,
        search::post,
        queryables::global_queryables,
        queryables::collection_queryables,
        queryables::global_sortables,
        queryables::collection_sortables,
        mgmt::ping,
        mgmt::health,
        mgmt::errors,
    ),
    tags(
        (name = "Core", description = "STAC API core"),
        (name = "Collections", description = "STAC API collections"),
        (name = "Features", description = "OGC API Features"),
        (name = "Item Search", description = "STAC API item search"),
        (name = "Filter", description = "What searches may filter on (CQL2 queryables)"),
        (name = "Sort", description = "What searches may sort on"),
        (name = "Management", description = "Health and index status"),
    )
)]
struct ApiDoc;

/// The OpenAPI 3.0 document, with `servers` set to `server`.
pub fn document(server: &str) -> Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
    document["openapi"] = Value::String("3.0.3".into());
    document["servers"] = serde_json::json!([{"url": server}]);
    downgrade_to_3_0(&mut document);
    document
}

/// Rewrites the OpenAPI 3.1 forms utoipa emits into their 3.0 equivalents:
/// `"type": ["x", "null"]` becomes `"type": "x", "nullable": true`.
fn downgrade_to_3_0(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get("type").cloned() {
                let non_null: Vec<&Value> = types.iter().filter(|t| t.as_str() != Some("null")).collect();
                if let [single] = non_null.as_slice() {
                    map.insert("type".into(), (*single).clone());
                    if non_null.len() < types.len() {
                        map.insert("nullable".into(), Value::Bool(true));
                    }
                }
            }
            map.values_mut().for_each(downgrade_to_3_0);
        }
        Value::Array(values) => values.iter_mut().for_each(downgrade_to_3_0),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_0_and_lists_the_operations() {
        let document = document("http://localhost/");
        assert_eq!(document["openapi"], "3.0.3");
        let paths = document["paths"].as_object().unwrap();
        for path in [
            "/",
            "/conformance",
            "/collections",
            "/collections/{collectionId}",
            "/collections/{collectionId}/items",
            "/collections/{collectionId}/items/{itemId}",
            "/search",
        ] {
            assert!(paths.contains_key(path), "{path}");
        }
        assert!(paths["/search"].get("post").is_some());
        assert!(!document.to_string().contains(r#""type":["#));
    }
}
