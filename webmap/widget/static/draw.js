// webmap widget: drawing a line or an area by tapping, clicking or with the keyboard alone.
// No dragging is needed (WCAG 2.5.7): each tap adds a point, and with the keyboard the
// arrow keys pan the map under the crosshair and "A" (or the "Add point" button) adds a
// point at the crosshair. Backspace undoes, Enter finishes, Escape cancels; every step is
// announced. The finished shape becomes the chosen place that the comment form posts.
const widget = window.webmapWidget;
const { config, map, tr, announce } = widget;
const consultation = config.consultation || { geometry: [] };
const limits = consultation.drawing || { maxPoints: 200, minZoom: null, several: false };
const allows = (kind) => consultation.geometry.includes(kind);

const panel = document.getElementById("wm-draw");
const statusText = document.getElementById("wm-draw-status");
const startButtons = { line: document.getElementById("wm-draw-line"), area: document.getElementById("wm-draw-area") };
const [west, south, east, north] = config.extent;

let mode = null; // {kind, points: [L.LatLng]}
let preview = null;
const vertexMarkers = [];

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
export function ringArea(points) {
  // Shoelace on a local equirectangular projection: good to well under 1 % at plan scale.
  if (points.length < 3) return 0;
  const lat0 = points.reduce((s, p) => s + p.lat, 0) / points.length;
  const k = (Math.PI / 180) * 6371008.8;
  const xy = points.map((p) => [p.lng * k * Math.cos((lat0 * Math.PI) / 180), p.lat * k]);
  let sum = 0;
  for (let i = 0; i < xy.length; i += 1) {
    const [x1, y1] = xy[i];
    const [x2, y2] = xy[(i + 1) % xy.length];
    sum += x1 * y2 - x2 * y1;
  }
  return Math.abs(sum) / 2;
}
function measure() {
  if (!mode) return "";
  if (mode.kind === "line") return tr("draw_measure_line", { length: formatLength(lineLength(mode.points)) });
  return tr("draw_measure_area", { area: formatArea(ringArea(mode.points)) });
}

function segmentsCross(a, b, c, d) {
  const orient = (p, q, r) => Math.sign((q.lng - p.lng) * (r.lat - p.lat) - (q.lat - p.lat) * (r.lng - p.lng));
  return orient(a, b, c) * orient(a, b, d) < 0 && orient(c, d, a) * orient(c, d, b) < 0;
}
export function crossingSegments(points) {
  // The first pair of edges of the closed ring that cross (1-based), or null.
  const n = points.length;
  for (let i = 0; i < n; i += 1) {
    for (let j = i + 2; j < n; j += 1) {
      if (i === 0 && j === n - 1) continue; // neighbours through the closing edge
      if (segmentsCross(points[i], points[(i + 1) % n], points[j], points[(j + 1) % n])) return [i + 1, j + 1];
    }
  }
  return null;
}

function redraw() {
  if (preview) preview.remove();
  vertexMarkers.splice(0).forEach((m) => m.remove());
  if (!mode || !mode.points.length) { preview = null; return; }
  const style = { color: "#b3261e", weight: 4, interactive: false };
  preview = (mode.kind === "area" && mode.points.length > 2
    ? L.polygon(mode.points, { ...style, fillOpacity: 0.15 })
    : L.polyline(mode.points, style)).addTo(map);
  mode.points.forEach((p) => {
    vertexMarkers.push(L.circleMarker(p, { radius: 6, color: "#b3261e", fillColor: "#fff", fillOpacity: 1, weight: 3, interactive: false }).addTo(map));
  });
}
function renderStatus() {
  if (!mode) { statusText.textContent = ""; return; }
  const count = mode.points.length;
  statusText.textContent = `${tr("draw_points", { count, max: limits.maxPoints })} ${count > 1 ? measure() : ""}`.trim();
  document.getElementById("wm-draw-undo").disabled = count === 0;
}

