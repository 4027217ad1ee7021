"""Offline base maps: ``styles/basemaps/<id>.json`` drawn as PNG tiles from the store's MVTs.

The map widget must work without the internet, so webmap draws its own base map from open
vector layers it holds. Each tile is drawn from the same vector tiles the tile API serves
(so both backends share this code), on a 1024-px canvas reduced to 256 (or 512) px for
antialiasing, and kept in a ``TileCache`` keyed by the style file's digest and the versions
of its layers: editing the style or replacing a layer never serves an old picture.

Modules: ``model`` (the file format), ``draw`` (one tile as PNG), ``service`` (cache and store).
"""

from .draw import decode_shapes, draw_tile, encode_png, web_zoom
from .model import (
    Basemap,
    BasemapError,
    BasemapLayer,
    BasemapNotFound,
    Where,
    load_basemaps,
    parse_basemap,
)
from .service import BasemapService, Snapshot

__all__ = ["Basemap", "BasemapError", "BasemapLayer", "BasemapNotFound", "BasemapService",
           "Snapshot", "Where", "decode_shapes", "draw_tile", "encode_png", "load_basemaps",
           "parse_basemap", "web_zoom"]
