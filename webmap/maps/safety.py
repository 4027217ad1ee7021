"""Staff-given text and URLs made safe for the page: attributions as text with plain http(s)
links only, and base-map URL templates whose host can be named in a Content-Security-Policy."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

_HOST = re.compile(r"^(\{s\}\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
"""A DNS name (``{s}.`` allowed as the first label, Leaflet's subdomain placeholder)."""
_PLACEHOLDERS = re.compile(r"\{(z|x|y|s|r|-y)\}")
_URL_PATH = re.compile(r"^[A-Za-z0-9._~/%&+,=:@?-]*$")
"""Path and query characters of RFC 3986 without ``;``, quotes, spaces or braces."""
MAX_ATTRIBUTION = 500


class UnsafeUrl(ValueError):
    """A base-map URL template webmap will not put in a page or header."""


def check_tile_url(url: str) -> str:
    """An ``https://host/…{z}…{x}…{y}…`` template; raises ``UnsafeUrl`` naming the fault."""
    if any(c.isspace() or ord(c) < 32 for c in url) or len(url) > 2000:
        raise UnsafeUrl("the URL has spaces or control characters, or is too long")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise UnsafeUrl("give an https:// URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("the URL must not carry a user name or password")
    host = parts.netloc.lower()
    port = ""
    if ":" in host:
        host, _, port = host.rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise UnsafeUrl("the URL's port is not a number from 1 to 65535")
    if not _HOST.match(host):
        raise UnsafeUrl(f"{host!r} is not a host name such as tiles.example.fi")
    rest = url[len(f"{parts.scheme}://{parts.netloc}"):]
    if parts.fragment or not _URL_PATH.match(_PLACEHOLDERS.sub("", rest)):
        raise UnsafeUrl("the URL's path may use only {z}, {x}, {y}, {s} and {r} as "
                        "placeholders, and no spaces, quotes, semicolons or fragments")
    for needed in ("{z}", "{x}", "{y}"):
        if needed not in rest:
            raise UnsafeUrl(f"the URL needs {needed} in its path or query")
    return url


def csp_source(url: str | None) -> str:
    """The ``https://host[:port]`` source of a checked template (``{s}.`` as ``*.``), or
    ``""`` when there is none or it does not pass ``check_tile_url``."""
    if not url:
        return ""
    try:
        check_tile_url(url)
    except UnsafeUrl:
        return ""
    netloc = urlsplit(url).netloc.lower().replace("{s}.", "*.")
    return f"https://{netloc}"


class _Attribution(HTMLParser):
    """Text with entities resolved; ``<a href="http(s)://…">`` kept as a plain link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open_links = 0
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "title", "textarea"}:
            self.skipping += 1
        elif tag == "a" and not self.open_links:
            href = dict(attrs).get("href") or ""
            if urlsplit(href.strip()).scheme in {"http", "https"} and not any(
                    c.isspace() or ord(c) < 32 for c in href.strip()):
                self.out.append(f'<a href="{html.escape(href.strip(), quote=True)}" '
                                'rel="noopener noreferrer" target="_blank">')
                self.open_links += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "title", "textarea"}:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "a" and self.open_links:
            self.out.append("</a>")
            self.open_links -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))


def safe_attribution(value: str) -> str:
    """An attribution as HTML Leaflet may insert: its text escaped, links only to http(s)
    (opened with ``rel=noopener``), every other tag dropped."""
    parser = _Attribution()
    parser.feed(value[:MAX_ATTRIBUTION])
    parser.close()
    out = "".join(parser.out)
    return out + "</a>" * parser.open_links
