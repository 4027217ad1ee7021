"""Staff answer comments, publish the responses, and residents who asked are told by e-mail
through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.comments.conftest import AREA, INSIDE, Poster, auth, comment, new_key
from tests.conftest import assert_problem
from webmap.comments.mail import send_queued
from webmap.services import services_of
from webmap.settings import Settings, env_name


def patch(client: Any, token: str, comment_id: str, body: Any) -> Any:
    return client.patch(f"/admin/api/comments/{comment_id}", json=body, headers=auth(token))


def publish_responses(client: Any, token: str, map_id: str = "kaava") -> Any:
    response = client.post(f"/admin/api/maps/{map_id}/responses/publish", headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def public(client: Any) -> dict[str, dict[str, Any]]:
    body = client.get("/maps/kaava/comments").get_json()
    return {f["id"]: f["properties"] for f in body["features"]}


@pytest.fixture
def three(post: Poster, plan: str) -> dict[str, str]:
    """Three comments: two residents ask to be told (fi, sv), one does not."""
    bodies = {
        "fi": comment(text="Puisto säilytettävä", notify=True, email="maija@example.fi"),
        "sv": comment(text="Bevara parken", language="sv", geometry=AREA, notify=True,
                      email="asa@example.se", name="Åsa"),
        "quiet": comment(text="Ei ilmoitusta", email="hiljainen@example.fi"),
    }
    ids = {}
    for label, body in bodies.items():
        response = post(body, key=new_key())
        assert response.status_code == 201, response.get_json()
        ids[label] = response.get_json()["id"]
    return ids


def test_a_response_is_a_draft_until_published(client: Any, token: str,
                                               three: dict[str, str]) -> None:
    for comment_id in three.values():
        assert patch(client, token, comment_id, {"status": "published"}).status_code == 200
    answered = patch(client, token, three["fi"], {
        "response": "Puisto säilyy kaavassa (VL).", "themes": ["Viheralueet", "puisto"],
        "changed_plan": True})
    assert answered.status_code == 200
    staff = answered.get_json()
    assert staff["draft_response"] == "Puisto säilyy kaavassa (VL)."
    assert staff["themes"] == ["Viheralueet", "puisto"] and staff["responded"]
    assert staff["response"] is None  # nothing published yet
    assert all(p["response"] is None for p in public(client).values())

    publication = publish_responses(client, token)
    assert publication["responses"] == 1
    shown = public(client)[three["fi"]]["response"]
    assert shown == {"text": "Puisto säilyy kaavassa (VL).", "changed_plan": True,
                     "themes": ["Viheralueet", "puisto"]}

    # a later edit stays a draft: the public keeps reading the published text
    patch(client, token, three["fi"], {"response": "Luonnos, ei julkinen"})
    assert public(client)[three["fi"]]["response"]["text"] == "Puisto säilyy kaavassa (VL)."
    state = client.get("/admin/api/maps/kaava/responses", headers=auth(token)).get_json()
    assert state["responses"]["draft_changes"] == 1
    publish_responses(client, token)
    assert public(client)[three["fi"]]["response"]["text"] == "Luonnos, ei julkinen"


def test_pending_and_hidden_comments_never_show_their_response(client: Any, token: str,
                                                              three: dict[str, str]) -> None:
    patch(client, token, three["fi"], {"status": "hidden", "response": "Piilotettu vastine"})
    patch(client, token, three["sv"], {"response": "Väntar på granskning"})
    publish_responses(client, token)
    body = client.get("/maps/kaava/comments").get_data(as_text=True)
    assert "Piilotettu vastine" not in body and "Väntar på granskning" not in body
    assert "@example" not in body and "Åsa" not in body


@pytest.mark.parametrize(("body", "field"), [
    ({"themes": "liikenne"}, "themes"),
    ({"themes": [""]}, "themes"),
    ({"themes": ["x" * 81]}, "themes"),
    ({"themes": [f"t{i}" for i in range(21)]}, "themes"),
    ({"changed_plan": "yes"}, "changed_plan"),
    ({"response": 5}, "response"),
    ({"response": "x" * 20001}, "response"),
    ({"answer": "typo"}, "answer"),
    ({}, "status"),
])
def test_bad_responses_are_refused_naming_the_member(client: Any, token: str,
                                                     three: dict[str, str], body: Any,
                                                     field: str) -> None:
    problem = assert_problem(patch(client, token, three["fi"], body), 422)
    assert problem["field"] == field


def test_responses_need_a_token_and_an_existing_comment(client: Any, token: str,
                                                         three: dict[str, str]) -> None:
    assert client.patch(f"/admin/api/comments/{three['fi']}",
                        json={"response": "x"}).status_code == 401
    assert client.post("/admin/api/maps/kaava/responses/publish").status_code == 401
    assert_problem(patch(client, token, "abcdefghij", {"response": "x"}), 404)
    assert_problem(client.post("/admin/api/maps/nope/responses/publish",
                               headers=auth(token)), 404)


def test_one_response_for_a_theme(client: Any, token: str, three: dict[str, str]) -> None:
    patch(client, token, three["fi"], {"themes": ["Puisto"]})
    patch(client, token, three["sv"], {"themes": ["puisto", "Trafik"]})
    answered = client.put("/admin/api/maps/kaava/themes/PUISTO/response",
                          json={"response": "Puistot säilyvät."}, headers=auth(token))
    assert answered.get_json() == {"theme": "PUISTO", "comments": 2}
    state = client.get("/admin/api/maps/kaava/responses", headers=auth(token)).get_json()
    assert state["themes"] == {"Puisto": 1, "puisto": 1, "Trafik": 1}
    assert state["responses"]["written"] == 2
    staff = client.get("/admin/api/maps/kaava/comments", headers=auth(token)).get_json()
    drafts = {f["id"]: f["properties"]["draft_response"] for f in staff["features"]}
    assert drafts[three["fi"]] == drafts[three["sv"]] == "Puistot säilyvät."
    assert drafts[three["quiet"]] is None


def test_notify_needs_an_address(post: Poster, plan: str) -> None:
    problem = assert_problem(post(comment(notify=True, email=None), key=new_key()), 422)
    assert problem["field"] == "email"
    problem = assert_problem(post(comment(notify="kyllä"), key=new_key()), 422)
    assert problem["field"] == "notify"


def _answer_all(client: Any, token: str, ids: dict[str, str]) -> None:
    for label, comment_id in ids.items():
        patch(client, token, comment_id, {"status": "published",
                                          "response": f"Vastine {label}"})


def test_publishing_queues_one_message_per_resident_who_asked(app: Any, client: Any,
                                                               token: str,
                                                               three: dict[str, str]) -> None:
    _answer_all(client, token, three)
    assert publish_responses(client, token)["queued"] == 2
    assert publish_responses(client, token)["queued"] == 0  # never a second message
    storage = services_of(app).comments.storage
    messages = {m.comment_id: m for m in storage.messages("kaava")}
    assert set(messages) == {three["fi"], three["sv"]}
    assert messages[three["fi"]].subject.startswith("Vastine mielipiteeseesi")
    assert messages[three["sv"]].subject.startswith("Svar på din synpunkt")
    assert "Vastine sv" in messages[three["sv"]].body
    assert "/maps/kaava" in messages[three["fi"]].body
    state = client.get("/admin/api/maps/kaava/responses", headers=auth(token)).get_json()
    assert {s["email"] for s in state["subscribers"]} == {"maija@example.fi", "asa@example.se"}
    assert state["mail"] == {"configured": False}


def test_purge_removes_addresses_and_keeps_responses(app: Any, client: Any, token: str,
                                                     three: dict[str, str]) -> None:
    _answer_all(client, token, three)
    publish_responses(client, token)
    services_of(app).comments.purge_personal_data("kaava", force=True)
    storage = services_of(app).comments.storage
    assert all(m.recipient is None for m in storage.messages("kaava"))
    assert storage.unsent() == []
    kept = {c.id: c for c in storage.list("kaava")}
    assert kept[three["fi"]].published_response == "Vastine fi"
    assert kept[three["fi"]].email is None and not kept[three["fi"]].notify


# -- a real SMTP server ----------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps what it accepts; ``hold`` makes it stall (never answer)
    the DATA of a message to that recipient."""

    def __init__(self, hold: str | None = None) -> None:
        self.messages: list[Any] = []
        self.hold = hold
        self.holding = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.hold and self.hold in envelope.rcpt_tos:
            self.holding.set()
            await asyncio.sleep(3600)  # cancelled when the server stops
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class SmtpServer(Controller):
    """aiosmtpd on a free loopback port (``port``)."""

    def __init__(self, handler: Inbox) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        super().__init__(handler, hostname="127.0.0.1", port=free)


