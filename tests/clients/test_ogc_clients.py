"""Real clients on a live server: GDAL's OGC API Features driver (via pyogrio) and OWSLib."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyogrio
import pytest
import requests
import shapely
from owslib.ogcapi.features import Features

from tests.conftest import LiveServer, make_buildings


@pytest.fixture
def served(add_layer: Any, live_server: LiveServer) -> tuple[str, Any]:
    """A 1,234-building layer on a live server; returns (base URL, frame in CRS84)."""
    frame = make_buildings(1234)
    add_layer("buildings", frame, title="Rakennukset – byggnader")
    return live_server.url, frame


def test_gdal_reads_every_feature_once(served: tuple[str, Any]) -> None:
    url, frame = served
    got = pyogrio.read_dataframe(f"OAPIF:{url}/collections/buildings", fid_as_index=True)
    assert len(got) == len(frame)
    # GDAL keeps the server's ids as fids when they are integers
    assert sorted(got.index) == list(range(1, 1235))
    got = got.sort_index()
    assert list(got["name"]) == list(frame["name"])
    assert list(got["floors"]) == list(frame["floors"])
    assert shapely.equals_exact(got.geometry.values, frame.geometry.values, tolerance=1e-8).all()


def test_gdal_pages_with_large_page_size(served: tuple[str, Any]) -> None:
    url, frame = served
    got = pyogrio.read_dataframe(f"OAPIF:{url}/collections/buildings", PAGE_SIZE="500")
    assert len(got) == len(frame)
    assert got["name"].is_unique


def test_gdal_bbox_filter(served: tuple[str, Any]) -> None:
    url, frame = served
    box = (24.94, 60.16, 24.96, 60.175)
    expected = shapely.intersects(frame.geometry.values, shapely.box(*box)).sum()
    got = pyogrio.read_dataframe(f"OAPIF:{url}/collections/buildings", bbox=box)
    assert len(got) == expected > 0


def test_gdal_asks_for_a_national_crs(served: tuple[str, Any]) -> None:
    url, frame = served
    got = pyogrio.read_dataframe(f"OAPIF:{url}/collections/buildings", CRS="EPSG:3067")
    info = pyogrio.read_info(f"OAPIF:{url}/collections/buildings", CRS="EPSG:3067")
    assert "3067" in info["crs"]
    expected = frame.to_crs("EPSG:3067")
    got = got.set_index(np.arange(len(got)))
    by_name = expected.set_index("name")
    diffs = [shapely.hausdorff_distance(g, by_name.loc[n].geometry)
             for n, g in zip(got["name"], got.geometry, strict=True)]
    assert max(diffs) < 0.01


def test_owslib_features(served: tuple[str, Any]) -> None:
    url, frame = served
    api = Features(url)
    assert "buildings" in [c["id"] for c in api.collections()["collections"]]
    assert api.collection("buildings")["title"] == "Rakennukset – byggnader"
    seen: list[int] = []
    offset = 0
    while True:
        page = api.collection_items("buildings", limit=200, offset=offset)
        seen += [f["id"] for f in page["features"]]
        offset += page["numberReturned"]
        if page["numberReturned"] < 200:
            break
    assert sorted(seen) == list(range(1, 1235))
    one = api.collection_item("buildings", "5")
    assert one["properties"]["name"] == frame["name"].iloc[4]
    assert api.conformance()["conformsTo"]


def test_next_links_are_absolute_and_followable(served: tuple[str, Any]) -> None:
    url, _ = served
    seen = []
    next_url = f"{url}/collections/buildings/items?limit=300"
    while next_url:
        body = requests.get(next_url, timeout=30).json()
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        assert all(h.startswith(url) for h in nxt)
        next_url = nxt[0] if nxt else ""
    assert sorted(seen) == list(range(1, 1235))
