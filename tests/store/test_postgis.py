"""The PostGIS backend beyond the shared API suite: atomic replace, import conflicts, a lost
database as 503, and tiles that match the embedded backend's."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import morecantile
import pytest
from psycopg import sql

from tests.conftest import assert_problem, close_app, make_buildings, open_app
from webmap.database import PostgresDatabase, SqliteDatabase
from webmap.database import postgres as database
from webmap.problems import Conflict
from webmap.settings import Settings
from webmap.store.gpkg import GpkgStore
from webmap.store.postgis import PostgisStore
from webmap.tiles.grids import GRIDS
from webmap.tiles.request import TileRequest
from webmap.types import ImportReport, ItemQuery, LayerKind, NormalisedLayer

pytestmark = pytest.mark.postgis


def layer(frame: Any, layer_id: str = "buildings") -> NormalisedLayer:
    report = ImportReport(layer_id=layer_id, kind=LayerKind.VECTOR, title=layer_id,
                          feature_count=len(frame), source_crs="EPSG:3067",
                          bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                          geometry_type="Polygon")
    return NormalisedLayer(report=report, frame=frame)


@pytest.fixture
def store(postgis_url: str, tmp_path: Path) -> Any:
    db = PostgresDatabase(postgis_url)
    yield PostgisStore(db, tmp_path / "pg")
    db.close()


def tables(store: PostgisStore) -> set[str]:
    with store.database.pool.connection() as conn:
        return {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND tablename LIKE 'layer%%'")}


def test_layer_table_shape(store: PostgisStore) -> None:
    store.import_layer("b-1", lambda _: layer(make_buildings(20), "b-1"))
    (table,) = tables(store)
    assert table.startswith("layer_b_1_")
    with store.database.pool.connection() as conn:
        srid, = conn.execute("SELECT Find_SRID(current_schema()::text, %s, 'geom')",
                             (table,)).fetchone()
        index, = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s"
                              " AND indexdef LIKE '%%gist%%'", (table,)).fetchone()
        fids = [r[0] for r in conn.execute(
            sql.SQL("SELECT fid FROM {} ORDER BY fid").format(sql.Identifier(table)))]
    assert srid == 4326 and "(geom)" in index
    assert fids == list(range(1, 21))
    assert store.layer("b-1").source_crs == "EPSG:3067"


def test_replace_is_atomic_for_readers(store: PostgisStore) -> None:
    old, new = make_buildings(300), make_buildings(120, seed=1)
    old["name"], new["name"] = "old", "new"
    store.import_layer("buildings", lambda _: layer(old))
    seen: list[tuple[int, frozenset[str], int | None]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                page = store.items(store.layer("buildings"), ItemQuery(limit=1000))
                seen.append((len(page.ids), frozenset(p["name"] for p in page.properties),
                             page.number_matched))
        except BaseException as exc:  # reported below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    try:
        for i in range(6):
            frame = new if i % 2 == 0 else old
            store.import_layer("buildings", lambda _, f=frame: layer(f))
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert not errors, errors
    assert set(seen) <= {(300, frozenset({"old"}), 300), (120, frozenset({"new"}), 120)}
    assert len(tables(store)) == 1, "replaced tables are dropped"


def test_concurrent_import_of_the_same_id_conflicts(store: PostgisStore, postgis_url: str,
                                                    tmp_path: Path) -> None:
    other_db = PostgresDatabase(postgis_url)
    other = PostgisStore(other_db, tmp_path / "other")  # another worker
    outcomes: list[str] = []

    def importer(_: Path) -> NormalisedLayer:
        for rival in (store, other):
            with pytest.raises(Conflict):
                rival.import_layer("buildings", lambda _: layer(make_buildings(5)))
            outcomes.append("conflict")
        other.import_layer("roads", lambda _: layer(make_buildings(5), "roads"))  # other ids go
        return layer(make_buildings(50))

    try:
        store.import_layer("buildings", importer)
    finally:
        other_db.close()
    assert outcomes == ["conflict", "conflict"]
    assert store.layer("buildings").feature_count == 50
    assert store.layer("roads").feature_count == 5


def test_failed_import_leaves_the_old_version(store: PostgisStore) -> None:
    store.import_layer("buildings", lambda _: layer(make_buildings(30)))
    before = tables(store)

    def broken(_: Path) -> NormalisedLayer:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.import_layer("buildings", broken)
    assert tables(store) == before
    assert store.items(store.layer("buildings"), ItemQuery(limit=100)).number_matched == 30


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_database_is_503_with_retry_after(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "POOL_TIMEOUT_S", 0.5)
    url = f"postgresql://webmap:webmap@127.0.0.1:{closed_port()}/webmap_test?connect_timeout=1"
    app = open_app(Settings(data_dir=tmp_path / "data", database_url=url))
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        for path in ("/readyz", "/collections", "/collections/x/items",
                     "/collections/x/tiles/WebMercatorQuad/3/1/1"):
            response = client.get(path)
            assert_problem(response, 503)
            assert response.headers["Retry-After"] == "5"
    finally:
        close_app(app)


def test_backend_is_reported(client: Any, settings: Settings) -> None:
    want = "postgis" if settings.database_url else "geopackage"
    assert client.get("/readyz").get_json()["backend"] == want


WMQ = morecantile.tms.get("WebMercatorQuad")


def test_tiles_match_the_embedded_backend(store: PostgisStore, tmp_path: Path) -> None:
    frame = make_buildings(800, span_m=3_000)
    embedded = GpkgStore(SqliteDatabase(tmp_path / "gpkg"), tmp_path / "gpkg")
    for backend in (store, embedded):
        backend.import_layer("buildings", lambda _: layer(frame))
    centre = frame.geometry.union_all().centroid
    compared = 0
    for grid_id, zoom in (("WebMercatorQuad", 13), ("WebMercatorQuad", 15),
                          ("WebMercatorQuad", 17), ("ETRS-TM35FIN", 10), ("ETRS-TM35FIN", 12)):
        grid = GRIDS[grid_id]
        t = grid.tile(centre.x, centre.y, zoom)
        for dx, dy in ((0, 0), (1, 0), (0, 1)):
            request = TileRequest(grid=grid, zoom=zoom, row=t.y + dy, col=t.x + dx)
            ours, theirs = (backend.vector_tile(backend.layer("buildings"), request)
                            for backend in (store, embedded))
            assert bool(ours) == bool(theirs), (grid_id, zoom, dx, dy)
            if not ours:
                continue
            a = {f["id"]: f["properties"] for f in
                 mapbox_vector_tile.decode(ours)["buildings"]["features"]}
            b = {f["id"]: f["properties"] for f in
                 mapbox_vector_tile.decode(theirs)["buildings"]["features"]}
            assert set(a) == set(b), (grid_id, zoom, dx, dy, set(a) ^ set(b))
            assert a == b
            compared += 1
    assert compared >= 8
