//! A filter's [`Condition`] bound to the index's typed columns, evaluated
//! 64 rows to a word.
//!
//! Evaluation is three-valued, as SQL's: for each word of rows a
//! predicate gives the rows where it is true and those where it is false;
//! the rest are unknown (a NULL was tested). AND, OR and NOT combine those
//! bitwise, so a filter of any shape costs a few word operations per 64
//! rows above its leaves' tests. Text tests are decided once per distinct
//! value of the column's dictionary. Conditions the columns cannot answer
//! are matched by DuckDB once per search and enter as a set of rows.

use crate::codes::{Codes, Numbers};
use crate::columns::{Bitmap, Column, Dictionary, Values};
use stac_indexed_filter::{Condition, Field, NumberTest, Test, TextTest};
use std::sync::Arc;

/// How many words of rows are evaluated at a time.
pub(crate) const BLOCK: usize = 16;

/// A condition over columns.
#[derive(Debug)]
pub(crate) enum Predicate {
    /// The same answer for every row.
    Constant(Option<bool>),
    /// Every part is true.
    And(Vec<Predicate>),
    /// Some part is true.
    Or(Vec<Predicate>),
    /// The part is false.
    Not(Box<Predicate>),
    /// The column is NULL.
    IsNull(Arc<Column>),
    /// A number, integer or timestamp column passes a test.
    Number {
        /// The column.
        column: Arc<Column>,
        /// The test, of the value as f64.
        test: NumberTest,
        /// The answer for NULL.
        when_null: Option<bool>,
    },
    /// A text column's value is one of the allowed dictionary values.
    Codes {
        /// The column (`Values::Text`).
        column: Arc<Column>,
        /// Per dictionary code, whether it passes.
        allowed: Vec<bool>,
        /// The codes that pass, `start..end`, when they are one run (as a
        /// comparison or a range over a sorted dictionary gives): a row's
        /// test is then one subtraction and one comparison, which vectorize.
        run: Option<std::ops::Range<u32>>,
        /// The answer for NULL.
        when_null: Option<bool>,
    },
    /// A boolean column equals `value`.
    Flag {
        /// The column.
        column: Arc<Column>,
        /// The value that passes.
        value: bool,
        /// The answer for NULL.
        when_null: Option<bool>,
    },
    /// Exactly these rows (matched elsewhere, two-valued).
    Rows(Arc<Bitmap>),
}

impl Predicate {
    /// Binds a condition to columns (`column` reads one by SQL expression
    /// and kind); `None` when a column cannot answer its test.
    pub(crate) fn bind(
        condition: &Condition,
        column: &mut dyn FnMut(&Field) -> Option<Arc<Column>>,
    ) -> Option<Predicate> {
        Some(match condition {
            Condition::Constant(value) => Predicate::Constant(*value),
            Condition::And(parts) => Predicate::And(bind_all(parts, column)?),
            Condition::Or(parts) => Predicate::Or(bind_all(parts, column)?),
            Condition::Not(part) => Predicate::Not(Box::new(Predicate::bind(part, column)?)),
            Condition::IsNull(field) => Predicate::IsNull(column(field)?),
            Condition::Test { field, test, when_null } => {
                let column = column(field)?;
                let when_null = *when_null;
                match (&column.values, test) {
                    (Values::Number(Numbers::Coded { values, .. }), Test::Number(test)) => {
                        let allowed = values.iter().map(|value| test.matches(*value)).collect();
                        Predicate::codes(column, allowed, when_null)
                    }
                    (Values::Number(_) | Values::Integer(_) | Values::Time(_), Test::Number(test)) => {
                        Predicate::Number {
                            test: test.clone(),
                            column,
                            when_null,
                        }
                    }
                    (Values::Text(dictionary), Test::Text(test)) => {
                        let allowed = allowed_codes(dictionary, test);
                        Predicate::codes(column, allowed, when_null)
                    }
                    (Values::Boolean(_), Test::Boolean(value)) => Predicate::Flag {
                        value: *value,
                        column,
                        when_null,
                    },
                    _ => return None,
                }
            }
        })
    }

