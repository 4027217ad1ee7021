// webmap widget: plan features, list, panel, search, choosing a place, host messages.
// The Leaflet map itself is created by the folium-built map.js (window.webmapMap).
import { mapCoordinates, wkt } from "./shapes.js";

const config = JSON.parse(document.getElementById("wm-config").textContent);
const map = window.webmapMap;
const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
const motion = { animate: !reduceMotion };
let lang = config.lang;

// ---------- strings ----------
function tr(key, values = {}) {
  const template = (config.strings[lang] || {})[key] || key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}
function local(value) {
  if (!value) return "";
  if (typeof value === "string") return value;
  return value[lang] || value.en || Object.values(value)[0] || "";
}
function applyLanguage(next) {
  if (!config.languages.includes(next)) return false;
  lang = next;
  document.documentElement.lang = next;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = tr(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-aria-label]").forEach((el) => {
    el.setAttribute("aria-label", tr(el.dataset.i18nAriaLabel));
  });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = tr(el.dataset.i18nTitle); });
  document.querySelectorAll("[data-i18n-map-title]").forEach((el) => { el.textContent = local(config.title); });
  document.querySelectorAll(".wm-lang").forEach((el) => {
    el.setAttribute("aria-pressed", String(el.dataset.lang === next));
  });
  map.getContainer().setAttribute("aria-label", tr("map_label", { title: local(config.title) }));
  renderLists();
  renderLegend();
  renderChosen();
  if (current) showPanel(current.entry, current.latlng, null);
  document.dispatchEvent(new CustomEvent("webmap:language", { detail: next }));
  return true;
}

// ---------- live region ----------
const statusEl = document.getElementById("wm-status");
let announceTimer = null;
function announce(message) {
  clearTimeout(announceTimer);
  statusEl.textContent = "";
  announceTimer = setTimeout(() => { statusEl.textContent = message; }, 60);
}

// ---------- talking to the host e-service ----------
const allowedOrigins = new Set([...config.origins, window.location.origin]);
const hostOrigin = (() => {
  if (window.parent === window) return null;
  const candidates = [];
  if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) {
    candidates.push(window.location.ancestorOrigins[0]);
  } else if (document.referrer) {
    try { candidates.push(new URL(document.referrer).origin); } catch (_) { /* no referrer */ }
  }
  return candidates.find((origin) => allowedOrigins.has(origin)) || null;
})();
// The location as a form platform stores it: CRS84 GeoJSON, and where the map has a national
// CRS the same geometry in it as GeoJSON and WKT, with the CRS and the map's extent in it.
function locationMessage(kind, geometry, entry) {
  const message = { type: "location", kind, geometry, feature: featureRef(entry) };
  if (config.crs && window.proj4 && geometry) {
    const toNational = (p) => window.proj4("WGS84", config.crs.proj4, [p[0], p[1]]).map((v) => Math.round(v * 1000) / 1000);
    const national = { type: geometry.type, coordinates: mapCoordinates(geometry.coordinates, toNational) };
    Object.assign(message, { crs: config.crs.code, nationalGeometry: national, wkt: wkt(national), extent: config.crs.extent });
  }
  return message;
}
function post(message) {
  if (hostOrigin) window.parent.postMessage({ source: "webmap", ...message }, hostOrigin);
}
window.addEventListener("message", (event) => {
  if (!hostOrigin || event.origin !== hostOrigin || event.source !== window.parent) return;
  const data = event.data;
  if (!data || typeof data !== "object") return;
  if (data.type === "set-language" && typeof data.lang === "string") {
    applyLanguage(data.lang);
  } else if (data.type === "set-location") {
    const point = pointFromGeometry(data.geometry);
    if (point) {
      map.setView(point, Math.max(map.getZoom(), 14), motion);
      choosePoint(point);
    }
  } else if (data.type === "clear") {
    clearChoice();
  }
});

function pointFromGeometry(geometry) {
  if (!geometry || geometry.type !== "Point" || !Array.isArray(geometry.coordinates)) return null;
  const [lon, lat] = geometry.coordinates.map(Number);
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return null;
  const [west, south, east, north] = config.extent;
  if (lon < west || lon > east || lat < south || lat > north) return null;
  return L.latLng(lat, lon);
}

