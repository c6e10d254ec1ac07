//! S3 stores, one per bucket, configured from the standard AWS variables.

use crate::{Error, Result};
use object_store::aws::AmazonS3Builder;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How S3 is reached, beyond what the AWS environment variables say.
///
/// Region, credentials and endpoint come from the standard variables
/// (`AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ENDPOINT_URL`,
/// `AWS_ALLOW_HTTP`, ...); these options override them.
#[derive(Clone, Debug, Default)]
pub struct S3Options {
    /// An explicit endpoint for S3-compatible stores (MinIO, moto, R2, ...).
    pub endpoint: Option<String>,
    /// Allow a plain http:// endpoint.
    pub allow_http: bool,
    /// Send unsigned requests (public buckets, no credentials needed).
    pub anonymous: bool,
}

/// Builds and caches one store per bucket.
#[derive(Debug)]
pub(crate) struct S3Stores {
    options: S3Options,
    buckets: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl S3Stores {
    pub(crate) fn new(options: S3Options) -> S3Stores {
        S3Stores {
            options,
            buckets: Mutex::default(),
        }
    }

    /// The store for a bucket, built on first use.
    pub(crate) fn bucket(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = buckets.get(bucket) {
            return Ok(store.clone());
        }
        let store: Arc<dyn ObjectStore> = Arc::new(self.build(bucket)?);
        buckets.insert(bucket.to_string(), store.clone());
        Ok(store)
    }

    fn build(&self, bucket: &str) -> Result<object_store::aws::AmazonS3> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry_config());
        if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
            builder = builder.with_region("us-east-1");
        }
        if let Some(endpoint) = &self.options.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if self.options.allow_http {
            builder = builder.with_allow_http(true);
        }
        if self.options.anonymous {
            builder = builder.with_skip_signature(true);
        }
        builder.build().map_err(|source| Error::Store {
            uri: format!("s3://{bucket}"),
            source,
        })
    }
}

/// Transient failures are retried with exponential backoff, for at most a minute.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 5,
        retry_timeout: Duration::from_secs(60),
    }
}
