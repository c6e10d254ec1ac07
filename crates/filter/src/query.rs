//! The STAC API query extension (`"query": {"eo:cloud_cover": {"lt": 10}}`)
//! as a CQL2 expression, so that it goes through the same translator and
//! the same queryable checks as a filter.
//!
//! The query extension predates CQL2's types, and clients write values as
//! they come: a value given as a string for a number (or boolean) queryable
//! is read as that number when it parses as one (`{"eq": "0"}`), and `eq`,
//! `neq` and `in` on an array queryable test its elements (`{"instruments":
//! {"in": ["msi"]}}`: any element in the list). CQL2 filters stay strict.

use crate::{Error, Kind, Result, Scope};
use cql2::Expr;
use serde_json::Value;

/// The `query` object as CQL2: the operators of every property are ANDed.
///
/// Operators: `eq`, `neq`, `lt`, `lte`, `gt`, `gte`, `startsWith`,
/// `endsWith`, `contains` (LIKE, with `%`, `_` and `\` in the value
/// escaped) and `in` (a list). Properties must be queryable in `scope`.
pub fn query_to_expr(query: &Value, scope: &Scope<'_>) -> Result<Expr> {
    let Value::Object(properties) = query else {
        return Err(Error::Invalid("query must be an object of properties".into()));
    };
    let mut conditions = Vec::new();
    for (property, operators) in properties {
        let kind = scope.queryable(property)?.kind;
        conditions.extend(property_conditions(property, kind, operators)?);
    }
    Ok(match conditions.len() {
        0 => Expr::Bool(true),
        1 => conditions.remove(0),
        _ => Expr::Operation {
            op: "and".into(),
            args: conditions.into_iter().map(Box::new).collect(),
        },
    })
}

fn property_conditions(property: &str, kind: Kind, operators: &Value) -> Result<Vec<Expr>> {
    let Value::Object(operators) = operators else {
        return Err(Error::Invalid(format!(
            "query: {property:?} must map operators to values, e.g. {{\"eq\": ...}}"
        )));
    };
    operators
        .iter()
        .map(|(operator, value)| condition(property, kind, operator, value))
        .collect()
}

fn condition(property: &str, kind: Kind, operator: &str, value: &Value) -> Result<Expr> {
    let subject = Expr::Property {
        property: property.to_string(),
    };
    if kind == Kind::TextArray {
        return array_condition(subject, property, operator, value);
    }
    let literal = |value: &Value| literal(property, &coerce(kind, value));
    let op = match operator {
        "eq" => "=",
        "neq" => "<>",
        "lt" => "<",
        "lte" => "<=",
        "gt" => ">",
        "gte" => ">=",
        "startsWith" | "endsWith" | "contains" => return like(subject, property, operator, value),
        "in" => {
            let Value::Array(values) = value else {
                return Err(Error::Invalid(format!("query: {property:?} in takes a list")));
            };
            let values = values.iter().map(|v| literal(v).map(Box::new));
            let list = Expr::Array(values.collect::<Result<_>>()?);
            return Ok(operation("in", subject, list));
        }
        other => {
            return Err(Error::Invalid(format!(
                "query: unknown operator {other:?} on {property:?}; \
                 use eq, neq, lt, lte, gt, gte, startsWith, endsWith, contains or in"
            )));
        }
    };
    Ok(operation(op, subject, literal(value)?))
}

/// A string that spells a value of a number or boolean queryable, as that value.
fn coerce(kind: Kind, value: &Value) -> Value {
    let Value::String(text) = value else {
        return value.clone();
    };
    let coerced = match kind {
        Kind::Number | Kind::Integer => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        Kind::Boolean => text.trim().parse::<bool>().ok().map(Value::Bool),
        _ => None,
    };
    coerced.unwrap_or_else(|| value.clone())
}

/// `eq`, `neq` and `in` on an array queryable, over its elements.
fn array_condition(subject: Expr, property: &str, operator: &str, value: &Value) -> Result<Expr> {
    let values: Vec<&Value> = match value {
        Value::Array(values) => values.iter().collect(),
        single => vec![single],
    };
    let list = Expr::Array(
        values
            .into_iter()
            .map(|v| literal(property, v).map(Box::new))
            .collect::<Result<_>>()?,
    );
    match operator {
        "eq" => Ok(operation("a_contains", subject, list)),
        "neq" => Ok(Expr::Operation {
            op: "not".into(),
            args: vec![Box::new(operation("a_contains", subject, list))],
        }),
        "in" => Ok(operation("a_overlaps", subject, list)),
        other => Err(Error::Invalid(format!(
            "query: {property:?} is an array; it takes eq, neq or in, not {other:?}"
        ))),
    }
}