// ---------- geometry helpers ----------
function ringContains(ring, x, y) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
function polygonContains(rings, x, y) {
  return ringContains(rings[0], x, y) && !rings.slice(1).some((hole) => ringContains(hole, x, y));
}
function geometryContains(geometry, latlng) {
  const x = latlng.lng;
  const y = latlng.lat;
  if (!geometry) return false;
  if (geometry.type === "Polygon") return polygonContains(geometry.coordinates, x, y);
  if (geometry.type === "MultiPolygon") return geometry.coordinates.some((p) => polygonContains(p, x, y));
  return false;
}
const round7 = (value) => Math.round(value * 1e7) / 1e7;
function pointGeometry(latlng) {
  return { type: "Point", coordinates: [round7(latlng.lng), round7(latlng.lat)] };
}

// ---------- styles ----------
const SVG = "http://www.w3.org/2000/svg";
function classFor(style, properties) {
  const classes = (style && style.classes) || [];
  if (style && style.property) {
    const value = properties[style.property];
    const found = classes.find((c) => Array.isArray(c.values) && c.values.includes(value));
    if (found) return found;
  }
  return classes.find((c) => !Array.isArray(c.values)) || classes[0] || {};
}
function patternId(layerIndex, classIndex) { return `wm-pattern-${layerIndex}-${classIndex}`; }
function patternShapes(kind, color) {
  const line = (x1, y1, x2, y2) => `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${color}" stroke-width="1.5"/>`;
  switch (kind) {
    case "hatch": return { transform: "rotate(45)", body: line(0, 0, 0, 8) };
    case "cross-hatch": return { transform: "rotate(45)", body: line(0, 0, 0, 8) + line(0, 4, 8, 4) };
    case "horizontal": return { transform: "", body: line(0, 4, 8, 4) };
    case "vertical": return { transform: "", body: line(4, 0, 4, 8) };
    case "dots": return { transform: "", body: `<circle cx="4" cy="4" r="1.4" fill="${color}"/>` };
    default: return null;
  }
}
const safeColor = (value, fallback) => (/^#[0-9a-fA-F]{6}$/.test(value || "") ? value : fallback);
function patternMarkup(id, cls) {
  const shapes = patternShapes(cls.pattern, safeColor(cls.pattern_color, safeColor(cls.stroke, "#000000")));
  if (!shapes) return "";
  const fill = safeColor(cls.fill, "#ffffff");
  const fillRect = cls.fill ? `<rect width="8" height="8" fill="${fill}" fill-opacity="${cls.fill_opacity}"/>` : "";
  return `<pattern id="${id}" patternUnits="userSpaceOnUse" width="8" height="8"` +
    (shapes.transform ? ` patternTransform="${shapes.transform}"` : "") + `>${fillRect}${shapes.body}</pattern>`;
}
function ensurePatterns(svg, layerIndex, style) {
  if (!svg) return;
  let defs = svg.querySelector("defs");
  if (!defs) { defs = document.createElementNS(SVG, "defs"); svg.prepend(defs); }
  ((style && style.classes) || []).forEach((cls, classIndex) => {
    const id = patternId(layerIndex, classIndex);
    if (!svg.querySelector(`#${id}`)) defs.insertAdjacentHTML("beforeend", patternMarkup(id, cls));
  });
}
// Every number comes from the style the server checked (Style.to_json): nothing defaulted here.
function pathOptions(style, cls, selected) {
  const geometry = (style && style.geometry) || "polygon";
  const stroke = safeColor(cls.stroke, "#000000");
  const options = {
    color: stroke, weight: cls.stroke_width + (selected ? 3 : 0), opacity: cls.stroke ? 1 : 0,
    dashArray: cls.dash || null, fillColor: safeColor(cls.fill, stroke),
    fillOpacity: geometry === "line" ? 0 : cls.fill_opacity,
    fill: geometry !== "line" && (Boolean(cls.fill) || Boolean(cls.pattern && cls.pattern !== "none")),
    className: `wm-feature${selected ? " wm-selected" : ""}`,
  };
  if (geometry === "point") Object.assign(options, { radius: cls.radius, shape: cls.marker, fill: true });
  return options;
}
// A circle marker drawn as the style's marker shape (square, triangle, diamond or circle).
const ShapeMarker = L.CircleMarker.extend({
  _updatePath() {
    const shape = this.options.shape;
    if (!shape || shape === "circle" || !this._renderer._setPath) {
      L.CircleMarker.prototype._updatePath.call(this);
      return;
    }
    const { x, y } = this._point;
    const r = this._radius;
    const paths = {
      square: `M${x - r},${y - r}h${2 * r}v${2 * r}h${-2 * r}z`,
      triangle: `M${x},${y - 1.2 * r}L${x + 1.2 * r},${y + 0.9 * r}L${x - 1.2 * r},${y + 0.9 * r}z`,
      diamond: `M${x},${y - 1.3 * r}L${x + 1.3 * r},${y}L${x},${y + 1.3 * r}L${x - 1.3 * r},${y}z`,
    };
    this._renderer._setPath(this, paths[shape] || paths.square);
  },
});
const SWATCH_MARKERS = {
  circle: (fill, stroke, width) => `<circle cx="16" cy="15" r="7" fill="${fill}" stroke="${stroke}" stroke-width="${width}"/>`,
  square: (fill, stroke, width) => `<rect x="9" y="8" width="14" height="14" fill="${fill}" stroke="${stroke}" stroke-width="${width}"/>`,
  triangle: (fill, stroke, width) => `<path d="M16 6L25 23H7z" fill="${fill}" stroke="${stroke}" stroke-width="${width}"/>`,
  diamond: (fill, stroke, width) => `<path d="M16 5L26 15L16 25L6 15z" fill="${fill}" stroke="${stroke}" stroke-width="${width}"/>`,
};
function paint(entry, selected) {
  const cls = entry.cls;
  const layer = entry.leaflet;
  layer.setStyle(pathOptions(entry.source.style, cls, selected));
  const el = layer.getElement && layer.getElement();
  if (!el) return;
  el.classList.toggle("wm-selected", selected);
  if (cls.pattern && cls.pattern !== "none" && entry.source.style.geometry !== "line") {
    el.setAttribute("fill", `url(#${patternId(entry.source.index, entry.classIndex)})`);
    el.setAttribute("fill-opacity", "1");
  }
  if (selected && layer.bringToFront) layer.bringToFront();
}
function swatch(style, cls, classIndex, layerIndex) {
  const geometry = (style && style.geometry) || "polygon";
  const stroke = safeColor(cls.stroke, "#000000");
  const width = cls.stroke_width;
  const dash = cls.dash ? ` stroke-dasharray="${String(cls.dash).replace(/[^0-9 ,.]/g, "")}"` : "";
  const id = `wm-swatch-${layerIndex}-${classIndex}`;
  const pattern = patternMarkup(id, cls);
  let shape;
  if (geometry === "line") {
    shape = `<line x1="3" y1="15" x2="29" y2="15" stroke="${stroke}" stroke-width="${width}"${dash}/>`;
  } else if (geometry === "point") {
    shape = (SWATCH_MARKERS[cls.marker] || SWATCH_MARKERS.circle)(safeColor(cls.fill, stroke), stroke, width);
  } else {
    const fill = pattern ? `url(#${id})` : safeColor(cls.fill, "none");
    const opacity = pattern ? 1 : cls.fill_opacity;
    shape = `<rect x="3" y="3" width="26" height="24" fill="${fill}" fill-opacity="${opacity}" stroke="${stroke}" stroke-width="${width}"${dash}/>`;
  }
  return `<svg class="wm-swatch" width="32" height="30" viewBox="0 0 32 30" aria-hidden="true" focusable="false">` +
    (pattern ? `<defs>${pattern}</defs>` : "") + shape + `</svg>`;
}

// ---------- features ----------
const sources = config.layers.map((layer, index) => ({ ...layer, index, entries: [] }));
const entries = new Map(); // "layer/id" -> entry
const symbolLayer = L.layerGroup().addTo(map);
let homeBounds = L.latLngBounds([[config.extent[1], config.extent[0]], [config.extent[3], config.extent[2]]]);

function featureName(source, feature) {
  // the attribute naming features in this language (Swedish names where the data has them)
  const own = source.labels && source.labels[lang];
  const value = (own && feature.properties[own]) || (source.label ? feature.properties[source.label] : null);
  return value ? String(value) : tr("unnamed", { id: feature.id });
}
async function fetchAll(layerId) {
  const features = [];
  let url = `../collections/${encodeURIComponent(layerId)}/items?limit=1000&bbox=${config.extent.join(",")}`;
  while (url && features.length < 5000) {
    const response = await fetch(url, { headers: { Accept: "application/geo+json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const page = await response.json();
    features.push(...page.features);
    const next = (page.links || []).find((l) => l.rel === "next");
    url = next ? next.href : null;
  }
  return features;
}
function addSource(source, features) {
  const style = source.style || { geometry: "polygon", classes: [{ stroke: "#1f3f6b", stroke_width: 2, fill_opacity: 0 }] };
  source.style = style;
  const geo = L.geoJSON(features, {
    style: (feature) => pathOptions(style, classFor(style, feature.properties), false),
    pointToLayer: (feature, latlng) => new ShapeMarker(latlng, pathOptions(style, classFor(style, feature.properties), false)),
    interactive: source.plan,
  }).addTo(map);
  const svg = map.getPanes().overlayPane.querySelector("svg");
  ensurePatterns(svg, source.index, style);
  geo.eachLayer((leaflet) => {
    const feature = leaflet.feature;
    const cls = classFor(style, feature.properties);
    const classIndex = Math.max(0, (style.classes || []).indexOf(cls));
    const entry = { key: `${source.layer}/${feature.id}`, source, feature, leaflet, cls, classIndex };
    source.entries.push(entry);
    paint(entry, false);
    const el = leaflet.getElement && leaflet.getElement();
    if (!el) return;
    if (!source.plan) { el.setAttribute("aria-hidden", "true"); return; }
    entries.set(entry.key, entry);
    el.setAttribute("tabindex", entries.size === 1 ? "0" : "-1");
    el.setAttribute("role", "button");
    el.setAttribute("aria-label", `${featureName(source, feature)}, ${local(cls.legend)}`);
    el.setAttribute("aria-describedby", "wm-features-hint");
    el.addEventListener("keydown", (event) => onFeatureKey(event, entry, el));
    el.addEventListener("focus", () => {
      hover(entry, true);
      rove(entry);
      const center = leaflet.getBounds ? leaflet.getBounds().getCenter() : leaflet.getLatLng();
      if (!map.getBounds().contains(center)) map.panTo(center, motion);
    });
    el.addEventListener("blur", () => { hover(entry, false); });
    leaflet.on("click", (event) => {
      if (drawing) return; // a tap on a plan area adds a point to the shape being drawn
      L.DomEvent.stopPropagation(event);
      select(entry, event.latlng, el, false);
    });
    if (cls.symbol && style.geometry !== "line") {
      const center = leaflet.getBounds ? leaflet.getBounds().getCenter() : leaflet.getLatLng();
      const at = geometryContains(feature.geometry, center) || style.geometry === "point" ? center : null;
      if (at) {
        const marker = L.marker(at, {
          icon: L.divIcon({ className: "wm-symbol", html: "", iconSize: null }),
          interactive: false, keyboard: false,
        });
        marker.on("add", () => {
          const icon = marker.getElement();
          icon.textContent = cls.symbol;
          icon.setAttribute("aria-hidden", "true");
        });
        symbolLayer.addLayer(marker);
      }
    }
  });
}
// Plan features are one tab stop (a roving tabindex): Tab reaches the current feature,
// the arrow keys step between features, Enter opens its panel, Escape goes back to the map.
function planEntries() { return [...entries.values()]; }
function rove(entry) {
  for (const other of planEntries()) {
    const el = other.leaflet.getElement && other.leaflet.getElement();
    if (el) el.setAttribute("tabindex", other === entry ? "0" : "-1");
  }
}
function onFeatureKey(event, entry, el) {
  const all = planEntries();
  const index = all.indexOf(entry);
  let next = null;
  if (event.key === "ArrowRight" || event.key === "ArrowDown") next = all[(index + 1) % all.length];
  else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = all[(index - 1 + all.length) % all.length];
  else if (event.key === "Home") next = all[0];
  else if (event.key === "End") next = all[all.length - 1];
  else if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    event.stopPropagation();
    select(entry, null, el, false);
    return;
  } else if (event.key === "Escape") {
    event.preventDefault();
    event.stopPropagation();
    map.getContainer().focus({ preventScroll: true });
    return;
  } else {
    return;
  }
  event.preventDefault();
  event.stopPropagation();
  const target = next.leaflet.getElement();
  rove(next);
  target.focus({ preventScroll: true });
  announce(`${featureName(next.source, next.feature)}, ${local(next.cls.legend)}`);
}
function hover(entry, on) {
  if (selectedEntry === entry) return;
  const el = entry.leaflet.getElement && entry.leaflet.getElement();
  if (el) el.classList.toggle("wm-focus", on);
}

// ---------- list (the text alternative of the map) ----------
const listsEl = document.getElementById("wm-feature-lists");
function renderLists() {
  const plan = sources.filter((s) => s.plan);
  listsEl.replaceChildren();
  for (const source of plan) {
    const heading = document.createElement("h3");
    heading.textContent = `${local(source.title)} (${tr("features_count", { count: source.entries.length })})`;
    const list = document.createElement("ul");
    list.className = "wm-items";
    for (const entry of source.entries) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "wm-item";
      button.dataset.key = entry.key;
      button.setAttribute("aria-pressed", String(selectedEntry === entry));
      button.innerHTML = swatch(source.style, entry.cls, entry.classIndex, source.index);
      const text = document.createElement("span");
      text.className = "wm-item-text";
      const name = document.createElement("span");
      name.className = "wm-item-name";
      name.textContent = featureName(source, entry.feature);
      const detail = document.createElement("span");
      detail.className = "wm-item-class";
      detail.textContent = [local(entry.cls.legend), entry.cls.symbol].filter(Boolean).join(" · ");
      text.append(name, detail);
      button.append(text);
      button.addEventListener("click", () => select(entry, null, button, true));
      item.append(button);
      list.append(item);
    }
    listsEl.append(heading, list);
  }
  if (!plan.length) listsEl.replaceChildren();
}
function renderLegend() {
  const legendEl = document.getElementById("wm-legend-lists");
  legendEl.replaceChildren();
  for (const source of sources) {
    const style = source.style;
    if (!style || !style.classes) continue;
    const heading = document.createElement("h3");
    heading.textContent = local(source.title);
    // Only the classes the layer's features use: a plan style may know a hundred markings.
    const used = new Set(source.entries.map((entry) => entry.classIndex));
    if (!used.size) continue;
    const list = document.createElement("ul");
    list.className = "wm-legend-items";
    style.classes.forEach((cls, classIndex) => {
      if (!used.has(classIndex)) return;
      const item = document.createElement("li");
      item.innerHTML = swatch(style, cls, classIndex, `l${source.index}`);
      const label = document.createElement("span");
      label.textContent = [cls.symbol, local(cls.legend)].filter(Boolean).join(" – ");
      item.append(label);
      list.append(item);
    });
    legendEl.append(heading, list);
  }
}

// ---------- panel ----------
const panel = document.getElementById("wm-panel");
let current = null; // {entry, latlng}
let returnFocus = null;
let selectedEntry = null;
const allows = (kind) => Boolean(config.consultation && config.consultation.open
  && config.consultation.geometry.includes(kind));

function showPanel(entry, latlng, opener) {
  current = { entry, latlng };
  if (opener) returnFocus = opener;
  document.getElementById("wm-panel-title").textContent = featureName(entry.source, entry.feature);
  document.getElementById("wm-panel-class").textContent =
    [local(entry.cls.legend), entry.cls.symbol].filter(Boolean).join(" · ");
  const dl = document.getElementById("wm-panel-attributes");
  dl.replaceChildren();
  for (const attribute of entry.source.attributes || []) {
    const value = entry.feature.properties[attribute.field];
    if (value === null || value === undefined || value === "") continue;
    const dt = document.createElement("dt");
    dt.textContent = local(attribute.title);
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    dl.append(dt, dd);
  }
  renderRegulations(entry.feature.properties);
  panel.querySelector('[data-action="choose-feature"]').hidden = !allows("feature");
  panel.querySelector('[data-action="choose-point"]').hidden = !(latlng && allows("point"));
  panel.hidden = false;
  document.dispatchEvent(new CustomEvent("webmap:panel", { detail: entry })); // draw.js: "use its shape"
}
// A plan object's regulation groups (the JSON its layer carries in "regulations"), each as
// "letter code — title" and a list of regulations in the page's language; text in another
// language than the page's (a Swedish-only plan on a Finnish page) carries its own lang.
function regulationGroups(properties) {
  if (typeof properties.regulations !== "string") return [];
  try {
    const groups = JSON.parse(properties.regulations);
    return Array.isArray(groups) ? groups : [];
  } catch (error) {
    return [];
  }
}
function inLanguage(el, texts, langs) {
  const text = (texts && texts[lang]) || local(texts);
  el.textContent = text;
  const actual = langs && langs[lang];
  if (actual && actual !== lang) el.lang = actual;
  return text;
}
function renderRegulations(properties) {
  const box = document.getElementById("wm-panel-regulations");
  const target = document.getElementById("wm-panel-regulation-groups");
  target.replaceChildren();
  const groups = regulationGroups(properties);
  box.hidden = groups.length === 0;
  for (const group of groups) {
    const head = document.createElement("p");
    head.className = "wm-regulation-group";
    if (group.letter_code) {
      const code = document.createElement("strong");
      code.textContent = group.letter_code;
      head.append(code, " — ");
    }
    const title = document.createElement("span");
    const titleText = inLanguage(title, group.title, group.title_lang);
    head.append(title);
    const list = document.createElement("ul");
    for (const regulation of group.regulations || []) {
      const item = document.createElement("li");
      const text = inLanguage(item, regulation.text, regulation.text_lang);
      if (text && text !== titleText) list.append(item);
    }
    target.append(head);
    if (list.children.length) target.append(list);
  }
  renderPlan(groups.length ? properties.plan_id : null);
}
// The plan an object belongs to (GET /plans/ID, fetched once): its status and general
// regulations under the object's own.
const plans = new Map();
function planDocument(planId) {
  if (!plans.has(planId)) {
    plans.set(planId, fetch(`../plans/${encodeURIComponent(planId)}`)
      .then((response) => (response.ok ? response.json() : null)).catch(() => null));
  }
  return plans.get(planId);
}
async function renderPlan(planId) {
  const status = document.getElementById("wm-panel-plan-status");
  const general = document.getElementById("wm-panel-general");
  const list = document.getElementById("wm-panel-general-list");
  status.hidden = true;
  general.hidden = true;
  list.replaceChildren();
  if (!planId) return;
  const plan = await planDocument(planId);
  if (!plan || !current || current.entry.feature.properties.plan_id !== planId) return;
  const label = plan.status && (plan.status.label ? local(plan.status.label) : plan.status.code);
  if (label) {
    status.textContent = tr("plan_status", { status: label });
    status.hidden = false;
  }
  for (const group of plan.general_regulations || []) {
    for (const regulation of group.regulations || []) {
      const item = document.createElement("li");
      inLanguage(item, regulation.text, regulation.text_lang);
      list.append(item);
    }
  }
  general.hidden = list.children.length === 0;
}
function closePanel() {
  if (panel.hidden) return;
  panel.hidden = true;
  current = null;
  const target = returnFocus;
  returnFocus = null;
  if (target && document.contains(target)) target.focus();
}
function select(entry, latlng, opener, fit) {
  if (selectedEntry && selectedEntry !== entry) paint(selectedEntry, false);
  selectedEntry = entry;
  paint(entry, true);
  document.querySelectorAll(".wm-item").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.key === entry.key)));
  if (fit) fitEntry(entry);
  showPanel(entry, latlng, opener);
  panel.focus();
  announce(tr("announce_selected", { name: featureName(entry.source, entry.feature) }));
}
let quietZoom = false; // zooms the widget makes itself are not announced as "zoom level"
function fitEntry(entry) {
  const layer = entry.leaflet;
  quietZoom = true;
  if (layer.getBounds) map.fitBounds(layer.getBounds(), { ...motion, maxZoom: map.getMaxZoom(), padding: [24, 24] });
  else map.setView(layer.getLatLng(), Math.max(map.getZoom(), 15), motion);
}
panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") { event.preventDefault(); closePanel(); }
});

