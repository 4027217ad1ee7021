"""``/maps/{id}/image``: overlay pixels in EPSG:3067 and WebMercator, style colours, limits."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from tests.comments.conftest import auth, comment
from tests.conftest import assert_problem
from webmap import crs
from webmap.mapimage.draw import OVERLAY

RED = tuple(int(OVERLAY[i:i + 2], 16) for i in (1, 3, 5))
PLAN_STROKE = (0x1f, 0x2a, 0x44)
"""``styles/districts.json``: the plan layer's outline."""
BOX_3067 = (385_000.0, 6_672_000.0, 387_000.0, 6_674_000.0)
"""Over the 20 test buildings (``make_buildings``)."""


def pixels(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.data)).convert("RGB"))


def near(colour: np.ndarray, wanted: tuple[int, ...], tolerance: int = 12) -> bool:
    return bool(np.abs(colour.astype(int) - np.asarray(wanted)).max() <= tolerance)


def point_crs84(x: float, y: float, code: str) -> dict[str, Any]:
    lon, lat = crs.transformer(code, "CRS84").transform(x, y)
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.mark.parametrize("code", ["EPSG:3067", "EPSG:3857"])
def test_overlay_lands_on_its_pixel(client: Any, plan: str, code: str) -> None:
    box = crs.transformer("EPSG:3067", code).transform_bounds(*BOX_3067)
    width, height = 400, 300
    # a point a quarter across and a third down the box
    x = box[0] + (box[2] - box[0]) * 0.25
    y = box[3] - (box[3] - box[1]) / 3
    response = client.post(
        f"/maps/kaava/image?bbox={','.join(map(str, box))}&bbox-crs={crs.uri(code)}"
        f"&crs={crs.uri(code)}&width={width}&height={height}",
        json=point_crs84(x, y, code))
    image = pixels(response)
    assert image.shape == (height, width, 3)
    assert response.headers["Content-Crs"] == f"<{crs.uri(code)}>"
    assert near(image[100, 100], RED)
    for dy, dx in ((0, 12), (12, 0), (0, -12), (-12, 0)):  # outside the 7 px pin
        assert not near(image[100 + dy, 100 + dx], RED, 40)
    assert (np.abs(image.astype(int) - RED).max(axis=2) <= 12).sum() < 400


def test_style_colours_appear(client: Any, plan: str) -> None:
    image = pixels(client.get(f"/maps/kaava/image?bbox={','.join(map(str, BOX_3067))}"
                              f"&bbox-crs={crs.uri('EPSG:3067')}&crs={crs.uri('EPSG:3067')}"
                              "&width=600&height=600"))
    outline = (np.abs(image.astype(int) - PLAN_STROKE).max(axis=2) <= 8).sum()
    assert outline > 500  # 20 buildings, 3 px outlines
    assert not (np.abs(image.astype(int) - RED).max(axis=2) <= 12).any()  # no overlay asked


def test_comment_overlay_and_pdf(client: Any, plan: str, post: Any, token: str) -> None:
    receipt = post(comment()).get_json()
    hidden = client.get(f"/maps/kaava/image?comment={receipt['id']}&width=200")
    assert_problem(hidden, 404)  # not published yet
    client.patch(f"/admin/api/comments/{receipt['id']}", json={"status": "published"},
                headers=auth(token))
    shown = client.get(f"/maps/kaava/image?comment={receipt['id']}&width=200&height=200"
                       "&bbox=24.93,60.165,24.95,60.175")
    image = pixels(shown)
    lon, lat = comment()["geometry"]["coordinates"]
    x0, y0 = crs.transformer("CRS84", "EPSG:3857").transform(24.93, 60.175)
    x1, y1 = crs.transformer("CRS84", "EPSG:3857").transform(24.95, 60.165)
    x, y = crs.transformer("CRS84", "EPSG:3857").transform(lon, lat)
    col, row = round((x - x0) / (x1 - x0) * 200), round((y0 - y) / (y0 - y1) * 200)
    assert near(image[row, col], RED)
    pdf = client.get(f"/maps/kaava/image?comment={receipt['id']}&width=400&f=pdf")
    assert pdf.mimetype == "application/pdf"
    page = PdfReader(io.BytesIO(pdf.data)).pages[0]
    assert float(page.mediabox.width) == pytest.approx(300)  # 400 px at 96 dpi


@pytest.mark.parametrize(("query", "parameter"), [
    ("width=4097&height=10", "width"),
    ("width=10&height=5000", "height"),
    ("width=0", "width"),
    ("width=abc", "width"),
    ("bbox=1,2,3", "bbox"),
    ("bbox=24.95,60.17,24.94,60.18", "bbox"),
    ("bbox=24.94,60.17,24.94,60.18", "bbox"),
    ("bbox=a,b,c,d", "bbox"),
    ("crs=EPSG:2393", "crs"),
    ("f=gif", "f"),
])
def test_bad_requests_answer_400(client: Any, plan: str, query: str, parameter: str) -> None:
    body = assert_problem(client.get(f"/maps/kaava/image?{query}"), 400)
    assert body.get("parameter") == parameter


def test_bad_overlay_and_unknown_map(client: Any, plan: str) -> None:
    assert_problem(client.post("/maps/kaava/image?width=100", data=b"{nope",
                               content_type="application/json"), 400)
    assert_problem(client.post("/maps/kaava/image?width=100", json={"type": "Blob"}), 400)
    assert_problem(client.get("/maps/ei-ole/image"), 404)
