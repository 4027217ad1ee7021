"""Fixture data builders: small vector and raster files made on the fly, in any CRS."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer

NAMES = ("Hämeenlinna", "Åland", "Pöytyä", "Jyväskylä", "Närpes")
"""Place names with å ä ö, cycled through the ``nimi`` attribute."""
ESRI_TM35FIN = (
    'PROJCS["ETRS89_TM35FIN",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",'
    'SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
    'UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
    'PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],'
    'PARAMETER["Central_Meridian",27.0],PARAMETER["Scale_Factor",0.9996],'
    'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]'
)
"""An ESRI .prj for ETRS-TM35FIN without any EPSG code in it."""
HELSINKI = (24.94, 60.17)


def origin(crs: int | str) -> tuple[float, float, float]:
    """Helsinki in ``crs`` (x first) and a cell size that suits its units."""
    target = CRS.from_user_input(crs)
    x, y = Transformer.from_crs("OGC:CRS84", target, always_xy=True).transform(*HELSINKI)
    return x, y, (0.001 if target.is_geographic else 100.0)


def polygons(crs: int | str, n: int, *, invalid: int = 0) -> np.ndarray:
    """``n`` squares on a grid near Helsinki; the first ``invalid`` are self-crossing bow-ties."""
    x0, y0, step = origin(crs)
    i = np.arange(n)
    x, y = x0 + (i % 50) * step, y0 + (i // 50) * step
    size = step * 0.8
    squares = shapely.box(x, y, x + size, y + size)
    bowties = [shapely.Polygon([(a, b), (a + size, b + size), (a + size, b), (a, b + size)])
               for a, b in zip(x[:invalid], y[:invalid], strict=True)]
    squares[:invalid] = bowties
    return squares


def attributes(n: int) -> dict[str, object]:
    """Typed attribute columns: text with å ä ö, integer, decimal, boolean-like int, date."""
    i = np.arange(n)
    return {"Nimi": [f"{NAMES[k % len(NAMES)]} {k}" for k in range(n)], "Luku": i,
            "Ala": i * 1.5, "Pvm": [dt.date(2024, 1, 1) + dt.timedelta(days=int(k % 300))
                                    for k in range(n)]}


def make_vector(path: Path, *, crs: int | str = 3067, n: int = 500, invalid: int = 3,
                encoding: str = "cp1252", fmt: str = "shp", prj: str = "epsg",
                geometries: np.ndarray | None = None) -> Path:
    """Write a polygon layer; for ``shp`` choose the .dbf ``encoding`` (non-UTF-8 ones get no
    .cpg and LDID 0, as old tools wrote them) and ``prj``: epsg, esri, empty or none."""
    geoms = polygons(crs, n, invalid=invalid) if geometries is None else geometries
    frame = gpd.GeoDataFrame(attributes(len(geoms)), geometry=geoms, crs=crs)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "shp":
        frame["Pvm"] = frame["Pvm"].astype(str)
        pyogrio.write_dataframe(frame, path, encoding=encoding)
        if encoding.lower().replace("-", "") != "utf8":
            path.with_suffix(".cpg").unlink(missing_ok=True)
            dbf = path.with_suffix(".dbf")
            header = bytearray(dbf.read_bytes())
            header[29] = 0
            dbf.write_bytes(bytes(header))
        prj_file = path.with_suffix(".prj")
        if prj == "none":
            prj_file.unlink(missing_ok=True)
        elif prj == "empty":
            prj_file.write_bytes(b"")
        elif prj == "esri":
            prj_file.write_text(ESRI_TM35FIN)
    elif fmt == "gpkg":
        pyogrio.write_dataframe(frame, path, driver="GPKG", layer=path.stem)
    elif fmt == "geojson":
        pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    else:
        raise ValueError(f"unknown fmt {fmt!r}")
    return path


def make_gpkg_layers(path: Path, layers: dict[str, int], *, crs: int = 3067) -> Path:
    """A GeoPackage with one polygon layer per name (``name -> feature count``)."""
    for name, n in layers.items():
        frame = gpd.GeoDataFrame(attributes(n), geometry=polygons(crs, n), crs=crs)
        pyogrio.write_dataframe(frame, path, driver="GPKG", layer=name, append=path.exists())
    return path


def _gpkg_blob(geometry: shapely.Geometry, srs_id: int) -> bytes:
    """A GeoPackage geometry blob: header without envelope, then little-endian WKB."""
    return b"GP\x00\x01" + struct.pack("<i", srs_id) + shapely.to_wkb(geometry, byte_order=1)


def make_wal_gpkg(path: Path, *, n: int = 20, extra: int = 5, crs: int = 3067) -> Path:
    """A GeoPackage whose last ``extra`` features live only in an uncheckpointed -wal file."""
    scratch = path.with_name("scratch-" + path.name)
    frame = gpd.GeoDataFrame(attributes(n), geometry=polygons(crs, n + extra)[:n], crs=crs)
    pyogrio.write_dataframe(frame, scratch, driver="GPKG", layer="wal",
                            layer_options={"SPATIAL_INDEX": "NO"})
    conn = sqlite3.connect(scratch)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        extras = polygons(crs, n + extra)[n:]
        with conn:
            conn.executemany("INSERT INTO wal (geom, Nimi, Luku) VALUES (?, ?, ?)",
                             [(_gpkg_blob(g, crs), f"Wal-Åsa {k}", n + k)
                              for k, g in enumerate(extras)])
        for suffix in ("", "-wal", "-shm"):
            shutil.copyfile(f"{scratch}{suffix}", f"{path}{suffix}")
    finally:
        conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return path


def make_geotiff(path: Path, *, crs: int | str | None = 3067, size: int = 256,
                 bands: int = 1, dtype: str = "uint8") -> Path:
    """A striped (not tiled) GeoTIFF with a gradient, near Helsinki in ``crs``."""
    x, y, _ = origin(crs if crs is not None else 3067)
    res = 0.0001 if crs is not None and CRS.from_user_input(crs).is_geographic else 10.0
    data = (np.add.outer(np.arange(size), np.arange(size)) % 250).astype(dtype)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": bands,
               "dtype": dtype, "transform": Affine(res, 0, x, 0, -res, y), "nodata": 255}
    if crs is not None:
        profile["crs"] = CRS.from_user_input(crs).to_wkt()
    with rasterio.open(path, "w", **profile) as dst:
        for band in range(1, bands + 1):
            dst.write(data, band)
    return path


def make_zip(path: Path, members: dict[str, bytes | Path]) -> Path:
    """A ZIP whose members are given as bytes or as files to copy."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            archive.writestr(name, data)
    return path


def zip_shapefile(path: Path, shp: Path, *, folder: str = "") -> Path:
    """Zip a shapefile's files, optionally under a folder inside the archive."""
    members = {f"{folder}{f.name}": f for f in sorted(shp.parent.glob(shp.stem + ".*"))}
    return make_zip(path, members)


def make_zip_bomb(path: Path, *, megabytes: int = 200) -> Path:
    """A ZIP with one member of ``megabytes`` MB of zeros (about 200 kB compressed)."""
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("zeros.geojson", "w", force_zip64=True) as member:
        for _ in range(megabytes):
            member.write(chunk)
    return path


def make_symlink_zip(path: Path, *, target: str = "/etc/passwd") -> Path:
    """A ZIP whose only member is a symbolic link (Unix mode bits in the external attributes)."""
    info = zipfile.ZipInfo("link.geojson")
    info.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, target)
    return path
