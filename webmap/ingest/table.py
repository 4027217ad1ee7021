"""CSV tables: find the coordinate or WKT columns, build points, give text columns types."""

from __future__ import annotations

import re
import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from ..problems import ImportFailed
from .read import RawLayer

NULL_TEXT = ("", "NULL", "null")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "wkt_geom", "geometria")
AXIS_TOKENS: tuple[tuple[str, str], ...] = (
    ("x", "y"), ("lon", "lat"), ("lng", "lat"), ("long", "lat"), ("longitude", "latitude"),
    ("easting", "northing"), ("east", "north"), ("e", "n"), ("itä", "pohjoinen"),
    ("ita", "pohjoinen"), ("i", "p"), ("öst", "nord"), ("ost", "nord"),
)
"""Column-name pairs (easting, northing), matched whole or as a suffix or prefix."""
NORTHING = (5_900_000.0, 7_900_000.0)
"""Nordic northings in metres (Sweden and Finland, every national CRS)."""
SRID_RE = re.compile(r"^\s*SRID=(\d+);", re.IGNORECASE)
INT_RE = r"[+-]?(?:0|[1-9]\d{0,17})"
FLOAT_RE = r"[+-]?(?:0|[1-9]\d*)?(?:[.,]\d+)?(?:[eE][+-]?\d+)?"
ISO_DATE_RE = r"\d{4}-\d{2}-\d{2}"
FI_DATE_RE = r"\d{1,2}\.\d{1,2}\.\d{4}"
DATETIME_RE = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
NO_COLUMNS = ("name the columns x and y (or lon/lat, easting/northing, itä/pohjoinen), give "
              "them with --x and --y (the x_column and y_column fields when uploading), or "
              "a WKT column with --wkt (wkt_column)")


def with_geometry(raw: RawLayer, *, x_column: str | None, y_column: str | None,
                  wkt_column: str | None) -> RawLayer:
    """The table with point or WKT geometries (None in rows without coordinates)."""
    frame = raw.frame.replace(list(NULL_TEXT), pd.NA)
    names = list(frame.columns)
    notes = list(raw.warnings)
    crs_text = raw.crs_text
    if (x_column is None) != (y_column is None):
        raise ImportFailed("give both --x and --y (the x_column and y_column fields when "
                           "uploading), or neither")
    if wkt_column is not None:
        geoms, crs_text = _from_wkt(frame[_column(names, wkt_column)], notes, crs_text)
        frame = frame.drop(columns=[_column(names, wkt_column)])
    elif x_column is not None and y_column is not None:
        x_name, y_name = _column(names, x_column), _column(names, y_column)
        geoms = _points(frame, x_name, y_name)
    else:
        wkt_name = next((n for n in names if n.strip().lower() in WKT_NAMES), None)
        pair = _coordinate_pair(frame)
        if wkt_name is not None:
            geoms, crs_text = _from_wkt(frame[wkt_name], notes, crs_text)
            frame = frame.drop(columns=[wkt_name])
        elif pair is not None:
            x_name, y_name = _axis_order(frame, *pair, notes)
            geoms = _points(frame, x_name, y_name)
        else:
            raise ImportFailed(f"found no coordinate columns among {', '.join(names)}; "
                               f"{NO_COLUMNS}")
    if shapely.is_missing(geoms).all():
        raise ImportFailed(f"no row of the table has usable coordinates; {NO_COLUMNS}")
    return RawLayer(frame=infer_types(frame), geometries=geoms, crs_text=crs_text,
                    driver=raw.driver, warnings=notes)


def _column(names: list[str], wanted: str) -> str:
    for name in names:
        if name == wanted or name.strip().lower() == wanted.strip().lower():
            return name
    raise ImportFailed(f"the table has no column {wanted!r}; its columns are {', '.join(names)}")


