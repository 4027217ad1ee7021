"""The README documents every setting (as datasette's tests/test_docs.py does for its docs)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from webmap.settings import documented_settings

README = ROOT / "README.md"


@pytest.mark.parametrize("variable", [row[0] for row in documented_settings()])
def test_readme_lists_every_setting(variable: str) -> None:
    if not README.is_file():
        pytest.skip(f"{README} is not written yet")
    text = README.read_text("utf-8")
    assert re.search(rf"\b{variable}\b", text), f"README.md does not mention {variable}"
