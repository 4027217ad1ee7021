"""An independent OGC API - Features validator, ``ogctests`` from PyPI, against the demo on a
live gunicorn server.

``ogctests`` (pinned as ``OGCTESTS_VERSION``) conflicts with webmap's own dependencies, so it
lives in its own virtual environment, ``.ci/ogctests-venv``, which ``.ci/run`` creates. It is
run as a subprocess with its own empty pytest configuration and reports as JUnit XML.

Part 1 core (``features/core``, 29 abstract tests): every test must pass.

Filtering (``features/filtering``, Part 3 conformance tests ct1-ct10): only ct1, ct4 and ct6
(the conformance declarations) can pass with this version, whatever the server does. The
others fail because of bugs in the validator itself, listed in ``VALIDATOR_BUGS`` with the
failure each one produces; the test asserts that they fail with exactly that failure (so a
server regression that changes the failure is caught) and checks the requirement each of them
means to check directly, in ``test_what_the_broken_filtering_tests_mean_to_check``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET  # noqa: S405 - the validator's own report, written here
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ROOT, LiveServer

OGCTESTS_VERSION = "0.1.15"
VENV_PYTHON = ROOT / ".ci" / "ogctests-venv" / "bin" / "python"
REQUIRED = os.environ.get("WEBMAP_REQUIRE_VALIDATOR") == "1"
RUN_TIMEOUT_S = 60
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

CORE_TESTS = {f"test_ast{n}" for n in range(1, 30)}
FILTERING_PASSES = {"test_ct1", "test_ct4", "test_ct6"}
VALIDATOR_BUGS: dict[str, tuple[str, str]] = {
    "test_ct2": ("No link with relation [ogc-rel:queryables]",
                 "reads the Link header without unquoting: a relation URI must be quoted "
                 "(RFC 8288), so rel=\"http://...\" never equals the bare URI it looks for; "
                 "it would also store the target under 'href', which its parser never sets"),
    "test_ct3": ("No queryables_uri for collection",
                 "needs the queryables URI that ct2 failed to find"),
    "test_ct5": ("KeyError: 'queryable'",
                 "needs the sample queryable that ct3 stores; it would then expect 400 for "
                 "the string '[invalid-value]', a valid value of a string property"),
    "test_ct7": ("KeyError: 'queryable'",
                 "needs ct3's sample queryable; it would then send a dict as filter-lang"),
    "test_ct8": ("KeyError: 'queryable'",
                 "needs ct3's sample queryable, then indexes that string as a dict"),
    "test_ct9": ("KeyError: 'additional_properties'",
                 "needs what ct3 stores; it would then send a bare name as a filter"),
    "test_ct10": ("KeyError: 'spatial_queryable'",
                  "needs what ct3 stores; it then names an undefined CQL2_FILTER_LANG"),
}

RUNNER = """
import pathlib, sys
import ogctests
from ogctests.main import run_ogctests
scope, url, report, ini = sys.argv[1:5]
package = str(pathlib.Path(ogctests.__file__).parent)
sys.exit(run_ogctests(scope, url, ["-q", "--tb=line", "-p", "no:cacheprovider",
                                   "-c", ini, "--rootdir", package, "--confcutdir", package,
                                   "--junit-xml", report]))
