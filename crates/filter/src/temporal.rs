//! Instants, days and intervals of CQL2, and the temporal relations
//! (`T_BEFORE` ... `T_INTERSECTS`) over them, as SQL.
//!
//! Every temporal operand is an interval `[start, end]`, both ends included,
//! exactly as OGC CQL2 (21-065r2, 7.6) and cql2's own evaluator read them:
//!
//! - an instant (a `TIMESTAMP`, a bare RFC 3339 literal, a timestamp
//!   property) is `[t, t]`;
//! - a `DATE('2020-01-02')` is its whole UTC day,
//!   `[2020-01-02T00:00:00Z, 2020-01-02T23:59:59.999999Z]`;
//! - `INTERVAL(a, b)` is `[a, b]`, `'..'` an open end (`-infinity` /
//!   `infinity`); a date-only bound is midnight UTC (as cql2 reads it), and
//!   a bound may be a timestamp property.
//!
//! A NULL bound (a property the item lacks) makes the relation NULL: never a
//! match, with or without NOT.

use crate::sql::Sql;
use crate::{Error, Result};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// The DuckDB type of an instant.
pub(crate) const TIMESTAMP: &str = "TIMESTAMPTZ";

const DAY_MICROS: i64 = 86_400_000_000;

/// An RFC 3339 timestamp (or a plain date, meaning its midnight UTC) as a
/// bound TIMESTAMPTZ.
pub(crate) fn instant(text: &str) -> Result<Sql> {
    let micros = match date(text) {
        Ok(midnight) => midnight,
        Err(_) => timestamp(text)?,
    };
    Ok(bound_micros(micros))
}

/// A `TIMESTAMP('...')` literal as a bound TIMESTAMPTZ.
pub(crate) fn timestamp_literal(text: &str) -> Result<Sql> {
    timestamp(text).map(bound_micros)
}

/// A `DATE('...')` literal compared with an instant: its midnight UTC.
pub(crate) fn date_midnight(text: &str) -> Result<Sql> {
    date(text).map(bound_micros)
}

/// A `DATE('...')` literal as the interval of its whole UTC day.
pub(crate) fn date_interval(text: &str) -> Result<(Sql, Sql)> {
    let midnight = date(text)?;
    Ok((bound_micros(midnight), bound_micros(midnight + DAY_MICROS - 1)))
}

/// The open start or end of an interval (`'..'`).
pub(crate) fn open_end(start: bool) -> Sql {
    Sql::raw(if start {
        "CAST('-infinity' AS TIMESTAMPTZ)"
    } else {
        "CAST('infinity' AS TIMESTAMPTZ)"
    })
}

pub(crate) fn timestamp(text: &str) -> Result<i64> {
    let parsed = DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1))
        .map_err(|e| Error::Invalid(format!("{text:?} is not an RFC 3339 timestamp: {e}")))?;
    in_range(text, parsed.with_timezone(&Utc).timestamp_micros())
}

pub(crate) fn date(text: &str) -> Result<i64> {
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| Error::Invalid(format!("{text:?} is not a date (YYYY-MM-DD): {e}")))?;
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    in_range(text, midnight.timestamp_micros())
}

/// Years 1 to 9999 only, so that every value is one DuckDB reads back.
fn in_range(text: &str, micros: i64) -> Result<i64> {
    const MIN: i64 = -62_135_596_800_000_000; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z
    if (MIN..=MAX).contains(&micros) {
        Ok(micros)
    } else {
        Err(Error::Invalid(format!("{text:?} is outside the years 1 to 9999")))
    }
}

fn bound_micros(micros: i64) -> Sql {
    let instant = DateTime::from_timestamp_micros(micros).unwrap_or_default();
    let text = instant.to_rfc3339_opts(SecondsFormat::Micros, true);
    Sql::param(duckdb::types::Value::Text(text), TIMESTAMP)
}

/// One side of a temporal relation: the interval `[start, end]`, and
/// whether either end can be NULL (a property).
pub(crate) struct Period {
    pub start: Sql,
    pub end: Sql,
    pub nullable: bool,
}

/// Which end of which operand a condition compares.
#[derive(Clone, Copy)]
enum Bound {
    LeftStart,
    LeftFinish,
    RightStart,
    RightFinish,
}

