// webmap widget: the pure geometry of drawn and typed shapes (no map, no DOM), shared by
// draw.js and widget.js and unit-tested with `node --test tests/js`. Points are {lng, lat}
// objects (L.LatLng or plain), GeoJSON positions are [x, y].

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
export function segmentsCross(a, b, c, d) {
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

export function parsePoints(text) {
  // [{line, x, y}] for the non-blank lines, or {error: line number} for the first bad one.
  const points = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const raw = lines[i].trim();
    if (!raw) continue;
    let parts = raw.split(/\s*;\s*|\s*,\s+|\s+/).filter(Boolean);
    if (parts.length === 1 && (raw.match(/,/g) || []).length === 1) parts = raw.split(",");
    const numbers = parts.map((part) => (/^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/.test(part) ? Number(part.replace(",", ".")) : NaN));
    if (numbers.length !== 2 || !numbers.every(Number.isFinite)) return { error: i + 1 };
    points.push({ line: i + 1, x: numbers[0], y: numbers[1] });
  }
  return points;
}
export function pointCount(geometry) {
  // As the server counts: every position, an area's closing ones not.
  const rings = geometry.type === "Polygon" ? geometry.coordinates
    : geometry.type === "MultiPolygon" ? geometry.coordinates.flat() : null;
  if (rings) return rings.reduce((n, ring) => n + ring.length - 1, 0);
  if (geometry.type === "MultiLineString") return geometry.coordinates.reduce((n, part) => n + part.length, 0);
  return geometry.coordinates.length;
}
function planar(lat0) {
  const k = (Math.PI / 180) * 6371008.8;
  const c = Math.cos((lat0 * Math.PI) / 180);
  return ([lon, lat]) => [lon * k * c, lat * k];
}
export function douglasPeucker(coords, xy, tolerance) {
  // Keeps the ends and every position farther than tolerance (metres) from the simplified line.
  const keep = new Array(coords.length).fill(false);
  keep[0] = true;
  keep[coords.length - 1] = true;
  const stack = [[0, coords.length - 1]];
  while (stack.length) {
    const [a, b] = stack.pop();
    const [ax, ay] = xy[a];
    const [bx, by] = xy[b];
    const dx = bx - ax;
    const dy = by - ay;
    const length2 = dx * dx + dy * dy;
    let worst = -1;
    let far = 0;
    for (let i = a + 1; i < b; i += 1) {
      const [px, py] = xy[i];
      const t = length2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / length2)) : 0;
      const d = Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
      if (d > far) { far = d; worst = i; }
    }
    if (worst >= 0 && far > tolerance) {
      keep[worst] = true;
      stack.push([a, worst], [worst, b]);
    }
  }
  return coords.filter((_, i) => keep[i]);
}
export function simplifyShape(geometry, maxPoints) {
  // {geometry, tolerance} with at most maxPoints points and no crossing ring, or null.
  const all = geometry.type.startsWith("Multi") ? geometry.coordinates.flat(2) : geometry.coordinates.flat();
  const toXY = planar(all.reduce((s, p) => s + p[1], 0) / all.length);
  const line = (coords, tolerance) => douglasPeucker(coords, coords.map(toXY), tolerance);
  const ring = (coords, tolerance) => {
    const simple = line(coords, tolerance);
    return simple.length >= 4 ? simple : null;
  };
  const polygon = (rings, tolerance) => {
    const out = [];
    for (const [i, r] of rings.entries()) {
      const simple = ring(r, tolerance);
      if (!simple && i === 0) return null;
      if (simple) out.push(simple); // a hole simplified away is dropped
    }
    return out;
  };
  const apply = {
    LineString: (c, t) => line(c, t),
    MultiLineString: (c, t) => c.map((part) => line(part, t)),
    Polygon: (c, t) => polygon(c, t),
    MultiPolygon: (c, t) => c.map((p) => polygon(p, t)),
  }[geometry.type];
  const rings = (g) => (g.type === "Polygon" ? g.coordinates : g.type === "MultiPolygon" ? g.coordinates.flat() : []);
  for (let tolerance = 0.05; tolerance < 5000; tolerance *= 1.4) {
    const coordinates = apply(geometry.coordinates, tolerance);
    if (!coordinates || coordinates.some((part) => part === null)) return null;
    const simple = { type: geometry.type, coordinates };
    if (pointCount(simple) > maxPoints) continue;
    const crossing = rings(simple).some((r) => crossingSegments(r.slice(0, -1).map(([x, y]) => ({ lng: x, lat: y }))));
    return crossing ? null : { geometry: simple, tolerance };
  }
  return null;
}

// ---------- the location as a form platform stores it ----------
export function mapCoordinates(coordinates, fn) {
  return typeof coordinates[0] === "number" ? fn(coordinates) : coordinates.map((c) => mapCoordinates(c, fn));
}
export function wkt(geometry) {
  const pos = (p) => p.join(" ");
  const list = (ps) => `(${ps.map(pos).join(", ")})`;
  const rings = (rs) => `(${rs.map(list).join(", ")})`;
  const c = geometry.coordinates;
  switch (geometry.type) {
    case "Point": return `POINT (${pos(c)})`;
    case "LineString": return `LINESTRING ${list(c)}`;
    case "Polygon": return `POLYGON ${rings(c)}`;
    case "MultiPoint": return `MULTIPOINT ${list(c)}`;
    case "MultiLineString": return `MULTILINESTRING ${rings(c)}`;
    case "MultiPolygon": return `MULTIPOLYGON (${c.map(rings).join(", ")})`;
    default: return null;
  }
}