"""

needs_validator = pytest.mark.skipif(
    not VENV_PYTHON.is_file() and not REQUIRED,
    reason=f"the validator's venv {VENV_PYTHON.parent.parent} is missing (python3 -m venv "
           f".ci/ogctests-venv && .ci/ogctests-venv/bin/pip install ogctests=="
           f"{OGCTESTS_VERSION}); WEBMAP_REQUIRE_VALIDATOR=1 makes this fail")


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``webmap demo`` into a fresh data dir, served by gunicorn (as ``make run`` does)."""
    data_dir = tmp_path_factory.mktemp("ogc-demo") / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBMAP_")}
    env |= {"WEBMAP_DATA_DIR": str(data_dir), "WEBMAP_LAYERS_DIR": str(ROOT / "layers")}
    done = subprocess.run([sys.executable, "-m", "webmap", "demo"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    server = LiveServer(data_dir)
    yield server.url
    server.stop()


def _validate(scope: str, url: str, tmp_path: Path) -> dict[str, str | None]:
    """Run one scope of the validator; each test's name and its failure (None: passed)."""
    assert VENV_PYTHON.is_file(), f"WEBMAP_REQUIRE_VALIDATOR=1 but {VENV_PYTHON} is missing"
    version = subprocess.run([str(VENV_PYTHON), "-c",
                              "import importlib.metadata as m; print(m.version('ogctests'))"],
                             capture_output=True, text=True, timeout=30, check=True)
    assert version.stdout.strip() == OGCTESTS_VERSION, "the expectations are for this version"
    report, ini = tmp_path / f"{scope.replace('/', '-')}.xml", tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n", "utf-8")
    run = subprocess.run([str(VENV_PYTHON), "-c", RUNNER, scope, url, str(report), str(ini)],
                         capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False,
                         cwd=tmp_path, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                            "HOME": str(tmp_path)})
    assert report.is_file(), f"no report (exit {run.returncode}):\n{run.stdout}\n{run.stderr}"
    results: dict[str, str | None] = {}
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314 - our own file
        problem = next((case.find(tag) for tag in ("failure", "error", "skipped")
                        if case.find(tag) is not None), None)
        results[case.get("name", "")] = (None if problem is None else
                                         f"{problem.tag}: {problem.get('message', '')}")
    return results


@needs_validator
def test_validator_passes_part_1_core(demo_url: str, tmp_path: Path) -> None:
    results = _validate("features/core", demo_url, tmp_path)
    assert set(results) == CORE_TESTS
    failed = {name: why for name, why in results.items() if why is not None}
    assert not failed, json.dumps(failed, indent=1)


@needs_validator
def test_validator_filtering_fails_only_by_its_own_bugs(demo_url: str, tmp_path: Path) -> None:
    results = _validate("features/filtering", demo_url, tmp_path)
    assert set(results) == FILTERING_PASSES | set(VALIDATOR_BUGS)
    for name in FILTERING_PASSES:
        assert results[name] is None, f"{name}: {results[name]}"
    for name, (signature, reason) in VALIDATOR_BUGS.items():
        found = results[name]
        assert found is not None, f"{name} passes now: the validator's bug ({reason}) is fixed"
        assert signature in found, f"{name} fails differently: {found}"


def _link_targets(header: str, rel: str) -> list[str]:
    """The targets of the links with relation ``rel`` in an RFC 8288 header (quoted or not;
    webmap's targets hold no commas)."""
    targets = []
    for part in header.split(","):
        target, *params = part.split(";")
        values = dict(p.strip().split("=", 1) for p in params)
        if values.get("rel", "").strip('"') == rel:
            targets.append(target.strip().removeprefix("<").removesuffix(">"))
    return targets


def _sample(features: list[dict[str, Any]], schema: dict[str, Any]) -> tuple[str, str]:
    """A string queryable with a plain value in the first feature (the validator's 'sample
    queryable', with a value that exists)."""
    for name, prop in schema["properties"].items():
        value = features[0]["properties"].get(name)
        if (prop.get("type") == "string" and name.isascii() and name.isidentifier()
                and isinstance(value, str) and value and "'" not in value):
            return name, value
    pytest.fail(f"no string queryable with a value in {features[0]['properties']}")


def test_what_the_broken_filtering_tests_mean_to_check(demo_url: str) -> None:
    """ct2/ct3 (queryables linked from items, a valid JSON Schema), ct5 (a queryable as a query
    parameter), ct7/ct8 (filter in both languages and by default, a bad one is 400), ct9
    (unknown queryables rejected when additionalProperties is false), ct10 (a spatial filter on
    the collection's CRS84 extent keeps every feature). Needs no validator: runs always."""
    http = requests.Session()
    collections = http.get(f"{demo_url}/collections", timeout=30).json()["collections"]
    assert len(collections) >= 5
    for collection in collections:
        items = f"{demo_url}/collections/{collection['id']}/items"
        page = http.get(items, params={"limit": "50"}, timeout=30)
        assert page.status_code == 200
        hrefs = _link_targets(page.headers["Link"], QUERYABLES_REL)
        assert len(hrefs) == 1, page.headers["Link"]
        queryables = http.get(hrefs[0], headers={"Accept": "application/schema+json"},
                              timeout=30)
        assert queryables.status_code == 200
        assert queryables.headers["Content-Type"] == "application/schema+json"
        schema = queryables.json()
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == hrefs[0] and schema["type"] == "object"
        assert schema["properties"] and schema["additionalProperties"] is False
        spatial = [n for n, p in schema["properties"].items()
                   if "type" not in p and p.get("format", "").startswith("geometry-")]
        assert all("type" in p or n in spatial for n, p in schema["properties"].items())
        assert len(spatial) == 1, schema["properties"]
        name, value = _sample(page.json()["features"], schema)

        def matching(params: dict[str, str], *, name: str = name, value: str = value,
                     items: str = items) -> int:
            answer = http.get(items, params={"limit": "10000", **params}, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.headers["Content-Type"] == "application/geo+json"
            found = answer.json()["features"]
            assert found and all(f["properties"][name] == value for f in found), params
            return len(found)

        counts = {matching({name: value}),
                  matching({"filter": f"{name} = '{value}'"}),
                  matching({"filter": f"{name} = '{value}'", "filter-lang": "cql2-text"}),
                  matching({"filter": json.dumps({"op": "=", "args": [{"property": name},
                                                                      value]}),
                            "filter-lang": "cql2-json"})}
        assert len(counts) == 1, counts
        for bad in (f"{name} = ", "this_is_not_a_queryable = 1"):
            refused = http.get(items, params={"filter": bad}, timeout=30)
            assert refused.status_code == 400, (bad, refused.text)
            assert refused.headers["Content-Type"] == "application/problem+json"
        everything = http.get(items, params={"limit": "10000"}, timeout=30).json()
        x1, y1, x2, y2 = collection["extent"]["spatial"]["bbox"][0]
        within = http.get(items, params={
            "limit": "10000",
            "filter": f"S_INTERSECTS({spatial[0]}, BBOX({x1}, {y1}, {x2}, {y2}))"}, timeout=30)
        assert within.status_code == 200, within.text
        assert ({f["id"] for f in within.json()["features"]}
                == {f["id"] for f in everything["features"]})
