//! Dictionary codes as narrow as their dictionary allows, and numbers coded
//! into a dictionary of their distinct values when they have few.
//!
//! A count over the whole index reads every row's value of each column its
//! filter tests, and is bound by how many bytes that is, not by the tests:
//! a text column of at most 256 distinct values reads one byte a row
//! instead of four, and a number column of at most 65,536 distinct values
//! (a cloud cover to two decimals, a ground sample distance, an angle)
//! two bytes instead of eight. A coded number's test is decided once per
//! distinct value, as a text's is.

use crate::columns::prefetch;
use hashbrown::HashMap;

/// Per row, a code into a dictionary.
#[derive(Debug)]
pub(crate) enum Codes {
    /// For dictionaries of at most 256 values.
    U8(Vec<u8>),
    /// For dictionaries of at most 65,536 values.
    U16(Vec<u16>),
    /// For larger ones.
    U32(Vec<u32>),
}

impl Codes {
    /// `codes` (each below `distinct`) in the narrowest width that holds them.
    pub(crate) fn narrowed(codes: Vec<u32>, distinct: usize) -> Codes {
        if distinct <= 1 << 8 {
            Codes::U8(codes.into_iter().map(|code| code as u8).collect())
        } else if distinct <= 1 << 16 {
            Codes::U16(codes.into_iter().map(|code| code as u16).collect())
        } else {
            Codes::U32(codes)
        }
    }

    /// Row `row`'s code.
    pub(crate) fn get(&self, row: usize) -> usize {
        match self {
            Codes::U8(codes) => usize::from(codes[row]),
            Codes::U16(codes) => usize::from(codes[row]),
            Codes::U32(codes) => codes[row] as usize,
        }
    }

    /// How many rows there are.
    pub(crate) fn len(&self) -> usize {
        match self {
            Codes::U8(codes) => codes.len(),
            Codes::U16(codes) => codes.len(),
            Codes::U32(codes) => codes.len(),
        }
    }

    /// The bytes they take.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Codes::U8(codes) => codes.len(),
            Codes::U16(codes) => codes.len() * 2,
            Codes::U32(codes) => codes.len() * 4,
        }
    }

    /// Asks for row `row`'s code (see [`prefetch`]).
    pub(crate) fn prefetch(&self, row: usize) {
        match self {
            Codes::U8(codes) => prefetch(codes, row),
            Codes::U16(codes) => prefetch(codes, row),
            Codes::U32(codes) => prefetch(codes, row),
        }
    }
}

/// A number column's values.
#[derive(Debug)]
pub(crate) enum Numbers {
    /// One value a row.
    Plain(Vec<f64>),
    /// Codes into the distinct values, sorted by `f64::total_cmp`, so that
    /// code order is value order.
    Coded {
        /// Per row, an index into `values`.
        codes: Codes,
        /// The distinct values, sorted.
        values: Vec<f64>,
    },
}

/// Above this many distinct values, numbers stay plain.
const MAX_CODED: usize = 1 << 16;

impl Numbers {
    /// The values of the rows, coded when they have at most 65,536 distinct
    /// values (told apart by their bits).
    pub(crate) fn of(values: Vec<f64>) -> Numbers {
        let mut positions: HashMap<u64, u32> = HashMap::new();
        let mut distinct: Vec<f64> = Vec::new();
        let mut codes = Vec::with_capacity(values.len());
        for value in &values {
            let next = distinct.len() as u32;
            let code = *positions.entry(value.to_bits()).or_insert(next);
            if code == next {
                if distinct.len() == MAX_CODED {
                    return Numbers::Plain(values);
                }
                distinct.push(*value);
            }
            codes.push(code);
        }
        let mut order: Vec<u32> = (0..distinct.len() as u32).collect();
        order.sort_unstable_by(|a, b| distinct[*a as usize].total_cmp(&distinct[*b as usize]));
        let mut renumbered = vec![0u32; distinct.len()];
        for (new, old) in order.iter().enumerate() {
            renumbered[*old as usize] = new as u32;
        }
        codes.iter_mut().for_each(|code| *code = renumbered[*code as usize]);
        Numbers::Coded {
            codes: Codes::narrowed(codes, distinct.len()),
            values: order.iter().map(|old| distinct[*old as usize]).collect(),
        }
    }

    /// Row `row`'s value.
    pub(crate) fn get(&self, row: usize) -> f64 {
        match self {
            Numbers::Plain(values) => values[row],
            Numbers::Coded { codes, values } => values[codes.get(row)],
        }
    }

    /// Compares two rows' values (`f64::total_cmp`).
    pub(crate) fn compare(&self, a: usize, b: usize) -> std::cmp::Ordering {
        match self {
            Numbers::Plain(values) => values[a].total_cmp(&values[b]),
            Numbers::Coded { codes, .. } => codes.get(a).cmp(&codes.get(b)),
        }
    }

    /// The bytes they take.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Numbers::Plain(values) => values.len() * 8,
            Numbers::Coded { codes, values } => codes.bytes() + values.len() * 8,
        }
    }

    /// Asks for row `row`'s value (see [`prefetch`]).
    pub(crate) fn prefetch(&self, row: usize) {
        match self {
            Numbers::Plain(values) => prefetch(values, row),
            Numbers::Coded { codes, .. } => codes.prefetch(row),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_as_narrow_as_their_dictionary() {
        assert!(matches!(Codes::narrowed(vec![0, 255], 256), Codes::U8(_)));
        assert!(matches!(Codes::narrowed(vec![0, 256], 257), Codes::U16(_)));
        assert!(matches!(Codes::narrowed(vec![0, 65_536], 65_537), Codes::U32(_)));
        let codes = Codes::narrowed(vec![3, 0, 255], 256);
        assert_eq!((codes.get(0), codes.get(1), codes.get(2), codes.len()), (3, 0, 255, 3));
    }

    #[test]
    fn few_distinct_numbers_are_coded_in_value_order() {
        let values = vec![2.5, -1.0, 2.5, f64::NAN, 0.0, -0.0, 1e300];
        let numbers = Numbers::of(values.clone());
        let Numbers::Coded {
            codes,
            values: distinct,
        } = &numbers
        else {
            panic!("not coded: {numbers:?}");
        };
        assert!(matches!(codes, Codes::U8(_)));
        assert_eq!(distinct.len(), 6);
        assert!(distinct.windows(2).all(|pair| pair[0].total_cmp(&pair[1]).is_lt()));
        for (row, value) in values.iter().enumerate() {
            assert_eq!(numbers.get(row).to_bits(), value.to_bits(), "row {row}");
            for (other, other_value) in values.iter().enumerate() {
                assert_eq!(numbers.compare(row, other), value.total_cmp(other_value));
            }
        }
    }

    #[test]
    fn many_distinct_numbers_stay_plain() {
        let values: Vec<f64> = (0..=MAX_CODED).map(|i| i as f64 / 7.0).collect();
        assert!(matches!(Numbers::of(values.clone()), Numbers::Plain(plain) if plain == values));
        let values: Vec<f64> = (0..MAX_CODED).map(|i| i as f64).collect();
        assert!(matches!(
            Numbers::of(values),
            Numbers::Coded {
                codes: Codes::U16(_),
                ..
            }
        ));
    }
}
