//! The `stac-indexed` binary, run as a user runs it: commands, and a server
//! on a free port.

use crate::net::free_port;
use crate::rows::manifest;
use crate::sample::sample_data;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The `stac-indexed` binary cargo built beside the running test (the test
/// runs from `target/<profile>/deps/`, the binary is in `target/<profile>/`).
pub fn binary() -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let deps = test.parent().unwrap();
    let profile = if deps.ends_with("deps") {
        deps.parent().unwrap()
    } else {
        deps
    };
    let binary = profile.join("stac-indexed");
    assert!(
        binary.exists(),
        "{} is not built (run the tests of the stac-indexed crate)",
        binary.display()
    );
    binary
}

/// Runs `stac-indexed` with arguments and extra environment variables.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary());
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

/// Borrows an owned environment list for [`run`] and [`run_ok`].
pub fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Indexes the catalog at `root` (a directory holding catalog.json) into
/// `out` with the sample index config; returns the new index id.
pub fn index_into(root: &Path, out: &Path) -> String {
    index_with_config(root, out, &sample_data().join("index-config.json"))
}

/// Indexes the catalog at `root` (a directory holding catalog.json) into
/// `out` with the index config at `config`; returns the new index id.
pub fn index_with_config(root: &Path, out: &Path, config: &Path) -> String {
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
        let mut command = Command::new(binary());
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
