"""Two webmap servers, one PostGIS and one Redis: what one host changes the other serves at
once, comments posted to both are stored once each, and the rate limit counts across both."""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import mapbox_vector_tile
import morecantile
import pytest
import requests
import shapely

from tests.comments.conftest import PLAN_LAYER
from tests.conftest import make_buildings
from tests.scale.conftest import (
    HTTP_TIMEOUT_S,
    Region,
    client_address,
    exported,
    post_comment,
)

pytestmark = pytest.mark.postgis

WMQ = morecantile.tms.get("WebMercatorQuad")
PER_SERVER = 30


def get(url: str, **kwargs: object) -> requests.Response:
    """GET that never hangs."""
    return requests.get(url, timeout=HTTP_TIMEOUT_S, **kwargs)  # type: ignore[arg-type]


def geojson(n: int, label: str) -> bytes:
    """``n`` buildings named ``label 1`` … as an RFC 7946 GeoJSON upload (CRS84, no crs)."""
    frame = make_buildings(n, seed=7)
    features = [{"type": "Feature", "properties": {"name": f"{label} {i}", "floors": int(f)},
                 "geometry": json.loads(shapely.to_geojson(g))}
                for i, (g, f) in enumerate(zip(frame.geometry, frame["floors"], strict=True),
                                           start=1)]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode("utf-8")


def versions(region: Region) -> list[str]:
    """The plan layer's version as each server's staff API lists it."""
    found = []
    for server in region.servers:
        listed = get(f"{server.url}/admin/api/layers", headers=region.auth).json()["layers"]
        found += [layer["version"] for layer in listed if layer["id"] == PLAN_LAYER]
    return found


def tile_path(region: Region) -> str:
    """A z14 tile over the middle of the plan layer."""
    minx, miny, maxx, maxy = get(f"{region.servers[0].url}/collections/{PLAN_LAYER}"
                                 ).json()["extent"]["spatial"]["bbox"][0]
    tile = WMQ.tile((minx + maxx) / 2, (miny + maxy) / 2, 14)
    return f"/collections/{PLAN_LAYER}/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"


def names_in_tile(response: requests.Response) -> set[str]:
    decoded = mapbox_vector_tile.decode(response.content)
    return {str(f["properties"]["name"]) for f in decoded[PLAN_LAYER]["features"]}


def test_a_layer_replaced_through_one_server_is_served_by_the_other(region: Region) -> None:
    one, other = region.servers
    path = tile_path(region)
    before_tile = get(other.url + path)
    assert before_tile.status_code == 200
    assert {n.split()[0] for n in names_in_tile(before_tile)} == {"vanha"}
    old_version = set(versions(region))
    assert len(old_version) == 1

    label = f"uusi-{uuid.uuid4().hex[:6]}"
    replaced = requests.put(f"{one.url}/admin/api/layers/{PLAN_LAYER}", headers=region.auth,
                            files={"file": ("alueet.geojson", io.BytesIO(geojson(35, label)))},
                            timeout=120)
    assert replaced.status_code == 200, replaced.text[:500]
    assert replaced.json()["report"]["feature_count"] == 35

    # the other host answers from the new version on its very next request
    items = get(f"{other.url}/collections/{PLAN_LAYER}/items", params={"limit": 100}).json()
    assert items["numberMatched"] == 35
    assert {f["properties"]["name"] for f in items["features"]} == {
        f"{label} {i}" for i in range(1, 36)}
    new_version = set(versions(region))
    assert len(new_version) == 1 and new_version != old_version
    after_tile = get(other.url + path)
    assert after_tile.status_code == 200
    assert after_tile.headers["ETag"] != before_tile.headers["ETag"]
    assert names_in_tile(after_tile) and all(n.startswith(label)
                                             for n in names_in_tile(after_tile))


def test_comments_posted_to_both_servers_in_parallel_are_stored_once(region: Region) -> None:
    tag = f"rinnakkain-{uuid.uuid4().hex[:8]}"
    texts = [f"{tag} {i}" for i in range(2 * PER_SERVER)]

    def send(i: int) -> tuple[str, int, str]:
        response = post_comment(region.servers[i % 2], texts[i])
        return texts[i], response.status_code, response.json().get("id", "")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(len(texts))))
    assert [status for _, status, _ in results] == [201] * len(texts), results
    accepted = {text: comment_id for text, _, comment_id in results}
    assert len(set(accepted.values())) == len(texts)

    for server in region.servers:  # either host's export holds every comment, once
        mine = [f for f in exported(server, region.auth)
                if f["properties"]["text"].startswith(tag + " ")]
        assert Counter(f["properties"]["text"] for f in mine) == Counter(texts)
        assert {f["properties"]["text"]: f["id"] for f in mine} == accepted


def test_the_rate_limit_counts_posts_to_both_servers(region: Region) -> None:
    one, other = region.servers
    address = client_address()
    spread = [post_comment(server, f"raja {i}", address=address).status_code
              for i, server in enumerate((one, other, one, other, one))]
    assert spread == [201] * 5
    for server in (one, other):
        refused = post_comment(server, "kuudes", address=address)
        assert refused.status_code == 429, refused.text[:300]
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert post_comment(other, "toinen asukas").status_code == 201, "others are not limited"


def test_gevent_workers_answer_many_reads_at_once_as_they_answer_one(region: Region) -> None:
    one, other = region.servers
    one.log.seek(0)
    assert "Using worker: gevent" in one.log.read().decode("utf-8", "replace")
    minx, miny, maxx, maxy = get(f"{one.url}/collections/{PLAN_LAYER}"
                                 ).json()["extent"]["spatial"]["bbox"][0]
    tiles = [t for z in (13, 14, 15, 16) for t in WMQ.tiles(minx, miny, maxx, maxy, [z])]
    paths = [f"/collections/{PLAN_LAYER}/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}"
             for t in tiles]
    paths += [f"/collections/{PLAN_LAYER}/items?limit=3&offset={i}" for i in range(12)]
    paths += [f"/collections/{PLAN_LAYER}/items?bbox={minx},{miny},{(minx + maxx) / 2},"
              f"{(miny + maxy) / 2}"]
    assert len(paths) >= 30

    def body(url: str) -> tuple[int, object]:
        """The tile's bytes, or the page's features (its links name the host)."""
        response = get(url)
        if "/items" in url:
            return response.status_code, response.json()["features"]
        return response.status_code, response.content

    # one host draws them all at once (16 connections), the other one by one: same answers
    with ThreadPoolExecutor(max_workers=16) as pool:
        together = list(pool.map(body, [one.url + p for p in paths * 2]))
    alone = [body(other.url + p) for p in paths]
    assert {status for status, _ in together} <= {200, 204}  # 204: a tile with no building
    assert sum(1 for status, content in together if status == 200 and content) >= 20
    assert together == alone * 2
