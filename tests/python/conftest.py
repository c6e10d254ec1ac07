"""Fixtures shared by the suites of tests/python: a real `stac-indexed serve`
over the sample catalog (one per session) and the sample items, read from
their JSON files (the independent truth)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from pystac_client import Client

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample-data"
WRAPPER = ROOT / "scripts" / "stac-indexed"
READY_TIMEOUT = 180  # seconds: the wrapper may have to wait for cargo

# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ping(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_mgmt/ping", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def index_catalog(root: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    """`stac-indexed index ROOT --out OUT ...` (the wrapper builds the release
    binary when needed); the caller checks the outcome."""
    return subprocess.run([str(WRAPPER), "index", str(root), "--out", str(out), *extra],
                          cwd=ROOT, capture_output=True, text=True)


@contextlib.contextmanager
def serving(index: Path, tmp: Path, *extra: str, reload_interval: int = 0):
    """`stac-indexed serve` over an index on a free port (with `extra`
    options); yields its base URL."""
    env = dict(os.environ, STAC_INDEXED_CACHE_DIR=str(tmp / "server-cache"))
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "server.log"
    log = open(log_path, "wb")
    # Its own session, so that stopping it stops everything it started.
    proc = subprocess.Popen(
        [str(WRAPPER), "serve", "--index", str(index),
         "--addr", f"127.0.0.1:{port}", "--reload-interval", str(reload_interval), *extra],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True,
    )

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()

    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not _ping(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                stop()
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"the server did not answer {url}/_mgmt/ping "
                            f"(exit code {proc.returncode}); its log ends:\n{tail}")
            time.sleep(0.2)
        yield url
    finally:
        stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    """Builds, indexes sample-data and serves it; yields the base URL."""
    tmp = tmp_path_factory.mktemp("stac-indexed")
    index = tmp / "index"
    outcome = index_catalog(SAMPLE / "catalog.json", index,
                            "--config", str(SAMPLE / "index-config.json"))
    assert outcome.returncode == 0, outcome.stderr
    with serving(index, tmp) as url:
        yield url


@pytest.fixture(scope="session")
def items() -> dict[str, dict]:
    """Every sample item, by id: the independent truth."""
    found: dict[str, dict] = {}
    for path in sorted(SAMPLE.glob("**/items/*.json")):
        item = json.loads(path.read_text())
        assert item["id"] not in found, f"duplicate item id {item['id']}"
        found[item["id"]] = item
    assert len(found) == 50
    return found


@pytest.fixture(scope="session")
def client(server) -> Client:
    return Client.open(server)




@pytest.fixture(scope="session")
def conformance(server) -> list[str]:
    """The conformance classes the server advertises (GET /conformance)."""
    with urllib.request.urlopen(f"{server}/conformance", timeout=10) as response:
        return json.load(response)["conformsTo"]
