"""Many processes opening the same fresh data directory at once all start.

gunicorn starts its workers together, and each opens the embedded database and migrates it;
a worker that fails to start makes gunicorn shut the whole server down.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from webmap.migrations import directory, migrations
from webmap.services import open_services
from webmap.settings import Settings

PROCESSES = 8
ROUNDS = 5


def _open_all(data_dir: str, barrier: multiprocessing.synchronize.Barrier,
              errors: multiprocessing.queues.Queue) -> None:  # type: ignore[type-arg]
    barrier.wait()
    try:
        with open_services(Settings(data_dir=Path(data_dir))) as services:
            services.ping()
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
    with sqlite3.connect(tmp_path / "webmap.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        latest = len(migrations(directory("sqlite")))
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest
