"""Browseable and children with pystac: its own catalog walk (child and item
links only, the way it reads a static catalog) over the API finds the same
tree and the same items as over the sample files."""

from __future__ import annotations

import json
import urllib.request

import pystac

from conftest import SAMPLE


def tree(catalog: pystac.Catalog) -> list[tuple[str, list[str]]]:
    """Each catalog's or collection's children (ids, in link order), depth first."""
    found = []
    for node, children, _items in catalog.walk():
        found.append((node.id, [child.id for child in children]))
    return found


def items(catalog: pystac.Catalog) -> set[tuple[str, str]]:
    """(collection, id) of every item reached by item links, at any depth."""
    return {(item.collection_id, item.id) for item in catalog.get_items(recursive=True)}


def test_pystac_walks_the_api_as_it_walks_the_static_catalog(server):
    static = pystac.Catalog.from_file(str(SAMPLE / "catalog.json"))
    served = pystac.Catalog.from_file(f"{server}/")
    assert tree(served) == tree(static)
    assert items(served) == items(static)
    assert len(items(served)) == 50
    for item in served.get_items(recursive=True):
        assert item.get_self_href().startswith(f"{server}/collections/{item.collection_id}/items/")


def test_children_lists_what_the_child_links_name(server):
    with urllib.request.urlopen(f"{server}/") as response:
        landing = json.load(response)
    child_hrefs = [link["href"] for link in landing["links"] if link["rel"] == "child"]
    children_link = next(link for link in landing["links"] if link["rel"] == "children")
    with urllib.request.urlopen(children_link["href"]) as response:
        children = json.load(response)["children"]
    self_hrefs = [next(l["href"] for l in c["links"] if l["rel"] == "self") for c in children]
    assert self_hrefs == child_hrefs
    for child in children:
        stac_object = pystac.read_dict(child)
        assert stac_object.id == child["id"]
