//! What an update does to the rows: its changes applied in order to the
//! rows they name, then compared with what the index held.

use super::state::{Held, Key, key};
use crate::item::ItemRow;
use crate::report::{ErrorKind, ErrorRecord};
use stac_indexed_format::Changes;
use std::collections::{HashMap, HashSet};

/// One change, as the plan sees it.
#[derive(Debug)]
pub(crate) enum Step {
    /// The document at `href` read as this row.
    Row(Box<ItemRow>),
    /// The document at `href` is not an indexable item (it was read, so the
    /// row it may have given is gone, as from a re-index).
    Invalid { href: String },
    /// The document at `href` could not be read: nothing changes for it.
    Unread { href: String },
    /// The document at `href` is a catalog or collection: left alone.
    Ignored,
    /// Remove the row read from `href`.
    RemoveHref(String),
    /// Remove the row of a key.
    RemoveKey(Key),
}

/// The rows to write and to remove, and the counts.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Rows new to the index, by key.
    pub added: Vec<ItemRow>,
    /// Rows that replace one of the same key.
    pub updated: Vec<ItemRow>,
    /// Keys of rows removed.
    pub removed: Vec<Key>,
    /// Rows read again and found the same.
    pub unchanged: u64,
    /// Every href whose state this update decided (errors recorded at
    /// them before are replaced by this update's).
    pub decided_hrefs: HashSet<String>,
}

impl Plan {
    /// The counts of a version against the one before.
    pub(crate) fn changes(&self) -> Changes {
        Changes {
            added: self.added.len() as u64,
            removed: self.removed.len() as u64,
            updated: self.updated.len() as u64,
            unchanged: self.unchanged,
        }
    }

    /// Whether the items table changes.
    pub(crate) fn changes_rows(&self) -> bool {
        !(self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty())
    }
}

/// Where the rows named stand while the steps are applied.
enum Entry {
    /// A row read by this update (an index into the rows read).
    Read(usize),
    /// No row.
    Gone,
}

/// The rows named, as the steps leave them.
struct Working {
    by_href: HashMap<String, Key>,
    href_of: HashMap<Key, String>,
    entries: HashMap<Key, Entry>,
    decided_hrefs: HashSet<String>,
}

impl Working {
    /// The key `row_key` now comes from `href`, as row `index` read.
    fn read(&mut self, row_key: Key, href: &str, index: usize) {
        if self.by_href.get(href) != Some(&row_key) {
            self.forget_href(href);
        }
        if let Some(previous_href) = self.href_of.insert(row_key.clone(), href.to_string()) {
            self.by_href.remove(&previous_href);
            self.decided_hrefs.insert(previous_href);
        }
        self.by_href.insert(href.to_string(), row_key.clone());
        self.decided_hrefs.insert(href.to_string());
        self.entries.insert(row_key, Entry::Read(index));
    }

    /// No row comes from `href` any more.
    fn forget_href(&mut self, href: &str) {
        if let Some(old) = self.by_href.remove(href) {
            self.href_of.remove(&old);
            self.entries.insert(old, Entry::Gone);
        }
        self.decided_hrefs.insert(href.to_string());
    }

    /// The key has no row any more.
    fn forget_key(&mut self, removed: Key) {
        if let Some(href) = self.href_of.remove(&removed) {
            self.by_href.remove(&href);
            self.decided_hrefs.insert(href);
        }
        self.entries.insert(removed, Entry::Gone);
    }
}

/// Applies `steps` in order to the rows `held` (the index's rows of the keys
/// and hrefs they name). A key read from another href than before now comes
/// from there (the last writer wins); a document that gives another key than
/// before removes the old one.
pub(crate) fn plan(steps: Vec<Step>, held: &HashMap<Key, Held>) -> Plan {
    let mut working = Working {
        by_href: held.iter().map(|(k, h)| (h.href.clone(), k.clone())).collect(),
        href_of: held.iter().map(|(k, h)| (k.clone(), h.href.clone())).collect(),
        entries: HashMap::new(),
        decided_hrefs: HashSet::new(),
    };
    let mut rows: Vec<Option<ItemRow>> = Vec::new();
    for step in steps {
        match step {
            Step::Row(row) => {
                working.read(key(&row.collection, &row.id), &row.href, rows.len());
                rows.push(Some(*row));
            }
            Step::Invalid { href } | Step::RemoveHref(href) => working.forget_href(&href),
            Step::Unread { href } => {
                working.decided_hrefs.insert(href);
            }
            Step::RemoveKey(removed) => working.forget_key(removed),
            Step::Ignored => {}
        }
    }
    let Working {
        entries, decided_hrefs, ..
    } = working;
    let mut plan = Plan {
        decided_hrefs,
        ..Plan::default()
    };
    let mut entries: Vec<(Key, Entry)> = entries.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (row_key, entry) in entries {
        let before = held.get(&row_key);
        match entry {
            Entry::Read(index) => {
                let row = rows[index].take().expect("each row is decided once");
                match before {
                    Some(held) if held.href == row.href && held.hash == row.content_hash => plan.unchanged += 1,
                    Some(_) => plan.updated.push(row),
                    None => plan.added.push(row),
                }
            }
            Entry::Gone if before.is_some() => plan.removed.push(row_key),
            Entry::Gone => {}
        }
    }
    plan
}

