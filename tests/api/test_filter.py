"""OGC API - Features Part 3 (queryables, CQL2 text and JSON) through Flask's test client and
real clients, against answers computed here with plain Python and shapely over the same frame."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from owslib.ogcapi.features import Features
from pyproj import Transformer

from tests.conftest import LiveServer, assert_problem

N = 60
X0, Y0, STEP = 385_000.0, 6_672_000.0, 200.0
NAMES = ["Hämeenkatu", "Åbo", "Kesäkatu", "Kesantie", "Sörnäinen", "HÄMEENKATU", "Hameenlinna",
         "åbo", "Tori_50%", None, "Töölönkatu", "Mannerheimintie"]
STATUSES = ["proposal", "approved", None, "proposal", "approved"]
TO_CRS84 = Transformer.from_crs("EPSG:3067", "OGC:CRS84", always_xy=True)
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


def layer_frame() -> gpd.GeoDataFrame:
    """60 polygons on a 200 m grid in EPSG:3067 (every fourth a triangle), in CRS84."""
    geoms, rows = [], []
    for i in range(N):
        x, y = X0 + (i % 10) * STEP, Y0 + (i // 10) * STEP
        w, h = 20 + (i * 7) % 25, 15 + (i * 11) % 20
        geoms.append(shapely.Polygon([(x, y), (x + w, y), (x, y + h)]) if i % 4 == 3
                     else shapely.box(x, y, x + w, y + h))
        rows.append({
            "name": NAMES[i % len(NAMES)],
            "status": STATUSES[i % len(STATUSES)],
            "floors": None if i % 9 == 4 else (i * 7) % 8 + 1,
            "area": np.nan if i % 11 == 3 else round(w * h * 0.9, 2),
            "built": None if i % 8 == 5 else date(1990 + i % 30, i % 12 + 1, i % 27 + 1),
            "listed": i % 3 == 0,
        })
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:3067")
    frame["floors"] = frame["floors"].astype("Int64")
    return frame


FRAME_3067 = layer_frame()
FRAME = FRAME_3067.to_crs("OGC:CRS84")


@dataclass(frozen=True)
class Rec:
    """One feature as plain Python values (nulls as None)."""

    id: int
    name: str | None
    status: str | None
    floors: int | None
    area: float | None
    built: date | None
    listed: bool
    geom: Any
    geom3067: Any


def _value(v: Any) -> Any:
    return None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v


def _recs() -> list[Rec]:
    recs = []
    for i, row in enumerate(FRAME.to_dict("records")):
        floors = _value(row["floors"])
        recs.append(Rec(i + 1, _value(row["name"]), _value(row["status"]),
                        None if floors is None else int(floors), _value(row["area"]),
                        _value(row["built"]), bool(row["listed"]), FRAME.geometry.iloc[i],
                        FRAME_3067.geometry.iloc[i]))
    return recs


RECS = _recs()


def crs84(geom3067: Any) -> Any:
    """A geometry's vertices transformed (straight edges stay straight in CRS84)."""
    return shapely.transform(geom3067, lambda xy: np.column_stack(
        TO_CRS84.transform(xy[:, 0], xy[:, 1])))


def wkt(geom: Any) -> str:
    return shapely.to_wkt(geom, rounding_precision=-1)


# Literals: a region between the grid's cells (no feature within 50 m of its edges), a triangle
# whose long edge cuts through features and envelopes, and a line along the third row.
REGION_3067 = shapely.box(X0 + 1.5 * STEP, Y0 + 0.5 * STEP, X0 + 5.5 * STEP, Y0 + 3.5 * STEP)
REGION = crs84(REGION_3067)
TRIANGLE = crs84(shapely.Polygon([(X0 - 50, Y0 - 50), (X0 + 9.3 * STEP, Y0 - 50),
                                  (X0 - 50, Y0 + 5.6 * STEP)]))
LINE = crs84(shapely.LineString([(X0 - 50, Y0 + 2 * STEP + 6),
                                  (X0 + 10 * STEP, Y0 + 2 * STEP + 6)]))
POINT_IN_12 = shapely.Point(RECS[11].geom.centroid.coords[0])
CORNER_OF_23 = shapely.Point(RECS[22].geom.exterior.coords[1])
REGION_LAT_LON = shapely.transform(REGION, lambda xy: xy[:, ::-1].copy())
BOX = REGION.bounds


