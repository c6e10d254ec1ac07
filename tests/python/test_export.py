"""Bulk export read by third-party tools: the GeoParquet file with pyarrow,
geopandas, stac-geoparquet and rustac; the NDJSON file line by line. Each
export holds exactly the items that paging through the same JSON search
returns, in its order, field by field."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import geopandas
import pyarrow.parquet as pq
import pytest
import rustac
import shapely.geometry
import stac_geoparquet.arrow

SEARCHES = [
    {},
    {"filter": '"eo:cloud_cover" < 60', "sortby": "-eo:cloud_cover"},
    {"collections": "sentinel-2-l2a,sentinel-1-grd", "bbox": "-20,30,40,70"},
]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def paged(server: str, params: dict) -> list[dict]:
    """Every item of a GET search, following next links, 7 at a time."""
    url = f"{server}/search?{urllib.parse.urlencode({**params, 'limit': 7})}"
    found = []
    while url:
        page = get_json(url)
        found.extend(page["features"])
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return found


def download(server: str, params: dict, fmt: str, path: Path) -> Path:
    url = f"{server}/search?{urllib.parse.urlencode({**params, 'f': fmt})}"
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.headers["stac-number-matched"].isdigit()
        path.write_bytes(response.read())
    return path


def instant(text: str):
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def same(exported, expected) -> bool:
    """Equal as STAC means it: numbers as numbers, instants as instants, a
    missing member as null, tuples as lists."""
    if isinstance(exported, (int, float)) and isinstance(expected, (int, float)) \
            and not isinstance(exported, bool) and not isinstance(expected, bool):
        return float(exported) == float(expected)
    if isinstance(exported, str) and isinstance(expected, str):
        return exported == expected or (instant(exported) is not None and instant(exported) == instant(expected))
    if isinstance(exported, datetime) and isinstance(expected, str):
        return exported == instant(expected)
    if isinstance(exported, (list, tuple)) and isinstance(expected, (list, tuple)):
        return len(exported) == len(expected) and all(same(a, b) for a, b in zip(exported, expected))
    if isinstance(exported, dict) and isinstance(expected, dict):
        return all(same(exported.get(k), v) for k, v in expected.items()) and \
            all(k in expected or v is None for k, v in exported.items())
    return exported == expected


def check_item(exported: dict, expected: dict) -> None:
    what = expected["id"]
    for member in ("type", "stac_version", "id", "collection", "links", "assets", "bbox"):
        assert same(exported.get(member), expected.get(member)), (what, member, exported.get(member))
    assert same(exported.get("stac_extensions", []), expected.get("stac_extensions", [])), what
    for name, value in expected["properties"].items():
        assert same(exported["properties"].get(name), value), (what, name, exported["properties"].get(name))
    assert shapely.geometry.shape(exported["geometry"]).equals(shapely.geometry.shape(expected["geometry"])), what


@pytest.mark.parametrize("params", SEARCHES, ids=["all", "filter-sort", "collections-bbox"])
def test_geoparquet_export_reads_back_in_pyarrow_geopandas_stac_geoparquet_and_rustac(server, tmp_path, params):
    expected = paged(server, params)
    assert expected
    path = download(server, params, "parquet", tmp_path / "export.parquet")

    table = pq.read_table(path)
    assert table.num_rows == len(expected)
    assert table.column("id").to_pylist() == [item["id"] for item in expected]
    geo = json.loads(pq.read_metadata(path).metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert set(geo["columns"]["geometry"]["geometry_types"]) == {i["geometry"]["type"] for i in expected}
    assert str(table.schema.field("datetime").type) == "timestamp[us, tz=UTC]"

    frame = geopandas.read_parquet(path)
    assert frame.crs == "OGC:CRS84", frame.crs  # the GeoParquet default: longitude, latitude on WGS 84
    for geometry, item in zip(frame.geometry, expected):
        assert geometry.equals(shapely.geometry.shape(item["geometry"])), item["id"]

    for exported, item in zip(stac_geoparquet.arrow.stac_table_to_items(table), expected):
        check_item(exported, item)

    collection = rustac.read_sync(str(path), set_self_link=False)
    read = collection["features"]
    assert [i["id"] for i in read] == [i["id"] for i in expected]
    for exported, item in zip(read, expected):
        check_item(exported, item)


@pytest.mark.parametrize("params", SEARCHES, ids=["all", "filter-sort", "collections-bbox"])
def test_ndjson_export_is_the_pages_line_by_line(server, tmp_path, params):
    expected = paged(server, params)
    path = download(server, params, "ndjson", tmp_path / "export.ndjson")
    lines = [json.loads(line) for line in path.read_text().splitlines() if line]
    assert lines == expected
