"""PostgreSQL binary COPY built from whole columns at once (numpy), not value by value.

``COPY … FROM STDIN (FORMAT BINARY)`` takes, per row, a 16-bit field count and, per field, a
32-bit length (-1 for NULL) and the value in the type's binary form. Fixed-width columns
without NULLs are packed into one numpy record per row; every other field is a pair of byte
strings (length, value); a row is the concatenation of its pieces, joined in C by
``bytes.join``: 0.3 s for 200,000 polygons where ``Copy.write_row`` and the per-value
conversions before it took 0.9 s. ``spatial_order`` chooses the order rows go in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"
CHUNK_ROWS = 20_000
"""Rows per buffer handed to ``Copy.write``: a few MB, so memory does not double."""
PG_EPOCH_DAYS = 10_957
"""Days from 1970-01-01 (numpy's epoch) to 2000-01-01 (PostgreSQL's)."""
PG_EPOCH_US = PG_EPOCH_DAYS * 86_400 * 1_000_000
MORTON_CELLS = 65_535
"""Cells per axis of the Z-order curve that ``spatial_order`` sorts rows along."""
FIXED = {"int8": ">i8", "float8": ">f8", "bool": "u1", "date": ">i4", "timestamp": ">i8",
         "timestamptz": ">i8"}
"""COPY type → the big-endian numpy type of its binary form."""


class CopyValueError(ValueError):
    """A value cannot be written as its column's type; the message names the column."""


@dataclass(frozen=True)
class CopyColumn:
    """One column: ``fixed`` numpy values (``missing`` marks NULLs) or per-row ``pieces``."""

    name: str
    fixed: npt.NDArray[Any] | None = None
    missing: npt.NDArray[np.bool_] | None = None
    pieces: Sequence[bytes | None] | None = None

    @property
    def packable(self) -> bool:
        """Fixed width and never NULL: goes into the per-row record."""
        return self.fixed is not None and (self.missing is None or not self.missing.any())


def binary_column(name: str, values: Sequence[bytes | None]) -> CopyColumn:
    """A bytea-like column (WKB geometry, for instance) from per-row bytes."""
    return CopyColumn(name, pieces=values)


def frame_column(name: str, column: pd.Series, copy_type: str) -> CopyColumn:
    """A DataFrame column in ``copy_type``'s binary form; NaN, NaT, NA and None are NULL."""
    missing = column.isna().to_numpy(dtype=bool)
    if copy_type == "text":
        return CopyColumn(name, pieces=_texts(name, column, missing))
    dtype = FIXED[copy_type]
    try:
        if copy_type == "int8":
            values = _integers(name, column, missing)
        elif copy_type == "float8":
            values = column.to_numpy(dtype="float64", na_value=np.nan)
        elif copy_type == "bool":
            values = column.to_numpy(dtype=object, na_value=False).astype(bool)
        elif copy_type == "date":
            values = np.array([0 if m else (v - date(2000, 1, 1)).days
                               for v, m in zip(column.tolist(), missing, strict=True)],
                              dtype="int64")
        else:
            stamps = pd.to_datetime(column)
            if copy_type == "timestamptz" and stamps.dt.tz is not None:
                stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
            micro = stamps.to_numpy(dtype="datetime64[us]").astype("int64")
            values = np.where(missing, 0, micro - PG_EPOCH_US)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise CopyValueError(f"column {name!r} has a value that is not a {copy_type}") from exc
    return CopyColumn(name, fixed=np.asarray(values).astype(dtype), missing=missing)


def _integers(name: str, column: pd.Series, missing: npt.NDArray[np.bool_]
              ) -> npt.NDArray[np.int64]:
    present = column[~missing]
    if len(present) and (present.max() > np.iinfo("int64").max
                         or present.min() < np.iinfo("int64").min):
        raise CopyValueError(f"column {name!r} has an integer beyond 64 bits")
    values: npt.NDArray[np.int64] = column.to_numpy(dtype="int64", na_value=0)
    return values


def _texts(name: str, column: pd.Series, missing: npt.NDArray[np.bool_]
           ) -> list[bytes | None]:
    try:
        return [None if m else str(v).encode("utf-8")
                for v, m in zip(column.tolist(), missing, strict=True)]
    except UnicodeEncodeError as exc:
        raise CopyValueError(f"column {name!r} has text that is not valid Unicode") from exc


