"""A vectorised Mapbox Vector Tile 2.1 encoder: numpy over whole tiles, no loop per feature.

mapbox-vector-tile builds a protobuf object per feature and spends ~100 µs on each, which
caps a 25,000-building tile at seconds; this encoder does the same work as array
operations (quantise, drop repeated points, fix ring winding, zig-zag, varints, protobuf
framing). Decoding in the tests is done by mapbox-vector-tile, an independent check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

IntArray = npt.NDArray[np.int64]
MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7
POINT, LINESTRING, POLYGON = 1, 2, 3


def _command(op: int, count: IntArray | int) -> IntArray | int:
    return (np.asarray(count) << 3) | op if isinstance(count, np.ndarray) else (count << 3) | op


def _zigzag(values: IntArray) -> IntArray:
    return (values << 1) ^ (values >> 63)


def varints(values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.uint8], IntArray]:
    """Protobuf varints of non-negative integers: the bytes and each value's byte length."""
    v = np.asarray(values, dtype=np.uint64)
    lengths = np.ones(v.shape, dtype=np.int64)
    for shift in range(7, 64, 7):
        lengths += v >= (np.uint64(1) << np.uint64(shift))
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    for i in range(int(lengths.max(initial=0))):
        mask = lengths > i
        byte = (v[mask] >> np.uint64(7 * i)) & np.uint64(0x7F)
        byte |= np.where(lengths[mask] > i + 1, np.uint64(0x80), np.uint64(0))
        out[starts[mask] + i] = byte.astype(np.uint8)
    return out, lengths


def _segment_sums(lengths: IntArray, counts: IntArray) -> IntArray:
    """Sum ``lengths`` over consecutive runs of ``counts`` items (runs may be empty)."""
    owner = np.repeat(np.arange(counts.size), counts)
    return np.bincount(owner, weights=lengths, minlength=counts.size).astype(np.int64)


def _gather(pieces: Sequence[tuple[npt.NDArray[np.uint8], IntArray]]) -> npt.NDArray[np.uint8]:
    """Interleave per-feature pieces: feature i is piece0[i] + piece1[i] + …; each piece is
    (all bytes of that kind back to back, per-feature byte lengths)."""
    sources = [p[0] for p in pieces]
    lens = np.stack([p[1] for p in pieces], axis=1)  # features × pieces
    base = np.cumsum([0] + [s.size for s in sources[:-1]])
    src_start = np.stack([np.cumsum(p[1]) - p[1] + b for p, b in
                          zip(pieces, base, strict=True)], axis=1)
    flat_len = lens.ravel()
    flat_src = src_start.ravel()
    out_start = np.cumsum(flat_len) - flat_len
    index = np.arange(int(flat_len.sum())) + np.repeat(flat_src - out_start, flat_len)
    out: npt.NDArray[np.uint8] = np.concatenate(sources)[index]
    return out


class _Geometry:
    """Command streams of one geometry family: values and the feature each stream is for."""

    def __init__(self, values: IntArray, counts: IntArray, features: IntArray,
                 kind: int) -> None:
        self.values = values  # concatenated command integers (already zig-zagged)
        self.counts = counts  # values per kept feature
        self.features = features  # index of each kept feature in the input
        self.kind = kind


def _cursor_deltas(x: IntArray, y: IntArray, feature_of_point: IntArray
                   ) -> tuple[IntArray, IntArray]:
    """Deltas from the previous point of the same feature (the first from 0,0)."""
    dx = np.diff(x, prepend=0)
    dy = np.diff(y, prepend=0)
    first = np.ones(x.size, dtype=bool)
    first[1:] = feature_of_point[1:] != feature_of_point[:-1]
    dx[first] = x[first]
    dy[first] = y[first]
    return _zigzag(dx), _zigzag(dy)


