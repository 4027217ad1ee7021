"""The storage itself: one row per key under threads, a taken id drawn again."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from webmap.comments.service import Submission
from webmap.services import services_of

POINT = '{"type":"Point","coordinates":[24.94,60.17]}'


def submission(key: str | None, text: str = "Hyvä kaava") -> Submission:
    return Submission(map_id="kaava", text=text, language="fi", geometry=POINT,
                      idempotency_key=key)


def test_one_row_per_key_when_threads_race(app: Any) -> None:
    storage = services_of(app).comments.storage
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: storage.add(submission("sama")), range(24)))
    assert sum(created for _, created in results) == 1
    assert len({comment.id for comment, _ in results}) == 1
    assert len(storage.list("kaava")) == 1


def test_a_taken_id_is_drawn_again(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = services_of(app).comments.storage
    ids = iter(["aaaaaaaaaa", "aaaaaaaaaa", "bbbbbbbbbb"])
    monkeypatch.setattr("webmap.comments.storage.new_comment_id", lambda: next(ids))
    first, _ = storage.add(submission("yksi"))
    second, created = storage.add(submission("kaksi", "Toinen"))
    assert (first.id, second.id, created) == ("aaaaaaaaaa", "bbbbbbbbbb", True)
    assert [c.text for c in storage.list("kaava")] == ["Hyvä kaava", "Toinen"]


def test_statuses_filter_and_order(app: Any) -> None:
    storage = services_of(app).comments.storage
    made = [storage.add(submission(None, f"n:o {i}"))[0] for i in range(4)]
    storage.set_status(made[1].id, "published")
    storage.set_status(made[3].id, "hidden")
    assert [c.id for c in storage.list("kaava")] == [c.id for c in made]
    assert [c.id for c in storage.list("kaava", statuses=("published", "hidden"))] == [
        made[1].id, made[3].id]
    assert storage.list("kaava", statuses=()) == []
    assert storage.list("toinen") == []
    storage.ping()
