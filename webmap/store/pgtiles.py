"""The tile statement of the PostGIS backend: one SQL statement per tile, made by PostGIS.

Its numbers come from ``tiles.policy``, the same ones the numpy encoder follows.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from psycopg import sql

from ..tiles import policy
from ..tiles.request import TileRequest, tile_bounds
from ..types import BBox

MVT_SQL = """
WITH candidates AS (
    -- OFFSET 0 keeps each step a subquery: its outputs are computed once per row, where an
    -- inlined CTE would repeat ST_Transform and the clip in every expression that uses them
    SELECT t.fid, ST_Transform(t.geom, %(epsg)s) AS g{attributes}
    FROM {table} t
    WHERE t.geom && ST_MakeEnvelope(%(wx0)s, %(wy0)s, %(wx1)s, %(wy1)s, 4326)
    OFFSET 0
), clipped AS (
    SELECT c.*, CASE WHEN c.g @ ST_MakeEnvelope(%(bx0)s, %(by0)s, %(bx1)s, %(by1)s, %(epsg)s)
                     THEN c.g::box2d
                     ELSE ST_ClipByBox2D(c.g, ST_MakeEnvelope(%(bx0)s, %(by0)s, %(bx1)s,
                                                              %(by1)s, %(epsg)s))::box2d
                END AS b,
           {per_vertex} * ST_NPoints(c.g) + {per_feature}{attribute_bytes} AS bytes
    FROM candidates c
    OFFSET 0
), ranked AS (
    -- the predicted encoded size of the features so far, largest first (as mvt.py does)
    SELECT s.*, sum(s.bytes) OVER w AS running, row_number() OVER w AS n
    FROM (SELECT l.*, greatest(ST_XMax(l.b) - ST_XMin(l.b), ST_YMax(l.b) - ST_YMin(l.b))
                      AS size
          FROM clipped l WHERE l.b IS NOT NULL) s
    WHERE s.size >= %(min_size)s OR ST_Dimension(s.g) = 0
    WINDOW w AS (ORDER BY s.size DESC, (s.fid * {spread}) %% {modulus}
                 ROWS UNBOUNDED PRECEDING)
), kept AS (
    SELECT r.* FROM ranked r
    WHERE (r.running <= %(budget)s OR r.n = 1) AND r.n <= %(limit)s  -- a prefix of w
), shaped AS (
    SELECT k.fid{kept_attributes},
           ST_AsMVTGeom(CASE WHEN ST_NPoints(k.g) > %(min_vertices)s
                             THEN ST_Simplify(k.g, %(unit)s, true) ELSE k.g END,
                        ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, %(epsg)s),
                        %(extent)s, %(buffer)s, true) AS geom
    FROM kept k
    OFFSET 0  -- else the filter below repeats ST_AsMVTGeom, the costliest step, per row
)
SELECT ST_AsMVT(shaped, %(name)s, %(extent)s, 'geom', 'fid')
FROM shaped WHERE geom IS NOT NULL
"""
"""One tile in one statement: candidates from the GiST index, each transformed and clipped
once, ranked largest first under the tile's byte budget, simplified, encoded by PostGIS."""


@lru_cache(maxsize=256)
def mvt_statement(table: str, fields: tuple[str, ...]) -> bytes:
    """``MVT_SQL`` for one table version, composed once per process, not per tile."""
    return sql.SQL(MVT_SQL).format(
        table=sql.Identifier(table),
        attributes=sql.SQL("").join(sql.SQL(", t.") + sql.Identifier(f) for f in fields),
        attribute_bytes=sql.SQL("").join(
            sql.SQL(" + coalesce(octet_length(c.{}::text) + {}, 0)").format(
                sql.Identifier(f), sql.Literal(policy.BYTES_PER_VALUE))
            for f in fields),
        per_vertex=sql.Literal(policy.BYTES_PER_VERTEX),
        per_feature=sql.Literal(policy.BYTES_PER_FEATURE),
        spread=sql.Literal(policy.SPREAD_MULTIPLIER),
        modulus=sql.Literal(policy.SPREAD_MODULUS),
        kept_attributes=sql.SQL("").join(sql.SQL(", k.") + sql.Identifier(f) for f in fields),
    ).as_bytes()


def tile_parameters(tile: TileRequest, window: BBox, *, name: str, limit: int
                    ) -> dict[str, Any]:
    """The statement's parameters for one tile: the policy in the grid's ground units."""
    rules = policy.generalisation(tile_bounds(tile))
    minx, miny, maxx, maxy = rules.bounds
    bx0, by0, bx1, by1 = rules.buffered
    return {
        "epsg": int(tile.epsg.split(":")[1]), "wx0": window[0], "wy0": window[1],
        "wx1": window[2], "wy1": window[3], "min_size": rules.min_size, "limit": limit,
        "min_vertices": policy.SIMPLIFY_MIN_VERTICES, "unit": rules.simplify_tolerance,
        "x0": minx, "y0": miny, "x1": maxx, "y1": maxy, "extent": policy.EXTENT,
        "bx0": bx0, "by0": by0, "bx1": bx1, "by1": by1, "buffer": policy.BUFFER,
        "name": name, "budget": policy.MAX_TILE_BYTES}
