//! `serve` as an AWS Lambda function: the same router, driven by the Lambda
//! Runtime API (API Gateway REST v1 and HTTP v2 events, Function URLs, ALB).
//!
//! API Gateway puts the stage in the request path; the stage is taken out of
//! the path (the routes do not know it) and given to the router as
//! `X-Forwarded-Prefix`, so every link the API makes keeps it.

use axum::Router;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
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
