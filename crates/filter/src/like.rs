//! SQL LIKE patterns, compiled once and matched without allocating.
//!
//! A pattern is split at its `%` wildcards into segments; each segment is
//! literal text with `_` (one character) in places. A value matches when
//! the first segment matches at its start, the last at its end, and the
//! ones between, in order, leftmost first, in what is left. Literal
//! segments (the usual case: `'sentinel%'`, `'%-0042'`, `'%L2A%'`) are
//! matched as byte strings, so a test over a million distinct values is a
//! few milliseconds.

/// A compiled LIKE pattern, `\` escaping the next character.
#[derive(Clone, Debug)]
pub struct LikePattern {
    source: String,
    /// The text between `%` wildcards (one segment when there is none).
    segments: Vec<Segment>,
}

impl PartialEq for LikePattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

/// Literal text with `_` wildcards.
#[derive(Clone, Debug)]
struct Segment {
    parts: Vec<Part>,
    /// The text itself, when the segment has no `_`.
    literal: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Part {
    /// `_`: one character.
    One,
    /// This character.
    Char(char),
}

impl LikePattern {
    /// Compiles a pattern.
    pub fn new(source: &str) -> LikePattern {
        let mut segments = vec![Vec::new()];
        let mut chars = source.chars();
        while let Some(c) = chars.next() {
            let part = match c {
                '%' => {
                    segments.push(Vec::new());
                    continue;
                }
                '\\' => Part::Char(chars.next().unwrap_or('\\')),
                '_' => Part::One,
                c => Part::Char(c),
            };
            segments.last_mut().expect("one segment at least").push(part);
        }
        LikePattern {
            source: source.to_string(),
            segments: segments.into_iter().map(Segment::new).collect(),
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The text every match starts with: the pattern up to its first wildcard.
    pub fn prefix(&self) -> String {
        let first = &self.segments[0];
        first
            .parts
            .iter()
            .map_while(|part| match part {
                Part::Char(c) => Some(*c),
                Part::One => None,
            })
            .collect()
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        let (first, rest) = self.segments.split_first().expect("one segment at least");
        let Some(last) = rest.last() else {
            return first.match_at(value, 0) == Some(value.len());
        };
        let Some(start) = first.match_at(value, 0) else {
            return false;
        };
        let Some(end) = last.start_of_suffix(value).filter(|end| *end >= start) else {
            return false;
        };
        if last.match_at(value, end) != Some(value.len()) {
            return false;
        }
        let middle = &rest[..rest.len() - 1];
        let within = &value[..end];
        let mut position = start;
        for segment in middle {
            match segment.find(within, position) {
                Some(after) => position = after,
                None => return false,
            }
        }
        true
    }
}

impl Segment {
    fn new(parts: Vec<Part>) -> Segment {
        let literal = parts
            .iter()
            .map(|part| match part {
                Part::Char(c) => Some(*c),
                Part::One => None,
            })
            .collect();
        Segment { parts, literal }
    }

    /// Where a match starting at byte `at` ends, if the segment matches there.
    fn match_at(&self, value: &str, at: usize) -> Option<usize> {
        let rest = value.get(at..)?;
        if let Some(literal) = &self.literal {
            return rest.starts_with(literal.as_str()).then(|| at + literal.len());
        }
        let mut chars = rest.char_indices();
        for part in &self.parts {
            let (_, c) = chars.next()?;
            if let Part::Char(expected) = part
                && *expected != c
            {
                return None;
            }
        }
        Some(chars.next().map_or(value.len(), |(offset, _)| at + offset))
    }

    /// Where a match at the end of `value` would start (it may not match).
    fn start_of_suffix(&self, value: &str) -> Option<usize> {
        if let Some(literal) = &self.literal {
            return value.len().checked_sub(literal.len());
        }
        match self.parts.len() {
            0 => Some(value.len()),
            n => value.char_indices().rev().nth(n - 1).map(|(offset, _)| offset),
        }
    }

    /// Where the leftmost match in `value` at or after byte `from` ends.
    fn find(&self, value: &str, from: usize) -> Option<usize> {
        if let Some(literal) = &self.literal {
            return value
                .get(from..)?
                .find(literal.as_str())
                .map(|offset| from + offset + literal.len());
        }
        let starts = value.get(from..)?.char_indices().map(|(offset, _)| from + offset);
        starts
            .chain(std::iter::once(value.len()))
            .find_map(|start| self.match_at(value, start))
    }
}

#[cfg(test)]
mod tests {
    use super::LikePattern;

    fn like(value: &str, pattern: &str) -> bool {
        LikePattern::new(pattern).matches(value)
    }

    #[test]
    fn literal_patterns_match_whole_values() {
        assert!(like("sentinel-2a", "sentinel-2a"));
        assert!(!like("sentinel-2a", "sentinel-2"));
        assert!(!like("sentinel-2", "sentinel-2a"));
        assert!(like("", ""));
        assert!(!like("a", ""));
    }

    #[test]
    fn percent_matches_any_run() {
        assert!(like("sentinel-2a", "sentinel%"));
        assert!(like("sentinel", "sentinel%"));
        assert!(like("item-00000042", "%-00000042"));
        assert!(!like("item-00000042x", "%-00000042"));
        assert!(like("S2A_MSIL2A_2024", "%L2A%"));
        assert!(like("abc", "%"));
        assert!(like("", "%"));
        assert!(like("", "%%"));
        assert!(like("abcabc", "a%c%c"));
        assert!(!like("abcab", "a%c%c"));
        assert!(like("aXbXc", "a%b%c"));
        assert!(!like("ab", "a%b%b"), "segments do not overlap");
        assert!(!like("aba", "ab%ba"), "prefix and suffix do not overlap");
    }

    #[test]
    fn underscore_matches_one_character() {
        assert!(like("sentinel-2a", "sentinel-2_"));
        assert!(!like("sentinel-2", "sentinel-2_"));
        assert!(like("été", "_t_"));
        assert!(like("xété", "%t_"));
        assert!(like("a_é_b", "%_é_%"));
        assert!(!like("ab", "___"));
        assert!(like("abc", "_%_"));
        assert!(like("aXYc", "a%_c"));
        assert!(!like("ac", "a%_c"));
    }

    #[test]
    fn backslash_escapes_wildcards() {
        assert!(like("100%", "100\\%"));
        assert!(!like("1000", "100\\%"));
        assert!(like("a_b", "a\\_b"));
        assert!(!like("axb", "a\\_b"));
        assert!(like("a\\", "a\\"));
    }

    #[test]
    fn the_prefix_ends_at_the_first_wildcard() {
        assert_eq!(LikePattern::new("sentinel-2%").prefix(), "sentinel-2");
        assert_eq!(LikePattern::new("s2_x%").prefix(), "s2");
        assert_eq!(LikePattern::new("%x").prefix(), "");
        assert_eq!(LikePattern::new("exact").prefix(), "exact");
        assert_eq!(LikePattern::new("50\\%%").prefix(), "50%");
    }

    #[test]
    fn equal_patterns_compare_by_source() {
        assert_eq!(LikePattern::new("a%"), LikePattern::new("a%"));
        assert_ne!(LikePattern::new("a%"), LikePattern::new("a_"));
        assert_eq!(LikePattern::new("a_%").source(), "a_%");
    }
}
