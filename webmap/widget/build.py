"""The widget's map, built with folium: Leaflet map, CRS, base layer and scale.

folium renders three parts: the header (links to the local Leaflet files), the map
element and the script that creates the map. The page places the first two itself and
serves the script as a file of its own, so the Content-Security-Policy needs no inline
script. Builds are cached per map version and language.
"""

from __future__ import annotations

import json
import threading
import warnings
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import Figure
from folium.template import Template
from pyproj import CRS, Transformer

from ..i18n import t
from ..maps import MapDefinition, text
from ..maps.safety import safe_attribution
from ..tiles.grids import GRID_EPSG, GRIDS
from . import assets

MAX_ZOOM = {"WebMercatorQuad": 19}
"""Deepest zoom offered per grid (the national grids stop at their own last level)."""


class WidgetMap(folium.Map):
    """folium's Map with webmap's template: no viewport tag, no inline styles, any CRS.

    folium's own header sets ``user-scalable=no`` (the page must stay zoomable) and
    writes ``<style>`` blocks; the page's stylesheet does that work instead. The CRS
    may be a Proj4Leaflet one, which folium's ``crs`` option cannot express.
    """

    _template = Template("""
        {% macro header(this, kwargs) %}{% endmacro %}
        {% macro html(this, kwargs) %}
            <div class="wm-map" id="wm-map" tabindex="0" role="region"
                 aria-label="{{ this.aria_label|e }}" aria-describedby="wm-map-help"></div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var wmReduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
            var {{ this.get_name() }} = L.map("wm-map", Object.assign({
                    crs: {{ this.crs_js }},
                    zoomAnimation: !wmReduceMotion,
                    fadeAnimation: !wmReduceMotion,
                    markerZoomAnimation: !wmReduceMotion,
                    inertia: !wmReduceMotion
                }, {{ this.options|tojavascript }}));
            {{ this.get_name() }}.attributionControl.setPrefix(false);
            window.webmapMap = {{ this.get_name() }};
            {%- if this.control_scale %}
            L.control.scale({imperial: false}).addTo({{ this.get_name() }});
            {%- endif %}
        {% endmacro %}
    """)

    def __init__(self, *, crs_js: str, aria_label: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.crs_js = crs_js
        self.aria_label = aria_label


def proj4_definition(code: str) -> str:
    """The PROJ string of ``code`` (``EPSG:n``) for proj4js."""
    with warnings.catch_warnings():
        # PROJ warns that a PROJ string loses metadata; proj4js needs only the maths.
        warnings.simplefilter("ignore", UserWarning)
        return str(CRS.from_user_input(code).to_proj4())


def national_crs(definition: MapDefinition) -> dict[str, Any] | None:
    """The map's national CRS as the widget uses it: code, name, PROJ string and the map's
    extent in it; None for a map on the web-mercator grid (lon/lat only)."""
    tms_id = definition.tile_matrix_set
    if tms_id == "WebMercatorQuad" or tms_id not in GRID_EPSG:
        return None
    code = GRID_EPSG[tms_id]
    transformer = Transformer.from_crs("OGC:CRS84", code, always_xy=True)
    extent = transformer.transform_bounds(*definition.extent, densify_pts=21)
    names = {"ETRS-TM35FIN": "ETRS-TM35FIN", "SWEREF99TM": "SWEREF 99 TM"}
    return {"code": code, "name": names.get(tms_id, CRS.from_user_input(code).name),
            "proj4": proj4_definition(code), "extent": [round(v, 2) for v in extent]}


def proj_crs_js(tms_id: str) -> str:
    """JavaScript creating the Leaflet CRS of a grid (Proj4Leaflet for the national ones)."""
    if tms_id == "WebMercatorQuad":
        return "L.CRS.EPSG3857"
    tms = GRIDS[tms_id]
    code = GRID_EPSG[tms_id]
    proj4 = proj4_definition(code)
    matrices = tms.tileMatrices
    origin = list(matrices[0].pointOfOrigin)
    resolutions = [m.cellSize for m in matrices]
    left, bottom, right, top = tms.xy_bbox
    options = {"origin": origin, "resolutions": resolutions,
               "bounds": [[left, bottom], [right, top]]}
    return (f"new L.Proj.CRS({json.dumps(code)}, {json.dumps(proj4)}, "
            f"Object.assign({json.dumps(options)}, "
            f"{{bounds: L.bounds({json.dumps(options['bounds'])})}}))")


@dataclass(frozen=True)
class BuiltMap:
    """folium's output for one map and language."""

    header: str
    html: str
    script: str


def base_layer(definition: MapDefinition, max_zoom: int) -> folium.TileLayer | None:
    """The base map as a folium TileLayer (webmap's own tiles, or the map's XYZ service)."""
    base = definition.base
    if base.kind == "rendered" and base.basemap:
        url = (f"../basemaps/{base.basemap}/tiles/{definition.tile_matrix_set}"
               "/{z}/{y}/{x}.png")
    elif base.kind == "layer" and base.layer:
        url = (f"../collections/{base.layer}/tiles/{definition.tile_matrix_set}"
               "/{z}/{y}/{x}")
    elif base.kind == "xyz" and base.url:
        url = base.url
    else:
        return None
    return folium.TileLayer(tiles=url, attr=safe_attribution(base.attribution) or " ",
                            max_zoom=max_zoom, max_native_zoom=max_zoom, control=False,
                            no_wrap=True)


_BUILT: dict[tuple[str, str, str, str, str], BuiltMap] = {}
_BUILT_LOCK = threading.Lock()
MAX_BUILT = 256


def build_map(definition: MapDefinition, lang: str, base_attribution: str) -> BuiltMap:
    """The folium parts of ``definition`` in ``lang``, rendered once per map version."""
    key = (definition.id, definition.version, lang, base_attribution,
           str(definition.base.basemap))
    with _BUILT_LOCK:
        built = _BUILT.get(key)
    if built is None:
        built = _render(definition, lang, base_attribution)
        with _BUILT_LOCK:
            if len(_BUILT) >= MAX_BUILT:
                _BUILT.clear()
            _BUILT[key] = built
    return built


def _render(definition: MapDefinition, lang: str, base_attribution: str) -> BuiltMap:
    tms_id = definition.tile_matrix_set
    max_zoom = MAX_ZOOM.get(tms_id, GRIDS[tms_id].maxzoom)
    west, south, east, north = definition.extent
    figure = Figure()
    fmap = WidgetMap(
        crs_js=proj_crs_js(tms_id),
        aria_label=t("map_label", lang, title=text(definition.title, lang)),
        location=[(south + north) / 2, (west + east) / 2], zoom_start=1, tiles=None,
        zoom_control=False, control_scale=True, max_zoom=max_zoom, min_zoom=0,
        keyboardPanDelta=100, gestureHandling=True,
        gestureHandlingOptions={"text": {"touch": t("gesture_touch", lang),
                                         "scroll": t("gesture_scroll", lang),
                                         "scrollMac": t("gesture_scroll_mac", lang)},
                                "duration": 1500})
    if tms_id != "WebMercatorQuad":
        # An instance list: folium's add_js_link would edit the list all maps share.
        fmap.default_js = [*folium.Map.default_js,
                           ("proj4", assets.PAGE_TO_ROOT + assets.PROJ4_JS),
                           ("proj4leaflet", assets.PAGE_TO_ROOT + assets.PROJ4LEAFLET_JS)]
    figure.add_child(fmap)
    layer = base_layer(definition, max_zoom)
    if layer is not None:
        if base_attribution:
            layer.options["attribution"] = safe_attribution(base_attribution)
        layer.add_to(fmap)
    figure.render()
    return BuiltMap(header=figure.header.render(), html=figure.html.render(),
                    script=figure.script.render())
