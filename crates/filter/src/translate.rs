//! A parsed CQL2 expression to parameterised DuckDB SQL over the `items`
//! columns ([`to_sql`]).
//!
//! Identifiers come only from the [`Scope`]'s queryables; every value is a
//! bound parameter, cast to the type it is compared as, so that a client's
//! mistake is a 400 naming what is wrong, never a DuckDB error.
//!
//! Semantics (cql2's own evaluator, `Expr::matches`, is the oracle of the tests):
//!
//! - NULL: a property an item lacks is NULL. A comparison, LIKE, BETWEEN,
//!   IN, spatial, temporal or array operator with a NULL operand is NULL,
//!   and NOT NULL is NULL: the item does not match. `IS NULL` matches it.
//! - Types: numbers (integer or not) compare with numbers, text with text,
//!   booleans with booleans, instants with instants. A bare string beside a
//!   timestamp property is read as an RFC 3339 timestamp. Anything else (a
//!   number property against a string, text against a number, `=` on
//!   arrays or geometries) is refused, naming the property.
//! - Dates: a `DATE` compared (`=`, `<`, ...) with an instant is its
//!   midnight UTC; in a temporal operator it is its whole UTC day (see
//!   [`crate::temporal`]).
//! - LIKE: `%` and `_` are wildcards, `\` escapes them; the pattern is a
//!   literal, optionally in CASEI/ACCENTI. CASEI is `lower()`, ACCENTI
//!   `strip_accents()`.
//! - IN takes a list of text or number literals, bound as one parameter.
//! - Arithmetic is on DOUBLEs, IEEE-style (`x / 0` is infinite, as in cql2);
//!   `div` truncates toward zero and is NULL for a zero divisor.
//! - Arrays compare as sets (order and duplicates do not matter).
//! - Spatial operators are exact (DE-9IM with `geo`), after a bbox pre-filter
//!   on the bbox columns.

use crate::expression::{MAX_DEPTH, too_deep};
use crate::region::{Region, bbox_inside, bbox_overlap};
use crate::spatial::Relation;
use crate::sql::Sql;
use crate::temporal::{self, Period};
use crate::{Error, Kind, Result, Scope};
use cql2::Expr;
use duckdb::types::Value;
use serde_json::json;
use stac_indexed_format::schema::GEOMETRY;

/// Lists longer than this are matched with a hash join rather than a scan of the list.
const SHORT_LIST: usize = 64;

/// The SQL of a filter: a boolean fragment for `WHERE (...)`.
pub fn to_sql(expr: &Expr, scope: &Scope) -> Result<Sql> {
    Translator { scope }.predicate(expr, 0)
}

/// What a scalar operand holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Boolean,
    Text,
    Number,
    Timestamp,
    TextArray,
    Geometry,
}

impl Type {
    fn of(kind: Kind) -> Type {
        match kind {
            Kind::Text => Type::Text,
            Kind::Number | Kind::Integer => Type::Number,
            Kind::Boolean => Type::Boolean,
            Kind::Timestamp => Type::Timestamp,
            Kind::TextArray => Type::TextArray,
            Kind::Geometry => Type::Geometry,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Type::Boolean => "a boolean",
            Type::Text => "text",
            Type::Number => "a number",
            Type::Timestamp => "a timestamp",
            Type::TextArray => "an array",
            Type::Geometry => "a geometry",
        }
    }
}

/// A translated scalar: its SQL and type (`None` for NULL).
struct Operand {
    sql: Sql,
    ty: Option<Type>,
}

/// The name of an operand in an error message.
fn describe(expr: &Expr) -> String {
    match expr {
        Expr::Property { property } => format!("property {property:?}"),
        other => {
            let text = other.to_text().unwrap_or_else(|_| "a value".into());
            match text.char_indices().nth(60) {
                Some((cut, _)) => format!("{}...", &text[..cut]),
                None => text,
            }
        }
    }
}

