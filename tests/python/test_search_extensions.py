"""The search extensions against a real `stac-indexed serve` over the sample
catalog: filter (CQL2 text and JSON), sortby, fields, query, free text q,
/queryables and /sortables.

Each extension's tests are skipped while the server does not advertise its
conformance class in /conformance, and strict once it does:

    filter, /queryables  https://api.stacspec.org/<v>/item-search#filter
    sortby, /sortables   https://api.stacspec.org/<v>/item-search#sort
    fields               https://api.stacspec.org/<v>/item-search#fields
    query                https://api.stacspec.org/<v>/item-search#query
    q                    https://api.stacspec.org/<v>/item-search#free-text
                         or ...#advanced-free-text (phrases, AND/OR)

Every expected answer is computed here from the sample item JSON files and
sample-data/index-config.json, never from the server: a filter is written by
hand both as CQL2 text and as CQL2 JSON, and evaluated over the items by the
small three-valued evaluator below (shapely for geometry). The `cql2` package
(the Python binding of the cql2 crate, pinned in requirements-test.txt)
checks that each text/JSON pair says the same thing, and its own evaluator
must agree with ours on every item where it gives an answer (it refuses
items whose property is missing, where CQL2 says "unknown").

Semantics decided for the server (issue 4): a property that is not queryable
for the searched collections is a 400 naming it; property names with or
without `properties.`; sortby always ends with the default order (collection,
datetime newest first, id) as tie-breaker and sorts NULLs last in both
directions; free text is a case-insensitive substring match against title,
description and keywords; a filter-crs other than CRS84 / EPSG:4326 is a 400.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import cql2
import pytest
import requests
from shapely.geometry import box, shape

from test_pystac_client import PAGE, SAMPLE, _ts, default_order, expected, search_ids

# ---------------------------------------------------------------------------
# Conformance: which extensions are advertised
# ---------------------------------------------------------------------------

STAC = r"https://api\.stacspec\.org/(.+)/"
CLASSES = {
    "filter": re.compile(STAC + r"item-search#filter"),
    "sort": re.compile(STAC + r"item-search#sort"),
    "fields": re.compile(STAC + r"item-search#fields"),
    "query": re.compile(STAC + r"item-search#query"),
    "free-text": re.compile(STAC + r"item-search#(advanced-)?free-text"),
    "advanced-free-text": re.compile(STAC + r"item-search#advanced-free-text"),
}
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"


def _advertises(conformance: list[str], name: str) -> bool:
    return any(CLASSES[name].fullmatch(c) for c in conformance)


def _require(conformance: list[str], name: str) -> None:
    if not _advertises(conformance, name):
        pytest.skip(f"the server does not advertise {name} "
                    f"({CLASSES[name].pattern})")


@pytest.fixture
def filter_ext(conformance):
    _require(conformance, "filter")


@pytest.fixture
def sort_ext(conformance):
    _require(conformance, "sort")


@pytest.fixture
def fields_ext(conformance):
    _require(conformance, "fields")


@pytest.fixture
def query_ext(conformance):
    _require(conformance, "query")


@pytest.fixture
def free_text_ext(conformance):
    _require(conformance, "free-text")


@pytest.fixture
def advanced_free_text_ext(conformance):
    _require(conformance, "advanced-free-text")


def test_filter_advertises_its_cql2_classes(conformance, filter_ext):
    """The filter extension needs a CQL2 encoding and basic CQL2, and the
    classes our filter tests use are advertised with it."""
    for cls in ("cql2-text", "cql2-json", "basic-cql2", "advanced-comparison-operators",
                "basic-spatial-functions", "temporal-functions", "array-functions",
                "case-insensitive-comparison"):
        assert CQL2 + cls in conformance, cls


# ---------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------


def fetch_all(server: str, method: str, params: dict[str, Any],
              path: str = "/search") -> list[dict]:
    """Every feature of a search, PAGE a page, following the next links."""
    url = server + path
    features: list[dict] = []
    body = dict(params, limit=PAGE)
    if method == "GET":
        response = requests.get(url, params=body, timeout=30)
    else:
        response = requests.post(url, json=body, timeout=30)
    for _ in range(100):
        assert response.status_code == 200, f"{response.status_code}: {response.text}"
        page = response.json()
        assert len(page["features"]) <= PAGE
        features.extend(page["features"])
        nexts = [link for link in page.get("links", []) if link["rel"] == "next"]
        if not nexts:
            break
        link = nexts[0]
        if link.get("method", "GET") == "POST":
            response = requests.post(link["href"], json=link["body"], timeout=30)
        else:
            response = requests.get(link["href"], timeout=30)
    else:
        pytest.fail("more than 100 pages")
    ids = [f["id"] for f in features]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"ids repeated across pages: {duplicates}"
    return features


def fetch_ids(server: str, method: str, params: dict[str, Any], path: str = "/search") -> list[str]:
    return [f["id"] for f in fetch_all(server, method, params, path)]


def bad_request(response: requests.Response, *names: str) -> None:
    """A 400 whose message names each of `names`."""
    assert response.status_code == 400, f"{response.status_code}: {response.text[:500]}"
    text = response.text
    for name in names:
        assert name in text, f"the 400 does not name {name!r}: {text}"


def diff(got, want) -> str:
    got, want = set(got), set(want)
    return f"missing {sorted(want - got)}, unexpected {sorted(got - want)}"


# ---------------------------------------------------------------------------
# The oracle: CQL2 JSON evaluated over the sample items (SQL's three-valued
# logic: None is "unknown"; an item matches when the filter is True)
# ---------------------------------------------------------------------------

BUILT_IN = {"id", "collection", "geometry"}


def prop(item: dict, name: str):
    name = name.removeprefix("properties.")
    if name in BUILT_IN:
        value = item.get(name)
    else:
        value = item["properties"].get(name)
    if value is None:
        return None
    if name == "geometry":
        return shape(value)
    if name in ("datetime", "start_datetime", "end_datetime"):
        return _ts(value)
    return value


def _interval_bound(value: str):
    return None if value == ".." else _ts(value)


def value_of(item: dict, node):
    if isinstance(node, dict):
        if "property" in node:
            return prop(item, node["property"])
        if "timestamp" in node:
            return _ts(node["timestamp"])
        if "date" in node:
            return _ts(node["date"] + "T00:00:00Z")
        if "interval" in node:
            start, end = node["interval"]
            return ("interval", _interval_bound(start), _interval_bound(end))
        if "bbox" in node:
            west, south, east, north = node["bbox"]
            return box(west, south, east, north)
        if "type" in node and ("coordinates" in node or "geometries" in node):
            return shape(node)
        if "op" in node:
            return evaluate(item, node)
        raise AssertionError(f"oracle: unsupported node {node}")
    if isinstance(node, list):
        return [value_of(item, n) for n in node]
    return node


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")


def _like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _span(value):
    """(start, end) of an instant or an interval."""
    if isinstance(value, tuple) and value[0] == "interval":
        return value[1], value[2]
    return value, value


def _lt(a, b) -> bool:  # None bounds of intervals are open ends
    return a is not None and b is not None and a < b


def evaluate(item: dict, node: dict):
    op = node["op"].lower()
    args = node.get("args", [])
    if op == "and":
        values = [evaluate(item, a) for a in args]
        if any(v is False for v in values):
            return False
        return None if any(v is None for v in values) else True
    if op == "or":
        values = [evaluate(item, a) for a in args]
        if any(v is True for v in values):
            return True
        return None if any(v is None for v in values) else False
    if op == "not":
        value = evaluate(item, args[0])
        return None if value is None else not value
    if op == "isnull":
        return value_of(item, args[0]) is None
    if op == "casei":
        value = value_of(item, args[0])
        return None if value is None else value.lower()
    if op == "accenti":
        value = value_of(item, args[0])
        return None if value is None else _fold(value)
    values = [value_of(item, a) for a in args]
    if op == "in":
        left, candidates = values
        return None if left is None else left in candidates
    if any(v is None for v in values):
        return None
    if op in ("=", "<>", "<", "<=", ">", ">="):
        a, b = values
        return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b,
                ">": a > b, ">=": a >= b}[op]
    if op == "like":
        return _like(values[0], values[1])
    if op == "between":
        value, low, high = values
        return low <= value <= high
    if op.startswith("s_"):
        geometry, other = values
        return {"s_intersects": geometry.intersects, "s_within": geometry.within,
                "s_contains": geometry.contains, "s_disjoint": geometry.disjoint,
                }[op](other)
    if op.startswith("t_"):
        (a_start, a_end), (b_start, b_end) = _span(values[0]), _span(values[1])
        if op == "t_intersects":
            return not (_lt(a_end, b_start) or _lt(b_end, a_start))
        if op == "t_before":
            return _lt(a_end, b_start)
        if op == "t_after":
            return _lt(b_end, a_start)
        if op == "t_disjoint":
            return _lt(a_end, b_start) or _lt(b_end, a_start)
        raise AssertionError(f"oracle: unsupported temporal op {op}")
    if op.startswith("a_"):
        a, b = set(values[0]), set(values[1])
        return {"a_contains": a >= b, "a_containedby": a <= b,
                "a_overlaps": bool(a & b), "a_equals": a == b}[op]
    raise AssertionError(f"oracle: unsupported op {op}")


def matching(items: dict[str, dict], cql2_json: dict, collections=None) -> set[str]:
    return {item_id for item_id, item in items.items()
            if (collections is None or item["collection"] in collections)
            and evaluate(item, cql2_json) is True}


# ---------------------------------------------------------------------------
# Filter: every case written as CQL2 text and as CQL2 JSON
# ---------------------------------------------------------------------------


def P(name: str) -> dict:
    return {"property": name}


GARDA = {"type": "Polygon", "coordinates": [[[10.5, 45.5], [11.0, 45.5], [11.0, 46.0],
                                             [10.5, 46.0], [10.5, 45.5]]]}
BOX_20 = {"type": "Polygon", "coordinates": [[[20, 20], [21, 20], [21, 21], [20, 21], [20, 20]]]}
ZURICH = {"type": "Point", "coordinates": [8.5417, 47.3769]}
FEB_MAR = ["2024-02-01T00:00:00Z", "2024-03-31T23:59:59Z"]

FILTERS: dict[str, tuple[str, dict]] = {
    "number <": ("eo:cloud_cover < 10", {"op": "<", "args": [P("eo:cloud_cover"), 10]}),
    "number >= with properties. prefix": (
        "properties.eo:cloud_cover >= 50",
        {"op": ">=", "args": [P("properties.eo:cloud_cover"), 50]}),
    "number = 0": ("eo:cloud_cover = 0", {"op": "=", "args": [P("eo:cloud_cover"), 0]}),
    "number <>": ("gsd <> 10", {"op": "<>", "args": [P("gsd"), 10]}),
    "string =": ("platform = 'sentinel-2a'", {"op": "=", "args": [P("platform"), "sentinel-2a"]}),
    "id and collection": (
        "id = 'LC08_L2SP_194027_20240120' AND collection = 'landsat-c2-l2'",
        {"op": "and", "args": [{"op": "=", "args": [P("id"), "LC08_L2SP_194027_20240120"]},
                               {"op": "=", "args": [P("collection"), "landsat-c2-l2"]}]}),
    "OR with nulls": (
        "eo:cloud_cover < 5 OR gsd > 20",
        {"op": "or", "args": [{"op": "<", "args": [P("eo:cloud_cover"), 5]},
                              {"op": ">", "args": [P("gsd"), 20]}]}),
    "NOT over nulls": (
        "NOT (eo:cloud_cover < 10)",
        {"op": "not", "args": [{"op": "<", "args": [P("eo:cloud_cover"), 10]}]}),
    "LIKE": ("platform LIKE 'landsat%'", {"op": "like", "args": [P("platform"), "landsat%"]}),
    "LIKE _": ("proj:code LIKE 'EPSG:3263_'",
               {"op": "like", "args": [P("proj:code"), "EPSG:3263_"]}),
    "NOT LIKE": ("platform NOT LIKE 'sentinel%'",
                 {"op": "not", "args": [{"op": "like", "args": [P("platform"), "sentinel%"]}]}),
    "IN": ("platform IN ('sentinel-2b', 'landsat-9')",
           {"op": "in", "args": [P("platform"), ["sentinel-2b", "landsat-9"]]}),
    "NOT IN": ("constellation NOT IN ('sentinel-2')",
               {"op": "not", "args": [{"op": "in", "args": [P("constellation"), ["sentinel-2"]]}]}),
    "BETWEEN": ("eo:cloud_cover BETWEEN 5 AND 40",
                {"op": "between", "args": [P("eo:cloud_cover"), 5, 40]}),
    "IS NULL": ("eo:cloud_cover IS NULL", {"op": "isNull", "args": [P("eo:cloud_cover")]}),
    "IS NOT NULL": ("eo:cloud_cover IS NOT NULL",
                    {"op": "not", "args": [{"op": "isNull", "args": [P("eo:cloud_cover")]}]}),
    "datetime IS NULL": ("datetime IS NULL", {"op": "isNull", "args": [P("datetime")]}),
    "CASEI": ("CASEI(platform) = casei('SENTINEL-2A')",
              {"op": "=", "args": [{"op": "casei", "args": [P("platform")]},
                                   {"op": "casei", "args": ["SENTINEL-2A"]}]}),
    "S_INTERSECTS polygon": (
        "S_INTERSECTS(geometry, POLYGON((10.5 45.5, 11 45.5, 11 46, 10.5 46, 10.5 45.5)))",
        {"op": "s_intersects", "args": [P("geometry"), GARDA]}),
    "S_INTERSECTS point": ("S_INTERSECTS(geometry, POINT(8.5417 47.3769))",
                           {"op": "s_intersects", "args": [P("geometry"), ZURICH]}),
    "S_INTERSECTS bbox": ("S_INTERSECTS(geometry, BBOX(8, 45, 12, 47.5))",
                          {"op": "s_intersects", "args": [P("geometry"), {"bbox": [8, 45, 12, 47.5]}]}),
    "NOT S_INTERSECTS": (
        "NOT S_INTERSECTS(geometry, POLYGON((10.5 45.5, 11 45.5, 11 46, 10.5 46, 10.5 45.5)))",
        {"op": "not", "args": [{"op": "s_intersects", "args": [P("geometry"), GARDA]}]}),
    "T_INTERSECTS interval": (
        f"T_INTERSECTS(datetime, INTERVAL('{FEB_MAR[0]}', '{FEB_MAR[1]}'))",
        {"op": "t_intersects", "args": [P("datetime"), {"interval": FEB_MAR}]}),
    "T_INTERSECTS open interval": (
        "T_INTERSECTS(datetime, INTERVAL('2024-05-01T00:00:00Z', '..'))",
        {"op": "t_intersects", "args": [P("datetime"), {"interval": ["2024-05-01T00:00:00Z", ".."]}]}),
    "T_BEFORE interval": (
        f"T_BEFORE(datetime, INTERVAL('{FEB_MAR[0]}', '{FEB_MAR[1]}'))",
        {"op": "t_before", "args": [P("datetime"), {"interval": FEB_MAR}]}),
    "T_BEFORE instant": ("T_BEFORE(datetime, TIMESTAMP('2024-02-01T00:00:00Z'))",
                         {"op": "t_before", "args": [P("datetime"),
                                                     {"timestamp": "2024-02-01T00:00:00Z"}]}),
    "T_AFTER instant": ("T_AFTER(end_datetime, TIMESTAMP('2024-03-01T00:00:00Z'))",
                        {"op": "t_after", "args": [P("end_datetime"),
                                                   {"timestamp": "2024-03-01T00:00:00Z"}]}),
    "timestamp >=": ("datetime >= TIMESTAMP('2024-06-01T00:00:00Z')",
                     {"op": ">=", "args": [P("datetime"), {"timestamp": "2024-06-01T00:00:00Z"}]}),
    "A_CONTAINS": ("A_CONTAINS(instruments, ('msi'))",
                   {"op": "a_contains", "args": [P("instruments"), ["msi"]]}),
    "A_CONTAINS two": ("A_CONTAINS(instruments, ('tirs', 'oli'))",
                       {"op": "a_contains", "args": [P("instruments"), ["tirs", "oli"]]}),
    "A_OVERLAPS": ("A_OVERLAPS(instruments, ('tirs', 'c-sar'))",
                   {"op": "a_overlaps", "args": [P("instruments"), ["tirs", "c-sar"]]}),
    "the validator's example": (
        "collection = 'sentinel-2-l2a' AND eo:cloud_cover <= 10"
        " AND datetime >= TIMESTAMP('2024-01-01T00:00:00Z')"
        " AND S_INTERSECTS(geometry, POLYGON((20 20, 21 20, 21 21, 20 21, 20 20)))",
        {"op": "and", "args": [
            {"op": "=", "args": [P("collection"), "sentinel-2-l2a"]},
            {"op": "<=", "args": [P("eo:cloud_cover"), 10]},
            {"op": ">=", "args": [P("datetime"), {"timestamp": "2024-01-01T00:00:00Z"}]},
            {"op": "s_intersects", "args": [P("geometry"), BOX_20]}]}),
}


def test_filters_are_not_trivial(items):
    """Each case matches some items but not all, so that it tests something."""
    counts = {name: len(matching(items, j)) for name, (_, j) in FILTERS.items()}
    assert all(0 < c < len(items) for c in counts.values()), counts
    # Hand-checked counts from the sample data (sample-data/README.md).
    assert counts["IS NULL"] == 12  # 10 radar + 2 optical without cloud cover
    assert counts["datetime IS NULL"] == 4
    assert counts["A_CONTAINS"] == 24
    assert counts["A_CONTAINS two"] == 16
    assert counts["number <"] + counts["NOT over nulls"] == 50 - 12
    assert counts["IS NULL"] + counts["IS NOT NULL"] == 50


@pytest.mark.parametrize("name", list(FILTERS))
def test_filter_text_and_json_agree(name):
    """The hand-written text and JSON of each case parse to the same CQL2."""
    text, cql2_json = FILTERS[name]
    assert cql2.parse_text(text).to_json() == cql2.parse_json(json.dumps(cql2_json)).to_json()


@pytest.mark.parametrize("name", list(FILTERS))
def test_oracle_agrees_with_cql2(items, name):
    """Where the cql2 package's own evaluator answers for an item, it agrees
    with ours (it raises for items where a property is missing)."""
    expr = cql2.parse_json(json.dumps(FILTERS[name][1]))
    compared = 0
    for item_id, item in items.items():
        try:
            theirs = expr.matches(item)
        except Exception:  # noqa: BLE001 (NULL: ours says unknown or decides it)
            continue
        compared += 1
        assert theirs == (evaluate(item, FILTERS[name][1]) is True), item_id
    assert compared > 0


ENCODINGS = [("GET", "cql2-text"), ("POST", "cql2-json"), ("GET", "cql2-json"), ("POST", "cql2-text")]


def filter_params(name: str, method: str, lang: str) -> dict[str, Any]:
    text, cql2_json = FILTERS[name]
    if lang == "cql2-text":
        value: Any = text
    elif method == "GET":
        value = json.dumps(cql2_json)
    else:
        value = cql2_json
    return {"filter": value, "filter-lang": lang}


@pytest.mark.parametrize("method,lang", ENCODINGS)
@pytest.mark.parametrize("name", list(FILTERS))
def test_filter(server, items, filter_ext, name, method, lang):
    got = fetch_ids(server, method, filter_params(name, method, lang))
    want = matching(items, FILTERS[name][1])
    assert set(got) == want, diff(got, want)
    assert got == default_order(items, want)


@pytest.mark.parametrize("method,lang", [("GET", "cql2-text"), ("POST", "cql2-json")])
@pytest.mark.parametrize("name", ["number <", "S_INTERSECTS polygon", "T_INTERSECTS interval",
                                  "IN", "IS NULL"])
def test_filter_pystac_client(client, items, filter_ext, name, method, lang):
    text, cql2_json = FILTERS[name]
    got = search_ids(client, method, filter=text if lang == "cql2-text" else cql2_json,
                     filter_lang=lang)
    want = matching(items, cql2_json)
    assert set(got) == want, diff(got, want)
    assert got == default_order(items, want)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_filter_default_lang(server, items, filter_ext, method):
    """Without filter-lang, GET takes cql2-text and POST cql2-json."""
    text, cql2_json = FILTERS["number <"]
    got = fetch_ids(server, method, {"filter": text if method == "GET" else cql2_json})
    assert set(got) == matching(items, cql2_json)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_filter_with_other_parameters(server, items, filter_ext, method):
    """filter combines (AND) with collections, bbox and datetime."""
    text, cql2_json = FILTERS["number <"]
    params = {"filter": text, "filter-lang": "cql2-text",
              "collections": ["sentinel-2-l2a", "landsat-c2-l2"], "bbox": [8, 45, 12, 47.5],
              "datetime": "2024-02-01T00:00:00Z/.."}
    if method == "GET":
        params = dict(params, collections="sentinel-2-l2a,landsat-c2-l2", bbox="8,45,12,47.5")
    got = fetch_ids(server, method, params)
    want = matching(items, cql2_json) & expected(
        items, collections=["sentinel-2-l2a", "landsat-c2-l2"], bbox=[8, 45, 12, 47.5],
        datetime="2024-02-01T00:00:00Z/..")
    assert 0 < len(want) < len(matching(items, cql2_json))
    assert set(got) == want, diff(got, want)
    assert got == default_order(items, want)


@pytest.mark.parametrize("name", ["number <", "LIKE", "S_INTERSECTS polygon"])
def test_filter_collection_items(server, items, filter_ext, name):
    """filter on /collections/{id}/items."""
    text, cql2_json = FILTERS[name]
    got = fetch_ids(server, "GET", {"filter": text, "filter-lang": "cql2-text"},
                    path="/collections/landsat-c2-l2/items")
    want = matching(items, cql2_json, ["landsat-c2-l2"])
    assert set(got) == want, diff(got, want)
    assert got == default_order(items, want)


SAR = {"op": "a_contains", "args": [P("sar:polarizations"), ["VH"]]}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_filter_collection_queryable(server, items, filter_ext, method):
    """sar:polarizations applies to sentinel-1-grd only: queryable when only
    that collection is searched, a 400 naming it otherwise."""
    params = {"filter": json.dumps(SAR) if method == "GET" else SAR, "filter-lang": "cql2-json"}
    got = fetch_ids(server, method, dict(params, collections=(
        "sentinel-1-grd" if method == "GET" else ["sentinel-1-grd"])))
    want = matching(items, SAR, ["sentinel-1-grd"])
    assert len(want) == 6
    assert set(got) == want, diff(got, want)
    got = fetch_ids(server, "GET", {"filter": "A_CONTAINS(sar:polarizations, ('VH'))"},
                    path="/collections/sentinel-1-grd/items")
    assert set(got) == want
    response = (requests.get(f"{server}/search", params=params, timeout=30) if method == "GET"
                else requests.post(f"{server}/search", json=params, timeout=30))
    bad_request(response, "sar:polarizations")
    multi = dict(params, collections=("sentinel-1-grd,landsat-c2-l2" if method == "GET"
                                      else ["sentinel-1-grd", "landsat-c2-l2"]))
    response = (requests.get(f"{server}/search", params=multi, timeout=30) if method == "GET"
                else requests.post(f"{server}/search", json=multi, timeout=30))
    bad_request(response, "sar:polarizations")


BAD_FILTERS = {
    "unknown property (text)": ({"filter": "no_such_prop = 1"}, ["no_such_prop"]),
    "unknown property (json)": ({"filter": json.dumps({"op": "=", "args": [P("cloudy"), 1]}),
                                 "filter-lang": "cql2-json"}, ["cloudy"]),
    "not queryable item member": ({"filter": "title = 'Nile Delta'"}, ["title"]),
    "syntax error": ({"filter": "eo:cloud_cover <<< 10"}, []),
    "unknown filter-lang": ({"filter": "gsd = 10", "filter-lang": "cql3"}, []),
    "filter-crs EPSG:3857": ({"filter": "gsd = 10",
                              "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, []),
}


@pytest.mark.parametrize("name", list(BAD_FILTERS))
def test_filter_bad_request(server, filter_ext, name):
    params, names = BAD_FILTERS[name]
    bad_request(requests.get(f"{server}/search", params=params, timeout=30), *names)


@pytest.mark.parametrize("crs", ["http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                                 "http://www.opengis.net/def/crs/EPSG/0/4326"])
def test_filter_crs_accepted(server, items, filter_ext, crs):
    text, cql2_json = FILTERS["S_INTERSECTS polygon"]
    got = fetch_ids(server, "GET", {"filter": text, "filter-crs": crs})
    assert set(got) == matching(items, cql2_json)


def test_filter_string_literals_are_values(server, items, filter_ext):
    """Quotes and SQL in a string literal are just characters of the value."""
    for literal in ["x' OR '1'='1", "'; DROP TABLE items; --", 'a"b']:
        escaped = literal.replace("'", "''")
        response = requests.get(f"{server}/search",
                                params={"filter": f"platform = '{escaped}'"}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["features"] == []


# ---------------------------------------------------------------------------
# Queryables
# ---------------------------------------------------------------------------

CONFIG = json.loads((SAMPLE / "index-config.json").read_text())
DEFAULT_SCHEMA = {  # docs/index-config.md, "Types"
    "string": {"type": "string"}, "number": {"type": "number"},
    "integer": {"type": "integer"}, "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "string[]": {"type": "array", "items": {"type": "string"}},
}
BUILT_IN_QUERYABLES = {"id", "collection", "geometry", "datetime", "start_datetime", "end_datetime"}
BUILT_IN_SORTABLES = BUILT_IN_QUERYABLES - {"geometry"}
JSON_SCHEMAS = {"https://json-schema.org/draft/2019-09/schema",
                "http://json-schema.org/draft-07/schema#"}
COLLECTION_IDS = ["landsat-c2-l2", "sentinel-1-grd", "sentinel-2-l2a"]


def configured(which: str, collection: str | None) -> dict[str, dict]:
    """The config's fields that are queryable (sortable) for one collection,
    or for all (None): name -> JSON Schema."""
    found = {}
    for field in CONFIG["fields"]:
        if not field.get(which, which == "queryable"):
            continue
        collections = field.get("collections", ["*"])
        if "*" in collections or (collection is not None and collection in collections):
            found[field["name"]] = field.get("schema", DEFAULT_SCHEMA[field["type"]])
    return found


def get_schema(url: str) -> dict:
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/schema+json"
    schema = response.json()
    assert schema["$schema"] in JSON_SCHEMAS
    assert schema["$id"] == url
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    return schema


def check_ables(schema: dict, built_in: set[str], config: dict[str, dict]) -> None:
    properties = schema["properties"]
    assert set(properties) == built_in | set(config), diff(properties, built_in | set(config))
    for name, field_schema in config.items():
        assert properties[name] == field_schema, name
    for name in built_in & {"datetime", "start_datetime", "end_datetime"}:
        assert properties[name]["type"] == "string"
        assert properties[name]["format"] == "date-time"


def test_queryables(server, filter_ext):
    check_ables(get_schema(f"{server}/queryables"), BUILT_IN_QUERYABLES,
                configured("queryable", None))
    assert "sar:polarizations" not in configured("queryable", None)


@pytest.mark.parametrize("collection_id", COLLECTION_IDS)
def test_collection_queryables(server, filter_ext, collection_id):
    schema = get_schema(f"{server}/collections/{collection_id}/queryables")
    check_ables(schema, BUILT_IN_QUERYABLES, configured("queryable", collection_id))
    assert ("sar:polarizations" in schema["properties"]) == (collection_id == "sentinel-1-grd")


def test_queryables_links(server, filter_ext):
    rel = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
    landing = requests.get(server, timeout=30).json()
    assert [link["href"] for link in landing["links"] if link["rel"] == rel] == [f"{server}/queryables"]
    for collection_id in COLLECTION_IDS:
        collection = requests.get(f"{server}/collections/{collection_id}", timeout=30).json()
        assert [link["href"] for link in collection["links"] if link["rel"] == rel] == [
            f"{server}/collections/{collection_id}/queryables"]


@pytest.mark.parametrize("which", ["queryables", "sortables"])
def test_unknown_collection_ables(server, conformance, which):
    _require(conformance, "filter" if which == "queryables" else "sort")
    assert requests.get(f"{server}/collections/nope/{which}", timeout=30).status_code == 404


def test_sortables(server, sort_ext):
    check_ables(get_schema(f"{server}/sortables"), BUILT_IN_SORTABLES, configured("sortable", None))


@pytest.mark.parametrize("collection_id", COLLECTION_IDS)
def test_collection_sortables(server, sort_ext, collection_id):
    check_ables(get_schema(f"{server}/collections/{collection_id}/sortables"),
                BUILT_IN_SORTABLES, configured("sortable", collection_id))


# ---------------------------------------------------------------------------
# Sort
# ---------------------------------------------------------------------------


def sort_value(item: dict, field: str):
    return prop(item, field)


def sorted_ids(items: dict[str, dict], ids, sortby: list[tuple[str, str]]) -> list[str]:
    """ids in sortby order, NULLs last in both directions, ties in the
    default order (a stable sort per key, from the last key to the first)."""
    order = default_order(items, ids)
    for field, direction in reversed(sortby):
        present = [i for i in order if sort_value(items[i], field) is not None]
        missing = [i for i in order if sort_value(items[i], field) is None]
        present.sort(key=lambda i: sort_value(items[i], field), reverse=direction == "desc")
        order = present + missing
    return order


SORTS: dict[str, list[tuple[str, str]]] = {
    "-properties.eo:cloud_cover": [("eo:cloud_cover", "desc")],
    "eo:cloud_cover": [("eo:cloud_cover", "asc")],
    "+datetime": [("datetime", "asc")],
    "-properties.datetime": [("datetime", "desc")],
    "gsd": [("gsd", "asc")],
    "-gsd,platform": [("gsd", "desc"), ("platform", "asc")],
    "platform,-eo:cloud_cover": [("platform", "asc"), ("eo:cloud_cover", "desc")],
    "id": [("id", "asc")],
    "-collection,start_datetime": [("collection", "desc"), ("start_datetime", "asc")],
}


def post_sortby(sortby: str) -> list[dict]:
    fields = []
    for part in sortby.split(","):
        direction = "desc" if part.startswith("-") else "asc"
        fields.append({"field": part.lstrip("+-"), "direction": direction})
    return fields


def test_sorts_are_not_trivial(items):
    for name, sortby in SORTS.items():
        assert sorted_ids(items, items, sortby) != default_order(items, items), name
    # ties and NULLs are exercised
    assert sum(1 for i in items.values() if "eo:cloud_cover" not in i["properties"]) == 12
    assert sum(1 for i in items.values() if i["properties"].get("eo:cloud_cover") == 0) > 1


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", list(SORTS))
def test_sortby(server, items, sort_ext, name, method):
    sortby: Any = name if method == "GET" else post_sortby(name)
    got = fetch_ids(server, method, {"sortby": sortby})
    assert len(got) == len(items)
    assert got == sorted_ids(items, items, SORTS[name])


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", ["-properties.eo:cloud_cover", "+datetime", "-gsd,platform"])
def test_sortby_pystac_client(client, items, sort_ext, name, method):
    got = search_ids(client, method, sortby=name)
    assert got == sorted_ids(items, items, SORTS[name])


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sortby_with_filter_and_collections(server, items, conformance, sort_ext, method):
    _require(conformance, "filter")
    text, cql2_json = FILTERS["OR with nulls"]
    params: dict[str, Any] = {"filter": text, "filter-lang": "cql2-text",
                              "sortby": "-eo:cloud_cover" if method == "GET"
                              else post_sortby("-eo:cloud_cover"),
                              "collections": "sentinel-2-l2a,landsat-c2-l2" if method == "GET"
                              else ["sentinel-2-l2a", "landsat-c2-l2"]}
    got = fetch_ids(server, method, params)
    want = matching(items, cql2_json, ["sentinel-2-l2a", "landsat-c2-l2"])
    assert got == sorted_ids(items, want, [("eo:cloud_cover", "desc")])


def test_sortby_collection_items(server, items, sort_ext):
    got = fetch_ids(server, "GET", {"sortby": "eo:cloud_cover"},
                    path="/collections/sentinel-2-l2a/items")
    want = {i for i, item in items.items() if item["collection"] == "sentinel-2-l2a"}
    assert got == sorted_ids(items, want, [("eo:cloud_cover", "asc")])


@pytest.mark.parametrize("field", ["instruments", "constellation", "geometry", "no_such_field"])
def test_sortby_not_sortable(server, sort_ext, field):
    bad_request(requests.get(f"{server}/search", params={"sortby": field}, timeout=30), field)
    bad_request(requests.post(f"{server}/search", json={"sortby": [{"field": field}]},
                              timeout=30), field)


# ---------------------------------------------------------------------------
# Fields
# ---------------------------------------------------------------------------

ALWAYS_KEPT = {"id", "type", "collection"}  # crates/api/src/fields.rs, "Always kept"
DEFAULT_TOP = {"type", "stac_version", "id", "geometry", "bbox", "links", "assets"}
RANGE_ITEM = "S2A_MSIL2A_20240322T101549_T32TPR"  # datetime null, start/end set
FIELD_IDS = ["S2B_MSIL2A_20240328T101609_T32TQS",  # no eo:cloud_cover
             RANGE_ITEM, "LC08_L2SP_194027_20240120", "S1A_IW_GRDH_20240103T053012"]


def fields_search(server: str, method: str, fields: Any) -> dict[str, dict]:
    params: dict[str, Any] = {"ids": ",".join(FIELD_IDS) if method == "GET" else FIELD_IDS,
                              "fields": fields}
    features = fetch_all(server, method, params)
    assert sorted(f["id"] for f in features if "id" in f) == sorted(FIELD_IDS)
    return {f["id"]: f for f in features}


def default_properties(item: dict) -> set[str]:
    return {"datetime"} | ({"start_datetime", "end_datetime"} & set(item["properties"]))


def check_values(feature: dict, item: dict) -> None:
    """Every returned value that is not rewritten by the API equals the item's."""
    for key, value in feature.items():
        if key == "properties":
            for name, v in value.items():
                assert v == item["properties"][name], (item["id"], name)
        elif key not in ("links", "assets"):
            assert value == item[key], (item["id"], key)


