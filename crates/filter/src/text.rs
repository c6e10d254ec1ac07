//! Free-text search (`q`, STAC API Free-Text Search, basic and advanced
//! classes) over the `search_text` column: the item's title, description
//! and keywords, lower-cased, one per line.
//!
//! Matching is **case-insensitive substring** matching ("contains", as the
//! extension words it): `sentinel` matches "Sentinel-2". A phrase matches
//! its words in order, separated by exactly the whitespace written (runs of
//! whitespace in the phrase are collapsed to one space); it never spans two
//! fields (they are separated by newlines).
//!
//! Syntax (the advanced class; the basic class is the special case of
//! terms separated by commas, or an array of terms in POST):
//!
//! - `climate model`, `climate OR model`, `climate, model`: either term;
//! - `climate AND model`: both (AND binds tighter than OR);
//! - `"climate model"`: the phrase;
//! - `(quick OR brown) AND fox`: grouping;
//! - `quick +brown -fox`: in a run of terms, `+term` must and `-term` must
//!   not be present; the plain terms then are optional (at least one of
//!   them must match only when there is no `+term`).
//!
//! `AND` and `OR` are operators only in upper case. An array `q` (POST) is
//! a list of terms, each matched as written (no syntax), any of which may
//! match. An empty `q`, an unbalanced quote or parenthesis, or a dangling
//! operator is a 400.

use crate::sql::Sql;
use crate::{Error, Result};
use duckdb::types::Value;
use serde_json::Value as Json;

/// How deeply parentheses may nest in `q`.
const MAX_NESTING: usize = 32;

/// A parsed free-text query.
#[derive(Clone, Debug, PartialEq)]
pub enum TextQuery {
    /// The text contains this (lower-cased) term or phrase.
    Term(String),
    /// Every part matches.
    All(Vec<TextQuery>),
    /// At least one part matches.
    Any(Vec<TextQuery>),
    /// The part does not match.
    Not(Box<TextQuery>),
}

/// Parses `q`: a string (GET, or POST in the advanced syntax) or an array
/// of strings (POST, basic: any of the terms).
pub fn parse_q(q: &Json) -> Result<TextQuery> {
    match q {
        Json::String(text) => TextQuery::parse(text),
        Json::Array(terms) => {
            let terms = terms
                .iter()
                .map(|term| match term {
                    Json::String(term) if !term.trim().is_empty() => Ok(TextQuery::Term(normalize(term))),
                    _ => Err(Error::Invalid("q: every term must be a non-empty string".into())),
                })
                .collect::<Result<Vec<_>>>()?;
            if terms.is_empty() {
                return Err(Error::Invalid("q is empty".into()));
            }
            Ok(TextQuery::Any(terms))
        }
        _ => Err(Error::Invalid("q must be a string or an array of strings".into())),
    }
}

