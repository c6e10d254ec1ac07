//! Reading the documents an update names: its items and, for an item of a
//! collection the index does not hold, that collection.

use crate::crawl::CollectionRecord;
use crate::document::{self, DocumentKind};
use crate::report::{ErrorKind, ErrorRecord};
use crate::tree::{NodeKind, NodeRecord};
use futures::StreamExt;
use serde_json::Value;
use stac_indexed_io::{Io, Uri};

/// An item document as read (`None`: a catalog or collection, which an
/// update leaves alone), or why it could not be.
pub(crate) type ReadOutcome = Result<Option<ItemDocument>, ErrorRecord>;

/// An item document.
#[derive(Clone, Debug)]
pub(crate) struct ItemDocument {
    /// The whole document.
    pub json: Value,
    /// The content hash of its bytes, as the crawl computes it.
    pub hash: String,
}

/// Reads `uris` (at most `concurrency` at once), in the order given.
pub(crate) async fn read_items(io: &Io, uris: &[Uri], concurrency: usize) -> Vec<(Uri, ReadOutcome)> {
    futures::stream::iter(uris.iter().cloned())
        .map(|uri| async move {
            let outcome = read_item(io, &uri).await;
            (uri, outcome)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

async fn read_item(io: &Io, uri: &Uri) -> ReadOutcome {
    let bytes = io
        .get(uri)
        .await
        .map_err(|e| error(uri, ErrorKind::Fetch, e.to_string()))?;
    let document = document::parse(&bytes).map_err(|e| error(uri, ErrorKind::Parse, format!("not valid JSON: {e}")))?;
    match document::kind_of(&document) {
        Some(DocumentKind::Item) => Ok(Some(ItemDocument {
            json: document.json,
            hash: stac_indexed_format::content_hash(&bytes),
        })),
        Some(DocumentKind::Catalog | DocumentKind::Collection) => Ok(None),
        _ => Err(error(uri, ErrorKind::NotStac, "not a STAC item".to_string())),
    }
}

/// A collection read for an item of a collection new to the index.
#[derive(Clone, Debug)]
pub(crate) struct NewCollection {
    pub record: CollectionRecord,
    pub node: NodeRecord,
}

/// Reads the collection at `uri`; `None` unless it is a collection with the id `id`.
pub(crate) async fn read_collection(io: &Io, uri: &Uri, id: &str) -> Option<NewCollection> {
    let bytes = io.get(uri).await.ok()?;
    let document = document::parse(&bytes).ok()?;
    if document::kind_of(&document) != Some(DocumentKind::Collection) {
        return None;
    }
    let json = &document.json;
    if json.get("id").and_then(Value::as_str) != Some(id) {
        return None;
    }
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_string);
    Some(NewCollection {
        record: CollectionRecord {
            id: id.to_string(),
            title: text("title"),
            json: json.to_string(),
            href: uri.to_string(),
        },
        node: NodeRecord {
            href: uri.to_string(),
            kind: NodeKind::Collection,
            id: id.to_string(),
            title: text("title"),
            description: text("description"),
            json: None,
            children: Vec::new(),
        },
    })
}

/// The target of an item's first link of relation `rel`, resolved against
/// the item's URI.
pub(crate) fn linked(item: &Value, uri: &Uri, rel: &str) -> Option<Uri> {
    item.get("links")?
        .as_array()?
        .iter()
        .filter(|link| link.get("rel").and_then(Value::as_str) == Some(rel))
        .find_map(|link| uri.join(link.get("href")?.as_str()?).ok())
}

fn error(uri: &Uri, kind: ErrorKind, message: String) -> ErrorRecord {
    ErrorRecord {
        uri: uri.to_string(),
        kind,
        message,
        parent: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use stac_indexed_io::IoOptions;

    #[tokio::test]
    async fn items_are_read_in_order_with_an_error_for_each_bad_one() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text).unwrap();
            Uri::from_path(&dir.path().join(name)).unwrap()
        };
        let item = write("item.json", r#"{"type": "Feature", "id": "a", "links": []}"#);
        let broken = write("broken.json", "{not json");
        let catalog = write("catalog.json", r#"{"type": "Catalog", "id": "c", "links": []}"#);
        let not_stac = write("other.json", r#"{"type": "Topology"}"#);
        let missing = Uri::from_path(&dir.path().join("missing.json")).unwrap();
        let io = Io::new(IoOptions::default()).unwrap();

        let read = read_items(&io, &[item.clone(), broken, catalog, not_stac, missing], 2).await;
        let kinds: Vec<Option<ErrorKind>> = read.iter().map(|(_, r)| r.as_ref().err().map(|e| e.kind)).collect();
        assert_eq!(
            kinds,
            [
                None,
                Some(ErrorKind::Parse),
                None,
                Some(ErrorKind::NotStac),
                Some(ErrorKind::Fetch)
            ]
        );
        assert!(matches!(read[2].1, Ok(None)), "a catalog is left alone");
        let (uri, Ok(Some(document))) = &read[0] else {
            panic!("the item reads")
        };
        assert_eq!(uri, &item);
        assert_eq!(document.json["id"], "a");
        assert_eq!(
            document.hash,
            stac_indexed_format::content_hash(&std::fs::read(dir.path().join("item.json")).unwrap())
        );
    }

    #[test]
    fn links_resolve_against_the_item() {
        let uri = Uri::parse("s3://bucket/a/items/x.json").unwrap();
        let item = json!({"links": [{"rel": "parent", "href": "../collection.json"}]});
        assert_eq!(
            linked(&item, &uri, "parent").unwrap().as_str(),
            "s3://bucket/a/collection.json"
        );
        assert!(linked(&item, &uri, "collection").is_none());
    }
}
