"""Ingest: read an uploaded file (recognised by content) and normalise it for the store."""

from __future__ import annotations

import dataclasses
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyogrio.errors
import rasterio.errors
import rio_cogeo.errors
import shapely.errors
from pyproj.exceptions import CRSError
from rasterio._err import CPLE_BaseError

from ..problems import ImportFailed
from ..types import NormalisedLayer
from . import raster, table
from .archive import extract_zip
from .bounded import ImportLimits
from .normalise import normalise_vector
from .read import Format, choose_layer, layer_names, openable, read_layer, sniff

__all__ = ["import_source"]

STRONG_FORMATS = frozenset(Format) - {Format.CSV, Format.ZIP}
"""Formats recognised by a signature; CSV is only a guess about text."""
PATH_RE = re.compile(r"(?:/[^\s'\"/]+)+/([^\s'\"/]+)")
SQL_RE = re.compile(r"sqlite3_\w+\(.*\) failed: ")


def import_source(path: Path, *, layer_id: str, workdir: Path, title: str | None = None,
                  crs: str | None = None, layer: str | None = None,
                  encoding: str | None = None, x_column: str | None = None,
                  y_column: str | None = None, wkt_column: str | None = None,
                  on_progress: Callable[[int, int], None] | None = None,
                  source_crs: str | None = None, id_field: str | None = None,
                  previous_id_field: str | None = None,
                  limits: ImportLimits | None = None) -> NormalisedLayer:
    """Read ``path`` into a normalised layer (CRS84 GeoDataFrame, or a COG in ``workdir``).

    ``crs`` (``EPSG:n``, ``epsg:n`` or a number) overrides what the file declares; ``layer``
    picks a layer of a multi-layer file or a data set in a ZIP; ``encoding`` overrides the
    text encoding; ``x_column``/``y_column``/``wkt_column`` name a CSV's geometry columns.
    ``on_progress(done, total)`` is called while features are read (``total`` 0 = unknown).
    ``id_field`` names the attribute that identifies features (``none``: number them in file
    order); ``previous_id_field`` is the replaced version's, used when the file still has it.
    ``source_crs`` only replaces the report's source CRS (no reprojection): a restored backup
    is in EPSG:4326 but keeps the CRS its layers were first imported from.
    ``limits`` refuses rasters with too many pixels and layers with too many features (the
    wall-time limit is ``bounded.run_bounded``'s).
    Raises ``ImportFailed`` with a one-line ``detail`` for every unusable input.
    """
    path, workdir = Path(path), Path(workdir)
    result = _import(path, layer_id=layer_id, workdir=workdir, title=title, crs=crs, layer=layer,
                     encoding=encoding, x_column=x_column, y_column=y_column,
                     wkt_column=wkt_column, on_progress=on_progress, id_field=id_field,
                     previous_id_field=previous_id_field, limits=limits)
    if source_crs is not None:
        result.report = dataclasses.replace(result.report, source_crs=source_crs)
    return result


def _import(path: Path, *, layer_id: str, workdir: Path, title: str | None, crs: str | None,
            layer: str | None, encoding: str | None, x_column: str | None,
            y_column: str | None, wkt_column: str | None,
            on_progress: Callable[[int, int], None] | None, id_field: str | None = None,
            previous_id_field: str | None = None,
            limits: ImportLimits | None = None) -> NormalisedLayer:
    """``import_source`` without the source CRS override."""
    with _library_errors(path, workdir):
        if not path.is_file():
            raise ImportFailed(f"{path.name}: no such file")
        if encoding is not None:
            _check_encoding(encoding)
        title = title or _default_title(path)
        fmt = sniff(path)
        source = path
        if fmt is Format.ZIP:
            folder = Path(tempfile.mkdtemp(prefix="unzipped-", dir=workdir))
            files = extract_zip(path, folder)
            source, fmt, layer = pick_dataset(folder, files, layer)
        if fmt is Format.TIFF:
            return raster.to_cog(source, workdir=workdir, layer_id=layer_id, title=title,
                                 crs=crs, on_progress=on_progress, limits=limits)
        if fmt is Format.SHAPEFILE:
            _require_sidecars(source)
        opened = openable(source, fmt, workdir)
        what = f"the {fmt} {source.name}"
        chosen = choose_layer(layer_names(opened, fmt), layer, what)
        raw = read_layer(opened, fmt=fmt, layer=chosen, encoding=encoding,
                         on_progress=on_progress, read_geometry=fmt is not Format.CSV,
                         limits=limits)
        if fmt is Format.CSV:
            raw = table.with_geometry(raw, x_column=x_column, y_column=y_column,
                                      wkt_column=wkt_column)
        return normalise_vector(raw, layer_id=layer_id, title=title, crs=crs, what=what,
                                id_field=id_field, previous_id_field=previous_id_field)


