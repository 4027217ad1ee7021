"""Feature edits (OGC API - Features Part 4): create, replace, update and delete one feature.

An edit is a new version of the layer made through the store's import path: holding the
layer's import lock, the current features are read, the change is applied, and the result is
normalised (geometry validated and repaired as at import) and swapped in atomically. So an
edit bumps the layer's version (tiles, search and ETags follow at once), keeps every other
feature's id, and is visible to every worker and host on both backends. Optimistic locking:
each feature has an entity tag made of its content; a write that names a stale one is refused
(412) inside the lock, so two editors cannot overwrite each other unknowingly.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from . import crs
from .ingest import import_source
from .problems import FeatureNotFound, InvalidParameter, Problem
from .store.base import Store
from .types import CRS84, ItemPage, ItemQuery, LayerInfo, LayerKind, NormalisedLayer

MAX_EDITABLE = 200_000
"""Features a layer may hold to be edited feature by feature (each edit rewrites it)."""


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotEditable(Problem):
    """405: the layer was not made editable."""

    status = 405
    title = "Method not allowed"

    def __init__(self, layer_id: str, allowed: str) -> None:
        super().__init__(f"layer {layer_id!r} is not editable; staff make it so with "
                         f"`webmap layers import … --id {layer_id} --editable` or the staff "
                         "API's editable=true", headers={"Allow": allowed})


class PreconditionFailed(Problem):
    """412: the feature changed since the client read it."""

    status = 412
    title = "Precondition failed"


def etag(page: ItemPage, index: int = 0) -> str:
    """A strong entity tag of one feature's content (geometry and properties)."""
    digest = hashlib.sha256(shapely.to_wkb(page.geometries[index], hex=False))
    digest.update(orjson.dumps(page.properties[index], option=orjson.OPT_SORT_KEYS,
                               default=str))
    return f'"{digest.hexdigest()[:32]}"'


def check_match(if_match: str | None, current_tag: str) -> None:
    """``If-Match`` against the feature's tag; absent or ``*`` always matches."""
    if not if_match or if_match.strip() == "*":
        return
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if current_tag not in tags:
        raise PreconditionFailed("the feature was changed by someone else since you read it "
                                 "(its ETag differs from If-Match); read it again and redo "
                                 "the edit")


@dataclasses.dataclass(frozen=True)
class Change:
    """One edit: ``op`` create/replace/update/delete, the target fid (None for create), the
    GeoJSON feature or merge patch, the CRS of its coordinates and the client's If-Match."""

    op: str
    fid: int | None = None
    body: Mapping[str, Any] | None = None
    content_crs: str = "CRS84"
    if_match: str | None = None


def _geometry(value: Any, content_crs: str) -> Any:
    """A GeoJSON geometry in ``content_crs`` (its axis order) as a CRS84 shapely geometry."""
    if not isinstance(value, Mapping) or "type" not in value:
        raise InvalidParameter("geometry", "geometry must be a GeoJSON geometry object")
    try:
        geometry = shapely.from_geojson(orjson.dumps(value).decode())
    except Exception:  # noqa: BLE001 - shapely raises several kinds for bad GeoJSON
        raise InvalidParameter("geometry", "geometry is not valid GeoJSON") from None
    if geometry is None or geometry.is_empty:
        raise InvalidParameter("geometry", "geometry is empty")
    if content_crs != "CRS84":
        geoms = np.array([geometry], dtype=object)
        if crs.northing_first(content_crs):
            geoms = crs.swap_axes(geoms)
        geometry = crs.transform_geometries(geoms, content_crs, "CRS84")[0]
    return geometry


def _family(name: str) -> str:
    return name.removeprefix("Multi")


def _same_family(geometry: Any, info: LayerInfo) -> Any:
    """The geometry, if it is of the layer's family (points, lines or polygons)."""
    if info.geometry_type in {"Point", "MultiPoint", "LineString", "MultiLineString",
                              "Polygon", "MultiPolygon"} \
            and _family(geometry.geom_type) != _family(info.geometry_type):
        raise InvalidParameter("geometry", f"this collection holds {info.geometry_type} "
                               f"geometries, not {geometry.geom_type}")
    return geometry


def _properties(value: Any, info: LayerInfo) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameter("properties", "properties must be a JSON object")
    names = {f.name for f in info.fields}
    unknown = sorted(set(value) - names)
    if unknown:
        raise InvalidParameter("properties", f"unknown properties {', '.join(unknown)}; "
                               f"this collection has: {', '.join(sorted(names)) or 'none'}")
    return dict(value)


def _frame(store: Store, info: LayerInfo) -> tuple[gpd.GeoDataFrame, ItemPage]:
    page = store.items(info, ItemQuery(limit=info.feature_count + 1, count=False))
    frame = gpd.GeoDataFrame(
        pd.DataFrame(page.properties, columns=[f.name for f in info.fields],
                     index=pd.Index(page.ids, dtype="int64")),
        geometry=gpd.GeoSeries(page.geometries, index=pd.Index(page.ids, dtype="int64")),
        crs=CRS84)
    return frame, page


