//! `/` and `/conformance`.

use super::aggregate::{self, AGGREGATE_REL, AGGREGATIONS_REL};
use super::{base_url, json_response};
use crate::browse::{CHILDREN_REL, child_links, landing_children, landing_link, tree_links};
use crate::index::IndexVersion;
use crate::links::{GEOJSON, JSON, QUERYABLES_REL, SCHEMA_JSON, SORTABLES_REL, link, titled};
use crate::{AppState, Result};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use stac_indexed_engine::tree::NodeKind;

/// The conformance classes implemented, exactly.
pub(crate) const CONFORMANCE: &[&str] = &[
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search#free-text",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search#filter",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search#sort",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search#fields",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/simple-query",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#query",
    "https://api.stacspec.org/v1.0.0-rc.1/item-search#advanced-free-text",
    "https://api.stacspec.org/v1.0.0-rc.1/ogcapi-features#advanced-free-text",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    aggregate::CONFORMANCE,
    "https://api.stacspec.org/v0.3.0/aggregation#filter",
    "https://api.stacspec.org/v0.3.0/aggregation#query",
    "https://api.stacspec.org/v1.0.0/children",
];

/// The browseable class: advertised when the index holds the catalog tree
/// (format 2) and every node's item links, so that every item is reachable
/// by `child` and `item` links.
const BROWSEABLE: &str = "https://api.stacspec.org/v1.0.0/browseable";

/// The conformance classes an index version is served with.
fn conformance_classes(index: &IndexVersion) -> Vec<&'static str> {
    let mut classes = CONFORMANCE.to_vec();
    if index.tree.is_browseable() {
        classes.push(BROWSEABLE);
    }
    classes
}

/// The media type of the OpenAPI document.
pub(crate) const OPENAPI: &str = "application/vnd.oai.openapi+json;version=3.0";

/// The landing page.
#[utoipa::path(get, path = "/", tag = "Core",
    responses((status = 200, description = "The landing page: a STAC Catalog with links to everything else", content_type = "application/json")))]
pub(crate) async fn landing(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    let index = state.index.current();
    let base = base_url(&headers, &state);
    let catalog = &index.manifest.catalog;
    let config = &state.config;
    let title = config
        .title
        .clone()
        .or_else(|| catalog.title.clone())
        .unwrap_or_else(|| "stac-indexed".into());
    let mut links = vec![
        titled(link("self", base.root(), JSON), &title),
        landing_link("root", &base),
        link("conformance", base.href(&["conformance"]), JSON),
        link("service-desc", base.href(&["api"]), OPENAPI),
        link("service-doc", base.href(&["api.html"]), "text/html"),
        link("data", base.href(&["collections"]), JSON),
        link(QUERYABLES_REL, base.href(&["queryables"]), SCHEMA_JSON),
        link(SORTABLES_REL, base.href(&["sortables"]), SCHEMA_JSON),
        json!({"rel": "search", "href": base.href(&["search"]), "type": GEOJSON, "method": "GET"}),
        json!({"rel": "search", "href": base.href(&["search"]), "type": GEOJSON, "method": "POST"}),
        json!({"rel": AGGREGATE_REL, "href": base.href(&["aggregate"]), "type": JSON, "method": "GET"}),
        json!({"rel": AGGREGATE_REL, "href": base.href(&["aggregate"]), "type": JSON, "method": "POST"}),
        link(AGGREGATIONS_REL, base.href(&["aggregations"]), JSON),
        link(CHILDREN_REL, base.href(&["children"]), JSON),
    ];
    if config.browser_dir.is_some() {
        let mut browser = link("alternate", base.href(&["browser", ""]), "text/html");
        browser["title"] = Value::String("STAC Browser".into());
        links.push(browser);
    }
    match index.tree.root().kind {
        NodeKind::Catalog => links.extend(tree_links(&index, &base, 0).await?),
        NodeKind::Collection => links.extend(child_links(&index, &base, &landing_children(&index))),
    }
    let body = json!({
        "type": "Catalog",
        "stac_version": "1.1.0",
        "id": config.id.clone().unwrap_or_else(|| non_empty(&catalog.id, "stac-indexed")),
        "title": title,
        "description": config.description.clone().or_else(|| catalog.description.clone())
            .unwrap_or_else(|| "A STAC API served from a Parquet index".into()),
        "conformsTo": conformance_classes(&index),
        "links": links,
    });
    Ok(json_response("application/json", &body))
}

fn non_empty(text: &str, default: &str) -> String {
    if text.is_empty() {
        default.to_string()
    } else {
        text.to_string()
    }
}

/// The conformance classes.
#[utoipa::path(get, path = "/conformance", tag = "Core",
    responses((status = 200, description = "The conformance classes this API implements", content_type = "application/json")))]
pub(crate) async fn conformance(State(state): State<AppState>) -> Response {
    let index = state.index.current();
    json_response("application/json", &json!({"conformsTo": conformance_classes(&index)}))
}
