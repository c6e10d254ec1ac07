"""The API behind a real caching proxy (Debian's nginx with proxy_cache and
revalidation): repeated GETs are answered by the cache, an expired entry is
revalidated with a 304 while the item is unchanged and refetched after a
re-index changed it, and pystac-client works through the proxy."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from pystac_client import Client

from conftest import SAMPLE, _free_port, index_catalog, serving

NGINX = "/usr/sbin/nginx"
MAX_AGE = 2  # seconds an item stays fresh in the proxy


@contextlib.contextmanager
def nginx(upstream: str, tmp: Path):
    """nginx on a free port, caching `upstream` and revalidating expired entries."""
    port = _free_port()
    conf = tmp / "nginx.conf"
    (tmp / "cache").mkdir(parents=True)
    # As root, nginx's workers would run as nobody, who cannot enter pytest's folders.
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(f"""
{user}
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log {tmp}/access.log;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  proxy_cache_path {tmp}/cache keys_zone=api:1m;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass {upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_cache api;
      proxy_cache_revalidate on;
      add_header X-Cache-Status $upstream_cache_status always;
    }}
  }}
}}
""")
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/_mgmt/ping", timeout=2)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"nginx did not start: {process.stderr.read().decode()}")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def get(url: str) -> tuple[str, str, dict]:
    """GET through the proxy: its cache status, the ETag, the JSON."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.headers["X-Cache-Status"], response.headers["ETag"], json.load(response)


def wait_for_index(server: str, index_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{server}/_mgmt/health", timeout=5) as response:
            if json.load(response)["index_id"] == index_id:
                return
        time.sleep(0.2)
    pytest.fail(f"the server did not load index {index_id}")


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is installed by scripts/test-python.sh")
def test_a_caching_proxy_serves_revalidates_and_refetches(tmp_path, items):
    catalog = tmp_path / "catalog"
    shutil.copytree(SAMPLE, catalog)
    index = tmp_path / "index"
    config = ("--config", str(SAMPLE / "index-config.json"))
    assert index_catalog(catalog / "catalog.json", index, *config).returncode == 0
    changed, kept = sorted(items.values(), key=lambda i: i["id"])[:2]
    with serving(index, tmp_path, "--cache-control-items", f"public, max-age={MAX_AGE}",
                 reload_interval=1) as server, nginx(server, tmp_path / "nginx") as proxy:
        def item_url(item):
            return f"{proxy}/collections/{item['collection']}/items/{item['id']}"

        status, changed_tag, first = get(item_url(changed))
        assert status == "MISS"
        assert first["properties"] == changed["properties"]
        status, tag, _ = get(item_url(changed))
        assert (status, tag) == ("HIT", changed_tag), "a fresh entry is served by the proxy"
        status, kept_tag, _ = get(item_url(kept))
        assert status == "MISS"

        # Re-index with one item changed; wait until the server has the new version.
        path = next(catalog.glob(f"**/items/{changed['id']}.json"))
        document = json.loads(path.read_text())
        document["properties"]["eo:cloud_cover"] = 99.5
        path.write_text(json.dumps(document))
        assert index_catalog(catalog / "catalog.json", index, *config).returncode == 0
        manifest = json.loads((index / "manifest.json").read_text())
        wait_for_index(server, manifest["index_id"])
        time.sleep(MAX_AGE + 0.5)

        # Expired: the unchanged item is revalidated (the server answers 304),
        # the changed one fetched again with a new tag.
        status, tag, _ = get(item_url(kept))
        assert (status, tag) == ("REVALIDATED", kept_tag)
        status, tag, body = get(item_url(changed))
        assert status == "EXPIRED" and tag != changed_tag
        assert body["properties"]["eo:cloud_cover"] == 99.5
        status, _, _ = get(item_url(changed))
        assert status == "HIT"

        # A STAC client through the proxy.
        client = Client.open(proxy)
        search = client.search(collections=["sentinel-2-l2a"], max_items=100, limit=5)
        found = {item.id for item in search.items()}
        assert found == {i["id"] for i in items.values() if i["collection"] == "sentinel-2-l2a"}
        log = (tmp_path / "nginx" / "access.log").read_text()
        assert "/search" in log, "the client went through the proxy"
