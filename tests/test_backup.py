"""export-all / import-all: every layer round-trips, on both backends and from one to the other."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner, Result

from tests.conftest import ROOT, make_buildings
from tests.test_cli import assert_one_error_line
from webmap.backup import export_all, import_all
from webmap.cli import main
from webmap.comments.service import Comment, Submission
from webmap.crs import transform_geometries
from webmap.services import Services, open_services, services_of
from webmap.settings import Settings
from webmap.store.base import Store
from webmap.types import ItemQuery, LayerKind

TOLERANCE_M = 0.001


def buildings() -> gpd.GeoDataFrame:
    """The builders' buildings plus a date and an integer column with gaps."""
    frame = make_buildings(120)
    frame["built"] = [date(1900 + i % 120, 1 + i % 12, 1 + i % 28) for i in range(len(frame))]
    frame["storeys"] = pd.array([None if i % 5 == 0 else i for i in range(len(frame))],
                                dtype="Int64")
    return frame


def features(store: Store, layer_id: str) -> tuple[list[int], Any, list[dict[str, Any]]]:
    """Every feature of a layer in fid order, read page by page."""
    ids: list[int] = []
    geoms: list[Any] = []
    props: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        page = store.items(store.layer(layer_id), ItemQuery(limit=50, after=after))
        ids += page.ids
        geoms += list(page.geometries)
        props += page.properties
        if page.next_after is None:
            return ids, np.asarray(geoms, dtype=object), props
        after = page.next_after


