//! `update` end to end on moto_server (S3 and SQS): bucket notifications
//! delivered to a queue, polled and applied, the API serving the result; a
//! poison message left to the queue; the Lambda SQS handler's partial
//! batch response; two updaters racing on S3.

use serde_json::{Value, json};
use stac_indexed_test_support::*;
use std::process::{Command, Stdio};

const ITEMS: &str = "sample/optical/landsat-c2-l2/items";

/// An item of the sample's landsat collection under another id, as bytes.
fn item_named(id: &str, cloud_cover: f64) -> Vec<u8> {
    let template = sample_data().join("optical/landsat-c2-l2/items/LC09_L2SP_193028_20240112.json");
    let mut item = read_json(&template);
    item["id"] = json!(id);
    item["properties"]["eo:cloud_cover"] = json!(cloud_cover);
    item.to_string().into_bytes()
}

/// What a polling run applied, over all its batches.
#[derive(Debug, Default)]
struct Polled {
    added: u64,
    removed: u64,
    /// Messages that failed (a message failing again counts again).
    failed: usize,
    lines: Vec<Value>,
}

/// Polls the queue until it hands out nothing new; the batches' lines summed up.
async fn poll_until_empty(queue: &str, env: Vec<(&'static str, String)>) -> Polled {
    let queue = queue.to_string();
    let output = tokio::task::spawn_blocking(move || {
        let args = [
            "update",
            "--index",
            "s3://index/sample",
            "--sqs-queue",
            &queue,
            "--until-empty",
        ];
        run(&args, &env_refs(&env))
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut polled = Polled::default();
    for line in stdout.lines() {
        let batch: Value = serde_json::from_str(line).unwrap();
        polled.added += batch["report"]["added"].as_u64().unwrap_or(0);
        polled.removed += batch["report"]["removed"].as_u64().unwrap_or(0);
        polled.failed += batch["failed"].as_array().map_or(0, Vec::len);
        polled.lines.push(batch);
    }
    polled
}

/// The served item's status and cloud cover, read through a fresh server.
async fn served(moto: &Moto, id: &str) -> (u16, Value) {
    let cache = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let env = moto.env();
    let server = Server::spawn(
        &[
            "serve",
            "--index",
            "s3://index/sample",
            "--addr",
            &addr,
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ],
        &env_refs(&env),
        port,
    )
    .await;
    let client = reqwest::Client::new();
    let (status, item) = get_json(&client, &server.url(&format!("/collections/landsat-c2-l2/items/{id}"))).await;
    (status, item["properties"]["eo:cloud_cover"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_notifications_on_a_queue_update_the_served_index() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.index_sample().await;
    let queue = moto.create_queue("updates", 2).await;
    moto.notify_queue("catalog", "updates").await;
    let poll = || poll_until_empty(&queue, moto.env());

    // A new item lands in the bucket: its notification is applied.
    moto.put("catalog", &format!("{ITEMS}/landed.json"), &item_named("landed", 4.5))
        .await;
    let batch = poll().await;
    assert_eq!((batch.added, batch.failed), (1, 0), "{:?}", batch.lines);
    assert_eq!(moto.queue_depth(&queue).await, 0, "applied messages are deleted");
    assert_eq!(served(&moto, "landed").await, (200, json!(4.5)));

    // It is withdrawn: the removal is applied and the item is gone.
    moto.delete("catalog", &format!("{ITEMS}/landed.json")).await;
    let batch = poll().await;
    assert_eq!(batch.removed, 1, "{:?}", batch.lines);
    assert_eq!(served(&moto, "landed").await.0, 404);

    // A poison message beside a good one: the good one is applied, the
    // poison one stays on the queue for its redrive policy.
    moto.send_message(&queue, "this is not a notification").await;
    moto.put("catalog", &format!("{ITEMS}/beside.json"), &item_named("beside", 7.0))
        .await;
    let batch = poll().await;
    assert_eq!((batch.added, batch.failed), (1, 1), "{:?}", batch.lines);
    assert_eq!(moto.queue_depth(&queue).await, 1, "the poison message is still queued");
    assert_eq!(served(&moto, "beside").await, (200, json!(7.0)));

    // The Lambda SQS handler answers batchItemFailures for exactly the bad messages.
    let (service, runtime_api) = LambdaService::start().await;
    let cache = tempfile::tempdir().unwrap();
    let mut function = Command::new(binary())
        .args(["update", "--index", "s3://index/sample"])
        .envs(moto.env())
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "updates")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("STAC_INDEXED_UPDATE_CACHE_DIR", cache.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    moto.put(
        "catalog",
        &format!("{ITEMS}/by-lambda.json"),
        &item_named("by-lambda", 1.0),
    )
    .await;
    moto.put("catalog", &format!("{ITEMS}/broken.json"), b"{\"type\": \"Feature\"")
        .await;
    let notification = |key: &str, name: &str| {
        json!({"Records": [{"eventSource": "aws:s3", "eventName": name,
            "s3": {"bucket": {"name": "catalog"}, "object": {"key": key}}}]})
        .to_string()
    };
    let record = |id: &str, body: String| {
        json!({"messageId": id, "receiptHandle": format!("r-{id}"), "body": body,
               "eventSource": "aws:sqs", "awsRegion": "us-east-1",
               "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:updates"})
    };
    let event = json!({"Records": [
        record("good", notification(&format!("{ITEMS}/by-lambda.json"), "ObjectCreated:Put")),
        record("poison", "garbage".into()),
        record("broken", notification(&format!("{ITEMS}/broken.json"), "ObjectCreated:Put")),
    ]});
    let answer = service.invoke("sqs-1", event).await;
    let _ = function.kill();
    let _ = function.wait();
    let mut failures: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    failures.sort();
    assert_eq!(failures, ["broken", "poison"]);
    assert_eq!(served(&moto, "by-lambda").await, (200, json!(1.0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_updaters_racing_on_s3_lose_no_change() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.index_sample().await;
    for n in 0..200 {
        moto.put(
            "catalog",
            &format!("{ITEMS}/race-{n}.json"),
            &item_named(&format!("race-{n}"), 1.0),
        )
        .await;
    }
    let updaters: Vec<_> = [0, 1]
        .into_iter()
        .map(|updater| {
            let env = moto.env();
            tokio::task::spawn_blocking(move || {
                for n in updater * 100..(updater + 1) * 100 {
                    let uri = format!("s3://catalog/{ITEMS}/race-{n}.json");
                    let line = run_ok(&["update", "--index", "s3://index/sample", &uri], &env_refs(&env));
                    assert_eq!(line["report"]["added"], 1, "{line}");
                }
            })
        })
        .collect();
    for updater in updaters {
        updater.await.unwrap();
    }
    let manifest: Value = serde_json::from_slice(&moto.get("index", "sample/manifest.json").await.unwrap()).unwrap();
    assert_eq!(manifest["counts"]["items"], 250, "{manifest}");
    let cache = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let env = moto.env();
    let server = Server::spawn(
        &[
            "serve",
            "--index",
            "s3://index/sample",
            "--addr",
            &addr,
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ],
        &env_refs(&env),
        port,
    )
    .await;
    let client = reqwest::Client::new();
    let url = server.url("/search?limit=1000&filter=id%20LIKE%20%27race-%25%27");
    let (status, page) = get_json(&client, &url).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["numberMatched"], 200);
}

/// Cloud Storage notifications pushed by Pub/Sub to `update --listen` (the
/// object named as `s3://bucket/key`, as stac-indexed reads Cloud Storage;
/// here the bucket is moto's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_notifications_are_applied_one_per_request() {
    let Some(moto) = Moto::start() else {
        return;
    };
    moto.index_sample().await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let env = moto.env();
    let listener = Server::spawn(
        &["update", "--index", "s3://index/sample", "--listen", &addr],
        &env_refs(&env),
        port,
    )
    .await;
    moto.put("catalog", &format!("{ITEMS}/pushed.json"), &item_named("pushed", 3.0))
        .await;
    let push = |kind: &str, key: &str| {
        json!({
            "message": {
                "attributes": {"eventType": kind, "bucketId": "catalog", "objectId": key,
                               "payloadFormat": "JSON_API_V1"},
                "data": "e30=", "messageId": "1", "publishTime": "2026-12-07T18:00:00Z"
            },
            "subscription": "projects/p/subscriptions/catalog-changes"
        })
    };
    let client = reqwest::Client::new();
    let send = |body: String| {
        let client = client.clone();
        let url = listener.url("/");
        async move {
            let response = client.post(url).body(body).send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
        }
    };
    let (status, answer) = send(push("OBJECT_FINALIZE", &format!("{ITEMS}/pushed.json")).to_string()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["report"]["added"], 1);
    assert_eq!(served(&moto, "pushed").await, (200, json!(3.0)));

    let (status, _) = send("not a notification".into()).await;
    assert_eq!(status, 422, "the sender retries it, then dead-letters it");
    let (status, answer) = send(push("OBJECT_DELETE", &format!("{ITEMS}/pushed.json")).to_string()).await;
    assert_eq!((status, &answer["report"]["removed"]), (200, &json!(1)), "{answer}");
    assert_eq!(served(&moto, "pushed").await.0, 404);
}
