"""pystac-client against a real `stac-indexed serve` over the sample catalog.

Run by scripts/test-python.sh (part of scripts/test.sh). A session fixture
(conftest.py) builds the release binary, indexes sample-data/ into a temporary
directory and serves it on a free port of 127.0.0.1; every expected answer is
computed here, in Python, from the sample item JSON files (shapely for
geometry), never from the server.

The search extensions (filter, sortby, fields, query, q, /queryables,
/sortables) are in test_search_extensions.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pystac_client import Client
from pystac_client.conformance import ConformanceClasses
from shapely.geometry import box, shape

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample-data"
PAGE = 3  # a small page size, so that every search spans several pages

COLLECTION_IDS = {"sentinel-2-l2a", "landsat-c2-l2", "sentinel-1-grd"}

# ---------------------------------------------------------------------------
# Expected answers, from the JSON files
# ---------------------------------------------------------------------------


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _item_interval(item: dict) -> tuple[datetime, datetime]:
    p = item["properties"]
    start = p.get("start_datetime") or p["datetime"]
    end = p.get("end_datetime") or p["datetime"]
    return _ts(start), _ts(end)


def _query_interval(value: str) -> tuple[datetime | None, datetime | None]:
    if "/" not in value:
        t = _ts(value)
        return t, t
    start, end = value.split("/")
    return (None if start in ("", "..") else _ts(start),
            None if end in ("", "..") else _ts(end))


def _boxes(bbox: list[float]):
    """A bbox as shapely boxes: two when it crosses the antimeridian."""
    west, south, east, north = bbox
    if west > east:
        return [box(west, south, 180, north), box(-180, south, east, north)]
    return [box(west, south, east, north)]


def expected(items: dict[str, dict], *, bbox=None, intersects=None, datetime=None,
             ids=None, collections=None) -> set[str]:
    result = set()
    for item_id, item in items.items():
        if ids is not None and item_id not in ids:
            continue
        if collections is not None and item["collection"] not in collections:
            continue
        geometry = shape(item["geometry"])
        if bbox is not None and not any(geometry.intersects(b) for b in _boxes(bbox)):
            continue
        if intersects is not None and not geometry.intersects(shape(intersects)):
            continue
        if datetime is not None:
            q_start, q_end = _query_interval(datetime)
            i_start, i_end = _item_interval(item)
            if (q_end is not None and i_start > q_end) or (q_start is not None and i_end < q_start):
                continue
        result.add(item_id)
    return result


def default_order(items: dict[str, dict], ids) -> list[str]:
    """The API's default order: collection, newest first (datetime, else
    start_datetime), id (docs/index-format.md, "Row order and seq")."""

    def key(item_id):
        item = items[item_id]
        p = item["properties"]
        newest = _ts(p.get("datetime") or p["start_datetime"])
        return (item["collection"], -newest.timestamp(), item_id)

    return sorted(ids, key=key)


def search_ids(client: Client, method: str, **params) -> list[str]:
    """Every id of a search, following next links page by page (PAGE a page)."""
    search = client.search(method=method, limit=PAGE, max_items=None, **params)
    ids = []
    pages = 0
    for page in search.pages():
        pages += 1
        assert len(page.items) <= PAGE, f"page {pages} has {len(page.items)} items"
        ids.extend(item.id for item in page.items)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"ids repeated across pages: {sorted(duplicates)}"
    assert pages >= -(-len(ids) // PAGE)  # (pystac-client skips an empty page)
    return ids


# ---------------------------------------------------------------------------
# Landing page, conformance, collections, items
# ---------------------------------------------------------------------------


def test_open_and_conformance(client):
    assert client.id
    for cls in (ConformanceClasses.CORE, ConformanceClasses.ITEM_SEARCH,
                ConformanceClasses.COLLECTIONS, ConformanceClasses.FEATURES):
        assert client.conforms_to(cls), f"does not conform to {cls.name}"
    # The extension classes (filter, sort, fields, query) are tested, each
    # when advertised, in test_search_extensions.py.


def test_get_collections(client):
    assert {c.id for c in client.get_collections()} == COLLECTION_IDS


@pytest.mark.parametrize("collection_id", sorted(COLLECTION_IDS))
def test_collection_get_items(client, items, collection_id):
    collection = client.get_collection(collection_id)
    assert collection.id == collection_id
    got = [item.id for item in collection.get_items()]
    assert len(got) == len(set(got)), "an item is returned twice"
    want = expected(items, collections=[collection_id])
    assert set(got) == want
    assert got == default_order(items, want)


@pytest.mark.parametrize("item_id", [
    "S2A_MSIL2A_20240105T101401_T32TPR",
    "S2A_MSIL2A_20240223T102021_T32TNS",  # MultiPolygon
    "LC08_L2SP_194027_20240120",  # Point
    "LC09_L2SP_074072_20240318",  # antimeridian
    "S2B_MSIL2A_20240219T101859_T32TQR",  # datetime null, range only
])
def test_collection_get_item(client, items, item_id):
    truth = items[item_id]
    item = client.get_collection(truth["collection"]).get_item(item_id)
    assert item is not None
    assert item.id == item_id
    assert item.collection_id == truth["collection"]
    assert shape(item.geometry).equals(shape(truth["geometry"]))
    assert item.geometry == truth["geometry"]
    assert item.bbox == truth["bbox"]


def test_collection_get_unknown_item(client):
    assert client.get_collection("sentinel-2-l2a").get_item("no-such-item") is None


# ---------------------------------------------------------------------------
# Item search, GET and POST, every page
# ---------------------------------------------------------------------------

POLYGON = {  # around Lake Garda
    "type": "Polygon",
    "coordinates": [[[10.5, 45.5], [11.0, 45.5], [11.0, 46.0], [10.5, 46.0], [10.5, 45.5]]],
}
POINT_IN_POLYGONS = {"type": "Point", "coordinates": [10.7, 45.7]}
ZURICH = {"type": "Point", "coordinates": [8.5417, 47.3769]}

SEARCHES = {
    "all": {},
    "bbox 20,20,21,21": {"bbox": [20, 20, 21, 21]},
    "bbox Alps": {"bbox": [8, 45, 12, 47.5]},
    "bbox antimeridian": {"bbox": [179, -17, -179, -16]},
    "bbox empty ocean": {"bbox": [-40, -40, -39, -39]},
    "intersects polygon": {"intersects": POLYGON},
    "intersects point": {"intersects": POINT_IN_POLYGONS},
    "intersects Zurich point": {"intersects": ZURICH},
    "datetime closed": {"datetime": "2024-02-01T00:00:00Z/2024-03-31T23:59:59Z"},
    "datetime open start": {"datetime": "../2024-01-31T23:59:59Z"},
    "datetime open end": {"datetime": "2024-05-01T00:00:00Z/.."},
    "datetime instant": {"datetime": "2024-02-19T12:00:00Z"},
    # The bounds are inclusive: an item's own datetime, a range's last second.
    "datetime instant = item datetime": {"datetime": "2024-01-05T10:14:01Z"},
    "datetime ends at item datetime": {"datetime": "2024-01-01T00:00:00Z/2024-01-05T10:14:01Z"},
    "datetime starts at range end": {"datetime": "2024-03-24T23:59:59Z/2024-03-31T00:00:00Z"},
    "ids": {"ids": ["LC08_L2SP_194027_20240120", "S1A_IW_GRDH_20240208T053019",
                    "S2A_MSIL2A_20240105T101401_T32TPR", "LC09_L2SP_074072_20240318"]},
    "ids unknown": {"ids": ["no-such-item"]},
    "collections one": {"collections": ["sentinel-1-grd"]},
    "collections two": {"collections": ["sentinel-2-l2a", "landsat-c2-l2"]},
    "collections + bbox": {"collections": ["sentinel-2-l2a"], "bbox": [20, 20, 21, 21]},
    "collections + datetime": {"collections": ["landsat-c2-l2", "sentinel-1-grd"],
                               "datetime": "2024-02-01T00:00:00Z/2024-03-31T23:59:59Z"},
    "bbox + datetime": {"bbox": [8, 45, 12, 47.5],
                        "datetime": "2024-02-01T00:00:00Z/2024-03-31T23:59:59Z"},
    "intersects + datetime + collections": {
        "intersects": POLYGON, "datetime": "2024-03-01T00:00:00Z/..",
        "collections": ["sentinel-2-l2a", "landsat-c2-l2"]},
    "ids + collections": {"ids": ["LC08_L2SP_194027_20240120", "S1A_IW_GRDH_20240208T053019"],
                          "collections": ["landsat-c2-l2"]},
    "ids + bbox": {"ids": ["LC09_L2SP_181045_20240213", "LC08_L2SP_194027_20240120"],
                   "bbox": [20, 20, 21, 21]},
}


def test_searches_are_not_trivial(items):
    """The searches above exercise something: most match some but not all items."""
    counts = {name: len(expected(items, **params)) for name, params in SEARCHES.items()}
    assert counts["all"] == 50
    assert counts["bbox 20,20,21,21"] == 5
    assert counts["bbox antimeridian"] == 1
    assert counts["bbox empty ocean"] == 0
    assert counts["ids unknown"] == 0
    assert "S2A_MSIL2A_20240105T101401_T32TPR" in expected(
        items, **SEARCHES["datetime instant = item datetime"])
    assert "S2A_MSIL2A_20240105T101401_T32TPR" in expected(
        items, **SEARCHES["datetime ends at item datetime"])
    assert "S2A_MSIL2A_20240322T101549_T32TPR" in expected(
        items, **SEARCHES["datetime starts at range end"])
    partial = [n for n, c in counts.items() if 0 < c < 50]
    assert len(partial) >= len(SEARCHES) - 4, counts
    # The paging is exercised: several searches span more than two pages.
    assert sum(c > 2 * PAGE for c in counts.values()) >= 5, counts


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", list(SEARCHES))
def test_search(client, items, method, name):
    params = SEARCHES[name]
    got = search_ids(client, method, **params)
    want = expected(items, **params)
    assert set(got) == want, (f"missing {sorted(want - set(got))}, "
                              f"unexpected {sorted(set(got) - want)}")
    assert got == default_order(items, want)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_max_items(client, method):
    """max_items stops the paging early, without repeats."""
    search = client.search(method=method, limit=PAGE, max_items=7)
    got = [item.id for item in search.items()]
    assert len(got) == 7 == len(set(got))
    assert got == search_ids(client, method)[:7]


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", ["all", "bbox 20,20,21,21", "bbox antimeridian",
                                  "datetime closed", "intersects polygon",
                                  "collections + datetime", "ids", "bbox empty ocean"])
def test_matched(client, items, method, name):
    params = SEARCHES[name]
    search = client.search(method=method, limit=PAGE, **params)
    assert search.matched() == len(expected(items, **params))


# ---------------------------------------------------------------------------
# The pystac-client command line
# ---------------------------------------------------------------------------


def test_cli_search_matched(server, items):
    cli = Path(sys.executable).parent / "stac-client"
    result = subprocess.run(
        [str(cli), "search", server, "--bbox", "20", "20", "21", "21", "--matched"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    numbers = re.findall(r"\d+", result.stdout)
    assert numbers, f"no number in {result.stdout!r}"
    assert int(numbers[0]) == len(expected(items, bbox=[20, 20, 21, 21])) == 5, result.stdout