    /// A test of a coded column: `allowed` per code.
    fn codes(column: Arc<Column>, allowed: Vec<bool>, when_null: Option<bool>) -> Predicate {
        let start = allowed.iter().position(|pass| *pass).unwrap_or(0);
        let end = start + allowed[start..].iter().take_while(|pass| **pass).count();
        let run = allowed[end..]
            .iter()
            .all(|pass| !pass)
            .then_some(start as u32..end as u32);
        Predicate::Codes {
            column,
            allowed,
            run,
            when_null,
        }
    }

    /// Asks for what testing row `row` reads (see [`crate::columns::prefetch`]).
    pub(crate) fn prefetch(&self, row: usize) {
        match self {
            Predicate::Constant(_) => {}
            Predicate::And(parts) | Predicate::Or(parts) => parts.iter().for_each(|part| part.prefetch(row)),
            Predicate::Not(part) => part.prefetch(row),
            Predicate::IsNull(column)
            | Predicate::Number { column, .. }
            | Predicate::Codes { column, .. }
            | Predicate::Flag { column, .. } => column.prefetch(row),
            Predicate::Rows(rows) => rows.prefetch(row),
        }
    }

    /// Whether one row matches: `Some(true)`, `Some(false)`, or unknown.
    pub(crate) fn row(&self, row: usize) -> Option<bool> {
        let leaf = |column: &Column, when_null, passes| leaf_at(column, row, when_null, passes);
        match self {
            Predicate::Constant(value) => *value,
            Predicate::And(parts) => parts
                .iter()
                .try_fold(true, |all, p| match p.row(row) {
                    Some(false) => Err(()),
                    Some(true) => Ok(all),
                    None => Ok(false),
                })
                .map_or(Some(false), |all| all.then_some(true)),
            Predicate::Or(parts) => parts
                .iter()
                .try_fold(false, |unknown, p| match p.row(row) {
                    Some(true) => Err(()),
                    Some(false) => Ok(unknown),
                    None => Ok(true),
                })
                .map_or(Some(true), |unknown| (!unknown).then_some(false)),
            Predicate::Not(part) => part.row(row).map(|v| !v),
            Predicate::IsNull(column) => Some(!column.valid.get(row)),
            Predicate::Number {
                column,
                test,
                when_null,
            } => leaf(column, *when_null, test.matches(number_at(column, row))),
            Predicate::Codes {
                column,
                allowed,
                when_null,
                ..
            } => leaf(
                column,
                *when_null,
                column
                    .codes()
                    .is_some_and(|codes| allowed.get(codes.get(row)).copied().unwrap_or(false)),
            ),
            Predicate::Flag {
                column,
                value,
                when_null,
            } => leaf(
                column,
                *when_null,
                match &column.values {
                    Values::Boolean(bits) => bits.get(row) == *value,
                    _ => false,
                },
            ),
            Predicate::Rows(rows) => Some(rows.get(row)),
        }
    }

