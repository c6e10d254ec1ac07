//! Changes from notifications: S3 event notifications (as S3 sends them to
//! SQS, or wrapped in SNS), EventBridge's S3 events, Cloud Storage
//! notifications as Pub/Sub messages (pushed, or pulled as a JSON array),
//! and plain lists of URIs.
//!
//! Only objects whose key ends in `.json` are changes: created ones are
//! read and upserted, removed ones removed by URI. S3's test event and
//! other objects give no change.

use super::Change;
use serde_json::Value;
use stac_indexed_io::Uri;

/// Why a notification gives no changes.
#[derive(Debug, thiserror::Error)]
#[error("not a change notification: {0}")]
pub struct EventError(String);

/// The changes a notification or list names, in order.
///
/// JSON text (an object or an array of objects) is read as events; any
/// other text as lines, each a URI or path to upsert, or `delete ` and a
/// URI to remove (blank lines and lines starting with `#` skipped).
pub fn changes_from_text(text: &str) -> Result<Vec<Change>, EventError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let value: Value = serde_json::from_str(text).map_err(|e| EventError(format!("invalid JSON: {e}")))?;
        return changes_from_json(&value);
    }
    let mut changes = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (removal, target) = match line.strip_prefix("delete ") {
            Some(target) => (true, target.trim()),
            None => (false, line),
        };
        let uri = Uri::parse(target).map_err(|e| EventError(e.to_string()))?;
        changes.push(match removal {
            true => Change::RemoveHref(uri),
            false => Change::Upsert(uri),
        });
    }
    Ok(changes)
}

/// The changes of one JSON event (or an array of them).
pub fn changes_from_json(value: &Value) -> Result<Vec<Change>, EventError> {
    if let Some(events) = value.as_array() {
        let mut changes = Vec::new();
        for event in events {
            changes.extend(changes_from_json(event)?);
        }
        return Ok(changes);
    }
    // SNS wraps the S3 notification as text in `Message`.
    if value.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message = value
            .get("Message")
            .and_then(Value::as_str)
            .ok_or_else(|| EventError("an SNS notification without a Message".into()))?;
        let inner: Value =
            serde_json::from_str(message).map_err(|e| EventError(format!("an SNS Message that is not JSON: {e}")))?;
        return changes_from_json(&inner);
    }
    if let Some(records) = value.get("Records").and_then(Value::as_array) {
        return records.iter().filter_map(s3_record).collect();
    }
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if value.get("source").and_then(Value::as_str) == Some("aws.s3") {
        return Ok(eventbridge(value)?.into_iter().collect());
    }
    if let Some(attributes) = value
        .pointer("/message/attributes")
        .filter(|a| a.get("eventType").is_some())
    {
        return Ok(cloud_storage(attributes)?.into_iter().collect());
    }
    Err(EventError(
        "neither an S3 notification, an SNS notification, an EventBridge S3 event nor a list of URIs".into(),
    ))
}

/// One record of an S3 notification (`None`: not an S3 object change or
/// not a `.json` key). Keys come form-encoded (`+` for a space).
fn s3_record(record: &Value) -> Option<Result<Change, EventError>> {
    if record.get("eventSource").and_then(Value::as_str) != Some("aws:s3") {
        return None;
    }
    let name = record.get("eventName").and_then(Value::as_str)?;
    let s3 = record.get("s3")?;
    let bucket = s3.pointer("/bucket/name").and_then(Value::as_str)?;
    let encoded = s3.pointer("/object/key").and_then(Value::as_str)?;
    let key: String = url::form_urlencoded::parse(format!("k={encoded}").as_bytes())
        .next()
        .map(|(_, key)| key.into_owned())?;
    object_change(
        bucket,
        &key,
        name.starts_with("ObjectRemoved"),
        name.starts_with("ObjectCreated"),
    )
}

/// An EventBridge S3 event (keys are not encoded there).
fn eventbridge(event: &Value) -> Result<Option<Change>, EventError> {
    let kind = event.get("detail-type").and_then(Value::as_str).unwrap_or_default();
    let (Some(bucket), Some(key)) = (
        event.pointer("/detail/bucket/name").and_then(Value::as_str),
        event.pointer("/detail/object/key").and_then(Value::as_str),
    ) else {
        return Err(EventError("an EventBridge S3 event without a bucket and key".into()));
    };
    object_change(bucket, key, kind == "Object Deleted", kind == "Object Created").transpose()
}

/// A Cloud Storage notification's Pub/Sub attributes. The object is named
/// `s3://bucket/key`, as stac-indexed reads Cloud Storage (its S3 API). An
/// object replaced by a newer generation is not removed.
fn cloud_storage(attributes: &Value) -> Result<Option<Change>, EventError> {
    let text = |name: &str| attributes.get(name).and_then(Value::as_str);
    let (Some(kind), Some(bucket), Some(key)) = (text("eventType"), text("bucketId"), text("objectId")) else {
        return Err(EventError(
            "a Cloud Storage notification without a bucket and object".into(),
        ));
    };
    let replaced = text("overwrittenByGeneration").is_some();
    let removed = matches!(kind, "OBJECT_DELETE" | "OBJECT_ARCHIVE") && !replaced;
    object_change(bucket, key, removed, kind == "OBJECT_FINALIZE").transpose()
}

