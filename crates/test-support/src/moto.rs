//! A real S3-compatible server for the tests: moto_server, from PyPI.

use crate::binary::{env_refs, run_ok};
use crate::net::free_port;
use crate::sample::{files_under, sample_data};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running moto_server (S3-compatible), stopped on drop.
pub struct Moto {
    child: std::process::Child,
    /// Its URL, `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where moto_server is: $MOTO_SERVER, or the venv scripts/test.sh makes.
fn moto_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cache = std::env::var_os("STAC_INDEXED_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".cache/stac-indexed"));
    cache.join("venv/bin/moto_server")
}

impl Moto {
    /// Starts moto_server on a free port and waits until it answers HTTP.
    ///
    /// When no moto_server is installed and `MOTO_SERVER` is not set (a
    /// plain `cargo test` on a fresh clone), says so and returns `None`:
    /// the caller skips its S3 test. scripts/test.sh installs it and sets
    /// `MOTO_SERVER`, and a `MOTO_SERVER` that does not exist fails the test.
    pub fn start() -> Option<Moto> {
        let binary = moto_server_binary();
        if !binary.exists() {
            assert!(
                std::env::var_os("MOTO_SERVER").is_none(),
                "MOTO_SERVER is {} but there is no moto_server there",
                binary.display()
            );
            // Past the test harness's capture, so that a passing run shows it.
            let _ = writeln!(
                std::io::stderr(),
                "skipping an S3 test: moto_server not found at {} (scripts/test.sh installs it; or set MOTO_SERVER)",
                binary.display()
            );
            return None;
        }
        let port = free_port();
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let endpoint = format!("http://127.0.0.1:{port}");
        let moto = Moto { child, endpoint };
        for _ in 0..100 {
            let answered = Command::new("curl")
                .args(["--silent", "--fail", "--output", "/dev/null", &moto.endpoint])
                .status()
                .is_ok_and(|status| status.success());
            if answered {
                return Some(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not start on port {port}");
    }

    /// The environment the binary needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("STAC_INDEXED_S3_ENDPOINT", self.endpoint.clone()),
            ("STAC_INDEXED_S3_ALLOW_HTTP", "true".into()),
        ]
    }

    /// Creates a bucket with plain HTTP (independent of the code under test).
    pub async fn create_bucket(&self, bucket: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// Uploads a directory under `bucket/prefix`, readable anonymously.
    pub async fn upload_dir(&self, dir: &Path, bucket: &str, prefix: &str) {
        let client = reqwest::Client::new();
        for file in files_under(dir) {
            let key = format!("{prefix}/{}", file.strip_prefix(dir).unwrap().display());
            let response = client
                .put(format!("{}/{bucket}/{key}", self.endpoint))
                .header("content-type", "application/octet-stream")
                .header("x-amz-acl", "public-read")
                .body(std::fs::read(&file).unwrap())
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success(), "{key}: {}", response.status());
        }
    }

    /// Writes one object with plain HTTP, readable anonymously.
    pub async fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        let response = reqwest::Client::new()
            .put(format!("{}/{bucket}/{key}", self.endpoint))
            .header("x-amz-acl", "public-read")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{key}: {}", response.status());
    }

    /// Deletes one object with plain HTTP.
    pub async fn delete(&self, bucket: &str, key: &str) {
        let response = reqwest::Client::new()
            .delete(format!("{}/{bucket}/{key}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{key}: {}", response.status());
    }

    /// Downloads an object with a signed request made by curl (independent of the code under test).
    pub async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let output = tokio::process::Command::new("curl")
            .args([
                "--silent",
                "--fail",
                "--aws-sigv4",
                "aws:amz:us-east-1:s3",
                "--user",
                "testing:testing",
            ])
            .arg(format!("{}/{bucket}/{key}", self.endpoint))
            .output()
            .await
            .expect("curl runs");
        output.status.success().then_some(output.stdout)
    }