fn like(subject: Expr, property: &str, operator: &str, value: &Value) -> Result<Expr> {
    let Value::String(text) = value else {
        return Err(Error::Invalid(format!("query: {property:?} {operator} takes a string")));
    };
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    let pattern = match operator {
        "startsWith" => format!("{escaped}%"),
        "endsWith" => format!("%{escaped}"),
        _ => format!("%{escaped}%"),
    };
    Ok(operation("like", subject, Expr::Literal(pattern)))
}

fn literal(property: &str, value: &Value) -> Result<Expr> {
    Ok(match value {
        Value::String(text) => Expr::Literal(text.clone()),
        Value::Number(n) => Expr::Float(n.as_f64().unwrap_or(f64::NAN)),
        Value::Bool(b) => Expr::Bool(*b),
        Value::Null => Expr::Null,
        _ => {
            return Err(Error::Invalid(format!(
                "query: {property:?} takes a string, number or boolean"
            )));
        }
    })
}

fn operation(op: &str, left: Expr, right: Expr) -> Expr {
    Expr::Operation {
        op: op.to_string(),
        args: vec![Box::new(left), Box::new(right)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn queryables() -> crate::Queryables {
        let config = stac_indexed_format::IndexConfig::from_json(
            r#"{"fields": [
                {"name": "eo:cloud_cover", "path": "properties.eo:cloud_cover", "type": "number"},
                {"name": "gsd", "path": "properties.gsd", "type": "number"},
                {"name": "platform", "path": "properties.platform", "type": "string"},
                {"name": "instruments", "path": "properties.instruments", "type": "string[]"}
            ]}"#,
        )
        .unwrap();
        crate::Queryables::new(&config)
    }

    fn query_to_expr(query: &Value) -> Result<Expr> {
        super::query_to_expr(query, &queryables().scope(None))
    }

    #[test]
    fn strings_for_numbers_are_numbers_and_arrays_test_elements() {
        let text = |query: Value| query_to_expr(&query).unwrap().to_text().unwrap();
        assert!(text(json!({"eo:cloud_cover": {"eq": "0"}})).contains("eo:cloud_cover = 0"));
        assert!(text(json!({"platform": {"eq": "10"}})).contains("platform = '10'"));
        let overlap = text(json!({"instruments": {"in": ["msi"]}}));
        assert!(
            overlap.to_lowercase().contains("a_overlaps(instruments, ('msi'))"),
            "{overlap}"
        );
        assert!(
            text(json!({"instruments": {"eq": "msi"}}))
                .to_lowercase()
                .contains("a_contains")
        );
        assert!(query_to_expr(&json!({"instruments": {"lt": "msi"}})).is_err());
        assert!(
            query_to_expr(&json!({"nope": {"eq": 1}}))
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }

    #[test]
    fn operators_become_cql2() {
        let expr = query_to_expr(&json!({
            "eo:cloud_cover": {"lt": 10, "gte": 2},
            "platform": {"in": ["a", "b"]},
            "id": {"startsWith": "S2_%"}
        }))
        .unwrap();
        let text = expr.to_text().unwrap();
        assert!(text.contains("eo:cloud_cover < 10"), "{text}");
        assert!(text.contains("eo:cloud_cover >= 2"), "{text}");
        assert!(text.contains("platform IN ('a', 'b')"), "{text}");
        assert!(text.contains(r"id LIKE 'S2\_\%%'"), "{text}");
        let error = query_to_expr(&json!({"gsd": {"like": 1}})).unwrap_err().to_string();
        assert!(error.contains("\"like\"") && error.contains("\"gsd\""), "{error}");
        assert!(query_to_expr(&json!([1])).is_err());
        assert!(query_to_expr(&json!({"gsd": 3})).is_err());
        assert!(query_to_expr(&json!({"gsd": {"in": 3}})).is_err());
        assert_eq!(query_to_expr(&json!({})).unwrap(), Expr::Bool(true));
    }
}
