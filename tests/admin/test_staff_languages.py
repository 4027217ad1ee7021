"""The staff pages in Finnish, Swedish and English: one catalogue with the same keys in each,
no literal text left in the templates, the language chosen by ``?lang=``, the session or
Accept-Language, and every page rendered in fi and sv without English left over."""

from __future__ import annotations

import re
import string
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.admin.test_pages import _compose_form, csrf_of, errors_of, sign_in, upload
from tests.builders import make_vector
from webmap.i18n import LANGUAGES, staff_catalogue, staff_t
from webmap.services import services_of

TEMPLATES = Path(__file__).resolve().parents[2] / "webmap" / "admin" / "templates"
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
STATEMENT = re.compile(r"\{%.*?%\}", re.S)
MARKUP = re.compile(r'[\w-]+="[^"]*"')
"""Attributes a macro writes as text (``aria-invalid="true"``)."""
COMMENT = re.compile(r"\{#.*?#\}", re.S)
LITERAL = re.compile(r"""'([^'\\]*)'|"([^"\\]*)\"""")
WORDS = re.compile(r"[^\W\d_]{2,}")
PROSE = re.compile(r"[^\W\d_]+ [^\W\d_]+|^[A-ZÅÄÖ][a-zåäö]+")
"""A literal inside a Jinja tag that reads as words (keys, endpoints and classes do not)."""
TEXT_ATTRIBUTES = {"aria-label", "title", "alt", "placeholder", "label"}
TECHNICAL = {"GDAL", "px"}
"""Names that stay as they are in every language."""


def _fields(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)


# ---------- the catalogue ----------

def test_every_staff_key_is_in_every_language_with_the_same_placeholders() -> None:
    english = staff_catalogue("en")
    for lang in LANGUAGES:
        strings = staff_catalogue(lang)
        assert set(strings) == set(english), lang
        for key, text in strings.items():
            assert text.strip(), f"{lang}: {key} is empty"
            assert _fields(text) == _fields(english[key]), f"{lang}: {key}"


def test_fi_and_sv_are_translations_not_copies() -> None:
    english = staff_catalogue("en")
    for lang in ("fi", "sv"):
        same = {k for k, v in staff_catalogue(lang).items() if v == english[k]}
        # only names and formats may read the same: GeoJSON, "Status", "Id", …
        assert len(same) <= 12, (lang, sorted(same))


def test_english_is_the_fallback_for_a_missing_key() -> None:
    assert staff_t("nav.maps", "fi") == "Kartat"
    assert staff_t("nav.maps", "de") == "Maps"
    with pytest.raises(KeyError):
        staff_t("no.such.key", "fi")


# ---------- the templates ----------

