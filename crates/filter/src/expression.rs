//! Reading a CQL2 filter (cql2-text or cql2-json) into a [`cql2::Expr`],
//! safely: syntax errors say where, and pathological input is refused
//! before it can exhaust a stack or a core.
//!
//! The cql2 parser (pest) recurses deeply: in a debug build one level of
//! parentheses costs about 35 KiB of stack, so 60 levels overflow a 2 MiB
//! tokio thread. Parsing therefore runs on its own thread with a large
//! stack, after a scan that refuses unbalanced parentheses and more than
//! [`MAX_PARENTHESES`] levels of them, and the parsed expression is refused
//! (and dropped on that thread) when it nests deeper than [`MAX_DEPTH`].
//!
//! The parser also backtracks: an invalid expression inside parentheses is
//! tried again as an array and as a function's arguments, so its cost
//! grows four-fold with each level around it (20 levels: 10 s of one core,
//! found by fuzzing). Valid filters take at most about 75 of pest's
//! counted calls per byte, so each parse gets a budget of
//! [`CALLS_PER_BYTE`] calls per byte of its text (see [`call_budget`]),
//! and one that runs out is refused as too complex: no filter costs more
//! than its size.

use crate::{Error, Result};
use cql2::Expr;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// How deeply parentheses may nest in cql2-text.
pub const MAX_PARENTHESES: usize = 48;

/// How deeply a parsed expression may nest (operations within operations).
pub const MAX_DEPTH: usize = 100;

/// The stack of the parsing thread; only the pages used are committed.
const PARSER_STACK: usize = 64 << 20;

/// The pest calls a cql2-text parse may make per byte of its text; valid
/// filters take 12 to 75.
pub(crate) const CALLS_PER_BYTE: usize = 100;

/// Filters up to this many bytes parse concurrently under one shared
/// budget (`CALLS_PER_BYTE` times this: about 10 ms of one core at worst);
/// longer ones parse one at a time with a budget sized to their length.
const SHARED_BUDGET_BYTES: usize = 4096;

/// The encoding of a filter, from the `filter-lang` parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterLang {
    /// `cql2-text`.
    Cql2Text,
    /// `cql2-json`.
    Cql2Json,
}

impl FilterLang {
    /// The `filter-lang` value.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterLang::Cql2Text => "cql2-text",
            FilterLang::Cql2Json => "cql2-json",
        }
    }
}

impl fmt::Display for FilterLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FilterLang {
    type Err = Error;

    fn from_str(value: &str) -> Result<FilterLang> {
        [FilterLang::Cql2Text, FilterLang::Cql2Json]
            .into_iter()
            .find(|lang| lang.as_str() == value)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "filter-lang {value:?} is not supported; use cql2-text or cql2-json"
                ))
            })
    }
}

/// Parses a filter: cql2-text from a JSON string; cql2-json from a JSON
/// object, or from a string holding one (as a GET `filter` arrives).
pub fn parse_filter(filter: &Value, lang: FilterLang) -> Result<Expr> {
    match (lang, filter) {
        (FilterLang::Cql2Text, Value::String(text)) => {
            check_parentheses(text)?;
            on_parser_thread(|| call_budget::parse_text(text))
        }
        (FilterLang::Cql2Text, _) => Err(Error::Syntax("a cql2-text filter must be a string".into())),
        (FilterLang::Cql2Json, Value::String(text)) => on_parser_thread(|| {
            let value: Value = serde_json::from_str(text).map_err(|e| Error::Syntax(format!("cql2-json: {e}")))?;
            json_expr(&value)
        }),
        (FilterLang::Cql2Json, Value::Object(_) | Value::Bool(_)) => on_parser_thread(|| json_expr(filter)),
        (FilterLang::Cql2Json, _) => Err(Error::Syntax(
            "a cql2-json filter must be an object or a boolean (or a string holding one)".into(),
        )),
    }
}

fn json_expr(value: &Value) -> Result<Expr> {
    if !(value.is_object() || value.is_boolean()) {
        return Err(Error::Syntax(
            "a cql2-json filter must be an object or a boolean".into(),
        ));
    }
    serde_json::from_value(value.clone()).map_err(|e| Error::Syntax(format!("cql2-json: not a valid expression ({e})")))
}

/// Runs `parse` on a thread with a large stack, and refuses (and drops
/// there) an expression nested deeper than [`MAX_DEPTH`].
fn on_parser_thread(parse: impl FnOnce() -> Result<Expr> + Send) -> Result<Expr> {
    std::thread::scope(|scope| {
        let parser = std::thread::Builder::new()
            .name("cql2-parser".into())
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, || {
                let expr = parse()?;
                if depth_exceeds(&expr, MAX_DEPTH) {
                    return Err(too_deep());
                }
                Ok(expr)
            })
            .map_err(|e| Error::Invalid(format!("cannot parse the filter now: {e}")))?;
        parser
            .join()
            .unwrap_or_else(|_| Err(Error::Syntax("the filter could not be parsed".into())))
    })
}