def apply(store: Store, layer_id: str, change: Change) -> tuple[int, str | None]:
    """Apply ``change`` to ``layer_id``; the feature id and its new ETag (None after a
    delete). Raises 404, 400 or 412 problems; on any failure the layer is unchanged."""
    outcome: dict[str, Any] = {}
    if not store.layer(layer_id).editable:
        raise NotEditable(layer_id, "GET, HEAD, OPTIONS")

    def importer(workdir: Path) -> NormalisedLayer:
        info = store.layer(layer_id)
        if not info.editable:
            raise NotEditable(layer_id, "GET, HEAD, OPTIONS")
        if info.kind is not LayerKind.VECTOR:
            raise InvalidParameter("collectionId", f"{layer_id!r} is a raster: it has no "
                                   "features to edit")
        if info.feature_count > MAX_EDITABLE:
            raise InvalidParameter("collectionId", f"{layer_id!r} has more than "
                                   f"{MAX_EDITABLE} features; replace it by importing a file")
        frame, page = _frame(store, info)
        fid = change.fid
        if change.op != "create":
            if fid is None or fid not in frame.index:
                raise FeatureNotFound(layer_id, str(fid))
            position = int(np.flatnonzero(frame.index.to_numpy() == fid)[0])
            check_match(change.if_match, etag(page, position))
        body = change.body or {}
        if change.op == "delete":
            frame = frame.drop(index=fid)
        elif change.op in {"create", "replace"}:
            if body.get("type") != "Feature":
                raise InvalidParameter("body", "send a GeoJSON Feature "
                                       '({"type": "Feature", "geometry": …, "properties": …})')
            geometry = _same_family(_geometry(body.get("geometry"), change.content_crs), info)
            props = _properties(body.get("properties"), info)
            if change.op == "create":
                fid = max(int(frame.index.max()) if len(frame) else 0, info.max_fid,
                          _fid_high(store, layer_id)) + 1
            row = {f.name: props.get(f.name) for f in info.fields}
            new = gpd.GeoDataFrame(pd.DataFrame([row], index=pd.Index([fid], dtype="int64")),
                                   geometry=[geometry], crs=CRS84)
            frame = pd.concat([frame.drop(index=fid, errors="ignore"), new]).sort_index()
        elif change.op == "update":
            if not isinstance(body, Mapping):
                raise InvalidParameter("body", "send a JSON merge patch object")
            if "geometry" in body and body["geometry"] is not None:
                frame.loc[fid, frame.geometry.name] = _same_family(
                    _geometry(body["geometry"], change.content_crs), info)
            for name, value in _properties(body.get("properties"), info).items():
                frame[name] = frame[name].astype(object)  # _typed checks the value
                frame.loc[fid, name] = value  # null removes the value (merge patch)
        else:  # pragma: no cover - the API only sends the four
            raise ValueError(change.op)
        if not len(frame):
            raise InvalidParameter("body", "a layer keeps at least one feature; remove the "
                                   "layer instead")
        frame = _typed(frame, info)
        source = workdir / "edited.gpkg"
        frame.to_file(source, driver="GPKG", engine="pyogrio", index=False)
        layer = import_source(source, layer_id=layer_id, workdir=workdir, title=info.title,
                              id_field=info.id_field or None,
                              previous_id_field=info.id_field or None, crs="EPSG:4326",
                              source_crs=info.source_crs or None)
        if len(layer.frame) != len(frame):
            raise InvalidParameter("geometry", "the geometry could not be repaired")
        layer.fids = frame.index.to_numpy(dtype=np.int64)
        layer.report = dataclasses.replace(layer.report, time_field=info.time_field,
                                           time_extent=_extent(layer.frame, info),
                                           editable=info.editable)
        outcome["fid"] = fid
        return layer

    info = store.layer(layer_id)
    store.import_layer(layer_id, importer, attribution=info.attribution,
                       description=info.description)
    fid = int(outcome["fid"])
    if change.op == "delete":
        return fid, None
    fresh = store.layer(layer_id)
    return fid, etag(store.item(fresh, fid))


def _typed(frame: gpd.GeoDataFrame, info: LayerInfo) -> gpd.GeoDataFrame:
    """Each column in its field's type (edits may leave object columns); a value that does
    not fit its field is a 400 naming it."""
    for field in info.fields:
        column = frame[field.name]
        try:
            if field.type == "integer":
                numbers = pd.to_numeric(column, errors="raise")
                if (numbers.dropna() % 1 != 0).any():
                    raise ValueError
                frame[field.name] = numbers.astype("Int64")
            elif field.type == "number":
                frame[field.name] = pd.to_numeric(column, errors="raise").astype("float64")
            elif field.type == "boolean":
                if not column.dropna().map(lambda v: isinstance(v, bool | np.bool_)).all():
                    raise ValueError
                frame[field.name] = column.astype("boolean")
            elif field.type == "datetime":
                frame[field.name] = pd.to_datetime(column, utc=True, format="ISO8601")
            elif field.type == "date":
                stamps = pd.to_datetime(column, format="ISO8601")
                frame[field.name] = [None if pd.isna(v) else v.date() for v in stamps]
            else:
                frame[field.name] = [None if v is None or (isinstance(v, float) and np.isnan(v))
                                     else str(v) for v in column]
        except (ValueError, TypeError):
            article = "an" if field.type[0] in "aeiou" else "a"
            raise InvalidParameter("properties", f"{field.name} is {article} {field.type}; "
                                   "a value sent does not fit") from None
    return frame


def _fid_high(store: Store, layer_id: str) -> int:
    catalogue = getattr(store, "catalogue", None)
    if catalogue is None:
        return 0
    with catalogue.database.transaction() as conn:
        return int(catalogue.fid_high(conn, layer_id))


def _extent(frame: Any, info: LayerInfo) -> tuple[str | None, str | None]:
    from .layers import _time_extent

    if not info.time_field or info.time_field not in frame.columns:
        return (None, None)
    return _time_extent(frame, info.time_field)


def edit(store: Store, layer_id: str, op: str, *, fid: int | None = None,
         body: Any = None, content_crs: str = "CRS84",
         if_match: str | None = None) -> tuple[int, str | None]:
    """Convenience wrapper around ``apply``."""
    return apply(store, layer_id, Change(op, fid, body, content_crs, if_match))