def _numbers(column: pd.Series) -> npt.NDArray[np.float64]:
    """Numbers from text, accepting a decimal comma and spaces between digit groups."""
    text = column.astype("string").str.replace(r"[\s\u00a0]", "", regex=True)
    text = text.str.replace(",", ".", regex=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _points(frame: pd.DataFrame, x_name: str, y_name: str) -> npt.NDArray[np.object_]:
    x, y = _numbers(frame[x_name]), _numbers(frame[y_name])
    usable = np.isfinite(x) & np.isfinite(y)
    geoms = np.full(len(frame), None, dtype=object)
    geoms[usable] = shapely.points(x[usable], y[usable])
    frame[x_name] = x
    frame[y_name] = y
    return geoms


def _coordinate_pair(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The first (easting, northing) column pair by name whose values are mostly numbers."""
    lower = {name.strip().lower(): name for name in frame.columns}
    candidates: list[tuple[str, str]] = []
    for east, north in AXIS_TOKENS:
        if east in lower and north in lower:
            candidates.append((lower[east], lower[north]))
    for east, north in AXIS_TOKENS:
        for name in lower:
            if name.endswith(east) and len(name) > len(east):
                other = name[: -len(east)] + north
            elif name.startswith(east) and len(name) > len(east):
                other = north + name[len(east):]
            else:
                continue
            if other in lower and other != name:
                candidates.append((lower[name], lower[other]))
    for x_name, y_name in candidates:
        if _mostly_numeric(frame[x_name]) and _mostly_numeric(frame[y_name]):
            return x_name, y_name
    return None


def _mostly_numeric(column: pd.Series) -> bool:
    present = column.dropna()
    return len(present) > 0 and float(np.isfinite(_numbers(present)).mean()) >= 0.9


def _axis_order(frame: pd.DataFrame, x_name: str, y_name: str,
                notes: list[str]) -> tuple[str, str]:
    """Swap the pair where the values say the 'x' column holds northings or latitudes."""
    x, y = _numbers(frame[x_name]), _numbers(frame[y_name])
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if not len(x) or not len(y):
        return x_name, y_name

    def northing(v: npt.NDArray[np.float64]) -> bool:
        return bool(((v >= NORTHING[0]) & (v <= NORTHING[1])).all())

    swap = northing(x) and not northing(y)
    if not swap and np.abs(x).max() <= 90 and np.abs(y).max() <= 180:
        swap = bool(np.abs(y).max() > 90 or (x.min() >= 54 and y.max() <= 35 and x.min() > y.max()))
    if swap:
        notes.append(f"column {x_name!r} holds northings and {y_name!r} eastings; used them so")
        return y_name, x_name
    return x_name, y_name


def _from_wkt(column: pd.Series, notes: list[str], crs_text: str | None
              ) -> tuple[npt.NDArray[np.object_], str | None]:
    """Geometries from WKT or EWKT text; an ``SRID=n;`` prefix shared by all rows is the CRS."""
    text = column.astype("string")
    srids = text.str.extract(SRID_RE, expand=False).dropna().unique()
    if len(srids) == 1:
        crs_text = f"EPSG:{int(srids[0])}"
    text = text.str.replace(SRID_RE, "", regex=True)
    values = text.to_numpy(dtype=object)
    values[pd.isna(values)] = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        geoms = np.asarray(shapely.from_wkt(values, on_invalid="ignore"), dtype=object)
    unreadable = int((shapely.is_missing(geoms) & pd.notna(values)).sum())
    if unreadable:
        notes.append(f"{unreadable} rows hold text that is not WKT")
    return geoms, crs_text


def infer_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Integer, decimal, boolean, date and datetime columns from CSV text (codes like '091'
    keep their leading zeros as text)."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        text = column.astype("string").str.strip()
        present = text.dropna()
        if present.empty:
            continue
        if present.str.fullmatch(INT_RE).all():
            values = pd.to_numeric(text, errors="coerce").astype("Int64")
            out[name] = values if values.isna().any() else values.astype("int64")
        elif present.str.fullmatch(FLOAT_RE).all() and present.str.contains(r"\d").all():
            out[name] = pd.to_numeric(text.str.replace(",", ".", regex=False),
                                      errors="coerce").astype("float64")
        elif present.str.lower().isin(["true", "false"]).all():
            out[name] = text.str.lower().map({"true": True, "false": False}).astype("boolean")
        elif present.str.fullmatch(ISO_DATE_RE).all():
            out[name] = _dates(text, "%Y-%m-%d")
        elif present.str.fullmatch(FI_DATE_RE).all():
            out[name] = _dates(text, "%d.%m.%Y")
        elif present.str.fullmatch(DATETIME_RE).all():
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
            if parsed.notna().sum() == len(present):
                out[name] = parsed
    return out


def _dates(text: pd.Series, fmt: str) -> pd.Series:
    """Dates as ``datetime.date`` objects (as GDAL's Arrow reader gives them), if all parse."""
    parsed = pd.to_datetime(text, errors="coerce", format=fmt)
    if parsed.notna().sum() != text.notna().sum():
        return text
    dates = parsed.dt.date.astype(object)
    dates[parsed.isna()] = None
    return dates
