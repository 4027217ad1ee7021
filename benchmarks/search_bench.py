#!/usr/bin/env python3
"""Place search on 100,000 names (SPEC §6: under 50 ms): build time, then query latency.

Generates 80,000 addresses on about 5,000 Finnish and Swedish street names (å ä ö, house
numbers with letters) and 10,000 places with a Finnish and a Swedish name (100,000 names in
all), writes them to a GeoPackage, imports them with ``webmap.layers.import_file``, builds the
search indexes with the first request, then sends ~200 mixed queries (one-letter prefixes,
accent-free street prefixes, street + number, Swedish and Finnish place names, two-word and
no-hit queries) and prints median and p95 milliseconds.

Embedded backend always; PostGIS too when ``WEBMAP_DATABASE_URL`` is set (a throw-away
schema is created and dropped). Requests go through Flask's test client, or with
``--gunicorn`` through ``gunicorn -w 1`` on 127.0.0.1 (one kept-alive connection).

    .venv/bin/python benchmarks/search_bench.py [--gunicorn] [--queries 200]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from webmap.app import create_app  # noqa: E402
from webmap.layers import import_file  # noqa: E402
from webmap.services import build_services, services_of  # noqa: E402
from webmap.settings import Settings  # noqa: E402

FI_FIRST = ["Hämeen", "Töölön", "Mänty", "Koivu", "Kuusi", "Pihlaja", "Järven", "Kirkko",
            "Mylly", "Satama", "Lähde", "Päivä", "Sääksi", "Kärki", "Pajala", "Leppä",
            "Kallio", "Kivi", "Metsä", "Niitty", "Pelto", "Rajala", "Salo", "Tammi", "Vaahtera",
            "Ylä", "Ala", "Itä", "Länsi", "Etelä", "Pohjois", "Ruusu", "Orvokki", "Kataja",
            "Haapa", "Raita", "Kontio", "Karhu", "Ilves", "Kettu"]
FI_SECOND = ["", "mäen", "rinteen", "niemen", "lahden", "harjun", "kummun", "laakson",
             "kylän", "pellon", "rannan", "saaren", "järven", "kosken", "puiston"]
FI_STREET = ["katu", "tie", "kuja", "polku", "rinne", "väylä", "ranta", "kaari", "raitti",
             "mäki"]
SV_FIRST = ["Björk", "Sjö", "Kvarn", "Kyrk", "Åker", "Strand", "Häll", "Lönn", "Ängs",
            "Skogs", "Båt", "Fiskar", "Norr", "Söder", "Väster", "Öster", "Gran", "Tall",
            "Ek", "Rönn", "Lind", "Hägg", "Klöver", "Sand", "Sten"]
SV_SECOND = ["", "backs", "näs", "viks", "dals", "holms", "bergs", "ängs", "hags"]
SV_STREET = ["gatan", "vägen", "stigen", "gränd", "backen", "allén", "stråket", "torget"]
QUALIFIERS_FI = ["Pikku ", "Iso ", "Vanha ", "Uusi "]
QUALIFIERS_SV = ["Lilla ", "Stora ", "Gamla ", "Nya "]
FI_PLACE = ["lahti", "niemi", "mäki", "saari", "järvi", "harju", "kylä", "puisto", "tori",
            "koski", "salmi", "luoto"]
SV_PLACE = ["vik", "näs", "backa", "ö", "sjö", "ås", "by", "parken", "torg", "fors", "sund",
            "holmen"]
N_ADDRESSES = 80_000
N_PLACES = 10_000


def street_names(rng: random.Random) -> list[str]:
    """About 5,000 distinct street names, Finnish and Swedish, some of two words."""
    names = {f + s + t for f in FI_FIRST for s in FI_SECOND for t in FI_STREET}
    names = set(rng.sample(sorted(names), 3_200))
    names |= set(rng.sample(sorted({f + s + t for f in SV_FIRST for s in SV_SECOND
                                    for t in SV_STREET}), 1_400))
    plain = sorted(names)
    names |= {rng.choice(QUALIFIERS_FI) + n[0].lower() + n[1:] for n in rng.sample(plain, 300)}
    names |= {rng.choice(QUALIFIERS_SV) + n[0].lower() + n[1:] for n in rng.sample(plain, 200)}
    return sorted(names)


def street_numbers(rng: random.Random, count: int) -> list[str]:
    """``count`` house numbers of one street: 1, 2, 3 … with now and then 5a, 5b or 7 A, 7 B."""
    numbers: list[str] = []
    n = 0
    while len(numbers) < count:
        n += 1
        roll = rng.random()
        if roll < 0.06:
            numbers += [f"{n}a", f"{n}b"]
        elif roll < 0.10:
            numbers += [f"{n} A", f"{n} B"]
        else:
            numbers.append(str(n))
    return numbers[:count]


def make_data(folder: Path, seed: int = 2024
              ) -> tuple[Path, list[tuple[str, str]], list[tuple[str, str]]]:
    """The GeoPackage (layers ``addresses`` and ``places``), the addresses, the place names."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    streets = street_names(rng)
    weights = nprng.pareto(1.5, len(streets)) + 1
    counts = nprng.multinomial(N_ADDRESSES, weights / weights.sum())
    addresses: list[tuple[str, str]] = []
    xs: list[float] = []
    ys: list[float] = []
    for street, count in zip(streets, counts, strict=True):
        x0, y0 = rng.uniform(200_000, 700_000), rng.uniform(6_650_000, 7_300_000)
        angle = rng.uniform(0, np.pi)
        for i, number in enumerate(street_numbers(rng, int(count))):
            addresses.append((street, number))
            xs.append(x0 + 20 * i * np.cos(angle))
            ys.append(y0 + 20 * i * np.sin(angle))
    path = folder / "names.gpkg"
    gpd.GeoDataFrame({"street": [a[0] for a in addresses], "number": [a[1] for a in addresses]},
                     geometry=shapely.points(xs, ys), crs="EPSG:3067").to_file(
        path, layer="addresses", driver="GPKG")
    places = []
    for _ in range(N_PLACES):
        k = rng.randrange(len(FI_PLACE))
        fi = rng.choice(FI_FIRST) + rng.choice(FI_SECOND) + FI_PLACE[k]
        sv = rng.choice(SV_FIRST) + rng.choice(SV_SECOND) + SV_PLACE[k]
        places.append((fi, sv))
    px = nprng.uniform(200_000, 700_000, N_PLACES)
    py = nprng.uniform(6_650_000, 7_300_000, N_PLACES)
    frame = gpd.GeoDataFrame({"name": [p[0] for p in places], "name_sv": [p[1] for p in places]},
                             geometry=shapely.buffer(shapely.points(px, py), 300), crs="EPSG:3067")
    frame.to_file(path, layer="places", driver="GPKG")
    return path, addresses, places