def _paths(coords: npt.NDArray[np.float64], part_offsets: IntArray, feature_of_part: IntArray,
           *, rings: bool, exterior: npt.NDArray[np.bool_] | None = None,
           polygon_of_ring: IntArray | None = None) -> tuple[IntArray, IntArray, IntArray]:
    """Commands of lines (``rings=False``) or polygon rings; returns (values, part's feature,
    values per part) for the parts that survive quantisation."""
    q = np.rint(coords).astype(np.int64)
    part_of_point = np.repeat(np.arange(part_offsets.size - 1), np.diff(part_offsets))
    keep = np.ones(q.shape[0], dtype=bool)
    if rings:
        keep[part_offsets[1:] - 1] = False  # the closing point; ClosePath closes the ring
    same = np.zeros(q.shape[0], dtype=bool)
    same[1:] = (q[1:] == q[:-1]).all(axis=1) & (part_of_point[1:] == part_of_point[:-1])
    keep &= ~same
    q = q[keep]
    part_of_point = part_of_point[keep]
    nparts = part_offsets.size - 1
    n = np.bincount(part_of_point, minlength=nparts)
    if rings:
        if exterior is None or polygon_of_ring is None:
            raise TypeError("rings need exterior and polygon_of_ring")
        starts = np.cumsum(n) - n
        nxt = np.arange(1, q.shape[0] + 1)
        ends = starts + n - 1
        nxt[ends[n > 0]] = starts[n > 0]
        x, y = q[:, 0], q[:, 1]
        area2 = np.bincount(part_of_point, weights=(x * y[nxt % max(1, q.shape[0])]
                                                    - x[nxt % max(1, q.shape[0])] * y),
                            minlength=nparts)
        good = (n >= 3) & (area2 != 0)
        polygon_ok = np.zeros(int(polygon_of_ring.max(initial=-1)) + 1, dtype=bool)
        polygon_ok[polygon_of_ring[exterior & good]] = True
        good &= polygon_ok[polygon_of_ring]
        # exterior rings turn clockwise on screen (positive area with y down), holes the other
        reverse = good & ((area2 > 0) != exterior)
        k = np.arange(q.shape[0]) - starts[part_of_point]
        flip = reverse[part_of_point]
        order_key = starts[part_of_point] + np.where(flip, n[part_of_point] - 1 - k, k)
        q = q[np.argsort(order_key, kind="stable")]
    else:
        good = n >= 2
    point_ok = good[part_of_point]
    q = q[point_ok]
    part_of_point = part_of_point[point_ok]
    kept_parts = np.flatnonzero(good)
    n = n[kept_parts]
    feature_of_point = feature_of_part[part_of_point]
    zx, zy = _cursor_deltas(q[:, 0], q[:, 1], feature_of_point)
    extra = 3 if rings else 2
    size = 2 * n + extra
    out = np.empty(int(size.sum()), dtype=np.int64)
    start = np.cumsum(size) - size
    out[start] = _command(MOVE_TO, 1)
    first = np.cumsum(n) - n
    out[start + 1] = zx[first]
    out[start + 2] = zy[first]
    out[start + 3] = _command(LINE_TO, n - 1)
    k = np.arange(q.shape[0]) - np.repeat(first, n)
    rest = k > 0
    pos = np.repeat(start, n)[rest] + 4 + 2 * (k[rest] - 1)
    out[pos] = zx[rest]
    out[pos + 1] = zy[rest]
    if rings:
        out[start + size - 1] = _command(CLOSE_PATH, 1)
    return out, feature_of_part[kept_parts], size


def _per_feature(values: IntArray, part_feature: IntArray, part_size: IntArray,
                 kind: int) -> _Geometry:
    features, first = np.unique(part_feature, return_index=True)
    counts = np.add.reduceat(part_size, first) if part_size.size else part_size
    return _Geometry(values, counts.astype(np.int64), features, kind)


def _encode_family(geoms: npt.NDArray[np.object_], index: IntArray) -> _Geometry | None:
    """Commands for geometries of one family (all points, all lines or all polygons)."""
    if index.size == 0:
        return None
    kind, coords, offsets = shapely.to_ragged_array(geoms[index])
    kind = int(kind)
    if kind in (0, 4):  # Point / MultiPoint
        per = np.diff(offsets[0]) if kind == 4 else np.ones(index.size, dtype=np.int64)
        q = np.rint(coords).astype(np.int64)
        feature_of_point = np.repeat(np.arange(index.size), per)
        zx, zy = _cursor_deltas(q[:, 0], q[:, 1], feature_of_point)
        keep = per > 0
        size = 1 + 2 * per
        out = np.empty(int(size.sum()), dtype=np.int64)
        start = np.cumsum(size) - size
        out[start] = _command(MOVE_TO, per)
        k = np.arange(q.shape[0]) - np.repeat(np.cumsum(per) - per, per)
        pos = np.repeat(start, per) + 1 + 2 * k
        out[pos] = zx
        out[pos + 1] = zy
        return _Geometry(out, size[keep], index[keep], POINT)
    if kind in (1, 5):  # LineString / MultiLineString
        line_off = offsets[0]
        lines_per = np.diff(offsets[1]) if kind == 5 else np.ones(index.size, dtype=np.int64)
        feature_of_part = np.repeat(np.arange(index.size), lines_per)
        values, part_feature, size = _paths(coords, line_off, feature_of_part, rings=False)
        geometry = _per_feature(values, part_feature, size, LINESTRING)
    else:  # Polygon / MultiPolygon
        ring_off, poly_off = offsets[0], offsets[1]
        polys_per = np.diff(offsets[2]) if kind == 6 else np.ones(index.size, dtype=np.int64)
        rings_per_poly = np.diff(poly_off)
        polygon_of_ring = np.repeat(np.arange(poly_off.size - 1), rings_per_poly)
        feature_of_poly = np.repeat(np.arange(index.size), polys_per)
        exterior = np.zeros(ring_off.size - 1, dtype=bool)
        exterior[poly_off[:-1][rings_per_poly > 0]] = True
        values, part_feature, size = _paths(coords, ring_off, feature_of_poly[polygon_of_ring],
                                            rings=True, exterior=exterior,
                                            polygon_of_ring=polygon_of_ring)
        geometry = _per_feature(values, part_feature, size, POLYGON)
    geometry.features = index[geometry.features]
    return geometry


