//! A filter as a [`Condition`]: a small typed tree of column tests that a
//! search engine can evaluate over typed columns, without SQL.
//!
//! [`to_condition`] covers what searches mostly use: AND, OR, NOT, IS NULL,
//! the comparisons, BETWEEN, IN and LIKE of a queryable against literals,
//! boolean literals, and free text. It answers `None` for anything else
//! (arithmetic, CASEI/ACCENTI, property against property, the spatial,
//! temporal and array operators): [`crate::to_sql`] covers every filter,
//! and is the reference this module must agree with (the engine's parity
//! tests run both, and cql2's evaluator). Call `to_sql` first: it refuses
//! what is invalid with a message; `to_condition` assumes a valid filter.
//!
//! NULL is SQL's: a test of a NULL value is unknown, NOT unknown is
//! unknown, and only a true condition matches.

use crate::like::LikePattern;
use crate::text::TextQuery;
use crate::{Kind, Scope, temporal};
use cql2::Expr;
use stac_indexed_format::schema::SEARCH_TEXT;

/// A filter over typed columns.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// True, false or (`None`) unknown for every row.
    Constant(Option<bool>),
    /// Every part is true.
    And(Vec<Condition>),
    /// Some part is true.
    Or(Vec<Condition>),
    /// The part is false.
    Not(Box<Condition>),
    /// The column is NULL.
    IsNull(Field),
    /// A test of a column's value; a NULL value gives `when_null`.
    Test {
        /// The column.
        field: Field,
        /// The test.
        test: Test,
        /// The answer for a NULL value (`None`: unknown, as in SQL).
        when_null: Option<bool>,
    },
}

/// A column of the items table and its type.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The column as an SQL expression (a quoted identifier).
    pub column: String,
    /// Its type.
    pub kind: Kind,
}

/// A test of one value.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// Of a number, an integer or a timestamp (UTC microseconds), as f64.
    Number(NumberTest),
    /// Of text.
    Text(TextTest),
    /// A boolean equals this.
    Boolean(bool),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `=`
    Equal,
    /// `<>`
    NotEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Comparison {
    fn of(op: &str) -> Option<Comparison> {
        Some(match op {
            "=" => Comparison::Equal,
            "<>" => Comparison::NotEqual,
            "<" => Comparison::Less,
            "<=" => Comparison::LessOrEqual,
            ">" => Comparison::Greater,
            ">=" => Comparison::GreaterOrEqual,
            _ => return None,
        })
    }

    /// The same comparison with its operands swapped (`a < b` is `b > a`).
    fn flipped(self) -> Comparison {
        match self {
            Comparison::Less => Comparison::Greater,
            Comparison::LessOrEqual => Comparison::GreaterOrEqual,
            Comparison::Greater => Comparison::Less,
            Comparison::GreaterOrEqual => Comparison::LessOrEqual,
            same => same,
        }
    }

    fn holds<T: PartialOrd + ?Sized>(self, value: &T, other: &T) -> bool {
        match self {
            Comparison::Equal => value == other,
            Comparison::NotEqual => value != other,
            Comparison::Less => value < other,
            Comparison::LessOrEqual => value <= other,
            Comparison::Greater => value > other,
            Comparison::GreaterOrEqual => value >= other,
        }
    }
}

/// A test of a number.
#[derive(Clone, Debug, PartialEq)]
pub enum NumberTest {
    /// `value <op> operand`.
    Compare(Comparison, f64),
    /// `low <= value <= high`.
    Between(f64, f64),
    /// The value is one of these (sorted).
    In(Vec<f64>),
}

impl NumberTest {
    /// Whether a (non-NULL) value passes.
    pub fn matches(&self, value: f64) -> bool {
        match self {
            NumberTest::Compare(op, operand) => op.holds(&value, operand),
            NumberTest::Between(low, high) => *low <= value && value <= *high,
            NumberTest::In(values) => values.binary_search_by(|v| v.total_cmp(&value)).is_ok(),
        }
    }
}

/// A test of text.
#[derive(Clone, Debug, PartialEq)]
pub enum TextTest {
    /// `value <op> operand`, bytewise.
    Compare(Comparison, String),
    /// `low <= value <= high`.
    Between(String, String),
    /// The value is one of these (sorted).
    In(Vec<String>),
    /// `value LIKE pattern ESCAPE '\'`.
    Like(LikePattern),
    /// The value contains this.
    Contains(String),
}

