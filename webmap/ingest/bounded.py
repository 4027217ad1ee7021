"""Imports with limits: raster pixels, features and wall time.

Pixels and features are counted where the file is read (``raster.to_cog``, ``read.read_layer``)
and refused before the work starts where the file declares them. Wall time cannot be bounded
from inside: GDAL runs a GeoPackage view's SQL (an endless ``WITH RECURSIVE``, say) in its own
SQLite connection, out of Python's reach. So a bounded import reads the file in a child
process (forked from a clean fork server that has the readers imported, never from a web
worker with threads) and kills it when the time is up. The child writes only into the
import's scratch folder, which the store removes, so nothing is left half-written.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ..problems import ImportFailed, Problem
from ..types import NormalisedLayer

log = logging.getLogger("webmap")
Progress = Callable[[int, int], None]

DEFAULT_MAX_PIXELS = 2_000_000_000
DEFAULT_MAX_FEATURES = 5_000_000
DEFAULT_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class ImportLimits:
    """What one import may take: raster pixels (width × height), features, seconds."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_features: int = DEFAULT_MAX_FEATURES
    timeout_s: float = DEFAULT_TIMEOUT_S

    @classmethod
    def from_settings(cls, settings: Any) -> ImportLimits:
        """The limits of ``WEBMAP_IMPORT_MAX_PIXELS``, ``…_MAX_FEATURES``, ``…_TIMEOUT_S``."""
        return cls(max_pixels=settings.import_max_pixels,
                   max_features=settings.import_max_features,
                   timeout_s=settings.import_timeout_s)


def too_many_pixels(name: str, width: int, height: int, limits: ImportLimits | None) -> None:
    """ImportFailed when a raster of ``width`` × ``height`` is over the pixel limit."""
    if limits is not None and width * height > limits.max_pixels:
        raise ImportFailed(
            f"{name} is {width:,} × {height:,} pixels ({width * height:,}); this server "
            f"imports rasters of at most {limits.max_pixels:,} pixels "
            "(WEBMAP_IMPORT_MAX_PIXELS). Cut it into tiles or resample it first",
            status=413, title="Raster too large")


def too_many_features(name: str, count: int, limits: ImportLimits | None) -> None:
    """ImportFailed when ``count`` features are over the feature limit."""
    if limits is not None and count > limits.max_features:
        raise ImportFailed(
            f"{name} holds more than {limits.max_features:,} features, the most this server "
            "imports in one layer (WEBMAP_IMPORT_MAX_FEATURES); split it into several layers",
            status=413, title="Too many features")


_context: Any = None


def _server() -> Any:
    """The fork-server context, its server preloaded with the readers (started on first use)."""
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["webmap.ingest"])
        _context = context
    return _context


def run_bounded(limits: ImportLimits, on_progress: Progress | None,
                **kwargs: Any) -> NormalisedLayer:
    """``import_source(**kwargs)`` in a child process, killed after ``limits.timeout_s``.

    Progress is relayed to ``on_progress``; the child's ``ImportFailed`` (or other problem)
    is raised here as it was raised there.
    """
    receive, send = _server().Pipe(duplex=False)
    child = _server().Process(target=_child, args=(send, limits, kwargs), daemon=True,
                              name="webmap-import")
    child.start()
    send.close()
    deadline = time.monotonic() + limits.timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not receive.poll(left):
                raise ImportFailed(
                    f"the import took longer than {limits.timeout_s:g} s, the limit of this "
                    "server (WEBMAP_IMPORT_TIMEOUT_S), and was stopped; nothing was stored. "
                    "A GeoPackage view whose query never ends, or a very large file?",
                    title="Import took too long")
            try:
                message = receive.recv()
            except EOFError:
                child.join(5)
                raise ImportFailed(
                    f"the import stopped unexpectedly (exit code {child.exitcode}); the file "
                    "may be too large for this server. Nothing was stored") from None
            kind = message[0]
            if kind == "progress":
                if on_progress is not None:
                    on_progress(message[1], message[2])
            elif kind == "done":
                result: NormalisedLayer = message[1]
                return result
            elif kind == "problem":
                cls, detail, status, title, extra = message[1:]
                raise cls(detail, status=status, title=title, **extra)
            else:
                raise message[1]
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join(10)


def _child(send: Connection, limits: ImportLimits, kwargs: dict[str, Any]) -> None:
    from . import import_source

    def progress(done: int, total: int) -> None:
        send.send(("progress", done, total))

    try:
        result = import_source(**kwargs, on_progress=progress, limits=limits)
        send.send(("done", result))
    except Problem as exc:
        cls = exc.__class__ if exc.__class__ in (ImportFailed, Problem) else ImportFailed
        send.send(("problem", cls, exc.detail, exc.status, exc.title, exc.extra))
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the parent
        log.error("import failed in the child process:\n%s", traceback.format_exc())
        try:
            pickle.dumps(exc)
            send.send(("error", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        send.close()
        os._exit(0)