    /// The sample catalog uploaded to `s3://catalog/sample/` and indexed by
    /// the binary into `s3://index/sample/`; the command's summary.
    pub async fn index_sample(&self) -> Value {
        self.create_bucket("catalog").await;
        self.create_bucket("index").await;
        self.upload_dir(&sample_data(), "catalog", "sample").await;
        let env = self.env();
        tokio::task::spawn_blocking(move || {
            run_ok(
                &[
                    "index",
                    "s3://catalog/sample/catalog.json",
                    "--out",
                    "s3://index/sample",
                    "--config",
                    "s3://catalog/sample/index-config.json",
                ],
                &env_refs(&env),
            )
        })
        .await
        .unwrap()
    }

    /// A signed request made by curl to moto's `service` (independent of
    /// the code under test); the reply's body.
    async fn curl_signed(&self, service: &str, args: &[&str]) -> String {
        let output = tokio::process::Command::new("curl")
            .args(["--silent", "--show-error", "--fail-with-body", "--aws-sigv4"])
            .arg(format!("aws:amz:us-east-1:{service}"))
            .args(["--user", "testing:testing"])
            .args(args)
            .output()
            .await
            .expect("curl runs");
        let body = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{args:?}: {body}");
        body
    }

    /// One call of SQS's query API, its XML reply.
    async fn sqs(&self, parameters: &[(&str, &str)]) -> String {
        let mut args = vec![self.endpoint.clone()];
        for (name, value) in parameters {
            args.push("--data-urlencode".into());
            args.push(format!("{name}={value}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.curl_signed("sqs", &args).await
    }

    /// Creates a queue whose messages come back `visibility` seconds after
    /// a receive that does not delete them; its URL.
    pub async fn create_queue(&self, name: &str, visibility: u32) -> String {
        let visibility = visibility.to_string();
        let reply = self
            .sqs(&[
                ("Action", "CreateQueue"),
                ("QueueName", name),
                ("Attribute.1.Name", "VisibilityTimeout"),
                ("Attribute.1.Value", &visibility),
            ])
            .await;
        let start = reply.find("<QueueUrl>").expect("a queue URL") + "<QueueUrl>".len();
        let end = reply[start..].find("</QueueUrl>").unwrap() + start;
        reply[start..end].to_string()
    }

    /// Sends a message to a queue.
    pub async fn send_message(&self, queue: &str, body: &str) {
        self.sqs(&[("Action", "SendMessage"), ("QueueUrl", queue), ("MessageBody", body)])
            .await;
    }

    /// The messages of a queue: waiting, and received but not deleted yet.
    pub async fn queue_depth(&self, queue: &str) -> u64 {
        let reply = self
            .sqs(&[
                ("Action", "GetQueueAttributes"),
                ("QueueUrl", queue),
                ("AttributeName.1", "All"),
            ])
            .await;
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            .iter()
            .map(|name| {
                let at = reply.find(&format!("<Name>{name}</Name>")).expect("the attribute");
                let value = &reply[at..];
                let start = value.find("<Value>").unwrap() + "<Value>".len();
                let end = value.find("</Value>").unwrap();
                value[start..end].parse::<u64>().unwrap()
            })
            .sum()
    }

    /// Sends the bucket's object created and removed notifications to a
    /// queue (moto delivers them as S3 does).
    pub async fn notify_queue(&self, bucket: &str, queue_name: &str) {
        let configuration = format!(
            "<NotificationConfiguration><QueueConfiguration><Queue>arn:aws:sqs:us-east-1:123456789012:{queue_name}</Queue>\
             <Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:*</Event></QueueConfiguration></NotificationConfiguration>"
        );
        let url = format!("{}/{bucket}?notification", self.endpoint);
        let args = [
            "-X",
            "PUT",
            "-H",
            "content-type: application/xml",
            "--data-binary",
            &configuration,
            &url,
        ];
        self.curl_signed("s3", &args).await;
    }
}
