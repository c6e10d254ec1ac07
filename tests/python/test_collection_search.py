"""Collection search with pystac-client's `Client.collection_search` (and
plain HTTP): each answer against what the collection documents of
sample-data say, paging included."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime

import pytest

from conftest import SAMPLE


@pytest.fixture(scope="module")
def collections() -> dict[str, dict]:
    found = {}
    for path in SAMPLE.glob("**/collection.json"):
        collection = json.loads(path.read_text())
        found[collection["id"]] = collection
    assert len(found) == 3
    return found


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def text_of(collection: dict) -> str:
    parts = [collection["id"], collection.get("title", ""), collection.get("description", ""),
             *collection.get("keywords", [])]
    return " ".join(parts).lower()


def ids(search) -> list[str]:
    return [c.id for c in search.collections()]


def test_the_client_sees_collection_search(client):
    assert client.conforms_to("COLLECTION_SEARCH")


@pytest.mark.parametrize("q", ["radar", "optical", "copernicus", "nothing-matches"])
def test_free_text(client, collections, q):
    expected = {i for i, c in collections.items() if q in text_of(c)}
    assert set(ids(client.collection_search(q=q))) == expected


def test_bbox_and_datetime_against_the_extents(client, collections):
    def overlaps(c, west, south, east, north):
        w, s, e, n = c["extent"]["spatial"]["bbox"][0][:4]
        return w <= east and e >= west and s <= north and n >= south

    expected = {i for i, c in collections.items() if overlaps(c, 0, 0, 5, 5)}
    assert set(ids(client.collection_search(bbox=[0, 0, 5, 5]))) == expected
    since = instant("2024-06-29T00:00:00Z")
    expected = {i for i, c in collections.items()
                if instant(c["extent"]["temporal"]["interval"][0][1]) >= since}
    assert set(ids(client.collection_search(datetime="2024-06-29T00:00:00Z/.."))) == expected
    assert expected and len(expected) < len(collections)


def test_filter_sort_and_paging(client, collections):
    expected = sorted(i for i, c in collections.items() if c["license"] == "CC-BY-4.0")
    search = client.collection_search(filter="license = 'CC-BY-4.0'", sortby="id", limit=1)
    assert ids(search) == expected, "paging one collection at a time, in order"
    assert search.matched() == len(expected)
    expected = [i for _, i in sorted(((c["title"], i) for i, c in collections.items()), reverse=True)]
    assert ids(client.collection_search(sortby="-title", limit=2)) == expected


def test_unknown_parameters_are_400s(server):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server}/collections?platform=x", timeout=10)
    assert refused.value.code == 400
    assert "platform" in json.load(refused.value)["description"]
