//! The STAC API query extension (`"query": {"eo:cloud_cover": {"lt": 10}}`)
//! as a CQL2 expression, so that it goes through the same translator and
//! the same queryable checks as a filter.

use crate::{Error, Result};
use cql2::Expr;
use serde_json::Value;

/// The `query` object as CQL2: the operators of every property are ANDed.
///
/// Operators: `eq`, `neq`, `lt`, `lte`, `gt`, `gte`, `startsWith`,
/// `endsWith`, `contains` (LIKE, with `%`, `_` and `\` in the value
/// escaped) and `in` (a list).
pub fn query_to_expr(query: &Value) -> Result<Expr> {
    let Value::Object(properties) = query else {
        return Err(Error::Invalid("query must be an object of properties".into()));
    };
    let mut conditions = Vec::new();
    for (property, operators) in properties {
        conditions.extend(property_conditions(property, operators)?);
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

fn property_conditions(property: &str, operators: &Value) -> Result<Vec<Expr>> {
    let Value::Object(operators) = operators else {
        return Err(Error::Invalid(format!(
            "query: {property:?} must map operators to values, e.g. {{\"eq\": ...}}"
        )));
    };
    operators
        .iter()
        .map(|(operator, value)| condition(property, operator, value))
        .collect()
}

fn condition(property: &str, operator: &str, value: &Value) -> Result<Expr> {
    let subject = Expr::Property {
        property: property.to_string(),
    };
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
            let values = values.iter().map(|v| literal(property, v).map(Box::new));
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
    Ok(operation(op, subject, literal(property, value)?))
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