    /// For the words of rows `first ..`, as many as `yes` holds: the rows
    /// where the predicate is true (`yes`) and false (`no`).
    pub(crate) fn words(&self, first: usize, yes: &mut [u64], no: &mut [u64]) {
        let n = yes.len();
        match self {
            Predicate::Constant(value) => {
                yes.fill(if *value == Some(true) { !0 } else { 0 });
                no.fill(if *value == Some(false) { !0 } else { 0 });
            }
            Predicate::And(parts) | Predicate::Or(parts) => {
                let and = matches!(self, Predicate::And(_));
                yes.fill(if and { !0 } else { 0 });
                no.fill(if and { 0 } else { !0 });
                let (mut part_yes, mut part_no) = ([0u64; BLOCK], [0u64; BLOCK]);
                for part in parts {
                    part.words(first, &mut part_yes[..n], &mut part_no[..n]);
                    for i in 0..n {
                        if and {
                            yes[i] &= part_yes[i];
                            no[i] |= part_no[i];
                        } else {
                            yes[i] |= part_yes[i];
                            no[i] &= part_no[i];
                        }
                    }
                }
            }
            Predicate::Not(part) => part.words(first, no, yes),
            Predicate::IsNull(column) => {
                for i in 0..n {
                    no[i] = column.valid.word(first + i);
                    yes[i] = !no[i];
                }
            }
            Predicate::Number {
                column,
                test,
                when_null,
            } => {
                match &column.values {
                    Values::Number(Numbers::Plain(v)) => test_words(v, |x| x, test, first, yes),
                    Values::Number(Numbers::Coded { codes, values }) => {
                        code_words(codes, |code| test.matches(values[code]), first, yes)
                    }
                    Values::Integer(v) | Values::Time(v) => test_words(v, |x| x as f64, test, first, yes),
                    _ => yes.fill(0),
                }
                finish_leaf(column, *when_null, first, yes, no);
            }
            Predicate::Codes {
                column,
                allowed,
                run,
                when_null,
            } => {
                match (column.codes(), run) {
                    // NULL rows have code 0 even when the dictionary is
                    // empty; finish_leaf masks them out.
                    (Some(codes), Some(run)) => {
                        let width = run.end - run.start;
                        code_words(codes, |code| (code as u32).wrapping_sub(run.start) < width, first, yes)
                    }
                    (Some(codes), None) => {
                        code_words(codes, |code| allowed.get(code).copied().unwrap_or(false), first, yes)
                    }
                    (None, _) => yes.fill(0),
                }
                finish_leaf(column, *when_null, first, yes, no);
            }
            Predicate::Flag {
                column,
                value,
                when_null,
            } => {
                let Values::Boolean(bits) = &column.values else {
                    yes.fill(0);
                    return finish_leaf(column, *when_null, first, yes, no);
                };
                for (i, word) in yes.iter_mut().enumerate() {
                    let set = bits.word(first + i);
                    *word = if *value { set } else { !set };
                }
                finish_leaf(column, *when_null, first, yes, no);
            }
            Predicate::Rows(rows) => {
                for i in 0..n {
                    yes[i] = rows.word(first + i);
                    no[i] = !yes[i];
                }
            }
        }
    }
}

/// Per code of a sorted dictionary, whether its value passes. The codes a
/// comparison, range, list or LIKE prefix allows are found by binary
/// search; only the values that may match are tested one by one.
fn allowed_codes(dictionary: &Dictionary, test: &TextTest) -> Vec<bool> {
    let values = &dictionary.values;
    use stac_indexed_filter::Comparison::*;
    let n = values.len();
    let mut allowed = vec![false; n];
    let from = |x: &str| values.partition_point(|v| v < x);
    let past = |x: &str| values.partition_point(|v| v <= x);
    let mut allow = |codes: std::ops::Range<usize>| allowed[codes].fill(true);
    match test {
        TextTest::Compare(op, x) => match op {
            Equal => allow(from(x)..past(x)),
            NotEqual => {
                allow(0..from(x));
                allow(past(x)..n);
            }
            Less => allow(0..from(x)),
            LessOrEqual => allow(0..past(x)),
            Greater => allow(past(x)..n),
            GreaterOrEqual => allow(from(x)..n),
        },
        TextTest::Between(low, high) => {
            if low <= high {
                allow(from(low)..past(high));
            }
        }
        TextTest::In(list) => list.iter().for_each(|x| allow(from(x)..past(x))),
        TextTest::Like(pattern) => {
            let prefix = pattern.prefix();
            let start = from(&prefix);
            let end = values.partition_point(|v| v < prefix.as_str() || v.starts_with(prefix.as_str()));
            dictionary.test_values(start..end.max(start), |v| pattern.matches(v), &mut allowed);
        }
        TextTest::Contains(_) => dictionary.test_values(0..n, |v| test.matches(v), &mut allowed),
    }
    allowed
}

