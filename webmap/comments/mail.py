"""Telling residents that the responses are published: one message each, in their language.

Messages are queued in the database by the same transaction that publishes the responses
(``CommentRepository.publish_responses``), so publishing and the promise to tell are never
apart. ``send_queued`` sends what is queued through the SMTP server of ``WEBMAP_SMTP_URL``
and marks each message sent as soon as the server has accepted it; a failure leaves it queued
for the next round. One sender runs at a time (a lock across processes and hosts). Each
message has a Message-ID made from the comment id, so in the one window where a sender dies
between the server's acceptance and the sent mark, a second copy carries the same id.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..maps import MapDefinition, text
from .service import Comment, CommentStorage, Message

if TYPE_CHECKING:
    from ..settings import Settings

log = logging.getLogger("webmap.comments.mail")

SMTP_TIMEOUT_S = 20
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
WORDING = {
    "fi": {
        "subject": "Vastine mielipiteeseesi: {title}",
        "greeting": "Hei,",
        "intro": "kunta on julkaissut vastineet kuulemisen {title} mielipiteisiin. "
                 "Kirjoitit {date}:",
        "response": "Vastine:",
        "changed": "Mielipide johti muutokseen suunnitelmassa.",
        "unchanged": "Mielipide ei johtanut muutokseen suunnitelmassa.",
        "link": "Kaikki julkaistut mielipiteet ja vastineet:",
        "why": "Saat tämän viestin, koska pyysit ilmoitusta vastineen julkaisusta.",
    },
    "sv": {
        "subject": "Svar på din synpunkt: {title}",
        "greeting": "Hej,",
        "intro": "kommunen har publicerat sina svar på synpunkterna i samrådet {title}. "
                 "Du skrev {date}:",
        "response": "Kommunens svar:",
        "changed": "Synpunkten ledde till en ändring i planen.",
        "unchanged": "Synpunkten ledde inte till en ändring i planen.",
        "link": "Alla publicerade synpunkter och svar:",
        "why": "Du får det här meddelandet eftersom du bad om att få veta när svaren "
               "publiceras.",
    },
    "en": {
        "subject": "Response to your comment: {title}",
        "greeting": "Hello,",
        "intro": "the municipality has published its responses to the comments of the "
                 "consultation {title}. On {date} you wrote:",
        "response": "Response:",
        "changed": "Your comment led to a change in the plan.",
        "unchanged": "Your comment did not lead to a change in the plan.",
        "link": "Every published comment and response:",
        "why": "You receive this message because you asked to be told when the responses "
               "are published.",
    },
}


def wording(language: str) -> dict[str, str]:
    """The message texts in ``language`` (English where there are none)."""
    return WORDING.get(language.split("-")[0], WORDING["en"])


def one_line(value: str) -> str:
    """``value`` with line breaks and other control characters as single spaces: a header
    such as Subject must stay one line whatever staff typed as the map's title."""
    return " ".join(_CONTROL.sub(" ", value).split())


def compose_message(comment: Comment, definition: MapDefinition, link: str) -> tuple[str, str]:
    """(subject, plain-text body) telling the resident of ``comment`` its response."""
    words = wording(comment.language)
    title = text(definition.title, comment.language) or definition.id
    quoted = "\n".join(f"> {line}" for line in comment.text.splitlines())
    body = "\n\n".join([
        words["greeting"],
        words["intro"].format(title=title, date=comment.created[:10]),
        quoted,
        words["response"] + "\n" + (comment.published_response or ""),
        words["changed"] if comment.changed_plan else words["unchanged"],
        words["link"] + "\n" + link,
        "-- \n" + words["why"],
    ])
    return one_line(words["subject"].format(title=title)), body + "\n"


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send, from ``WEBMAP_SMTP_URL``."""

    host: str
    port: int
    tls: bool
    """``smtps://``: TLS from the start; ``smtp://`` upgrades with STARTTLS when offered."""
    user: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """The server a ``smtp://`` or ``smtps://`` URL names."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("an SMTP URL is smtp://[user:password@]host[:port] or smtps://…")
        tls = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (465 if tls else 25), tls=tls,
                   user=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None)

    def connect(self) -> smtplib.SMTP:
        """A signed-in client (TLS where the URL or the server offers it)."""
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_S,
                                      context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S)
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
        if self.user:
            client.login(self.user, self.password or "")
        return client


def email_of(message: Message, sender: str) -> EmailMessage:
    """The queued message as an e-mail, with a Message-ID that names the comment."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.recipient or ""
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    domain = sender.rpartition("@")[2].strip("> ") or "webmap.invalid"
    mail["Message-ID"] = f"<response-{message.comment_id}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.body)
    mail["Content-Language"] = message.language  # after set_content, which clears Content-*
    return mail


@dataclass(frozen=True)
class SendReport:
    """What one round of sending did."""

    sent: int
    failed: int
    busy: bool = False
    """Another sender held the lock: nothing was tried."""


def send_queued(storage: CommentStorage, settings: Settings, *, batch: int = 100) -> SendReport:
    """Send every queued message once; failures stay queued. Needs ``WEBMAP_SMTP_URL``."""
    if not settings.smtp_url:
        raise ValueError("WEBMAP_SMTP_URL is not set: nothing can be sent")
    server = SmtpServer.from_url(settings.smtp_url)
    sender = settings.mail_from or "webmap@localhost"
    sent = failed = 0
    with storage.sending_lock() as taken:
        if not taken:
            return SendReport(0, 0, busy=True)
        tried: set[str] = set()
        while True:
            waiting = [m for m in storage.unsent(limit=batch) if m.comment_id not in tried]
            if not waiting:
                break
            try:
                client = server.connect()
            except (OSError, smtplib.SMTPException) as exc:
                for message in waiting:
                    storage.mark_failed(message.comment_id, f"connect: {exc}")
                log.warning("SMTP server %s:%s unreachable: %s", server.host, server.port, exc)
                return SendReport(sent, failed + len(waiting))
            try:
                for message in waiting:
                    tried.add(message.comment_id)
                    try:
                        mail = email_of(message, sender)
                    except ValueError as exc:  # a header the e-mail library refuses
                        storage.mark_failed(message.comment_id, f"message: {exc}")
                        failed += 1
                        continue
                    try:
                        client.send_message(mail)
                    except (smtplib.SMTPException, OSError) as exc:
                        storage.mark_failed(message.comment_id, str(exc))
                        failed += 1
                        if isinstance(exc, OSError | smtplib.SMTPServerDisconnected):
                            break
                        continue
                    storage.mark_sent(message.comment_id)
                    sent += 1
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
    log.info("mail: %d sent, %d failed", sent, failed)
    return SendReport(sent, failed)


def start_sender(storage: CommentStorage, settings: Settings) -> threading.Thread:
    """Send the queue in a background thread of this process (the publish request does not
    wait for the SMTP server); what it cannot send stays queued for `webmap comments notify`."""

    def run() -> None:
        try:
            send_queued(storage, settings)
        except Exception:  # a thread must not die silently
            log.exception("sending the queued messages failed; they stay queued")

    thread = threading.Thread(target=run, name="webmap-mail", daemon=True)
    thread.start()
    return thread
