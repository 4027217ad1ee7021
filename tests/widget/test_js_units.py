"""The widget's pure JavaScript (webmap/widget/static/shapes.js) under ``node --test``."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def test_shape_geometry_units_pass_in_node() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("WEBMAP_REQUIRE_BROWSER") == "1":
            pytest.fail("node is required here for the widget's JavaScript unit tests")
        pytest.skip("node is not installed")
    done = subprocess.run([node, "--test", "tests/js/"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout
