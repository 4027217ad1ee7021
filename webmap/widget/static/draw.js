// webmap widget: drawing a line or an area by tapping, clicking or with the keyboard alone.
// No dragging is needed (WCAG 2.5.7): each tap adds a point, and with the keyboard the
// arrow keys pan the map under the crosshair and "A" (or the "Add point" button) adds a
// point at the crosshair. Backspace undoes, Enter finishes, Escape cancels; every step is
// announced. Points are edited the same ways: "," / "." (or "[" / "]", or the Previous /
// Next point buttons) step through them, the arrow keys move the selected one (they pan the
// map while none is selected), "Move here" puts it at the crosshair, "Move by tapping" to the
// next tap, Delete removes it. The finished shape becomes the chosen place that the comment
// form posts, and can be edited again or deleted from there.
import { crossingSegments, parsePoints, pointCount, ringArea, simplifyShape } from "./shapes.js";

const widget = window.webmapWidget;
const { config, map, tr, announce } = widget;
const consultation = config.consultation || { geometry: [] };
const limits = consultation.drawing || { maxPoints: 200, minZoom: null, several: false };
const allows = (kind) => consultation.geometry.includes(kind);

const panel = document.getElementById("wm-draw");
const statusText = document.getElementById("wm-draw-status");
const startButtons = { line: document.getElementById("wm-draw-line"), area: document.getElementById("wm-draw-area") };
const [west, south, east, north] = config.extent;

let mode = null; // {kind, points: [L.LatLng], selected: index|null, tapMove, editing}
let preview = null;
const vertexMarkers = [];
const MOVE_PX = 10; // one arrow press moves the selected point this far; with Shift, five times
const button = (id) => document.getElementById(id);

function formatLength(metres) {
  return metres >= 1000 ? `${(metres / 1000).toLocaleString(widget.lang, { maximumFractionDigits: 2 })} km`
    : `${Math.round(metres).toLocaleString(widget.lang)} m`;
}
function formatArea(squareMetres) {
  return squareMetres >= 10000 ? `${(squareMetres / 10000).toLocaleString(widget.lang, { maximumFractionDigits: 2 })} ha`
    : `${Math.round(squareMetres).toLocaleString(widget.lang)} m²`;
}
export function lineLength(points) {
  let total = 0;
  for (let i = 1; i < points.length; i += 1) total += map.distance(points[i - 1], points[i]);
  return total;
}
function measure() {
  if (!mode) return "";
  if (mode.kind === "line") return tr("draw_measure_line", { length: formatLength(lineLength(mode.points)) });
  return tr("draw_measure_area", { area: formatArea(ringArea(mode.points)) });
}

function redraw() {
  if (preview) preview.remove();
  vertexMarkers.splice(0).forEach((m) => m.remove());
  if (!mode || !mode.points.length) { preview = null; return; }
  const style = { color: "#b3261e", weight: 4, interactive: false };
  preview = (mode.kind === "area" && mode.points.length > 2
    ? L.polygon(mode.points, { ...style, fillOpacity: 0.15 })
    : L.polyline(mode.points, style)).addTo(map);
  mode.points.forEach((p, i) => {
    if (i === mode.selected) return;
    vertexMarkers.push(L.circleMarker(p, { radius: 6, color: "#b3261e", fillColor: "#fff", fillOpacity: 1, weight: 3, interactive: false }).addTo(map));
  });
  const at = mode.points[mode.selected];
  if (at) {
    // The selected point: larger, filled and ringed, so shape and size tell it apart, not colour.
    vertexMarkers.push(L.circleMarker(at, { radius: 16, color: "#1a1a1a", weight: 2, dashArray: "5 4", fill: false, interactive: false, className: "wm-vertex-ring" }).addTo(map));
    vertexMarkers.push(L.circleMarker(at, { radius: 9, color: "#ffffff", fillColor: "#b3261e", fillOpacity: 1, weight: 3, interactive: false, className: "wm-vertex-selected" }).addTo(map));
  }
}
function setDisabled(id, off) {
  // aria-disabled, never the disabled attribute: a focused button that is disabled drops focus.
  const el = button(id);
  if (el) el.setAttribute("aria-disabled", String(off));
}
function renderStatus() {
  if (!mode) { statusText.textContent = ""; return; }
  const count = mode.points.length;
  const selected = mode.selected === null ? "" : tr("draw_selected", { n: mode.selected + 1, count });
  statusText.textContent = [tr("draw_points", { count, max: limits.maxPoints }), count > 1 ? `${measure()}.` : "", selected]
    .filter(Boolean).join(" ");
  setDisabled("wm-draw-undo", count === 0);
  setDisabled("wm-draw-delete-shape", false);
  setDisabled("wm-draw-previous", count === 0);
  setDisabled("wm-draw-next", count === 0);
  for (const id of ["wm-draw-move", "wm-draw-tap-move", "wm-draw-delete-point"]) setDisabled(id, mode.selected === null);
  const tapMove = button("wm-draw-tap-move");
  if (tapMove) tapMove.setAttribute("aria-pressed", String(Boolean(mode.tapMove && mode.selected !== null)));
}
const withMeasure = (message) => `${message}${mode && mode.points.length > 1 ? ` ${measure()}.` : ""}`;