fn arity<'e>(op: &str, args: &'e [Box<Expr>], count: usize) -> Result<&'e [Box<Expr>]> {
    if args.len() == count {
        Ok(args)
    } else {
        Err(Error::Invalid(format!(
            "{op} takes {count} argument(s), not {}",
            args.len()
        )))
    }
}

/// BETWEEN's three operands. The pre-1.0 cql2-json spelling
/// `{"op": "between", "args": [x, [low, high]]}` (which some clients and
/// stac-api-validator still send) is read as `[x, low, high]`.
fn between_operands(args: &[Box<Expr>]) -> Result<[&Expr; 3]> {
    if let [value, range] = args
        && let Expr::Array(bounds) = &**range
        && let [low, high] = bounds.as_slice()
    {
        return Ok([value, low, high]);
    }
    let args = arity("between", args, 3)?;
    Ok([&args[0], &args[1], &args[2]])
}

const COMPARISONS: [&str; 6] = ["=", "<>", "<", "<=", ">", ">="];
const ARITHMETIC: [&str; 7] = ["+", "-", "*", "/", "%", "^", "div"];
const ARRAYS: [&str; 4] = ["a_equals", "a_contains", "a_containedBy", "a_overlaps"];

struct Translator<'s, 'q> {
    scope: &'s Scope<'q>,
}

