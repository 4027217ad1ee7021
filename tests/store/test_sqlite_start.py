"""Many processes opening the same fresh data directory at once all start.

gunicorn starts its workers together, and each opens the embedded databases; a worker that
fails to start makes gunicorn shut the whole server down.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from webmap.admin.tokens import SqliteTokens
from webmap.comments.storage import SqliteComments
from webmap.store.maps import SqliteMaps
from webmap.store.sqlite import Catalogue

PROCESSES = 8
ROUNDS = 5


def _open_all(data_dir: str, barrier: multiprocessing.synchronize.Barrier,
              errors: multiprocessing.queues.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait()
    try:
        root = Path(data_dir)
        Catalogue(root / "catalogue.sqlite")
        SqliteTokens(root / "staff.sqlite")
        SqliteMaps(root / "maps.sqlite")
        SqliteComments(root / "comments.sqlite")
    except Exception as exc:  # reported to the test, which names it
        errors.put(repr(exc))


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_workers_starting_together_all_open_the_databases(tmp_path: Path, round_: int) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(PROCESSES)
    errors = context.Queue()
    workers = [context.Process(target=_open_all, args=(str(tmp_path), barrier, errors))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []
    for name in ("catalogue", "staff", "maps", "comments"):
        with sqlite3.connect(tmp_path / f"{name}.sqlite") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