def fold(text: str) -> str:
    """What a hurried user types: no accents, lower case."""
    return (text.lower().replace("ä", "a").replace("ö", "o").replace("å", "a")
            .replace("é", "e"))


def queries(addresses: list[tuple[str, str]], places: list[tuple[str, str]], n: int,
            seed: int = 7) -> list[str]:
    """A mix of what people type into a search box, one after another."""
    rng = random.Random(seed)

    def street() -> str:
        return rng.choice(addresses)[0]

    kinds: list[Callable[[], str]] = [
        lambda: fold(street())[:1],                                         # "h"
        lambda: street()[:rng.randint(2, 3)],                               # "Hä", "Kva"
        lambda: fold(street())[:rng.randint(4, 8)],                         # "hameen"
        lambda: fold(" ".join(rng.choice(addresses))),                      # "hameenkatu 12"
        lambda: " ".join(rng.choice(addresses))[:-1],                       # "Hämeenkatu 1"
        lambda: fold(rng.choice(places)[0])[:rng.randint(3, 9)],            # "koivul"
        lambda: fold(rng.choice(places)[1])[:rng.randint(3, 8)],            # "bjorkv"
        lambda: " ".join(fold(street()).split()[-2:])[:9],                  # "pikku koi"
        lambda: rng.choice(["xq", "zzz", "qwerty", "ölö ölö", "123"]),      # no hits
    ]
    return [rng.choice(kinds)() for _ in range(n)]


def write_map(layers_dir: Path) -> None:
    """A map whose search reads both layers."""
    (layers_dir / "maps").mkdir(parents=True, exist_ok=True)
    (layers_dir / "maps" / "bench.json").write_text(json.dumps({
        "id": "bench", "title": {"en": "Search benchmark"}, "extent": [19.0, 59.5, 31.6, 70.1],
        "base": {"type": "rendered", "basemap": "finland"},
        "search": [{"layer": "addresses", "kind": "address", "street": "street",
                    "number": "number"},
                   {"layer": "places", "kind": "place", "names": ["name", "name_sv"]}]}))