function renderHeading() {
  if (!mode) return;
  const { kind, editing } = mode;
  button("wm-draw-heading").textContent = tr(kind === "line" ? (editing ? "draw_edit_line" : "draw_line") : (editing ? "draw_edit_area" : "draw_area"));
}
document.addEventListener("webmap:language", () => { renderHeading(); renderStatus(); });
function start(kind, points = [], editing = false) {
  if (mode) cancel(false);
  mode = { kind, points: points.slice(), selected: null, tapMove: false, editing };
  panel.hidden = false;
  panel.dataset.kind = kind;
  renderHeading();
  redraw();
  renderStatus();
  renderChosenTools();
  widget.setDrawing(true);
  map.doubleClickZoom.disable(); // two quick taps are two points, not a zoom
  const shape = tr(kind === "line" ? "draw_shape_line" : "draw_shape_area");
  announce(editing ? tr("draw_editing", { shape, count: points.length }) : tr("draw_started", { shape }));
  button(editing ? "wm-draw-next" : "wm-draw-add").focus({ preventScroll: true }); // the map stays in view for taps
}
function refuse(latlng) {
  // Why a point may not go there, or null.
  if (limits.minZoom !== null && limits.minZoom !== undefined && map.getZoom() < limits.minZoom) {
    return tr("draw_error_zoom", { zoom: limits.minZoom });
  }
  if (latlng.lng < west || latlng.lng > east || latlng.lat < south || latlng.lat > north) return tr("draw_error_outside");
  return null;
}
function addPoint(latlng) {
  if (!mode) return;
  const why = refuse(latlng);
  if (why) { announce(why); return; }
  if (mode.points.length >= limits.maxPoints) {
    announce(tr("draw_error_max", { max: limits.maxPoints }));
    return;
  }
  mode.points.push(latlng);
  mode.selected = null;
  mode.tapMove = false;
  redraw();
  renderStatus();
  announce(withMeasure(tr("draw_point_added", { n: mode.points.length })));
}
function undo() {
  if (!mode || !mode.points.length) return;
  mode.points.pop();
  if (mode.selected !== null && mode.selected >= mode.points.length) mode.selected = null;
  redraw();
  renderStatus();
  announce(tr("draw_point_removed", { count: mode.points.length }));
}

