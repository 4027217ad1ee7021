"""No comment lost or stored twice: 200 concurrent posts to gunicorn with 2 workers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.comments.conftest import comment
from tests.conftest import LiveServer
from webmap.services import open_services
from webmap.settings import Settings

POSTS = 200
RETRIES = 20
"""Posts that all carry one idempotency key, as a widget retrying on a flaky network does."""
NO_KEY = 10
"""Posts without a key (an e-service that sends none): each is its own comment."""
THREADS = 16


@pytest.fixture
def server(settings: Settings, app: Any) -> Iterator[LiveServer]:
    """gunicorn, 2 workers, over the test's maps and storage, with the rate limit off."""
    live = LiveServer(settings.data_dir, layers_dir=settings.layers_dir, workers=2,
                      database_url=settings.database_url,
                      env={"WEBMAP_COMMENT_RATE_LIMIT": "off"})
    yield live
    live.stop()


@pytest.mark.slow
def test_every_accepted_id_is_stored_exactly_once(server: LiveServer,
                                                   settings: Settings) -> None:
    # Half the retries open the run, racing each other across both workers; the rest are
    # spread among the other posts.
    retry = ("sama kommentti", "retried-key")
    jobs: list[tuple[str, str | None]] = [retry] * (RETRIES // 2)
    for i in range(POSTS - RETRIES // 2):
        if i % 18 == 9 and jobs.count(retry) < RETRIES:
            jobs.append(retry)
        elif i % 18 == 0 and sum(key is None for _, key in jobs) < NO_KEY:
            jobs.append((f"ilman avainta {i}", None))
        else:
            jobs.append((f"kommentti {i}", f"key-{i}"))
    assert jobs.count(retry) == RETRIES and sum(key is None for _, key in jobs) == NO_KEY

    def send(job: tuple[str, str | None]) -> tuple[str, str | None, int, str]:
        text, key = job
        headers = {"Idempotency-Key": key} if key else {}
        response = requests.post(f"{server.url}/maps/kaava/comments", timeout=30,
                                 json=comment(text=text), headers=headers)
        assert response.status_code in (200, 201), (response.status_code, response.text)
        return text, key, response.status_code, response.json()["id"]

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(send, jobs))

    assert len(results) == POSTS
    retried = [r for r in results if r[1] == "retried-key"]
    assert len({r[3] for r in retried}) == 1, "every retry got the same id"
    assert Counter(r[2] for r in retried) == {201: 1, 200: RETRIES - 1}
    others = [r for r in results if r[1] != "retried-key"]
    assert all(r[2] == 201 for r in others)
    answered = {r[3]: r[0] for r in results}
    assert len(answered) == POSTS - RETRIES + 1

    with open_services(settings) as services:
        token = services.tokens.create("concurrency")
    export = requests.get(f"{server.url}/admin/api/maps/kaava/comments", timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
    assert export.status_code == 200, server.output()
    features = export.json()["features"]
    exported = Counter(f["id"] for f in features)
    assert set(exported.values()) == {1}, "no comment stored twice"
    assert set(exported) == set(answered), "every answered id stored, nothing else"
    assert {f["id"]: f["properties"]["text"] for f in features} == answered
