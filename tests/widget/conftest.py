"""An app over a temporary layers directory, for map and widget tests (backend-neutral)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import open_app
from webmap.settings import Settings


@pytest.fixture
def write_map(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write a map file into the temporary layers directory."""
    maps = tmp_path / "layers" / "maps"
    maps.mkdir(parents=True, exist_ok=True)

    def write(data: dict[str, Any]) -> Path:
        path = maps / f"{data['id']}.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def make_widget_app(tmp_path: Path) -> Callable[[], Any]:
    """Build the embedded app over ``tmp_path/layers`` (after the test wrote its maps)."""

    def make() -> Any:
        app = open_app(Settings(data_dir=tmp_path / "data", layers_dir=tmp_path / "layers"))
        app.config["TESTING"] = True
        return app

    return make
