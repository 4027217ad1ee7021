"""``kill -9`` of a gunicorn worker while 200 comments are posted: every comment that was
accepted is stored, once; posts cut off with the worker are retried with their key and do not
duplicate."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests

from tests.scale.conftest import Region, client_address, exported, post_comment, workers

pytestmark = [pytest.mark.postgis, pytest.mark.slow]

POSTS = 200
THREADS = 8
KILL_AFTER = 40
"""Accepted posts before the kill: the run is well under way and has most of it to go."""
ATTEMPTS = 10
DEADLINE_S = 60.0


@dataclass
class Outcome:
    """What the client saw for one comment."""

    key: str
    text: str
    statuses: list[int | str] = field(default_factory=list)
    comment_id: str | None = None


def test_killing_a_worker_loses_and_duplicates_no_comment(region: Region) -> None:
    server = region.servers[0]
    before = workers(server)
    assert len(before) == 2
    tag = f"kill-{uuid.uuid4().hex[:8]}"
    outcomes = [Outcome(key=str(uuid.uuid4()), text=f"{tag} {i}") for i in range(POSTS)]
    accepted = threading.Semaphore(0)

    def send(outcome: Outcome) -> Outcome:
        address = client_address()  # one resident each: the rate limit stays out of the way
        for _ in range(ATTEMPTS):
            try:
                response = post_comment(server, outcome.text, key=outcome.key, address=address)
            except requests.ConnectionError as exc:  # the worker died under this request
                outcome.statuses.append(type(exc).__name__)
                continue  # the same key again: stored once, whichever attempt got through
            outcome.statuses.append(response.status_code)
            if response.status_code in (200, 201):
                outcome.comment_id = response.json()["id"]
                accepted.release()
                return outcome
        return outcome

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures: list[Future[Outcome]] = [pool.submit(send, o) for o in outcomes]
        for _ in range(KILL_AFTER):
            assert accepted.acquire(timeout=DEADLINE_S), "posts stopped being accepted"
        victim = min(workers(server))
        os.kill(victim, signal.SIGKILL)
        done = [f.result(timeout=DEADLINE_S) for f in futures]

    not_stored = [o for o in done if o.comment_id is None]
    assert not not_stored, [(o.text, o.statuses) for o in not_stored[:5]]
    assert all(set(o.statuses) <= {201, 200, "ConnectionError"} for o in done), [
        o.statuses for o in done if not set(o.statuses) <= {201, 200, "ConnectionError"}]

    stored = [f for f in exported(server, region.auth)
              if f["properties"]["text"].startswith(tag + " ")]
    assert Counter(f["properties"]["text"] for f in stored) == Counter(o.text for o in done)
    assert {f["properties"]["text"]: f["id"] for f in stored} == {
        o.text: o.comment_id for o in done}

    # the master replaced the dead worker; the survivor kept serving throughout
    deadline = time.monotonic() + DEADLINE_S
    while (victim in workers(server) or len(workers(server)) != 2) \
            and time.monotonic() < deadline:
        time.sleep(0.1)  # polling gunicorn's restart, not a timing assumption
    now = workers(server)
    assert victim not in now and len(now) == 2 and before - {victim} <= now
