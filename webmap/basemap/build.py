"""``webmap basemap build``: a base map from an OpenStreetMap extract and/or NLS topographic data.

The sources are read into five store layers named after the base map — ``ID-water``,
``ID-green``, ``ID-buildings``, ``ID-streets`` and ``ID-places`` (only those the data has) —
each with a ``kind`` (street class, place class …), ``name``, ``name_sv`` and a ``label``
(the Finnish name, and the Swedish one after it where the data has a different one). Then
``styles/basemaps/ID.json`` and its high-contrast variant ``ID-contrast.json`` are written,
naming exactly the layers the build made: the style never points at demo layers.

OpenStreetMap: ``.osm.pbf`` read with GDAL's OSM driver (``name:sv`` comes from its
``other_tags``). NLS Topographic Database: a folder of MTK shapefiles (``l_*_v`` roads and
paths, ``m_*_p`` lakes and rivers, ``n_*_t`` place names, ``r_*_p`` buildings when present).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from ..ingest.normalise import clean_geometries, total_bounds, unify_types
from ..problems import ImportFailed
from ..store.base import Store
from ..types import ImportReport, LayerKind, NormalisedLayer
from .model import BASEMAP_ID, BasemapError

OSM_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0 – https://www.openstreetmap.org/copyright"
NLS_ATTRIBUTION = ("Contains data from the National Land Survey of Finland Topographic "
                   "Database, CC BY 4.0")
FAMILIES = ("water", "green", "buildings", "streets", "places")
COLUMNS = ["kind", "name", "name_sv", "label"]

MAJOR = {"motorway", "trunk", "primary", "secondary", "tertiary", "motorway_link",
         "trunk_link", "primary_link", "secondary_link", "tertiary_link"}
MINOR = {"residential", "unclassified", "living_street", "road", "service", "pedestrian"}
PATH = {"footway", "cycleway", "path", "steps", "track", "bridleway"}
PLACES = {"city": 1, "town": 1, "suburb": 2, "quarter": 3, "neighbourhood": 3, "village": 2,
          "hamlet": 3, "square": 4, "locality": 4, "island": 3, "islet": 4}
GREEN_LEISURE = {"park", "garden", "playground", "pitch", "common", "nature_reserve"}
GREEN_LANDUSE = {"grass", "meadow", "forest", "village_green", "recreation_ground",
                 "cemetery", "allotments"}
GREEN_NATURAL = {"wood", "scrub", "heath", "grassland", "wetland"}
WATER_LANDUSE = {"basin", "reservoir"}
_TAG = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')

# NLS MTK feature classes (maastotietokanta kohdemalli)
NLS_MAJOR = {12111, 12112, 12121, 12122}
NLS_MINOR = {12131, 12132, 12141}
NLS_PATH = {12312, 12313, 12314, 12316}
NLS_WATER = {36200, 36211, 36313}


class BuildFailed(ImportFailed):
    """A source cannot be used for a base map; the message names it."""


@dataclass
class BuildReport:
    """What a build made: layer ids and feature counts, the style files written."""

    basemap_id: str
    layers: dict[str, int] = field(default_factory=dict)
    styles: list[Path] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    families: list[str] = field(default_factory=list)
    attribution: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"basemap": self.basemap_id, "layers": self.layers,
                "styles": [str(p) for p in self.styles], "sources": self.sources}


def _tags(text: object) -> dict[str, str]:
    if not isinstance(text, str):
        return {}
    return {k.replace('\\"', '"'): v.replace('\\"', '"') for k, v in _TAG.findall(text)}


def bilingual(name: object, name_sv: object, sep: str) -> str | None:
    """The label: the name, and the Swedish name after ``sep`` when there is a different one."""
    first = name if isinstance(name, str) and name.strip() else None
    second = name_sv if isinstance(name_sv, str) and name_sv.strip() else None
    if first and second and second != first:
        return f"{first}{sep}{second}"
    return first or second


def _frame(geoms: Iterable[Any], rows: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(list(geoms), crs="OGC:CRS84"))


def _read(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes on clipped OSM rings
        try:
            frame = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
        except Exception as exc:  # pyogrio raises several DataSource/Field errors
            raise BuildFailed(f"{path.name}: cannot be read ({exc})") from None
    if frame.crs is None:
        frame = frame.set_crs("OGC:CRS84")
    return frame.to_crs("OGC:CRS84") if frame.crs.to_epsg() != 4326 else frame


def read_osm(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """Water, green areas, buildings, streets and places of an OSM extract, in CRS84."""
    out: dict[str, tuple[list[Any], list[dict[str, Any]]]] = {f: ([], []) for f in FAMILIES}

    def add(family: str, geom: Any, kind: str, name: object, tags: dict[str, str],
            sep: str) -> None:
        name_sv = tags.get("name:sv")
        name = name if isinstance(name, str) else None
        out[family][0].append(geom)
        out[family][1].append({"kind": kind, "name": name, "name_sv": name_sv,
                               "label": bilingual(name, name_sv, sep)})

    lines = _read(path, "lines")
    coastlines = []
    for geom, highway, railway, name, other in zip(
            lines.geometry, lines["highway"], lines["railway"], lines["name"],
            lines["other_tags"], strict=True):
        tags = _tags(other)
        if tags.get("natural") == "coastline":
            coastlines.append(geom)
        if highway in MAJOR:
            add("streets", geom, "major", name, tags, " / ")
        elif highway in MINOR:
            add("streets", geom, "minor", name, tags, " / ")
        elif highway in PATH:
            add("streets", geom, "path", name, tags, " / ")
        elif railway in {"rail", "subway", "light_rail", "narrow_gauge"}:
            add("streets", geom, "rail", None, {}, "")
    areas = _read(path, "multipolygons")
    for row in areas.itertuples(index=False):
        tags = _tags(row.other_tags)
        if isinstance(row.building, str):
            add("buildings", row.geometry, "building", None, {}, "")
        elif (row.natural == "water" or row.landuse in WATER_LANDUSE
              or tags.get("waterway") == "riverbank" or "water" in tags):
            add("water", row.geometry, "water", row.name, tags, "\n")
        elif (row.leisure in GREEN_LEISURE or row.landuse in GREEN_LANDUSE
              or row.natural in GREEN_NATURAL):
            add("green", row.geometry, "green", row.name, tags, "\n")
    if coastlines:
        extent = shapely.box(*lines.total_bounds)
        for face in sea_faces(coastlines, extent):
            add("water", face, "sea", None, {}, "")
    points = _read(path, "points")
    for geom, place, name, other in zip(points.geometry, points["place"], points["name"],
                                        points["other_tags"], strict=True):
        if place in PLACES and isinstance(name, str):
            add("places", geom, f"place{PLACES[place]}", name, _tags(other), "\n")
    return {family: _frame(geoms, rows) for family, (geoms, rows) in out.items() if rows}


def sea_faces(coastlines: list[Any], extent: Any) -> list[Any]:
    """The parts of ``extent`` that lie in the sea, from OSM coastline ways.

    OSM draws a coastline with the land on its left and the water on its right: the extent
    is cut along the coastlines, and each piece whose inside lies right of its nearest
    coastline is sea. (An extract holds no sea polygons, only these ways.)
    """
    lines = shapely.line_merge(shapely.union_all(
        [shapely.intersection(line, extent) for line in coastlines if line is not None]))
    parts = [_to_edge(p, extent) for p in shapely.get_parts(lines)
             if p.geom_type == "LineString" and p.length]
    if not parts:
        return []
    faces = shapely.get_parts(shapely.polygonize(
        list(shapely.get_parts(shapely.union_all([*parts, extent.boundary])))))
    sea = []
    for face in faces:
        inside = face.representative_point()
        line = min(parts, key=lambda p: p.distance(inside))
        at = line.project(inside)
        step = min(line.length / 100, 1e-5)
        a = line.interpolate(max(at - step, 0.0))
        b = line.interpolate(min(at + step, line.length))
        cross = (b.x - a.x) * (inside.y - a.y) - (b.y - a.y) * (inside.x - a.x)
        if cross < 0:
            sea.append(face)
    return sea


def _to_edge(line: Any, extent: Any) -> Any:
    """The line with each loose end carried straight on to the extent's edge (an extract cuts
    coastlines short of its box, so they would not divide it)."""
    coords = [tuple(c) for c in shapely.get_coordinates(line)]
    if len(coords) < 2 or coords[0] == coords[-1]:
        return line
    far = 2 * max(extent.bounds[2] - extent.bounds[0], extent.bounds[3] - extent.bounds[1])
    edge = extent.boundary

    def carried(end: tuple[float, float], before: tuple[float, float]) -> tuple[float, float]:
        if edge.distance(shapely.Point(end)) < 1e-9:
            return end
        dx, dy = end[0] - before[0], end[1] - before[1]
        norm = (dx * dx + dy * dy) ** 0.5 or 1.0
        ray = shapely.LineString([end, (end[0] + dx / norm * far, end[1] + dy / norm * far)])
        hits = shapely.get_coordinates(shapely.intersection(ray, edge))
        if not len(hits):
            return end
        best = min(hits, key=lambda h: (h[0] - end[0]) ** 2 + (h[1] - end[1]) ** 2)
        return float(best[0]), float(best[1])

    start = carried(coords[0], coords[1])
    finish = carried(coords[-1], coords[-2])
    return shapely.LineString([start, *coords, finish])


def read_nls(folder: Path) -> dict[str, gpd.GeoDataFrame]:
    """Roads, water, buildings and place names of an NLS MTK shapefile folder, in CRS84."""
    def files(prefix: str, suffix: str) -> list[Path]:
        return sorted(p for p in folder.glob(f"{prefix}_*_{suffix}.shp")
                      if p.with_suffix(".dbf").is_file())

    out: dict[str, gpd.GeoDataFrame] = {}

    def collect(family: str, paths: list[Path],
                classify: Callable[[gpd.GeoDataFrame], pd.Series], sep: str = "\n") -> None:
        parts = []
        for path in paths:
            frame = _read(path)
            kinds = classify(frame)
            keep = kinds.notna()
            text = (frame["TEKSTI"].where(frame["TEKSTI"].astype(str).str.strip() != "")
                    if "TEKSTI" in frame else pd.Series(None, index=frame.index))
            parts.append(_frame(frame.geometry[keep], [
                {"kind": k, "name": t if isinstance(t, str) else None, "name_sv": None,
                 "label": t if isinstance(t, str) else None}
                for k, t in zip(kinds[keep], text[keep], strict=True)]))
        if parts:
            joined = pd.concat(parts, ignore_index=True)
            if len(joined):
                out[family] = gpd.GeoDataFrame(joined, geometry="geometry", crs="OGC:CRS84")

    def luokka(frame: gpd.GeoDataFrame, table: dict[str, set[int]]) -> pd.Series:
        codes = frame.get("LUOKKA", pd.Series(0, index=frame.index))
        result = pd.Series(None, index=frame.index, dtype=object)
        for kind, values in table.items():
            result[codes.isin(values)] = kind
        return result

    collect("streets", files("l", "v"),
            lambda f: luokka(f, {"major": NLS_MAJOR, "minor": NLS_MINOR, "path": NLS_PATH}))
    collect("water", files("m", "p"), lambda f: luokka(f, {"water": NLS_WATER}))
    collect("buildings", files("r", "p"),
            lambda f: pd.Series("building", index=f.index, dtype=object))
    def named(frame: gpd.GeoDataFrame) -> pd.Series:
        kinds = pd.Series(None, index=frame.index, dtype=object)
        if "TEKSTI" in frame:
            kinds[frame["TEKSTI"].notna()] = "place3"
        return kinds

    collect("places", files("n", "t"), named)
    if "places" in out:
        out["places"] = out["places"][out["places"]["label"].notna()].reset_index(drop=True)
    return out


def read_source(path: Path) -> tuple[dict[str, gpd.GeoDataFrame], str]:
    """One source's layers and attribution: an ``.osm.pbf`` file or an NLS MTK folder."""
    if path.is_dir():
        found = read_nls(path)
        if not found:
            raise BuildFailed(f"{path.name}: no NLS topographic shapefiles (l_*_v, m_*_p, "
                              "n_*_t, r_*_p) in this folder")
        return found, NLS_ATTRIBUTION
    if not path.is_file():
        raise BuildFailed(f"{path.name}: no such file or folder")
    if not path.name.endswith((".osm.pbf", ".pbf", ".osm")):
        raise BuildFailed(f"{path.name}: give an OpenStreetMap extract (.osm.pbf) or a "
                          "folder of NLS topographic shapefiles")
    return read_osm(path), OSM_ATTRIBUTION


