//! The Lambda service as a function sees it: a Runtime API on 127.0.0.1
//! (next invocation, response, error) that hands out the events a test
//! queues and collects the function's answers.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The emulated Lambda service's state.
#[derive(Default)]
pub struct LambdaService {
    events: Mutex<VecDeque<(String, Value)>>,
    answers: Mutex<HashMap<String, Value>>,
    new_event: Notify,
    new_answer: Notify,
}

async fn next_invocation(State(service): State<Arc<LambdaService>>) -> Response {
    loop {
        let next = service.events.lock().unwrap().pop_front();
        if let Some((id, event)) = next {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
            headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:stac".parse().unwrap(),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793".parse().unwrap(),
            );
            return (headers, axum::Json(event)).into_response();
        }
        service.new_event.notified().await;
    }
}

async fn invocation_response(
    State(service): State<Arc<LambdaService>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    let answer: Value = serde_json::from_str(&body).unwrap_or(json!({"unparsable": body}));
    service.answers.lock().unwrap().insert(id, answer);
    service.new_answer.notify_waiters();
    StatusCode::ACCEPTED
}

async fn invocation_error(
    State(service): State<Arc<LambdaService>>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    service
        .answers
        .lock()
        .unwrap()
        .insert(id, json!({"lambda_error": body}));
    service.new_answer.notify_waiters();
    StatusCode::ACCEPTED
}

async fn init_error(body: String) -> StatusCode {
    panic!("the function failed to initialise: {body}");
}

impl LambdaService {
    /// Starts the Runtime API; the service and the address for
    /// `AWS_LAMBDA_RUNTIME_API`.
    pub async fn start() -> (Arc<LambdaService>, String) {
        let service = Arc::new(LambdaService::default());
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(invocation_error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(service.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let runtime_api = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (service, runtime_api)
    }

    /// Queues an event and waits for the function's answer.
    pub async fn invoke(&self, id: &str, event: Value) -> Value {
        self.events.lock().unwrap().push_back((id.to_string(), event));
        self.new_event.notify_waiters();
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let notified = self.new_answer.notified();
                if let Some(answer) = self.answers.lock().unwrap().remove(id) {
                    return answer;
                }
                notified.await;
            }
        })
        .await
        .expect("the function answers within 30 s")
    }
}
