//! Many short byte strings kept end to end in few allocations: the ids and
//! hrefs of a million rows.
//!
//! A boxed string costs its pointer, its length and the allocator's
//! rounding on top of its bytes; here a value costs its bytes and a 4-byte
//! end. Hrefs are kept against the first of each block of rows and with
//! their own item's id taken out, so that the hrefs of one catalog's
//! customary layout (`…/collection/item-id/item-id.json`) cost little more
//! than their ends.

use crate::{Error, Result};

/// Rows per block of [`Packed`]: each block's ends count from its own
/// base, so that they fit 4 bytes.
const BLOCK: usize = 1024;

/// Byte strings end to end in one buffer.
#[derive(Debug, Default)]
pub(crate) struct Packed {
    bytes: Vec<u8>,
    /// Per value, where it ends, counted from its block's base.
    ends: Vec<u32>,
    /// Per block of [`BLOCK`] values, where in `bytes` it starts.
    bases: Vec<u64>,
}

impl Packed {
    /// Appends a value; an error when one block's values exceed 4 GiB.
    pub(crate) fn push(&mut self, value: &[u8]) -> Result<()> {
        if self.ends.len().is_multiple_of(BLOCK) {
            self.bases.push(self.bytes.len() as u64);
        }
        let base = self.bases.last().copied().unwrap_or(0) as usize;
        let end = u32::try_from(self.bytes.len() + value.len() - base)
            .map_err(|_| Error::Internal(format!("row {}: {BLOCK} values exceed 4 GiB", self.ends.len())))?;
        self.bytes.extend_from_slice(value);
        self.ends.push(end);
        Ok(())
    }

    /// Value `index`.
    pub(crate) fn get(&self, index: usize) -> &[u8] {
        let base = self.bases[index / BLOCK] as usize;
        let start = if index.is_multiple_of(BLOCK) {
            0
        } else {
            self.ends[index - 1] as usize
        };
        &self.bytes[base + start..base + self.ends[index] as usize]
    }

    /// Value `index`, pushed as a `str`.
    pub(crate) fn text(&self, index: usize) -> &str {
        std::str::from_utf8(self.get(index)).unwrap_or_default()
    }

    /// Gives back the room reserved for more values.
    pub(crate) fn shrink(&mut self) {
        self.bytes.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.bases.shrink_to_fit();
    }

    /// About how many bytes they take.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.capacity() + self.ends.capacity() * 4 + self.bases.capacity() * 8
    }
}

/// Byte strings stored against the first value of each block of
/// [`Prefixed::BLOCK`] rows: a row keeps only the bytes after the prefix it
/// shares with its block's first value, which is kept whole.
#[derive(Debug, Default)]
pub(crate) struct Prefixed {
    rest: Packed,
    /// Per row, how many leading bytes it shares with its block's first.
    shared: Vec<u16>,
}

impl Prefixed {
    const BLOCK: usize = 64;

    /// Appends a value.
    pub(crate) fn push(&mut self, value: &[u8]) -> Result<()> {
        let row = self.shared.len();
        let shared = if row.is_multiple_of(Self::BLOCK) {
            0
        } else {
            let head = self.rest.get(row - row % Self::BLOCK);
            let common = head.iter().zip(value).take_while(|(a, b)| a == b).count();
            common.min(usize::from(u16::MAX))
        };
        self.shared.push(shared as u16);
        self.rest.push(&value[shared..])
    }

    /// Value `row`, appended to `out`.
    pub(crate) fn read_into(&self, row: usize, out: &mut Vec<u8>) {
        let head = self.rest.get(row - row % Self::BLOCK);
        out.extend_from_slice(&head[..usize::from(self.shared[row])]);
        out.extend_from_slice(self.rest.get(row));
    }

    /// Gives back the room reserved for more values.
    pub(crate) fn shrink(&mut self) {
        self.rest.shrink();
        self.shared.shrink_to_fit();
    }

    /// About how many bytes they take.
    pub(crate) fn bytes(&self) -> usize {
        self.rest.bytes() + self.shared.capacity() * 2
    }
}

/// Where a row's href held its item's id: a byte that UTF-8 never uses.
const ID_MARK: u8 = 0xFF;

/// The hrefs of the rows, each kept with its item's id taken out (see the
/// module documentation) and read back given that id.
#[derive(Debug, Default)]
pub(crate) struct Hrefs {
    patterns: Prefixed,
}

impl Hrefs {
    /// Appends the href of an item with id `id`.
    pub(crate) fn push(&mut self, href: &str, id: &str) -> Result<()> {
        if id.is_empty() {
            return self.patterns.push(href.as_bytes());
        }
        let mut pattern = Vec::with_capacity(href.len());
        for (i, part) in href.split(id).enumerate() {
            if i > 0 {
                pattern.push(ID_MARK);
            }
            pattern.extend_from_slice(part.as_bytes());
        }
        self.patterns.push(&pattern)
    }

    /// Row `row`'s href, whose item's id is `id`.
    pub(crate) fn text(&self, row: usize, id: &str) -> String {
        let mut pattern = Vec::new();
        self.patterns.read_into(row, &mut pattern);
        let mut href = Vec::with_capacity(pattern.len() + id.len());
        for byte in pattern {
            match byte {
                ID_MARK => href.extend_from_slice(id.as_bytes()),
                other => href.push(other),
            }
        }
        String::from_utf8(href).unwrap_or_default()
    }

    /// Gives back the room reserved for more values.
    pub(crate) fn shrink(&mut self) {
        self.patterns.shrink();
    }

    /// About how many bytes they take.
    pub(crate) fn bytes(&self) -> usize {
        self.patterns.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_values_read_back_across_blocks() {
        let values: Vec<String> = (0..3 * BLOCK + 5)
            .map(|i| {
                if i % 7 == 0 {
                    String::new()
                } else {
                    format!("item-{i}-ë")
                }
            })
            .collect();
        let mut packed = Packed::default();
        values.iter().for_each(|v| packed.push(v.as_bytes()).unwrap());
        packed.shrink();
        for (i, value) in values.iter().enumerate() {
            assert_eq!(packed.text(i), value);
        }
    }

    #[test]
    fn hrefs_read_back_every_value_and_keep_a_customary_layout_small() {
        let mut rows: Vec<(String, String)> = (0..40)
            .map(|i| {
                let id = format!("item-{i:04}");
                (format!("s3://bucket/collection/{id}/{id}.json"), id)
            })
            .collect();
        rows[3] = (String::new(), "item-0003".into());
        rows[5] = ("s3://bucket/collection/ïtem".into(), "ïtem".into());
        rows[6] = ("s3://bucket/collection/ïtëm/ï".into(), "ï".into());
        rows[17] = ("https://elsewhere/x.json".into(), String::new());
        rows[20] = ("s3://bucket/collection/item-0016/".into(), "item-0020".into());
        rows[21] = ("s3://bucket/aaa/aaaa.json".into(), "aa".into());
        rows[22] = ("s3://bucket/\u{ff}/item.json".into(), "item".into());
        let mut hrefs = Hrefs::default();
        rows.iter().for_each(|(href, id)| hrefs.push(href, id).unwrap());
        hrefs.shrink();
        for (row, (href, id)) in rows.iter().enumerate() {
            assert_eq!(&hrefs.text(row, id), href, "row {row}");
        }
        let kept: usize = rows.iter().map(|(href, _)| href.len()).sum();
        assert!(
            hrefs.patterns.rest.bytes.len() < kept / 8,
            "a shared layout is kept once a block"
        );
    }
}