/// A leaf's answer for one row: whether its value passed (`passes`, which
/// for a NULL row tested whatever its slot holds), or `when_null`.
fn leaf_at(column: &Column, row: usize, when_null: Option<bool>, passes: bool) -> Option<bool> {
    if column.valid.get(row) { Some(passes) } else { when_null }
}

fn bind_all(parts: &[Condition], column: &mut dyn FnMut(&Field) -> Option<Arc<Column>>) -> Option<Vec<Predicate>> {
    parts.iter().map(|p| Predicate::bind(p, column)).collect()
}

fn number_at(column: &Column, row: usize) -> f64 {
    match &column.values {
        Values::Number(numbers) => numbers.get(row),
        Values::Integer(v) | Values::Time(v) => v[row] as f64,
        _ => f64::NAN,
    }
}

/// `yes` gets, for valid rows, whether they passed (computed into `yes`
/// for every row), `no` the valid rows that did not; NULL rows get `when_null`.
fn finish_leaf(column: &Column, when_null: Option<bool>, first: usize, yes: &mut [u64], no: &mut [u64]) {
    for i in 0..yes.len() {
        let valid = column.valid.word(first + i);
        let passed = yes[i];
        yes[i] = passed & valid;
        no[i] = !passed & valid;
        match when_null {
            Some(true) => yes[i] |= !valid,
            Some(false) => no[i] |= !valid,
            None => {}
        }
    }
}

/// One test per row, monomorphised per operator so the loop vectorizes.
fn test_words<T: Copy>(
    values: &[T],
    to_f64: impl Fn(T) -> f64 + Copy,
    test: &NumberTest,
    first: usize,
    out: &mut [u64],
) {
    use stac_indexed_filter::Comparison::*;
    match test {
        NumberTest::Compare(op, x) => {
            let x = *x;
            match op {
                Equal => pass_words(values, |v| to_f64(v) == x, first, out),
                NotEqual => pass_words(values, |v| to_f64(v) != x, first, out),
                Less => pass_words(values, |v| to_f64(v) < x, first, out),
                LessOrEqual => pass_words(values, |v| to_f64(v) <= x, first, out),
                Greater => pass_words(values, |v| to_f64(v) > x, first, out),
                GreaterOrEqual => pass_words(values, |v| to_f64(v) >= x, first, out),
            }
        }
        NumberTest::Between(low, high) => {
            let (low, high) = (*low, *high);
            pass_words(values, |v| low <= to_f64(v) && to_f64(v) <= high, first, out)
        }
        NumberTest::In(_) => pass_words(values, |v| test.matches(to_f64(v)), first, out),
    }
}

/// 64 bytes of 0 or 1 as the bits of a word (byte `i` to bit `i`): eight
/// bytes at a time, a multiplication gathers their low bits into its top
/// byte. Testing into bytes and packing them apart lets the tests
/// vectorize, where shifting each result into place did not.
fn pack(passed: &[u8; 64]) -> u64 {
    passed.chunks_exact(8).enumerate().fold(0, |bits, (i, eight)| {
        let eight = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
        bits | (eight.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i)
    })
}

/// [`pass_words`] over codes of any width.
fn code_words(codes: &Codes, passes: impl Fn(usize) -> bool, first: usize, out: &mut [u64]) {
    match codes {
        Codes::U8(codes) => pass_words(codes, |code| passes(usize::from(code)), first, out),
        Codes::U16(codes) => pass_words(codes, |code| passes(usize::from(code)), first, out),
        Codes::U32(codes) => pass_words(codes, |code| passes(code as usize), first, out),
    }
}