def copy_chunks(columns: Sequence[CopyColumn]) -> Iterator[bytes]:
    """The COPY stream (signature, rows, trailer) in buffers, fields as ``ordered`` says."""
    ordered_columns = ordered(columns)
    rows = _length(ordered_columns)
    yield SIGNATURE
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(rows, start + CHUNK_ROWS)
        yield _rows(ordered_columns, start, stop)
    yield TRAILER


def ordered(columns: Sequence[CopyColumn]) -> list[CopyColumn]:
    """The COPY column order: packable columns first (one record per row), then the rest."""
    return ([c for c in columns if c.packable]
            + [c for c in columns if not c.packable])


def _length(columns: Sequence[CopyColumn]) -> int:
    lengths = {len(c.fixed) if c.fixed is not None else len(c.pieces)  # type: ignore[arg-type]
               for c in columns}
    if len(lengths) != 1:
        raise ValueError("COPY columns differ in length")
    return lengths.pop()


def _rows(columns: Sequence[CopyColumn], start: int, stop: int) -> bytes:
    """Rows ``start``..``stop``: per row, the packed record then each other field."""
    count = stop - start
    packed = [c for c in columns if c.packable]
    record = np.empty(count, dtype=[("fields", ">i2")] + [
        (f"{kind}{i}", ">i4" if kind == "l" else c.fixed.dtype.str)  # type: ignore[union-attr]
        for i, c in enumerate(packed) for kind in ("l", "v")])
    record["fields"] = len(columns)
    for i, c in enumerate(packed):
        assert c.fixed is not None  # noqa: S101 - packable means fixed
        record[f"l{i}"] = c.fixed.dtype.itemsize
        record[f"v{i}"] = c.fixed[start:stop]
    others = [c for c in columns if not c.packable]
    width = 1 + 2 * len(others)
    pieces: list[bytes] = [b""] * (count * width)
    pieces[0::width] = record.view(f"V{record.dtype.itemsize}").tolist()
    for j, c in enumerate(others):
        lengths, values = _field_pieces(c, start, stop)
        pieces[1 + 2 * j::width] = lengths
        pieces[2 + 2 * j::width] = values
    return b"".join(pieces)


def _field_pieces(column: CopyColumn, start: int, stop: int
                  ) -> tuple[list[bytes], list[bytes]]:
    """Length prefixes and values of a column that may hold NULLs or vary in width."""
    if column.fixed is not None:
        values: list[bytes] = column.fixed[start:stop].view(
            f"V{column.fixed.dtype.itemsize}").tolist()
        width = column.fixed.dtype.itemsize
        lengths = np.full(stop - start, width, dtype=">i4")
        if column.missing is not None:
            gaps = np.flatnonzero(column.missing[start:stop])
            lengths[gaps] = -1
            for i in gaps:
                values[i] = b""
        return lengths.view("V4").tolist(), values
    assert column.pieces is not None  # noqa: S101 - either fixed or pieces
    chunk = column.pieces[start:stop]
    sizes = np.fromiter((-1 if v is None else len(v) for v in chunk), dtype=">i4",
                        count=len(chunk))
    return sizes.view("V4").tolist(), [b"" if v is None else v for v in chunk]


def spatial_order(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.intp]:
    """Row order along a Z-order (Morton) curve of the bbox centres; empty ones stay first."""
    bounds = shapely.bounds(geoms)
    x = (bounds[:, 0] + bounds[:, 2]) / 2
    y = (bounds[:, 1] + bounds[:, 3]) / 2
    present = np.isfinite(x) & np.isfinite(y)
    if not present.any():
        return np.arange(len(geoms))
    keys = np.zeros(len(geoms), dtype=np.uint64)
    cells = []
    for values in (x[present], y[present]):
        low, span = values.min(), float(np.ptp(values)) or 1.0
        cells.append(((values - low) * (MORTON_CELLS / span)).astype(np.uint64))
    keys[present] = _spread_bits(cells[0]) | (_spread_bits(cells[1]) << np.uint64(1))
    order: npt.NDArray[np.intp] = np.argsort(keys, kind="stable")
    return order


def _spread_bits(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Put a zero bit between each of the low 16 bits (so x and y interleave)."""
    spread = values & np.uint64(0xFFFF)
    for shift, mask in ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)):
        spread = (spread | (spread << np.uint64(shift))) & np.uint64(mask)
    return spread