// ---------- editing points ----------
function select(index) {
  if (!mode || !mode.points.length) return;
  const count = mode.points.length;
  mode.selected = ((index % count) + count) % count;
  mode.tapMove = false;
  const at = mode.points[mode.selected];
  if (!map.getBounds().contains(at)) map.panTo(at, { animate: false });
  redraw();
  renderStatus();
  announce(tr("draw_selected", { n: mode.selected + 1, count }));
}
function step(delta) {
  if (!mode || !mode.points.length) return;
  if (mode.selected === null) select(delta > 0 ? 0 : mode.points.length - 1);
  else select(mode.selected + delta);
}
function deselect() {
  if (!mode || mode.selected === null) return false;
  mode.selected = null;
  mode.tapMove = false;
  redraw();
  renderStatus();
  announce(tr("draw_deselected"));
  return true;
}
function needSelection() {
  if (mode && mode.selected !== null) return true;
  if (mode) announce(tr("draw_error_select"));
  return false;
}
function moveTo(latlng) {
  if (!needSelection()) return;
  const why = refuse(latlng);
  if (why) { announce(why); return; }
  mode.points[mode.selected] = latlng;
  mode.tapMove = false;
  redraw();
  renderStatus();
  announce(withMeasure(tr("draw_point_moved", { n: mode.selected + 1 })));
}
function nudge(dx, dy) {
  if (!needSelection()) return;
  const from = map.latLngToContainerPoint(mode.points[mode.selected]);
  const to = map.containerPointToLatLng(from.add([dx, dy]));
  moveTo(to);
  if (!map.getBounds().pad(-0.1).contains(to)) map.panTo(to, { animate: false });
}
function toggleTapMove() {
  if (!needSelection()) return;
  mode.tapMove = !mode.tapMove;
  renderStatus();
  announce(tr(mode.tapMove ? "draw_tap_move_on" : "draw_tap_move_off", { n: mode.selected + 1 }));
}
function deletePoint() {
  if (!needSelection()) return;
  const n = mode.selected + 1;
  mode.points.splice(mode.selected, 1);
  mode.selected = mode.points.length ? Math.min(mode.selected, mode.points.length - 1) : null;
  mode.tapMove = false;
  redraw();
  renderStatus();
  const next = mode.selected === null ? "" : ` ${tr("draw_selected", { n: mode.selected + 1, count: mode.points.length })}`;
  announce(withMeasure(tr("draw_point_deleted", { n, count: mode.points.length })) + next);
}
function deleteShape() {
  const kind = mode ? mode.kind : widget.chosen && widget.chosen.kind;
  const editing = mode ? mode.editing : true;
  if (mode) cancel(false);
  if (editing && widget.chosen && (widget.chosen.kind === "line" || widget.chosen.kind === "area")) widget.clearChoice();
  announce(tr("draw_shape_deleted"));
  const target = startButtons[kind];
  (target && !target.hidden ? target : button("wm-chosen-heading")).focus();
}

// ---------- finishing ----------
export function shapeProblem(kind, points) {
  // What keeps these points from being a shape the server takes, or null.
  const needed = kind === "line" ? 2 : 3;
  if (points.length < needed) return tr("draw_error_few", { count: needed });
  if (points.length > limits.maxPoints) return tr("draw_error_max", { max: limits.maxPoints });
  if (kind === "area") {
    const crossing = crossingSegments(points);
    if (crossing) return tr("draw_error_crossing", { a: crossing[0], b: crossing[1] });
  }
  return null;
}
export function shapeGeometry(kind, points) {
  const coords = points.map((p) => [Number(p.lng.toFixed(7)), Number(p.lat.toFixed(7))]);
  return kind === "line" ? { type: "LineString", coordinates: coords }
    : { type: "Polygon", coordinates: [[...coords, coords[0]]] };
}
export function shapeText(kind, points) {
  return kind === "line" ? tr("chosen_line", { length: formatLength(lineLength(points)) })
    : tr("chosen_area", { area: formatArea(ringArea(points)) });
}
function finish() {
  if (!mode) return;
  const { kind, points } = mode;
  const problem = shapeProblem(kind, points);
  if (problem) { announce(problem); return; }
  const layer = preview;
  preview = null;
  mode = null;
  vertexMarkers.splice(0).forEach((m) => m.remove());
  panel.hidden = true;
  widget.setDrawing(false);
  map.doubleClickZoom.enable();
  widget.chooseShape(kind, shapeGeometry(kind, points), shapeText(kind, points), layer);
  (startButtons[kind] || button("wm-chosen-heading")).focus();
}
function cancel(say = true) {
  if (!mode) return;
  const { kind, editing } = mode;
  mode = null;
  redraw();
  panel.hidden = true;
  widget.setDrawing(false);
  map.doubleClickZoom.enable();
  if (editing && widget.chosenLayer) widget.chosenLayer.addTo(map); // the shape as it was
  renderChosenTools();
  if (say) {
    announce(tr(editing ? "draw_edit_cancelled" : "draw_cancelled"));
    (editing ? button("wm-edit-shape") : startButtons[kind]).focus();
  }
}

