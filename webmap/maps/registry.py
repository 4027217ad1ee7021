"""The maps a service serves: file maps from a directory merged with maps published by staff."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..problems import Conflict, ServiceUnavailable
from .model import MapDefinition, MapNotFound
from .schema import MapDefinitionError, load_map, parse_map, unprocessable
from .storage import MapStorage, StoredMap

log = logging.getLogger("webmap.maps")


MapCheck = Callable[[MapDefinition], None]
"""What a published map must satisfy beyond its schema (its layers and styles exist…);
raises a problem naming the field."""


class MapRegistry:
    """File maps from a directory, merged with maps published through the staff API.

    Files are re-read when one changes; published maps when the storage's revision does (both
    checked at most every ``CHECK_SECONDS``), so every worker and host sees a publish within a
    second. A file map wins over a published map of the same id: files are the deployment's.
    """

    CHECK_SECONDS = 1.0

    def __init__(self, directory: Path, *, storage: MapStorage | None = None,
                 check: MapCheck | None = None) -> None:
        """Read the map files now (a bad one stops start-up, naming the file and the field);
        published maps are read from ``storage`` on first use, so a database that is away at
        start-up delays only them."""
        self.directory = directory
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._files: dict[str, MapDefinition] = {}
        self._storage = storage
        self._check = check
        self._revision: int | None = None
        self._published: dict[str, MapDefinition] = {}
        self._maps: dict[str, MapDefinition] = {}
        self._checked = time.monotonic()
        self._scan()

    def _merge(self) -> None:
        shadowed = sorted(set(self._files) & set(self._published))
        if shadowed:
            log.warning("maps %s are both files and published; the files are served",
                        ", ".join(shadowed))
        self._maps = {**self._published, **self._files}

    def _scan(self) -> None:
        files = sorted(self.directory.glob("*.json")) if self.directory.is_dir() else []
        signature = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        if signature == self._signature:
            return
        self._files = {d.id: d for d in (load_map(p) for p in files)}
        self._signature = signature
        self._merge()

    def _sync(self, storage: MapStorage) -> None:
        """Reload published maps when the revision moved; keep the last set if the database
        is away (raise only when there is none yet)."""
        try:
            revision = storage.revision()
            if revision == self._revision:
                return
            rows = storage.all()  # read after the revision: a later change bumps it again
        except ServiceUnavailable:
            if self._revision is None:
                raise
            log.warning("published maps not reloaded: the database cannot be reached")
            return
        published: dict[str, MapDefinition] = {}
        for row in rows:
            try:
                published[row.id] = parse_map(row.definition, source=f"published map {row.id}",
                                              version=row.version)
            except MapDefinitionError as exc:
                log.error("published map not served: %s", exc)
        self._published = published
        self._revision = revision
        self._merge()

    def _fresh(self) -> dict[str, MapDefinition]:
        with self._lock:
            now = time.monotonic()
            due = now - self._checked >= self.CHECK_SECONDS
            if self._signature is None:
                self._scan()
            elif due:
                try:
                    self._scan()
                except (MapDefinitionError, OSError) as exc:
                    # Keep serving the maps we have; the log says which file to fix.
                    log.error("map definitions not reloaded: %s", exc)
            if self._storage is not None and (due or self._revision is None):
                self._sync(self._storage)
            if due:
                self._checked = now
            return self._maps

    def all(self) -> list[MapDefinition]:
        """Every map, by id."""
        return sorted(self._fresh().values(), key=lambda m: m.id)

    def get(self, map_id: str) -> MapDefinition:
        """One map; ``MapNotFound`` (404) when there is none."""
        found = self._fresh().get(map_id)
        if found is None:
            raise MapNotFound(map_id)
        return found

    # -- published maps --------------------------------------------------------------------
    def _published_storage(self) -> MapStorage:
        if self._storage is None:
            raise Conflict("this service keeps no published maps; add a file to "
                           f"{self.directory.parent.name}/{self.directory.name} instead")
        return self._storage

    def _file_label(self, map_id: str) -> str:
        return f"{self.directory.parent.name}/{self.directory.name}/{map_id}.json"

    def publish(self, data: Mapping[str, Any], *, check: bool = True
                ) -> tuple[MapDefinition, bool]:
        """Validate and store a map; returns it and whether it is new. A bad definition,
        layer or style raises ``Unprocessable`` naming the field, a file map ``Conflict``;
        ``check=False`` (a backup being restored) skips the layer and style check."""
        storage = self._published_storage()
        try:
            definition = parse_map(data, source="map")
        except MapDefinitionError as exc:
            raise unprocessable(exc) from None
        self._fresh()
        if definition.id in self._files:
            raise Conflict(f"map {definition.id!r} is defined in "
                           f"{self._file_label(definition.id)}; edit the file")
        if check and self._check is not None:
            self._check(definition)
        stored, created = storage.put(definition.id, data)
        definition = dataclasses.replace(definition, version=stored.version)
        with self._lock:
            self._published[definition.id] = definition
            self._merge()
        log.info("map %s %s", definition.id, "published" if created else "updated")
        return definition, created

    def unpublish(self, map_id: str) -> None:
        """Take a published map down; ``MapNotFound`` when none has the id, ``Conflict`` for
        a file map."""
        storage = self._published_storage()
        self._fresh()
        if not storage.delete(map_id):
            if map_id in self._files:
                raise Conflict(f"map {map_id!r} is defined in {self._file_label(map_id)}; "
                               "remove the file to take it down")
            raise MapNotFound(map_id)
        with self._lock:
            self._published.pop(map_id, None)
            self._merge()
        log.info("map %s taken down", map_id)

    def is_published(self, map_id: str) -> bool:
        """Whether ``map_id`` was published through the staff API (not a file map)."""
        self._fresh()
        return map_id in self._published

    def ping(self) -> None:
        """Raise ``ServiceUnavailable`` when published maps cannot be read."""
        if self._storage is not None:
            self._storage.ping()

    def published(self) -> list[StoredMap]:
        """The published maps as stored (the documents staff sent), by id."""
        return [] if self._storage is None else self._storage.all()