// ---------- choosing a place ----------
let chosen = null; // {geometry, feature, entry}
const chosenMarker = L.marker([0, 0], {
  icon: L.divIcon({ className: "wm-pin", html: "", iconSize: [28, 28], iconAnchor: [14, 28] }),
  interactive: false, keyboard: false,
});
chosenMarker.on("add", () => chosenMarker.getElement().setAttribute("aria-hidden", "true"));

function containing(latlng) {
  for (const source of sources.filter((s) => s.plan)) {
    for (const entry of source.entries) {
      if (geometryContains(entry.feature.geometry, latlng)) return entry;
    }
  }
  return null;
}
function featureRef(entry) {
  return entry ? { collection: entry.source.layer, id: entry.feature.id, properties: entry.feature.properties } : null;
}
function chosenText() {
  if (!chosen) return tr("chosen_none");
  if (chosen.kind === "line" || chosen.kind === "area") return chosen.text;
  if (chosen.kind === "feature") return tr("chosen_feature", { name: featureName(chosen.entry.source, chosen.entry.feature) });
  if (chosen.entry) return tr("chosen_point_in", { name: featureName(chosen.entry.source, chosen.entry.feature) });
  return tr("chosen_point_outside");
}
function renderChosen() {
  document.getElementById("wm-chosen-text").textContent = chosenText();
  document.getElementById("wm-clear").hidden = !chosen;
}
function choosePoint(latlng) {
  if (chosenShape) { chosenShape.remove(); chosenShape = null; }
  const entry = containing(latlng);
  chosen = { kind: "point", geometry: pointGeometry(latlng), entry };
  chosenMarker.setLatLng(latlng).addTo(map);
  renderChosen();
  announce(chosenText());
  post(locationMessage("point", chosen.geometry, entry));
  document.dispatchEvent(new CustomEvent("webmap:chosen", { detail: chosen }));
}
function chooseFeature(entry) {
  chosen = { kind: "feature", geometry: entry.feature.geometry, entry };
  chosenMarker.remove();
  renderChosen();
  announce(chosenText());
  post(locationMessage("feature", entry.feature.geometry, entry));
  document.dispatchEvent(new CustomEvent("webmap:chosen", { detail: chosen }));
}
let drawing = false; // while a line or an area is drawn, a tap adds a point (draw.js)
let chosenShape = null;
function setDrawing(on) { drawing = on; }
function chooseShape(kind, geometry, text, layer, entry = null) {
  chosen = { kind, geometry, entry, text };
  chosenMarker.remove();
  if (chosenShape) chosenShape.remove();
  chosenShape = layer || null;
  renderChosen();
  announce(chosenText());
  post(locationMessage(kind, geometry, entry));
  document.dispatchEvent(new CustomEvent("webmap:chosen", { detail: chosen }));
}
function clearChoice() {
  chosen = null;
  chosenMarker.remove();
  if (chosenShape) { chosenShape.remove(); chosenShape = null; }
  if (selectedEntry) { paint(selectedEntry, false); selectedEntry = null; }
  document.querySelectorAll(".wm-item").forEach((b) => b.setAttribute("aria-pressed", "false"));
  renderChosen();
  announce(tr("announce_cleared"));
  document.dispatchEvent(new CustomEvent("webmap:chosen", { detail: null }));
}
map.on("click", (event) => {
  if (allows("point") && !drawing) choosePoint(event.latlng);
});

