"""Normalise a read layer (SPEC §3): clean geometries, one CRS (CRS84), tidy attribute names."""

from __future__ import annotations

import re
import unicodedata

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from ..crs import covers, transform_geometries
from ..problems import ImportFailed
from ..types import BBox, ImportReport, LayerKind, NormalisedLayer
from . import sourcecrs
from .ids import choose_id_field
from .read import RawLayer

RESERVED = frozenset({"fid", "geometry", "geom"})
NOT_WORD_RE = re.compile(r"\W+")
EDGE_RE = re.compile(r"^\W+|\W+$")
AREA_TOLERANCE_DEG = 2.0
"""GK zones are used well beyond their 1° band (Turku in GK23), so the area check is lenient."""
FAMILY = {0: "Point", 4: "Point", 1: "LineString", 5: "LineString",
          3: "Polygon", 6: "Polygon", 7: "GeometryCollection"}
SINGLE = {"Point": 0, "LineString": 1, "Polygon": 3}
MULTI = {"Point": 4, "LineString": 5, "Polygon": 6}
MAKE_MULTI = {"Point": shapely.multipoints, "LineString": shapely.multilinestrings,
              "Polygon": shapely.multipolygons}


def normalise_vector(raw: RawLayer, *, layer_id: str, title: str, crs: str | None,
                     what: str, id_field: str | None = None,
                     previous_id_field: str | None = None) -> NormalisedLayer:
    """The layer in CRS84 with repaired, consistent geometries and clean attribute names.

    ``id_field`` names the attribute that identifies features (``none``: none); without it,
    ``previous_id_field`` (the replaced version's) or the first unique id-like column is used.
    """
    if raw.geometries is None:
        raise ImportFailed(f"{what} has no geometries")
    notes = list(raw.warnings)
    geoms, rows, repaired, dropped = clean_geometries(raw.geometries)
    if len(geoms) == 0:
        raise ImportFailed(f"{what} has no features with a geometry"
                           + (f" ({dropped} empty or missing were dropped)" if dropped else ""))
    geoms, geometry_type, family_notes = unify_types(geoms)
    notes += family_notes
    code, crs_notes = sourcecrs.resolve(raw.crs_text, crs, driver=raw.driver,
                                        bounds=total_bounds(geoms), what=what)
    notes += crs_notes
    geoms = to_crs84(geoms, rows, code)
    bbox = total_bounds(geoms)
    if not covers(code, bbox, tolerance_deg=AREA_TOLERANCE_DEG):
        notes.append(f"the data lie outside the area where {code} is used; check the CRS")
    if repaired:
        notes.append(f"{repaired} invalid geometries were repaired")
    if dropped:
        notes.append(f"{dropped} features without a usable geometry were left out")
        collapsed = _collapsed_areas(raw.geometries)
        if collapsed:
            notes.append(f"{collapsed} of them are areas with fewer than 3 distinct corners "
                         "(as when a building is cut at the edge of an extract): their outline "
                         "is not in the file, so no repair can draw them; import a larger "
                         "extract to keep them")
    frame = raw.frame.iloc[rows].reset_index(drop=True)
    originals = [str(c) for c in frame.columns]
    frame.columns = clean_names(originals)
    chosen, id_notes = choose_id_field(frame, list(frame.columns), originals,
                                       requested=id_field, previous=previous_id_field,
                                       what=what)
    notes += id_notes
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="OGC:CRS84"))
    report = ImportReport(layer_id=layer_id, kind=LayerKind.VECTOR, title=title,
                          feature_count=len(gdf), source_crs=code, bbox=bbox,
                          geometry_type=geometry_type, repaired=repaired, dropped=dropped,
                          warnings=tuple(notes), id_field=chosen)
    return NormalisedLayer(report=report, frame=gdf, id_field=chosen)


def _collapsed_areas(geoms: npt.NDArray[np.object_]) -> int:
    """Polygons in the source whose every ring has fewer than 3 distinct corners."""
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    types = shapely.get_type_id(present)
    areas = present[(types == 3) | (types == 6)]
    if len(areas) == 0:
        return 0
    small = areas[shapely.get_num_coordinates(areas) <= 8]
    count = 0
    for geom in small:
        if len({tuple(c) for c in shapely.get_coordinates(geom).round(9)}) < 3:
            count += 1
    return count


def total_bounds(geoms: npt.NDArray[np.object_]) -> BBox:
    """minx, miny, maxx, maxy of all geometries, as plain floats."""
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
    return (minx, miny, maxx, maxy)