pub(crate) fn too_deep() -> Error {
    Error::Invalid(format!("the filter nests more than {MAX_DEPTH} levels deep"))
}

/// Whether `expr` nests deeper than `limit` levels.
fn depth_exceeds(expr: &Expr, limit: usize) -> bool {
    if limit == 0 {
        return true;
    }
    children(expr).iter().any(|child| depth_exceeds(child, limit - 1))
}

fn children(expr: &Expr) -> &[Box<Expr>] {
    match expr {
        Expr::Operation { args, .. } => args,
        Expr::Interval { interval } => interval,
        Expr::BBox { bbox } => bbox,
        Expr::Array(items) => items,
        Expr::Timestamp { timestamp } => std::slice::from_ref(timestamp),
        Expr::Date { date } => std::slice::from_ref(date),
        _ => &[],
    }
}

/// Refuses cql2-text whose parentheses (outside quotes) do not balance or
/// nest deeper than [`MAX_PARENTHESES`].
fn check_parentheses(text: &str) -> Result<()> {
    let mut open: Vec<Position> = Vec::new();
    let mut quote: Option<char> = None;
    let mut at = Position { line: 1, column: 0 };
    for c in text.chars() {
        at.advance(c);
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => {
                open.push(at);
                if open.len() > MAX_PARENTHESES {
                    return Err(Error::Invalid(format!(
                        "the filter nests parentheses more than {MAX_PARENTHESES} levels deep"
                    )));
                }
            }
            (None, ')') => {
                if open.pop().is_none() {
                    return Err(Error::Syntax(format!("cql2-text: the ')' at {at} closes no '('")));
                }
            }
            (None, _) => {}
        }
    }
    match open.first() {
        Some(first) => Err(Error::Syntax(format!(
            "cql2-text: the '(' at {first} is never closed ({} unclosed)",
            open.len()
        ))),
        None => Ok(()),
    }
}

/// A character's place in a text, as `line:column` from 1, as pest says it.
#[derive(Clone, Copy)]
struct Position {
    line: usize,
    column: usize,
}

