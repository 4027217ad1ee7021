// The staff preview map: the layer's features, in the chosen style when there is one, on the
// Leaflet map that the widget's folium builder made (window.webmapMap).

import { number, say } from "./strings.js";

const config = JSON.parse(document.getElementById("staff-map-config").textContent);
const map = window.webmapMap;
const status = document.getElementById("map-status");
const motion = { animate: !window.matchMedia("(prefers-reduced-motion: reduce)").matches };
const MAX_FEATURES = 5000;
const [west, south, east, north] = config.bbox;
const bounds = L.latLngBounds([[south, west], [north, east]]);

function fit() {
  map.fitBounds(bounds, { ...motion, padding: [8, 8] });
}

document.querySelectorAll("[data-map]").forEach((button) => {
  button.addEventListener("click", () => {
    if (button.dataset.map === "zoom-in") map.zoomIn(1, motion);
    else if (button.dataset.map === "zoom-out") map.zoomOut(1, motion);
    else fit();
  });
});

function classFor(style, properties) {
  const classes = style.classes || [];
  const value = style.property ? properties[style.property] : null;
  const key = value === null || value === undefined ? null : String(value);
  return classes.find((c) => Array.isArray(c.values) && c.values.includes(key))
    || classes.find((c) => !c.values) || {};
}

function pathOptions(style, cls) {
  const area = !style || style.geometry !== "line";
  return {
    color: cls.stroke || "#1f3f6b",
    weight: Number.isFinite(cls.stroke_width) ? cls.stroke_width : 2,
    dashArray: Array.isArray(cls.dash) ? cls.dash.join(" ") : null,
    fill: area,
    fillColor: cls.fill || "#1f3f6b",
    fillOpacity: cls.fill ? (Number.isFinite(cls.fill_opacity) ? cls.fill_opacity : 0.6) : 0.15,
    radius: Number.isFinite(cls.radius) ? cls.radius : 6,
    interactive: false,
  };
}

async function fetchFeatures(first) {
  const features = [];
  let url = first;
  while (url && features.length < MAX_FEATURES) {
    const response = await fetch(url, { headers: { Accept: "application/geo+json" } });
    if (!response.ok) throw new Error(say("js.server_answered", { status: response.status }));
    const page = await response.json();
    features.push(...page.features);
    const next = (page.links || []).find((link) => link.rel === "next");
    url = next ? next.href : null;
  }
  return { features, more: Boolean(url) };
}

async function draw() {
  fit();
  if (!config.items) {
    status.textContent = say("js.raster_tiles");
    return;
  }
  const { features, more } = await fetchFeatures(`${config.items}?limit=1000`);
  const style = config.style;
  const optionsFor = (feature) => pathOptions(style, style ? classFor(style, feature.properties || {}) : {});
  L.geoJSON(features, {
    style: optionsFor,
    pointToLayer: (feature, latlng) => L.circleMarker(latlng, optionsFor(feature)),
  }).addTo(map);
  const n = number(features.length);
  status.textContent = more ? say("js.drawn_first", { n, max: number(MAX_FEATURES) }) : say("js.drawn", { n });
}

draw()
  .catch((error) => { status.textContent = say("js.not_drawn", { error: error.message }); })
  .finally(() => { document.documentElement.dataset.ready = "true"; });
