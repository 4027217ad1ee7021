"""Consultation maps in a temporary layers directory, a plan layer, and a comment poster."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS, LayerBuilder, make_buildings
from webmap.services import services_of
from webmap.settings import Settings

PLAN_LAYER = "kaava-alueet"
EXTENT = [24.80, 60.10, 25.10, 60.25]
"""Around the buildings ``make_buildings`` draws near Helsinki (lon 24.93-24.97)."""
INSIDE = {"type": "Point", "coordinates": [24.94, 60.17]}
OUTSIDE = {"type": "Point", "coordinates": [22.68, 60.45]}
LINE = {"type": "LineString", "coordinates": [[24.94, 60.17], [24.95, 60.175]]}
AREA = {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.95, 60.17], [24.95, 60.175],
                                            [24.94, 60.17]]]}


def map_file(map_id: str, *, opens: str | None = "2020-01-01T00:00:00+02:00",
             closes: str | None = "2099-12-31T23:59:59+02:00",
             geometry: tuple[str, ...] = ("point", "line", "area", "feature"),
             languages: tuple[str, ...] = ("fi", "sv", "en"),
             consultation: bool = True) -> dict[str, Any]:
    """A map definition with a consultation (``opens``/``closes`` None leave that end open)."""
    definition: dict[str, Any] = {
        "id": map_id, "title": {"fi": "Kaava", "sv": "Plan", "en": "Plan"},
        "extent": EXTENT, "languages": list(languages),
        "base": {"type": "rendered", "basemap": "helsinki"},
        "layers": [{"layer": PLAN_LAYER, "style": "districts", "plan": True,
                    "title": {"fi": "Alueet", "sv": "Områden", "en": "Areas"},
                    "label": "name", "attributes": ["name"]}],
        "origins": ["https://asiointi.example.fi"],
    }
    if consultation:
        definition["consultation"] = {"opens": opens, "closes": closes,
                                      "geometry": list(geometry), "show_comments": True}
    return definition


MAPS = {
    "kaava": map_file("kaava"),
    "vain-piste": map_file("vain-piste", geometry=("point",), languages=("fi",)),
    "vain-kohde": map_file("vain-kohde", geometry=("feature",)),
    "suljettu": map_file("suljettu", opens="2020-01-01T00:00:00+02:00",
                         closes="2021-01-01T00:00:00+02:00"),
    "tuleva": map_file("tuleva", opens="2098-01-01T00:00:00+02:00", closes=None),
    "ei-kuulemista": map_file("ei-kuulemista", consultation=False),
}


def write_maps(layers_dir: Path, maps: dict[str, dict[str, Any]]) -> Path:
    """Write map files into ``layers_dir/maps``; returns ``layers_dir``."""
    (layers_dir / "maps").mkdir(parents=True, exist_ok=True)
    for map_id, definition in maps.items():
        (layers_dir / "maps" / f"{map_id}.json").write_text(json.dumps(definition), "utf-8")
    return layers_dir


@pytest.fixture
def layers_dir(tmp_path: Path) -> Path:
    """A layers directory holding only the test maps."""
    return write_maps(tmp_path / "layers", MAPS)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path, layers_dir: Path) -> Settings:
    """The test maps on each backend; a rate limit far above what these tests post."""
    database_url = request.getfixturevalue("postgis_url") if request.param == "postgis" else None
    return Settings(data_dir=tmp_path / "data", layers_dir=layers_dir,
                    database_url=database_url, comment_rate_limit="1000/minute")


@pytest.fixture
def plan(add_layer: LayerBuilder) -> str:
    """The maps' plan layer: 20 buildings, feature ids 1-20."""
    add_layer(PLAN_LAYER, make_buildings(20))
    return PLAN_LAYER


@pytest.fixture
def token(app: Any) -> str:
    """An active staff token."""
    return str(services_of(app).tokens.create("kirjaamo"))


def auth(token: str) -> dict[str, str]:
    """The staff Authorization header."""
    return {"Authorization": f"Bearer {token}"}


def comment(**overrides: Any) -> dict[str, Any]:
    """A valid comment body for map ``kaava``; ``None`` values drop the member."""
    body: dict[str, Any] = {"text": "Tähän puisto, ei parkkipaikkaa.", "geometry": INSIDE,
                            "language": "fi", "name": "Åsa Öberg",
                            "email": "asa.oberg@example.fi"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


Poster = Callable[..., Any]


@pytest.fixture
def post(client: Any) -> Poster:
    """``post(body, map_id="kaava", key=None)``: POST a comment, with an Idempotency-Key."""

    def send(body: Any, *, map_id: str = "kaava", key: str | None = None,
             headers: dict[str, str] | None = None) -> Any:
        all_headers = {"Idempotency-Key": key} if key else {}
        all_headers |= headers or {}
        return client.post(f"/maps/{map_id}/comments", json=body, headers=all_headers)

    return send


def new_key() -> str:
    """A fresh idempotency key, as the widget makes one per comment."""
    return str(uuid.uuid4())