impl Translator<'_, '_> {
    fn predicate(&self, expr: &Expr, depth: usize) -> Result<Sql> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let depth = depth + 1;
        let Expr::Operation { op, args } = expr else {
            return self.boolean(expr, depth);
        };
        let op = op.as_str();
        match op {
            "and" | "or" if !args.is_empty() => {
                let parts = args
                    .iter()
                    .map(|a| self.predicate(a, depth))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Sql::join(&parts, if op == "and" { " AND " } else { " OR " }))
            }
            "not" => {
                let inner = self.predicate(&arity(op, args, 1)?[0], depth)?;
                Ok(Sql::template(&["(NOT ", ")"], &[&inner]))
            }
            "isNull" => {
                let inner = self.scalar(&arity(op, args, 1)?[0], None, depth)?;
                Ok(Sql::template(&["(", " IS NULL)"], &[&inner.sql]))
            }
            _ if COMPARISONS.contains(&op) => self.comparison(op, arity(op, args, 2)?, depth),
            "like" => self.like(arity(op, args, 2)?, depth),
            "between" => self.between(between_operands(args)?, depth),
            "in" => self.in_list(arity(op, args, 2)?, depth),
            _ if temporal::is_relation(op) => self.temporal(op, arity(op, args, 2)?),
            _ if ARRAYS.contains(&op) => self.array(op, arity(op, args, 2)?),
            _ => match Relation::of_operator(op) {
                Some(relation) => self.spatial(relation, arity(op, args, 2)?),
                None => self.boolean(expr, depth),
            },
        }
    }

    /// A scalar used as a condition: it must be a boolean (or NULL).
    fn boolean(&self, expr: &Expr, depth: usize) -> Result<Sql> {
        let operand = self.scalar(expr, Some(Type::Boolean), depth)?;
        match operand.ty {
            None | Some(Type::Boolean) => Ok(operand.sql),
            Some(other) => Err(Error::Invalid(format!(
                "{} is {}, not a condition",
                describe(expr),
                other.name()
            ))),
        }
    }

    fn property(&self, name: &str) -> Result<Operand> {
        let queryable = self.scope.queryable(name)?;
        Ok(Operand {
            sql: Sql::raw(queryable.sql_column()),
            ty: Some(Type::of(queryable.kind)),
        })
    }

    /// The type an operand has on its own; `None` for a bare string or NULL,
    /// which take their type from the other operands.
    fn type_hint(&self, expr: &Expr) -> Result<Option<Type>> {
        Ok(match expr {
            Expr::Property { property } => Some(Type::of(self.scope.queryable(property)?.kind)),
            Expr::Float(_) => Some(Type::Number),
            Expr::Bool(_) => Some(Type::Boolean),
            Expr::Timestamp { .. } | Expr::Date { .. } => Some(Type::Timestamp),
            Expr::Array(_) => Some(Type::TextArray),
            Expr::Geometry(_) | Expr::BBox { .. } => Some(Type::Geometry),
            Expr::Operation { op, .. } if op == "casei" || op == "accenti" => Some(Type::Text),
            Expr::Operation { op, .. } if ARITHMETIC.contains(&op.as_str()) => Some(Type::Number),
            Expr::Operation { .. } => Some(Type::Boolean),
            Expr::Literal(_) | Expr::Null | Expr::Interval { .. } => None,
        })
    }

    fn scalar(&self, expr: &Expr, hint: Option<Type>, depth: usize) -> Result<Operand> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let depth = depth + 1;
        let typed = |sql: Sql, ty: Type| Ok(Operand { sql, ty: Some(ty) });
        match expr {
            Expr::Property { property } => self.property(property),
            Expr::Float(n) => typed(Sql::param(Value::Double(*n), "DOUBLE"), Type::Number),
            Expr::Bool(b) => typed(Sql::param(Value::Boolean(*b), "BOOLEAN"), Type::Boolean),
            Expr::Literal(text) if hint == Some(Type::Timestamp) => typed(temporal::instant(text)?, Type::Timestamp),
            Expr::Literal(text) => typed(Sql::param(Value::Text(text.clone()), "VARCHAR"), Type::Text),
            Expr::Null => Ok(Operand {
                sql: Sql::raw("NULL"),
                ty: None,
            }),
            Expr::Timestamp { timestamp } => typed(temporal::timestamp_literal(literal(timestamp)?)?, Type::Timestamp),
            Expr::Date { date } => typed(temporal::date_midnight(literal(date)?)?, Type::Timestamp),
            Expr::Array(_) => typed(text_array(expr)?, Type::TextArray),
            Expr::Geometry(_) | Expr::BBox { .. } => typed(Region::of(expr)?.sql(), Type::Geometry),
            Expr::Interval { .. } => Err(Error::Invalid(
                "an INTERVAL can only be an argument of a temporal operator (T_...)".into(),
            )),
            Expr::Operation { op, args } if op == "casei" || op == "accenti" => {
                let inner = self.text(&arity(op, args, 1)?[0], depth)?;
                let function = if op == "casei" { "lower" } else { "strip_accents" };
                typed(Sql::call(function, &[&inner]), Type::Text)
            }
            Expr::Operation { op, args } if ARITHMETIC.contains(&op.as_str()) => {
                typed(self.arithmetic(op, args, depth)?, Type::Number)
            }
            Expr::Operation { .. } if is_operator(expr) => typed(self.predicate(expr, depth)?, Type::Boolean),
            Expr::Operation { op, .. } => Err(Error::Invalid(format!("unsupported function or operator {op:?}"))),
        }
    }

    /// A text operand (a text property, a string, CASEI/ACCENTI of one).
    fn text(&self, expr: &Expr, depth: usize) -> Result<Sql> {
        let operand = self.scalar(expr, Some(Type::Text), depth)?;
        match operand.ty {
            None | Some(Type::Text) => Ok(operand.sql),
            Some(other) => Err(Error::Invalid(format!(
                "{} is {}, not text",
                describe(expr),
                other.name()
            ))),
        }
    }

    /// Operands that must share one type, each read with the type the
    /// others have on their own.
    fn same_type(&self, exprs: &[&Expr], depth: usize) -> Result<(Vec<Sql>, Option<Type>)> {
        let mut hint = None;
        for expr in exprs {
            if let Some(ty) = self.type_hint(expr)? {
                hint = Some(ty);
                break;
            }
        }
        let operands = exprs
            .iter()
            .map(|e| self.scalar(e, hint, depth))
            .collect::<Result<Vec<_>>>()?;
        let mut found: Option<(Type, &Expr)> = None;
        for (operand, expr) in operands.iter().zip(exprs) {
            match (operand.ty, found) {
                (Some(ty), Some((other, other_expr))) if ty != other => {
                    return Err(Error::Invalid(format!(
                        "cannot compare {} ({}) with {} ({})",
                        describe(other_expr),
                        other.name(),
                        describe(expr),
                        ty.name()
                    )));
                }
                (Some(ty), None) => found = Some((ty, expr)),
                _ => {}
            }
        }
        Ok((operands.into_iter().map(|o| o.sql).collect(), found.map(|f| f.0)))
    }

    fn comparison(&self, op: &str, args: &[Box<Expr>], depth: usize) -> Result<Sql> {
        let (sql, ty) = self.same_type(&[&args[0], &args[1]], depth)?;
        if let Some(ty @ (Type::TextArray | Type::Geometry)) = ty {
            return Err(Error::Invalid(format!(
                "{op} does not compare {}s ({}); use the A_ or S_ operators",
                ty.name(),
                describe(&args[0])
            )));
        }
        Ok(Sql::template(&["(", &format!(" {op} "), ")"], &[&sql[0], &sql[1]]))
    }

    fn like(&self, args: &[Box<Expr>], depth: usize) -> Result<Sql> {
        let value = self.text(&args[0], depth)?;
        let pattern = peel(&args[1]).1.ok_or_else(|| {
            Error::Invalid("the pattern of LIKE must be a string (optionally in CASEI/ACCENTI)".into())
        })?;
        if pattern.chars().rev().take_while(|c| *c == '\\').count() % 2 == 1 {
            return Err(Error::Invalid(format!(
                "LIKE pattern {pattern:?} ends with a lone escape '\\'"
            )));
        }
        let pattern = self.text(&args[1], depth)?;
        Ok(Sql::template(&["(", " LIKE ", " ESCAPE '\\')"], &[&value, &pattern]))
    }

    fn between(&self, args: [&Expr; 3], depth: usize) -> Result<Sql> {
        let (sql, ty) = self.same_type(&args, depth)?;
        if let Some(ty @ (Type::TextArray | Type::Geometry | Type::Boolean)) = ty {
            return Err(Error::Invalid(format!(
                "BETWEEN does not apply to {} ({})",
                ty.name(),
                describe(args[0])
            )));
        }
        Ok(Sql::template(
            &["(", " BETWEEN ", " AND ", ")"],
            &[&sql[0], &sql[1], &sql[2]],
        ))
    }

    /// `x IN (a, b, ...)`: the list is one parameter.
    fn in_list(&self, args: &[Box<Expr>], depth: usize) -> Result<Sql> {
        let Expr::Array(items) = &*args[1] else {
            return Err(Error::Invalid("IN takes a list of values".into()));
        };
        let first = items.iter().find(|item| !matches!(***item, Expr::Null));
        let wrappers = first.map(|item| peel(item).0).unwrap_or_default();
        let mut values = Vec::with_capacity(items.len());
        let mut has_null = false;
        for item in items {
            match peel(item) {
                _ if matches!(**item, Expr::Null) => has_null = true,
                (w, _) if w != wrappers => {
                    return Err(Error::Invalid(
                        "IN: every value must be in the same CASEI/ACCENTI".into(),
                    ));
                }
                (_, Some(text)) => values.push(json!(text)),
                (_, None) => match **item {
                    Expr::Float(n) if wrappers.is_empty() => values.push(json!(n)),
                    _ => {
                        return Err(Error::Invalid(format!(
                            "IN: {} is not a text or number",
                            describe(item)
                        )));
                    }
                },
            }
        }
        let list_type = match values.first() {
            Some(first) if first.is_number() => Type::Number,
            _ => Type::Text,
        };
        if values.iter().any(|v| v.is_number() != (list_type == Type::Number)) {
            return Err(Error::Invalid("IN: the values must be all text or all numbers".into()));
        }
        let value = self.scalar(&args[0], Some(list_type), depth)?;
        if value.ty.is_some_and(|ty| ty != list_type) && !values.is_empty() {
            return Err(Error::Invalid(format!(
                "IN: {} is not compared with a list of {}",
                describe(&args[0]),
                list_type.name()
            )));
        }
        let (sql_type, value) = match list_type {
            Type::Number => ("DOUBLE[]", Sql::template(&["CAST(", " AS DOUBLE)"], &[&value.sql])),
            _ => ("VARCHAR[]", value.sql),
        };
        let mut list = json_list(&values, sql_type);
        for function in wrappers.iter().rev() {
            list = Sql::template(&["list_transform(", &format!(", lambda v: {function}(v))")], &[&list]);
        }
        let test = if values.len() <= SHORT_LIST {
            Sql::call("list_contains", &[&list, &value])
        } else {
            Sql::template(&["(", " IN (SELECT unnest(", ")))"], &[&value, &list])
        };
        Ok(if has_null {
            // `x IN (a, NULL)` is true when x = a, else NULL (never false).
            Sql::template(&["(", " OR NULL)"], &[&test])
        } else {
            test
        })
    }

    fn arithmetic(&self, op: &str, args: &[Box<Expr>], depth: usize) -> Result<Sql> {
        let binary = op == "^" || op == "div";
        if args.len() < 2 || (binary && args.len() != 2) {
            return Err(Error::Invalid(format!("{op} takes two arguments")));
        }
        let mut operands = args.iter().map(|arg| {
            let operand = self.scalar(arg, Some(Type::Number), depth)?;
            match operand.ty {
                None | Some(Type::Number) => Ok(Sql::template(&["CAST(", " AS DOUBLE)"], &[&operand.sql])),
                Some(other) => Err(Error::Invalid(format!(
                    "{op}: {} is {}, not a number",
                    describe(arg),
                    other.name()
                ))),
            }
        });
        let first = operands.next().unwrap_or_else(|| Ok(Sql::raw("NULL")))?;
        operands.try_fold(first, |left, right| {
            let right = right?;
            Ok(match op {
                "^" => Sql::call("power", &[&left, &right]),
                "div" => Sql::template(&["trunc(", " / nullif(", ", 0))"], &[&left, &right]),
                _ => Sql::template(&["(", &format!(" {op} "), ")"], &[&left, &right]),
            })
        })
    }

    fn temporal(&self, op: &str, args: &[Box<Expr>]) -> Result<Sql> {
        if args.iter().any(|a| matches!(**a, Expr::Null)) {
            return Ok(Sql::raw("NULL"));
        }
        let left = self.period(op, &args[0])?;
        let right = self.period(op, &args[1])?;
        temporal::relation(op, &left, &right)
    }

    fn period(&self, op: &str, expr: &Expr) -> Result<Period> {
        let instant = |sql: Sql, nullable| Period {
            start: sql.clone(),
            end: sql,
            nullable,
        };
        match expr {
            Expr::Property { property } => Ok(instant(self.timestamp_column(op, property)?, true)),
            Expr::Literal(text) => Ok(instant(temporal::instant(text)?, false)),
            Expr::Timestamp { timestamp } => Ok(instant(temporal::timestamp_literal(literal(timestamp)?)?, false)),
            Expr::Date { date } => {
                let (start, end) = temporal::date_interval(literal(date)?)?;
                Ok(Period {
                    start,
                    end,
                    nullable: false,
                })
            }
            Expr::Interval { interval } => {
                let [start, end] = interval.as_slice() else {
                    return Err(Error::Invalid("INTERVAL takes a start and an end".into()));
                };
                let (start, start_nullable) = self.interval_bound(op, start, true)?;
                let (end, end_nullable) = self.interval_bound(op, end, false)?;
                Ok(Period {
                    start,
                    end,
                    nullable: start_nullable || end_nullable,
                })
            }
            other => Err(Error::Invalid(format!(
                "{op} takes instants and intervals, not {}",
                describe(other)
            ))),
        }
    }

    fn interval_bound(&self, op: &str, expr: &Expr, start: bool) -> Result<(Sql, bool)> {
        match expr {
            Expr::Literal(text) if text == ".." => Ok((temporal::open_end(start), false)),
            Expr::Literal(text) => Ok((temporal::instant(text)?, false)),
            Expr::Timestamp { timestamp } => Ok((temporal::timestamp_literal(literal(timestamp)?)?, false)),
            Expr::Date { date } => Ok((temporal::date_midnight(literal(date)?)?, false)),
            Expr::Property { property } => Ok((self.timestamp_column(op, property)?, true)),
            other => Err(Error::Invalid(format!(
                "an INTERVAL bound is a timestamp, '..' or a timestamp property, not {}",
                describe(other)
            ))),
        }
    }

    fn timestamp_column(&self, op: &str, name: &str) -> Result<Sql> {
        let queryable = self.scope.queryable(name)?;
        if queryable.kind != Kind::Timestamp {
            return Err(Error::Invalid(format!(
                "{op} takes timestamps; property {name:?} is {}",
                Type::of(queryable.kind).name()
            )));
        }
        Ok(Sql::raw(queryable.sql_column()))
    }

    fn array(&self, op: &str, args: &[Box<Expr>]) -> Result<Sql> {
        if args.iter().any(|a| matches!(**a, Expr::Null)) {
            return Ok(Sql::raw("NULL"));
        }
        let [a, b] = [&args[0], &args[1]].map(|arg| match &**arg {
            Expr::Property { property } => {
                let queryable = self.scope.queryable(property)?;
                match queryable.kind {
                    Kind::TextArray => Ok(Sql::raw(queryable.sql_column())),
                    kind => Err(Error::Invalid(format!(
                        "{op} takes arrays; property {property:?} is {}",
                        Type::of(kind).name()
                    ))),
                }
            }
            Expr::Array(_) => text_array(arg),
            other => Err(Error::Invalid(format!("{op} takes arrays, not {}", describe(other)))),
        });
        let (a, b) = (a?, b?);
        Ok(match op {
            "a_equals" => Sql::template(
                &["(list_has_all(", ", ", ") AND list_has_all(", ", ", "))"],
                &[&a, &b, &b, &a],
            ),
            "a_contains" => Sql::call("list_has_all", &[&a, &b]),
            "a_containedBy" => Sql::call("list_has_all", &[&b, &a]),
            _ => Sql::call("list_has_any", &[&a, &b]),
        })
    }

    fn spatial(&self, relation: Relation, args: &[Box<Expr>]) -> Result<Sql> {
        let (first, second) = (self.region(relation, &args[0])?, self.region(relation, &args[1])?);
        let (relation, column, region) = match (first, second) {
            (Side::Null, _) | (_, Side::Null) => return Ok(Sql::raw("NULL")),
            (Side::Literal(region), Side::Column(column, bbox)) => (relation.converse(), (column, bbox), region),
            (Side::Column(column, bbox), Side::Literal(region)) => (relation, (column, bbox), region),
            (first, second) => {
                return Ok(Sql::call(relation.sql_function(), &[&first.sql(), &second.sql()]));
            }
        };
        let exact = Sql::call(relation.sql_function(), &[&column.0, &region.sql()]);
        if !column.1 {
            return Ok(exact);
        }
        // Rows whose bbox misses the region's bounds are decided without the
        // exact test (and, for all but disjoint, skipped by DuckDB).
        let overlap = bbox_overlap(region.bounds);
        if !relation.implies_intersection() {
            return Ok(Sql::template(
                &["(CASE WHEN NOT ", " THEN true ELSE ", " END)"],
                &[&overlap, &exact],
            ));
        }
        let inside = match region.rectangle {
            Some(rectangle) if relation == Relation::Intersects => {
                Sql::template(&["WHEN ", " THEN true "], &[&bbox_inside(rectangle)])
            }
            _ => Sql::raw(""),
        };
        Ok(Sql::template(
            &["(", " AND CASE WHEN NOT ", " THEN false ", "ELSE ", " END)"],
            &[&overlap, &overlap, &inside, &exact],
        ))
    }

    fn region(&self, relation: Relation, expr: &Expr) -> Result<Side> {
        match expr {
            Expr::Null => Ok(Side::Null),
            Expr::Property { property } => {
                let queryable = self.scope.queryable(property)?;
                if queryable.kind != Kind::Geometry {
                    return Err(Error::Invalid(format!(
                        "{} takes geometries; property {property:?} is {}",
                        relation.operator(),
                        Type::of(queryable.kind).name()
                    )));
                }
                Ok(Side::Column(
                    Sql::raw(queryable.sql_column()),
                    queryable.column == GEOMETRY,
                ))
            }
            Expr::Geometry(_) | Expr::BBox { .. } => Ok(Side::Literal(Region::of(expr)?)),
            other => Err(Error::Invalid(format!(
                "{} takes geometries, not {}",
                relation.operator(),
                describe(other)
            ))),
        }
    }
}

