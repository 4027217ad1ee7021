"""The column-wise binary COPY writer: every column type, NULLs of every kind, bad values."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely

from webmap.store import pgcopy

pytestmark = pytest.mark.postgis

TYPES = {"name": "text", "count": "int8", "share": "float8", "listed": "bool",
         "day": "date", "seen": "timestamp", "at": "timestamptz"}
SQL_TYPES = {"text": "text", "int8": "bigint", "float8": "double precision", "bool": "boolean",
             "date": "date", "timestamp": "timestamp", "timestamptz": "timestamptz"}


def frame() -> pd.DataFrame:
    """Five rows; row 2 is NULL in every column, others hold edge values."""
    return pd.DataFrame({
        "name": ["Åbo", "", None, "x" * 5000, "tab\tnewline\n'quote"],
        "count": pd.array([0, -(2**63), None, 2**63 - 1, 42], dtype="Int64"),
        "share": [0.5, -0.0, np.nan, 1e300, math.pi],
        "listed": pd.array([True, False, None, True, False], dtype="boolean"),
        "day": [dt.date(2000, 1, 1), dt.date(1999, 12, 31), None, dt.date(2024, 2, 29),
                dt.date(1, 1, 1)],
        "seen": pd.to_datetime(["2000-01-01 00:00:00", "1970-01-01 00:00:00.000001", None,
                                "2024-06-30 23:59:59.999999", "1900-03-01 12:00:00"],
                               format="ISO8601"),
        "at": pd.to_datetime(["2024-06-30 12:00:00+03:00", "2000-01-01 00:00:00+00:00", None,
                              "1999-12-31 23:00:00-01:00", "2030-01-01 00:00:00+02:00"], utc=True),
    })


def load(conn: Any, columns: list[pgcopy.CopyColumn], definition: str) -> list[tuple[Any, ...]]:
    conn.execute(f"CREATE TEMP TABLE t ({definition})")
    names = ", ".join(c.name for c in pgcopy.ordered(columns))
    with conn.cursor().copy(f"COPY t ({names}) FROM STDIN (FORMAT BINARY)") as copy:
        for chunk in pgcopy.copy_chunks(columns):
            copy.write(chunk)
    return list(conn.execute("SELECT * FROM t ORDER BY fid"))


def test_every_type_and_null_round_trips(postgis_url: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    monkeypatch.setattr(pgcopy, "CHUNK_ROWS", 2)  # rows split over several buffers
    data = frame()
    geoms = np.array([shapely.Point(24.9, 60.2), None, shapely.box(0, 0, 1, 1),
                      shapely.LineString([(0, 0), (1, 1)]), shapely.Point(1, 2)], dtype=object)
    columns = [pgcopy.CopyColumn("fid", fixed=np.arange(1, 6, dtype=">i8")),
               pgcopy.binary_column("geom", shapely.to_wkb(geoms)),
               *(pgcopy.frame_column(name, data[name], kind) for name, kind in TYPES.items())]
    definition = ", ".join(["fid bigint", "geom geometry(Geometry, 4326)",
                            *(f"{n} {SQL_TYPES[k]}" for n, k in TYPES.items())])
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        rows = load(conn, columns, definition)
        srids = {r[0] for r in conn.execute("SELECT ST_SRID(geom) FROM t WHERE geom IS NOT NULL")}
        wkb = [r[0] for r in conn.execute("SELECT ST_AsBinary(geom) FROM t ORDER BY fid")]
    assert srids == {4326}, "plain WKB takes the column's SRID"
    assert [None if b is None else shapely.from_wkb(bytes(b)).wkt for b in wkb] == [
        None if g is None else g.wkt for g in geoms]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[2][2:] == (None,) * len(TYPES)
    got = {name: [r[2 + i] for r in rows] for i, name in enumerate(TYPES)}
    assert got["name"] == ["Åbo", "", None, "x" * 5000, "tab\tnewline\n'quote"]
    assert got["count"] == [0, -(2**63), None, 2**63 - 1, 42]
    assert got["share"][:2] == [0.5, -0.0] and got["share"][3:] == [1e300, math.pi]
    assert got["listed"] == [True, False, None, True, False]
    assert got["day"] == [dt.date(2000, 1, 1), dt.date(1999, 12, 31), None,
                          dt.date(2024, 2, 29), dt.date(1, 1, 1)]
    assert got["seen"] == [None if pd.isna(v) else v.to_pydatetime() for v in data["seen"]]
    utc = [None if pd.isna(v) else v.to_pydatetime().astimezone(dt.UTC) for v in data["at"]]
    assert got["at"] == utc


def test_bad_values_name_their_column() -> None:
    with pytest.raises(pgcopy.CopyValueError, match="'day'"):
        pgcopy.frame_column("day", pd.Series([dt.date(2024, 1, 1), "huomenna"]), "date")
    with pytest.raises(pgcopy.CopyValueError, match="'big'"):
        pgcopy.frame_column("big", pd.Series([2**64 - 1], dtype="uint64"), "int8")
    with pytest.raises(pgcopy.CopyValueError, match="'text'"):
        pgcopy.frame_column("text", pd.Series(["\ud800"], dtype=object), "text")
