"""Catalogs written elsewhere: one written by pystac, and catalogs in the
shapes of STAC 0.8 and 1.0.0-beta (no `type` on catalogs and collections,
items without a `collection` member). Each is indexed and served; the item
counts are the ones pystac finds, and every item is served with the
collection that links it."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pystac
import pytest

from conftest import index_catalog, serving


def _write(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def _square(x: float, y: float) -> dict:
    ring = [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def written_by_pystac(root: Path) -> Path:
    """A root catalog, a sub-catalog holding a collection, and a collection
    at the root; pystac writes it self-contained (relative hrefs). The
    second collection's items then lose their `collection` member."""
    catalog = pystac.Catalog("third-party", "Written by pystac")
    sub = pystac.Catalog("sub", "A sub-catalog")
    catalog.add_child(sub)
    for parent, collection_id, count in [(sub, "nested", 3), (catalog, "flat", 4)]:
        extent = pystac.Extent(pystac.SpatialExtent([[0, 0, 10, 10]]),
                               pystac.TemporalExtent([[datetime(2020, 1, 1, tzinfo=timezone.utc), None]]))
        collection = pystac.Collection(collection_id, f"The {collection_id} one", extent)
        parent.add_child(collection)
        for n in range(count):
            collection.add_item(pystac.Item(
                f"{collection_id}-{n}", _square(n, n), [n, n, n + 1, n + 1],
                datetime(2020, 1, 1 + n, tzinfo=timezone.utc), {"platform": "p"}))
    catalog.normalize_hrefs(str(root))
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    for path in (root / "flat").glob("*/*.json"):
        item = json.loads(path.read_text())
        del item["collection"]
        path.write_text(json.dumps(item))
    return root / "catalog.json"


def written_as(root: Path, version: str) -> Path:
    """A catalog as STAC `version` wrote them: no `type` on the catalog and
    the collection, items without `collection`, relative links."""
    _write(root / "catalog.json", {
        "stac_version": version, "id": f"old-{version}", "description": "An old catalog",
        "links": [{"rel": "self", "href": "./catalog.json"},
                  {"rel": "root", "href": "./catalog.json"},
                  {"rel": "child", "href": "./scenes/collection.json"}]})
    item_links = []
    for n in range(5):
        item_links.append({"rel": "item", "href": f"./items/scene-{n}.json"})
        _write(root / "scenes" / "items" / f"scene-{n}.json", {
            "type": "Feature", "stac_version": version, "id": f"scene-{n}",
            "geometry": _square(-n, n), "bbox": [-n, n, -n + 1, n + 1],
            "properties": {"datetime": f"2019-0{n + 1}-15T10:00:00Z"},
            "links": [{"rel": "parent", "href": "../collection.json"},
                      {"rel": "root", "href": "../../catalog.json"}],
            "assets": {"data": {"href": f"./scene-{n}.tif"}}})
    _write(root / "scenes" / "collection.json", {
        "stac_version": version, "id": "scenes", "description": "Scenes", "license": "proprietary",
        "extent": {"spatial": {"bbox": [[-5, 0, 1, 6]]},
                   "temporal": {"interval": [["2019-01-01T00:00:00Z", None]]}},
        "links": [{"rel": "parent", "href": "../catalog.json"},
                  {"rel": "root", "href": "../catalog.json"}, *item_links]})
    return root / "catalog.json"


CATALOGS = {
    "pystac": written_by_pystac,
    "stac-0.8.1": lambda root: written_as(root, "0.8.1"),
    "stac-1.0.0-beta.2": lambda root: written_as(root, "1.0.0-beta.2"),
}


@pytest.mark.parametrize("name", sorted(CATALOGS))
def test_a_third_party_catalog_is_indexed_and_served_as_pystac_reads_it(name, tmp_path):
    root = CATALOGS[name](tmp_path / "catalog")
    # pystac's view: which items each collection holds.
    expected: dict[str, set[str]] = {}
    for collection in pystac.Catalog.from_file(str(root)).get_all_collections():
        expected[collection.id] = {item.id for item in collection.get_items()}
    total = sum(len(ids) for ids in expected.values())
    assert total > 0

    outcome = index_catalog(root, tmp_path / "index")
    assert outcome.returncode == 0, outcome.stderr
    counts = json.loads(outcome.stdout)["report"]["counts"]
    assert counts["items"] == total, counts

    with serving(tmp_path / "index", tmp_path) as url:
        page = _get(f"{url}/search?limit=100")
        assert page["numberMatched"] == total
        assert {(f["collection"], f["id"]) for f in page["features"]} == {
            (collection, item) for collection, ids in expected.items() for item in ids}
        for collection, ids in expected.items():
            page = _get(f"{url}/collections/{collection}/items?limit=100")
            assert {f["id"] for f in page["features"]} == ids
            assert all(f["collection"] == collection for f in page["features"])
            item = _get(f"{url}/collections/{collection}/items/{sorted(ids)[0]}")
            assert item["collection"] == collection


def test_a_root_without_stac_version_is_refused_clearly(tmp_path):
    root = written_as(tmp_path / "catalog", "0.8.1")
    document = json.loads(root.read_text())
    del document["stac_version"]
    root.write_text(json.dumps(document))
    with pytest.raises(pystac.errors.STACTypeError):
        pystac.Catalog.from_file(str(root))
    outcome = index_catalog(root, tmp_path / "index")
    assert outcome.returncode != 0
    assert "stac_version" in outcome.stderr, outcome.stderr
    assert not (tmp_path / "index" / "manifest.json").exists()
