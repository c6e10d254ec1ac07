//! A batch of queued notifications (SQS messages, as polled or as a Lambda
//! event source hands them over) applied as one update, and which of them
//! failed.

use super::{Change, UpdateOptions, UpdateReport, changes_from_text, update};
use crate::report::ErrorKind;
use stac_indexed_io::Io;
use std::collections::HashSet;
use std::sync::Arc;

/// One queued message.
#[derive(Clone, Debug)]
pub struct QueuedMessage {
    /// Its id.
    pub id: String,
    /// Its body: a notification ([`changes_from_text`]).
    pub body: String,
}

/// What became of a batch of messages.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// The update's report, when one ran and succeeded.
    pub report: Option<UpdateReport>,
    /// Why the update failed as a whole, if it did.
    pub error: Option<String>,
    /// The messages not applied, for the queue to deliver again (and, past
    /// its limit, to move to its dead-letter queue): those that are not a
    /// notification, those naming an item that could not be read or
    /// indexed, and all of them when the update failed.
    pub failed: Vec<String>,
}

/// Applies the changes `messages` name, in order, as one update of the
/// index `template.index` (its `changes` are replaced).
pub async fn update_from_messages(template: &UpdateOptions, messages: &[QueuedMessage], io: Arc<Io>) -> BatchOutcome {
    let mut outcome = BatchOutcome::default();
    let mut changes = Vec::new();
    let mut named: Vec<(String, Vec<String>)> = Vec::new();
    for message in messages {
        match changes_from_text(&message.body) {
            Ok(found) => {
                named.push((message.id.clone(), found.iter().map(change_uri).collect()));
                changes.extend(found);
            }
            Err(e) => {
                tracing::warn!(message = message.id, error = %e, "a message that names no change");
                outcome.failed.push(message.id.clone());
            }
        }
    }
    if changes.is_empty() {
        return outcome;
    }
    let options = UpdateOptions {
        changes,
        ..template.clone()
    };
    match update(options, io).await {
        Ok(report) => {
            let bad: HashSet<&str> = report
                .unread
                .iter()
                .map(String::as_str)
                .chain(
                    // A property of the wrong type does not keep the item out.
                    report
                        .errors
                        .iter()
                        .filter(|e| e.kind != ErrorKind::PropertyType)
                        .map(|e| e.uri.as_str()),
                )
                .collect();
            outcome.failed.extend(
                named
                    .iter()
                    .filter(|(_, uris)| uris.iter().any(|uri| bad.contains(uri.as_str())))
                    .map(|(id, _)| id.clone()),
            );
            outcome.report = Some(report);
        }
        Err(e) => {
            tracing::error!(error = %e, "the update failed; its messages stay queued");
            outcome.error = Some(e.to_string());
            outcome.failed.extend(named.into_iter().map(|(id, _)| id));
        }
    }
    outcome
}

/// The URI a change names (a key removal names none).
fn change_uri(change: &Change) -> String {
    match change {
        Change::Upsert(uri) | Change::RemoveHref(uri) => uri.to_string(),
        Change::RemoveKey { collection, id } => format!("{collection}/{id}"),
    }
}