fn normalize(term: &str) -> String {
    term.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl TextQuery {
    /// Parses the advanced syntax (see the module documentation).
    pub fn parse(text: &str) -> Result<TextQuery> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err(Error::Invalid("q is empty".into()));
        }
        let mut parser = Parser { tokens, position: 0 };
        let query = parser.any(0)?;
        match parser.tokens.get(parser.position) {
            None => Ok(query),
            Some(token) => Err(Error::Syntax(format!("q: unexpected {token:?}"))),
        }
    }

    /// The SQL condition on `search_text`.
    pub fn to_sql(&self) -> Sql {
        match self {
            TextQuery::Term(term) => Sql {
                text: "contains(coalesce(search_text, ''), CAST(? AS VARCHAR))".into(),
                params: vec![Value::Text(term.clone())],
            },
            TextQuery::All(parts) => Sql::join(&parts.iter().map(TextQuery::to_sql).collect::<Vec<_>>(), " AND "),
            TextQuery::Any(parts) => Sql::join(&parts.iter().map(TextQuery::to_sql).collect::<Vec<_>>(), " OR "),
            TextQuery::Not(part) => Sql::template(&["(NOT ", ")"], &[&part.to_sql()]),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Term(String),
    Open,
    Close,
    And,
    Or,
    Required,
    Excluded,
}

fn tokenize(text: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            ',' => tokens.push(Token::Or),
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '+' => tokens.push(Token::Required),
            '-' => tokens.push(Token::Excluded),
            '"' => {
                let phrase: String = chars.by_ref().take_while(|c| *c != '"').collect();
                if text.matches('"').count() % 2 == 1 {
                    return Err(Error::Syntax("q: a quote is not closed".into()));
                }
                let phrase = normalize(&phrase);
                if phrase.is_empty() {
                    return Err(Error::Syntax("q: an empty phrase \"\"".into()));
                }
                tokens.push(Token::Term(phrase));
            }
            c => {
                let mut word = c.to_string();
                while let Some(next) = chars.next_if(|n| !n.is_whitespace() && !"(),\"".contains(*n)) {
                    word.push(next);
                }
                tokens.push(match word.as_str() {
                    "AND" => Token::And,
                    "OR" => Token::Or,
                    _ => Token::Term(word.to_lowercase()),
                });
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    /// Terms separated by OR, commas or nothing; `+`/`-` terms among them.
    fn any(&mut self, depth: usize) -> Result<TextQuery> {
        let (mut required, mut excluded, mut optional) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            match self.peek() {
                None | Some(Token::Close) => break,
                Some(Token::Or) if !optional.is_empty() || !required.is_empty() || !excluded.is_empty() => {
                    self.position += 1;
                    if matches!(self.peek(), None | Some(Token::Close | Token::Or | Token::And)) {
                        return Err(Error::Syntax("q: OR needs a term after it".into()));
                    }
                }
                Some(Token::Required) => {
                    self.position += 1;
                    required.push(self.all(depth)?);
                }
                Some(Token::Excluded) => {
                    self.position += 1;
                    excluded.push(self.all(depth)?);
                }
                _ => optional.push(self.all(depth)?),
            }
        }
        let has_required = !required.is_empty();
        let mut parts = required;
        parts.extend(excluded.into_iter().map(|e| TextQuery::Not(Box::new(e))));
        if !has_required && !optional.is_empty() {
            parts.push(if optional.len() == 1 {
                optional.remove(0)
            } else {
                TextQuery::Any(optional)
            });
        }
        match parts.len() {
            0 => Err(Error::Syntax("q: expected a term".into())),
            1 => Ok(parts.remove(0)),
            _ => Ok(TextQuery::All(parts)),
        }
    }

    /// Units joined by AND.
    fn all(&mut self, depth: usize) -> Result<TextQuery> {
        let mut parts = vec![self.unit(depth)?];
        while self.peek() == Some(&Token::And) {
            self.position += 1;
            parts.push(match self.peek() {
                Some(Token::Required) => {
                    self.position += 1;
                    self.unit(depth)?
                }
                Some(Token::Excluded) => {
                    self.position += 1;
                    TextQuery::Not(Box::new(self.unit(depth)?))
                }
                _ => self.unit(depth)?,
            });
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            TextQuery::All(parts)
        })
    }

    /// A term, a phrase or a group in parentheses.
    fn unit(&mut self, depth: usize) -> Result<TextQuery> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        match token {
            Some(Token::Term(term)) => Ok(TextQuery::Term(term)),
            Some(Token::Open) if depth >= MAX_NESTING => Err(Error::Invalid(format!(
                "q: parentheses nest more than {MAX_NESTING} levels deep"
            ))),
            Some(Token::Open) => {
                let inner = self.any(depth + 1)?;
                match self.tokens.get(self.position) {
                    Some(Token::Close) => {
                        self.position += 1;
                        Ok(inner)
                    }
                    _ => Err(Error::Syntax("q: a parenthesis is not closed".into())),
                }
            }
            Some(token) => Err(Error::Syntax(format!("q: expected a term, found {token:?}"))),
            None => Err(Error::Syntax("q: expected a term at the end".into())),
        }
    }
}
