"""Fixtures for the ingest tests: a scratch workdir, an import helper, the shared real data."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from webmap.ingest import import_source
from webmap.types import NormalisedLayer

SHARED_DATA = next((folder / "shared" / "data" for folder in Path(__file__).resolve().parents
                    if (folder / "shared" / "data").is_dir()),
                   Path(__file__).resolve().parents[2].parent / "shared" / "data")
"""The shared real data beside the checkout (found from a worktree too)."""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The empty scratch folder the store would hand to the importer."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def load(workdir: Path) -> Callable[..., NormalisedLayer]:
    """``load(path, **options)`` imports into ``workdir`` with layer id ``test``."""

    def run(path: Path, **options: Any) -> NormalisedLayer:
        return import_source(path, layer_id="test", workdir=workdir, **options)

    return run


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable copy of /work/shared/data (GDAL may rewrite files it opens in place)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the shared real data are not at {SHARED_DATA}")
    copy = tmp_path_factory.mktemp("shared") / "data"
    shutil.copytree(SHARED_DATA, copy)
    for item in [copy, *copy.rglob("*")]:
        item.chmod(item.stat().st_mode | 0o200)
    return copy