// ---------- buttons ----------
const PAN = 120;
const actions = {
  "zoom-in": () => map.zoomIn(1, motion),
  "zoom-out": () => map.zoomOut(1, motion),
  "pan-north": () => map.panBy([0, -PAN], motion),
  "pan-south": () => map.panBy([0, PAN], motion),
  "pan-west": () => map.panBy([-PAN, 0], motion),
  "pan-east": () => map.panBy([PAN, 0], motion),
  reset: () => map.fitBounds(homeBounds, motion),
  contrast: () => setContrast(!contrastOn),
  "choose-centre": () => choosePoint(map.getCenter()),
  "choose-feature": () => { if (current) { chooseFeature(current.entry); closePanel(); } },
  "choose-point": () => { if (current && current.latlng) { choosePoint(current.latlng); closePanel(); } },
  "show-feature": () => { if (current) fitEntry(current.entry); },
  "close-panel": () => closePanel(),
};
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button && actions[button.dataset.action]) actions[button.dataset.action]();
  const langButton = event.target.closest("button.wm-lang");
  if (langButton) applyLanguage(langButton.dataset.lang);
});
document.getElementById("wm-clear").addEventListener("click", clearChoice);

// ---------- the high-contrast base map ----------
// The base's variant is offered as a toggle, and chosen at once where the reader's system
// asks for more contrast or forces its colours.
let contrastOn = false;
const baseIds = config.base || { id: null, contrast: null };
const baseTiles = [];
if (baseIds.id && baseIds.contrast) {
  map.eachLayer((layer) => {
    if (layer instanceof L.TileLayer && String(layer._url).includes(`/basemaps/${baseIds.id}/`)) baseTiles.push(layer);
  });
}
function setContrast(on) {
  contrastOn = on;
  const [from, to] = on ? [baseIds.id, baseIds.contrast] : [baseIds.contrast, baseIds.id];
  baseTiles.forEach((layer) => layer.setUrl(String(layer._url).replace(`/basemaps/${from}/`, `/basemaps/${to}/`)));
  document.getElementById("wm-contrast").setAttribute("aria-pressed", String(on));
}
if (baseTiles.length) {
  document.getElementById("wm-contrast").hidden = false;
  if (window.matchMedia("(prefers-contrast: more), (forced-colors: active)").matches) setContrast(true);
}
if (!allows("point")) document.querySelector('[data-action="choose-centre"]').hidden = true;

