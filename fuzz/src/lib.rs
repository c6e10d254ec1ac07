//! What the fuzz targets share: the sample catalog's queryables.

use stac_indexed_filter::{Expr, Queryables, to_condition, to_sql};
use stac_indexed_format::IndexConfig;

/// The queryables of `sample-data/index-config.json`.
pub fn queryables() -> Queryables {
    let config: IndexConfig = serde_json::from_str(include_str!("../../sample-data/index-config.json"))
        .expect("the sample index config parses");
    Queryables::new(&config)
}

/// Translates a parsed filter both ways the engine does, over all
/// collections and over one: to SQL and to a condition over columns. Either
/// may refuse it; neither may panic.
pub fn translate(expr: &Expr, queryables: &Queryables) {
    let one = ["sentinel-2-l2a".to_string()];
    for scope in [queryables.scope(None), queryables.scope(Some(&one))] {
        let _ = to_sql(expr, &scope);
        let _ = to_condition(expr, &scope);
    }
}