fn object_change(bucket: &str, key: &str, removed: bool, created: bool) -> Option<Result<Change, EventError>> {
    if !key.ends_with(".json") || !(removed || created) {
        return None;
    }
    let uri = s3_uri(bucket, key);
    Some(uri.map(|uri| match removed {
        true => Change::RemoveHref(uri),
        false => Change::Upsert(uri),
    }))
}

/// The `s3://` URI of a bucket's key, each segment percent-encoded as a URL
/// path needs (the form the crawl records hrefs in).
fn s3_uri(bucket: &str, key: &str) -> Result<Uri, EventError> {
    let mut url = url::Url::parse(&format!("s3://{bucket}/")).map_err(|e| EventError(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|_| EventError(format!("bucket {bucket:?}")))?
        .pop_if_empty()
        .extend(key.split('/'));
    Uri::from_url(url).map_err(|e| EventError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s3_notification(name: &str, key: &str) -> Value {
        json!({"Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": name,
            "s3": {"bucket": {"name": "cat"}, "object": {"key": key, "size": 10}}
        }]})
    }

    fn upsert(uri: &str) -> Change {
        Change::Upsert(Uri::parse(uri).unwrap())
    }

    fn remove(uri: &str) -> Change {
        Change::RemoveHref(Uri::parse(uri).unwrap())
    }

    #[test]
    fn s3_notifications_decode_their_keys() {
        let created = s3_notification("ObjectCreated:Put", "items/a+b%C3%A9.json");
        assert_eq!(
            changes_from_json(&created).unwrap(),
            [upsert("s3://cat/items/a%20b%C3%A9.json")]
        );
        let removed = s3_notification("ObjectRemoved:Delete", "items/x.json");
        assert_eq!(changes_from_json(&removed).unwrap(), [remove("s3://cat/items/x.json")]);
        let not_json = s3_notification("ObjectCreated:Put", "items/x.tif");
        assert!(changes_from_json(&not_json).unwrap().is_empty());
        let test_event = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "cat"});
        assert!(changes_from_json(&test_event).unwrap().is_empty());
    }

    #[test]
    fn sns_and_eventbridge_wrap_the_same_changes() {
        let sns = json!({
            "Type": "Notification",
            "Message": s3_notification("ObjectCreated:Copy", "a.json").to_string()
        });
        assert_eq!(changes_from_json(&sns).unwrap(), [upsert("s3://cat/a.json")]);
        let eventbridge = json!({
            "source": "aws.s3",
            "detail-type": "Object Deleted",
            "detail": {"bucket": {"name": "cat"}, "object": {"key": "dir/a b.json"}}
        });
        assert_eq!(
            changes_from_json(&eventbridge).unwrap(),
            [remove("s3://cat/dir/a%20b.json")]
        );
    }

    #[test]
    fn cloud_storage_notifications_pushed_or_pulled() {
        let message = |kind: &str, replaced: bool| {
            let mut attributes = json!({"eventType": kind, "bucketId": "cat", "objectId": "items/a b.json"});
            if replaced {
                attributes["overwrittenByGeneration"] = json!("1700000000000002");
            }
            json!({"ackId": "x", "message": {"attributes": attributes, "data": "e30=", "messageId": "1"}})
        };
        let pulled = json!([
            message("OBJECT_FINALIZE", false),
            message("OBJECT_DELETE", true),
            message("OBJECT_DELETE", false),
            message("OBJECT_METADATA_UPDATE", false)
        ]);
        assert_eq!(
            changes_from_json(&pulled).unwrap(),
            [upsert("s3://cat/items/a%20b.json"), remove("s3://cat/items/a%20b.json")]
        );
        let pushed = json!({"message": message("OBJECT_FINALIZE", false)["message"], "subscription": "s"});
        assert_eq!(
            changes_from_json(&pushed).unwrap(),
            [upsert("s3://cat/items/a%20b.json")]
        );
    }

    #[test]
    fn lists_of_uris_upsert_and_delete_in_order() {
        let text = "# changes\ns3://cat/a.json\n\ndelete s3://cat/b.json\n/tmp/c.json\n";
        assert_eq!(
            changes_from_text(text).unwrap(),
            [
                upsert("s3://cat/a.json"),
                remove("s3://cat/b.json"),
                upsert("file:///tmp/c.json")
            ]
        );
        let array = json!([s3_notification("ObjectCreated:Put", "a.json")]).to_string();
        assert_eq!(changes_from_text(&array).unwrap(), [upsert("s3://cat/a.json")]);
    }

    #[test]
    fn anything_else_is_refused() {
        assert!(changes_from_text("{\"hello\": 1}").is_err());
        assert!(changes_from_text("{not json").is_err());
        assert!(changes_from_json(&json!({"Type": "Notification", "Message": "nope"})).is_err());
    }
}