/// The bits of the rows of words `first ..` whose value passes. A whole
/// word is a fixed run of 64 values, which the compiler unrolls and
/// vectorizes.
fn pass_words<T: Copy>(values: &[T], passes: impl Fn(T) -> bool, first: usize, out: &mut [u64]) {
    for (i, word) in out.iter_mut().enumerate() {
        let start = (first + i) * 64;
        *word = match values.get(start..start + 64) {
            Some(run) => {
                let run: &[T; 64] = run.try_into().expect("a run of 64 values");
                let mut passed = [0u8; 64];
                for (pass, value) in passed.iter_mut().zip(run) {
                    *pass = u8::from(passes(*value));
                }
                pack(&passed)
            }
            None => values
                .get(start..)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .fold(0, |bits, (bit, value)| bits | u64::from(passes(*value)) << bit),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::Connection;
    use stac_indexed_filter::{Comparison, Kind, TextTest};

    fn columns() -> (Arc<Column>, Arc<Column>) {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE items AS SELECT range AS seq,
                    CASE WHEN range % 7 = 0 THEN NULL ELSE (range % 100)::DOUBLE END AS n,
                    CASE WHEN range % 5 = 0 THEN NULL ELSE 'p' || (range % 3) END AS s
                 FROM range(1000)",
            )
            .unwrap();
        (
            Arc::new(Column::load(&connection, "n", Kind::Number).unwrap()),
            Arc::new(Column::load(&connection, "s", Kind::Text).unwrap()),
        )
    }

    fn field(column: &str, kind: Kind) -> Field {
        Field {
            column: column.into(),
            kind,
        }
    }

    /// Words and rows agree, row by row, for every shape.
    #[test]
    fn words_agree_with_rows() {
        let (n, s) = columns();
        let number = |op, x| Condition::Test {
            field: field("n", Kind::Number),
            test: Test::Number(NumberTest::Compare(op, x)),
            when_null: None,
        };
        let text = Condition::Test {
            field: field("s", Kind::Text),
            test: Test::Text(TextTest::In(vec!["p1".into(), "p2".into()])),
            when_null: None,
        };
        let conditions = [
            number(Comparison::Less, 10.0),
            Condition::Not(Box::new(number(Comparison::Less, 10.0))),
            Condition::And(vec![number(Comparison::GreaterOrEqual, 50.0), text.clone()]),
            Condition::Or(vec![
                number(Comparison::Equal, 3.0),
                Condition::Not(Box::new(text.clone())),
            ]),
            Condition::IsNull(field("s", Kind::Text)),
            Condition::Or(vec![text, Condition::Constant(None)]),
        ];
        for condition in &conditions {
            let predicate = Predicate::bind(condition, &mut |f: &Field| {
                Some(if f.column == "n" { n.clone() } else { s.clone() })
            })
            .unwrap();
            let mut expected = 0;
            for word in 0..1000usize.div_ceil(64) {
                let (mut yes, mut no) = ([0u64; 1], [0u64; 1]);
                predicate.words(word, &mut yes, &mut no);
                for bit in 0..64 {
                    let row = word * 64 + bit;
                    if row >= 1000 {
                        break;
                    }
                    let by_row = predicate.row(row);
                    let by_word = match (yes[0] >> bit & 1, no[0] >> bit & 1) {
                        (1, 0) => Some(true),
                        (0, 1) => Some(false),
                        (0, 0) => None,
                        _ => panic!("row {row} both true and false"),
                    };
                    assert_eq!(by_word, by_row, "{condition:?} row {row}");
                    expected += usize::from(by_row == Some(true));
                }
            }
            assert!(
                expected > 0 || matches!(condition, Condition::IsNull(_)),
                "{condition:?} matched nothing"
            );
        }
        // Spot checks of the semantics: NULL is unknown, NOT unknown is unknown.
        let less = Predicate::bind(&number(Comparison::Less, 10.0), &mut |_: &Field| Some(n.clone())).unwrap();
        assert_eq!(
            (less.row(0), less.row(3), less.row(13)),
            (None, Some(true), Some(false))
        );
        let not = Predicate::Not(Box::new(less));
        assert_eq!(not.row(0), None);
    }

    /// A text column with no value at all (a queryable no item has) has an
    /// empty dictionary: its rows are unknown, never a panic.
    #[test]
    fn an_all_null_text_column_matches_nothing() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE items AS SELECT range AS seq, NULL::VARCHAR AS t FROM range(200)")
            .unwrap();
        let t = Arc::new(Column::load(&connection, "t", Kind::Text).unwrap());
        let condition = Condition::Test {
            field: field("t", Kind::Text),
            test: Test::Text(TextTest::In(vec!["x".into()])),
            when_null: None,
        };
        let predicate = Predicate::bind(&condition, &mut |_: &Field| Some(t.clone())).unwrap();
        let (mut yes, mut no) = ([0u64; 4], [0u64; 4]);
        predicate.words(0, &mut yes, &mut no);
        assert_eq!((yes, no), ([0; 4], [0; 4]));
        assert_eq!(predicate.row(5), None);
    }

    #[test]
    fn packing_puts_byte_i_in_bit_i() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let passed: [u8; 64] = std::array::from_fn(|i| ((state >> i) & 1) as u8);
            assert_eq!(pack(&passed), state);
        }
        assert_eq!(pack(&[1; 64]), !0);
        assert_eq!(pack(&[0; 64]), 0);
    }

    #[test]
    fn a_run_of_allowed_codes_is_found() {
        let column = Arc::new(Column {
            values: Values::Boolean(Bitmap::new(0)),
            valid: Bitmap::new(0),
        });
        let run = |allowed: &[bool]| match Predicate::codes(column.clone(), allowed.to_vec(), None) {
            Predicate::Codes { run, .. } => run,
            _ => unreachable!(),
        };
        assert_eq!(run(&[false, true, true, false]), Some(1..3));
        assert_eq!(run(&[true, true]), Some(0..2));
        assert_eq!(run(&[false, false]), Some(0..0));
        assert_eq!(run(&[]), Some(0..0));
        assert_eq!(run(&[true, false, true]), None);
    }

    #[test]
    fn allowed_codes_are_the_values_that_pass() {
        let values = ["a", "ab", "abc", "b", "b%c", "bb", "", "é", "ab"];
        // Read as an index's column, and kept as a directory keeps ids (tested in row order).
        let (loaded, shared) = crate::columns::text_columns(&values);
        let like = |p: &str| TextTest::Like(stac_indexed_filter::LikePattern::new(p));
        let mut tests = vec![
            TextTest::Between("ab".into(), "b".into()),
            TextTest::Between("b".into(), "a".into()),
            TextTest::In(vec!["".into(), "bb".into(), "zz".into()]),
            TextTest::Contains("b".into()),
        ];
        for op in [
            Comparison::Equal,
            Comparison::NotEqual,
            Comparison::Less,
            Comparison::LessOrEqual,
            Comparison::Greater,
            Comparison::GreaterOrEqual,
        ] {
            for operand in ["", "ab", "abd", "é", "zz"] {
                tests.push(TextTest::Compare(op, operand.into()));
            }
        }
        for pattern in ["a%", "ab", "%b", "b\\%%", "_b%", "%", "", "é", "a_c", "zz%"] {
            tests.push(like(pattern));
        }
        for column in [&loaded, &shared] {
            let Values::Text(dictionary) = &column.values else {
                panic!("a text column")
            };
            for test in &tests {
                let expected: Vec<bool> = dictionary.values.iter().map(|v| test.matches(v)).collect();
                assert_eq!(allowed_codes(dictionary, test), expected, "{test:?}");
            }
        }
    }
}
