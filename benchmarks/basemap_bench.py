#!/usr/bin/env python3
"""The Helsinki base maps drawn without their cache: milliseconds per PNG tile, z12 to z16.

Imports the demo layers the ``helsinki`` base map draws (municipalities, postal areas, OSM
areas and roads of central Helsinki) and builds ``helsinki-osm`` (``webmap basemap build``
from the same extract: streets, buildings, water, names) into a throw-away data directory,
then draws N tiles over the OSM extract, spread evenly over z12–z16 in WebMercatorQuad (and,
with ``--grid``, another grid), each with ``BasemapService.render``: the store's vector
tiles, decoding, drawing with Mapnik (labels placed too) and the palette PNG, no tile cache.
Prints median and p95 per zoom and overall, and how much of it the vector tiles alone take.

Embedded backend always; PostGIS too when ``WEBMAP_DATABASE_URL`` is set (a throw-away
schema is created and dropped).

    .venv/bin/python benchmarks/basemap_bench.py [-n 200] [--scale 2] [--grid ETRS-TM35FIN]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from webmap.basemap import BasemapService, load_basemaps, web_zoom  # noqa: E402
from webmap.basemap.build import build_basemap  # noqa: E402
from webmap.layers import import_file  # noqa: E402
from webmap.services import open_services  # noqa: E402
from webmap.settings import Settings  # noqa: E402
from webmap.tiles.cache import DiskTileCache  # noqa: E402
from webmap.tiles.grids import GRIDS  # noqa: E402
from webmap.tiles.request import TileRequest  # noqa: E402

LAYERS = ("municipalities", "postal-areas", "helsinki-areas", "helsinki-roads")
EXTRACT = (24.93518, 60.16416, 24.95341, 60.17911)
"""The OSM extract's bbox (lon/lat): every tile drawn meets it."""


def backends() -> Iterator[tuple[str, str | None]]:
    """("geopackage", None), then PostGIS in a fresh schema when WEBMAP_DATABASE_URL is set."""
    yield "geopackage", None
    url = os.environ.get("WEBMAP_DATABASE_URL")
    if not url:
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        joiner = "&" if "?" in url else "?"
        yield "postgis", f"{url}{joiner}options=-csearch_path%3D{schema},public"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def tiles_over_extract(grid_id: str, count: int) -> list[TileRequest]:
    """``count`` tiles meeting the extract, taken round-robin over z12–z16 (web scale)."""
    tms = GRIDS[grid_id]
    by_zoom: dict[int, list[TileRequest]] = {}
    for zoom in range(tms.minzoom, tms.maxzoom + 1):
        for t in tms.tiles(*EXTRACT, zooms=[zoom]):
            request = TileRequest(grid=tms, zoom=zoom, row=t.y, col=t.x)
            if 12 <= web_zoom(request) <= 16:
                by_zoom.setdefault(web_zoom(request), []).append(request)
    picked: list[TileRequest] = []
    while len(picked) < count:
        for zoom in sorted(by_zoom):
            tiles = by_zoom[zoom]
            picked.append(tiles[len(picked) // len(by_zoom) % len(tiles)])
    return picked[:count]


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    """Import, warm up, draw, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--tiles", type=int, default=200)
    parser.add_argument("--scale", type=int, choices=(1, 2), default=1)
    parser.add_argument("--grid", default="WebMercatorQuad", choices=list(GRIDS))
    parser.add_argument("--basemap", nargs="+", default=["helsinki", "helsinki-osm"])
    args = parser.parse_args()
    manifest_path = ROOT / "layers" / "demo" / "demo.json"
    manifest = {e["id"]: e for e in json.loads(manifest_path.read_text("utf-8"))["layers"]}
    for backend, url in backends():
        with tempfile.TemporaryDirectory() as tmp, \
                open_services(Settings(data_dir=Path(tmp), database_url=url)) as services:
            store = services.layers
            for layer_id in LAYERS:
                entry = manifest[layer_id]
                options = {k: v for k, v in entry.items() if k not in {"id", "path"}}
                import_file(store, manifest_path.parent / entry["path"], layer_id, **options)
            demo = json.loads(manifest_path.read_text("utf-8"))["basemaps"][0]
            build_basemap(store, ROOT / "styles", demo["id"],
                          [manifest_path.parent / p for p in demo["sources"]],
                          write_styles=False)
            service = BasemapService(load_basemaps(ROOT / "styles" / "basemaps"), store,
                                     DiskTileCache(Path(tmp) / "cache", enabled=False))
            for basemap_id in args.basemap:
                run(service, store, service.get(basemap_id), backend, args)
            close = getattr(store, "close", None)
            if close is not None:
                close()


def run(service: BasemapService, store: Any, basemap: Any, backend: str,
        args: argparse.Namespace) -> None:
    """Draw and print the figures of one base map."""
    snapshot = service.snapshot(basemap)
    tiles = tiles_over_extract(args.grid, args.tiles)
    for tile in tiles[:10]:  # warm up: connections, grids, transformers
        service.render(basemap, tile, snapshot, scale=args.scale)
    total: dict[int, list[float]] = {}
    mvt: dict[int, list[float]] = {}
    sizes: list[int] = []
    for tile in tiles:
        start = time.perf_counter()
        for layer_id in service.visible_layers(basemap, tile, snapshot):
            store.vector_tile(snapshot.layers[layer_id], tile)
        middle = time.perf_counter()
        png = service.render(basemap, tile, snapshot, scale=args.scale)
        end = time.perf_counter()
        zoom = web_zoom(tile)
        mvt.setdefault(zoom, []).append((middle - start) * 1000)
        total.setdefault(zoom, []).append((end - middle) * 1000)
        sizes.append(len(png))
    print(f"{basemap.id}, {backend}, {args.grid}, {256 * args.scale}-px tiles, "
          f"{len(tiles)} tiles, "
          f"median PNG {statistics.median(sizes) / 1024:.1f} KiB")
    print("zoom  tiles  median ms  p95 ms  (of which MVT: median ms)")
    for zoom in sorted(total):
        print(f"{zoom:>4}  {len(total[zoom]):>5}  {statistics.median(total[zoom]):>9.1f}"
              f"  {pct(total[zoom], 95):>6.1f}  ({statistics.median(mvt[zoom]):.1f})")
    everything = [v for values in total.values() for v in values]
    every_mvt = [v for values in mvt.values() for v in values]
    print(f" all  {len(everything):>5}  {statistics.median(everything):>9.1f}  "
          f"{pct(everything, 95):>6.1f}  ({statistics.median(every_mvt):.1f})")


if __name__ == "__main__":
    main()