@pytest.mark.parametrize("method,fields", [("GET", ""), ("POST", {}),
                                           ("POST", {"include": [], "exclude": []}),
                                           ("POST", {"include": None, "exclude": None})])
def test_fields_default_set(server, items, fields_ext, method, fields):
    for item_id, feature in fields_search(server, method, fields).items():
        item = items[item_id]
        assert set(feature) == DEFAULT_TOP | ALWAYS_KEPT | {"properties"}
        assert set(feature["properties"]) == default_properties(item)
        check_values(feature, item)


@pytest.mark.parametrize("method,fields", [
    ("GET", "id,properties.eo:cloud_cover"),
    ("GET", "+id,+eo:cloud_cover"),
    ("POST", {"include": ["id", "properties.eo:cloud_cover"]}),
    ("POST", {"include": ["eo:cloud_cover"]}),
])
def test_fields_include(server, items, fields_ext, method, fields):
    for item_id, feature in fields_search(server, method, fields).items():
        item = items[item_id]
        if "eo:cloud_cover" in item["properties"]:
            assert set(feature) == ALWAYS_KEPT | {"properties"}
            assert feature["properties"] == {"eo:cloud_cover": item["properties"]["eo:cloud_cover"]}
        else:  # nothing in properties is kept, so no properties object
            assert set(feature) == ALWAYS_KEPT, item_id
        check_values(feature, item)


