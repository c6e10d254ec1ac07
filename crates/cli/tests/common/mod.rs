//! Helpers shared by the end-to-end tests: running the binary, copying the
//! sample catalog, serving files over HTTP, a moto S3 server, and reading
//! Parquet back with DuckDB.
#![allow(dead_code)]

use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The repository's sample catalog.
pub fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample-data")
}

/// A copy of the sample catalog in a fresh temporary directory.
pub fn sample_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&sample_data(), dir.path());
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `stac-indexed` with arguments and extra environment variables.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stac-indexed"));
    command.args(args).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("the binary runs")
}

/// Runs `stac-indexed` and insists on success; returns the JSON line on stdout.
pub fn run_ok(args: &[&str], env: &[(&str, &str)]) -> Value {
    let output = run(args, env);
    assert!(
        output.status.success(),
        "stac-indexed {args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or("null")).unwrap_or(Value::Null)
}

/// Runs a query with DuckDB; every value as text (NULL as "NULL").
pub fn query(sql: &str) -> Vec<Vec<String>> {
    let connection = duckdb::Connection::open_in_memory().unwrap();
    let mut statement = connection.prepare(sql).unwrap();
    let mut rows = statement.query([]).unwrap();
    let mut out = Vec::new();
    while let Some(row) = rows.next().unwrap() {
        let columns = row.as_ref().column_count();
        out.push(
            (0..columns)
                .map(|i| match row.get_ref(i).unwrap() {
                    duckdb::types::ValueRef::Null => "NULL".to_string(),
                    _ => {
                        let value: duckdb::types::Value = row.get(i).unwrap();
                        use duckdb::types::Value as V;
                        match value {
                            V::Text(s) => s,
                            V::Boolean(b) => b.to_string(),
                            V::BigInt(n) => n.to_string(),
                            V::Int(n) => n.to_string(),
                            V::HugeInt(n) => n.to_string(),
                            V::UBigInt(n) => n.to_string(),
                            V::Double(n) => n.to_string(),
                            other => format!("{other:?}"),
                        }
                    }
                })
                .collect(),
        );
    }
    out
}

/// One column of a query's rows.
pub fn column(sql: &str) -> Vec<String> {
    query(sql).into_iter().map(|mut row| row.remove(0)).collect()
}

/// The manifest at `dir/manifest.json`.
pub fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The local path of one of a manifest's files.
pub fn table(dir: &Path, name: &str) -> String {
    let manifest = manifest(dir);
    dir.join(manifest["files"][name]["path"].as_str().unwrap())
        .display()
        .to_string()
}

/// A static file server over `root` on 127.0.0.1 (a real HTTP server, tower-http's ServeDir).
pub async fn serve_directory(root: &Path) -> SocketAddr {
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(root));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// A running moto_server (S3-compatible), stopped on drop.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Borrows an owned environment list for [`run`] and [`run_ok`].
pub fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
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
    pub fn start() -> Moto {
        let binary = moto_server_binary();
        assert!(
            binary.exists(),
            "moto_server not found at {} (scripts/test.sh installs it; or set MOTO_SERVER)",
            binary.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
                return moto;
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
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Every item JSON file of the sample catalog: (collection, id).
pub fn sample_item_ids() -> Vec<(String, String)> {
    let mut ids: Vec<(String, String)> = files_under(&sample_data())
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("items")))
        .map(|p| {
            let item: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (
                item["collection"].as_str().unwrap().to_string(),
                item["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    ids.sort();
    ids
}

/// A free TCP port on 127.0.0.1 (free when this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Indexes the catalog at `root` (a directory holding catalog.json) into
/// `out` with the sample index config; returns the new index id.
pub fn index_into(root: &Path, out: &Path) -> String {
    let config = sample_data().join("index-config.json");
    run_ok(
        &[
            "index",
            root.join("catalog.json").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    manifest(out)["index_id"].as_str().unwrap().to_string()
}

/// Re-indexes `out` with the root and config of its manifest; returns the new index id.
pub fn reindex(out: &Path) -> String {
    run_ok(&["index", "--out", out.to_str().unwrap()], &[]);
    manifest(out)["index_id"].as_str().unwrap().to_string()
}

/// Rewrites a JSON file atomically (a reader never sees a partial file).
pub fn edit_json_atomically(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut value);
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

/// A running `stac-indexed serve`, killed on drop.
pub struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
    log: tempfile::NamedTempFile,
}

impl Server {
    /// `stac-indexed serve --index <index> --addr 127.0.0.1:<free port> <extra>`, ready.
    pub async fn start(index: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--index", index.to_str().unwrap(), "--addr", &addr];
        args.extend_from_slice(extra);
        Server::spawn(&args, &[], port).await
    }

    /// Runs `stac-indexed <args>` with `env` and waits until
    /// `http://127.0.0.1:<port>/_mgmt/ping` answers.
    pub async fn spawn(args: &[&str], env: &[(&str, &str)], port: u16) -> Server {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_stac-indexed"));
        command
            .args(args)
            .env_remove("STAC_INDEXED_ADDR")
            .env_remove("PORT")
            .env_remove("STAC_INDEXED_TOKEN_SECRET")
            .env("STAC_INDEXED_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.reopen().unwrap()))
            .stderr(Stdio::from(log.reopen().unwrap()));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("the binary starts");
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let ping = format!("{}/_mgmt/ping", self.base);
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server exited ({status}) before answering:\n{}", self.log());
            }
            if let Ok(response) = client.get(&ping).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not answer {ping} in 20 s:\n{}", self.log());
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server wrote to stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// The absolute URL of a path (`/search?…`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// GET a URL; the status and the body as JSON (Null when it is not JSON).
pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// The ids of a FeatureCollection page.
pub fn page_ids(page: &Value) -> Vec<String> {
    page["features"]
        .as_array()
        .unwrap_or_else(|| panic!("not a page: {page}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

/// The href of a page's link with this rel.
pub fn link_href(document: &Value, rel: &str) -> Option<String> {
    document["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
        .map(str::to_string)
}