def smtp_server(handler: Inbox) -> Controller:
    controller = SmtpServer(handler)
    controller.start()
    return controller


def subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_messages_reach_a_real_smtp_server_once(app: Any, client: Any, token: str,
                                                three: dict[str, str]) -> None:
    inbox = Inbox()
    controller = smtp_server(inbox)
    try:
        services = services_of(app)
        settings = replace(services.settings,
                           smtp_url=f"smtp://127.0.0.1:{controller.port}",
                           mail_from="kaavoitus@kunta.example.fi")
        _answer_all(client, token, three)
        publish_responses(client, token)
        first = send_queued(services.comments.storage, settings)
        again = send_queued(services.comments.storage, settings)
    finally:
        controller.stop()
    assert (first.sent, first.failed, again.sent) == (2, 0, 0)
    by_to = {m["To"]: m for m in inbox.messages}
    assert set(by_to) == {"maija@example.fi", "asa@example.se"}
    assert subject(by_to["asa@example.se"]).startswith("Svar på din synpunkt")
    assert by_to["asa@example.se"]["Content-Language"] == "sv"
    assert "Vastine sv" in by_to["asa@example.se"].get_content()
    assert by_to["maija@example.fi"]["From"] == "kaavoitus@kunta.example.fi"
    assert by_to["maija@example.fi"]["Message-ID"] == f"<response-{three['fi']}@kunta.example.fi>"
    assert all(m.sent for m in services.comments.storage.messages("kaava"))


