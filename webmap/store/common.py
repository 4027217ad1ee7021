"""What both backends share: layer ids, attribute types, version names, bbox tests, scratch."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..database import make_private_dir
from ..ingest.ids import keys_of
from ..problems import ImportFailed, Problem
from ..types import BBox, LayerInfo, LayerKind

LAYER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
BROAD_SHARE = 0.2
"""A bbox covering more than this share of the layer's extent is scanned in fid order with an
index check per row; a smaller one is looked up in the spatial index first."""


def check_layer_id(layer_id: str) -> str:
    """Layer ids are lower-case letters, digits, ``_`` and ``-``: safe in paths, URLs and SQL."""
    if not LAYER_ID_RE.match(layer_id):
        raise ImportFailed(f"layer id {layer_id!r} must be 1–64 lower-case letters, digits, "
                           "'_' or '-', starting with a letter or digit", status=400)
    return layer_id


def field_type(column: pd.Series) -> str:
    """The JSON Schema type (or date/datetime) of a pandas column."""
    dtype = column.dtype
    if pd.api.types.is_object_dtype(dtype):
        present = column.dropna()
        if len(present) and all(isinstance(v, date) and not isinstance(v, datetime)
                                for v in present.iloc[:100]):
            return "date"
        return "string"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def new_version() -> str:
    """A layer version name: sortable by time, unique across hosts."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def overlaps(a: BBox, b: BBox) -> bool:
    """Whether two bboxes meet."""
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]


def broad(bbox: BBox, extent: BBox) -> bool:
    """True where the bbox covers a large share of the layer's extent."""
    ix = max(0.0, min(bbox[2], extent[2]) - max(bbox[0], extent[0]))
    iy = max(0.0, min(bbox[3], extent[3]) - max(bbox[1], extent[1]))
    area = max((extent[2] - extent[0]) * (extent[3] - extent[1]), 1e-18)
    return ix * iy / area > BROAD_SHARE


def require_vector(info: LayerInfo) -> LayerInfo:
    """``info`` when it is a vector layer; a 400 naming the collection otherwise."""
    if info.kind is not LayerKind.VECTOR:
        raise Problem(f"collection {info.id!r} is a raster and has no features",
                      status=400, title="Not a vector layer")
    return info


def require_raster(info: LayerInfo) -> LayerInfo:
    """``info`` when it is a raster layer; a 400 naming the collection otherwise."""
    if info.kind is not LayerKind.RASTER:
        raise Problem(f"collection {info.id!r} is a vector layer: ask for MVT tiles",
                      status=400, title="Not a raster layer")
    return info


KEPT = "kept"
"""``tmp/kept``: uploads the staff page keeps for the next try; it expires them itself."""


def sweep_scratch(data_dir: Path, older_than_s: float) -> list[str]:
    """Remove what a killed import or upload left in ``data_dir/tmp``: every entry not
    changed for ``older_than_s`` seconds (younger ones may be another worker's work).
    Returns the names removed."""
    root = data_dir / "tmp"
    if not root.is_dir():
        return []
    limit = time.time() - older_than_s
    removed = []
    for entry in root.iterdir():
        if entry.name == KEPT:
            continue
        try:
            if entry.lstat().st_mtime > limit:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        except OSError:
            continue
        removed.append(entry.name)
    return removed


@contextmanager
def scratch_dir(data_dir: Path) -> Iterator[Path]:
    """A private folder under ``data_dir/tmp`` for one import, removed afterwards."""
    scratch = make_private_dir(data_dir / "tmp") / uuid.uuid4().hex
    scratch.mkdir()
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass(frozen=True)
class FidPlan:
    """The feature ids of a new layer version, in the frame's row order."""

    fids: npt.NDArray[np.int64]
    max_fid: int
    fid_high: int
    notes: tuple[str, ...] = ()


def plan_fids(frame: pd.DataFrame, id_field: str, previous: Mapping[str, int] | None, *,
              high: int, given: Any = None) -> FidPlan:
    """Ids for a version: a feature whose id attribute value was in the previous version keeps
    that version's id; a new one gets an id never given before (above ``high``). Without an
    id attribute the features are numbered 1..N in file order."""
    count = len(frame)
    if given is not None:
        fids = np.asarray(given, dtype=np.int64)
        top = int(fids.max(initial=0))
        return FidPlan(fids, top, max(high, top))
    if not id_field:
        fids = np.arange(1, count + 1, dtype=np.int64)
        positional: tuple[str, ...] = (() if previous is None else
                 ("the layer has no id attribute: feature ids are positions in the file, so "
                  "comments and links to features may now point at other features",))
        return FidPlan(fids, count, max(high, count), positional)
    keys = keys_of(frame[id_field])
    known = previous or {}
    fids = np.empty(count, dtype=np.int64)
    kept = 0
    next_fid = max(high, max(known.values(), default=0))
    for i, key in enumerate(keys):
        fid = known.get(key) if key is not None else None
        if fid is None:
            next_fid += 1
            fid = next_fid
        else:
            kept += 1
        fids[i] = fid
    notes: tuple[str, ...] = ()
    if previous is not None:
        removed = len(known) - kept
        notes = (f"feature ids follow {id_field!r}: {kept} features kept their ids, "
                 f"{count - kept} are new, {removed} are no longer in the layer",)
    return FidPlan(fids, int(fids.max(initial=0)), next_fid, notes)
