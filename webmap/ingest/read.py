"""Recognise a file by its content and read vector layers with pyogrio (Arrow batches)."""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from ..problems import ImportFailed
from .archive import is_zip
from .bounded import ImportLimits, too_many_features

HEAD_BYTES = 64 * 1024
BATCH_ROWS = 50_000
Progress = Callable[[int, int], None]


class Format(StrEnum):
    """What a file holds, as recognised from its first bytes."""

    ZIP = "ZIP archive"
    GPKG = "GeoPackage"
    SHAPEFILE = "Shapefile"
    GEOJSON = "GeoJSON"
    CSV = "CSV"
    GML = "GML"
    KML = "KML"
    MAPINFO = "MapInfo TAB"
    OSM = "OSM PBF"
    TIFF = "GeoTIFF"


SUFFIXES: dict[Format, tuple[str, ...]] = {
    Format.GPKG: (".gpkg",), Format.SHAPEFILE: (".shp",), Format.GEOJSON: (".geojson", ".json"),
    Format.CSV: (".csv",), Format.GML: (".gml", ".xml"), Format.KML: (".kml",),
    Format.MAPINFO: (".tab",), Format.OSM: (".pbf",), Format.TIFF: (".tif", ".tiff"),
}
"""What GDAL expects a file of each format to be called (the first is used for links)."""
SIDECAR_FORMATS = (Format.SHAPEFILE, Format.MAPINFO)
"""Formats whose other files GDAL finds by name, so the main file cannot be renamed."""
OPEN_OPTIONS: dict[Format, dict[str, str]] = {Format.GML: {"WRITE_GFS": "NO"}}
"""Dataset open options: GML must not write a .gfs beside the source."""

KML_GENERIC = frozenset({"id", "Name", "description", "timestamp", "begin", "end", "altitudeMode",
                         "tessellate", "extrude", "visibility", "drawOrder", "icon", "snippet"})
GML_SIDECARS = (".gfs", ".xsd")
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
SHAPEFILE_MAGIC = b"\x00\x00\x27\x0a"
GPKG_IDS = (b"GPKG", b"GP10", b"GP11")
GEOJSON_RE = re.compile(r'"type"\s*:\s*"(FeatureCollection|Feature)"|"features"\s*:\s*\['
                        r'|^\{\s*"type"\s*:\s*"(Multi)?(Point|LineString|Polygon)"')
RYHTI_RE = re.compile(r'"(srid|planKey|geographicalArea|planObjects|planMatter)"\s*:|/rytj/')
NGP_RE = re.compile(r'"feature:mediatyp"\s*:\s*"[^"]*detaljplan|"feature:typ"\s*:\s*"detaljplan"')
AS_PLAN = "webmap plans import FILE --id ID (or POST /admin/api/plans)"
ROOT_RE = re.compile(r"<(?![?!])([\w.:-]+)")
CRS_WKT_PREFIXES = ("projcs[", "geogcs[", "projcrs[", "geogcrs[", "compd_cs[", "geoccs[")
NOT_A_FORMAT = ("not a format webmap reads; upload GeoPackage, zipped Shapefile, GeoJSON, "
                "CSV, GML, KML, MapInfo TAB, OSM PBF or GeoTIFF")


def sniff(path: Path) -> Format:
    """The format of ``path`` from its content (never its name); ImportFailed if none."""
    with path.open("rb") as file:
        head = file.read(HEAD_BYTES)
    if not head.strip():
        raise ImportFailed(f"{path.name} is empty; {NOT_A_FORMAT}")
    if is_zip(head):
        return Format.ZIP
    if head.startswith(b"SQLite format 3\x00"):
        if head[68:72] in GPKG_IDS or b"gpkg_contents" in head:
            return Format.GPKG
        raise ImportFailed(f"{path.name} is an SQLite database but not a GeoPackage; "
                           "export the layer as a GeoPackage")
    if head[:4] in TIFF_MAGIC:
        return Format.TIFF
    if head[:4] == SHAPEFILE_MAGIC:
        return Format.SHAPEFILE
    if b"OSMHeader" in head[:32]:
        return Format.OSM
    if b"\x00" in head:
        raise ImportFailed(f"{path.name} is binary data of an unknown kind; {NOT_A_FORMAT}")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith(("{", "[")):
        return _sniff_json(path.name, text)
    if text.startswith("<"):
        return _sniff_xml(path.name, text[:HEAD_BYTES].lower())
    if text[:6].lower() == "!table":
        return Format.MAPINFO
    if _looks_like_csv(text):
        return Format.CSV
    raise ImportFailed(f"{path.name} is {NOT_A_FORMAT}")