impl Position {
    fn advance(&mut self, c: char) {
        if c == '\n' {
            self.line += 1;
            self.column = 0;
        } else {
            self.column += 1;
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// pest's call limit, which is one setting for the whole process, applied
/// per parse: short filters share [`SHARED_BUDGET_BYTES`]' worth of
/// calls, a longer one holds the setting alone while it parses.
mod call_budget {
    use super::{CALLS_PER_BYTE, SHARED_BUDGET_BYTES};
    use crate::{Error, Result};
    use cql2::Expr;
    use std::num::NonZeroUsize;
    use std::sync::{Once, RwLock};

    /// Readers parse under the shared budget; a writer changes it.
    static SETTING: RwLock<()> = RwLock::new(());
    static SHARED: Once = Once::new();

    fn set_budget(bytes: usize) {
        pest::set_call_limit(NonZeroUsize::new(CALLS_PER_BYTE * bytes.max(SHARED_BUDGET_BYTES)));
    }

    /// Parses cql2-text within a call budget proportional to its length.
    pub(super) fn parse_text(text: &str) -> Result<Expr> {
        SHARED.call_once(|| set_budget(SHARED_BUDGET_BYTES));
        let parsed = if text.len() <= SHARED_BUDGET_BYTES {
            let _shared = SETTING.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            cql2::parse_text(text)
        } else {
            let _alone = SETTING.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            set_budget(text.len());
            let parsed = cql2::parse_text(text);
            set_budget(SHARED_BUDGET_BYTES);
            parsed
        };
        parsed.map_err(|error| match error.to_string() {
            message if message.contains("call limit reached") => Error::Invalid(
                "the filter is too complex to parse: the cql2-text parser gave up backtracking through it \
                 (an invalid expression inside many parentheses does this); check the expressions inside them"
                    .into(),
            ),
            message => Error::Syntax(format!("cql2-text: {message}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(filter: &str) -> Result<Expr> {
        parse_filter(&json!(filter), FilterLang::Cql2Text)
    }

    #[test]
    fn filter_lang_parses_and_names_the_allowed_values() {
        assert_eq!("cql2-text".parse::<FilterLang>().unwrap(), FilterLang::Cql2Text);
        assert_eq!("cql2-json".parse::<FilterLang>().unwrap(), FilterLang::Cql2Json);
        let error = "cql-text".parse::<FilterLang>().unwrap_err().to_string();
        assert!(error.contains("\"cql-text\"") && error.contains("cql2-json"), "{error}");
    }

    #[test]
    fn text_and_json_give_the_same_expression() {
        let from_text = text("\"eo:cloud_cover\" < 10 AND id = 'a'").unwrap();
        let object = json!({"op": "and", "args": [
            {"op": "<", "args": [{"property": "eo:cloud_cover"}, 10]},
            {"op": "=", "args": [{"property": "id"}, "a"]}
        ]});
        assert_eq!(parse_filter(&object, FilterLang::Cql2Json).unwrap(), from_text);
        let as_string = json!(object.to_string());
        assert_eq!(parse_filter(&as_string, FilterLang::Cql2Json).unwrap(), from_text);
    }

    #[test]
    fn syntax_errors_say_where() {
        let error = text("id = 'a' AND\n  (x < ").unwrap_err();
        assert!(matches!(error, Error::Syntax(_)));
        assert!(error.to_string().contains("2:"), "{error}");
        let error = parse_filter(&json!("{\"op\": "), FilterLang::Cql2Json).unwrap_err();
        assert!(error.to_string().contains("column"), "{error}");
        assert!(parse_filter(&json!(42), FilterLang::Cql2Json).is_err());
        assert!(parse_filter(&json!({"op": "="}), FilterLang::Cql2Json).is_err());
        assert!(parse_filter(&json!({"a": 1}), FilterLang::Cql2Text).is_err());
    }

    /// Runs on a 2 MiB thread, like a tokio worker.
    fn on_small_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn_scoped(s, f)
                .unwrap()
                .join()
                .unwrap()
        })
    }

    #[test]
    fn pathological_nesting_is_a_clean_error() {
        on_small_stack(|| {
            let n = 10_000;
            let parens = format!("{}id = 'a'{}", "(".repeat(n), ")".repeat(n));
            assert!(matches!(text(&parens), Err(Error::Invalid(_))));
            let nots = format!("{}id = 'a'", "NOT ".repeat(n));
            assert!(matches!(text(&nots), Err(Error::Invalid(_))));
            let minus = format!("gsd = {}1", "- ".repeat(n));
            // Folded into one number by the parser: deep in the text, flat after.
            assert!(text(&minus).is_ok());
            let chain = format!("gsd{}", " = gsd".repeat(n));
            assert!(text(&chain).is_err());
            let quoted = format!("id = '{}'", "(".repeat(n));
            assert!(text(&quoted).is_ok(), "parentheses in strings do not count");
            let deep = format!(
                "{}{{\"property\": \"id\"}}{}",
                "{\"op\": \"not\", \"args\": [".repeat(n),
                "]}".repeat(n)
            );
            assert!(parse_filter(&json!(deep), FilterLang::Cql2Json).is_err());
            let fine = format!("{}id = 'a'{}", "(".repeat(40), ")".repeat(40));
            assert!(text(&fine).is_ok());
        });
    }

    #[test]
    fn unbalanced_parentheses_are_refused_before_parsing() {
        // Found by fuzzing (cql2_text): 22 unclosed parentheses after a
        // name made the parser backtrack for 15 s before its error.
        let found = "S_eog ((((((((((((((((((((((\u{1a}00000000\tm 1000rm 1";
        let error = text(found).unwrap_err().to_string();
        assert!(error.contains("'(' at 1:7 is never closed (22 unclosed)"), "{error}");
        let error = text("(id = 'a')) AND (gsd = 1").unwrap_err().to_string();
        assert!(error.contains("')' at 1:11 closes no '('"), "{error}");
        assert!(
            text("id = ')(' AND \"a(\" = 1").is_ok(),
            "quoted parentheses do not count"
        );
    }

    #[test]
    fn backtracking_is_bounded_by_the_call_budget() {
        // Balanced, invalid inside: without the budget, 4^30 attempts.
        let backtracking = format!("{}gsd ? 1{}", "(".repeat(30), ")".repeat(30));
        let error = text(&backtracking).unwrap_err();
        assert!(matches!(error, Error::Invalid(_)), "{error}");
        assert!(error.to_string().contains("too complex"), "{error}");
        // A few levels still get the parser's own message, which says where.
        let error = text("((gsd ? 1))").unwrap_err();
        assert!(
            matches!(error, Error::Syntax(_)) && error.to_string().contains("1:7"),
            "{error}"
        );
    }

    #[test]
    fn long_filters_get_a_budget_for_their_length_while_short_ones_parse_alongside() {
        let values: Vec<String> = (0..20_000).map(|i| format!("'item-{i:08}'")).collect();
        let long = format!(
            "id IN ({}) AND {}gsd > 1{}",
            values.join(", "),
            "(".repeat(40),
            ")".repeat(40)
        );
        assert!(
            long.len() > 10 * SHARED_BUDGET_BYTES,
            "it needs more calls than the shared budget"
        );
        let long_backtracking = format!("{long} AND {}gsd ? 1{}", "(".repeat(30), ")".repeat(30));
        std::thread::scope(|scope| {
            let short: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..50).all(|_| text("platform = 'a' AND (gsd < 10 OR gsd > 20)").is_ok())))
                .collect();
            assert!(text(&long).is_ok());
            assert!(
                text(&long_backtracking)
                    .unwrap_err()
                    .to_string()
                    .contains("too complex")
            );
            assert!(short.into_iter().all(|parses| parses.join().unwrap()));
        });
    }
}
