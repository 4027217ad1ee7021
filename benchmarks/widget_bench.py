"""Widget page weight and time to the first drawn map, in Chromium with the CPU throttled.

Serves the demo with gunicorn (``WEBMAP_DATA_DIR`` must hold the imported demo layers:
``make demo``), opens ``/embed/<map>`` cold (no cache) several times and prints:

* bytes transferred (compressed, as on the wire) until the widget is interactive
  (``html[data-ready]``: map, features, list and host messaging ready), tiles excluded;
* milliseconds from navigation to the first rendered map (plan drawn and the first base
  tile loaded) with the CPU throttled 4×, as a mid-range phone.

Targets (issue 4): ≤ 150 KB and < 1.5 s.

    .venv/bin/python benchmarks/widget_bench.py --map paimio-asemakaava --runs 5
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _serve() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gunicorn = Path(sys.executable).parent / "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "webmap.app:create_app()"], cwd=ROOT, env={**os.environ, "WEBMAP_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("gunicorn did not start")


def measure(browser: object, url: str, *, throttle: float) -> tuple[int, int, float, float]:
    """One cold load: (bytes before ready without tiles, tile bytes, ms to ready, ms to map)."""
    context = browser.new_context(viewport={"width": 375, "height": 667})  # type: ignore[attr-defined]
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    cdp.on("Network.requestWillBeSent",
           lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))
    page.goto(url, wait_until="commit")
    page.wait_for_selector("html[data-ready]", timeout=60000)
    page.wait_for_selector(".leaflet-tile-loaded", timeout=60000)
    timing = page.evaluate("""() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const ready = performance.getEntriesByName('webmap-ready')[0];
        const tile = performance.getEntriesByType('resource')
            .filter(r => r.name.includes('/tiles/'))
            .map(r => r.responseEnd).sort((a, b) => a - b)[0];
        return [ready ? ready.startTime : NaN, Math.max(ready ? ready.startTime : 0, tile || 0),
                nav.startTime];
    }""")
    before = {rid: size for rid, size in sizes.items() if rid in urls}
    page_bytes = sum(size for rid, size in before.items() if "/tiles/" not in urls[rid])
    tile_bytes = sum(size for rid, size in before.items() if "/tiles/" in urls[rid])
    context.close()
    return page_bytes, tile_bytes, timing[0] - timing[2], timing[1] - timing[2]


def main() -> None:
    """Serve, measure cold loads, print medians against the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default="paimio-asemakaava")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--throttle", type=float, default=4.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    process, base = _serve()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            url = f"{base}/embed/{args.map}?lang=fi"
            measure(browser, url, throttle=1)  # warm the server (tile cache, folium build)
            runs = [measure(browser, url, throttle=args.throttle) for _ in range(args.runs)]
            browser.close()
    finally:
        process.terminate()
        process.wait()
    page_kb = statistics.median(r[0] for r in runs) / 1024
    tile_kb = statistics.median(r[1] for r in runs) / 1024
    ready = statistics.median(r[2] for r in runs)
    drawn = statistics.median(r[3] for r in runs)
    print(f"map {args.map}, {args.runs} cold loads, 375×667, CPU throttled {args.throttle:g}×")
    print(f"  bytes before interactive (compressed, tiles excluded): {page_kb:7.1f} KB  "
          f"(target ≤ 150 KB, {page_kb / 150:.2f}× the budget)")
    print(f"  tile bytes in that time (not counted):                 {tile_kb:7.1f} KB")
    print(f"  time to interactive (median):                          {ready:7.0f} ms")
    print(f"  time to first rendered map (median):                   {drawn:7.0f} ms  "
          f"(target < 1500 ms)")


if __name__ == "__main__":
    main()