// ---------- editing the chosen shape again ----------
function editableShape() {
  // The chosen line or area as points (a single LineString or a Polygon without holes), or null.
  const chosen = widget.chosen;
  if (!chosen || (chosen.kind !== "line" && chosen.kind !== "area") || !chosen.geometry) return null;
  const { type, coordinates } = chosen.geometry;
  if (type === "LineString") return { kind: "line", points: coordinates.map(([x, y]) => L.latLng(y, x)) };
  if (type === "Polygon" && coordinates.length === 1) {
    return { kind: "area", points: coordinates[0].slice(0, -1).map(([x, y]) => L.latLng(y, x)) };
  }
  return null;
}
function editChosen() {
  const shape = editableShape();
  if (!shape) return;
  if (widget.chosenLayer) widget.chosenLayer.remove(); // the editable copy is drawn instead
  start(shape.kind, shape.points, true);
}
function renderChosenTools() {
  const editable = Boolean(editableShape()) && !mode;
  button("wm-edit-shape").hidden = !editable;
  button("wm-delete-chosen-shape").hidden = !editable;
}
document.addEventListener("webmap:chosen", renderChosenTools);

for (const kind of ["line", "area"]) {
  const startButton = startButtons[kind];
  if (!startButton) continue;
  startButton.hidden = !allows(kind);
  startButton.addEventListener("click", () => start(kind));
}
const clicks = {
  "wm-draw-add": () => addPoint(map.getCenter()),
  "wm-draw-undo": undo,
  "wm-draw-finish": finish,
  "wm-draw-cancel": () => cancel(true),
  "wm-draw-previous": () => step(-1),
  "wm-draw-next": () => step(1),
  "wm-draw-move": () => moveTo(map.getCenter()),
  "wm-draw-tap-move": toggleTapMove,
  "wm-draw-delete-point": deletePoint,
  "wm-draw-delete-shape": deleteShape,
  "wm-edit-shape": editChosen,
  "wm-delete-chosen-shape": deleteShape,
};
for (const [id, action] of Object.entries(clicks)) {
  const el = button(id);
  // A button that cannot act now (aria-disabled) still answers: the action says why.
  if (el) el.addEventListener("click", () => action());
}
map.on("click", (event) => {
  if (!mode) return;
  if (mode.tapMove && mode.selected !== null) moveTo(event.latlng);
  else addPoint(event.latlng);
});

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
function keys(event) {
  if (!mode || event.altKey || event.ctrlKey || event.metaKey) return;
  const inText = event.target.closest && event.target.closest("input, textarea, select");
  if (inText) return;
  const onMap = event.target === map.getContainer();
  const handled = () => { event.preventDefault(); event.stopPropagation(); };
  if (event.key === "a" || event.key === "A") { handled(); addPoint(map.getCenter()); }
  else if (event.key === "Backspace") { handled(); undo(); }
  else if (event.key === "," || event.key === "[") { handled(); step(-1); }
  else if (event.key === "." || event.key === "]") { handled(); step(1); }
  else if (event.key === "Delete") { handled(); deletePoint(); }
  else if (event.key === "m" || event.key === "M") { handled(); moveTo(map.getCenter()); }
  else if (ARROWS[event.key] && mode.selected !== null) {
    // A selected point moves; Leaflet's own keyboard panning (on the document) is not reached.
    handled();
    const [dx, dy] = ARROWS[event.key];
    const px = MOVE_PX * (event.shiftKey ? 5 : 1);
    nudge(dx * px, dy * px);
  } else if (event.key === "Enter" && onMap) { handled(); finish(); }
  else if (event.key === "Escape") { handled(); if (!deselect()) cancel(true); }
}
map.getContainer().addEventListener("keydown", keys);
panel.addEventListener("keydown", keys);