def _flatten_collections(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """GeometryCollections become the multi-geometry of their highest-dimension parts."""
    geoms = geoms.copy()
    rings = shapely.get_type_id(geoms) == 2
    if rings.any():  # a LinearRing is drawn as the closed line it is
        geoms[rings] = [shapely.LineString(shapely.get_coordinates(g)) for g in geoms[rings]]
    for i in np.flatnonzero(shapely.get_type_id(geoms) == 7):
        parts = shapely.get_parts(geoms[i])
        dims = shapely.get_dimensions(parts)
        best = parts[dims == dims.max()] if parts.size else parts
        maker = {0: shapely.multipoints, 1: shapely.multilinestrings, 2: shapely.multipolygons}
        geoms[i] = maker[int(dims.max())](shapely.get_parts(best)) if parts.size else None
    return geoms


def _value_bytes(value: Any) -> bytes:
    """One protobuf ``Value`` message."""
    if isinstance(value, (bool, np.bool_)):
        return bytes((0x38, int(bool(value))))
    if isinstance(value, (int, np.integer)):
        number = int(value)
        if number < 0:  # sint_value, zig-zag
            return b"\x30" + _varint(((number << 1) ^ (number >> 63)) & 0xFFFFFFFFFFFFFFFF)
        return b"\x20" + _varint(number)
    if isinstance(value, (float, np.floating)):
        return b"\x19" + np.array([value], dtype="<f8").tobytes()
    text = str(value).encode("utf-8")
    return b"\x0a" + _varint(len(text)) + text


def _varint(number: int) -> bytes:
    """One varint; plain Python, cheaper than numpy for a single value."""
    out = bytearray()
    while number > 0x7F:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _message(field: int, payload: bytes) -> bytes:
    return _varint((field << 3) | 2) + _varint(len(payload)) + payload


def _value_messages(uniques: Any) -> bytes:
    """``values`` fields (layer field 4) for one column's distinct values, back to back;
    strings, integers and floats as arrays, anything else one by one."""
    n = len(uniques)
    kind = pd.api.types.infer_dtype(uniques, skipna=False) if n else "empty"
    ones = np.ones(n, dtype=np.int64)
    if kind == "string":
        texts = [v.encode("utf-8") for v in uniques]
        text_len = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        inner, inner_len = varints(text_len)
        outer, outer_len = varints(1 + inner_len + text_len)
        return _gather([(np.full(n, 0x22, np.uint8), ones), (outer, outer_len),
                        (np.full(n, 0x0A, np.uint8), ones), (inner, inner_len),
                        (np.frombuffer(b"".join(texts), dtype=np.uint8), text_len)]).tobytes()
    if kind == "integer" and all(-(2**63) <= int(v) < 2**63 for v in (min(uniques),
                                                                       max(uniques))):
        numbers = np.asarray(uniques, dtype=np.int64)
        negative = numbers < 0  # sint_value (zig-zag) for negatives, int_value otherwise
        payload, payload_len = varints(np.where(negative, _zigzag(numbers), numbers))
        outer, outer_len = varints(1 + payload_len)
        field = np.where(negative, 0x30, 0x20).astype(np.uint8)
        return _gather([(np.full(n, 0x22, np.uint8), ones), (outer, outer_len),
                        (field, ones), (payload, payload_len)]).tobytes()
    if kind in ("floating", "mixed-integer-float"):
        table = np.empty((n, 11), dtype=np.uint8)
        table[:, :3] = (0x22, 9, 0x19)  # values field, 9 bytes: double_value + 8 bytes
        table[:, 3:] = np.asarray(uniques, dtype="<f8").view(np.uint8).reshape(n, 8)
        return table.tobytes()
    return b"".join(_message(4, _value_bytes(v)) for v in uniques)


def _tags(columns: Mapping[str, Sequence[Any]], features: IntArray
          ) -> tuple[list[bytes], list[bytes], npt.NDArray[np.uint8], IntArray]:
    """Keys, value fields (one blob per column) and each feature's packed tag list."""
    keys: list[bytes] = []
    values: list[bytes] = []
    value_count = 0
    pairs = []
    for key, column in columns.items():
        series = pd.Series(column, dtype=object).iloc[features]
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        if len(uniques) == 0:
            continue
        key_index = len(keys)
        keys.append(key.encode("utf-8"))
        values.append(_value_messages(uniques))
        pair = np.stack([np.full(codes.size, key_index), codes + value_count], axis=1)
        value_count += len(uniques)
        pair[codes < 0] = -1
        pairs.append(pair)
    if not pairs:
        return keys, values, np.empty(0, np.uint8), np.zeros(features.size, np.int64)
    table = np.concatenate(pairs, axis=1)  # features × 2·keys, -1 where the value is null
    present = table >= 0
    data, lengths = varints(table[present])
    per_feature = _segment_sums(lengths, present.sum(axis=1))
    return keys, values, data, per_feature


def encode(layer_name: str, ids: Sequence[int] | IntArray, geoms: npt.NDArray[np.object_],
           columns: Mapping[str, Sequence[Any]], *, extent: int = 4096) -> bytes:
    """One MVT layer of features whose geometries are already in tile units (y down).

    ``columns`` maps attribute names to one value per feature (None for null). Features whose
    geometry vanishes when rounded to whole units are left out. Returns b"" when none remain.
    """
    geoms = _flatten_collections(np.asarray(geoms, dtype=object))
    type_id = shapely.get_type_id(geoms)
    empty = shapely.is_empty(geoms) | (type_id < 0)
    # one geometry type per group: to_ragged_array is fastest on a homogeneous array
    families = [np.flatnonzero((type_id == kind) & ~empty) for kind in (0, 4, 1, 5, 3, 6)]
    encoded = [g for g in (_encode_family(geoms, f) for f in families) if g is not None
               and g.features.size]
    if not encoded:
        return b""
    features = np.concatenate([g.features for g in encoded])
    geom_data, geom_value_len = varints(_as_uint(np.concatenate([g.values for g in encoded])))
    geom_len = _segment_sums(geom_value_len, np.concatenate([g.counts for g in encoded]))
    kinds = np.concatenate([np.full(g.features.size, g.kind) for g in encoded])
    keys, values, tag_data, tag_len = _tags(columns, features)
    id_array = np.asarray(ids, dtype=np.int64)[features]
    # feature = 0x08 id, 0x12 len tags, 0x18 type, 0x22 len geometry
    head_b, head_b_len = varints(np.stack([np.full(features.size, 0x18), kinds,
                                           np.full(features.size, 0x22), geom_len],
                                          axis=1).ravel())
    b_len = head_b_len.reshape(-1, 4).sum(axis=1)
    _, id_len = varints(id_array)
    _, tag_len_len = varints(tag_len)
    feature_len = 1 + id_len + 1 + tag_len_len + tag_len + b_len + geom_len
    head_a, head_a_len = varints(np.stack([np.full(features.size, 0x12), feature_len,
                                           np.full(features.size, 0x08), id_array,
                                           np.full(features.size, 0x12), tag_len],
                                          axis=1).ravel())
    body = _gather([(head_a, head_a_len.reshape(-1, 6).sum(axis=1)), (tag_data, tag_len),
                    (head_b, b_len), (geom_data, geom_len)])
    layer = b"".join([
        b"\x78\x02",
        _message(1, layer_name.encode("utf-8")),
        body.tobytes(),
        *(_message(3, key) for key in keys),
        *values,
        b"\x28" + _varint(extent),
    ])
    return _message(3, layer)


def _as_uint(values: IntArray) -> npt.NDArray[np.uint64]:
    return values.astype(np.uint64)