use Bound::{LeftFinish as LE, LeftStart as LS, RightFinish as RE, RightStart as RS};

/// The conditions (all must hold) of each relation, from cql2's evaluator
/// (`temporal.rs`), which follows 21-065r2 Table 3. `t_disjoint` is the
/// negation of `t_intersects`.
fn conditions(op: &str) -> Option<&'static [(Bound, &'static str, Bound)]> {
    Some(match op {
        "t_before" => &[(LE, "<", RS)],
        "t_after" => &[(RE, "<", LS)],
        "t_meets" => &[(LE, "=", RS)],
        "t_metBy" => &[(RE, "=", LS)],
        "t_overlaps" => &[(LS, "<", RS), (RS, "<", LE), (LE, "<", RE)],
        "t_overlappedBy" => &[(RS, "<", LS), (LS, "<", RE), (RE, "<", LE)],
        "t_starts" => &[(LS, "=", RS), (LE, "<", RE)],
        "t_startedBy" => &[(RS, "=", LS), (RE, "<", LE)],
        "t_during" => &[(LS, ">", RS), (LE, "<", RE)],
        "t_contains" => &[(RS, ">", LS), (RE, "<", LE)],
        "t_finishes" => &[(LS, ">", RS), (LE, "=", RE)],
        "t_finishedBy" => &[(RS, ">", LS), (RE, "=", LE)],
        "t_equals" => &[(LS, "=", RS), (LE, "=", RE)],
        "t_intersects" | "t_disjoint" => &[(LS, "<=", RE), (LE, ">=", RS)],
        _ => return None,
    })
}

/// Whether `op` is a temporal relation of CQL2.
pub(crate) fn is_relation(op: &str) -> bool {
    conditions(op).is_some()
}

/// The SQL of the temporal relation `op` between two periods.
pub(crate) fn relation(op: &str, left: &Period, right: &Period) -> Result<Sql> {
    let conditions = conditions(op).ok_or_else(|| Error::Invalid(format!("{op} is not a temporal operator")))?;
    let end = |which: Bound| match which {
        LS => &left.start,
        LE => &left.end,
        RS => &right.start,
        RE => &right.end,
    };
    let parts: Vec<Sql> = conditions
        .iter()
        .map(|(a, cmp, b)| Sql::template(&["", &format!(" {cmp} "), ""], &[end(*a), end(*b)]))
        .collect();
    let mut sql = Sql::join(&parts, " AND ");
    if op == "t_disjoint" {
        sql = Sql::template(&["(NOT ", ")"], &[&sql]);
    }
    if !(left.nullable || right.nullable) {
        return Ok(sql);
    }
    // AND/NOT would turn a NULL end into false (or true): keep it NULL.
    let ends: Vec<Sql> = [left, right]
        .into_iter()
        .filter(|p| p.nullable)
        .flat_map(|p| [&p.start, &p.end])
        .map(|e| Sql::template(&["", " IS NULL"], &[e]))
        .collect();
    Ok(Sql::template(
        &["(CASE WHEN ", " THEN NULL ELSE ", " END)"],
        &[&Sql::join(&ends, " OR "), &sql],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_utc_microseconds() {
        let sql = timestamp_literal("2020-01-01T01:00:00+01:00").unwrap();
        assert_eq!(sql.text, "CAST(? AS TIMESTAMPTZ)");
        assert_eq!(
            sql.params,
            [duckdb::types::Value::Text("2020-01-01T00:00:00.000000Z".into())]
        );
        assert!(timestamp_literal("2020-01-01").is_err());
        assert!(instant("2020-01-01").is_ok());
        assert!(timestamp_literal("2020-01-01 10:00:00Z").is_ok());
        assert!(timestamp_literal("10000-01-01T00:00:00Z").is_err());
        assert!(timestamp_literal("'; DROP TABLE items; --").is_err());
        let (start, end) = date_interval("2020-02-29").unwrap();
        assert_eq!(
            start.params,
            [duckdb::types::Value::Text("2020-02-29T00:00:00.000000Z".into())]
        );
        assert_eq!(
            end.params,
            [duckdb::types::Value::Text("2020-02-29T23:59:59.999999Z".into())]
        );
        assert!(date_midnight("2020-02-30").is_err());
    }
}
