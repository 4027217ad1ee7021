"""Offline base maps: ``styles/basemaps/<id>.json`` drawn as PNG tiles from the store's MVTs
by Mapnik (streets, buildings, water and their names; ``webmap basemap build`` makes them).

The map widget must work without the internet, so webmap draws its own base map from open
vector layers it holds. Each tile is drawn from the same vector tiles the tile API serves
(so both backends share this code) and kept in a ``TileCache`` keyed by the style file's
digest and the versions of its layers: editing the style or replacing a layer never serves
an old picture.

Modules: ``model`` (the file format), ``draw`` (one tile as PNG with Mapnik, loaded by
``engine``), ``service`` (cache and store), ``build`` (base maps from OSM and NLS data).
"""

from .draw import draw_tile, encode_png, map_xml, palette_of, visible_passes, web_zoom
from .model import (
    Basemap,
    BasemapError,
    BasemapLayer,
    BasemapNotFound,
    Label,
    Where,
    load_basemaps,
    parse_basemap,
)
from .service import BasemapService, Snapshot

__all__ = ["Basemap", "BasemapError", "BasemapLayer", "BasemapNotFound", "BasemapService",
           "Label", "Snapshot", "Where", "draw_tile", "encode_png", "load_basemaps", "map_xml",
           "palette_of", "parse_basemap", "visible_passes", "web_zoom"]