// ---------- typed coordinates: an equal path without the map ----------
// One point a line, "x y" (a space, a semicolon or ", " between; a decimal comma is fine):
// longitude and latitude in degrees, or east and north in metres in the map's national CRS.
const crs = config.crs || null;
const coords = {
  box: document.getElementById("wm-coords"),
  kind: document.getElementById("wm-coords-kind"),
  system: document.getElementById("wm-coords-crs"),
  text: document.getElementById("wm-coords-text"),
  hint: document.getElementById("wm-coords-hint"),
  error: document.getElementById("wm-coords-error"),
};
let typedPreview = null;
const national = () => Boolean(crs && window.proj4 && coords.system.value === "national");
function toLatLng(x, y) {
  if (!national()) return L.latLng(y, x);
  const [lon, lat] = window.proj4(crs.proj4, "WGS84", [x, y]);
  return L.latLng(lat, lon);
}
const inside = (p) => p.lng >= west && p.lng <= east && p.lat >= south && p.lat <= north;
function example() {
  // Two sample points near the middle of the map, in the chosen system.
  const [lonC, latC] = [(west + east) / 2, (south + north) / 2];
  if (national()) {
    const [x, y] = window.proj4("WGS84", crs.proj4, [lonC, latC]);
    return `${Math.round(x)} ${Math.round(y)}`;
  }
  return `${lonC.toFixed(5)} ${latC.toFixed(5)}`;
}
function renderCoordsHint() {
  if (!coords.box) return;
  const option = document.getElementById("wm-coords-national");
  if (option) option.textContent = tr("coords_crs_national", { crs: crs.name, code: crs.code });
  coords.hint.textContent = tr(national() ? "coords_hint_national" : "coords_hint_lonlat", { example: example() });
}
function showCoordsError(message) {
  const ids = new Set((coords.text.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
  coords.error.textContent = message || "";
  coords.error.hidden = !message;
  if (message) {
    coords.text.setAttribute("aria-invalid", "true");
    ids.add(coords.error.id);
  } else {
    coords.text.removeAttribute("aria-invalid");
    ids.delete(coords.error.id);
  }
  coords.text.setAttribute("aria-describedby", [...ids].join(" "));
}
function readTyped() {
  // {kind, points: [L.LatLng]} from the field, or {error: message}.
  const kind = coords.kind.value;
  const parsed = parsePoints(coords.text.value);
  const order = tr(national() ? "coords_order_national" : "coords_order_lonlat");
  if (parsed.error) return { error: tr("coords_error_line", { line: parsed.error, order, example: example() }) };
  const typed = parsed.slice();
  if (kind === "area" && typed.length > 3) {
    const [first, last] = [typed[0], typed[typed.length - 1]];
    if (first.x === last.x && first.y === last.y) typed.pop(); // the closing point may be typed too
  }
  const points = [];
  for (const { line, x, y } of typed) {
    const p = toLatLng(x, y);
    if (!Number.isFinite(p.lat) || !Number.isFinite(p.lng) || !inside(p)) {
      const swapped = toLatLng(y, x);
      const key = Number.isFinite(swapped.lat) && inside(swapped) ? "coords_error_swapped" : "coords_error_outside";
      return { error: tr(key, { line, order }) };
    }
    points.push(p);
  }
  const problem = shapeProblem(kind, points);
  if (problem && kind === "area" && crossingSegments(points) && points.length <= limits.maxPoints) {
    const [a, b] = crossingSegments(points);
    const lineOf = (edge) => [typed[edge - 1].line, typed[edge % typed.length].line];
    const [a1, a2] = lineOf(a);
    const [b1, b2] = lineOf(b);
    return { error: tr("coords_error_crossing", { a1, a2, b1, b2 }) };
  }
  if (problem) return { error: problem };
  return { kind, points };
}
function clearTypedPreview() {
  if (typedPreview) { typedPreview.remove(); typedPreview = null; }
}
function previewTyped(use) {
  const typed = readTyped();
  clearTypedPreview();
  if (typed.error) {
    showCoordsError(typed.error);
    announce(typed.error);
    coords.text.focus();
    return;
  }
  showCoordsError(null);
  const { kind, points } = typed;
  const style = { color: "#b3261e", weight: 4, interactive: false };
  const layer = (kind === "area" ? L.polygon(points, { ...style, fillOpacity: 0.15 }) : L.polyline(points, style)).addTo(map);
  if (use) {
    if (mode) cancel(false);
    widget.chooseShape(kind, shapeGeometry(kind, points), shapeText(kind, points), layer);
    return;
  }
  layer.setStyle({ dashArray: "8 6" });
  typedPreview = layer;
  map.fitBounds(layer.getBounds(), { animate: false, padding: [24, 24], maxZoom: map.getMaxZoom() });
  announce(tr(`coords_previewed_${kind}`, { count: points.length, measure: kind === "line"
    ? formatLength(lineLength(points)) : formatArea(ringArea(points)) }));
}
if (coords.box) {
  coords.box.hidden = !allows("line") && !allows("area");
  coords.system.addEventListener("change", () => { renderCoordsHint(); showCoordsError(null); });
  coords.kind.addEventListener("change", () => showCoordsError(null));
  button("wm-coords-preview").addEventListener("click", () => previewTyped(false));
  button("wm-coords-use").addEventListener("click", () => previewTyped(true));
  document.addEventListener("webmap:language", renderCoordsHint);
  document.addEventListener("webmap:chosen", clearTypedPreview);
  renderCoordsHint();
}

// ---------- "use its shape": a plan feature's or a searched place's line or area ----------
const SHAPE_KINDS = { LineString: "line", MultiLineString: "line", Polygon: "area", MultiPolygon: "area" };
function largestPart(geometry) {
  // The longest line or the largest area of a Multi geometry.
  const size = geometry.type === "MultiPolygon"
    ? (p) => ringArea(p[0].slice(0, -1).map(([x, y]) => L.latLng(y, x)))
    : (p) => lineLength(p.map(([x, y]) => L.latLng(y, x)));
  const best = geometry.coordinates.reduce((a, b) => (size(b) > size(a) ? b : a));
  return { type: geometry.type.slice(5), coordinates: best };
}
function shapeMeasure(geometry) {
  if (geometry.type === "LineString") return formatLength(lineLength(geometry.coordinates.map(([x, y]) => L.latLng(y, x))));
  if (geometry.type === "MultiLineString") {
    return formatLength(geometry.coordinates.reduce((s, p) => s + lineLength(p.map(([x, y]) => L.latLng(y, x))), 0));
  }
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  const area = polygons.reduce((s, rings) => s + rings.reduce((t, r, i) => {
    const a = ringArea(r.slice(0, -1).map(([x, y]) => L.latLng(y, x)));
    return i === 0 ? t + a : t - a;
  }, 0), 0);
  return formatArea(area);
}
const round = (geometry) => JSON.parse(JSON.stringify(geometry, (key, value) => (typeof value === "number" ? Number(value.toFixed(7)) : value)));
export function usableShape(geometry) {
  // The kind of shape the consultation takes from this geometry, or null.
  const kind = geometry && SHAPE_KINDS[geometry.type];
  return kind && allows(kind) ? kind : null;
}
function shapeError(near, message) {
  // A visible message right after the button, tied to it, and announced.
  if (!near) { if (message) announce(message); return; }
  const id = `${near.id}-error`;
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement("p");
    el.id = id;
    el.className = "wm-error";
    near.after(el);
  }
  el.textContent = message || "";
  el.hidden = !message;
  if (message) { near.setAttribute("aria-describedby", id); announce(message); }
  else near.removeAttribute("aria-describedby");
}
function useShape(geometry, name, entry, returnTo) {
  const kind = usableShape(geometry);
  if (!kind) return;
  shapeError(returnTo, null);
  const notes = [];
  let shape = geometry;
  if (shape.type.startsWith("Multi") && !limits.several) {
    if (shape.coordinates.length > 1) notes.push(tr("shape_largest_part", { count: shape.coordinates.length }));
    shape = largestPart(shape);
  }
  const all = shape.type.startsWith("Multi") ? shape.coordinates.flat(2) : shape.coordinates.flat();
  if (all.some(([x, y]) => x < west || x > east || y < south || y > north)) {
    shapeError(returnTo, tr("shape_error_outside", { name }));
    return;
  }
  const count = pointCount(shape);
  if (count > limits.maxPoints) {
    const simple = simplifyShape(shape, limits.maxPoints);
    if (!simple) {
      shapeError(returnTo, tr("shape_error_points", { name, count, max: limits.maxPoints }));
      return;
    }
    shape = simple.geometry;
    notes.push(tr("shape_simplified", { count, max: limits.maxPoints, now: pointCount(shape), tolerance: Math.max(1, Math.round(simple.tolerance)) }));
  }
  shape = round(shape);
  if (mode) cancel(false);
  const style = { color: "#b3261e", weight: 4, interactive: false };
  const layer = L.geoJSON(shape, { style: () => (kind === "area" ? { ...style, fillOpacity: 0.15 } : style), interactive: false }).addTo(map);
  const text = [tr("chosen_shape_of", { name, measure: shapeMeasure(shape) }), ...notes].join(" ");
  widget.chooseShape(kind, shape, text, layer, entry || null); // shows and announces the text
  if (returnTo) returnTo.focus();
}

const useShapeButton = button("wm-use-shape");
let panelEntry = null;
function renderUseShape() {
  if (!useShapeButton) return;
  const kind = panelEntry && usableShape(panelEntry.feature.geometry);
  useShapeButton.hidden = !kind;
  if (kind) useShapeButton.textContent = tr(kind === "area" ? "use_shape_area" : "use_shape_line");
}
document.addEventListener("webmap:panel", (event) => {
  if (panelEntry !== event.detail) shapeError(useShapeButton, null);
  panelEntry = event.detail;
  renderUseShape();
});
if (useShapeButton) {
  useShapeButton.addEventListener("click", () => {
    if (!panelEntry) return;
    useShape(panelEntry.feature.geometry, widget.featureName(panelEntry.source, panelEntry.feature), panelEntry, useShapeButton);
  });
}

const searchShapeButton = button("wm-search-shape");
let picked = null; // {label, layer, id, geometry?}
function renderSearchShape() {
  if (!searchShapeButton) return;
  searchShapeButton.hidden = !picked || (picked.geometry !== undefined && !usableShape(picked.geometry));
  if (picked) searchShapeButton.textContent = tr("use_shape_of", { name: picked.label });
}
document.addEventListener("webmap:picked", (event) => {
  const { properties } = event.detail;
  // A searched street, plan area or place that is a line or an area carries its bbox.
  picked = properties.bbox && (allows("line") || allows("area"))
    ? { label: properties.label, layer: properties.layer, id: properties.feature_id } : null;
  shapeError(searchShapeButton, null);
  renderSearchShape();
});
document.addEventListener("webmap:language", () => { renderUseShape(); renderSearchShape(); });
if (searchShapeButton) {
  searchShapeButton.addEventListener("click", async () => {
    if (!picked) return;
    const mine = picked;
    if (mine.geometry === undefined) {
      try {
        const response = await fetch(`../collections/${encodeURIComponent(mine.layer)}/items/${encodeURIComponent(mine.id)}`,
          { headers: { Accept: "application/geo+json" } });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        mine.geometry = (await response.json()).geometry || null;
      } catch (_) {
        shapeError(searchShapeButton, tr("shape_error_fetch", { name: mine.label }));
        return;
      }
    }
    if (!usableShape(mine.geometry)) {
      shapeError(searchShapeButton, tr("shape_error_kind", { name: mine.label }));
      return;
    }
    useShape(mine.geometry, mine.label, null, searchShapeButton);
  });
}

window.webmapDraw = {
  start, addPoint, undo, finish, cancel, select, deletePoint, moveTo,
  get points() { return mode ? mode.points.slice() : []; },
  get selected() { return mode ? mode.selected : null; },
};
renderChosenTools();
