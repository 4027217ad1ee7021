"""Generated requests from the OpenAPI document (schemathesis) and generated GeoJSON
(hypothesis): no 5xx anywhere, every refusal a problem body."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.conftest import make_buildings, open_app
from webmap.ingest import import_source
from webmap.problems import ImportFailed
from webmap.services import services_of
from webmap.settings import Settings

_DATA = Path(tempfile.mkdtemp(prefix="webmap-fuzz-"))
_APP = open_app(Settings(data_dir=_DATA))
_REPORT = None


def _seed_layer() -> None:
    """A real layer named like the schema's examples so generated ids sometimes hit it."""
    from webmap.types import ImportReport, LayerKind, NormalisedLayer

    frame = make_buildings(50)
    report = ImportReport(layer_id="buildings", kind=LayerKind.VECTOR, title="b",
                          feature_count=50, source_crs="EPSG:3067",
                          bbox=tuple(float(v) for v in frame.total_bounds),  # type: ignore[arg-type]
                          geometry_type="Polygon")
    services_of(_APP).layers.import_layer(
        "buildings", lambda _: NormalisedLayer(report=report, frame=frame))


_seed_layer()
schema = schemathesis.openapi.from_wsgi("/api", _APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_no_server_errors(case: Any) -> None:
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        content_type = {k.lower(): v for k, v in response.headers.items()}.get("content-type")
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type and content_type.startswith("application/problem+json"), (
            case.path, response.status_code)


coordinate = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                       st.floats(-1e6, 1e6), st.integers(-10**9, 10**9))
position = st.lists(coordinate, min_size=0, max_size=4)
geometry = st.one_of(
    st.none(),
    st.fixed_dictionaries({"type": st.just("Point"), "coordinates": position}),
    st.fixed_dictionaries({"type": st.just("LineString"),
                           "coordinates": st.lists(position, max_size=5)}),
    st.fixed_dictionaries({"type": st.just("Polygon"),
                           "coordinates": st.lists(st.lists(position, max_size=6),
                                                   max_size=2)}),
    st.fixed_dictionaries({"type": st.sampled_from(["Nonsense", "", "GeometryCollection"]),
                           "coordinates": st.just([])}),
)
properties = st.dictionaries(st.text(max_size=12),
                             st.one_of(st.none(), st.text(max_size=20), st.integers(),
                                       st.floats(allow_nan=False), st.booleans()),
                             max_size=4)
feature = st.fixed_dictionaries({"type": st.just("Feature"), "geometry": geometry,
                                 "properties": properties})


@given(features=st.lists(feature, max_size=6))
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_geojson_imports_or_fails_cleanly(tmp_path: Path, features: list[Any]) -> None:
    path = tmp_path / "random.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               allow_nan=True))
    workdir = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        layer = import_source(path, layer_id="random", workdir=workdir)
    except ImportFailed as exc:
        failure = exc.detail
    else:
        failure = None
    if failure is not None:
        assert failure and "\n" not in failure and "Traceback" not in failure
        return
    frame = layer.frame
    assert len(frame) == layer.report.feature_count > 0
    bounds = frame.total_bounds
    assert np.isfinite(bounds).all()
    assert frame.geometry.is_valid.all() and not frame.geometry.is_empty.any()


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Any:
    yield
    import shutil

    shutil.rmtree(_DATA, ignore_errors=True)
