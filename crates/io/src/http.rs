//! Reading over http(s) with retries.

use crate::{Error, Result};
use bytes::Bytes;
use rand::Rng;
use std::time::Duration;

/// How many times a transient failure is retried before giving up.
const MAX_RETRIES: u32 = 4;
/// The first backoff delay; each retry doubles it (with jitter).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// An http(s) client that retries transient failures.
#[derive(Clone, Debug)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
}

/// What one attempt produced.
enum Attempt {
    Done(Result<Bytes>),
    Retry(Error),
}

impl HttpClient {
    pub(crate) fn new(timeout: Duration) -> Result<HttpClient> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("stac-indexed/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Request {
                uri: String::new(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(HttpClient { client })
    }

    /// GETs a URL; retries timeouts, connection errors, 429 and 5xx with backoff.
    pub(crate) async fn get(&self, url: &str) -> Result<Bytes> {
        let mut attempt = 0;
        loop {
            match self.attempt(url).await {
                Attempt::Done(result) => return result,
                Attempt::Retry(error) if attempt >= MAX_RETRIES => return Err(error),
                Attempt::Retry(error) => {
                    tracing::debug!(%url, %error, attempt, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(&self, url: &str) -> Attempt {
        let request_error = |e: reqwest::Error| Error::Request {
            uri: url.to_string(),
            message: e.to_string(),
        };
        let response = match self.client.get(url).send().await {
            Ok(response) => response,
            Err(e) if e.is_builder() => return Attempt::Done(Err(request_error(e))),
            Err(e) => return Attempt::Retry(request_error(e)),
        };
        let status = response.status();
        if status.is_success() {
            return match response.bytes().await {
                Ok(bytes) => Attempt::Done(Ok(bytes)),
                Err(e) => Attempt::Retry(request_error(e)),
            };
        }
        let error = Error::HttpStatus {
            uri: url.to_string(),
            status: status.as_u16(),
        };
        match status.as_u16() {
            404 | 410 => Attempt::Done(Err(Error::NotFound { uri: url.to_string() })),
            408 | 429 | 500..=599 => Attempt::Retry(error),
            _ => Attempt::Done(Err(error)),
        }
    }
}

/// Exponential backoff with up to 50% jitter.
fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF * 2u32.pow(attempt);
    let jitter = rand::rng().random_range(0.0..0.5);
    base.mul_f64(1.0 + jitter)
}
