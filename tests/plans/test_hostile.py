"""Hostile plan files: every member of a real plan replaced by a value of the wrong kind gives
a plan or a clear ``ImportFailed``, never another exception."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plans.conftest import DP225, KOHDISTUS
from webmap.plans.layers import plan_layers
from webmap.plans.read import read_document, read_plan
from webmap.problems import ImportFailed

WRONG: list[Any] = [None, "x", -1.5, True, [], {}, [[1, 2]], {"type": "Point"}]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every member path, not descending into coordinate arrays."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            if key != "coordinates":
                yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from paths(item, (*prefix, index))


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize("name", [KOHDISTUS, DP225])
def test_wrong_members_are_refused_clearly(shared: Path, name: str) -> None:
    document = json.loads((shared / name).read_text(encoding="utf-8"))
    if "features" in document:  # the plan, its use provision, a line and an area provision
        document["features"] = document["features"][:4]
    tried, details = 0, []
    for path in paths(document):
        for value in WRONG:
            tried += 1
            try:
                plan_layers(read_document(replaced(document, path, value), plan_id="p"))
            except ImportFailed as exc:
                details.append((path, value, exc.detail))
    assert tried > 1000
    assert details, "some mutations must be refused"
    assert [d for d in details if not d[2] or "\n" in d[2]] == []


def test_json_constants_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"planKey": "k", "planObjects": [], "x": NaN}', encoding="utf-8")
    with pytest.raises(ImportFailed, match="NaN"):
        read_plan(bad, plan_id="p")
    bad.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(ImportFailed, match="nests"):
        read_plan(bad, plan_id="p")
