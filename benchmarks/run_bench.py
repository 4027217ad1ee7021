#!/usr/bin/env python3
"""webmap beside its peers: items bbox, MVT, raster tiles, import, full download.

A copy of the project's shared peer harness (shared/bench/run_bench.py) with
webmap added as one more server in every scenario, measured in the same run
as pygeoapi, tipg and TiTiler, with the server order rotated every round.

Bounded load: every scenario sends a fixed list of requests at a fixed
concurrency (default 8) with aiohttp, a new connection per request unless
--keepalive, the same list to every server, and stops. Rounds rotate the server
order; each round uses fresh bboxes / tiles (z12 has too few tiles over the
town, so every round requests all of them again).

Scenarios:
  (a) items    bbox 500 m x 500 m, limit=100, GeoJSON
  (b) mvt12    MVT WebMercatorQuad z12, all 37 tiles over the town, every round
      mvt14    MVT WebMercatorQuad z14, distinct tiles, fresh each round
      webmap's on-disk tile cache is emptied before every uncached webmap
      measurement; the row ``webmap-cached`` asks the same tiles again right
      after ``webmap`` in the same round (second request = cache hit)
  (c) png      PNG tiles z12-z14 from the COG (TiTiler vs webmap)
  (d) import   the 200k polygons: ogr2ogr / geopandas floors and
               ``webmap layers import`` into a throw-away data dir
  (e) download the whole ``buildings`` layer through GDAL's OGC API Features
               driver (OAPIF, PAGE_SIZE=10000): features/s (webmap target
               >= 20,000 features/s); tipg beside it

Per server and scenario: median and p95 latency, requests/s, median body and
wire bytes, and CPU seconds per request of the server's process tree and of
PostgreSQL (from /proc). Then ratios webmap / peers.

webmap's backend: ``--backend postgis`` (or ``auto``, the default: what
serve_webmap.sh wrote to $WEBMAP_PIDS/backend, else what /readyz says) counts
PostgreSQL's CPU for webmap too and imports (d) into a fresh PostGIS schema
(compare with ``ogr2ogr GPKG -> PostGIS``) instead of a fresh data dir.

Loopback only. Run with the bench client venv (/tmp/bench/venv-data): needs
aiohttp, numpy, shapely, pyproj, pyogrio, mercantile, mapbox-vector-tile,
geopandas, rasterio; ogr2ogr on PATH. Peers are started by
shared/bench/serve.sh, webmap by benchmarks/serve_webmap.sh, the data by
shared/bench/gen_data.py.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import glob
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import numpy as np

BENCH = os.environ.get("BENCH", "/tmp/bench")
PG_DSN = "host=127.0.0.1 dbname=bench user=bench password=bench"
COG = f"{BENCH}/data/ortho.tif"
GPKG = f"{BENCH}/data/oulu.gpkg"
WEBMAP_VENV = os.environ.get("WEBMAP_VENV", "/work/main/.venv")
WEBMAP_BASE = os.environ.get("WEBMAP_BASE", "http://127.0.0.1:8090")
WEBMAP_DATA_DIR = os.environ.get("WEBMAP_BENCH_DATA_DIR", f"{BENCH}/webmap-data")
WEBMAP_PIDS = os.environ.get("WEBMAP_PIDS", f"{BENCH}/webmap-pids")
WEBMAP_PG_URL = os.environ.get("WEBMAP_BENCH_PG_URL",
                               "postgresql://bench:bench@127.0.0.1:5432/webmap_bench")
WEBMAP_IMPORT_SCHEMA = "import_webmap"

# name -> (base url, pid file, uses PostgreSQL)
SERVERS = {
    "pygeoapi-gpkg": ("http://127.0.0.1:5001", f"{BENCH}/pids/pygeoapi.pid", False),
    "pygeoapi-pg": ("http://127.0.0.1:5001", f"{BENCH}/pids/pygeoapi.pid", True),
    "tipg": ("http://127.0.0.1:8081", f"{BENCH}/pids/tipg.pid", True),
    "tipg-nocap": ("http://127.0.0.1:8083", f"{BENCH}/pids/tipg-nocap.pid", True),
    "titiler": ("http://127.0.0.1:8082", f"{BENCH}/pids/titiler.pid", False),
    "webmap": (WEBMAP_BASE, f"{WEBMAP_PIDS}/webmap.pid", False),
    # The same webmap, asked the same tiles a second time (tile cache hits).
    "webmap-cached": (WEBMAP_BASE, f"{WEBMAP_PIDS}/webmap.pid", False),
}
# URL answered when a server is up (probed before the run).
HEALTH = {
    "pygeoapi-gpkg": "/collections/buildings_gpkg",
    "pygeoapi-pg": "/collections/buildings_pg",
    "tipg": "/collections/public.buildings",
    "tipg-nocap": "/collections/public.buildings",
    "titiler": "/healthz",
    "webmap": "/collections/buildings",
    "webmap-cached": "/collections/buildings",
}

ITEMS_URL = {
    "pygeoapi-gpkg": "/collections/buildings_gpkg/items?bbox={bbox}&limit=100&f=json",
    "pygeoapi-pg": "/collections/buildings_pg/items?bbox={bbox}&limit=100&f=json",
    "tipg": "/collections/public.buildings/items?bbox={bbox}&limit=100&f=geojson",
    "webmap": "/collections/buildings/items?bbox={bbox}&limit=100&f=json",
}
# (f) CQL2 filter: equality + S_INTERSECTS on the same 500 m boxes. The geometry is
# called "geometry" by webmap and pygeoapi, "geom" (the column) by tipg.
FILTER_TEXT = "use='asuinrakennus' AND S_INTERSECTS({geom},{polygon})"
FILTER_URL = {
    "pygeoapi-pg": "/collections/buildings_pg/items?filter-lang=cql2-text&limit=100&f=json"
                   "&filter={geometry}",
    "tipg": "/collections/public.buildings/items?filter-lang=cql2-text&limit=100&f=geojson"
            "&filter={geom}",
    "webmap": "/collections/buildings/items?filter-lang=cql2-text&limit=100&f=json"
              "&filter={geometry}",
}
MVT_URL = {
    "tipg": "/collections/public.buildings/tiles/WebMercatorQuad/{z}/{x}/{y}",
    "tipg-nocap": "/collections/public.buildings/tiles/WebMercatorQuad/{z}/{x}/{y}",
    # OGC API - Tiles path order is tileMatrix/tileRow/tileCol = z/y/x
    "pygeoapi-pg": "/collections/buildings_pg/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt",
    "webmap": "/collections/buildings/tiles/WebMercatorQuad/{z}/{y}/{x}",
    "webmap-cached": "/collections/buildings/tiles/WebMercatorQuad/{z}/{y}/{x}",
}
PNG_URL = {
    "titiler": "/cog/tiles/WebMercatorQuad/{z}/{x}/{y}.png?url=" + COG,
    "webmap": "/collections/ortho/tiles/WebMercatorQuad/{z}/{y}/{x}",
}
# OGC API Features collection URLs for GDAL's OAPIF driver, scenario (e).
OAPIF_URL = {
    "webmap": WEBMAP_BASE + "/collections/buildings",
    "tipg": "http://127.0.0.1:8081/collections/public.buildings",
    "pygeoapi-gpkg": "http://127.0.0.1:5001/collections/buildings_gpkg",
}
# Rows that re-ask the tiles their leader just asked, right after it, same round.
FOLLOWS = {"webmap-cached": "webmap"}


# ---------------------------------------------------------------- /proc CPU
CLK = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, utime+stime+cutime+cstime seconds) for every live process.

    cutime/cstime carry the CPU of children that exited and were reaped
    (PostgreSQL parallel workers, short-lived backends, recycled gunicorn
    workers), so summing over a live process tree counts them too."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        out[int(d)] = (int(rest[1]), sum(int(v) for v in rest[11:15]) / CLK)
    return out


def tree_cpu(root: int | None, table: dict) -> float:
    if root is None:
        return 0.0
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    total, stack = 0.0, [root]
    while stack:
        p = stack.pop()
        if p in table:
            total += table[p][1]
        stack.extend(kids.get(p, []))
    return total


def cpu_stat() -> tuple[float, float, float]:
    """Machine-wide (busy, idle, steal) seconds from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    return ((user + nice + system + irq + softirq) / CLK, (idle + iowait) / CLK, steal / CLK)