@pytest.mark.parametrize("method,fields", [("GET", "geometry,bbox,properties.datetime"),
                                           ("POST", {"include": ["geometry", "bbox", "datetime"]})])
def test_fields_include_index_columns(server, items, fields_ext, method, fields):
    """Fields the index holds (possibly answered without fetching the item)."""
    for item_id, feature in fields_search(server, method, fields).items():
        item = items[item_id]
        assert set(feature) == ALWAYS_KEPT | {"geometry", "bbox", "properties"}
        assert set(feature["properties"]) == {"datetime"}
        assert shape(feature["geometry"]).equals(shape(item["geometry"]))
        assert feature["bbox"] == item["bbox"]
        datetime = item["properties"]["datetime"]
        got = feature["properties"]["datetime"]
        assert (got is None) if datetime is None else _ts(got) == _ts(datetime)


@pytest.mark.parametrize("method,fields", [("GET", "-geometry,-properties.gsd"),
                                           ("POST", {"exclude": ["geometry", "properties.gsd"]}),
                                           ("POST", {"include": [], "exclude": ["geometry", "properties.gsd"]}),
                                           ("POST", {"include": None, "exclude": ["geometry", "properties.gsd"]})])
def test_fields_exclude_from_full_item(server, items, fields_ext, method, fields):
    """Only exclude (GET or POST): the full item without those fields."""
    for item_id, feature in fields_search(server, method, fields).items():
        item = items[item_id]
        assert set(feature) == set(item) - {"geometry"}
        assert set(feature["properties"]) == set(item["properties"]) - {"gsd"}
        assert set(feature["assets"]) == set(item["assets"])
        check_values(feature, item)