def fold(text: str) -> str:
    """Lower case without accents, for expected CASEI/ACCENTI answers."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text.lower())
                   if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


def like(value: str | None, pattern: str) -> bool:
    """CQL2 LIKE in plain Python: % any run, _ one character, backslash escapes."""
    if value is None:
        return False
    regex, chars = "", iter(pattern)
    for c in chars:
        regex += re.escape(next(chars, "\\")) if c == "\\" else \
            ".*" if c == "%" else "." if c == "_" else re.escape(c)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def gt(a: Any, b: Any) -> bool:
    return a is not None and a > b


def lt(a: Any, b: Any) -> bool:
    return a is not None and a < b


Pred = Callable[[Rec], bool]


@dataclass(frozen=True)
class Case:
    """One filter, the features it must select, and its CQL2 JSON form where given."""

    id: str
    text: str
    expect: Pred
    cql_json: dict[str, Any] | None = None
    params: tuple[tuple[str, str], ...] = ()


def prop(name: str) -> dict[str, str]:
    return {"property": name}


def op(name: str, *args: Any) -> dict[str, Any]:
    return {"op": name, "args": list(args)}


CASES = [
    Case("eq", "status = 'proposal'", lambda r: r.status == "proposal",
         op("=", prop("status"), "proposal")),
    Case("ne", "status <> 'proposal'", lambda r: r.status is not None and r.status != "proposal"),
    Case("gt", "floors > 4", lambda r: gt(r.floors, 4)),
    Case("range", "floors >= 4 AND floors <= 6",
         lambda r: r.floors is not None and 4 <= r.floors <= 6,
         op("and", op(">=", prop("floors"), 4), op("<=", prop("floors"), 6))),
    Case("or", "floors < 3 OR status = 'approved'",
         lambda r: lt(r.floors, 3) or r.status == "approved"),
    Case("not", "NOT (floors > 2)", lambda r: r.floors is not None and not r.floors > 2,
         op("not", op(">", prop("floors"), 2))),
    Case("float", "area > 500.5", lambda r: gt(r.area, 500.5)),
    Case("null", "area IS NULL", lambda r: r.area is None, op("isNull", prop("area"))),
    Case("not-null", "area IS NOT NULL AND area < 700", lambda r: lt(r.area, 700)),
    Case("int-null", "floors IS NULL", lambda r: r.floors is None),
    Case("date", "built > DATE('2015-06-01')", lambda r: gt(r.built, date(2015, 6, 1)),
         op(">", prop("built"), {"date": "2015-06-01"})),
    Case("date-between", "built BETWEEN DATE('2000-01-01') AND DATE('2010-12-31')",
         lambda r: r.built is not None and date(2000, 1, 1) <= r.built <= date(2010, 12, 31)),
    Case("date-or-null", "built IS NULL OR built < DATE('1995-01-01')",
         lambda r: r.built is None or r.built < date(1995, 1, 1),
         op("or", op("isNull", prop("built")), op("<", prop("built"), {"date": "1995-01-01"}))),
    Case("date-text", "built = '2001-12-12'", lambda r: r.built == date(2001, 12, 12)),
    Case("bool", "listed = TRUE", lambda r: r.listed, op("=", prop("listed"), True)),
    Case("bool-and-null", "listed = FALSE AND status IS NULL",
         lambda r: not r.listed and r.status is None),
    Case("text-eq", "name = 'Hämeenkatu'", lambda r: r.name == "Hämeenkatu"),
    Case("like", "name LIKE 'Kes%'", lambda r: like(r.name, "Kes%"),
         op("like", prop("name"), "Kes%")),
    Case("like-one-char", "name LIKE 'Kes_katu'", lambda r: like(r.name, "Kes_katu")),
    Case("not-like", "name NOT LIKE '%katu'",
         lambda r: r.name is not None and not like(r.name, "%katu")),
    Case("casei-like", "CASEI(name) LIKE 'hämeen%'",
         lambda r: r.name is not None and r.name.lower().startswith("hämeen")),
    Case("accenti-casei-like", "ACCENTI(CASEI(name)) LIKE ACCENTI(CASEI('hameen%'))",
         lambda r: r.name is not None and fold(r.name).startswith("hameen"),
         op("like", op("accenti", op("casei", prop("name"))),
            op("accenti", op("casei", "hameen%")))),
    Case("accenti-eq", "ACCENTI(name) = 'Abo'", lambda r: r.name == "Åbo"),
    Case("casei-eq", "CASEI(name) = CASEI('ÅBO')",
         lambda r: r.name is not None and r.name.lower() == "åbo",
         op("=", op("casei", prop("name")), op("casei", "ÅBO"))),
    Case("in", "name IN ('Åbo', 'Sörnäinen')", lambda r: r.name in {"Åbo", "Sörnäinen"},
         op("in", prop("name"), ["Åbo", "Sörnäinen"])),
    Case("not-in", "status NOT IN ('proposal')",
         lambda r: r.status is not None and r.status != "proposal"),
    Case("not-between", "floors NOT BETWEEN 2 AND 6",
         lambda r: r.floors is not None and not 2 <= r.floors <= 6),
    Case("between-json", "floors BETWEEN 2 AND 5",
         lambda r: r.floors is not None and 2 <= r.floors <= 5,
         op("between", prop("floors"), 2, 5)),
    Case("like-escaped-percent", "name LIKE '%\\%'", lambda r: like(r.name, "%\\%")),
    Case("like-escaped-underscore", "name LIKE 'Tori\\_%'", lambda r: like(r.name, "Tori\\_%")),
    Case("quoted-names", "\"status\" = 'approved' AND \"floors\" >= 2",
         lambda r: r.status == "approved" and r.floors is not None and r.floors >= 2),
    Case("nested", "(status = 'proposal' OR status = 'approved') AND NOT listed = TRUE",
         lambda r: r.status in {"proposal", "approved"} and not r.listed),
    Case("empty-text", "name = ''", lambda r: r.name == ""),
    Case("int-as-float", "floors = 3.0", lambda r: r.floors == 3),
    Case("in-and-not-null", "floors IN (1, 3, 5) AND status IS NOT NULL",
         lambda r: r.floors in {1, 3, 5} and r.status is not None),
    # spatial
    Case("s-intersects-region", f"S_INTERSECTS(geometry, {wkt(REGION)})",
         lambda r: shapely.intersects(r.geom, REGION)),
    Case("s-intersects-triangle", f"S_INTERSECTS(geometry, {wkt(TRIANGLE)})",
         lambda r: shapely.intersects(r.geom, TRIANGLE),
         op("s_intersects", prop("geometry"), shapely.geometry.mapping(TRIANGLE))),
    Case("s-within", f"S_WITHIN(geometry, {wkt(TRIANGLE)})",
         lambda r: shapely.within(r.geom, TRIANGLE)),
    Case("s-within-literal-first", f"S_WITHIN({wkt(POINT_IN_12)}, geometry)",
         lambda r: shapely.within(POINT_IN_12, r.geom)),
    Case("s-disjoint", f"S_DISJOINT(geometry, {wkt(REGION)})",
         lambda r: shapely.disjoint(r.geom, REGION)),
    Case("s-intersects-point", f"S_INTERSECTS(geometry, {wkt(POINT_IN_12)})",
         lambda r: shapely.intersects(r.geom, POINT_IN_12)),
    Case("s-contains", f"S_CONTAINS(geometry, {wkt(POINT_IN_12)})",
         lambda r: shapely.contains(r.geom, POINT_IN_12)),
    Case("s-touches", f"S_TOUCHES(geometry, {wkt(CORNER_OF_23)})",
         lambda r: shapely.touches(r.geom, CORNER_OF_23)),
    Case("s-equals", f"S_EQUALS(geometry, {wkt(RECS[4].geom)})",
         lambda r: shapely.equals(r.geom, RECS[4].geom)),
    Case("s-overlaps", f"S_OVERLAPS(geometry, {wkt(TRIANGLE)})",
         lambda r: shapely.overlaps(r.geom, TRIANGLE)),
    Case("s-crosses", f"S_CROSSES(geometry, {wkt(LINE)})",
         lambda r: shapely.crosses(r.geom, LINE)),
    Case("bbox-literal", "S_INTERSECTS(geometry, BBOX({}, {}, {}, {}))".format(*BOX),
         lambda r: shapely.intersects(r.geom, shapely.box(*BOX)),
         op("s_intersects", prop("geometry"), {"bbox": list(BOX)})),
    Case("spatial-or", f"status = 'approved' OR S_INTERSECTS(geometry, {wkt(TRIANGLE)})",
         lambda r: r.status == "approved" or shapely.intersects(r.geom, TRIANGLE)),
    Case("spatial-not", f"NOT S_INTERSECTS(geometry, {wkt(TRIANGLE)})",
         lambda r: not shapely.intersects(r.geom, TRIANGLE)),
    Case("spatial-and", f"S_INTERSECTS(geometry, {wkt(TRIANGLE)}) AND floors > 3",
         lambda r: shapely.intersects(r.geom, TRIANGLE) and gt(r.floors, 3)),
    Case("two-windows", f"S_INTERSECTS(geometry, {wkt(TRIANGLE)}) AND "
         f"S_INTERSECTS(geometry, {wkt(REGION)})",
         lambda r: shapely.intersects(r.geom, TRIANGLE) and shapely.intersects(r.geom, REGION)),
    Case("filter-crs-3067", f"S_INTERSECTS(geometry, {wkt(REGION_3067)})",
         lambda r: shapely.intersects(r.geom3067, REGION_3067),
         params=(("filter-crs", EPSG.format(3067)),)),
    Case("filter-crs-4326-lat-lon", f"S_INTERSECTS(geometry, {wkt(REGION_LAT_LON)})",
         lambda r: shapely.intersects(r.geom, REGION),
         params=(("filter-crs", EPSG.format(4326)),)),
    Case("with-bbox", "status = 'proposal'",
         lambda r: r.status == "proposal" and shapely.intersects(r.geom, shapely.box(*BOX)),
         params=(("bbox", ",".join(map(repr, BOX))),)),
    Case("with-property-param", "floors > 3",
         lambda r: gt(r.floors, 3) and r.listed, params=(("listed", "true"),)),
    Case("geometry-param", "floors > 0", lambda r: gt(r.floors, 0)
         and shapely.intersects(r.geom, TRIANGLE), params=(("geometry", wkt(TRIANGLE)),)),
]


@pytest.fixture
def plans(add_layer: Any) -> str:
    """The fixture layer as collection ``plans``; returns the items path."""
    add_layer("plans", FRAME, title="Kaavat – planer")
    return "/collections/plans/items"


def expected(case: Case) -> set[int]:
    return {r.id for r in RECS if case.expect(r)}


def fetch(client: Any, path: str, **params: Any) -> tuple[set[int], dict[str, Any]]:
    response = client.get(path, query_string={"limit": 1000, **params})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = response.get_json()
    ids = [f["id"] for f in body["features"]]
    assert len(ids) == len(set(ids))
    assert body["numberReturned"] == len(ids)
    return set(ids), body


def test_fixture_layer_exercises_the_cases() -> None:
    """Each case selects something and leaves something out (except the empty-text one)."""
    assert len(CASES) >= 30
    for case in CASES:
        n = len(expected(case))
        assert n < N, case.id
        assert n > 0 or case.id == "empty-text", case.id
    assert {r.name for r in RECS} >= {"Hämeenkatu", "Åbo", "Kesäkatu", "Sörnäinen", None}
    assert any(r.area is None for r in RECS) and any(r.built is None for r in RECS)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cql2_text_filters(client: Any, plans: str, case: Case) -> None:
    ids, body = fetch(client, plans, filter=case.text, **dict(case.params))
    assert ids == expected(case)
    assert body["numberMatched"] == len(ids)


JSON_CASES = [c for c in CASES if c.cql_json is not None]


@pytest.mark.parametrize("case", JSON_CASES, ids=[c.id for c in JSON_CASES])
def test_cql2_json_filters(client: Any, plans: str, case: Case) -> None:
    ids, body = fetch(client, plans, filter=json.dumps(case.cql_json),
                      **{"filter-lang": "cql2-json"}, **dict(case.params))
    assert ids == expected(case)
    assert body["numberMatched"] == len(ids)


PAGED = [
    Case("attributes", "status = 'proposal' OR floors > 6",
         lambda r: r.status == "proposal" or gt(r.floors, 6)),
    Case("spatial-and", f"S_INTERSECTS(geometry, {wkt(TRIANGLE)}) AND floors > 2",
         lambda r: shapely.intersects(r.geom, TRIANGLE) and gt(r.floors, 2)),
    Case("spatial-not", f"NOT S_INTERSECTS(geometry, {wkt(TRIANGLE)})",
         lambda r: not shapely.intersects(r.geom, TRIANGLE)),
]


@pytest.mark.parametrize("case", PAGED, ids=[c.id for c in PAGED])
def test_next_links_keep_the_filter(client: Any, plans: str, case: Case) -> None:
    text, want = case.text, expected(case)
    url = f"{plans}?limit=4&filter={quote(text)}"
    seen: list[int] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        body = response.get_json()
        assert body["numberMatched"] == len(want)
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if nxt:
            assert parse_qs(urlsplit(nxt[0]).query)["filter"] == [text]
        url = nxt[0].replace("http://localhost", "") if nxt else ""
    assert len(seen) == len(set(seen)) and set(seen) == want
    assert seen == sorted(seen)


def test_filter_with_offset_and_output_crs(client: Any, plans: str) -> None:
    text = "floors >= 2"
    want = sorted(r.id for r in RECS if gt(r.floors, 1))
    ids, body = fetch(client, plans, filter=text, offset=5, limit=7,
                      crs=EPSG.format(3067))
    assert sorted(ids) == want[5:12]
    by_id = {r.id: r for r in RECS}
    for feature in body["features"]:
        got = shapely.geometry.shape(feature["geometry"])
        assert shapely.hausdorff_distance(got, by_id[feature["id"]].geom3067) < 0.01


def test_filter_in_html(client: Any, plans: str) -> None:
    response = client.get(plans, query_string={"filter": "status = 'proposal'", "f": "html"})
    assert response.status_code == 200
    assert "Hämeenkatu" in response.get_data(as_text=True)


def test_queryables(client: Any, plans: str) -> None:
    collection = client.get("/collections/plans").get_json()
    links = [link for link in collection["links"]
             if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/queryables"]
    assert len(links) == 1 and links[0]["type"] == "application/schema+json"
    response = client.get(links[0]["href"].replace("http://localhost", ""))
    assert response.status_code == 200
    assert response.mimetype == "application/schema+json"
    schema = response.get_json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == links[0]["href"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    props = schema["properties"]
    assert props["geometry"]["format"] == "geometry-polygon-or-multipolygon"
    assert props["name"]["type"] == "string" and props["status"]["type"] == "string"
    assert props["floors"]["type"] == "integer" and props["area"]["type"] == "number"
    assert props["listed"]["type"] == "boolean"
    assert props["built"] == {"title": "built", "type": "string", "format": "date"}
    assert set(props) == set(FRAME.columns)
    assert_problem(client.get("/collections/nosuch/queryables"), 404)
    assert_problem(client.get("/collections/plans/queryables?f=html"), 400, mentions="json")


def test_conformance_and_openapi_declare_filtering(client: Any) -> None:
    classes = set(client.get("/conformance").get_json()["conformsTo"])
    for name in ("ogcapi-features-3/1.0/conf/queryables",
                 "ogcapi-features-3/1.0/conf/queryables-query-parameters",
                 "ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                 "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json", "cql2/1.0/conf/basic-cql2",
                 "cql2/1.0/conf/advanced-comparison-operators",
                 "cql2/1.0/conf/case-insensitive-comparison",
                 "cql2/1.0/conf/accent-insensitive-comparison",
                 "cql2/1.0/conf/basic-spatial-functions",
                 "cql2/1.0/conf/basic-spatial-functions-plus",
                 "cql2/1.0/conf/spatial-functions"):
        assert f"http://www.opengis.net/spec/{name}" in classes, name
    for absent in ("temporal-functions", "array-functions", "arithmetic", "property-property",
                   "functions"):
        assert f"http://www.opengis.net/spec/cql2/1.0/conf/{absent}" not in classes
    doc = client.get("/api").get_json()
    items = doc["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    names = {p["$ref"].rsplit("/", 1)[1] for p in items if "$ref" in p}
    assert {"filter", "filter-lang", "filter-crs"} <= names
    assert "/collections/{collectionId}/queryables" in doc["paths"]


BAD = [
    ("floors >", {}, "ends too early, after column 8"),
    ("floors > 3 status = 'x'", {}, "unexpected 'status' at column 12"),
    ("nosuch = 1", {}, "unknown property 'nosuch'"),
    ("floors = 'abc'", {}, "cannot compare floors (integer) with 'abc'"),
    ("FOO(name) = 'x'", {}, "unsupported function FOO"),
    ("floors + 1 > 2", {}, "arithmetic"),
    ("S_INTERSECTS(name, POINT(1 2))", {}, "geometry"),
    ("name LIKE 5", {}, "pattern"),
    ("floors LIKE '1%'", {}, "LIKE needs text"),
    ("built > DATE('2020-13-01')", {}, "month"),
    ("built > TIMESTAMP('2020-01-01T00:00:00Z')", {}, "cannot compare"),
    ("geometry = 'x'", {}, "spatial functions"),
    ("S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", {}, "not valid"),
    ("S_INTERSECTS(geometry, SRID=3067;POINT(1 2))", {}, "filter-crs"),
    ("S_INTERSECTS(geometry, BBOX(25, 60, 24, 61))", {}, "lower corner"),
    ("status = 'proposal' AND", {}, "ends too early"),
    ("name = 'O''Brien'", {}, "column 11"),  # pygeofilter 0.4 reads no '' escapes
    ("RELATE(geometry, POINT(1 2), 'T********')", {}, "unsupported"),
    (" AND ".join(["floors > 1"] * 600), {}, "too complex"),
    ("{not json", {"filter-lang": "cql2-json"}, "not valid JSON"),
    ('{"op": "frob", "args": [1]}', {"filter-lang": "cql2-json"}, "CQL2 JSON"),
    ('{"op": "=", "args": [{"property": "nosuch"}, 1]}', {"filter-lang": "cql2-json"},
     "unknown property"),
    ('"status = 1"', {"filter-lang": "cql2-json"}, "object"),
    ('{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [1, 2]}]}',
     {"filter-lang": "cql2-json"}, "BBOX"),
    ("status = 'x'", {"filter-lang": "sql"}, "filter-lang"),
    ("status = 'x'", {"filter-crs": EPSG.format(3006)}, "not offered"),
    ("status = 'x'", {"filter-crs": "EPSG-3067"}, "CRS URI"),
    ("status = 'x'", {"geometry": "POINT(1"}, "WKT"),
]


@pytest.mark.parametrize(("text", "params", "mentions"), BAD, ids=[b[2] for b in BAD])
def test_bad_filters_are_400_problems(client: Any, plans: str, text: str,
                                      params: dict[str, str], mentions: str) -> None:
    body = assert_problem(client.get(plans, query_string={"filter": text, **params}), 400,
                          mentions=mentions)
    assert body["parameter"] in {"filter", *params}


INJECTIONS = [
    ("name = 'x'' OR 1=1 --'", {}),
    ("name = '; DROP TABLE plans; --'", {}),
    ("name = 'x' --", {}),
    ("name = 'x'; DELETE FROM plans", {}),
    ("\"name; DROP TABLE plans\" = 'a'", {}),
    ("\"name\"\" OR 1=1 --\" = 'a'", {}),
    ("\"name\" = 'a' OR \"1\" = \"1\"", {}),
    ("S_INTERSECTS(geometry, POINT(1 2)) OR name = 'x') --", {}),
    ("CASEI(name) LIKE '%'' OR ''1''=''1'", {}),
    (json.dumps(op("=", prop("name"), "' OR 1=1 --")), {"filter-lang": "cql2-json"}),
    (json.dumps(op("=", prop('name" OR 1=1 --'), "x")), {"filter-lang": "cql2-json"}),
    (json.dumps(op("like", prop("name"), "%' OR '1'='1")), {"filter-lang": "cql2-json"}),
    ("status = 'proposal'", {"name": "' OR 1=1 --"}),
    ("status = 'proposal'", {"floors": "1; DROP TABLE plans"}),
]


@pytest.mark.parametrize(("text", "params"), INJECTIONS)
def test_injection_attempts_never_widen_the_answer(client: Any, plans: str, text: str,
                                                   params: dict[str, str]) -> None:
    response = client.get(plans, query_string={"filter": text, "limit": 1000, **params})
    assert response.status_code in {200, 400}, response.get_data(as_text=True)[:300]
    if response.status_code == 200:
        assert response.get_json()["features"] == []
        assert response.get_json()["numberMatched"] == 0
    else:
        assert_problem(response, 400)
    ids, body = fetch(client, plans)
    assert body["numberMatched"] == N and ids == set(range(1, N + 1))


def test_timestamps_compare_as_instants(client: Any, add_layer: Any) -> None:
    """GeoPackage keeps times as text with or without milliseconds and ``Z``."""
    times = pd.to_datetime(["2024-01-01T10:00:00", "2024-01-01T10:00:00.5", None,
                            "2024-06-01T12:30:00"], format="ISO8601").tz_localize("UTC")
    frame = gpd.GeoDataFrame({"seen": times}, geometry=shapely.points(
        [24.90, 24.91, 24.92, 24.93], [60.17] * 4), crs="OGC:CRS84")
    add_layer("sightings", frame, source_crs="EPSG:4326")
    path = "/collections/sightings/items"
    for text, want in [
        ("seen = TIMESTAMP('2024-01-01T10:00:00Z')", {1}),
        ("seen > TIMESTAMP('2024-01-01T10:00:00Z')", {2, 4}),
        ("seen <= TIMESTAMP('2024-01-01T12:00:00.500+02:00')", {1, 2}),
        ("seen BETWEEN TIMESTAMP('2024-01-01T10:00:00.1Z') AND "
         "TIMESTAMP('2024-12-31T00:00:00Z')", {2, 4}),
        ("seen IS NULL", {3}),
        ("seen = '2024-06-01T12:30:00Z'", {4}),
    ]:
        assert fetch(client, path, filter=text)[0] == want, text


def test_mangled_filters_never_fail_the_server(client: Any, plans: str) -> None:
    """Seeded mutations of every case, text and JSON: 200 or a 400 problem, never a 500."""
    rng = np.random.default_rng(3067)
    noise = list("()',;-=<>%_\\\" ANDORNOT12.5é[]{}:")
    for case in CASES:
        for lang, text in (("cql2-text", case.text), ("cql2-json", json.dumps(case.cql_json))):
            if lang == "cql2-json" and case.cql_json is None:
                continue
            for _ in range(8):
                chars = list(text)
                for _ in range(int(rng.integers(1, 4))):
                    at = int(rng.integers(0, len(chars)))
                    if rng.random() < 0.5:
                        del chars[at]
                    else:
                        chars.insert(at, str(rng.choice(noise)))
                response = client.get(plans, query_string={"filter": "".join(chars),
                                                           "filter-lang": lang})
                if response.status_code != 200:
                    assert_problem(response, 400)


@pytest.fixture
def served_plans(add_layer: Any, live_server: LiveServer) -> str:
    """The fixture layer on a live gunicorn; returns the collection URL."""
    add_layer("plans", FRAME, title="Kaavat – planer")
    return f"{live_server.url}/collections/plans"


def test_gdal_attribute_filter(served_plans: str, capfd: pytest.CaptureFixture[str]) -> None:
    """GDAL's OAPIF driver with ``where``: right features whether it sends CQL2 or filters on
    its side; the requests it made are printed (``-s`` shows them)."""
    pyogrio.set_gdal_config_options({"CPL_DEBUG": "ON"})
    try:
        got = pyogrio.read_dataframe(f"OAPIF:{served_plans}", where="status = 'proposal'")
    finally:
        pyogrio.set_gdal_config_options({"CPL_DEBUG": None})
    fetched = [line.split("Fetch(", 1)[1].rstrip(")") for line in
               capfd.readouterr().err.splitlines() if "HTTP: Fetch(" in line]
    print("GDAL requested:", *fetched, sep="\n  ")
    want = [r for r in RECS if r.status == "proposal"]
    assert len(got) == len(want)
    assert sorted(got["name"].fillna("")) == sorted(r.name or "" for r in want)
    for url in fetched:  # any filter GDAL does send must be one this server understands
        if "filter=" in url:
            assert "filter-lang=cql2" in url


def test_owslib_sends_cql2_text(served_plans: str) -> None:
    base = served_plans.rsplit("/collections/", 1)[0]
    api = Features(base)
    queryables = api.collection_queryables("plans")
    assert {"geometry", "name", "status", "built"} <= set(queryables["properties"])
    text = "ACCENTI(CASEI(name)) LIKE ACCENTI(CASEI('hameen%')) AND status IS NOT NULL"
    body = api.collection_items("plans", filter=text, limit=100)
    want = {r.id for r in RECS if r.name and fold(r.name).startswith("hameen") and r.status}
    assert {f["id"] for f in body["features"]} == want
    assert body["numberMatched"] == len(want)