def merge_streets(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Join the pieces of each named street into as few lines as the network allows.

    OSM cuts a street into short ways (at every junction or tag change), often shorter than
    its name: merged, the renderer finds room to write the name along it.
    """
    lines = frame[frame.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    keys = lines[COLUMNS].fillna("").astype(str).agg("\x1f".join, axis=1)
    geoms, rows = [], []
    for _, group in lines.groupby(keys, sort=False):
        first = group.iloc[0]
        merged = shapely.line_merge(shapely.union_all(np.asarray(group.geometry, dtype=object)))
        for part in shapely.get_parts(merged):
            geoms.append(part)
            rows.append({c: first[c] for c in COLUMNS})
    return _frame(geoms, rows)


def _normalised(layer_id: str, title: str, frame: gpd.GeoDataFrame) -> NormalisedLayer:
    geoms, rows, repaired, dropped = clean_geometries(np.asarray(frame.geometry, dtype=object))
    if len(geoms) == 0:
        raise BuildFailed(f"{layer_id}: no usable geometries")
    if frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).any():
        keep = np.isin(shapely.get_type_id(geoms), [3, 6])
        geoms, rows = geoms[keep], rows[keep]
    geoms, geometry_type, notes = unify_types(geoms)
    gdf = gpd.GeoDataFrame(frame.drop(columns="geometry").iloc[rows].reset_index(drop=True),
                           geometry=gpd.GeoSeries(geoms, crs="OGC:CRS84"))
    report = ImportReport(layer_id=layer_id, kind=LayerKind.VECTOR, title=title,
                          feature_count=len(gdf), source_crs="EPSG:4326",
                          bbox=total_bounds(geoms), geometry_type=geometry_type,
                          repaired=repaired, dropped=dropped, warnings=tuple(notes))
    return NormalisedLayer(report=report, frame=gdf)


FAMILY_TITLES = {"water": "water", "green": "parks and woods", "buildings": "buildings",
                 "streets": "streets and paths", "places": "place names"}


def build_basemap(store: Store, styles_dir: Path, basemap_id: str, sources: list[Path], *,
                  title: dict[str, str] | None = None, write_styles: bool = True
                  ) -> BuildReport:
    """Read ``sources``, store their layers as ``ID-<family>``, write the two style files
    (``write_styles=False``: the layers only, for a base whose files ship with webmap)."""
    if not BASEMAP_ID.match(basemap_id) or basemap_id.endswith("-contrast"):
        raise BasemapError(f"{basemap_id!r}: a base-map id is 1–64 lower-case letters, digits, "
                           "'_' or '-' (not ending in -contrast)")
    if not sources:
        raise BuildFailed("give at least one source: an .osm.pbf file or an NLS folder")
    frames: dict[str, list[gpd.GeoDataFrame]] = {}
    attributions: list[str] = []
    report = BuildReport(basemap_id)
    for path in sources:
        found, attribution = read_source(Path(path))
        report.sources.append(Path(path).name)
        attributions.append(attribution)
        for family, frame in found.items():
            frames.setdefault(family, []).append(frame)
    attribution = "; ".join(dict.fromkeys(attributions))
    made: list[str] = []
    for family in FAMILIES:
        if family not in frames:
            continue
        frame = gpd.GeoDataFrame(pd.concat(frames[family], ignore_index=True),
                                 geometry="geometry", crs="OGC:CRS84")
        if family == "streets":
            frame = merge_streets(frame)
        layer_id = f"{basemap_id}-{family}"
        layer_title = f"{basemap_id}: {FAMILY_TITLES[family]}"
        def importer(_workdir: Path, f: gpd.GeoDataFrame = frame, i: str = layer_id,
                     t: str = layer_title) -> NormalisedLayer:
            return _normalised(i, t, f)

        imported = store.import_layer(
            layer_id, importer,
            attribution=attribution,
            description=f"Base map {basemap_id}, made by webmap basemap build from "
                        f"{', '.join(report.sources)}")
        report.layers[layer_id] = imported.feature_count
        made.append(family)
    if "streets" not in made and "buildings" not in made:
        raise BuildFailed(f"{', '.join(report.sources)}: no streets or buildings found")
    report.families = made
    report.attribution = attribution
    if not write_styles:
        return report
    folder = styles_dir / "basemaps"
    folder.mkdir(parents=True, exist_ok=True)
    titles = title or {"fi": f"{basemap_id}, taustakartta", "sv": f"{basemap_id}, bakgrundskarta",
                       "en": f"{basemap_id}, base map"}
    for variant, palette in (("", STANDARD), ("-contrast", HIGH_CONTRAST)):
        style = basemap_style(basemap_id, made, palette, attribution=attribution,
                              title=titles, contrast=bool(variant))
        target = folder / f"{basemap_id}{variant}.json"
        scratch = target.with_suffix(".json.tmp")
        scratch.write_text(json.dumps(style, ensure_ascii=False, indent=2) + "\n", "utf-8")
        scratch.replace(target)
        report.styles.append(target)
    return report


STANDARD = {"background": "#f2efe9", "water": "#9ccbe0", "green": "#d4e6c3",
            "building": "#dad1c6", "building_line": "#c2b6a8", "casing": "#b9b1a6",
            "street": "#ffffff", "major": "#fde8a6", "major_casing": "#c9a85a",
            "path": "#a8a096", "rail": "#8f8a84", "text": "#2b2b2b", "halo": "#ffffff",
            "water_text": "#1d4f73"}
HIGH_CONTRAST = {"background": "#ffffff", "water": "#5aa7d6", "green": "#ffffff",
                 "building": "#bdbdbd", "building_line": "#3d3d3d", "casing": "#000000",
                 "street": "#ffffff", "major": "#ffe14d", "major_casing": "#000000",
                 "path": "#555555", "rail": "#000000", "text": "#000000", "halo": "#ffffff",
                 "water_text": "#000000"}
"""Black casings and text on white: every street edge and name at least 7:1."""


def basemap_style(basemap_id: str, families: list[str], colours: dict[str, str], *,
                  attribution: str, title: dict[str, str], contrast: bool) -> dict[str, Any]:
    """The base-map file for the layers built (``families``), in one palette."""
    def lid(family: str) -> str:
        return f"{basemap_id}-{family}"

    def kind(*values: str) -> dict[str, Any]:
        return {"property": "kind", "in": list(values)}

    layers: list[dict[str, Any]] = []
    if "green" in families:
        layers.append({"layer": lid("green"), "fill": colours["green"], "min_zoom": 12})
    if "water" in families:
        layers.append({"layer": lid("water"), "fill": colours["water"]})
    if "buildings" in families:
        layers.append({"layer": lid("buildings"), "fill": colours["building"],
                       "stroke": colours["building_line"], "stroke_width": 0.5,
                       "min_zoom": 14})
    if "streets" in families:
        wide = 1.6 if contrast else 1.0
        layers += [
            {"layer": lid("streets"), "stroke": colours["path"], "stroke_width": wide,
             "min_zoom": 15, "where": kind("path")},
            {"layer": lid("streets"), "stroke": colours["rail"], "stroke_width": 1.2,
             "min_zoom": 13, "where": kind("rail")},
            {"layer": lid("streets"), "stroke": colours["casing"], "stroke_width": 5 * wide,
             "min_zoom": 14, "where": kind("minor")},
            {"layer": lid("streets"), "stroke": colours["major_casing"],
             "stroke_width": 7 * wide, "min_zoom": 11, "where": kind("major")},
            {"layer": lid("streets"), "stroke": colours["street"],
             "stroke_width": 5 * wide - 2, "min_zoom": 14, "where": kind("minor")},
            {"layer": lid("streets"), "stroke": colours["major"], "stroke_width": 7 * wide - 2,
             "min_zoom": 11, "where": kind("major")},
        ]
    text = {"colour": colours["text"], "halo": colours["halo"]}
    size = 1.15 if contrast else 1.0
    if "places" in families:
        layers += [
            {"layer": lid("places"), "min_zoom": 10, "where": kind("place1"),
             "label": {"property": "label", "placement": "point", "size": 15 * size,
                       "bold": True, **text}},
            {"layer": lid("places"), "min_zoom": 12, "where": kind("place2"),
             "label": {"property": "label", "placement": "point", "size": 13 * size,
                       "bold": True, **text}},
        ]
    if "streets" in families:
        layers += [
            {"layer": lid("streets"), "min_zoom": 14, "where": kind("major"),
             "label": {"property": "label", "placement": "line", "size": 12 * size, **text}},
            {"layer": lid("streets"), "min_zoom": 15, "where": kind("minor"),
             "label": {"property": "label", "placement": "line", "size": 11 * size, **text}},
        ]
    if "places" in families:
        layers.append(
            {"layer": lid("places"), "min_zoom": 14, "where": kind("place3", "place4"),
             "label": {"property": "label", "placement": "point", "size": 12 * size, **text}})
    if "water" in families:
        layers.append(
            {"layer": lid("water"), "min_zoom": 14, "where": {"property": "label",
                                                              "not_null": True},
             "label": {"property": "label", "placement": "point", "size": 11 * size,
                       "colour": colours["water_text"], "halo": colours["halo"]}})
    style: dict[str, Any] = {
        "id": f"{basemap_id}-contrast" if contrast else basemap_id,
        "title": ({k: f"{v} ({HC_WORD[k]})" for k, v in title.items()} if contrast
                  else dict(title)),
        "attribution": attribution,
        "background": colours["background"],
        "layers": layers,
    }
    if contrast:
        style["variant_of"] = basemap_id
    else:
        style["high_contrast"] = f"{basemap_id}-contrast"
    return style


HC_WORD = {"fi": "korkea kontrasti", "sv": "hög kontrast", "en": "high contrast"}