class _TemplateText(HTMLParser):
    """Text and text attributes outside Jinja tags, where a translation call belongs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.skipped = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "script", "style"):
            self.skipped += 1
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value:
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "script", "style"):
            self.skipped -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipped:
            self._check(data)

    def _check(self, text: str) -> None:
        plain = MARKUP.sub(" ", text.replace("\x00", " "))
        words = [w for w in WORDS.findall(plain) if w not in TECHNICAL]
        if words:
            self.found.append(text.replace("\x00", "…").strip())


def template_markup(source: str) -> str:
    """A template as HTML: statements dropped (so tags stay whole), expressions marked."""
    return EXPRESSION.sub("\x00", STATEMENT.sub("", source))


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_have_no_untranslated_text(template: str) -> None:
    source = COMMENT.sub("", (TEMPLATES / template).read_text(encoding="utf-8"))
    literals = [next(g for g in m.groups() if g is not None)
                for tag in JINJA.findall(source) for m in LITERAL.finditer(tag)]
    prose = [text for text in literals if PROSE.search(text)]
    assert prose == [], f"{template}: wrap these in t('key') and add them to staff_*.json"
    parser = _TemplateText()
    parser.feed(template_markup(source))
    assert parser.found == [], f"{template}: wrap this text in t('key')"


def test_the_template_check_finds_untranslated_text() -> None:
    for html in ('<p>{{ t("a.b") }} Save the map</p>', '<nav aria-label="Pages"></nav>'):
        parser = _TemplateText()
        parser.feed(template_markup(html))
        assert parser.found, html
    assert PROSE.search("Choose a style") and PROSE.search("Layers")
    assert not any(PROSE.search(s) for s in ("nav.layers", "admin_pages.layers", " secondary"))


# ---------- choosing the language ----------

def test_language_comes_from_accept_language_then_lang_then_the_session(
        client: Any, token: str) -> None:
    assert '<html lang="en">' in client.get("/admin/").text
    swedish = client.get("/admin/", headers={"Accept-Language": "sv-FI,sv;q=0.9,en;q=0.5"})
    assert '<html lang="sv">' in swedish.text and "Logga in" in swedish.text
    finnish = client.get("/admin/?lang=fi", headers={"Accept-Language": "sv"})
    assert '<html lang="fi">' in finnish.text and "Kirjaudu" in finnish.text
    # kept in the session, across signing in, over the browser's own choice
    assert '<html lang="fi">' in client.get("/admin/", headers={"Accept-Language": "sv"}).text
    sign_in(client, token)
    layers = client.get("/admin/layers")
    assert '<html lang="fi">' in layers.text and "<h1>Tasot</h1>" in layers.text
    assert '<html lang="en">' in client.get("/admin/layers?lang=en").text
    assert '<html lang="en">' in client.get("/admin/layers?lang=xx").text  # unknown: kept


@pytest.mark.parametrize(("header", "lang"), [
    ("sv-SE,en;q=0.5", "sv"), ("fi-FI", "fi"), ("de-DE,fi;q=0.3,sv;q=0.2", "fi"),
    ("en-GB,fi;q=0.8", "en"), ("de,fr", "en"), ("", "en"), ("fi;q=0,sv;q=0.1", "sv")])
def test_the_browsers_first_language_the_pages_speak(client: Any, header: str,
                                                      lang: str) -> None:
    page = client.get("/admin/", headers={"Accept-Language": header})
    assert f'<html lang="{lang}">' in page.text


def test_the_switcher_links_this_page_in_each_language(client: Any, csrf: str) -> None:
    html = client.get("/admin/maps?lang=sv").text
    switcher = re.search(r'<nav class="languages" aria-label="Språk">(.*?)</nav>', html, re.S)
    assert switcher, "no language switcher"
    links = re.findall(r'<a href="([^"]+)" lang="(\w+)" hreflang="\w+"([^>]*)>([^<]+)</a>',
                       switcher.group(1))
    assert [(href, lang, name) for href, lang, _, name in links] == [
        ("/admin/maps?lang=fi", "fi", "suomi"), ("/admin/maps?lang=sv", "sv", "svenska"),
        ("/admin/maps?lang=en", "en", "English")]
    assert [lang for _, lang, current, _ in links if "aria-current" in current] == ["sv"]
    kept = client.get("/admin/maps/x/comments?status=all&lang=fi").text
    assert "/admin/maps/x/comments?status=all&amp;lang=sv" in kept


# ---------- every page in fi and sv ----------

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


class _VisibleText(HTMLParser):
    """What a reader gets from a page: text outside scripts and code (commands, ids), and the
    text attributes; text marked as another language (``<span lang="en">response
    report</span>`` on a Finnish page) is that language's, not a leftover."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.page_lang: str | None = None
        self.foreign: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        lang = dict(attrs).get("lang")
        if tag == "html":
            self.page_lang = lang
        elif lang and lang != self.page_lang and tag not in VOID:
            self.foreign.append(tag)
            self.hidden += 1
        if tag in ("script", "style", "code"):
            self.hidden += 1
        if not self.foreign:
            self.parts += [value for name, value in attrs if name in TEXT_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self.hidden -= 1
        if self.foreign and tag == self.foreign[-1]:
            self.foreign.pop()
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """A page's visible text, whitespace folded."""
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def english_leftovers(text: str, lang: str) -> list[str]:
    """English catalogue text (pieces between placeholders) found in a page in ``lang``."""
    english, own = staff_catalogue("en"), staff_catalogue(lang)
    own_text = " ".join(own.values())
    found = []
    for key, value in english.items():
        if own[key] == value:
            continue
        for piece in re.split(r"\{\w+\}", value):
            piece = " ".join(piece.split()).strip(" .,:;()")
            if len(WORDS.findall(piece)) == 0 or sum(c.isalpha() for c in piece) < 3:
                continue
            pattern = re.compile(rf"(?<!\w){re.escape(piece)}(?!\w)")
            if pattern.search(text) and not pattern.search(own_text):
                found.append(f"{key}: {piece}")
    return found


@pytest.fixture
def staff_pages(app: Any, client: Any, csrf: str, add_layer: Any, tmp_path: Path
                ) -> dict[str, Any]:
    """A signed-in client over a map with a consultation, comments and responses, and a layer
    just uploaded: what it takes for every staff page to show its every part."""
    add_layer("plan")
    kinds = ["point", "line", "area", "feature"]
    assert client.post("/admin/maps/new", data=_compose_form(csrf, kinds=kinds)
                       ).status_code == 303
    service = services_of(app).comments
    ids = []
    for place in ({"type": "Point", "coordinates": [24.95, 60.17]},
                  {"type": "LineString", "coordinates": [[24.93, 60.17], [24.95, 60.18]]}):
        ids.append(service.submit("uusi-kaava", {
            "text": "Puisto tähän.", "name": "Åsa", "email": "asa@example.fi",
            "language": "fi", "geometry": place}).id)
    service.respond(ids[0], {"response": "Kiitos.", "themes": ["puistot"],
                             "changed_plan": True})
    plan = make_vector(tmp_path / "kaava.geojson", fmt="geojson", n=5, invalid=1)
    assert client.post("/admin/layers/new", data=upload(
        plan, csrf_token=csrf, id="kaava")).status_code == 303
    return {"csrf": csrf, "comment": ids[1]}


GET_PAGES = [
    "/admin/layers", "/admin/layers/new", "/admin/plans/new", "/admin/layers/kaava/report",
    "/admin/layers/plan",
    "/admin/layers/plan/style", "/admin/layers/plan/style?style=districts&base=finland",
    "/admin/layers/plan/style?style=districts&base=none", "/admin/layers/plan/remove",
    "/admin/maps", "/admin/maps/new", "/admin/maps/uusi-kaava/edit",
    "/admin/maps/uusi-kaava/take-down", "/admin/maps/paimio-asemakaava/edit",
    "/admin/maps/uusi-kaava/comments?status=all", "/admin/maps/uusi-kaava/comments",
    "/admin/maps/uusi-kaava/comments?status=hidden", "/admin/maps/uusi-kaava/responses",
    "/admin/maps/no-such-map/edit", "/admin/layers/no-such-layer",
]


@pytest.mark.parametrize("lang", ["fi", "sv"])
def test_every_staff_page_is_in_the_language_chosen(client: Any, staff_pages: dict[str, Any],
                                                    lang: str) -> None:
    csrf = staff_pages["csrf"]
    assert client.get(f"/admin/layers?lang={lang}").status_code == 200
    pages = {path: client.get(path) for path in GET_PAGES}
    posted = {
        "upload errors": client.post("/admin/layers/new", data={"csrf_token": csrf,
                                                                "id": "Bad Id"}),
        "upload exists": client.post("/admin/layers/new", data=upload(
            Path(__file__), csrf_token=csrf, id="kaava")),
        "compose errors": client.post("/admin/maps/new", data=_compose_form(
            csrf, id="", title_fi="", title_sv="", title_en="", languages=[], kinds=[],
            label=["no_such_field", "", ""], west="x", max_points="2", min_zoom="99",
            opens="soon", base="")),
        "expired form": client.post("/admin/maps/new", data={"csrf_token": "stale"}),
    }
    flashes = {
        "moderated": client.post(f"/admin/maps/uusi-kaava/comments/{staff_pages['comment']}",
                                 data={"csrf_token": csrf, "status": "hidden"},
                                 follow_redirects=True),
        "answered": client.post(f"/admin/maps/uusi-kaava/responses/{staff_pages['comment']}",
                                data={"csrf_token": csrf, "response": "Kiitos.",
                                      "themes": "liikenne"}, follow_redirects=True),
        "published": client.post("/admin/maps/uusi-kaava/responses/publish",
                                 data={"csrf_token": csrf}, follow_redirects=True),
    }
    assert errors_of(posted["compose errors"]), "the compose form showed no errors"
    assert len(errors_of(posted["upload errors"])) == 2
    problems = {}
    for name, response in {**pages, **posted, **flashes}.items():
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html, name
        leftovers = english_leftovers(visible_text(html), lang)
        if leftovers:
            problems[name] = leftovers
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_the_leftover_check_finds_english(client: Any, csrf: str) -> None:
    page = client.get("/admin/layers?lang=fi").text
    assert english_leftovers(visible_text(page), "fi") == []
    english = page.replace("<h1>Tasot</h1>", "<h1>Layers</h1>")
    assert english_leftovers(visible_text(english), "fi") == ["nav.layers: Layers"]


def test_sentences_made_in_the_admin_layer_speak_the_language(client: Any, token: str,
                                                              plan_file: Path) -> None:
    form = client.get("/admin/?lang=sv")
    wrong = client.post("/admin/", data={"token": "nope", "csrf_token": csrf_of(form)})
    assert errors_of(wrong) == {"f-token": "Token är ogiltig eller har återkallats. "
                                           "Kontrollera den och försök igen."}
    csrf = sign_in(client, token)
    assert client.post("/admin/layers/new", data=upload(
        plan_file, csrf_token=csrf, id="kaava")).status_code == 303
    report = client.get("/admin/layers/kaava/report").text
    assert "30 ytor importerades." in report and "2 ytor skar sig själva" in report
    assert "° Ö" in report and "Lagret täcker" in report
    signed_out = client.post("/admin/sign-out", data={"csrf_token": csrf},
                             follow_redirects=True)
    assert "Du har loggat ut." in signed_out.text and '<html lang="sv">' in signed_out.text


@pytest.fixture
def token(app: Any) -> str:
    """An active staff token."""
    return str(services_of(app).tokens.create("anna"))


@pytest.fixture
def csrf(client: Any, token: str) -> str:
    """A signed-in client's CSRF token."""
    return sign_in(client, token)


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    """A GeoJSON of 30 polygons in EPSG:3067, two of them self-intersecting."""
    return make_vector(tmp_path / "kaava.geojson", fmt="geojson", n=30, invalid=2)


def test_a_title_in_another_language_carries_its_lang(app: Any) -> None:
    from webmap.admin.language import choose_language, localised, tr

    with app.test_request_context("/admin/maps?lang=sv"):
        choose_language()
        assert localised({"sv": "Ny plan", "en": "New plan"}) == "Ny plan"
        assert localised({"fi": "Uusi <b>", "en": "New <b>"}) == \
            '<span lang="en">New &lt;b&gt;</span>'
        assert localised({"fi": "Uusi"}) == '<span lang="fi">Uusi</span>'
        assert localised({}, "kaava-<1>") == "kaava-&lt;1&gt;"
        title = localised({"en": "A & B"})
        assert tr("moderation.title", title=title) == \
            'Synpunkter på <span lang="en">A &amp; B</span>'
        assert tr("moderation.title", title="<i>") == "Synpunkter på <i>"  # escaped by Jinja


def test_problem_pages_speak_the_language(client: Any, csrf: str, add_layer: Any) -> None:
    add_layer("plan")
    missing = client.get("/admin/layers/nope?lang=fi")
    assert missing.status_code == 404
    assert "<h1>Ei löytynyt</h1>" in missing.text and "Tasoa &#39;nope&#39; ei ole." in missing.text
    assert "Takaisin tasoihin" in missing.text
    style = client.get("/admin/layers/plan/style?style=../x&lang=sv")
    assert style.status_code == 400 and "<h1>Ogiltig parameter</h1>" in style.text
    assert "Det finns ingen användbar stil &#39;../x&#39;." in style.text
    expired = client.post("/admin/maps/new", data={"csrf_token": "stale"})
    assert expired.status_code == 400 and "<h1>Formuläret har gått ut</h1>" in expired.text


def test_common_upload_errors_are_said_whole_in_the_language(client: Any, csrf: str,
                                                             tmp_path: Path) -> None:
    import pyogrio

    lone = make_vector(tmp_path / "talot.shp", fmt="shp", n=3)
    shp = errors_of(client.post("/admin/layers/new?lang=fi", data=upload(
        lone, csrf_token=csrf, id="talot")))["f-file"]
    assert shp.startswith("talot.shp on vain yksi Shapefile-aineiston osa: sen .shx ja .dbf")
    table = tmp_path / "pisteet.csv"
    table.write_text("nimi;paikka_a;paikka_b\nTori;385000;6672000\n", "utf-8")
    csv = " ".join(errors_of(client.post("/admin/layers/new?lang=sv", data=upload(
        table, csrf_token=csrf, id="pisteet"))).values())
    assert csv.startswith("Hittade inga koordinatkolumner bland nimi, paikka_a, paikka_b")
    assert "”X-kolumn”" in csv and "--x" not in csv
    two = tmp_path / "kaava.gpkg"
    make_vector(tmp_path / "a.gpkg", fmt="gpkg", n=8)
    for name, n in (("alueet", 4), ("rajat", 6)):
        frame = pyogrio.read_dataframe(tmp_path / "a.gpkg").head(n)
        pyogrio.write_dataframe(frame, two, layer=name, driver="GPKG")
    layers = errors_of(client.post("/admin/layers/new?lang=fi", data=upload(
        two, csrf_token=csrf, id="kaava")))["f-layer"]
    assert layers == ("Tiedostossa kaava.gpkg on 2 tasoa: alueet, rajat; valitse yksi "
                      "kohdassa ”Taso tiedostossa”.")


def test_import_errors_in_english_keep_the_imports_words() -> None:
    from webmap.admin.wording import import_error

    assert import_error("t.shp is only one part of a Shapefile: its .shx and .dbf files are "
                        "missing. Put the .shp, .shx, .dbf and .prj (and .cpg) files in one "
                        "ZIP archive and upload that") == (
        "t.shp is only one part of a Shapefile: its .shx and .dbf files are missing. Put the "
        ".shp, .shx, .dbf and .prj (and .cpg) files in one ZIP archive and upload that.")
    assert import_error("x.gpkg has no coordinate reference system; add --crs EPSG:n (the "
                        "'crs' field when uploading); the coordinates look like EPSG:3067",
                        "sv") == (
        "x.gpkg har inget koordinatsystem; ange det under ”Koordinatsystem”, till exempel "
        "EPSG:3006. Koordinaterna ser ut att vara EPSG:3067.")
    assert import_error("something else went wrong", "fi") == "Something else went wrong."


def test_every_key_the_staff_pages_ask_for_exists() -> None:
    admin = TEMPLATES.parent
    asked = set()
    for path in [*TEMPLATES.glob("*.html"), *admin.glob("*.py")]:
        source = path.read_text(encoding="utf-8")
        asked |= set(re.findall(r"""\b(?:t|tr)\(\s*['"]([\w.-]+)['"]\s*[,)]""", source))
        asked |= set(re.findall(r"""staff_t\(\s*['"]([\w.-]+)['"]""", source))
    assert len(asked) > 300
    assert sorted(asked - set(staff_catalogue("en"))) == []