function start(kind) {
  if (mode) cancel(false);
  mode = { kind, points: [] };
  panel.hidden = false;
  panel.dataset.kind = kind;
  document.getElementById("wm-draw-heading").textContent = tr(kind === "line" ? "draw_line" : "draw_area");
  renderStatus();
  widget.setDrawing(true);
  map.doubleClickZoom.disable(); // two quick taps are two points, not a zoom
  announce(tr("draw_started", { shape: tr(kind === "line" ? "draw_shape_line" : "draw_shape_area") }));
  document.getElementById("wm-draw-add").focus({ preventScroll: true }); // the map stays in view for taps
}
function addPoint(latlng) {
  if (!mode) return;
  if (limits.minZoom !== null && limits.minZoom !== undefined && map.getZoom() < limits.minZoom) {
    announce(tr("draw_error_zoom", { zoom: limits.minZoom }));
    return;
  }
  if (latlng.lng < west || latlng.lng > east || latlng.lat < south || latlng.lat > north) {
    announce(tr("draw_error_outside"));
    return;
  }
  if (mode.points.length >= limits.maxPoints) {
    announce(tr("draw_error_max", { max: limits.maxPoints }));
    return;
  }
  mode.points.push(latlng);
  redraw();
  renderStatus();
  const count = mode.points.length;
  announce(`${tr("draw_point_added", { n: count })}${count > 1 ? ` ${measure()}.` : ""}`);
}
function undo() {
  if (!mode || !mode.points.length) return;
  mode.points.pop();
  redraw();
  renderStatus();
  announce(tr("draw_point_removed", { count: mode.points.length }));
}
function finish() {
  if (!mode) return;
  const { kind, points } = mode;
  const needed = kind === "line" ? 2 : 3;
  if (points.length < needed) {
    announce(tr("draw_error_few", { count: needed }));
    return;
  }
  if (kind === "area") {
    const crossing = crossingSegments(points);
    if (crossing) {
      announce(tr("draw_error_crossing", { a: crossing[0], b: crossing[1] }));
      return;
    }
  }
  const coords = points.map((p) => [Number(p.lng.toFixed(7)), Number(p.lat.toFixed(7))]);
  const geometry = kind === "line" ? { type: "LineString", coordinates: coords }
    : { type: "Polygon", coordinates: [[...coords, coords[0]]] };
  const text = kind === "line" ? tr("chosen_line", { length: formatLength(lineLength(points)) })
    : tr("chosen_area", { area: formatArea(ringArea(points)) });
  mode = null;
  panel.hidden = true;
  widget.setDrawing(false);
  map.doubleClickZoom.enable();
  widget.chooseShape(kind, geometry, text, preview);
  preview = null;
  vertexMarkers.splice(0).forEach((m) => m.remove());
  (startButtons[kind] || document.getElementById("wm-chosen-heading")).focus();
}
function cancel(say = true) {
  if (!mode) return;
  const { kind } = mode;
  mode = null;
  redraw();
  panel.hidden = true;
  widget.setDrawing(false);
  map.doubleClickZoom.enable();
  if (say) {
    announce(tr("draw_cancelled"));
    startButtons[kind].focus();
  }
}

for (const kind of ["line", "area"]) {
  const button = startButtons[kind];
  if (!button) continue;
  button.hidden = !allows(kind);
  button.addEventListener("click", () => start(kind));
}
document.getElementById("wm-draw-add").addEventListener("click", () => addPoint(map.getCenter()));
document.getElementById("wm-draw-undo").addEventListener("click", undo);
document.getElementById("wm-draw-finish").addEventListener("click", finish);
document.getElementById("wm-draw-cancel").addEventListener("click", () => cancel(true));
map.on("click", (event) => { if (mode) addPoint(event.latlng); });

function keys(event) {
  if (!mode || event.altKey || event.ctrlKey || event.metaKey) return;
  const inText = event.target.closest && event.target.closest("input, textarea, select");
  if (inText) return;
  if (event.key === "a" || event.key === "A") { event.preventDefault(); addPoint(map.getCenter()); }
  else if (event.key === "Backspace") { event.preventDefault(); undo(); }
  else if (event.key === "Enter" && event.target === map.getContainer()) { event.preventDefault(); finish(); }
  else if (event.key === "Escape") { event.preventDefault(); cancel(true); }
}
map.getContainer().addEventListener("keydown", keys);
panel.addEventListener("keydown", (event) => { if (event.key === "Escape") { event.preventDefault(); cancel(true); } });

window.webmapDraw = { start, addPoint, undo, finish, cancel, get points() { return mode ? mode.points.slice() : []; } };