def _sniff_json(name: str, text: str) -> Format:
    if NGP_RE.search(text):
        raise ImportFailed(f"{name} is an NGP detaljplan delivery (the Swedish plan model); "
                           f"import it as a plan: {AS_PLAN}")
    if GEOJSON_RE.search(text):
        return Format.GEOJSON
    if RYHTI_RE.search(text):
        raise ImportFailed(f"{name} is Ryhti plan JSON (the national plan data model), which is "
                           f"{NOT_A_FORMAT}; import it as a plan: {AS_PLAN}")
    raise ImportFailed(f"{name} is JSON but not GeoJSON (no FeatureCollection); {NOT_A_FORMAT}")


def _sniff_xml(name: str, lower: str) -> Format:
    if "<!doctype html" in lower[:1024] or "<html" in lower[:4096]:
        raise ImportFailed(f"{name} is an HTML web page, not geodata (a failed download or a "
                           "saved page?)")
    match = ROOT_RE.search(lower)
    root = match.group(1).rsplit(":", 1)[-1] if match else ""
    if root == "kml":
        return Format.KML
    if root != "schema" and ("opengis.net/gml" in lower or "<gml:" in lower):
        return Format.GML
    raise ImportFailed(f"{name} is XML but neither GML nor KML; {NOT_A_FORMAT}")


def _looks_like_csv(text: str) -> bool:
    """A header line split by one of ``; , tab |`` into columns, and a next line split alike."""
    lines = [line for line in text.splitlines()[:3] if line.strip()]
    if not lines or lines[0].lower().startswith(CRS_WKT_PREFIXES):
        return False
    sep = max((";", ",", "\t", "|"), key=lines[0].count)
    return lines[0].count(sep) >= 1 and (len(lines) == 1 or lines[1].count(sep) >= 1)


def openable(path: Path, fmt: Format, workdir: Path) -> Path:
    """A path GDAL opens as ``fmt`` without touching the user's files.

    GeoPackages are copied into ``workdir`` with their -wal/-shm (SQLite would checkpoint the
    original); GML is linked there with its .gfs/.xsd (GDAL writes a .gfs beside what it opens);
    single files named unlike their format get a link with the right suffix.
    """
    inside = path.resolve().is_relative_to(workdir.resolve())
    if fmt is Format.GPKG and not inside:
        target = _free_name(workdir, "source.gpkg")
        shutil.copyfile(path, target)
        for side in ("-wal", "-shm"):
            if path.with_name(path.name + side).exists():
                shutil.copyfile(path.with_name(path.name + side), target.with_name(
                    target.name + side))
        return target
    if fmt is Format.GML and not inside:
        link = _free_name(workdir, "source.gml")
        link.symlink_to(path.resolve())
        for side in GML_SIDECARS:
            if path.with_suffix(side).exists():
                link.with_suffix(side).symlink_to(path.with_suffix(side).resolve())
        return link
    if path.name.lower().endswith(SUFFIXES[fmt]):
        return path
    if fmt in SIDECAR_FORMATS:
        raise ImportFailed(f"{path.name} is a {fmt} whose name does not end in "
                           f"{SUFFIXES[fmt][0]}; zip it together with its other files")
    link = _free_name(workdir, "source" + SUFFIXES[fmt][0])
    link.symlink_to(path.resolve())
    return link


def _free_name(folder: Path, name: str) -> Path:
    target = folder / name
    counter = 1
    while target.exists() or target.is_symlink():
        target = folder / f"{counter}-{name}"
        counter += 1
    return target


def layer_names(path: Path, fmt: Format) -> list[str]:
    """The layers of a dataset that hold geometries (all layers of a CSV)."""
    rows = pyogrio.list_layers(path)
    return [str(name) for name, geometry_type in rows
            if fmt is Format.CSV or geometry_type is not None]


