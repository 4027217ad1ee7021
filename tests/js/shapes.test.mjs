// Unit tests of the widget's pure shape geometry: node --test tests/js
import assert from "node:assert/strict";
import test from "node:test";

import {
  crossingSegments, douglasPeucker, mapCoordinates, parsePoints, pointCount, ringArea,
  simplifyShape, wkt,
} from "../../webmap/widget/static/shapes.js";

const ll = ([x, y]) => ({ lng: x, lat: y });

test("typed points: separators, decimal commas, blank lines and the bad line's number", () => {
  assert.deepEqual(parsePoints("22.68 60.45\n\n22,69 60,46\n262500;6709800\n1.5, 2.5\n3,4"), [
    { line: 1, x: 22.68, y: 60.45 }, { line: 3, x: 22.69, y: 60.46 },
    { line: 4, x: 262500, y: 6709800 }, { line: 5, x: 1.5, y: 2.5 }, { line: 6, x: 3, y: 4 },
  ]);
  assert.deepEqual(parsePoints("1 2\n1 2 3"), { error: 2 });
  assert.deepEqual(parsePoints("1 2\n\nabc 4"), { error: 3 });
  assert.deepEqual(parsePoints("1e5 2"), { error: 1 });
  assert.deepEqual(parsePoints(""), []);
});

test("crossing edges of a ring are named from 1; a square has none", () => {
  const square = [[0, 0], [1, 0], [1, 1], [0, 1]].map(ll);
  assert.equal(crossingSegments(square), null);
  const bowTie = [[0, 0], [1, 1], [1, 0], [0, 1]].map(ll);
  assert.deepEqual(crossingSegments(bowTie), [1, 3]);
});

test("ring area on a local projection: a 0.001° square at 60° N", () => {
  const square = [[22, 60], [22.001, 60], [22.001, 60.001], [22, 60.001]].map(ll);
  const expected = (111195 * 0.001) ** 2 * Math.cos((60.0005 * Math.PI) / 180);
  assert.ok(Math.abs(ringArea(square) - expected) / expected < 0.01);
  assert.equal(ringArea(square.slice(0, 2)), 0);
});

test("points are counted as the server counts them, closing points not", () => {
  assert.equal(pointCount({ type: "LineString", coordinates: [[0, 0], [1, 1], [2, 2]] }), 3);
  assert.equal(pointCount({ type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] }), 3);
  assert.equal(pointCount({ type: "MultiPolygon", coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 0]]],
    [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]] }), 7);
});

test("Douglas-Peucker keeps the ends and the far points", () => {
  const line = [[0, 0], [1, 0.01], [2, 0], [3, 5], [4, 0]];
  assert.deepEqual(douglasPeucker(line, line, 0.5), [[0, 0], [2, 0], [3, 5], [4, 0]]);
});

test("a shape is simplified to the point limit and stays a closed ring", () => {
  const ring = [];
  for (let i = 0; i < 100; i += 1) {
    const a = (2 * Math.PI * i) / 100;
    ring.push([22.68 + 0.001 * Math.cos(a), 60.45 + 0.0005 * Math.sin(a)]);
  }
  ring.push(ring[0]);
  const simple = simplifyShape({ type: "Polygon", coordinates: [ring] }, 12);
  assert.ok(simple);
  const out = simple.geometry.coordinates[0];
  assert.ok(out.length - 1 <= 12 && out.length >= 4);
  assert.deepEqual(out[0], out[out.length - 1]);
  assert.ok(simple.tolerance > 0);
  const line = { type: "LineString", coordinates: ring.slice(0, 50) };
  assert.ok(pointCount(simplifyShape(line, 5).geometry) <= 5);
});

test("WKT of every geometry type, with coordinates mapped", () => {
  const twice = (g) => ({ type: g.type, coordinates: mapCoordinates(g.coordinates, ([x, y]) => [2 * x, 2 * y]) });
  assert.equal(wkt(twice({ type: "Point", coordinates: [1, 2] })), "POINT (2 4)");
  assert.equal(wkt({ type: "LineString", coordinates: [[1, 2], [3, 4]] }), "LINESTRING (1 2, 3 4)");
  assert.equal(wkt({ type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] }),
    "POLYGON ((0 0, 1 0, 1 1, 0 0))");
  assert.equal(wkt({ type: "MultiLineString", coordinates: [[[0, 0], [1, 1]], [[2, 2], [3, 3]]] }),
    "MULTILINESTRING ((0 0, 1 1), (2 2, 3 3))");
  assert.equal(wkt({ type: "MultiPolygon", coordinates: [[[[0, 0], [1, 0], [1, 1], [0, 0]]]] }),
    "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)))");
  assert.equal(wkt({ type: "GeometryCollection", coordinates: [] }), null);
});