let lastZoom = null;
map.on("zoomend", () => {
  const zoom = map.getZoom();
  if (lastZoom !== null && zoom !== lastZoom && !quietZoom) announce(tr("announce_zoom", { zoom }));
  quietZoom = false;
  lastZoom = zoom;
  document.documentElement.dataset.zoom = String(zoom);
  toggleSymbols();
});
map.on("moveend", () => { quietZoom = false; });
let symbolsFrom = 0;
function toggleSymbols() {
  const show = map.getZoom() >= symbolsFrom;
  if (show && !map.hasLayer(symbolLayer)) symbolLayer.addTo(map);
  if (!show && map.hasLayer(symbolLayer)) symbolLayer.remove();
}

// ---------- search (an accessible combobox) ----------
const input = document.getElementById("wm-search-input");
if (input) {
  const listbox = document.getElementById("wm-search-list");
  let results = [];
  let active = -1;
  let timer = null;
  let seq = 0;
  const close = () => {
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const setActive = (index) => {
    active = index;
    [...listbox.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", `wm-option-${index}`);
      listbox.children[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };
  const pick = (index) => {
    const result = results[index];
    if (!result) return;
    const [lon, lat] = result.geometry.coordinates;
    input.value = result.properties.label;
    close();
    const latlng = L.latLng(lat, lon);
    map.setView(latlng, Math.max(map.getZoom(), Math.min(map.getMaxZoom(), 16)), motion);
    announce(tr("announce_search_place", { name: result.properties.label }));
    if (allows("point")) setTimeout(() => choosePoint(latlng), 0);
    document.dispatchEvent(new CustomEvent("webmap:picked", { detail: result })); // draw.js: "use its shape"
  };
  const show = () => {
    listbox.replaceChildren(...results.map((result, i) => {
      const li = document.createElement("li");
      li.id = `wm-option-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.className = "wm-option";
      li.textContent = result.properties.label;
      li.addEventListener("click", () => pick(i));
      return li;
    }));
    listbox.hidden = results.length === 0;
    input.setAttribute("aria-expanded", String(results.length > 0));
    announce(results.length ? tr("search_results", { count: results.length }) : tr("search_no_results"));
  };
  const search = async () => {
    const q = input.value.trim();
    if (q.length < 2) { results = []; close(); return; }
    const mine = ++seq;
    try {
      const response = await fetch(`../search?map=${encodeURIComponent(config.map)}&limit=8&q=${encodeURIComponent(q)}`,
        { headers: { Accept: "application/geo+json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      if (mine !== seq) return;
      results = body.features || [];
      active = -1;
      show();
    } catch (_) {
      if (mine === seq) { results = []; close(); announce(tr("search_failed")); }
    }
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(search, 200); });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && results.length) {
      event.preventDefault();
      if (listbox.hidden) { listbox.hidden = false; input.setAttribute("aria-expanded", "true"); }
      setActive((active + 1) % results.length);
    } else if (event.key === "ArrowUp" && results.length) {
      event.preventDefault();
      setActive(active <= 0 ? results.length - 1 : active - 1);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      pick(active);
    } else if (event.key === "Escape") {
      if (!listbox.hidden) { event.preventDefault(); close(); }
      else if (input.value) { event.preventDefault(); input.value = ""; }
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
}

// Escape anywhere closes the panel and returns focus.
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !panel.hidden && !event.defaultPrevented) closePanel();
});

// ---------- credits under the map on narrow screens ----------
// Below 30rem the attribution would cover a large part of the map and the scale bar: its
// control moves into a line under the map (Leaflet keeps updating the same element).
const credits = document.createElement("div");
credits.className = "wm-credits";
credits.id = "wm-credits";
map.getContainer().insertAdjacentElement("afterend", credits);
const narrow = window.matchMedia("(max-width: 30rem)");
function placeCredits() {
  const control = map.attributionControl.getContainer();
  if (narrow.matches) {
    credits.appendChild(control);
  } else {
    map.getContainer().querySelector(".leaflet-control-container .leaflet-bottom.leaflet-right")
      .appendChild(control);
  }
  credits.hidden = !narrow.matches;
}
placeCredits();
narrow.addEventListener("change", placeCredits);

// ---------- start ----------
map.fitBounds(homeBounds, { animate: false });
lastZoom = map.getZoom();
symbolsFrom = map.getZoom() + 1;
toggleSymbols();
async function start() {
  const listStatus = listsEl.querySelector("p");
  try {
    const loaded = await Promise.all(sources.map((s) => fetchAll(s.layer)));
    loaded.forEach((features, i) => addSource(sources[i], features));
    renderLists();
    renderLegend();
  } catch (_) {
    if (listStatus) listStatus.textContent = tr("features_failed");
  }
  document.documentElement.dataset.ready = "true";
  performance.mark("webmap-ready");
  post({ type: "ready", map: config.map });
}
window.webmapWidget = {
  config, map, applyLanguage, choosePoint, clearChoice, post, announce, tr, local, featureName,
  chooseShape, setDrawing,
  get chosen() { return chosen; },
  get chosenLayer() { return chosenShape; },
  get lang() { return lang; },
  chosenText,
};
start();
