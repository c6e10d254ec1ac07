//! The sort extension: `sortby` as asked for, and resolved to an order over
//! the index's columns with keyset paging.
//!
//! Every order ends with `seq`, a unique key (collection, then newest first,
//! then id), so that rows with equal sort values still have one fixed order
//! and paging never repeats or skips an item. NULLs sort last in either
//! direction. A page boundary is the sort values of a row plus its seq, and
//! the next page is the rows after that key in this order: keyset paging, so
//! a deep page costs what the first one costs.

use crate::keyset::{Direction, Keyset, invalid_token};
use crate::{Error, Result};
use duckdb::types::{TimeUnit, Value as SqlValue};
use serde_json::Value;
use stac_indexed_filter::{Kind, Scope};

/// One sort field as asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SortBy {
    /// The field, as the client named it.
    pub field: String,
    /// Largest first.
    pub descending: bool,
}

/// `sortby` of a GET request: `+field`, `-field` or `field`, comma separated.
pub fn parse_text(text: &str) -> Result<Vec<SortBy>> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            // A `+` arrives decoded as a space (form encoding), trimmed above.
            let (descending, field) = match part.as_bytes()[0] {
                b'-' => (true, &part[1..]),
                b'+' => (false, &part[1..]),
                _ => (false, part),
            };
            sort_by(field.trim(), descending)
        })
        .collect()
}

