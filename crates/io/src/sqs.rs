//! An SQS queue: long-polling receives and batch deletes, over SQS's JSON
//! protocol, signed with SigV4 by object_store's signer and the same
//! credentials S3 uses (environment, web identity, ECS or EC2 roles).

use crate::{Error, Result, S3Options};
use bytes::Bytes;
use object_store::aws::{AmazonS3Builder, AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpRequest, HttpRequestBody};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use url::Url;

/// The most messages SQS hands out or deletes in one request.
pub(crate) const MAX_BATCH: usize = 10;

/// One queue.
pub struct Queue {
    url: String,
    /// Where requests go: the queue URL's origin.
    endpoint: Url,
    region: String,
    credentials: Option<AwsCredentialProvider>,
    client: reqwest::Client,
}

/// A message received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Its id.
    pub id: String,
    /// The handle that deletes it (valid for this receive only).
    pub receipt: String,
    /// Its body.
    pub body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Received {
    #[serde(default)]
    messages: Vec<ReceivedMessage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReceivedMessage {
    message_id: String,
    receipt_handle: String,
    body: String,
}

impl Queue {
    /// The queue at `url` (`https://sqs.<region>.amazonaws.com/<account>/<name>`,
    /// or another endpoint's). The region is the URL's, else `AWS_REGION`;
    /// `options.anonymous` sends unsigned requests.
    pub fn new(url: &str, options: &S3Options) -> Result<Queue> {
        let error = |message: String| Error::Queue {
            queue: url.to_string(),
            message,
        };
        let parsed = Url::parse(url).map_err(|e| error(e.to_string()))?;
        let endpoint = parsed.join("/").map_err(|e| error(e.to_string()))?;
        let region = region_of(&parsed)
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        let credentials = match options.anonymous {
            true => None,
            false => {
                // The S3 builder knows every way AWS hands out credentials.
                let store = AmazonS3Builder::from_env()
                    .with_bucket_name("unused")
                    .with_region(&region)
                    .build()
                    .map_err(|e| error(e.to_string()))?;
                Some(store.credentials().clone())
            }
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| error(e.to_string()))?;
        Ok(Queue {
            url: url.to_string(),
            endpoint,
            region,
            credentials,
            client,
        })
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Receives up to `max` messages (at most [`MAX_BATCH`]), waiting up to
    /// `wait` for the first.
    pub async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Message>> {
        let body = json!({
            "QueueUrl": self.url,
            "MaxNumberOfMessages": max.clamp(1, MAX_BATCH),
            "WaitTimeSeconds": wait.as_secs().min(20),
        });
        let reply = self.call("ReceiveMessage", body).await?;
        let received: Received = serde_json::from_value(reply).map_err(|e| self.error(e.to_string()))?;
        Ok(received
            .messages
            .into_iter()
            .map(|m| Message {
                id: m.message_id,
                receipt: m.receipt_handle,
                body: m.body,
            })
            .collect())
    }

    /// Deletes `messages` (received from this queue).
    pub async fn delete(&self, messages: &[&Message]) -> Result<()> {
        for chunk in messages.chunks(MAX_BATCH) {
            let entries: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(n, m)| json!({"Id": n.to_string(), "ReceiptHandle": m.receipt}))
                .collect();
            let reply = self
                .call("DeleteMessageBatch", json!({"QueueUrl": self.url, "Entries": entries}))
                .await?;
            if let Some(failed) = reply.get("Failed").and_then(Value::as_array).filter(|f| !f.is_empty()) {
                return Err(self.error(format!("messages not deleted: {}", Value::from(failed.clone()))));
            }
        }
        Ok(())
    }

    /// Sends one request of the JSON protocol; its reply.
    async fn call(&self, action: &str, body: Value) -> Result<Value> {
        let bytes = Bytes::from(body.to_string());
        let mut request: HttpRequest = http::Request::builder()
            .method("POST")
            .uri(self.endpoint.as_str())
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .body(HttpRequestBody::from(bytes.clone()))
            .map_err(|e| self.error(e.to_string()))?;
        if let Some(provider) = &self.credentials {
            let credential = provider.get_credential().await.map_err(|e| self.error(e.to_string()))?;
            AwsAuthorizer::new(&credential, "sqs", &self.region)
                .try_authorize(&mut request, None)
                .map_err(|e| self.error(e.to_string()))?;
        }
        let mut outgoing = self.client.post(self.endpoint.as_str()).body(bytes);
        for (name, value) in request.headers() {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
        let response = outgoing.send().await.map_err(|e| self.error(e.to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| self.error(e.to_string()))?;
        if !status.is_success() {
            return Err(self.error(format!("{action} answered {status}: {text}")));
        }
        match text.trim() {
            "" => Ok(Value::Null),
            text => serde_json::from_str(text).map_err(|e| self.error(format!("{action}: {e}"))),
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Queue {
            queue: self.url.clone(),
            message,
        }
    }
}

/// The region of an AWS SQS URL (`sqs.<region>.amazonaws.com`).
fn region_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let rest = host.strip_prefix("sqs.")?;
    let (region, domain) = rest.split_once('.')?;
    domain.starts_with("amazonaws.").then(|| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_an_aws_queue_url() {
        let url = Url::parse("https://sqs.eu-west-3.amazonaws.com/123456789012/updates").unwrap();
        assert_eq!(region_of(&url).as_deref(), Some("eu-west-3"));
        let local = Url::parse("http://127.0.0.1:5000/123456789012/updates").unwrap();
        assert_eq!(region_of(&local), None);
        let queue = Queue::new(local.as_str(), &S3Options::default()).unwrap();
        assert_eq!(queue.endpoint.as_str(), "http://127.0.0.1:5000/");
        assert!(Queue::new("not a url", &S3Options::default()).is_err());
    }
}
