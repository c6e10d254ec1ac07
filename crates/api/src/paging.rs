//! Paging tokens: keyset cursors that name the index version they belong to.
//!
//! A token is `base64url(JSON payload) "." base64url(HMAC-SHA256)`. The
//! payload holds the index id, the direction, the sortby it was made for and
//! the sort key of the last (or first) row of the page: the values of the
//! sort fields, then `seq`, the unique tie-breaker. The HMAC key is derived from a configured secret,
//! the same on every instance, so a token made by one process works on any
//! other; there is no per-process secret. A token that does not decode or
//! verify is a 400; one from another index version is a 409.

use crate::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use stac_indexed_engine::Keyset;

pub use stac_indexed_engine::Direction;

/// A direction as a token writes it: `n` or `p`.
mod direction_code {
    use super::Direction;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(direction: &Direction, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match direction {
            Direction::Next => "n",
            Direction::Prev => "p",
        })
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Direction, D::Error> {
        match String::deserialize(deserializer)?.as_str() {
            "n" => Ok(Direction::Next),
            "p" => Ok(Direction::Prev),
            other => Err(serde::de::Error::custom(format!("unknown direction {other:?}"))),
        }
    }
}

/// A decoded token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The index version the key belongs to.
    #[serde(rename = "i")]
    pub index_id: String,
    /// Which way to page.
    #[serde(rename = "d", with = "direction_code")]
    pub direction: Direction,
    /// The sort key of the boundary row (its last element is `seq`).
    #[serde(rename = "k")]
    pub key: Vec<Value>,
    /// The sortby the key belongs to (empty for the default order).
    #[serde(rename = "s", default, skip_serializing_if = "String::is_empty")]
    pub sort: String,
    /// How many rows the search matches, and the fingerprint of the search
    /// it was counted for: later pages of the same search need not count again.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<(u64, String)>,
}

impl Cursor {
    /// The count this cursor carries, if it was made for a search with this fingerprint.
    pub fn matched_for(&self, fingerprint: &str) -> Option<u64> {
        self.matched
            .as_ref()
            .filter(|(_, made_for)| made_for == fingerprint)
            .map(|(count, _)| *count)
    }

    /// The keyset this cursor pages from, for a search sorted by `sort`
    /// (a token made for another sortby is refused).
    pub fn keyset(&self, sort: &str) -> Result<Keyset> {
        if self.sort != sort {
            return Err(Error::bad_request(
                "the paging token belongs to a search with another sortby: restart the search without it",
            ));
        }
        let (seq, values) = self.key.split_last().ok_or_else(invalid_token)?;
        Ok(Keyset {
            direction: self.direction,
            values: values.to_vec(),
            seq: seq.as_i64().ok_or_else(invalid_token)?,
        })
    }
}

/// The error of a token that does not decode, verify or fit the search.
pub(crate) fn invalid_token() -> Error {
    Error::bad_request("invalid paging token: restart the search without it")
}

/// Signs and verifies tokens.
#[derive(Clone)]
pub struct TokenCodec {
    key: Vec<u8>,
}

/// Bytes of the signature kept in a token.
const SIGNATURE_BYTES: usize = 16;

impl TokenCodec {
    /// A codec keyed by `secret` (may be empty).
    pub fn new(secret: &str) -> TokenCodec {
        TokenCodec {
            key: format!("stac-indexed paging token\0{secret}").into_bytes(),
        }
    }

    /// The token for a cursor.
    pub fn encode(&self, cursor: &Cursor) -> String {
        let payload = serde_json::to_vec(cursor).expect("a cursor serializes");
        let signature = self.sign(&payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    /// The cursor of a token made for index `index_id`.
    pub fn decode(&self, token: &str, index_id: &str) -> Result<Cursor> {
        let (payload, signature) = token.split_once('.').ok_or_else(invalid_token)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid_token())?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid_token())?;
        if signature != self.sign(&payload) {
            return Err(invalid_token());
        }
        let cursor: Cursor = serde_json::from_slice(&payload).map_err(|_| invalid_token())?;
        if cursor.index_id != index_id {
            return Err(Error::IndexChanged(format!(
                "the index changed since this search began (token for index {}, now {index_id}): \
                 restart the search without the token",
                cursor.index_id
            )));
        }
        Ok(cursor)
    }

    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload);
        mac.finalize().into_bytes()[..SIGNATURE_BYTES].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cursor() -> Cursor {
        Cursor {
            index_id: "v1".into(),
            direction: Direction::Next,
            key: vec![json!(41)],
            sort: String::new(),
            matched: None,
        }
    }

    #[test]
    fn tokens_round_trip_across_codecs_with_the_same_secret() {
        let token = TokenCodec::new("s").encode(&cursor());
        assert_eq!(TokenCodec::new("s").decode(&token, "v1").unwrap(), cursor());
    }

    #[test]
    fn keysets_split_off_the_seq_and_check_the_sort() {
        let sorted = Cursor {
            key: vec![json!(12.5), json!(null), json!(7)],
            sort: "-eo:cloud_cover,+id".into(),
            ..cursor()
        };
        let keyset = sorted.keyset("-eo:cloud_cover,+id").unwrap();
        assert_eq!((keyset.values, keyset.seq), (vec![json!(12.5), json!(null)], 7));
        assert!(matches!(sorted.keyset(""), Err(Error::BadRequest(_))));
        assert_eq!(
            cursor().keyset("").unwrap().boundary(),
            stac_indexed_engine::Boundary::After(41)
        );
    }

    #[test]
    fn tampered_garbage_and_foreign_tokens_are_refused() {
        let codec = TokenCodec::new("s");
        let token = codec.encode(&cursor());
        for bad in ["", "abc", "abc.def", &token[1..], &format!("{token}x")] {
            assert!(matches!(codec.decode(bad, "v1"), Err(Error::BadRequest(_))), "{bad}");
        }
        let forged = Cursor {
            key: vec![json!(1)],
            ..cursor()
        };
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap()),
            token.split('.').nth(1).unwrap()
        );
        assert!(matches!(codec.decode(&forged, "v1"), Err(Error::BadRequest(_))));
        assert!(matches!(
            TokenCodec::new("other").decode(&token, "v1"),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(codec.decode(&token, "v2"), Err(Error::IndexChanged(_))));
    }
}
