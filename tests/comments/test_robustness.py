"""Odd but possible input answers a clear 4xx problem, never a 500: 64-bit overflows, non-ASCII
digits, CR/LF in a redirect target, chunked bodies over the limit; data files are private."""

from __future__ import annotations

import io
import logging
import stat
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from tests.admin.test_pages import sign_in
from tests.comments.conftest import Poster, comment
from tests.conftest import AppMaker, assert_problem
from webmap.api.comments import MAX_BODY_BYTES
from webmap.settings import Settings

BIG = str(2**63)


@pytest.mark.parametrize("path", [
    f"/collections/kaava-alueet/items?offset={BIG}",
    f"/collections/kaava-alueet/items?after={BIG}",
    f"/collections/kaava-alueet/items/{BIG}",
    f"/collections/kaava-alueet/items?floors={BIG}",
    f"/collections/kaava-alueet/items?floors=-{BIG}",
    "/collections/kaava-alueet/items?filter=" + quote(f"floors = {BIG}"),
    "/collections/kaava-alueet/items?filter=" + quote(f"floors IN (1, {BIG})"),
])
def test_numbers_past_64_bits_are_400(client: Any, plan: str, path: str) -> None:
    assert_problem(client.get(path), 400)


def test_the_largest_64_bit_values_still_answer(client: Any, plan: str) -> None:
    top = str(2**63 - 1)
    body = client.get(f"/collections/{plan}/items?after={top}").get_json()
    assert body["numberReturned"] == 0
    assert_problem(client.get(f"/collections/{plan}/items/{top}"), 404)


@pytest.mark.parametrize("feature_id", ["³", "٣", "1²", "７"])
def test_a_non_ascii_digit_feature_id_is_refused_plainly(post: Poster, plan: str,
                                                         feature_id: str) -> None:
    response = post(comment(geometry=None, feature={"collection": plan, "id": feature_id}))
    assert_problem(response, 422, mentions="no feature")


def test_a_chunked_body_over_the_limit_is_413(client: Any) -> None:
    body = orjson.dumps(comment(text="x" * (MAX_BODY_BYTES + 10)))
    response = client.post("/maps/kaava/comments", input_stream=io.BytesIO(body),
                           headers={"Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert_problem(response, 413)
    small = orjson.dumps(comment())
    response = client.post("/maps/kaava/comments", input_stream=io.BytesIO(small),
                           headers={"Content-Type": "application/json",
                                    "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/admin/layers\r\nSet-Cookie: x=1", "/admin/\nx",
                                    "/admin/layers%0d%0aX: y"])
def test_next_with_cr_lf_goes_to_the_default_page(client: Any, token: str, target: str) -> None:
    sign_in(client, token)
    response = client.get("/admin/?next=" + quote(target, safe="/%"))
    assert response.status_code == 303
    assert "\n" not in response.headers["Location"] and "\r" not in response.headers["Location"]
    assert "Set-Cookie" not in response.headers or "x=1" not in response.headers["Set-Cookie"]


def test_data_files_and_folders_are_private(app: Any, plan: str, post: Poster,
                                            settings: Settings, client: Any) -> None:
    assert post(comment()).status_code == 201
    client.get(f"/collections/{plan}/tiles/WebMercatorQuad/10/296/582")
    data = Path(settings.data_dir)
    found = [data, *data.rglob("*")]
    assert len(found) > 3
    loose = [f"{oct(p.stat().st_mode & 0o777)} {p}" for p in found
             if p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)]
    assert loose == []


def test_a_warning_at_start_without_a_public_url(tmp_path: Path, make_app: AppMaker,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="webmap"):
        make_app(Settings(data_dir=tmp_path / "a"))
    assert any("WEBMAP_PUBLIC_URL is not set" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="webmap"):
        make_app(Settings(data_dir=tmp_path / "b", public_url="https://kartta.example.fi"))
    assert not any("WEBMAP_PUBLIC_URL" in r.getMessage() for r in caplog.records)


def test_the_anonymous_sign_in_form_is_refused_past_16_kib(client: Any) -> None:
    started_body = b"token=x&csrf_token=y&pad=" + b"a" * (1024 * 1024)
    response = client.post("/admin/", data=started_body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413  # the staff pages answer problems as HTML pages
    chunked = client.post("/admin/", input_stream=io.BytesIO(started_body),
                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                   "Transfer-Encoding": "chunked"},
                          environ_overrides={"wsgi.input_terminated": True})
    assert chunked.status_code in {400, 413}