@pytest.mark.parametrize("method,fields", [("GET", "properties,-properties.gsd"),
                                           ("POST", {"include": ["properties"],
                                                     "exclude": ["properties.gsd"]})])
def test_fields_nested_exclude(server, items, fields_ext, method, fields):
    for item_id, feature in fields_search(server, method, fields).items():
        item = items[item_id]
        assert set(feature) == ALWAYS_KEPT | {"properties"}
        assert set(feature["properties"]) == set(item["properties"]) - {"gsd"}
        check_values(feature, item)


@pytest.mark.parametrize("method,fields", [("GET", "-properties,+properties.platform"),
                                           ("POST", {"include": ["properties.platform"],
                                                     "exclude": ["properties"]})])
def test_fields_nested_include(server, items, fields_ext, method, fields):
    """The more specific path wins: properties excluded, but platform kept."""
    for item_id, feature in fields_search(server, method, fields).items():
        assert set(feature) == ALWAYS_KEPT | {"properties"}
        assert feature["properties"] == {"platform": items[item_id]["properties"]["platform"]}


@pytest.mark.parametrize("method,fields", [("GET", "+geometry,-geometry"),
                                           ("POST", {"include": ["geometry"], "exclude": ["geometry"]})])
def test_fields_include_wins(server, items, fields_ext, method, fields):
    for feature in fields_search(server, method, fields).values():
        assert set(feature) == ALWAYS_KEPT | {"geometry"}