impl TextTest {
    /// Whether a (non-NULL) value passes.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            TextTest::Compare(op, operand) => op.holds(value, operand.as_str()),
            TextTest::Between(low, high) => low.as_str() <= value && value <= high.as_str(),
            TextTest::In(values) => values.binary_search_by(|v| v.as_str().cmp(value)).is_ok(),
            TextTest::Like(pattern) => pattern.matches(value),
            TextTest::Contains(part) => value.contains(part.as_str()),
        }
    }
}

/// The condition of a CQL2 filter, when it is one of the covered shapes.
pub fn to_condition(expr: &Expr, scope: &Scope<'_>) -> Option<Condition> {
    let Expr::Operation { op, args } = expr else {
        return match expr {
            Expr::Bool(b) => Some(Condition::Constant(Some(*b))),
            Expr::Property { property } => {
                let field = field(scope, property)?;
                (field.kind == Kind::Boolean).then_some(test(field, Test::Boolean(true)))
            }
            _ => None,
        };
    };
    let op = op.as_str();
    match (op, args.as_slice()) {
        ("and", [_, ..]) => args
            .iter()
            .map(|a| to_condition(a, scope))
            .collect::<Option<_>>()
            .map(Condition::And),
        ("or", [_, ..]) => args
            .iter()
            .map(|a| to_condition(a, scope))
            .collect::<Option<_>>()
            .map(Condition::Or),
        ("not", [inner]) => to_condition(inner, scope).map(|c| Condition::Not(Box::new(c))),
        ("isNull", [inner]) => match &**inner {
            Expr::Property { property } => field(scope, property).map(Condition::IsNull),
            _ => None,
        },
        ("between", [value, low, high]) => between(scope, value, low, high),
        ("between", [value, range]) => match &**range {
            Expr::Array(bounds) if bounds.len() == 2 => between(scope, value, &bounds[0], &bounds[1]),
            _ => None,
        },
        ("in", [value, list]) => in_list(scope, value, list),
        ("like", [value, pattern]) => {
            let (Expr::Property { property }, Expr::Literal(pattern)) = (&**value, &**pattern) else {
                return None;
            };
            let field = field(scope, property)?;
            (field.kind == Kind::Text).then(|| test(field, Test::Text(TextTest::Like(LikePattern::new(pattern)))))
        }
        (_, [left, right]) => {
            let comparison = Comparison::of(op)?;
            match (&**left, &**right) {
                (Expr::Property { property }, literal) => compare(scope, property, comparison, literal),
                (literal, Expr::Property { property }) => compare(scope, property, comparison.flipped(), literal),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The condition of free text (`q`) over the `search_text` column, which
/// a missing text reads as empty.
pub fn text_condition(query: &TextQuery) -> Condition {
    match query {
        TextQuery::Term(term) => Condition::Test {
            field: Field {
                column: SEARCH_TEXT.to_string(),
                kind: Kind::Text,
            },
            test: Test::Text(TextTest::Contains(term.clone())),
            when_null: Some(false),
        },
        TextQuery::All(parts) => Condition::And(parts.iter().map(text_condition).collect()),
        TextQuery::Any(parts) => Condition::Or(parts.iter().map(text_condition).collect()),
        TextQuery::Not(part) => Condition::Not(Box::new(text_condition(part))),
    }
}

fn field(scope: &Scope<'_>, property: &str) -> Option<Field> {
    let queryable = scope.queryable(property).ok()?;
    Some(Field {
        column: queryable.sql_column(),
        kind: queryable.kind,
    })
}

fn test(field: Field, test: Test) -> Condition {
    Condition::Test {
        field,
        test,
        when_null: None,
    }
}

/// A literal as a number for a column of `kind`: numbers for numbers and
/// integers, instants for timestamps (as the SQL translation reads them).
fn number(kind: Kind, literal: &Expr) -> Option<f64> {
    let micros = match (kind, literal) {
        (Kind::Number | Kind::Integer, Expr::Float(n)) => return Some(*n),
        (Kind::Timestamp, Expr::Literal(text)) => temporal::date(text).or_else(|_| temporal::timestamp(text)).ok()?,
        (Kind::Timestamp, Expr::Timestamp { timestamp }) => match &**timestamp {
            Expr::Literal(text) => temporal::timestamp(text).ok()?,
            _ => return None,
        },
        (Kind::Timestamp, Expr::Date { date }) => match &**date {
            Expr::Literal(text) => temporal::date(text).ok()?,
            _ => return None,
        },
        _ => return None,
    };
    // Exact as a double up to 2^53 microseconds (the year 2255); later
    // instants are left to SQL.
    (micros.unsigned_abs() < 1 << 53).then_some(micros as f64)
}

fn compare(scope: &Scope<'_>, property: &str, comparison: Comparison, literal: &Expr) -> Option<Condition> {
    let field = field(scope, property)?;
    let kind = field.kind;
    match (kind, literal) {
        (Kind::Text, Expr::Literal(text)) => Some(test(field, Test::Text(TextTest::Compare(comparison, text.clone())))),
        (Kind::Boolean, Expr::Bool(b)) => match comparison {
            Comparison::Equal => Some(test(field, Test::Boolean(*b))),
            Comparison::NotEqual => Some(test(field, Test::Boolean(!b))),
            _ => None,
        },
        _ => number(kind, literal).map(|n| test(field, Test::Number(NumberTest::Compare(comparison, n)))),
    }
}

fn between(scope: &Scope<'_>, value: &Expr, low: &Expr, high: &Expr) -> Option<Condition> {
    let Expr::Property { property } = value else {
        return None;
    };
    let field = field(scope, property)?;
    match (field.kind, low, high) {
        (Kind::Text, Expr::Literal(low), Expr::Literal(high)) => {
            Some(test(field, Test::Text(TextTest::Between(low.clone(), high.clone()))))
        }
        (kind, low, high) => {
            let (low, high) = (number(kind, low)?, number(kind, high)?);
            Some(test(field, Test::Number(NumberTest::Between(low, high))))
        }
    }
}

fn in_list(scope: &Scope<'_>, value: &Expr, list: &Expr) -> Option<Condition> {
    let (Expr::Property { property }, Expr::Array(items)) = (value, list) else {
        return None;
    };
    let field = field(scope, property)?;
    let has_null = items.iter().any(|item| matches!(**item, Expr::Null));
    let values = items.iter().filter(|item| !matches!(***item, Expr::Null));
    let test = match field.kind {
        Kind::Text => {
            let mut texts = values
                .map(|item| match &**item {
                    Expr::Literal(text) => Some(text.clone()),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            texts.sort_unstable();
            test(field, Test::Text(TextTest::In(texts)))
        }
        Kind::Number | Kind::Integer => {
            let mut numbers = values
                .map(|item| match &**item {
                    Expr::Float(n) => Some(*n),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            numbers.sort_by(f64::total_cmp);
            test(field, Test::Number(NumberTest::In(numbers)))
        }
        _ => return None,
    };
    // `x IN (a, NULL)` is true when x = a and unknown otherwise.
    Some(if has_null {
        Condition::Or(vec![test, Condition::Constant(None)])
    } else {
        test
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_as_sql_does() {
        for (value, pattern, expected) in [
            ("landsat-8", "landsat%", true),
            ("landsat-8", "%sat%", true),
            ("landsat-8", "l_ndsat-_", true),
            ("landsat-8", "landsat", false),
            ("50%", "50\\%", true),
            ("500", "50\\%", false),
            ("a_b", "a\\_b", true),
            ("axb", "a\\_b", false),
            ("", "%", true),
            ("", "_", false),
            ("abcabc", "%abc", true),
            ("aXbYc", "a%b%c", true),
            ("ümlaut", "_mlaut", true),
        ] {
            assert_eq!(
                LikePattern::new(pattern).matches(value),
                expected,
                "{value} LIKE {pattern}"
            );
        }
    }

    #[test]
    fn tests_compare_like_sql() {
        assert!(NumberTest::Compare(Comparison::Less, 10.0).matches(9.5));
        assert!(!NumberTest::Compare(Comparison::Less, 10.0).matches(10.0));
        assert!(NumberTest::Between(1.0, 2.0).matches(2.0));
        assert!(NumberTest::In(vec![1.0, 3.0]).matches(3.0));
        assert!(TextTest::Compare(Comparison::GreaterOrEqual, "b".into()).matches("ba"));
        assert!(TextTest::In(vec!["x".into()]).matches("x"));
        assert_eq!(Comparison::Less.flipped(), Comparison::Greater);
    }
}