def choose_layer(names: list[str], layer: str | None, what: str) -> str:
    """The layer asked for, the only one, or ImportFailed listing the names."""
    listed = ", ".join(names)
    if layer is not None:
        for candidate in (layer, layer.lower()):
            matches = [n for n in names if n == candidate or n.lower() == candidate]
            if matches:
                return matches[0]
        raise ImportFailed(f"{what} has no layer {layer!r}; its layers are: {listed}",
                           field="layer", choices=list(names))
    if not names:
        raise ImportFailed(f"{what} holds no layer with geometries")
    if len(names) > 1:
        raise ImportFailed(f"{what} has {len(names)} layers: {listed}; choose one with "
                           "--layer NAME (the 'layer' field when uploading)", field="layer",
                           choices=list(names))
    return names[0]


@dataclass(kw_only=True)
class RawLayer:
    """A layer as read: attributes, shapely geometries (None where missing), declared CRS."""

    frame: pd.DataFrame
    geometries: npt.NDArray[np.object_] | None
    crs_text: str | None
    driver: str
    warnings: list[str] = field(default_factory=list)


def read_layer(path: Path, *, fmt: Format, layer: str, encoding: str | None,
               on_progress: Progress | None, read_geometry: bool = True,
               limits: ImportLimits | None = None) -> RawLayer:
    """Read one layer; Arrow batches report progress, legacy text falls back to cp1252.
    ``limits``: more features than ``max_features`` (declared, or read so far) are refused."""
    options = dict(OPEN_OPTIONS.get(fmt, {}))
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = pyogrio.read_info(path, layer=layer, **options)
        total = max(int(info["features"]), 0)
        too_many_features(f"the layer {layer!r}", total, limits)
        on_progress = _counted(on_progress, layer, limits)
        wanted = (encoding or "").lower().replace("-", "").replace("_", "")
        if fmt is Format.SHAPEFILE and encoding:
            options["ENCODING"] = encoding.upper()
        try:
            if wanted in {"", "utf8"} or fmt is Format.SHAPEFILE:
                raw = _read_arrow(path, layer, options, total, on_progress, read_geometry)
            else:
                raw = _read_legacy(path, layer, options, encoding or "cp1252", total,
                                   on_progress, read_geometry)
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            if encoding:
                raise ImportFailed(f"the text is not valid {encoding}; give the encoding the "
                                   "file was written in") from exc
            notes.append("the text is not UTF-8 and the file names no encoding; read it as "
                         "Windows-1252 (cp1252) - check that å ä ö look right")
            if fmt is Format.SHAPEFILE:
                options["ENCODING"] = "CP1252"
                raw = _read_arrow(path, layer, options, total, on_progress, read_geometry)
            else:
                raw = _read_legacy(path, layer, options, "cp1252", total, on_progress,
                                   read_geometry)
    raw.driver = str(info.get("driver") or "")
    if raw.driver in {"LIBKML", "KML"}:
        raw.frame = _drop_kml_defaults(raw.frame)
    raw.warnings[:0] = notes
    raw.warnings.extend(_gdal_notes(caught, path))
    return raw


def _counted(on_progress: Progress | None, layer: str,
             limits: ImportLimits | None) -> Progress | None:
    """``on_progress`` that first refuses a read past the feature limit."""
    if limits is None:
        return on_progress

    def progress(done: int, total: int) -> None:
        too_many_features(f"the layer {layer!r}", done, limits)
        if on_progress is not None:
            on_progress(done, total)
    return progress


def _read_arrow(path: Path, layer: str, options: dict[str, str], total: int,
                on_progress: Progress | None, read_geometry: bool) -> RawLayer:
    geometries: list[npt.NDArray[np.object_]] = []
    batches: list[pa.RecordBatch] = []
    done = 0
    with pyogrio.open_arrow(path, layer=layer, use_pyarrow=True, batch_size=BATCH_ROWS,
                            read_geometry=read_geometry, **options) as (meta, reader):
        schema: pa.Schema = reader.schema
        geom_name = _geometry_column(schema, meta) if read_geometry else None
        keep = [name for name in schema.names if name != geom_name]
        for batch in reader:
            batch.validate(full=True)
            if geom_name is not None:
                geometries.append(_from_wkb(batch.column(geom_name)))
            batches.append(batch.select(keep))
            done += batch.num_rows
            if on_progress is not None:
                on_progress(done, max(total, done) if total else 0)
    table = pa.Table.from_batches(batches, schema=pa.schema([schema.field(n) for n in keep]))
    geoms = np.concatenate(geometries) if geometries else (
        np.empty(0, dtype=object) if geom_name is not None else None)
    return RawLayer(frame=_to_pandas(table), geometries=geoms, crs_text=meta.get("crs"),
                    driver="")