/// Whether an error means the document is not there to be read now (so a
/// retry may succeed) rather than read and found unindexable.
pub(crate) fn is_unread(error: &ErrorRecord) -> bool {
    error.kind == ErrorKind::Fetch
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn row(id: &str, href: &str, hash: &str) -> ItemRow {
        ItemRow {
            collection: "c".into(),
            id: id.into(),
            datetime: None,
            start_datetime: None,
            end_datetime: None,
            bbox: [0.0, 0.0, 1.0, 1.0],
            wkb: Vec::new(),
            href: href.into(),
            content_hash: hash.into(),
            search_text: None,
            fields: Vec::new(),
            owner: Arc::from(""),
        }
    }

    fn held(rows: &[(&str, &str, &str)]) -> HashMap<Key, Held> {
        rows.iter()
            .map(|(id, href, hash)| {
                let held = Held {
                    href: href.to_string(),
                    hash: hash.to_string(),
                };
                (key("c", id), held)
            })
            .collect()
    }

    fn ids(rows: &[ItemRow]) -> Vec<&str> {
        rows.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn rows_are_added_updated_kept_and_removed() {
        let held = held(&[("same", "h1", "x"), ("changed", "h2", "x"), ("doomed", "h3", "x")]);
        let steps = vec![
            Step::Row(Box::new(row("same", "h1", "x"))),
            Step::Row(Box::new(row("changed", "h2", "y"))),
            Step::Row(Box::new(row("new", "h4", "x"))),
            Step::RemoveHref("h3".into()),
            Step::RemoveHref("nowhere".into()),
            Step::RemoveKey(key("c", "never-held")),
        ];
        let plan = plan(steps, &held);
        assert_eq!(ids(&plan.added), ["new"]);
        assert_eq!(ids(&plan.updated), ["changed"]);
        assert_eq!(plan.removed, [key("c", "doomed")]);
        assert_eq!(plan.unchanged, 1);
        assert_eq!(
            plan.changes(),
            Changes {
                added: 1,
                removed: 1,
                updated: 1,
                unchanged: 1
            }
        );
    }

    #[test]
    fn a_document_that_changes_its_id_replaces_the_old_row() {
        let held = held(&[("old", "h1", "x")]);
        let plan = plan(vec![Step::Row(Box::new(row("renamed", "h1", "y")))], &held);
        assert_eq!(ids(&plan.added), ["renamed"]);
        assert_eq!(plan.removed, [key("c", "old")]);
    }

    #[test]
    fn an_invalid_document_removes_its_row_and_an_unread_one_keeps_it() {
        let held = held(&[("a", "h1", "x"), ("b", "h2", "x")]);
        let steps = vec![Step::Invalid { href: "h1".into() }, Step::Unread { href: "h2".into() }];
        let plan = plan(steps, &held);
        assert_eq!(plan.removed, [key("c", "a")]);
        assert!(plan.updated.is_empty() && plan.added.is_empty());
        assert!(plan.decided_hrefs.contains("h2"));
    }

    #[test]
    fn the_last_step_for_a_key_wins() {
        let held = held(&[("a", "h1", "x")]);
        // The key read from another href: it now comes from there.
        let plan_moved = plan(vec![Step::Row(Box::new(row("a", "h9", "x")))], &held);
        assert_eq!(ids(&plan_moved.updated), ["a"]);
        assert!(plan_moved.decided_hrefs.contains("h1"));
        // Added, then removed in the same update: nothing happens.
        let plan_undone = plan(
            vec![Step::Row(Box::new(row("b", "h2", "x"))), Step::RemoveHref("h2".into())],
            &held,
        );
        assert!(!plan_undone.changes_rows());
        // Removed, then read again: kept as it was.
        let plan_back = plan(
            vec![Step::RemoveKey(key("c", "a")), Step::Row(Box::new(row("a", "h1", "x")))],
            &held,
        );
        assert!(!plan_back.changes_rows());
        assert_eq!(plan_back.unchanged, 1);
    }
}