def plain(props: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Property dicts with dates as ISO text (GeoPackage returns text, PostGIS date objects)."""
    return [{k: v.isoformat() if isinstance(v, date) else v for k, v in p.items()}
            for p in props]


def assert_same_layers(before: Store, after: Store) -> None:
    """Same ids, titles, source CRSs, counts, fields, attributes, geometries (1 mm), pixels."""
    old = {info.id: info for info in before.layers()}
    new = {info.id: info for info in after.layers()}
    assert sorted(new) == sorted(old)
    for layer_id, info in old.items():
        restored = new[layer_id]
        for name in ("kind", "title", "description", "attribution", "source_crs",
                     "feature_count", "geometry_type", "fields"):
            assert getattr(restored, name) == getattr(info, name), (layer_id, name)
        if info.kind is LayerKind.RASTER:
            assert_same_pixels(before.raster_path(info), after.raster_path(restored))
            continue
        old_ids, old_geoms, old_props = features(before, layer_id)
        new_ids, new_geoms, new_props = features(after, layer_id)
        assert new_ids == old_ids == list(range(1, info.feature_count + 1))
        assert plain(new_props) == plain(old_props)  # fid order kept: row by row
        a = transform_geometries(old_geoms, "CRS84", "EPSG:3067")
        b = transform_geometries(new_geoms, "CRS84", "EPSG:3067")
        assert float(shapely.hausdorff_distance(a, b).max()) < TOLERANCE_M


def assert_same_pixels(a: Path, b: Path) -> None:
    """Same CRS, grid and pixel values."""
    with rasterio.open(a) as one, rasterio.open(b) as two:
        assert one.crs == two.crs
        assert one.transform.almost_equals(two.transform)
        assert (one.width, one.height, one.count) == (two.width, two.height, two.count)
        assert np.array_equal(one.read(), two.read())


@pytest.fixture
def filled(app: Any, add_layer: Any, add_raster: Any) -> Store:
    """The store with two vector layers (polygons from EPSG:3067, points from GK25) and a
    raster, with titles, descriptions and attributions."""
    store: Store = services_of(app).layers
    add_layer("rakennukset", buildings(), title="Rakennukset – byggnader")
    points = make_buildings(30, seed=1)
    points = points.set_geometry(points.geometry.to_crs("EPSG:3067").centroid.to_crs(
        "OGC:CRS84"))
    add_layer("pisteet", points, source_crs="EPSG:3879", title="Pisteet")
    add_raster("ortokuva")
    return store


def test_round_trip_on_the_same_backend(settings: Settings, filled: Store, tmp_path: Path,
                                        make_services: Callable[[Settings], Services]
                                        ) -> None:
    manifest = export_all(filled, tmp_path / "export")
    assert manifest["format"] == "webmap-export" and manifest["version"] == 1
    assert manifest["maps"] == [] and manifest["comments"] == []
    assert [e["id"] for e in manifest["layers"]] == ["ortokuva", "pisteet", "rakennukset"]
    written = json.loads((tmp_path / "export" / "manifest.json").read_text(encoding="utf-8"))
    assert written["layers"] == manifest["layers"]
    entry = {e["id"]: e for e in manifest["layers"]}["rakennukset"]
    assert entry == entry | {"kind": "vector", "title": "Rakennukset – byggnader",
                             "source_crs": "EPSG:3067", "feature_count": 120,
                             "file": "layers/rakennukset.gpkg"}

    # A fresh data folder; on PostGIS the same (emptied) schema, since the catalogue is there.
    before = Settings(data_dir=tmp_path / "before", layers_dir=ROOT / "layers")
    reference = make_services(before).layers
    import_all(reference, tmp_path / "export")
    for info in filled.layers():
        filled.remove_layer(info.id)
    restored_settings = Settings(data_dir=tmp_path / "restored", layers_dir=ROOT / "layers",
                                 database_url=settings.database_url)
    restored = make_services(restored_settings).layers
    reports = import_all(restored, tmp_path / "export")
    assert [r.layer_id for r in reports] == ["ortokuva", "pisteet", "rakennukset"]
    assert_same_layers(reference, restored)


def test_round_trip_keeps_what_the_store_had(filled: Store, tmp_path: Path,
                                             make_services: Callable[[Settings], Services]
                                             ) -> None:
    export_all(filled, tmp_path / "export")
    restored = make_services(Settings(data_dir=tmp_path / "restored",
                                      layers_dir=ROOT / "layers")).layers
    import_all(restored, tmp_path / "export")
    assert_same_layers(filled, restored)


def test_exported_geopackage_opens_with_the_right_crs(settings: Settings, filled: Store,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("webmap.backup.PAGE_SIZE", 7)  # many appended pages, a short last one
    export_all(filled, tmp_path / "export")
    path = tmp_path / "export" / "layers" / "rakennukset.gpkg"
    info = pyogrio.read_info(path)
    assert pyogrio.list_layers(path).tolist() == [["rakennukset", "Polygon"]]
    assert info["crs"] == "EPSG:4326"
    assert info["features"] == 120
    frame = pyogrio.read_dataframe(path, fid_as_index=True)
    assert frame.index.tolist() == list(range(1, 121))
    types = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert types == {"name": "object", "floors": "int64", "area": "float64", "listed": "bool",
                     "note": "object", "built": "datetime64[D]", "storeys": "int64"}
    source = buildings()
    assert frame["name"].tolist() == source["name"].tolist()
    assert frame["storeys"].isna().sum() == 24
    assert shapely.hausdorff_distance(
        transform_geometries(np.asarray(frame.geometry.values, dtype=object), "CRS84",
                             "EPSG:3067"),
        transform_geometries(np.asarray(source.geometry.values, dtype=object), "CRS84",
                             "EPSG:3067")).max() < TOLERANCE_M
    raster = tmp_path / "export" / "layers" / "ortokuva.tif"
    with rasterio.open(raster) as ds:
        assert ds.crs.to_epsg() == 3067


def env_for(settings: Settings) -> dict[str, str]:
    """WEBMAP_* for the CLI on these settings."""
    return {"WEBMAP_DATA_DIR": str(settings.data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers"),
            "WEBMAP_DATABASE_URL": settings.database_url or "", "WEBMAP_LOG_LEVEL": "WARNING"}


def run(settings: Settings, *args: str | Path) -> Result:
    """``webmap *args`` in-process on ``settings``."""
    return CliRunner().invoke(main, [str(a) for a in args], env=env_for(settings),
                              catch_exceptions=False)


def test_cli_export_then_import(settings: Settings, filled: Store, tmp_path: Path) -> None:
    result = run(settings, "export-all", tmp_path / "export")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == ["exported ortokuva: raster from EPSG:3067 to layers/ortokuva.tif",
                     "exported pisteet: vector, 30 features from EPSG:3879 to layers/pisteet.gpkg",
                     "exported rakennukset: vector, 120 features from EPSG:3067 to "
                     "layers/rakennukset.gpkg"]
    target = Settings(data_dir=tmp_path / "restored", layers_dir=ROOT / "layers")
    result = run(target, "import-all", tmp_path / "export")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "imported ortokuva: raster, 0 features from EPSG:3067",
        "imported pisteet: vector, 30 features from EPSG:3879",
        "imported rakennukset: vector, 120 features from EPSG:3067"]
    listed = run(target, "layers", "list").stdout.splitlines()
    assert [line.split("\t")[:4] for line in listed] == [
        ["ortokuva", "raster", "0", "EPSG:3067"], ["pisteet", "vector", "30", "EPSG:3879"],
        ["rakennukset", "vector", "120", "EPSG:3067"]]


def test_export_into_a_non_empty_folder_fails(settings: Settings, filled: Store,
                                              tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "old.txt").write_text("keep me", encoding="utf-8")
    assert_one_error_line(run(settings, "export-all", folder), "not empty")
    assert sorted(p.name for p in folder.iterdir()) == ["old.txt"]


def test_import_of_a_folder_without_manifest_fails(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert_one_error_line(run(settings, "import-all", tmp_path / "empty"), "manifest.json")


@pytest.mark.postgis
@pytest.mark.parametrize("settings", ["gpkg"], indirect=True)
def test_export_from_geopackage_import_into_postgis(
        filled: Store, postgis_url: str, tmp_path: Path,
        make_services: Callable[[Settings], Services]) -> None:
    """The way from the embedded default to PostGIS (skips without the test database)."""
    export_all(filled, tmp_path / "export")
    target = Settings(data_dir=tmp_path / "pg-data", layers_dir=ROOT / "layers",
                      database_url=postgis_url)
    result = run(target, "import-all", tmp_path / "export")
    assert result.exit_code == 0, result.stderr
    postgis = make_services(target)
    assert postgis.backend == "postgis"
    assert_same_layers(filled, postgis.layers)


PUBLISHED = {
    "id": "kaava-ehdotus", "title": {"fi": "Kaavaehdotus", "sv": "Planförslag"},
    "extent": [24.93, 60.16, 24.96, 60.18], "languages": ["fi", "sv"],
    "base": {"type": "rendered", "basemap": "helsinki"},
    "layers": [{"layer": "rakennukset", "style": "districts", "plan": True, "label": "name"}],
    "consultation": {"opens": "2026-01-01T00:00:00+02:00", "geometry": ["point", "line",
                                                                         "area", "feature"]},
    "origins": ["https://e-palvelu.example.fi"],
}
GEOMETRIES = [
    '{"type":"Point","coordinates":[24.941234567891232,60.17]}',
    '{"type":"LineString","coordinates":[[24.94,60.17],[24.95,60.171]]}',
    '{"type":"Polygon","coordinates":[[[24.94,60.17],[24.95,60.17],[24.95,60.175],'
    '[24.94,60.17]]]}',
    None,
]


@pytest.fixture
def with_maps_and_comments(app: Any, filled: Store) -> list[Comment]:
    """A published map and comments on it and on a file map: every status, personal data,
    idempotency keys, each geometry kind and a plan-feature comment without geometry."""
    services_of(app).maps.publish(PUBLISHED, check=False)
    storage = services_of(app).comments.storage
    made: list[Comment] = []
    for i, geometry in enumerate(GEOMETRIES * 2):
        comment, _ = storage.add(Submission(
            map_id="kaava-ehdotus" if i < 6 else "helsinki-keskusta",
            text=f"Kommentti {i}: =puisto, ÅÄÖ åäö", language=("fi", "sv")[i % 2],
            geometry=geometry,
            feature_collection="rakennukset" if geometry is None else None,
            feature_id=str(i + 1) if geometry is None else None,
            name="Matti Meikäläinen" if i % 3 == 0 else None,
            email=f"asukas{i}@example.fi" if i % 2 == 0 else None,
            idempotency_key=f"key-{i}" if i != 5 else None))
        status = ("pending", "published", "hidden")[i % 3]
        made.append(storage.set_status(comment.id, status) if status != "pending" else comment)
    return made


def stored_comments(settings: Settings) -> list[Comment]:
    """Every comment the settings' storage holds, by map and id."""
    with open_services(settings) as services:
        storage = services.comments.storage
        return sorted((c for map_id in storage.map_ids() for c in storage.list(map_id)),
                      key=lambda c: (c.map_id, c.id))


def published_maps(settings: Settings) -> dict[str, Any]:
    """id -> the published document."""
    with open_services(settings) as services:
        return {m.id: m.definition for m in services.maps.published()}


def test_export_and_import_maps_and_comments(settings: Settings, filled: Store,
                                             with_maps_and_comments: list[Comment],
                                             tmp_path: Path) -> None:
    result = run(settings, "export-all", tmp_path / "export")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[3:] == [
        "exported map kaava-ehdotus to maps/kaava-ehdotus.json",
        "exported 2 comments on helsinki-keskusta to comments/helsinki-keskusta.gpkg",
        "exported 6 comments on kaava-ehdotus to comments/kaava-ehdotus.gpkg"]
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text(encoding="utf-8"))
    assert [(e["id"], e["file"]) for e in manifest["maps"]] == [
        ("kaava-ehdotus", "maps/kaava-ehdotus.json")]
    assert [(e["map"], e["count"]) for e in manifest["comments"]] == [
        ("helsinki-keskusta", 2), ("kaava-ehdotus", 6)]
    exported = json.loads((tmp_path / "export" / "maps" / "kaava-ehdotus.json").read_text(
        encoding="utf-8"))
    assert exported == PUBLISHED
    gpkg = tmp_path / "export" / "comments" / "kaava-ehdotus.gpkg"
    assert pyogrio.read_info(gpkg)["crs"] == "EPSG:4326"

    target = Settings(data_dir=tmp_path / "restored", layers_dir=ROOT / "layers")
    result = run(target, "import-all", tmp_path / "export")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[3:] == [
        "imported map kaava-ehdotus", "imported 2 comments on helsinki-keskusta",
        "imported 6 comments on kaava-ehdotus"]
    assert published_maps(target) == {"kaava-ehdotus": PUBLISHED}
    assert stored_comments(target) == stored_comments(settings)
    assert sorted(c.id for c in stored_comments(target)) == sorted(
        c.id for c in with_maps_and_comments)

    again = run(target, "import-all", tmp_path / "export")  # nothing doubles
    assert again.stdout.splitlines()[3:] == [
        "imported map kaava-ehdotus (replaced)",
        "imported 0 comments on helsinki-keskusta (2 were there already)",
        "imported 0 comments on kaava-ehdotus (6 were there already)"]
    assert len(stored_comments(target)) == 8


def test_a_restored_map_a_file_now_defines_is_left_to_the_file(
        settings: Settings, filled: Store, with_maps_and_comments: list[Comment],
        tmp_path: Path) -> None:
    run(settings, "export-all", tmp_path / "export")
    layers = tmp_path / "layers"
    shutil.copytree(ROOT / "layers" / "maps", layers / "maps")
    (layers / "maps" / "kaava-ehdotus.json").write_text(json.dumps(PUBLISHED), encoding="utf-8")
    target = Settings(data_dir=tmp_path / "restored", layers_dir=layers)
    result = CliRunner().invoke(main, ["import-all", str(tmp_path / "export")],
                                env={**env_for(target), "WEBMAP_LAYERS_DIR": str(layers)})
    assert result.exit_code == 0, result.stderr
    assert "skipped map kaava-ehdotus: map 'kaava-ehdotus' is defined in " \
        "layers/maps/kaava-ehdotus.json; edit the file" in result.stdout
    assert published_maps(target) == {}


@pytest.mark.postgis
@pytest.mark.parametrize("settings", ["gpkg"], indirect=True)
def test_everything_moves_from_the_embedded_default_to_postgis(
        settings: Settings, filled: Store, with_maps_and_comments: list[Comment],
        postgis_url: str, tmp_path: Path) -> None:
    """Layers (count, attributes, geometry to 1 mm), published maps and comments (ids, texts,
    statuses, times, personal data) survive export-all on GeoPackage, import-all on PostGIS."""
    assert run(settings, "export-all", tmp_path / "export").exit_code == 0
    target = Settings(data_dir=tmp_path / "pg-data", layers_dir=ROOT / "layers",
                      database_url=postgis_url)
    result = run(target, "import-all", tmp_path / "export")
    assert result.exit_code == 0, result.stderr
    with open_services(target) as postgis:
        assert_same_layers(filled, postgis.layers)
    assert published_maps(target) == {"kaava-ehdotus": PUBLISHED}
    moved = stored_comments(target)
    assert moved == stored_comments(settings)
    assert [(c.id, c.text, c.status) for c in moved] == [
        (c.id, c.text, c.status) for c in sorted(with_maps_and_comments,
                                                 key=lambda c: (c.map_id, c.id))]


def test_a_backup_keeps_feature_ids_with_gaps_and_the_id_attribute(
        tmp_path: Path, make_services: Any) -> None:
    """After a replacement ids have gaps; a restore keeps them, so comments still point right."""
    from webmap.layers import import_file

    def plan(name: str, keys: list[str]) -> Path:
        features = [{"type": "Feature", "properties": {"tunnus": k, "nimi": f"Alue {k}"},
                     "geometry": {"type": "Point", "coordinates": [24.9 + i / 100, 60.2]}}
                    for i, k in enumerate(keys)]
        path = tmp_path / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        return path

    source = make_services(Settings(data_dir=tmp_path / "a", layers_dir=tmp_path / "none"))
    import_file(source.layers, plan("v1.geojson", ["A", "B", "C"]), "kaava")
    import_file(source.layers, plan("v2.geojson", ["C", "D"]), "kaava")
    before = source.layers.items(source.layers.layer("kaava"), ItemQuery(limit=10))
    assert before.ids == [3, 4]
    export_all(source.layers, tmp_path / "backup")
    target = make_services(Settings(data_dir=tmp_path / "b", layers_dir=tmp_path / "none"))
    import_all(target.layers, tmp_path / "backup")
    info = target.layers.layer("kaava")
    after = target.layers.items(info, ItemQuery(limit=10))
    assert after.ids == [3, 4] and [p["tunnus"] for p in after.properties] == ["C", "D"]
    assert info.id_field == "tunnus"
    import_file(target.layers, plan("v3.geojson", ["D", "E"]), "kaava")
    again = target.layers.items(target.layers.layer("kaava"), ItemQuery(limit=10))
    assert again.ids == [4, 5]