@contextmanager
def schema(database_url: str) -> Iterator[str]:
    """A URL whose connections use a new schema, dropped afterwards."""
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    joiner = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{joiner}options={urllib.parse.quote(f'-csearch_path={name},public')}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def gunicorn_get(settings: Settings) -> Iterator[Callable[[str], tuple[int, bytes]]]:
    """``get(path)`` through gunicorn -w 1 on a free port of 127.0.0.1."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBMAP_")}
    env |= {"WEBMAP_DATA_DIR": str(settings.data_dir), "WEBMAP_LAYERS_DIR":
            str(settings.layers_dir), "WEBMAP_LOG_LEVEL": "WARNING"}
    if settings.database_url:
        env["WEBMAP_DATABASE_URL"] = settings.database_url
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-w", "1",
                                "-b", f"127.0.0.1:{port}", "webmap.app:create_app()"],
                               env=env, cwd=ROOT)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

        def get(path: str) -> tuple[int, bytes]:
            conn.request("GET", path, headers={"Connection": "keep-alive"})
            response = conn.getresponse()
            return response.status, response.read()

        yield get
        conn.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(label: str, settings: Settings, gpkg: Path, texts: list[str], *, live: bool) -> None:
    """Import, build (timed), warm up, measure; print one line of figures."""
    app = create_app(build_services(settings))
    store = services_of(app).layers
    started = time.perf_counter()
    import_file(store, gpkg, "addresses", layer="addresses")
    import_file(store, gpkg, "places", layer="places")
    imported = time.perf_counter() - started
    client = app.test_client()

    def local(path: str) -> tuple[int, bytes]:
        response = client.get(path)
        return response.status_code, response.get_data()

    def measure(get: Callable[[str], tuple[int, bytes]]) -> None:
        started = time.perf_counter()
        status, _ = get("/search?map=bench&q=a")
        build = time.perf_counter() - started
        assert status == 200, status
        for text in texts[:20]:
            get("/search?" + urllib.parse.urlencode({"map": "bench", "q": text}))
        times, hits = [], []
        for text in texts:
            path = "/search?" + urllib.parse.urlencode({"map": "bench", "q": text})
            started = time.perf_counter()
            status, body = get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200, (status, body[:200])
            hits.append(len(json.loads(body)["features"]))
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"{label:<22} import {imported:5.1f} s  index build {build:5.2f} s  "
              f"{len(times)} queries: median {statistics.median(times):5.2f} ms  "
              f"p95 {p95:5.2f} ms  max {times[-1]:6.2f} ms  "
              f"mean hits {statistics.mean(hits):4.1f}", flush=True)

    if live:
        close = getattr(store, "close", None)
        for get in gunicorn_get(settings):
            measure(get)
        if close:
            close()
    else:
        measure(local)
        close = getattr(store, "close", None)
        if close:
            close()


def main() -> None:
    """Generate once, measure on each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--gunicorn", action="store_true",
                        help="send requests to gunicorn -w 1 on 127.0.0.1")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="webmap-search-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        gpkg, addresses, places = make_data(folder)
        names = N_ADDRESSES + 2 * N_PLACES
        streets = {a[0] for a in addresses}
        print(f"{names:,} names ({len(streets):,} streets, {N_ADDRESSES:,} addresses, "
              f"{N_PLACES:,} places × 2 languages) made in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        write_map(folder / "layers")
        texts = queries(addresses, places, args.queries)
        via = "gunicorn" if args.gunicorn else "test client"
        run(f"embedded ({via})", Settings(data_dir=folder / "data", layers_dir=folder / "layers"),
            gpkg, texts, live=args.gunicorn)
        database_url = os.environ.get("WEBMAP_DATABASE_URL")
        if database_url:
            with schema(database_url) as url:
                run(f"postgis ({via})", Settings(data_dir=folder / "data-pg",
                                                 layers_dir=folder / "layers",
                                                 database_url=url),
                    gpkg, texts, live=args.gunicorn)
        else:
            print("postgis: not measured (set WEBMAP_DATABASE_URL)")


if __name__ == "__main__":
    main()