/// `sortby` of a POST body: `[{"field": "...", "direction": "asc" | "desc"}]`.
pub fn parse_json(value: &Value) -> Result<Vec<SortBy>> {
    let shape = || Error::bad_request(r#"sortby must be an array of {"field": "...", "direction": "asc" | "desc"}"#);
    let entries = value.as_array().ok_or_else(shape)?;
    entries
        .iter()
        .map(|entry| {
            let field = entry.get("field").and_then(Value::as_str).ok_or_else(shape)?;
            let descending = match entry.get("direction").map(|d| d.as_str()) {
                None | Some(Some("asc")) => false,
                Some(Some("desc")) => true,
                Some(_) => {
                    return Err(Error::bad_request(format!(
                        "sortby direction of {field:?} must be \"asc\" or \"desc\""
                    )));
                }
            };
            sort_by(field, descending)
        })
        .collect()
}

fn sort_by(field: &str, descending: bool) -> Result<SortBy> {
    if field.is_empty() {
        return Err(Error::bad_request("sortby has an empty field name"));
    }
    Ok(SortBy {
        field: field.to_string(),
        descending,
    })
}

/// The sort as one string (`-eo:cloud_cover,+id`), which tokens carry.
pub fn signature(sortby: &[SortBy]) -> String {
    let keys: Vec<String> = sortby
        .iter()
        .map(|s| format!("{}{}", if s.descending { '-' } else { '+' }, s.field))
        .collect();
    keys.join(",")
}

/// A sort resolved to columns: the order of a page query.
#[derive(Clone, Debug, Default)]
pub struct Order {
    keys: Vec<OrderKey>,
}

#[derive(Clone, Debug)]
struct OrderKey {
    column: String,
    kind: Kind,
    descending: bool,
}

impl Order {
    /// The order of a sortby, whose fields must be sortable in the scope.
    pub fn resolve(sortby: &[SortBy], scope: &Scope<'_>) -> Result<Order> {
        let keys = sortby
            .iter()
            .map(|s| {
                let sortable = scope
                    .sortable(&s.field)
                    .map_err(|e| Error::bad_request(e.to_string()))?;
                Ok(OrderKey {
                    column: sortable.sql_column(),
                    kind: sortable.kind,
                    descending: s.descending,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Order { keys })
    }

    /// Whether this is the index's own order (seq alone).
    pub fn is_default(&self) -> bool {
        self.keys.is_empty()
    }

    /// The sort keys: column (an SQL expression), kind, descending.
    pub fn keys(&self) -> impl Iterator<Item = (&str, Kind, bool)> {
        self.keys.iter().map(|k| (k.column.as_str(), k.kind, k.descending))
    }

    /// The sort columns, for the SELECT list.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.column.as_str())
    }

    /// How many sort columns there are.
    pub fn column_count(&self) -> usize {
        self.keys.len()
    }

    /// The ORDER BY list, reversed for pages read backwards.
    pub fn order_by(&self, reverse: bool) -> String {
        let mut terms: Vec<String> = self
            .keys
            .iter()
            .map(|k| {
                let direction = if k.descending != reverse { "DESC" } else { "ASC" };
                let nulls = if reverse { "FIRST" } else { "LAST" };
                format!("{} {direction} NULLS {nulls}", k.column)
            })
            .collect();
        terms.push(if reverse { "seq DESC" } else { "seq" }.to_string());
        terms.join(", ")
    }

    /// The rows after (or before) a keyset in this order, with its parameters.
    pub fn keyset_clause(&self, keyset: &Keyset) -> Result<(String, Vec<SqlValue>)> {
        if keyset.values.len() != self.keys.len() {
            return Err(invalid_token());
        }
        let forward = keyset.direction == Direction::Next;
        let mut alternatives = Vec::new();
        let mut equal_so_far: Vec<String> = Vec::new();
        let mut params: Vec<SqlValue> = Vec::new();
        let mut equal_params: Vec<SqlValue> = Vec::new();
        for (key, value) in self.keys.iter().zip(&keyset.values) {
            let bound = key.bind(value)?;
            let column = &key.column;
            let past = match (&bound, forward) {
                // NULLs come last: nothing follows a NULL, every value precedes it.
                (None, true) => None,
                (None, false) => Some(format!("{column} IS NOT NULL")),
                (Some(_), _) => {
                    // Forward in ascending order (or backward in descending order) is upward.
                    let op = if forward != key.descending { ">" } else { "<" };
                    let nulls = if forward {
                        format!(" OR {column} IS NULL")
                    } else {
                        String::new()
                    };
                    Some(format!("({column} {op} CAST(? AS {}){nulls})", key.kind.sql_type()))
                }
            };
            if let Some(past) = past {
                let mut clause = equal_so_far.clone();
                clause.push(past);
                alternatives.push(clause.join(" AND "));
                params.extend(equal_params.iter().cloned());
                params.extend(bound.clone());
            }
            match bound {
                None => equal_so_far.push(format!("{column} IS NULL")),
                Some(bound) => {
                    equal_so_far.push(format!("{column} = CAST(? AS {})", key.kind.sql_type()));
                    equal_params.push(bound);
                }
            }
        }
        equal_so_far.push(format!("seq {} {}", if forward { ">" } else { "<" }, keyset.seq));
        alternatives.push(equal_so_far.join(" AND "));
        params.extend(equal_params);
        let sql = alternatives
            .iter()
            .map(|a| format!("({a})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        Ok((format!("({sql})"), params))
    }
}

impl OrderKey {
    /// A token's JSON sort value as a parameter (`None` for NULL).
    fn bind(&self, value: &Value) -> Result<Option<SqlValue>> {
        token_sql_value(self.kind, value)
    }
}

/// A token's JSON sort value (see [`token_value`]) as the SQL value of a
/// column of this kind; `None` for NULL.
pub fn token_sql_value(kind: Kind, value: &Value) -> Result<Option<SqlValue>> {
    Ok(Some(match (kind, value) {
        (_, Value::Null) => return Ok(None),
        (Kind::Number, Value::Number(n)) => SqlValue::Double(n.as_f64().ok_or_else(invalid_token)?),
        (Kind::Integer, Value::Number(n)) => SqlValue::BigInt(n.as_i64().ok_or_else(invalid_token)?),
        (Kind::Timestamp, Value::Number(n)) => {
            SqlValue::Timestamp(TimeUnit::Microsecond, n.as_i64().ok_or_else(invalid_token)?)
        }
        (Kind::Boolean, Value::Bool(b)) => SqlValue::Boolean(*b),
        (Kind::Text, Value::String(s)) => SqlValue::Text(s.clone()),
        _ => return Err(invalid_token()),
    }))
}

/// A sort column's value as it goes into a token.
pub fn token_value(value: SqlValue) -> Value {
    match value {
        SqlValue::Double(v) => serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number),
        SqlValue::Float(v) => serde_json::Number::from_f64(v as f64).map_or(Value::Null, Value::Number),
        SqlValue::BigInt(v) => Value::from(v),
        SqlValue::Int(v) => Value::from(v),
        SqlValue::Boolean(v) => Value::Bool(v),
        SqlValue::Text(v) => Value::String(v),
        SqlValue::Timestamp(unit, v) => Value::from(unit.to_micros(v)),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_and_post_sortby_parse_alike() {
        let expected = vec![
            SortBy {
                field: "properties.eo:cloud_cover".into(),
                descending: true,
            },
            SortBy {
                field: "datetime".into(),
                descending: false,
            },
            SortBy {
                field: "id".into(),
                descending: false,
            },
        ];
        // `+datetime` in a URL decodes to ` datetime`.
        assert_eq!(
            parse_text("-properties.eo:cloud_cover, datetime,+id").unwrap(),
            expected
        );
        let body = json!([
            {"field": "properties.eo:cloud_cover", "direction": "desc"},
            {"field": "datetime", "direction": "asc"},
            {"field": "id"}
        ]);
        assert_eq!(parse_json(&body).unwrap(), expected);
        assert_eq!(signature(&expected), "-properties.eo:cloud_cover,+datetime,+id");
        for bad in [
            json!("id"),
            json!([{"direction": "asc"}]),
            json!([{"field": "id", "direction": "up"}]),
        ] {
            assert!(parse_json(&bad).is_err(), "{bad}");
        }
        assert!(parse_text("-").is_err());
    }

    #[test]
    fn token_values_bind_back_by_kind() {
        let key = |kind| OrderKey {
            column: "c".into(),
            kind,
            descending: false,
        };
        assert_eq!(
            key(Kind::Timestamp)
                .bind(&token_value(SqlValue::Timestamp(TimeUnit::Second, 2)))
                .unwrap(),
            Some(SqlValue::Timestamp(TimeUnit::Microsecond, 2_000_000))
        );
        assert_eq!(key(Kind::Number).bind(&json!(null)).unwrap(), None);
        assert!(key(Kind::Text).bind(&json!(1)).is_err());
    }
}
