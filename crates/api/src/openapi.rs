//! The OpenAPI document, generated from the handlers' annotations (utoipa)
//! and served as OpenAPI 3.0 (the `oas30` conformance class).

use crate::routes::{aggregate, catalogs, collections, items, landing, mgmt, queryables, search};
use serde_json::Value;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "stac-indexed", description = "A STAC API served from a Parquet index, without a database."),
    paths(
        landing::landing,
        landing::conformance,
        collections::list,
        collections::search_post,
        queryables::collections_queryables,
        queryables::collections_sortables,
        collections::get,
        items::list,
        items::get,
        search::get,
        search::post,
        queryables::global_queryables,
        queryables::collection_queryables,
        queryables::global_sortables,
        queryables::collection_sortables,
        aggregate::get,
        aggregate::post,
        aggregate::collection_get,
        aggregate::collection_post,
        aggregate::list,
        aggregate::collection_list,
        catalogs::root_children,
        catalogs::get,
        catalogs::children,
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
        (name = "Aggregation", description = "Counts of a search's matches by collection, time, value and place"),
        (name = "Browse", description = "The static catalog's own tree of catalogs and collections (browseable, children)"),
        (name = "Management", description = "Health and index status"),
    )
)]
struct ApiDoc;

/// The OpenAPI 3.0 document, with `servers` set to `server`.
pub(crate) fn document(server: &str) -> Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).expect("the OpenAPI document serializes");
    document["openapi"] = Value::String("3.0.3".into());
    document["servers"] = serde_json::json!([{"url": server}]);
    downgrade_to_3_0(&mut document);
    unbounded_limits(&mut document);
    document
}

/// A search's `limit` is any integer of at least 1: one above the maximum,
/// however large (beyond 64 bits too), is the maximum (OGC API Features,
/// Part 1, /req/core/fc-limit-response-1), so its schema has no `int64`
/// format.
fn unbounded_limits(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    let searches = [
        "/search",
        "/collections/{collectionId}/items",
        "/collections",
        "/collections-search",
    ];
    let operations = paths
        .iter_mut()
        .filter(|(path, _)| searches.contains(&path.as_str()))
        .filter_map(|(_, operations)| operations.as_object_mut())
        .flat_map(|operations| operations.values_mut());
    for operation in operations {
        let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for parameter in parameters
            .iter_mut()
            .filter(|p| p["name"] == "limit" && p["in"] == "query")
        {
            if let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut) {
                schema.remove("format");
            }
        }
    }
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
        for path in ["/search", "/collections/{collectionId}/items"] {
            let parameters = paths[path]["get"]["parameters"].as_array().unwrap();
            let limit = parameters.iter().find(|p| p["name"] == "limit").unwrap();
            assert_eq!(limit["schema"]["minimum"], 1, "{path}");
            assert!(
                limit["schema"].get("format").is_none(),
                "{path}: a larger limit is clamped"
            );
        }
    }
}