def clean_geometries(geoms: npt.NDArray[np.object_]
                     ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.intp], int, int]:
    """2-D, valid, non-empty geometries; also their source rows, the repaired and dropped counts.

    Everything works on arrays (shapely 2); coordinates that are not finite numbers refuse the
    import, naming the first such feature.
    """
    rows = np.arange(len(geoms))
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms, rows = geoms[present], rows[present]
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    invalid = ~shapely.is_valid(geoms) | _has_empty_ring(geoms)
    repaired = 0
    if invalid.any():
        _refuse_non_finite(geoms[invalid], rows[invalid])
        geoms = geoms.copy()
        # set_precision(…, 0) drops empty rings (GEOS calls them valid; PostGIS refuses them)
        geoms[invalid] = shapely.make_valid(shapely.set_precision(geoms[invalid], 0.0),
                                            method="structure", keep_collapsed=False)
        usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        repaired = int((invalid & usable).sum())
        geoms, rows = geoms[usable], rows[usable]
    dropped = len(present) - len(geoms)
    return geoms, rows, repaired, dropped


def _has_empty_ring(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    """Polygons with an empty ring, e.g. GeoJSON ``[[…], []]``: only polygons with holes and
    multipolygons are looked at, so a layer of simple polygons costs one pass."""
    found = np.zeros(len(geoms), dtype=bool)
    types = shapely.get_type_id(geoms)
    candidates = np.flatnonzero(((types == 3) & (shapely.get_num_interior_rings(geoms) > 0))
                                | (types == 6))
    if len(candidates) == 0:
        return found
    parts, owner = shapely.get_parts(geoms[candidates], return_index=True)
    rings, part = shapely.get_rings(parts, return_index=True)
    empty_parts = np.unique(part[shapely.is_empty(rings)])
    found[candidates[np.unique(owner[empty_parts])]] = True
    return found


def _refuse_non_finite(geoms: npt.NDArray[np.object_], rows: npt.NDArray[np.intp]) -> None:
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        raise ImportFailed(f"feature {int(rows[index[bad][0]]) + 1} has coordinates that are not "
                           "numbers (NaN or infinity); fix or remove it and import again")


def unify_types(geoms: npt.NDArray[np.object_]
                ) -> tuple[npt.NDArray[np.object_], str, list[str]]:
    """Promote single parts to multi where a family mixes them; name the stored type."""
    type_ids = shapely.get_type_id(geoms)
    present = {int(t) for t in np.unique(type_ids)}
    families = {FAMILY[t] for t in present}
    if len(families) > 1:
        kinds = ", ".join(sorted(f.lower() + "s" for f in families))
        return geoms, "Geometry", [f"the layer mixes {kinds}; kept as geometry type Geometry "
                                   "(styles and some clients expect one kind)"]
    family = families.pop()
    if family == "GeometryCollection":
        return geoms, family, []
    if present == {SINGLE[family]}:
        return geoms, family, []
    if present == {MULTI[family]}:
        return geoms, f"Multi{family}", []
    singles = np.flatnonzero(type_ids != MULTI[family])
    geoms = geoms.copy()
    geoms[singles] = MAKE_MULTI[family](geoms[singles], indices=np.arange(len(singles)))
    return geoms, f"Multi{family}", []


def to_crs84(geoms: npt.NDArray[np.object_], rows: npt.NDArray[np.intp],
             code: str) -> npt.NDArray[np.object_]:
    """Reproject to CRS84 and refuse coordinates that land outside longitude/latitude range."""
    with np.errstate(all="ignore"):
        out = transform_geometries(geoms, code, "CRS84")
        bounds = shapely.bounds(out)
    finite = np.isfinite(bounds).all(axis=1)
    inside = finite & (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90) \
        & (bounds[:, 3] <= 90)
    if not inside.all():
        first = int(np.flatnonzero(~inside)[0])
        coords = shapely.get_coordinates(geoms[first])
        x, y = coords[np.abs(coords).max(axis=1).argmax()]
        raise ImportFailed(f"feature {int(rows[first]) + 1} has coordinates outside the valid "
                           f"range of {code} (e.g. {x:.6g}, {y:.6g}); check the coordinates "
                           "and the CRS")
    return np.asarray(out, dtype=object)


def clean_names(names: list[str]) -> list[str]:
    """Lower-case, trimmed, one ``_`` for each run of characters other than letters, digits and
    ``_``, no leading digit, unique, never ``fid``/``geometry``/``geom``."""
    taken: set[str] = set()
    out: list[str] = []
    for name in names:
        text = EDGE_RE.sub("", unicodedata.normalize("NFC", name).lower())
        base = NOT_WORD_RE.sub("_", text) or "field"
        if base[0].isdigit():
            base = "_" + base
        candidate, counter = base, 0
        while candidate in taken or candidate in RESERVED:
            counter += 1
            candidate = f"{base}_{counter}"
        taken.add(candidate)
        out.append(candidate)
    return out
