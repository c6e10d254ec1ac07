//! `serve` as an AWS Lambda function: the same router, driven by the Lambda
//! Runtime API (API Gateway REST v1 and HTTP v2 events, Function URLs, ALB);
//! and `update` as one, applying the notifications of an SQS event source.
//!
//! API Gateway puts the stage in the request path; the stage is taken out of
//! the path (the routes do not know it) and given to the router as
//! `X-Forwarded-Prefix`, so every link the API makes keeps it.

use axum::Router;
use lambda_http::request::RequestContext;
use lambda_http::{LambdaEvent, Request, RequestExt, service_fn};
use serde_json::Value;
use stac_indexed_indexer::{QueuedMessage, UpdateOptions, update_from_messages};
use stac_indexed_io::Io;
use std::sync::Arc;
use tower::ServiceBuilder;

/// Whether this process runs inside Lambda (the Runtime API is announced).
pub(crate) fn is_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

/// Serves `app` to the Lambda Runtime API until the environment stops it.
pub(crate) async fn run(app: Router) -> anyhow::Result<()> {
    tracing::info!("running as a Lambda function");
    let service = ServiceBuilder::new().map_request(move_stage_to_prefix).service(app);
    lambda_http::run(service)
        .await
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// Applies the notifications Lambda hands over (an SQS event source's
/// batches, or an S3, SNS or EventBridge event invoking the function
/// directly) until the environment stops it. An SQS batch is answered with
/// its `batchItemFailures` (partial batch responses): the messages not
/// applied go back to the queue.
pub(crate) async fn run_updates(template: UpdateOptions, io: Arc<Io>) -> anyhow::Result<()> {
    tracing::info!("applying notifications as a Lambda function");
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let (template, io) = (template.clone(), io.clone());
        async move { Ok::<Value, lambda_http::Error>(apply_event(&template, event.payload, io).await) }
    });
    lambda_http::lambda_runtime::run(handler)
        .await
        .map_err(|e| anyhow::anyhow!("the Lambda runtime stopped: {e}"))
}

/// One event: an SQS batch (each record a message), or a notification.
async fn apply_event(template: &UpdateOptions, event: Value, io: Arc<Io>) -> Value {
    let records = event.get("Records").and_then(Value::as_array);
    let from_sqs = records.is_some_and(|r| {
        !r.is_empty()
            && r.iter()
                .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"))
    });
    let messages: Vec<QueuedMessage> = match (from_sqs, records) {
        (true, Some(records)) => records
            .iter()
            .map(|record| QueuedMessage {
                id: record["messageId"].as_str().unwrap_or_default().to_string(),
                body: record["body"].as_str().unwrap_or_default().to_string(),
            })
            .collect(),
        _ => vec![QueuedMessage {
            id: "event".into(),
            body: event.to_string(),
        }],
    };
    let outcome = update_from_messages(template, &messages, io).await;
    let failures: Vec<Value> = outcome
        .failed
        .iter()
        .map(|id| serde_json::json!({"itemIdentifier": id}))
        .collect();
    tracing::info!(
        messages = messages.len(),
        failed = failures.len(),
        report = %serde_json::to_string(&outcome.report).unwrap_or_default(),
        "notifications applied"
    );
    match from_sqs {
        true => serde_json::json!({"batchItemFailures": failures}),
        false => serde_json::json!({"report": outcome.report, "failed": outcome.failed, "error": outcome.error}),
    }
}

/// The API Gateway stage of a request, unless it is the default stage.
fn stage(request: &Request) -> Option<String> {
    let stage = match request.request_context_ref()? {
        RequestContext::ApiGatewayV1(context) => context.stage.clone(),
        RequestContext::ApiGatewayV2(context) => context.stage.clone(),
        _ => None,
    }?;
    (!stage.is_empty() && stage != "$default").then_some(stage)
}

/// Moves `/{stage}` from the front of the path into `X-Forwarded-Prefix`.
fn move_stage_to_prefix(mut request: Request) -> Request {
    let Some(stage) = stage(&request) else {
        return request;
    };
    let prefix = format!("/{stage}");
    let uri = request.uri().clone();
    let path = uri.path();
    let rest = match path.strip_prefix(&prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    };
    let path_and_query = match uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_string(),
    };
    let mut parts = uri.into_parts();
    if let Ok(value) = path_and_query.parse() {
        parts.path_and_query = Some(value);
    }
    if let Ok(stripped) = axum::http::Uri::from_parts(parts) {
        *request.uri_mut() = stripped;
    }
    if let Ok(value) = prefix.parse() {
        request.headers_mut().insert("x-forwarded-prefix", value);
    }
    request
}
