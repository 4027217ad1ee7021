"""``datetime`` on items: instants, intervals and open ends against the temporal property,
announced as the collection's temporal extent (OGC API - Features /req/core/fc-time-*)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import assert_problem
from webmap.layers import import_file
from webmap.problems import ImportFailed
from webmap.services import services_of

SEEN = ["2024-01-01T10:00:00Z", "2024-03-15T23:30:00Z", "2024-03-16T00:30:00+02:00",
        "2024-07-01T12:00:00Z", None]
BUILT = ["1990-05-01", "2001-01-01", "2015-06-30", "2024-03-16", "2030-12-31"]


def _write(path: Path) -> Path:
    features = [{"type": "Feature", "properties": {
        "name": f"n{i}", "built": built, "seen": seen},
        "geometry": {"type": "Point", "coordinates": [24.9 + i / 100, 60.1]}}
        for i, (built, seen) in enumerate(zip(BUILT, SEEN, strict=True))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def names(client: Any, layer: str, value: str) -> set[str]:
    response = client.get(f"/collections/{layer}/items?datetime={value}&limit=100")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {f["properties"]["name"] for f in response.get_json()["features"]}


@pytest.fixture
def timed(app: Any, tmp_path: Path) -> str:
    source = _write(tmp_path / "timed.geojson")
    layers = services_of(app).layers
    import_file(layers, source, "seen", time_field="seen")
    import_file(layers, source, "built")
    return "seen"


def test_datetime_property_instants_intervals_and_open_ends(client: Any, timed: str) -> None:
    body = client.get("/collections/seen").get_json()
    assert body["temporalProperty"] == "seen"
    assert body["extent"]["temporal"]["interval"] == [["2024-01-01T10:00:00Z",
                                                       "2024-07-01T12:00:00Z"]]
    assert names(client, "seen", "2024-01-01T10:00:00Z") == {"n0"}
    assert names(client, "seen", "2024-03-15") == {"n1", "n2"}, "a date is the whole UTC day"
    assert names(client, "seen", "2024-03-15T23:00:00Z/2024-03-16T00:00:00Z") == {"n1"}
    assert names(client, "seen", "2024-03-01/..") == {"n1", "n2", "n3"}
    assert names(client, "seen", "../2024-03-15") == {"n0", "n1", "n2"}
    assert names(client, "seen", "/2024-01-31") == {"n0"}


def test_first_date_property_is_the_default(client: Any, timed: str) -> None:
    body = client.get("/collections/built").get_json()
    assert body["temporalProperty"] == "built", "the first date or datetime attribute"
    assert body["extent"]["temporal"]["interval"] == [["1990-05-01", "2030-12-31"]]
    assert names(client, "built", "2015-06-30") == {"n2"}
    assert names(client, "built", "2001-01-01T12:00:00Z/2024-03-16") == {"n1", "n2", "n3"}
    assert names(client, "built", "2025-01-01/..") == {"n4"}
    combined = client.get("/collections/built/items?datetime=2000-01-01/..&name=n3")
    assert [f["properties"]["name"] for f in combined.get_json()["features"]] == ["n3"]


def test_bad_datetimes_are_400(client: Any, timed: str, add_layer: Any) -> None:
    for value in ("yesterday", "../..", "2024-05-01/2024-01-01", "2024-13-01", "a/b/c"):
        body = assert_problem(client.get(f"/collections/seen/items?datetime={value}"), 400)
        assert body["parameter"] == "datetime"
    add_layer("untimed")
    assert_problem(client.get("/collections/untimed/items?datetime=2024-01-01"), 400,
                   mentions="no date or datetime")
    assert "temporal" not in client.get("/collections/untimed").get_json()["extent"]


def test_time_field_must_be_a_date_attribute(app: Any, tmp_path: Path) -> None:
    source = _write(tmp_path / "timed.geojson")
    with pytest.raises(ImportFailed, match="holds string"):
        import_file(services_of(app).layers, source, "x", time_field="name")
    with pytest.raises(ImportFailed, match="no such attribute"):
        import_file(services_of(app).layers, source, "x", time_field="nope")


def test_api_documents_datetime(client: Any, timed: str) -> None:
    doc = client.get("/api").get_json()
    assert "datetime" in doc["components"]["parameters"]
    refs = [p.get("$ref", "") for p in doc["paths"]["/collections/seen/items"]["get"]
            ["parameters"]]
    assert "#/components/parameters/datetime" in refs


def test_owslib_datetime_reaches_the_server(timed: str, live_server: Any) -> None:
    from owslib.ogcapi.features import Features

    api = Features(live_server.url)
    body = api.collection_items("seen", datetime_="2024-03-01/..", limit=100)
    assert {f["properties"]["name"] for f in body["features"]} == {"n1", "n2", "n3"}
