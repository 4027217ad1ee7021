"""The layer catalogue: ``webmap_layers`` in the one database, the same for both backends.

A row holds what ``LayerInfo`` says and where the data lie (a path under the data directory,
or a PostGIS table). On SQLite each thread keeps the rows and re-reads them only when
``PRAGMA data_version`` says another connection wrote; on PostgreSQL a look-up is one query,
since other hosts write too.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..database import Database, SqliteDatabase, time_text
from ..problems import LayerNotFound, ServiceUnavailable
from ..types import Field, ImportReport, LayerInfo, LayerKind

TABLE = "webmap_layers"
COLUMNS = ("id, kind, title, description, attribution, source_crs, minx, miny, maxx, maxy, "
           "feature_count, geometry_type, fields, version, location, updated, id_field, max_fid, "
           "fid_high, editable")
# A third element of a ``fields`` entry marks the temporal property: {"extent": [first, last]}.
SELECT = f"SELECT {COLUMNS} FROM {TABLE}"  # noqa: S608 - constant names
UPSERT = (f"INSERT INTO {TABLE} ({COLUMNS}) VALUES "  # noqa: S608 - constant names
          f"({', '.join('?' * len(COLUMNS.split(', ')))}) ON CONFLICT (id) DO UPDATE SET "
          + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS.split(", ")[1:]))


def layer_info(row: Sequence[Any]) -> LayerInfo:
    """A catalogue row as ``LayerInfo``."""
    (layer_id, kind, title, description, attribution, source_crs, minx, miny, maxx, maxy,
     count, geometry_type, fields, version, location, updated, id_field, max_fid, _high,
     editable) = row
    entries = json.loads(str(fields))
    return LayerInfo(
        id=str(layer_id), kind=LayerKind(str(kind)), title=str(title),
        description=str(description), attribution=str(attribution), source_crs=str(source_crs),
        bbox=(float(minx), float(miny), float(maxx), float(maxy)),
        feature_count=int(count), geometry_type=str(geometry_type),
        fields=tuple(Field(entry[0], entry[1]) for entry in entries),
        time_field=next((entry[0] for entry in entries if len(entry) > 2), ""),
        time_extent=next((tuple(entry[2]["extent"]) for entry in entries if len(entry) > 2),
                         (None, None)),
        version=str(version), updated=time_text(updated, timespec="seconds"),
        location=str(location), id_field=str(id_field or ""), max_fid=int(max_fid or 0),
        editable=bool(editable))


class Catalogue:
    """Layer metadata over the database; writes go in the caller's transaction."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._local = threading.local()

    def _cached(self, db: SqliteDatabase) -> dict[str, LayerInfo]:
        """Every entry, re-read only when another connection has written."""
        try:
            conn = db.reader()
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != getattr(self._local, "version", None):
                rows = conn.execute(f"{SELECT} ORDER BY id").fetchall()
                self._local.entries = {row[0]: layer_info(row) for row in rows}
                self._local.version = version
        except sqlite3.Error as exc:
            raise ServiceUnavailable("the layer catalogue cannot be read",
                                     headers={"Retry-After": "5"}) from exc
        entries: dict[str, LayerInfo] = self._local.entries
        return entries

    def get(self, layer_id: str) -> LayerInfo:
        """One entry; raises ``LayerNotFound``."""
        if isinstance(self.database, SqliteDatabase):
            found = self._cached(self.database).get(layer_id)
        else:
            with self.database.transaction() as conn:
                found = self.find(conn, layer_id)
        if found is None:
            raise LayerNotFound(layer_id)
        return found

    def all(self) -> list[LayerInfo]:
        """Every entry, ordered by id."""
        if isinstance(self.database, SqliteDatabase):
            return list(self._cached(self.database).values())
        with self.database.transaction() as conn:
            return [layer_info(row) for row in conn.execute(f"{SELECT} ORDER BY id").fetchall()]

    def find(self, conn: Any, layer_id: str) -> LayerInfo | None:
        """The entry as ``conn`` sees it (inside a caller's transaction), or None."""
        row = conn.execute(self.database.sql(f"{SELECT} WHERE id = ?"), (layer_id,)).fetchone()
        return None if row is None else layer_info(row)

    def fid_high(self, conn: Any, layer_id: str) -> int:
        """The greatest feature id the layer has ever given (0 for a new layer)."""
        row = conn.execute(self.database.sql(f"SELECT fid_high FROM {TABLE} WHERE id = ?"),  # noqa: S608
                           (layer_id,)).fetchone()
        return 0 if row is None else int(row[0] or 0)

    def put(self, conn: Any, report: ImportReport, *, fields: tuple[Field, ...], version: str,
            location: str, attribution: str = "", description: str = "", max_fid: int = 0,
            fid_high: int = 0) -> None:
        """Insert or replace a layer's entry in the caller's transaction."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        conn.execute(self.database.sql(UPSERT), (
            report.layer_id, str(report.kind), report.title, description, attribution,
            report.source_crs, *(float(v) for v in report.bbox), report.feature_count,
            report.geometry_type,
            json.dumps([[f.name, f.type, *([{"extent": list(report.time_extent)}]
                                           if f.name == report.time_field else [])]
                        for f in fields]), version,
            location, now, report.id_field, int(max_fid), int(max(fid_high, max_fid)),
            bool(report.editable)))

    def delete(self, conn: Any, layer_id: str) -> None:
        """Remove an entry in the caller's transaction."""
        conn.execute(self.database.sql(f"DELETE FROM {TABLE} WHERE id = ?"),  # noqa: S608
                     (layer_id,))

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when the catalogue cannot be read."""
        self.database.check_table(TABLE)