def test_fields_assets_path(server, items, fields_ext):
    for item_id, feature in fields_search(server, "POST", {"include": ["assets.thumbnail"]}).items():
        assert set(feature) == ALWAYS_KEPT | {"assets"}
        assert set(feature["assets"]) == {"thumbnail"}
        assert feature["assets"]["thumbnail"]["type"] == items[item_id]["assets"]["thumbnail"]["type"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_fields_paging(server, items, fields_ext, method):
    """fields with every page of a search: each item once, in order."""
    fields: Any = "id" if method == "GET" else {"include": ["id"]}
    features = fetch_all(server, method, {"fields": fields})
    assert [f["id"] for f in features] == default_order(items, items)
    assert all(set(f) == ALWAYS_KEPT for f in features)


# ---------------------------------------------------------------------------
# Query (the older extension)
# ---------------------------------------------------------------------------


def query_matches(item: dict, query: dict[str, dict]) -> bool:
    for name, ops in query.items():
        value = prop(item, name)
        for op, operand in ops.items():
            if value is None:
                return False
            ok = {
                "eq": lambda: value == operand, "neq": lambda: value != operand,
                "lt": lambda: value < operand, "lte": lambda: value <= operand,
                "gt": lambda: value > operand, "gte": lambda: value >= operand,
                "startsWith": lambda: value.startswith(operand),
                "endsWith": lambda: value.endswith(operand),
                "contains": lambda: operand in value,
                "in": lambda: value in operand,
            }[op]()
            if not ok:
                return False
    return True


QUERIES: dict[str, dict] = {
    "eq": {"eo:cloud_cover": {"eq": 0}},
    "neq": {"platform": {"neq": "sentinel-1a"}},
    "lt": {"eo:cloud_cover": {"lt": 10}},
    "lte": {"eo:cloud_cover": {"lte": 9.9}},
    "gt": {"eo:cloud_cover": {"gt": 50}},
    "gte and lt": {"eo:cloud_cover": {"gte": 20, "lt": 60}},
    "startsWith": {"platform": {"startsWith": "landsat"}},
    "endsWith": {"platform": {"endsWith": "2b"}},
    "contains": {"proj:code": {"contains": "3263"}},
    "in": {"platform": {"in": ["sentinel-2a", "landsat-8"]}},
    "two properties": {"gsd": {"eq": 10}, "properties.eo:cloud_cover": {"lt": 20}},
}


def test_queries_are_not_trivial(items):
    for name, query in QUERIES.items():
        assert 0 < sum(query_matches(i, query) for i in items.values()) < len(items), name


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("name", list(QUERIES))
def test_query(server, items, query_ext, name, method):
    query = QUERIES[name]
    got = fetch_ids(server, method, {"query": json.dumps(query) if method == "GET" else query})
    want = {i for i, item in items.items() if query_matches(item, query)}
    assert set(got) == want, diff(got, want)
    assert got == default_order(items, want)


def test_query_pystac_client(client, items, query_ext):
    got = search_ids(client, "POST", query=QUERIES["lt"])
    assert set(got) == {i for i, item in items.items() if query_matches(item, QUERIES["lt"])}


def test_query_unknown_property(server, query_ext):
    bad_request(requests.post(f"{server}/search", json={"query": {"cloudy": {"lt": 1}}},
                              timeout=30), "cloudy")


# ---------------------------------------------------------------------------
# Free text
# ---------------------------------------------------------------------------


def text_of(item: dict) -> list[str]:
    p = item["properties"]
    return [s.lower() for s in [p.get("title"), p.get("description"), *p.get("keywords", [])]
            if s]


def has(item: dict, term: str) -> bool:
    return any(term.lower() in s for s in text_of(item))


FREE_TEXT: dict[str, Any] = {  # q -> predicate over an item
    "snow": lambda i: has(i, "snow"),
    "ZÜRICH": lambda i: has(i, "zürich"),
    "snow,flood": lambda i: has(i, "snow") or has(i, "flood"),
    "lake": lambda i: has(i, "lake"),  # "Lake Garda", "lake", "Alpine lakes"
}
ADVANCED_FREE_TEXT: dict[str, Any] = {
    '"lake garda"': lambda i: has(i, "lake garda"),
    "snow AND alps": lambda i: has(i, "snow") and has(i, "alps"),
    "snow OR flood": lambda i: has(i, "snow") or has(i, "flood"),
    "agriculture AND (veneto OR nile)": lambda i: has(i, "agriculture") and (
        has(i, "veneto") or has(i, "nile")),
}


def test_free_text_is_not_trivial(items):
    for q, predicate in {**FREE_TEXT, **ADVANCED_FREE_TEXT}.items():
        assert 0 < sum(map(predicate, items.values())) < 18, q


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("q", list(FREE_TEXT))
def test_free_text(server, items, free_text_ext, q, method):
    got = fetch_ids(server, method, {"q": q})
    want = {i for i, item in items.items() if FREE_TEXT[q](item)}
    assert set(got) == want, diff(got, want)
    assert got == default_order(items, want)


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("q", list(ADVANCED_FREE_TEXT))
def test_advanced_free_text(server, items, advanced_free_text_ext, q, method):
    got = fetch_ids(server, method, {"q": q})
    want = {i for i, item in items.items() if ADVANCED_FREE_TEXT[q](item)}
    assert set(got) == want, diff(got, want)


def test_free_text_with_filter_and_sort(server, items, conformance, free_text_ext):
    _require(conformance, "filter")
    _require(conformance, "sort")
    got = fetch_ids(server, "POST", {"q": "snow", "filter": {"op": "=", "args": [P("gsd"), 10]},
                                     "sortby": [{"field": "datetime", "direction": "asc"}]})
    want = {i for i, item in items.items() if has(item, "snow") and item["properties"]["gsd"] == 10}
    assert got == sorted_ids(items, want, [("datetime", "asc")])