def read_pid(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def postmaster_pid() -> int | None:
    try:
        with open("/var/lib/postgresql/15/main/postmaster.pid") as f:
            return int(f.readline())
    except OSError:
        return None


# ---------------------------------------------------------------- webmap tile cache
def clear_webmap_tile_cache(layer: str) -> int:
    """Remove webmap's on-disk tiles of ``layer`` so the next requests render.

    webmap keeps rendered tiles as ``{cache root}/{layer}/{version}/{grid}/{z}/
    {row}/{col}.{ext}`` under its data dir; every ``{layer}/{version}/{grid}``
    folder below the bench data dir is emptied (untimed, between runs).
    Returns the number of tile files removed."""
    removed = 0
    pattern = os.path.join(WEBMAP_DATA_DIR, "**", layer, "*", "WebMercatorQuad")
    for grid_dir in glob.glob(pattern, recursive=True):
        if not os.path.isdir(grid_dir):
            continue
        for _root, _dirs, files in os.walk(grid_dir):
            removed += len(files)
        shutil.rmtree(grid_dir, ignore_errors=True)
    return removed


# ---------------------------------------------------------------- workload
def town_points(n: int, rng: random.Random) -> list[tuple[float, float]]:
    """Random building centroids (EPSG:3067): bboxes land where the town is."""
    import pyogrio
    import shapely

    df = pyogrio.read_dataframe(GPKG, layer="buildings", columns=[])
    c = shapely.centroid(df.geometry.values)
    idx = rng.sample(range(len(c)), n)
    return [(shapely.get_x(c[i]), shapely.get_y(c[i])) for i in idx]


def make_bboxes(n: int, seed: int, size_m: float = 500.0) -> list[str]:
    from pyproj import Transformer

    rng = random.Random(seed)
    tr = Transformer.from_crs(3067, 4326, always_xy=True)
    out = []
    for x, y in town_points(n, rng):
        # Jitter so the centre is not always on a building.
        x += rng.uniform(-100, 100)
        y += rng.uniform(-100, 100)
        h = size_m / 2
        xs, ys = tr.transform([x - h, x + h, x - h, x + h], [y - h, y - h, y + h, y + h])
        out.append(f"{min(xs):.6f},{min(ys):.6f},{max(xs):.6f},{max(ys):.6f}")
    return out


def building_tiles(z: int) -> list[tuple[int, int, int]]:
    """Distinct WebMercatorQuad tiles at zoom z that hold at least one building."""
    import mercantile
    import pyogrio
    import shapely
    from pyproj import Transformer

    df = pyogrio.read_dataframe(GPKG, layer="buildings", columns=[])
    c = shapely.centroid(df.geometry.values)
    lon, lat = Transformer.from_crs(3067, 4326, always_xy=True).transform(
        shapely.get_x(c), shapely.get_y(c))
    tiles = {mercantile.tile(a, b, z)[:3] for a, b in zip(lon, lat, strict=True)}
    return sorted((t[2], t[0], t[1]) for t in tiles)


def cog_tiles(zooms=(12, 13, 14)) -> list[tuple[int, int, int]]:
    """Tiles whose centre falls inside the COG (the raster is in EPSG:3067,
    so its lon/lat bbox has empty corners where TiTiler rightly answers 404)."""
    import mercantile
    import rasterio
    from pyproj import Transformer
    from rasterio.warp import transform_bounds

    with rasterio.open(COG) as src:
        w, s, e, n = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
        left, bottom, right, top = src.bounds
    tr = Transformer.from_crs(4326, 3067, always_xy=True)
    out = []
    for t in mercantile.tiles(w, s, e, n, zooms):
        b = mercantile.bounds(t)
        x, y = tr.transform((b.west + b.east) / 2, (b.south + b.north) / 2)
        if left < x < right and bottom < y < top:
            out.append((t.z, t.x, t.y))
    return out


# ---------------------------------------------------------------- load loop
KEEPALIVE = False  # set by --keepalive


async def run_load(base: str, paths: list[str], concurrency: int, keep_bodies: bool = False):
    import aiohttp

    lat = [0.0] * len(paths)
    status = [0] * len(paths)
    size = [0] * len(paths)
    wire = [0] * len(paths)
    ctype = [""] * len(paths)
    bodies: list[bytes | None] = [None] * len(paths)
    queue = list(enumerate(paths))
    queue.reverse()
    # A new connection per request by default: uvicorn's worker processes pin
    # a keep-alive connection for its lifetime, and with 8 connections the
    # kernel often hands 6-8 of them to one of the two workers, halving the
    # throughput of a CPU-bound server at random (seen with TiTiler: 25 vs 44
    # req/s from round to round). gunicorn's sync workers close after every
    # request anyway, so this treats all servers alike.
    conn = aiohttp.TCPConnector(limit=concurrency, force_close=not KEEPALIVE)
    timeout = aiohttp.ClientTimeout(total=300)
    headers = {"Accept-Encoding": "gzip", "User-Agent": "webmap-bench"}
    async with aiohttp.ClientSession(base, connector=conn, timeout=timeout,
                                     headers=headers) as session:

        async def worker():
            while queue:
                i, p = queue.pop()
                t0 = time.perf_counter()
                try:
                    async with session.get(p) as r:
                        body = await r.read()
                        status[i] = r.status
                        ctype[i] = r.headers.get("Content-Type", "")
                        wire[i] = int(r.headers.get("Content-Length", len(body)))
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    body = b""
                    status[i] = -1
                    print(f"    error {p}: {exc!r}", file=sys.stderr)
                lat[i] = time.perf_counter() - t0
                size[i] = len(body)
                if keep_bodies:
                    bodies[i] = body

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {"lat": lat, "status": status, "size": size, "wire": wire, "wall": wall,
            "bodies": bodies, "ctype": ctype}


def measure(server: str, paths: list[str], concurrency: int, keep_bodies=False) -> dict:
    base, pidfile, uses_pg = SERVERS[server]
    spid, ppid = read_pid(pidfile), postmaster_pid() if uses_pg else None
    t_before = _proc_table()
    m_before = cpu_stat()
    c_before = time.process_time()
    res = asyncio.run(run_load(base, paths, concurrency, keep_bodies))
    c_after = time.process_time()
    m_after = cpu_stat()
    t_after = _proc_table()
    res["machine_busy"], res["machine_idle"], res["machine_steal"] = (
        a - b for a, b in zip(m_after, m_before, strict=True))
    res["cpu_server"] = tree_cpu(spid, t_after) - tree_cpu(spid, t_before)
    res["cpu_pg"] = (tree_cpu(ppid, t_after) - tree_cpu(ppid, t_before)) if ppid else 0.0
    res["cpu_client"] = c_after - c_before
    return res


# ---------------------------------------------------------------- summaries
def summarise(runs: list[dict]) -> dict:
    lat = np.array([v for r in runs for v in r["lat"]]) * 1000
    ok = [s for r in runs for s in r["status"]]
    size = np.array([v for r in runs for v in r["size"]])
    wire = np.array([v for r in runs for v in r["wire"]])
    n = len(lat)
    wall = sum(r["wall"] for r in runs)
    per_round = [len(r["lat"]) / r["wall"] for r in runs]
    statuses: dict[str, int] = {}
    for s in ok:
        statuses[str(s)] = statuses.get(str(s), 0) + 1
    ctypes: dict[str, int] = {}
    for r in runs:
        for c in r.get("ctype", []):
            ctypes[c] = ctypes.get(c, 0) + 1
    return {
        "n": n,
        "errors": sum(1 for s in ok if s != 200),
        "statuses": statuses,
        "content_types": ctypes,
        "median_ms": round(float(np.median(lat)), 1),
        "p95_ms": round(float(np.percentile(lat, 95)), 1),
        "rps": round(n / wall, 1),
        "rps_rounds": [round(v, 1) for v in per_round],
        "median_bytes": int(np.median(size)),
        "median_wire_bytes": int(np.median(wire)),
        "server_cpu_ms_per_req": round(1000 * sum(r["cpu_server"] for r in runs) / n, 1),
        "pg_cpu_ms_per_req": round(1000 * sum(r["cpu_pg"] for r in runs) / n, 1),
        "client_cpu_ms_per_req": round(1000 * sum(r["cpu_client"] for r in runs) / n, 2),
        # Share of the machine's 2 cores that was busy / stolen by the
        # hypervisor during this server's runs, and the busy CPU that the
        # server, PostgreSQL and the client do not account for (other tenants).
        "machine_busy_pct": round(100 * sum(r["machine_busy"] for r in runs)
                                  / (wall * (os.cpu_count() or 1)), 1),
        "steal_pct": round(100 * sum(r["machine_steal"] for r in runs)
                           / (wall * (os.cpu_count() or 1)), 1),
        "unaccounted_busy_cpu_ms_per_req": round(1000 * (
            sum(r["machine_busy"] - r["cpu_server"] - r["cpu_pg"] - r["cpu_client"]
                for r in runs)) / n, 1),
    }


def items_counts(bodies: list[bytes]) -> list[int]:
    out = []
    for b in bodies:
        try:
            out.append(len(json.loads(b)["features"]))
        except Exception:  # noqa: BLE001
            out.append(-1)
    return out


def mvt_count(body: bytes) -> int:
    """Features in a tile (all layers); -1 if the body does not decode as MVT."""
    import mapbox_vector_tile

    if not body:
        return 0
    try:
        d = mapbox_vector_tile.decode(body)
    except Exception:  # noqa: BLE001
        return -1
    return sum(len(layer["features"]) for layer in d.values())


def png_info(body: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, None if not a PNG."""
    if len(body) < 24 or body[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return int.from_bytes(body[16:20], "big"), int.from_bytes(body[20:24], "big")


def png_pixels(body: bytes):
    from rasterio.io import MemoryFile

    with MemoryFile(body) as mf, mf.open() as src:
        return src.read()


# ---------------------------------------------------------------- scenarios
def round_order(servers: list[str], r: int) -> list[str]:
    """Rotate the leaders; a follower (webmap-cached) runs right after its leader."""
    leaders = [s for s in servers if s not in FOLLOWS]
    order = leaders[r % len(leaders):] + leaders[: r % len(leaders)]
    for f, lead in FOLLOWS.items():
        if f in servers and lead in order:
            order.insert(order.index(lead) + 1, f)
    return order


def scenario(name, servers, batches, concurrency, warm, rounds, extra=None, before=None):
    """batches[r][server] -> list of paths for round r; warm[server] -> paths.

    before(server) runs untimed before each measured run (cache clearing)."""
    print(f"\n== {name}")
    runs = {s: [] for s in servers}
    for s in servers:
        if warm.get(s):
            measure(s, warm[s], concurrency)  # connections, table reflection, JIT
    for r in range(rounds):
        for s in round_order(servers, r):
            if before is not None:
                before(s)
            keep = extra is not None and r == 0
            res = measure(s, batches[r][s], concurrency, keep_bodies=keep)
            if keep:
                extra(s, res)
            runs[s].append(res)
            print(f"  round {r + 1} {s:14s} n={len(res['lat']):4d} "
                  f"median {1000 * statistics.median(res['lat']):7.1f} ms  "
                  f"{len(res['lat']) / res['wall']:6.1f} req/s  "
                  f"errors {sum(1 for x in res['status'] if x != 200)} "
                  f"{sorted(set(res['status']) - {200})}", flush=True)
    return {s: summarise(runs[s]) for s in servers}


def webmap_import_cmd(data_dir: str, database_url: str | None = None) -> list[str]:
    target = [f"WEBMAP_DATABASE_URL={database_url}"] if database_url else [
        "-u", "WEBMAP_DATABASE_URL"]
    return ["env", *target, f"WEBMAP_DATA_DIR={data_dir}", f"{WEBMAP_VENV}/bin/webmap",
            "layers", "import", GPKG, "--id", "buildings", "--layer", "buildings"]


def webmap_backend(choice: str) -> str:
    """geopackage or postgis: as asked, else as serve_webmap.sh recorded, else /readyz."""
    if choice != "auto":
        return choice
    try:
        with open(f"{WEBMAP_PIDS}/backend") as f:
            return f.read().strip() or "geopackage"
    except OSError:
        pass
    try:
        with urllib.request.urlopen(WEBMAP_BASE + "/readyz", timeout=10) as r:
            return json.loads(r.read()).get("backend", "geopackage")
    except Exception:  # noqa: BLE001
        return "geopackage"


def import_schema_url() -> str:
    """webmap's bench database with a scratch schema first on the search path."""
    joiner = "&" if "?" in WEBMAP_PG_URL else "?"
    return (f"{WEBMAP_PG_URL}{joiner}options="
            + urllib.parse.quote(f"-csearch_path={WEBMAP_IMPORT_SCHEMA},public"))


def reset_import_schema(drop_only: bool = False) -> None:
    sql = f"DROP SCHEMA IF EXISTS {WEBMAP_IMPORT_SCHEMA} CASCADE"
    if not drop_only:
        sql += f"; CREATE SCHEMA {WEBMAP_IMPORT_SCHEMA}"
    subprocess.run(["psql", WEBMAP_PG_URL, "-q", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


WEBMAP_IMPORT_CASE = {"geopackage": "webmap layers import (fresh data dir)",
                      "postgis": "webmap layers import -> PostGIS (fresh schema)"}


def import_floor(repeats: int, with_webmap: bool, backend: str = "geopackage"
                 ) -> tuple[dict, dict]:
    """(d) time to import the 200k polygons, several ways, median of repeats.

    Returns (results, failures): a failing case goes to failures, not results."""
    pg = f"PG:{PG_DSN}"
    scratch_webmap = f"{BENCH}/webmap-import-test"
    subprocess.run(["psql", PG_DSN, "-q", "-c", "CREATE SCHEMA IF NOT EXISTS import_test"],
                   check=True)
    py = (
        "import sys,time,geopandas as gpd\n"
        "t=time.perf_counter()\n"
        "df=gpd.read_file(sys.argv[1],layer='buildings',engine='pyogrio',use_arrow={arrow})\n"
        "{write}\n"
        "print(time.perf_counter()-t)\n"
    )
    cases = {
        "ogr2ogr GPKG -> PostGIS (COPY, GiST)": [
            "ogr2ogr", "-f", "PostgreSQL", pg, GPKG, "buildings", "-nln",
            "import_test.buildings", "-overwrite", "-lco", "GEOMETRY_NAME=geom",
            "-lco", "SPATIAL_INDEX=GIST", "--config", "PG_USE_COPY", "YES"],
        "ogr2ogr GPKG -> GPKG (R-tree)": [
            "ogr2ogr", "-f", "GPKG", f"{BENCH}/import_copy.gpkg", GPKG, "buildings",
            "-overwrite"],
        "geopandas read_file + to_file GPKG (pyogrio)": [
            sys.executable, "-c", py.format(arrow=False, write=(
                f"df.to_file('{BENCH}/import_gpd.gpkg',layer='buildings',driver='GPKG',"
                "engine='pyogrio')")), GPKG],
        "geopandas read_file(arrow) + to_file GPKG (pyogrio)": [
            sys.executable, "-c", py.format(arrow=True, write=(
                f"df.to_file('{BENCH}/import_gpd.gpkg',layer='buildings',driver='GPKG',"
                "engine='pyogrio')")), GPKG],
        "geopandas read_file + to_postgis (SQLAlchemy, no index)": [
            sys.executable, "-c", py.format(arrow=True, write=(
                "from sqlalchemy import create_engine\n"
                "e=create_engine('postgresql+psycopg2://bench:bench@127.0.0.1/bench')\n"
                "df.to_postgis('buildings_gpd',e,schema='import_test',if_exists='replace',"
                "chunksize=10000)")), GPKG],
    }
    if with_webmap:
        cases[WEBMAP_IMPORT_CASE[backend]] = webmap_import_cmd(
            scratch_webmap, import_schema_url() if backend == "postgis" else None)
    out: dict = {}
    errors: dict = {}
    print("\n== (d) import 200k polygons")
    for name, cmd in cases.items():
        times = []
        failed = None
        for _ in range(repeats):
            for f in ("import_copy.gpkg", "import_gpd.gpkg"):
                if os.path.exists(f"{BENCH}/{f}"):
                    os.remove(f"{BENCH}/{f}")
            shutil.rmtree(scratch_webmap, ignore_errors=True)
            if name == WEBMAP_IMPORT_CASE["postgis"]:
                reset_import_schema()  # untimed: an empty schema every time
            t0 = time.perf_counter()
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
            times.append(time.perf_counter() - t0)
            if p.returncode != 0:
                failed = f"exit {p.returncode}: {p.stderr[-2000:]}"
                print(f"  {name}: FAILED {failed}", file=sys.stderr)
                break
        if failed:
            # kept apart so that shared/bench/report.py can still render "import"
            errors[name] = {"runs_s": [round(t, 2) for t in times], "error": failed}
            continue
        out[name] = {"median_s": round(statistics.median(times), 2),
                     "runs_s": [round(t, 2) for t in times]}
        print(f"  {name:55s} median {statistics.median(times):6.2f} s  runs "
              f"{[round(t, 2) for t in times]}", flush=True)
    shutil.rmtree(scratch_webmap, ignore_errors=True)
    if with_webmap and backend == "postgis":
        reset_import_schema(drop_only=True)
    subprocess.run(["psql", PG_DSN, "-q", "-c", "DROP SCHEMA import_test CASCADE"], check=True)
    return out, errors


DOWNLOAD_PY = r"""
import json, sys, time
import pyogrio
url, page, arrow = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
t = time.perf_counter()
# dataset open options go to pyogrio as keyword arguments (PAGE_SIZE=...);
# use_arrow=True was slower here (14 s vs 10 s for webmap's 200k features)
df = pyogrio.read_dataframe("OAPIF:" + url, use_arrow=arrow, PAGE_SIZE=page)
dt = time.perf_counter() - t
ids = df["id"] if "id" in df.columns else None
print(json.dumps({"seconds": dt, "features": int(len(df)),
                  "null_geometries": int(df.geometry.isna().sum()),
                  "distinct_ids": int(ids.nunique()) if ids is not None else None,
                  "columns": [str(c) for c in df.columns]}))
"""


def download(servers: list[str], rounds: int, page_size: int, tool: str,
             expected: int, timeout: int, peer_rounds: int, arrow: bool = False) -> dict:
    """(e) the whole buildings layer through GDAL's OAPIF driver, features/s."""
    print(f"\n== (e) full download of buildings through GDAL OAPIF ({tool}, "
          f"PAGE_SIZE={page_size})")
    env = dict(os.environ, no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost",
               GDAL_HTTP_TIMEOUT="300")
    out = {}
    for s in servers:
        runs = []
        for r in range(rounds if s == "webmap" else min(rounds, peer_rounds)):
            _, pidfile, uses_pg = SERVERS[s]
            spid, ppid = read_pid(pidfile), postmaster_pid() if uses_pg else None
            t_before = _proc_table()
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if tool == "ogr2ogr":
                dst = f"{BENCH}/download_{s}.gpkg"
                if os.path.exists(dst):
                    os.remove(dst)
                cmd = ["ogr2ogr", "-f", "GPKG", dst, f"OAPIF:{OAPIF_URL[s]}",
                       "-oo", f"PAGE_SIZE={page_size}", "-nln", "buildings"]
            else:
                cmd = [sys.executable, "-c", DOWNLOAD_PY, OAPIF_URL[s], str(page_size),
                       "1" if arrow else "0"]
            t0 = time.perf_counter()
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                   env=env)
                rc, stdout, stderr = p.returncode, p.stdout, p.stderr
            except subprocess.TimeoutExpired as exc:
                rc, stdout, stderr = -9, "", f"timeout after {timeout}s: {exc}"
            wall = time.perf_counter() - t0
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t_after = _proc_table()
            res = {"wall_s": round(wall, 2), "rc": rc,
                   "cpu_server_s": round(tree_cpu(spid, t_after) - tree_cpu(spid, t_before), 2),
                   "cpu_pg_s": round((tree_cpu(ppid, t_after) - tree_cpu(ppid, t_before))
                                     if ppid else 0.0, 2),
                   "cpu_client_s": round((ru1.ru_utime + ru1.ru_stime)
                                         - (ru0.ru_utime + ru0.ru_stime), 2)}
            if rc == 0 and tool == "ogr2ogr":
                import pyogrio
                res["features"] = int(pyogrio.read_info(dst)["features"])
                res["seconds"] = wall
                os.remove(dst)
            elif rc == 0:
                try:
                    res.update(json.loads(stdout.strip().splitlines()[-1]))
                except Exception as exc:  # noqa: BLE001
                    res["error"] = f"bad output {exc!r}: {stdout[-500:]} {stderr[-1500:]}"
            else:
                res["error"] = f"exit {rc}: {stderr[-3000:]}"
            if "seconds" in res:
                res["features_per_s"] = round(res["features"] / res["seconds"])
                res["seconds"] = round(res["seconds"], 2)
                if res["features"] != expected:
                    res["error"] = f"got {res['features']} features, expected {expected}"
            runs.append(res)
            print(f"  round {r + 1} {s:14s} " + (
                f"{res.get('features')} features in {res.get('seconds')} s = "
                f"{res.get('features_per_s')} features/s; server CPU {res['cpu_server_s']} s, "
                f"PostgreSQL {res['cpu_pg_s']} s, client {res['cpu_client_s']} s"
                if "features_per_s" in res else "FAILED")
                + (f"  ERROR {res['error'][:2000]}" if "error" in res else ""), flush=True)
            if rc != 0:
                break  # a failing server is not retried
        good = [x for x in runs if "features_per_s" in x and "error" not in x]
        out[s] = {"runs": runs,
                  "median_s": round(statistics.median(x["seconds"] for x in good), 2)
                  if good else None,
                  "features_per_s": round(statistics.median(x["features_per_s"] for x in good))
                  if good else None,
                  "server_cpu_s": round(statistics.median(x["cpu_server_s"] for x in good), 2)
                  if good else None,
                  "pg_cpu_s": round(statistics.median(x["cpu_pg_s"] for x in good), 2)
                  if good else None,
                  "errors": sum(1 for x in runs if "error" in x)}
    return out


async def _fetch_pages(first: str, timeout: int) -> tuple[int, int, int, int]:
    """GET first page, then follow rel=next; (features, pages, body bytes, wire bytes)."""
    import aiohttp

    features = pages = body_bytes = wire_bytes = 0
    headers = {"Accept-Encoding": "gzip", "Accept": "application/geo+json",
               "User-Agent": "webmap-bench"}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout),
                                     headers=headers) as session:
        url: str | None = first
        while url:
            async with session.get(url) as r:
                body = await r.read()
                if r.status != 200:
                    raise RuntimeError(f"HTTP {r.status} for {url}: {body[:300]!r}")
                wire_bytes += int(r.headers.get("Content-Length", len(body)))
            doc = json.loads(body)
            pages += 1
            body_bytes += len(body)
            n = len(doc.get("features", []))
            features += n
            url = next((ln["href"] for ln in doc.get("links", [])
                        if ln.get("rel") == "next"
                        and "json" in ln.get("type", "application/geo+json")), None)
            if n == 0 or pages > 10_000:  # bounded even if a server loops
                break
    return features, pages, body_bytes, wire_bytes


def download_raw(s: str, rounds: int, page_size: int, expected: int,
                 timeout: int = 600) -> dict:
    """(e') the same full download without GDAL: aiohttp follows rel=next page after
    page (limit=page_size, gzip) and only json-parses: what the server can deliver."""
    print(f"\n== (e') full download of buildings, raw pages (aiohttp), {s}")
    first = OAPIF_URL[s] + f"/items?limit={page_size}&f=json"
    if s.startswith("tipg"):
        first = OAPIF_URL[s] + f"/items?limit={page_size}&f=geojson"
    runs = []
    for r in range(rounds):
        _, pidfile, uses_pg = SERVERS[s]
        spid, ppid = read_pid(pidfile), postmaster_pid() if uses_pg else None
        t_before = _proc_table()
        c0 = time.process_time()
        t0 = time.perf_counter()
        try:
            n, pages, body, wire = asyncio.run(_fetch_pages(first, timeout))
            err = None if n == expected else f"got {n} features, expected {expected}"
        except Exception as exc:  # noqa: BLE001
            n = pages = body = wire = 0
            err = repr(exc)
        wall = time.perf_counter() - t0
        t_after = _proc_table()
        res = {"seconds": round(wall, 2), "features": n, "pages": pages,
               "body_mb": round(body / 1e6, 1), "wire_mb": round(wire / 1e6, 1),
               "features_per_s": round(n / wall) if n else None,
               "cpu_server_s": round(tree_cpu(spid, t_after) - tree_cpu(spid, t_before), 2),
               "cpu_pg_s": round((tree_cpu(ppid, t_after) - tree_cpu(ppid, t_before))
                                 if ppid else 0.0, 2),
               "cpu_client_s": round(time.process_time() - c0, 2)}
        if err:
            res["error"] = err
        runs.append(res)
        print(f"  round {r + 1} {s:14s} {n} features, {pages} pages, {res['wire_mb']} MB on "
              f"the wire, in {res['seconds']} s = {res['features_per_s']} features/s; "
              f"server CPU {res['cpu_server_s']} s, PostgreSQL {res['cpu_pg_s']} s, "
              f"client {res['cpu_client_s']} s" + (f"  ERROR {err}" if err else ""),
              flush=True)
        if err:
            break
    good = [x for x in runs if "error" not in x]
    return {"runs": runs,
            "median_s": round(statistics.median(x["seconds"] for x in good), 2) if good else None,
            "features_per_s": round(statistics.median(x["features_per_s"] for x in good))
            if good else None,
            "server_cpu_s": round(statistics.median(x["cpu_server_s"] for x in good), 2)
            if good else None,
            "pg_cpu_s": round(statistics.median(x["cpu_pg_s"] for x in good), 2)
            if good else None,
            "errors": sum(1 for x in runs if "error" in x)}


def versions() -> dict:
    def pipv(python, pkgs):
        code = ("import importlib.metadata as m,sys,json\n"
                "d={}\n"
                "for p in sys.argv[1:]:\n"
                "    try: d[p]=m.version(p)\n"
                "    except Exception: d[p]=None\n"
                "print(json.dumps(d))")
        try:
            r = subprocess.run([python, "-c", code, *pkgs],
                               capture_output=True, text=True, check=True)
            d = json.loads(r.stdout)
            r2 = subprocess.run([python, "-V"], capture_output=True, text=True)
            d["python"] = r2.stdout.strip().split()[-1]
            return d
        except Exception as exc:  # noqa: BLE001
            return {"error": repr(exc)}

    def cmd(c):
        try:
            return subprocess.run(c, capture_output=True, text=True, shell=True).stdout.strip()
        except Exception:  # noqa: BLE001
            return "?"

    return {
        "pygeoapi": pipv(f"{BENCH}/venv-pygeoapi/bin/python",
                         ["pygeoapi", "Flask", "gunicorn", "GDAL", "SQLAlchemy", "GeoAlchemy2",
                          "psycopg2-binary"]),
        "tipg": pipv(f"{BENCH}/venv-tipg/bin/python",
                     ["tipg", "fastapi", "starlette", "uvicorn", "asyncpg", "morecantile"]),
        "titiler": pipv(f"{BENCH}/venv-titiler/bin/python",
                        ["titiler.application", "titiler.core", "rio-tiler", "rasterio",
                         "fastapi", "uvicorn"]),
        "webmap": pipv(f"{WEBMAP_VENV}/bin/python",
                       ["webmap", "Flask", "gunicorn", "pyogrio", "shapely", "rasterio",
                        "rio-tiler", "mapbox-vector-tile", "orjson", "numpy", "psycopg",
                        "psycopg-pool"]),
        "client": pipv(sys.executable, ["aiohttp", "geopandas", "pyogrio", "shapely",
                                        "rasterio", "numpy"]),
        "titiler_gdal": cmd(f"{BENCH}/venv-titiler/bin/python -c "
                            "'import rasterio;print(rasterio.__gdal_version__)'"),
        "webmap_gdal": cmd(f"{WEBMAP_VENV}/bin/python -c 'import pyogrio,rasterio;"
                           "print(pyogrio.__gdal_version_string__, rasterio.__gdal_version__)'"),
        "client_gdal": cmd(f"{sys.executable} -c "
                           "'import pyogrio;print(pyogrio.__gdal_version_string__)'"),
        "postgresql": cmd(f"psql '{PG_DSN}' -Atc 'show server_version'"),
        "postgis": cmd(f"psql '{PG_DSN}' -Atc 'select postgis_lib_version()'"),
        "ogr2ogr": cmd("ogr2ogr --version"),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
    }


def ratio(a: dict, b: dict, key: str) -> float | None:
    try:
        return round(a[key] / b[key], 2)
    except (KeyError, ZeroDivisionError, TypeError):
        return None


def server_up(s: str) -> bool:
    try:
        with urllib.request.urlopen(SERVERS[s][0] + HEALTH[s], timeout=10) as r:
            return r.status == 200
    except Exception:  # noqa: BLE001
        return False


# ---------------------------------------------------------------- Markdown
TITLES = {
    "items": "(a) items, bbox 500 m x 500 m, limit=100, GeoJSON",
    "mvt12": "(b) MVT WebMercatorQuad z12 (all tiles over the town, every round)",
    "mvt14": "(b) MVT WebMercatorQuad z14, distinct tiles",
    "png": "(c) PNG tiles z12-z14 from the COG",
    "filter": "(f) items with a CQL2 filter: use = 'asuinrakennus' AND S_INTERSECTS 500 m box",
}


def threads_note(serve: dict) -> str:
    """How serve_webmap.sh ran gunicorn's workers, for the report's header."""
    threads = serve.get("threads", 1)
    return f", gunicorn gthread workers x {threads} threads" if threads > 1 else \
        ", gunicorn sync workers"


def markdown(res: dict) -> str:
    out = []
    w = out.append
    w(f"# webmap beside its peers — run {res['started']} to {res.get('finished')}\n")
    w(f"Concurrency {res['concurrency']}, {res['rounds']} rounds, server order rotated, "
      f"{'keep-alive' if res['keepalive'] else 'a new connection per request'}; "
      f"webmap on {res.get('webmap_backend', 'geopackage')}"
      f"{threads_note(res.get('webmap_serve_import', {}))}; "
      f"load average {res['loadavg_start'][0]:.2f} at start, "
      f"{res.get('loadavg_end', [0])[0]:.2f} at end. `webmap-cached` = the same tiles "
      "asked again right after `webmap` (tile cache hits); `webmap` rows of MVT/PNG are "
      "rendered (cache emptied before each run).\n")
    if res.get("skipped_servers"):
        w(f"Not measured (not answering at start): {', '.join(res['skipped_servers'])}\n")
    w("| scenario | server | n | median ms | p95 ms | req/s | runs req/s | "
      "server CPU ms/req | PostgreSQL CPU ms/req | median body KB | median wire KB | "
      "errors |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key, title in TITLES.items():
        for s, r in res.get(key, {}).items():
            w(f"| {title} | {s} | {r['n']} | {r['median_ms']} | {r['p95_ms']} | {r['rps']} | "
              f"{', '.join(f'{x:g}' for x in r['rps_rounds'])} | "
              f"{r['server_cpu_ms_per_req']} | {r['pg_cpu_ms_per_req']} | "
              f"{r['median_bytes'] / 1000:.1f} | {r['median_wire_bytes'] / 1000:.1f} | "
              f"{r['errors']}{' ' + str(r['statuses']) if r['errors'] else ''} |")
    w("")
    if "import" in res:
        w("## (d) import of the 200,000 polygons (median of repeats)\n")
        w("| method | median s | runs s |")
        w("|---|---|---|")
        for name, r in res["import"].items():
            w(f"| {name} | {r['median_s']} | {', '.join(map(str, r['runs_s']))} |")
        for name, r in res.get("import_errors", {}).items():
            err = r["error"][-400:].replace("\n", " ").replace("|", "/")
            w(f"| {name} | FAILED | {', '.join(map(str, r['runs_s']))} — {err} |")
        if res.get("webmap_serve_import"):
            w(f"\nserve_webmap.sh's own import (one run, into the served data dir): "
              f"{json.dumps(res['webmap_serve_import'])}")
        w("")
    if "download" in res:
        w("## (e) full download of `buildings` through GDAL OAPIF "
          f"({res.get('download_tool')}, PAGE_SIZE={res.get('download_page_size')})\n")
        w("| server | median s | features/s | server CPU s | PostgreSQL CPU s | runs | "
          "errors |")
        w("|---|---|---|---|---|---|---|")
        for s, r in res["download"].items():
            runs = "; ".join(
                f"{x.get('seconds')} s / {x.get('features')} f" if "seconds" in x
                else "failed" for x in r["runs"])
            err = next((x["error"] for x in r["runs"] if "error" in x), "")
            w(f"| {s} | {r['median_s']} | {r['features_per_s']} | {r['server_cpu_s']} | "
              f"{r['pg_cpu_s']} | {runs} | {r['errors']}"
              f"{' ' + err[:300].replace(chr(10), ' ') if err else ''} |")
        for s, r in res.get("download_raw", {}).items():
            runs = "; ".join(f"{x.get('seconds')} s / {x.get('features')} f / "
                             f"{x.get('pages')} pages" for x in r["runs"])
            err = next((x["error"] for x in r["runs"] if "error" in x), "")
            w(f"| {s}, raw pages (aiohttp, no GDAL) | {r['median_s']} | {r['features_per_s']} | "
              f"{r['server_cpu_s']} | {r['pg_cpu_s']} | {runs} | {r['errors']}"
              f"{' ' + err[:300] if err else ''} |")
        w("")
    w("## Ratios\n")
    w("| ratio | value |")
    w("|---|---|")
    for k, v in res.get("ratios", {}).items():
        w(f"| {k} | {v} |")
    w("")
    if res.get("validation"):
        w("## Same answers? (round 1)\n")
        w("| check | server | values |")
        w("|---|---|---|")
        for chk, per in {**res["validation"], **res.get("validation_webmap", {})}.items():
            for s, r in per.items():
                w(f"| {chk} | {s} | {json.dumps(r, ensure_ascii=False)} |")
        w("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--items", type=int, default=200, help="bbox requests per server per round")
    ap.add_argument("--z14", type=int, default=200, help="z14 tiles per server per round")
    ap.add_argument("--png", type=int, default=150, help="PNG tiles per round")
    ap.add_argument("--import-repeats", type=int, default=3)
    ap.add_argument("--only", default="items,filter,mvt12,mvt14,png,import,download")
    ap.add_argument("--seed", type=int, default=20261123)
    ap.add_argument("--keepalive", action="store_true",
                    help="reuse connections (uvicorn then pins them to one worker)")
    ap.add_argument("--no-webmap", action="store_true", help="peers only")
    ap.add_argument("--backend", choices=("auto", "geopackage", "postgis"), default="auto",
                    help="webmap's backend (auto: as serve_webmap.sh started it)")
    ap.add_argument("--webmap-mvt-query", default="",
                    help="appended to webmap's MVT tile paths, e.g. '?f=mvt'")
    ap.add_argument("--webmap-png-query", default="",
                    help="appended to webmap's PNG tile paths, e.g. '?f=png'")
    ap.add_argument("--download-servers", default="webmap,tipg",
                    help="servers for (e); pygeoapi-gpkg is possible but slow")
    ap.add_argument("--download-tool", choices=("pyogrio", "ogr2ogr"), default="pyogrio")
    ap.add_argument("--download-page-size", type=int, default=10000)
    ap.add_argument("--download-peer-rounds", type=int, default=1,
                    help="rounds of (e) for the peers (tipg takes ~100 s per download)")
    ap.add_argument("--download-arrow", action="store_true",
                    help="read_dataframe(use_arrow=True) in (e) (slower here)")
    ap.add_argument("--download-timeout", type=int, default=600,
                    help="seconds before one download is abandoned")
    ap.add_argument("--out", default=f"{BENCH}/results-webmap.json")
    args = ap.parse_args()
    only = set(args.only.split(","))
    global KEEPALIVE
    KEEPALIVE = args.keepalive
    backend = webmap_backend(args.backend)
    for k in ("webmap", "webmap-cached"):
        MVT_URL[k] += args.webmap_mvt_query
        SERVERS[k] = (*SERVERS[k][:2], backend == "postgis")  # count PostgreSQL's CPU too
    PNG_URL["webmap"] += args.webmap_png_query

    # Servers that do not answer are left out of every scenario (and said so).
    candidates = [s for s in SERVERS if not (args.no_webmap and s.startswith("webmap"))]
    up = {s for s in candidates if server_up(s)}
    skipped = sorted(set(SERVERS) - up)
    for s in skipped:
        print(f"not measured: {s} ({SERVERS[s][0]}{HEALTH[s]} does not answer 200)",
              file=sys.stderr)

    def live(servers):
        return [s for s in servers if s in up]

    rng = random.Random(args.seed)
    R, C = args.rounds, args.concurrency
    results: dict = {"started": dt.datetime.now().isoformat(timespec="seconds"),
                     "concurrency": C, "rounds": R, "keepalive": KEEPALIVE,
                     "webmap_backend": backend,
                     "versions": versions(), "skipped_servers": skipped,
                     "loadavg_start": os.getloadavg()}
    with open(f"{BENCH}/data/meta.json") as f:
        results["data"] = json.load(f)
    try:
        with open(f"{WEBMAP_PIDS}/import.json") as f:
            results["webmap_serve_import"] = json.load(f)
    except (OSError, ValueError):
        pass
    validation: dict = {}  # shape of shared/bench's: every entry has a "median"
    checks: dict = {}  # webmap-vs-peer comparisons and PNG checks

    def clear_tiles(layer):
        def before(s):
            if s == "webmap":  # webmap-cached must find what webmap just rendered
                n = clear_webmap_tile_cache(layer)
                if n:
                    print(f"    (emptied webmap's tile cache of {layer}: {n} tiles)")
        return before

    if "items" in only and live(["webmap", "tipg", "pygeoapi-gpkg", "pygeoapi-pg"]):
        servers = live(["pygeoapi-gpkg", "pygeoapi-pg", "tipg", "webmap"])
        bboxes = make_bboxes(args.items * R + 10, args.seed)
        warm = {s: [ITEMS_URL[s].format(bbox=b) for b in bboxes[-10:]] for s in servers}
        batches = [{s: [ITEMS_URL[s].format(bbox=b)
                        for b in bboxes[r * args.items:(r + 1) * args.items]]
                    for s in servers} for r in range(R)]
        per_bbox: dict[str, list[int]] = {}

        def check_items(s, res):
            counts = items_counts(res["bodies"])
            per_bbox[s] = counts
            validation.setdefault("items_features_per_response", {})[s] = {
                "median": statistics.median(counts),
                "share_at_limit_100": round(sum(1 for c in counts if c == 100)
                                            / len(counts), 2),
                "unparsable": sum(1 for c in counts if c < 0),
                "content_type": statistics.mode(res["ctype"])}

        results["items"] = scenario("(a) items bbox 500 m x 500 m, limit=100, GeoJSON",
                                    servers, batches, C, warm, R, check_items)
        if "webmap" in per_bbox:
            for ref in ("tipg", "pygeoapi-gpkg"):
                if ref in per_bbox:
                    a, b = per_bbox["webmap"], per_bbox[ref]
                    checks.setdefault("items_same_count_per_bbox", {})[
                        f"webmap vs {ref}"] = {
                        "share_equal": round(sum(x == y for x, y in zip(a, b, strict=False))
                                             / len(a), 3),
                        "n": len(a)}

    if "filter" in only and live(["webmap", "pygeoapi-pg"]):
        servers = live(["pygeoapi-pg", "tipg", "webmap"])
        boxes = make_bboxes(args.items * R + 10, args.seed + 1)

        def filter_url(s: str, box: str) -> str:
            x0, y0, x1, y1 = box.split(",")
            polygon = f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"
            return FILTER_URL[s].format(
                geometry=urllib.parse.quote(FILTER_TEXT.format(geom="geometry",
                                                               polygon=polygon)),
                geom=urllib.parse.quote(FILTER_TEXT.format(geom="geom", polygon=polygon)))

        warm = {s: [filter_url(s, b) for b in boxes[-10:]] for s in servers}
        batches = [{s: [filter_url(s, b) for b in boxes[r * args.items:(r + 1) * args.items]]
                    for s in servers} for r in range(R)]
        filtered: dict[str, list[int]] = {}

        def check_filter(s, res):
            filtered[s] = items_counts(res["bodies"])
            validation.setdefault("filter_features_per_response", {})[s] = {
                "median": statistics.median(filtered[s]),
                "unparsable": sum(1 for c in filtered[s] if c < 0)}

        results["filter"] = scenario(TITLES["filter"], servers, batches, C, warm, R,
                                     check_filter)
        for ref in ("pygeoapi-pg", "tipg"):
            if "webmap" in filtered and ref in filtered:
                a, b = filtered["webmap"], filtered[ref]
                checks.setdefault("filter_same_count", {})[f"webmap vs {ref}"] = {
                    "share_equal": round(sum(x == y for x, y in zip(a, b, strict=False))
                                         / max(1, len(a)), 3), "n": len(a)}

    mvt_all = ["pygeoapi-pg", "tipg", "tipg-nocap", "webmap", "webmap-cached"]
    for z, key, n_per in ((12, "mvt12", None), (14, "mvt14", args.z14)):
        mvt_servers = live(mvt_all)
        if key not in only or not mvt_servers:
            continue
        tiles = building_tiles(z)
        rng.shuffle(tiles)
        warm_tiles = building_tiles(13)[:6]
        warm = {s: [MVT_URL[s].format(z=a, x=b, y=c) for a, b, c in warm_tiles]
                for s in mvt_servers if s not in FOLLOWS}
        if n_per is None:  # z12: every tile over the town, every round
            per_round = [tiles] * R
        else:
            n_per = min(n_per, len(tiles) // R)
            per_round = [tiles[r * n_per:(r + 1) * n_per] for r in range(R)]
        batches = [{s: [MVT_URL[s].format(z=a, x=b, y=c) for a, b, c in per_round[r]]
                    for s in mvt_servers} for r in range(R)]
        per_tile: dict[str, list[int]] = {}

        def check_mvt(s, res, z=z, per_tile=per_tile):
            counts = [mvt_count(b) for b in res["bodies"][:40]]
            per_tile[s] = counts
            validation.setdefault(f"mvt_z{z}_features_per_tile", {})[s] = {
                "median": statistics.median(counts), "max": max(counts),
                "undecodable": sum(1 for c in counts if c < 0),
                "sampled_tiles": len(counts),
                "content_type": statistics.mode(res["ctype"])}

        results[key] = scenario(f"(b) MVT WebMercatorQuad z{z}, distinct tiles "
                                f"({len(per_round[0])} per round of {len(tiles)})",
                                mvt_servers, batches, C, warm, R, check_mvt,
                                before=clear_tiles("buildings"))
        if "webmap" in per_tile:
            for ref in ("tipg-nocap", "pygeoapi-pg", "webmap-cached"):
                if ref in per_tile:
                    a, b = per_tile["webmap"], per_tile[ref]
                    checks.setdefault(f"mvt_z{z}_same_count_per_tile", {})[
                        f"webmap vs {ref}"] = {
                        "share_equal": round(sum(x == y for x, y in zip(a, b, strict=False))
                                             / len(a), 3),
                        "median_abs_diff": statistics.median(
                            abs(x - y) for x, y in zip(a, b, strict=False)),
                        "n": len(a)}

    png_servers = live(["titiler", "webmap"])
    if "png" in only and png_servers:
        tiles = cog_tiles()
        rng.shuffle(tiles)
        n = min(args.png, len(tiles) // R)
        batches = [{s: [PNG_URL[s].format(z=a, x=b, y=c)
                        for a, b, c in tiles[r * n:(r + 1) * n]] for s in png_servers}
                   for r in range(R)]
        warm = {s: [PNG_URL[s].format(z=a, x=b, y=c) for a, b, c in tiles[-6:]]
                for s in png_servers}
        png_bodies: dict[str, list[bytes]] = {}

        def check_png(s, res):
            infos = [png_info(b) for b in res["bodies"]]
            png_bodies[s] = res["bodies"]
            checks.setdefault("png_tiles", {})[s] = {
                "not_png": sum(1 for i in infos if i is None),
                "sizes": sorted({f"{i[0]}x{i[1]}" for i in infos if i}),
                "content_type": statistics.mode(res["ctype"])}

        results["png"] = scenario(f"(c) PNG tiles z12-z14 from the COG ({n} per round of "
                                  f"{len(tiles)})", png_servers, batches, C, warm, R,
                                  check_png, before=clear_tiles("ortho"))
        if {"titiler", "webmap"} <= set(png_bodies):
            diffs = []
            for a, b in list(zip(png_bodies["webmap"], png_bodies["titiler"],
                                 strict=False))[:30]:
                try:
                    pa, pb = png_pixels(a), png_pixels(b)
                    k = min(pa.shape[0], pb.shape[0], 3)
                    if pa.shape[1:] == pb.shape[1:]:
                        diffs.append(float(np.abs(pa[:k].astype(int) - pb[:k]).mean()))
                except Exception:  # noqa: BLE001
                    pass
            checks["png_webmap_vs_titiler"] = {"rgb": {
                "compared_tiles": len(diffs),
                "median_mean_abs_diff_0_255": round(statistics.median(diffs), 2)
                if diffs else None}}

    if "import" in only:
        results["import"], import_errors = import_floor(
            args.import_repeats, with_webmap=not args.no_webmap and os.path.exists(
                f"{WEBMAP_VENV}/bin/webmap"), backend=backend)
        if import_errors:
            results["import_errors"] = import_errors

    dl_servers = live([s for s in args.download_servers.split(",") if s])
    if "download" in only and dl_servers:
        results["download_tool"] = args.download_tool
        results["download_page_size"] = args.download_page_size
        results["download"] = download(dl_servers, R, args.download_page_size,
                                       args.download_tool, results["data"]["buildings"],
                                       args.download_timeout, args.download_peer_rounds,
                                       args.download_arrow)
        # webmap only: the peers' GDAL runs are server-bound already (tipg ~100 s)
        results["download_raw"] = {s: download_raw(s, R, args.download_page_size,
                                                   results["data"]["buildings"])
                                   for s in dl_servers if s == "webmap"}

    results["validation"] = validation
    results["validation_webmap"] = checks
    ratios = {}
    if "items" in results:
        it = results["items"]
        for a, b in (("webmap", "pygeoapi-gpkg"), ("webmap", "tipg"), ("webmap", "pygeoapi-pg"),
                     ("tipg", "pygeoapi-gpkg"), ("tipg", "pygeoapi-pg")):
            if a in it and b in it:
                ratios[f"items rps {a}/{b}"] = ratio(it[a], it[b], "rps")
                ratios[f"items median latency {b}/{a}"] = ratio(it[b], it[a], "median_ms")
    if "filter" in results:
        ft = results["filter"]
        for ref in ("pygeoapi-pg", "tipg"):
            if "webmap" in ft and ref in ft:
                ratios[f"filter rps webmap/{ref}"] = ratio(ft["webmap"], ft[ref], "rps")
                ratios[f"filter median latency {ref}/webmap"] = ratio(ft[ref], ft["webmap"],
                                                                       "median_ms")
    for key in ("mvt12", "mvt14"):
        if key in results:
            m = results[key]
            for a, b in (("webmap", "tipg"), ("webmap", "tipg-nocap"),
                         ("webmap-cached", "tipg"), ("webmap-cached", "webmap"),
                         ("webmap", "pygeoapi-pg"), ("tipg", "pygeoapi-pg")):
                if a in m and b in m:
                    ratios[f"{key} rps {a}/{b}"] = ratio(m[a], m[b], "rps")
    if "png" in results and {"webmap", "titiler"} <= set(results["png"]):
        ratios["png rps webmap/titiler"] = ratio(results["png"]["webmap"],
                                                 results["png"]["titiler"], "rps")
    # CPU per request: steadier than req/s on this shared machine.
    for key, refs in (("items", ("pygeoapi-gpkg", "tipg")), ("filter", ("pygeoapi-pg", "tipg")),
                      ("mvt12", ("tipg",)),
                      ("mvt14", ("tipg",)), ("png", ("titiler",))):
        m = results.get(key, {})
        if "webmap" not in m:
            continue
        cw = m["webmap"]["server_cpu_ms_per_req"] + m["webmap"]["pg_cpu_ms_per_req"]
        for ref in refs:
            if ref in m:
                cr = m[ref]["server_cpu_ms_per_req"] + m[ref]["pg_cpu_ms_per_req"]
                ratios[f"{key} CPU ms/req (server + PostgreSQL) webmap/{ref}"] = (
                    round(cw / cr, 2) if cr else None)
    if "import" in results:
        imp = results["import"]
        floor = imp["ogr2ogr GPKG -> PostGIS (COPY, GiST)"]["median_s"]
        for name, v in imp.items():
            if v["median_s"] is not None and floor:
                ratios[f"import {name} / ogr2ogr->PostGIS"] = round(v["median_s"] / floor, 2)
        wm = imp.get(WEBMAP_IMPORT_CASE["geopackage"], {}).get("median_s")
        wp = imp.get(WEBMAP_IMPORT_CASE["postgis"], {}).get("median_s")
        if wp and floor:
            ratios["import webmap -> PostGIS / ogr2ogr -> PostGIS"] = round(wp / floor, 2)
        gg = imp["ogr2ogr GPKG -> GPKG (R-tree)"]["median_s"]
        if wm and gg:
            ratios["import webmap / ogr2ogr GPKG->GPKG"] = round(wm / gg, 2)
    if "download" in results:
        for s, v in results["download"].items():
            ratios[f"download features/s {s} (GDAL OAPIF)"] = v["features_per_s"]
        for s, v in results.get("download_raw", {}).items():
            ratios[f"download features/s {s} (raw pages, no GDAL)"] = v["features_per_s"]
        d = results["download"]
        if d.get("webmap", {}).get("features_per_s"):
            ratios["download webmap meets >= 20,000 features/s"] = (
                d["webmap"]["features_per_s"] >= 20000)
            if d.get("tipg", {}).get("features_per_s"):
                ratios["download features/s webmap/tipg"] = round(
                    d["webmap"]["features_per_s"] / d["tipg"]["features_per_s"], 2)
    results["ratios"] = ratios
    results["loadavg_end"] = os.getloadavg()
    results["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    md = markdown(results)
    # shared/bench/report.py prints "appendix" verbatim: the (e) download table
    # then shows up in its report too (every other scenario it renders itself).
    if "## (e)" in md:
        sec = md[md.index("## (e)"):]
        results["appendix"] = sec[:sec.index("\n## ", 1) + 1] if "\n## " in sec[1:] else sec
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2, ensure_ascii=False)
    md_path = os.path.splitext(args.out)[0] + ".md"
    with open(md_path, "w") as f:
        f.write(md + "\n")
    print("\n" + md)
    print(f"\nwrote {args.out} and {md_path}")


if __name__ == "__main__":
    main()