def _read_legacy(path: Path, layer: str, options: dict[str, str], encoding: str, total: int,
                 on_progress: Progress | None, read_geometry: bool) -> RawLayer:
    """Non-Arrow reading, which decodes legacy encodings; chunked for progress."""
    if total == 0:
        total = max(int(pyogrio.read_info(path, layer=layer, force_feature_count=True,
                                          **options)["features"]), 0)
    frames: list[pd.DataFrame] = []
    geometries: list[npt.NDArray[np.object_]] = []
    crs_text: str | None = None
    skip = 0
    while True:
        meta, _, wkb, columns = pyogrio.raw.read(
            path, layer=layer, encoding=encoding, skip_features=skip, max_features=BATCH_ROWS,
            read_geometry=read_geometry, **options)
        crs_text = meta.get("crs")
        count = len(columns[0]) if columns else (len(wkb) if wkb is not None else 0)
        frames.append(pd.DataFrame(dict(zip(meta["fields"], columns, strict=True))))
        if read_geometry and wkb is not None:
            geometries.append(_from_wkb(wkb))
        skip += count
        if on_progress is not None:
            on_progress(skip, max(total, skip) if total else 0)
        if count < BATCH_ROWS:
            break
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    geoms = np.concatenate(geometries) if geometries else (
        np.empty(0, dtype=object) if read_geometry else None)
    return RawLayer(frame=frame, geometries=geoms, crs_text=crs_text, driver="")


def _drop_kml_defaults(frame: pd.DataFrame) -> pd.DataFrame:
    """Leave out KML's generic fields (tessellate, extrude, …) where they say nothing."""
    idle = [name for name in frame.columns if name in KML_GENERIC
            and frame[name].nunique(dropna=True) <= (0 if name in {"Name", "description"} else 1)]
    return frame.drop(columns=idle)


def _geometry_column(schema: pa.Schema, meta: dict[str, Any]) -> str | None:
    """The WKB column of an Arrow stream from GDAL."""
    for item in schema:
        extension = (item.metadata or {}).get(b"ARROW:extension:name", b"")
        if extension in {b"ogc.wkb", b"geoarrow.wkb"}:
            return str(item.name)
    name = meta.get("geometry_name") or "wkb_geometry"
    return str(name) if name in schema.names else None


def _from_wkb(column: Any) -> npt.NDArray[np.object_]:
    """Shapely geometries from WKB; unreadable ones (e.g. 2-point rings) fixed or None."""
    values = column.to_numpy(zero_copy_only=False) if hasattr(column, "to_numpy") else column
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(shapely.from_wkb(values, on_invalid="fix"), dtype=object)


def _nullable(arrow_type: pa.DataType) -> Any:
    """Integers and booleans with gaps become pandas' nullable types, not floats."""
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    return None


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow to pandas keeping integer and boolean columns as such."""
    frame: pd.DataFrame = table.to_pandas(types_mapper=_nullable)
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.Int64Dtype | pd.BooleanDtype) and not column.isna().any():
            frame[name] = column.to_numpy(dtype="bool" if isinstance(
                column.dtype, pd.BooleanDtype) else "int64")
    return frame


def _gdal_notes(caught: list[warnings.WarningMessage], path: Path) -> list[str]:
    """Up to three distinct GDAL warnings, without server paths."""
    notes: list[str] = []
    for item in caught:
        text = str(item.message).splitlines()[0] if str(item.message) else ""
        text = text.replace(str(path.parent) + "/", "").strip()
        if text and not text.startswith("File ") and f"GDAL: {text}" not in notes:
            notes.append(f"GDAL: {text[:200]}")
    return notes[:3]
