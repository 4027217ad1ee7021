#!/usr/bin/env python3
"""The response report of a 300-comment consultation, and the plan map's image, timed.

Imports the demo (``webmap demo``) into a throw-away data directory, posts N comments on the
demo plan map ``paimio-asemakaava`` (points, lines, areas and plan features, spread over the
plan), hides one in ten, answers the rest (some through a theme), then prints the time to
build the report (data and every map image) and to write it as PDF, DOCX and ODT, in one
language (targets: under 60 s each on the 2-core machine). Then draws the plan map's extent
as a 1024×768 PNG through ``GET /maps/{id}/image`` (Flask's client in-process, the same view
and renderer gunicorn serves) R times after a warm-up and prints the median and p95 (target:
median under 300 ms).

    .venv/bin/python benchmarks/report_bench.py [-n 300] [--lang fi] [--rounds 30] [--output DIR]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from webmap.app import create_app  # noqa: E402
from webmap.cli import main  # noqa: E402
from webmap.report.formats import REPORT_FORMATS  # noqa: E402
from webmap.services import build_services  # noqa: E402
from webmap.settings import Settings  # noqa: E402

MAP_ID = "paimio-asemakaava"
THEMES = ("Liikenne", "Viheralueet", "Rakentaminen", "Melu")


def _point(rng: random.Random, extent: tuple[float, ...]) -> list[float]:
    west, south, east, north = extent
    pad_x, pad_y = (east - west) * 0.08, (north - south) * 0.08
    return [rng.uniform(west + pad_x, east - pad_x), rng.uniform(south + pad_y, north - pad_y)]


def _body(rng: random.Random, index: int, extent: tuple[float, ...],
          features: list[int]) -> dict[str, object]:
    kind = index % 10
    x, y = _point(rng, extent)
    d = (extent[2] - extent[0]) * 0.01
    body: dict[str, object] = {
        "text": f"Mielipide {index}: " + " ".join(rng.choice(
            ["puisto", "tie", "melu", "pysäköinti", "kerrosala", "ranta", "pyörätie",
             "leikkipaikka", "valaistus", "puusto"]) for _ in range(rng.randint(8, 60))),
        "language": "sv" if index % 7 == 0 else "fi", "name": f"Asukas {index}",
        "email": f"asukas{index}@example.fi", "notify": index % 3 == 0}
    if kind < 5:
        body["geometry"] = {"type": "Point", "coordinates": [x, y]}
    elif kind < 7:
        body["geometry"] = {"type": "LineString", "coordinates": [[x, y], [x + d, y + d / 2],
                                                                  [x + 2 * d, y]]}
    elif kind < 9:
        body["geometry"] = {"type": "Polygon", "coordinates": [[[x, y], [x + d, y],
                                                                [x + d, y + d / 2], [x, y]]]}
    else:
        body["feature"] = {"collection": "asemakaava-alueet", "id": rng.choice(features)}
    return body


def _check(response: Any) -> None:
    if response.status_code != 200 or response.mimetype != "image/png":
        raise SystemExit(f"the map image answered {response.status_code}: "
                         f"{response.get_data(as_text=True)[:300]}")


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=300, help="comments (default 300)")
    parser.add_argument("--lang", default="fi", choices=("fi", "sv", "en"))
    parser.add_argument("--rounds", type=int, default=30, help="map images timed")
    parser.add_argument("--output", type=Path, help="also write the reports into this folder")
    args = parser.parse_args()
    rng = random.Random(3067)
    with tempfile.TemporaryDirectory(prefix="report-bench-") as scratch:
        data_dir = Path(scratch) / "data"
        env = {"WEBMAP_DATA_DIR": str(data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers"),
               "WEBMAP_STYLES_DIR": str(ROOT / "styles"), "WEBMAP_DATABASE_URL": "",
               "WEBMAP_LOG_LEVEL": "WARNING"}
        started = time.perf_counter()
        result = CliRunner().invoke(main, ["demo"], env=env, catch_exceptions=False)
        if result.exit_code:
            raise SystemExit(result.output)
        print(f"demo imported in {time.perf_counter() - started:.1f} s")
        settings = Settings(data_dir=data_dir, layers_dir=ROOT / "layers",
                            styles_dir=ROOT / "styles", comment_rate_limit="100000/minute")
        services = build_services(settings)
        try:
            definition = services.maps.get(MAP_ID)
            info = services.layers.layer("asemakaava-alueet")
            features = list(range(1, info.feature_count + 1))
            started = time.perf_counter()
            ids = [services.comments.submit(MAP_ID, _body(rng, i, definition.extent,
                                                          features)).id
                   for i in range(1, args.n + 1)]
            for number, comment_id in enumerate(ids, start=1):
                services.comments.moderate(comment_id,
                                           "hidden" if number % 10 == 0 else "published")
                services.comments.respond(comment_id, {
                    "themes": [THEMES[number % len(THEMES)]],
                    "changed_plan": number % 6 == 0,
                    **({"response": f"Vastine {number}: asia on otettu huomioon "
                                    "kaavaehdotuksessa."} if number % 4 else {})})
            services.comments.respond_to_theme(MAP_ID, "Melu", "Meluselvitys tehdään "
                                               "ennen kaavan hyväksymistä.")
            print(f"{args.n} comments posted, moderated and answered in "
                  f"{time.perf_counter() - started:.1f} s")

            started = time.perf_counter()
            report = services.reports.build(MAP_ID, args.lang)
            collected = time.perf_counter() - started
            print(f"report data and {len(report.comments) + 1} map images "
                  f"({len(report.comments)} published comments): {collected:.1f} s")
            for name, kind in REPORT_FORMATS.items():
                started = time.perf_counter()
                data = kind.write(report)
                written = time.perf_counter() - started
                if args.output:
                    args.output.mkdir(parents=True, exist_ok=True)
                    (args.output / report.filename(name)).write_bytes(data)
                print(f"{name}: written in {written:.1f} s, total with the data "
                      f"{collected + written:.1f} s (target < 60 s), {len(data) / 1e6:.1f} MB")

            client = create_app(services).test_client()
            query = f"/maps/{MAP_ID}/image?width=1024&height=768"
            for _ in range(3):
                _check(client.get(query))
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                response = client.get(query)
                times.append((time.perf_counter() - started) * 1000)
                _check(response)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            print(f"GET {query}: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms "
                  f"over {args.rounds} (target: median < 300 ms)")
        finally:
            services.close()
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main_bench()
