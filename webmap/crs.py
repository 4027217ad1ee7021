"""CRS identifiers, axis order and cached transformers (pyproj inside, URIs at the edges)."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from .types import CRS84, BBox

EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"

NATIONAL_EPSG: tuple[int, ...] = (
    3067, *range(3873, 3886), 2393, 3006, *range(3007, 3019), 3021,
)
"""Nordic national CRSs webmap recognises: ETRS-TM35FIN, the GK zones, KKJ/YKJ, SWEREF 99
TM and its local zones, RT90 2.5 gon V."""

OUTPUT_EPSG: tuple[int, ...] = (4326, 3067, 3006, 3857)
"""CRSs offered for every collection whose data lie inside their area of use (besides CRS84
and the layer's own)."""

_URI_RE = re.compile(
    r"^(?:https?://www\.opengis\.net/def/crs/(?P<auth>EPSG|OGC)/[0-9.]+/(?P<code>[A-Za-z0-9]+)"
    r"|\[?(?P<auth2>EPSG|OGC):(?P<code2>[A-Za-z0-9]+)\]?)$",
    re.IGNORECASE,
)


def uri(code: str) -> str:
    """The OGC URI of ``CRS84`` or ``EPSG:n``."""
    if code == "CRS84":
        return CRS84
    return EPSG_URI.format(code=code.split(":", 1)[1])


def code_from_uri(text: str) -> str:
    """``CRS84`` or ``EPSG:n`` from an OGC URI or a safe CURIE; ValueError if neither."""
    match = _URI_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a CRS URI like {EPSG_URI.format(code=3067)}")
    auth = (match.group("auth") or match.group("auth2")).upper()
    code = match.group("code") or match.group("code2")
    if auth == "OGC":
        if code.upper() != "CRS84":
            raise ValueError(f"{text!r}: the only OGC CRS supported is CRS84")
        return "CRS84"
    if not code.isdigit():
        raise ValueError(f"{text!r}: an EPSG code is a number")
    return f"EPSG:{int(code)}"


@lru_cache(maxsize=256)
def crs_of(code: str) -> CRS:
    """The pyproj CRS of ``CRS84`` or ``EPSG:n`` (cached: building one costs ~1 ms)."""
    if code == "CRS84":
        return CRS.from_user_input("OGC:CRS84")
    return CRS.from_user_input(code)


@lru_cache(maxsize=256)
def northing_first(code: str) -> bool:
    """True where the CRS's first axis points north or south (EPSG:4326, 3006, GK zones)."""
    axes = crs_of(code).axis_info
    return bool(axes) and axes[0].direction.lower() in {"north", "south"}


@lru_cache(maxsize=256)
def transformer(src: str, dst: str) -> Transformer:
    """A cached easting/longitude-first transformer between two codes."""
    return Transformer.from_crs(crs_of(src), crs_of(dst), always_xy=True)


def transform_geometries(geoms: npt.NDArray[np.object_], src: str, dst: str
                         ) -> npt.NDArray[np.object_]:
    """Transform shapely geometries (x = easting/longitude) from ``src`` to ``dst``."""
    if src == dst or (src in {"CRS84", "EPSG:4326"} and dst in {"CRS84", "EPSG:4326"}):
        return geoms
    tr = transformer(src, dst)
    out: npt.NDArray[np.object_] = shapely.transform(
        geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    return out


def swap_axes(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Swap x and y of every coordinate, for northing-first output."""
    out: npt.NDArray[np.object_] = shapely.transform(geoms, lambda xy: xy[:, ::-1].copy())
    return out


def to_output(geoms: npt.NDArray[np.object_], code: str) -> npt.NDArray[np.object_]:
    """CRS84 geometries in ``code``, with that CRS's own axis order."""
    out = transform_geometries(geoms, "CRS84", code)
    return swap_axes(out) if northing_first(code) else out


def bbox_to_crs84(bbox: BBox, code: str) -> BBox:
    """A bbox given in ``code`` (in its axis order) as a CRS84 bbox that covers it."""
    if code == "CRS84":
        return bbox
    minx, miny, maxx, maxy = bbox
    if northing_first(code):
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
    if code == "EPSG:4326":
        return (minx, miny, maxx, maxy)
    return transformer(code, "CRS84").transform_bounds(minx, miny, maxx, maxy, densify_pts=21)


def area_to_crs84(bbox: BBox, code: str) -> shapely.Polygon:
    """A bbox given in ``code`` (its axis order) as the densified CRS84 polygon it covers."""
    minx, miny, maxx, maxy = bbox
    if northing_first(code):
        minx, miny, maxx, maxy = miny, minx, maxy, maxx
    ring = shapely.segmentize(shapely.box(minx, miny, maxx, maxy),
                              max(maxx - minx, maxy - miny) / 32 or 1.0)
    area = transform_geometries(np.array([ring]), code, "CRS84")[0]
    if not shapely.is_valid(area) or not np.isfinite(shapely.bounds(area)).all():
        raise ValueError(f"the bbox lies outside {code}'s area")
    return area


def bbox_from_crs84(bbox: BBox, code: str) -> BBox:
    """A CRS84 bbox in ``code``, in that CRS's axis order."""
    if code == "CRS84":
        return bbox
    minx, miny, maxx, maxy = transformer("CRS84", code).transform_bounds(*bbox, densify_pts=21)
    if northing_first(code):
        return (miny, minx, maxy, maxx)
    return (minx, miny, maxx, maxy)


@lru_cache(maxsize=256)
def area_of_use(code: str) -> BBox:
    """The CRS's area of use as a CRS84 bbox (the whole world when unknown)."""
    area = crs_of(code).area_of_use
    if area is None:
        return (-180.0, -90.0, 180.0, 90.0)
    return (area.west, area.south, area.east, area.north)


def covers(code: str, bbox: BBox, *, tolerance_deg: float = 0.05) -> bool:
    """True where ``bbox`` (CRS84) lies inside the CRS's area of use."""
    west, south, east, north = area_of_use(code)
    minx, miny, maxx, maxy = bbox
    return (minx >= west - tolerance_deg and maxx <= east + tolerance_deg
            and miny >= south - tolerance_deg and maxy <= north + tolerance_deg)


def identify(crs: CRS) -> str:
    """``EPSG:n`` for a CRS read from a file, matching by parameters where it names no code.

    ESRI ``.prj`` files and MapInfo headers often carry no EPSG code; pyproj compares the
    definition with the EPSG database. National Nordic CRSs are tried first so a TM35FIN
    definition without a code becomes EPSG:3067 rather than a near-twin.
    """
    code = crs.to_epsg(min_confidence=70)
    if code is not None:
        return f"EPSG:{code}"
    for candidate in NATIONAL_EPSG:
        if crs.equals(crs_of(f"EPSG:{candidate}"), ignore_axis_order=True):
            return f"EPSG:{candidate}"
    matches = crs.list_authority(min_confidence=25)
    if matches and matches[0].auth_name == "EPSG":
        return f"EPSG:{matches[0].code}"
    for candidate in NATIONAL_EPSG:
        if _same_projection(crs, crs_of(f"EPSG:{candidate}")):
            return f"EPSG:{candidate}"
    raise CRSError(f"the CRS {crs.name!r} matches no EPSG code")


def _same_projection(a: CRS, b: CRS) -> bool:
    """Same projection method and parameters on an ETRS89-like datum (e.g. EUREF-FIN)."""
    if not (a.is_projected and b.is_projected) or a.coordinate_operation is None \
            or b.coordinate_operation is None:
        return False
    pa = {p.name: round(float(p.value), 6) for p in a.coordinate_operation.params}
    pb = {p.name: round(float(p.value), 6) for p in b.coordinate_operation.params}
    if a.ellipsoid is None or b.ellipsoid is None:
        return False
    return a.coordinate_operation.method_name == b.coordinate_operation.method_name and pa == pb \
        and abs(a.ellipsoid.semi_major_metre - b.ellipsoid.semi_major_metre) < 1e-3