def pick_dataset(folder: Path, files: list[Path], layer: str | None
                 ) -> tuple[Path, Format, str | None]:
    """The one data set among extracted files; ``layer`` may name it by file name or stem."""
    found: list[tuple[Path, Format]] = []
    for file in files:
        try:
            fmt = sniff(file)
        except ImportFailed:
            continue
        if fmt is Format.SHAPEFILE and file.suffix.lower() != ".shp":
            continue
        if fmt is Format.TIFF and file.suffix.lower() == ".ovr":
            continue
        found.append((file, fmt))
    strong = [item for item in found if item[1] in STRONG_FORMATS]
    candidates = strong or found
    names = [f.relative_to(folder).as_posix() for f, _ in candidates]
    if not candidates:
        listed = ", ".join(f.relative_to(folder).as_posix() for f in files[:10]) or "nothing"
        raise ImportFailed(f"the ZIP archive holds no data file webmap reads (it holds {listed})")
    if len(candidates) == 1:
        return candidates[0][0], candidates[0][1], layer
    if layer is not None:
        wanted = layer.lower()
        for (file, fmt), name in zip(candidates, names, strict=True):
            if wanted in {name.lower(), file.name.lower(), file.stem.lower()}:
                return file, fmt, None
    raise ImportFailed(f"the ZIP archive holds {len(candidates)} data sets: {', '.join(names)};"
                       " choose one with --layer NAME (the 'layer' field when uploading)",
                       field="layer", choices=names)


SHAPEFILE_PARTS = (".shx", ".dbf")


def _require_sidecars(path: Path) -> None:
    """A Shapefile is several files: refuse a lone ``.shp`` in words, not GDAL's."""
    present = {p.name.lower() for p in path.parent.iterdir()} if path.parent.is_dir() else set()
    stem = path.stem.lower()
    missing = [suffix for suffix in SHAPEFILE_PARTS if f"{stem}{suffix}" not in present]
    if missing:
        files = "file is" if len(missing) == 1 else "files are"
        raise ImportFailed(f"{path.name} is only one part of a Shapefile: its "
                           f"{' and '.join(missing)} {files} missing. Put the .shp, .shx, "
                           ".dbf and .prj (and .cpg) files in one ZIP archive and upload "
                           "that", field="file")


def _default_title(path: Path) -> str:
    stem = path.stem
    return stem[:-4] if stem.lower().endswith(".osm") else stem


def _check_encoding(encoding: str) -> None:
    try:
        "".encode(encoding)
    except LookupError as exc:
        raise ImportFailed(f"{encoding!r} is not a text encoding Python knows; try cp1252, "
                           "iso-8859-1 or utf-8") from exc


def _reason(exc: BaseException, *paths: Path) -> str:
    """The library's message: first line, no server paths, at most 200 characters."""
    cause = exc.__cause__ or exc.__context__
    if "previous exception" in str(exc) and cause is not None:
        return _reason(cause, *paths)
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    for folder in paths:
        text = text.replace(str(folder.parent) + "/", "").replace(str(folder) + "/", "")
    text = SQL_RE.sub("", PATH_RE.sub(r"\1", text))
    text = "; ".join(dict.fromkeys(part.strip() for part in text.split(";")))
    return text[:200].rstrip(" .;:")


@contextmanager
def _library_errors(path: Path, workdir: Path) -> Iterator[None]:
    """Turn the libraries' exceptions into ``ImportFailed`` with a reader's one-line detail."""
    try:
        yield
    except ImportFailed:
        raise
    except pyogrio.errors.DataSourceError as exc:
        raise ImportFailed(f"{path.name} could not be read: {_reason(exc, path, workdir)} - "
                           "the file may be damaged, truncated or of another format") from exc
    except (pyogrio.errors.DataLayerError, pyogrio.errors.FieldError,
            pyogrio.errors.GeometryError, pyogrio.errors.FeatureError) as exc:
        raise ImportFailed(f"a layer of {path.name} could not be read: "
                           f"{_reason(exc, path, workdir)}") from exc
    except (CRSError, pyogrio.errors.CRSError) as exc:
        raise ImportFailed(f"the coordinate reference system could not be understood "
                           f"({_reason(exc, path, workdir)}); add --crs EPSG:n") from exc
    except (rasterio.errors.RasterioError, CPLE_BaseError, rio_cogeo.errors.RioCogeoError) as exc:
        raise ImportFailed(f"the raster {path.name} could not be read or converted: "
                           f"{_reason(exc, path, workdir)}") from exc
    except UnicodeError as exc:
        raise ImportFailed(f"the text in {path.name} is not in the expected encoding; give the "
                           "encoding it was written in (e.g. cp1252)") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ImportFailed(f"{path.name} is a damaged ZIP archive") from exc
    except pa.ArrowException as exc:
        raise ImportFailed(f"the attributes of {path.name} could not be converted: "
                           f"{_reason(exc, path, workdir)}") from exc
    except shapely.errors.ShapelyError as exc:
        raise ImportFailed(f"a geometry in {path.name} could not be processed: "
                           f"{_reason(exc, path, workdir)}") from exc
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise ImportFailed(f"{path.name} could not be opened ({exc.strerror})") from exc
    except MemoryError as exc:
        raise ImportFailed(f"{path.name} is too large to import on this server") from exc
