//! A fragment of SQL with its bound parameters.

use duckdb::types::Value;

/// A boolean SQL fragment over the `items` columns with its positional `?`
/// parameters, in order. Callers AND it into a `WHERE` clause, in
/// parentheses: `WHERE (<text>) AND ...`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sql {
    /// The SQL text; its identifiers are queryable columns, its values `?`.
    pub text: String,
    /// The values of the `?` marks, in order.
    pub params: Vec<Value>,
}

impl Sql {
    /// SQL without parameters. Only ever called with text this crate writes.
    pub(crate) fn raw(text: impl Into<String>) -> Sql {
        Sql {
            text: text.into(),
            params: Vec::new(),
        }
    }

    /// One bound value, cast to `sql_type` so that DuckDB never guesses
    /// (or silently converts) a parameter's type.
    pub(crate) fn param(value: Value, sql_type: &str) -> Sql {
        Sql {
            text: format!("CAST(? AS {sql_type})"),
            params: vec![value],
        }
    }

    /// Fragments interleaved with fixed text: `parts[0] sql[0] parts[1] ...`.
    pub(crate) fn template(parts: &[&str], fragments: &[&Sql]) -> Sql {
        debug_assert_eq!(parts.len(), fragments.len() + 1);
        let mut out = Sql::raw(parts[0]);
        for (fragment, part) in fragments.iter().zip(&parts[1..]) {
            out.push(fragment);
            out.text.push_str(part);
        }
        out
    }

    /// Fragments joined by a separator, in parentheses.
    pub(crate) fn join(fragments: &[Sql], separator: &str) -> Sql {
        let mut out = Sql::raw("(");
        for (index, fragment) in fragments.iter().enumerate() {
            if index > 0 {
                out.text.push_str(separator);
            }
            out.push(fragment);
        }
        out.text.push(')');
        out
    }

    /// A call `name(a, b, ...)` of a function this crate names.
    pub(crate) fn call(name: &str, args: &[&Sql]) -> Sql {
        let mut out = Sql::raw(format!("{name}("));
        for (index, arg) in args.iter().enumerate() {
            if index > 0 {
                out.text.push_str(", ");
            }
            out.push(arg);
        }
        out.text.push(')');
        out
    }

    fn push(&mut self, other: &Sql) {
        self.text.push_str(&other.text);
        self.params.extend(other.params.iter().cloned());
    }
}