/// One operand of a spatial operator.
enum Side {
    Null,
    /// A geometry column, and whether it is the item geometry (with bbox columns).
    Column(Sql, bool),
    Literal(Region),
}

impl Side {
    fn sql(&self) -> Sql {
        match self {
            Side::Null => Sql::raw("NULL"),
            Side::Column(sql, _) => sql.clone(),
            Side::Literal(region) => region.sql(),
        }
    }
}

/// Whether an operation is one of CQL2's predicates.
fn is_operator(expr: &Expr) -> bool {
    let Expr::Operation { op, .. } = expr else {
        return false;
    };
    let op = op.as_str();
    ["and", "or", "not", "isNull", "like", "between", "in"].contains(&op)
        || COMPARISONS.contains(&op)
        || ARRAYS.contains(&op)
        || temporal::is_relation(op)
        || Relation::of_operator(op).is_some()
}

/// The string inside `TIMESTAMP(...)` or `DATE(...)`.
fn literal(expr: &Expr) -> Result<&str> {
    match expr {
        Expr::Literal(text) => Ok(text),
        other => Err(Error::Invalid(format!(
            "TIMESTAMP and DATE take a string, not {}",
            describe(other)
        ))),
    }
}

/// The CASEI/ACCENTI around a string literal (outermost first), and the string.
fn peel(expr: &Expr) -> (Vec<&'static str>, Option<&str>) {
    match expr {
        Expr::Literal(text) => (Vec::new(), Some(text)),
        Expr::Operation { op, args } if args.len() == 1 && (op == "casei" || op == "accenti") => {
            let (mut wrappers, text) = peel(&args[0]);
            wrappers.insert(0, if op == "casei" { "lower" } else { "strip_accents" });
            (wrappers, text)
        }
        _ => (Vec::new(), None),
    }
}

/// An array literal of strings as one bound `VARCHAR[]`.
fn text_array(expr: &Expr) -> Result<Sql> {
    let Expr::Array(items) = expr else {
        return Err(Error::Invalid(format!("{} is not an array", describe(expr))));
    };
    let values = items
        .iter()
        .map(|item| match &**item {
            Expr::Literal(text) => Ok(json!(text)),
            other => Err(Error::Invalid(format!(
                "array values must be strings, not {}",
                describe(other)
            ))),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json_list(&values, "VARCHAR[]"))
}

/// A list bound as one JSON text parameter (duckdb-rs cannot bind lists).
fn json_list(values: &[serde_json::Value], sql_type: &str) -> Sql {
    let text = serde_json::Value::Array(values.to_vec()).to_string();
    Sql::template(
        &["CAST(", &format!(" AS {sql_type})")],
        &[&Sql::param(Value::Text(text), "JSON")],
    )
}