def test_an_unreachable_server_leaves_messages_queued(app: Any, client: Any, token: str,
                                                      three: dict[str, str]) -> None:
    services = services_of(app)
    settings = replace(services.settings, smtp_url="smtp://127.0.0.1:9")
    _answer_all(client, token, three)
    publish_responses(client, token)
    report = send_queued(services.comments.storage, settings)
    assert (report.sent, report.failed) == (0, 2)
    waiting = services.comments.storage.unsent()
    assert len(waiting) == 2 and all(m.attempts == 1 and m.last_error for m in waiting)


def _cli_env(settings: Settings, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env[env_name("data_dir")] = str(settings.data_dir)
    env[env_name("layers_dir")] = str(settings.layers_dir)
    env.pop(env_name("database_url"), None)
    if settings.database_url:
        env[env_name("database_url")] = settings.database_url
    env[env_name("smtp_url")] = f"smtp://127.0.0.1:{port}"
    env[env_name("mail_from")] = "kirjaamo@kunta.example.fi"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def test_a_killed_sender_sends_the_rest_and_nothing_twice(app: Any, client: Any, token: str,
                                                          settings: Settings, post: Poster,
                                                          plan: str) -> None:
    ids = {}
    for n in range(6):
        response = post(comment(text=f"Mielipide {n}", notify=True,
                                email=f"asukas{n}@example.fi"), key=new_key())
        ids[str(n)] = response.get_json()["id"]
    _answer_all(client, token, ids)
    publish_responses(client, token)
    storage = services_of(app).comments.storage
    order = [m.recipient for m in storage.unsent()]
    held = order[3]

    stalled = Inbox(hold=held)
    controller = smtp_server(stalled)
    sender = subprocess.Popen([sys.executable, "-m", "webmap", "comments", "notify"],
                              env=_cli_env(settings, controller.port),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert stalled.holding.wait(60), sender.stderr.read() if sender.stderr else ""
        os.kill(sender.pid, signal.SIGKILL)  # dies while the server holds message 4
        sender.wait(10)
    finally:
        controller.stop()
    assert sorted(m["To"] for m in stalled.messages) == sorted(order[:3])
    assert sum(1 for m in storage.messages("kaava") if m.sent) == 3

    inbox = Inbox()
    controller = smtp_server(inbox)
    try:
        done = subprocess.run([sys.executable, "-m", "webmap", "comments", "notify"],
                              env=_cli_env(settings, controller.port), capture_output=True,
                              text=True, timeout=120, check=False)
    finally:
        controller.stop()
    assert done.returncode == 0, done.stderr
    assert sorted(m["To"] for m in inbox.messages) == sorted(order[3:])
    everyone = [m["To"] for m in (*stalled.messages, *inbox.messages)]
    assert sorted(everyone) == sorted(f"asukas{n}@example.fi" for n in range(6))
    assert storage.unsent() == []


def test_publish_sends_at_once_when_smtp_is_set(make_app: Any, settings: Settings,
                                                plan: str) -> None:
    inbox = Inbox()
    controller = smtp_server(inbox)
    try:
        app = make_app(replace(settings, smtp_url=f"smtp://127.0.0.1:{controller.port}",
                               mail_from="kaavoitus@kunta.example.fi"))
        client = app.test_client()
        token = str(services_of(app).tokens.create("kirjaamo"))
        posted = client.post("/maps/kaava/comments", json=comment(notify=True, geometry=INSIDE),
                             headers={"Idempotency-Key": new_key()}).get_json()
        patch(client, token, posted["id"], {"status": "published", "response": "Kiitos."})
        assert publish_responses(client, token)["mail"] is True
        deadline = time.monotonic() + 30
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == ["asa.oberg@example.fi"]


def test_a_title_with_line_breaks_gives_a_one_line_subject(app: Any, client: Any, token: str,
                                                          three: dict[str, str]) -> None:
    from webmap.comments.mail import compose_message

    definition = services_of(app).maps.get("kaava")
    titled = replace(definition, title={"fi": "Kaava\r\nBcc: kaikki@example.fi\x00 2026"})
    storage = services_of(app).comments.storage
    resident = next(c for c in storage.list("kaava") if c.id == three["fi"])
    subject_line, _ = compose_message(resident, titled, "https://kunta.example.fi/maps/kaava")
    assert subject_line == "Vastine mielipiteeseesi: Kaava Bcc: kaikki@example.fi 2026"


def test_a_message_the_mail_library_refuses_does_not_stop_the_queue(
        app: Any, client: Any, token: str, three: dict[str, str]) -> None:
    """A message queued with a header that cannot be sent (say, before titles were made one
    line) is marked failed; the others are still sent."""
    _answer_all(client, token, three)
    storage = services_of(app).comments.storage
    storage.publish_responses(
        "kaava", lambda c: (("Bad\r\nBcc: x@example.fi" if c.language == "fi" else "Hyvä"),
                            "body\n"))
    inbox = Inbox()
    controller = smtp_server(inbox)
    try:
        settings = replace(services_of(app).settings,
                           smtp_url=f"smtp://127.0.0.1:{controller.port}")
        report = send_queued(storage, settings)
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (1, 1)
    assert [m["To"] for m in inbox.messages] == ["asa@example.se"]
    failed = storage.unsent()
    assert [m.recipient for m in failed] == ["maija@example.fi"]
    assert failed[0].last_error.startswith("message:")
