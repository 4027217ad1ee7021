"""Rendered tiles on disk, keyed by layer version: a replaced layer never serves old tiles."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..types import LayerInfo
from .request import TileRequest

MAX_CACHED_ZOOM = 16
"""Deeper tiles are cheap to make and too many to keep: they are rendered every time."""
KEEP_AFTER_TRIM = 0.8
"""A trim removes the oldest tiles until this share of each bound is left; the rest is the
slack one process may write before it trims again."""
log = logging.getLogger("webmap.tiles")


class TileCache(Protocol):
    """Rendered tiles kept per layer version."""

    def fetch(self, info: LayerInfo, tile: TileRequest, ext: str,
              render: Callable[[], bytes]) -> bytes:
        """The kept tile, or ``render()`` (kept for next time)."""

    def drop_layer(self, layer_id: str) -> None:
        """Forget every tile of a removed layer."""


class DiskTileCache:
    """``{root}/{layer}/{version}/{grid}/{z}/{row}/{col}.{ext}``; shared by worker processes.

    Bounded by ``max_bytes`` and ``max_files``: the first write of a process, and every write
    after it has written the slack (20 % of a bound) since, trims the oldest tiles (by
    modification time) until 80 % of each bound is left. One process never exceeds the
    bounds; ``n`` worker processes at most by ``n - 1`` slacks between their trims.
    """

    def __init__(self, root: Path, *, enabled: bool = True, max_bytes: int = 1 << 30,
                 max_files: int = 100_000) -> None:
        self.root = root
        self.enabled = enabled and max_bytes > 0 and max_files > 0
        self.max_bytes = max_bytes
        self.max_files = max_files
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()
        self._since_files = 0
        self._since_bytes = 0
        self._trimmed = False

    def fetch(self, info: LayerInfo, tile: TileRequest, ext: str,
              render: Callable[[], bytes]) -> bytes:
        """The cached tile, or ``render()`` stored for next time (never an empty tile: it is
        cheap to find again, and there are too many)."""
        if not self.enabled or tile.zoom > MAX_CACHED_ZOOM:
            return render()
        path = (self.root / info.id / info.version / str(tile.grid.id) / str(tile.zoom)
                / str(tile.row) / f"{tile.col}.{ext}")
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        data = render()
        if not data or len(data) > self.max_bytes * (1 - KEEP_AFTER_TRIM):
            return data
        if self._seen.get(info.id) != info.version:
            self._drop_other_versions(info)
        self._make_room(len(data))
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{uuid.uuid4().hex}.tmp")
        scratch.write_bytes(data)
        os.replace(scratch, path)
        return data

    def _make_room(self, size: int) -> None:
        """Trim before this write when the process has used its slack (or never trimmed)."""
        slack_files = max(1, int(self.max_files * (1 - KEEP_AFTER_TRIM)))
        slack_bytes = max(1, int(self.max_bytes * (1 - KEEP_AFTER_TRIM)))
        with self._lock:
            if (self._trimmed and self._since_files + 1 <= slack_files
                    and self._since_bytes + size <= slack_bytes):
                self._since_files += 1
                self._since_bytes += size
                return
            self.trim(files=self.max_files - slack_files, size=self.max_bytes - slack_bytes)
            self._trimmed = True
            self._since_files, self._since_bytes = 1, size

    def trim(self, *, files: int, size: int) -> int:
        """Remove the oldest tiles until at most ``files`` of at most ``size`` bytes are left;
        returns how many were removed."""
        tiles: list[tuple[float, int, str]] = []
        for folder, _, names in os.walk(self.root):
            for name in names:
                full = os.path.join(folder, name)
                try:
                    stat = os.stat(full)
                except FileNotFoundError:  # another worker removed it meanwhile
                    continue
                tiles.append((stat.st_mtime, stat.st_size, full))
        total = sum(t[1] for t in tiles)
        count = len(tiles)
        removed = 0
        if count <= files and total <= size:
            return 0
        tiles.sort()
        for _, length, full in tiles:
            if count <= files and total <= size:
                break
            try:
                os.unlink(full)
                removed += 1
            except FileNotFoundError:
                pass
            count -= 1
            total -= length
        log.debug("tile cache %s: removed %d oldest tiles", self.root, removed)
        return removed

    def _drop_other_versions(self, info: LayerInfo) -> None:
        """Remove tiles of older versions the first time a process meets a new one."""
        self._seen[info.id] = info.version
        folder = self.root / info.id
        if folder.is_dir():
            for child in folder.iterdir():
                if child.name != info.version:
                    shutil.rmtree(child, ignore_errors=True)

    def drop_layer(self, layer_id: str) -> None:
        """Forget every tile of a removed layer."""
        shutil.rmtree(self.root / layer_id, ignore_errors=True)
        self._seen.pop(layer_id, None)
