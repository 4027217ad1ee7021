"""The response report: DOCX opened with python-docx, ODT with odfpy, PDF with pypdf and
pdftotext; published comments and their responses once each, in order, with their maps, and
nothing hidden or personal. Through the staff API, the staff page and the CLI, both backends."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import docx
import pypdf
import pytest
from click.testing import CliRunner
from odf import teletype
from odf.opendocument import load as load_odt
from PIL import Image

from tests.admin.test_pages import sign_in
from tests.comments.conftest import AREA, INSIDE, LINE, Poster, auth, comment, new_key
from tests.conftest import assert_problem
from webmap.cli import main
from webmap.settings import env_name

# (label, body, status, response, themes, changed_plan)
SCRIPT: list[tuple[str, dict[str, Any], str, str | None, list[str], bool]] = [
    ("a", comment(text="Mielipide-A: puisto on säilytettävä.", name="Maija Meikäläinen",
                  email="maija.meikalainen@example.fi"), "published",
     "Vastine-A: puisto säilyy.", ["Viheralueet"], True),
    ("hidden", comment(text="Piilotettu-H: asiaton viesti.", name="Kalle Salainen",
                       email="kalle@example.fi"), "hidden", "Vastine-H: ei julkaista.", [],
     False),
    ("b", comment(text="Synpunkt-B: bevara stranden.", language="sv", geometry=AREA,
                  name="Åsa Öberg", email="asa.oberg@example.se"), "published",
     "Vastine-B: ranta säilyy.", ["Ranta"], False),
    ("pending", comment(text="Odottava-P: ei vielä käsitelty."), "pending", None, [], False),
    ("c", comment(text="Mielipide-C: pyörätie tähän.", geometry=LINE, name=None,
                  email=None), "published", None, ["Liikenne"], False),
    ("d", comment(text="Mielipide-D: kerrosluku liian suuri.", geometry=None,
                  feature={"collection": "kaava-alueet", "id": 3}), "published",
     "Vastine-D: kerroslukua lasketaan.", [], True),
]
PUBLISHED = [s for s in SCRIPT if s[2] == "published"]
PERSONAL = ("Maija Meikäläinen", "maija.meikalainen", "Kalle Salainen", "kalle@example",
            "Åsa Öberg", "asa.oberg", "@example")
THEME_RESPONSE = "Vastine-T: liikennesuunnitelma tarkistetaan."


@pytest.fixture
def consultation(client: Any, token: str, post: Poster, plan: str) -> dict[str, str]:
    """Comments on map ``kaava``: four published (point, area, line, plan feature), one hidden,
    one pending, with responses (one given through its theme)."""
    ids = {}
    for label, body, status, response, themes, changed in SCRIPT:
        posted = post(body, key=new_key())
        assert posted.status_code == 201, posted.get_json()
        ids[label] = posted.get_json()["id"]
        change: dict[str, Any] = {"status": status, "themes": themes, "changed_plan": changed}
        if response:
            change["response"] = response
        patched = client.patch(f"/admin/api/comments/{ids[label]}", json=change,
                               headers=auth(token))
        assert patched.status_code == 200, patched.get_json()
    themed = client.put("/admin/api/maps/kaava/themes/Liikenne/response",
                        json={"response": THEME_RESPONSE}, headers=auth(token))
    assert themed.get_json()["comments"] == 1
    return ids


def expected(lang: str) -> list[str]:
    """The texts a report must show, in order: each comment, then its response."""
    missing = {"fi": "Vastinetta ei ole vielä kirjoitettu.",
               "sv": "Kommunen har ännu inte kommenterat synpunkten."}[lang]
    found = []
    for label, body, _status, response, _themes, _changed in PUBLISHED:
        found.append(body["text"])
        found.append(THEME_RESPONSE if label == "c" else response or missing)
    return found


def download(client: Any, token: str, fmt: str, lang: str) -> bytes:
    response = client.get(f"/admin/api/maps/kaava/report?format={fmt}&lang={lang}",
                          headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    stem = {"fi": "vastineraportti", "sv": "samradsredogorelse"}[lang]
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="{stem}-kaava.{fmt}"'
    return bytes(response.data)


def assert_in_order(found: str, wanted: list[str]) -> None:
    """Every text once, each after the one before."""
    flat = " ".join(found.split())
    at = 0
    for piece in wanted:
        assert flat.count(piece) == 1, (piece, flat.count(piece))
        where = flat.index(piece)
        assert where >= at, f"{piece!r} is out of order"
        at = where
    for hidden in ("Piilotettu-H", "Vastine-H", "Odottava-P"):
        assert hidden not in flat
    for personal in PERSONAL:
        assert personal not in flat


def docx_text(data: bytes) -> tuple[str, Any]:
    document = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in document.paragraphs), document


def odt_text(data: bytes) -> str:
    document = load_odt(io.BytesIO(data))
    return "\n".join(teletype.extractText(node) for node in document.text.childNodes)


def archive_text(data: bytes) -> str:
    """Every XML part of a DOCX or ODT (metadata too), for personal data to be absent from."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "".join(archive.read(name).decode("utf-8") for name in archive.namelist()
                       if name.endswith(".xml"))


def png_sizes(blobs: list[bytes]) -> list[tuple[int, int]]:
    return [Image.open(io.BytesIO(blob)).size for blob in blobs]


def test_docx_has_every_published_comment_and_response_once_in_order(
        client: Any, token: str, consultation: dict[str, str]) -> None:
    data = download(client, token, "docx", "fi")
    body, document = docx_text(data)
    assert_in_order(body, expected("fi"))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith(("Heading",
                                                                                "Title"))]
    assert headings[0] == "Vastineraportti: Kaava"
    assert [h for h in headings if h.startswith("Mielipide ")] == \
        [f"Mielipide {n}" for n in range(1, len(PUBLISHED) + 1)]
    assert "Kuulemisaika: 1.1.2020 – 31.12.2099" in body
    # the overview and one map per comment with a place (all four have one)
    shapes = document.inline_shapes
    assert len(shapes) == 1 + len(PUBLISHED)
    alts = [shape._inline.docPr.get("descr") for shape in shapes]
    assert alts[0].startswith("Yleiskartta: Kaava.") and "4 julkaistun" in alts[0]
    assert alts[1].startswith("Kartta mielipiteen 1 paikasta")
    blobs = [document.part.related_parts[s._inline.graphic.graphicData.pic.blipFill.blip.embed]
             .blob for s in shapes]
    assert png_sizes(blobs)[0] == (1400, 1000)
    assert document.core_properties.language == "fi-FI"
    xml = archive_text(data)
    assert 'w:val="fi-FI"' in xml
    for personal in PERSONAL:
        assert personal not in xml
    assert "Piilotettu-H" not in xml


def test_docx_counts(client: Any, token: str, consultation: dict[str, str]) -> None:
    _, document = docx_text(download(client, token, "docx", "fi"))
    tables = [[[cell.text for cell in row.cells] for row in table.rows]
              for table in document.tables]
    assert tables[0] == [["Mielipiteet", "Määrä"], ["Saapuneet mielipiteet", "6"],
                         ["Julkaistut", "4"], ["Piilotetut", "1"], ["Käsittelemättä", "1"]]
    assert tables[1][1:] == [["Liikenne", "1"], ["Ranta", "1"], ["Viheralueet", "1"],
                             ["Ei teemaa", "1"]]
    assert tables[2][1:] == [["Piste", "1"], ["Viiva", "1"], ["Alue", "1"],
                             ["Kaavan kohde", "1"]]


def test_odt_has_every_published_comment_and_response_once_in_order(
        client: Any, token: str, consultation: dict[str, str]) -> None:
    data = download(client, token, "odt", "sv")
    assert_in_order(odt_text(data), expected("sv"))
    document = load_odt(io.BytesIO(data))
    from odf import draw, svg
    from odf import text as odf_text

    headings = [teletype.extractText(h) for h in document.getElementsByType(odf_text.H)]
    assert [h for h in headings if h.startswith("Synpunkt ")] == \
        [f"Synpunkt {n}" for n in range(1, len(PUBLISHED) + 1)]
    assert "Sammanfattning" in headings and "Översiktskarta" in headings
    frames = document.getElementsByType(draw.Frame)
    assert len(frames) == 1 + len(PUBLISHED)
    titles = [teletype.extractText(t) for t in document.getElementsByType(svg.Title)]
    assert titles[0].startswith("Översiktskarta: Plan.")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        pictures = sorted(n for n in archive.namelist() if n.startswith("Pictures/"))
        assert len(pictures) == 1 + len(PUBLISHED)
        assert png_sizes([archive.read(pictures[0])])[0] == (1400, 1000)
    xml = archive_text(data)
    assert 'fo:language="sv"' in xml and "<dc:language>sv-SE</dc:language>" in xml
    for personal in PERSONAL:
        assert personal not in xml


def struct_alts(node: Any, found: list[str]) -> list[str]:
    """Every /Alt in a PDF structure tree."""
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, pypdf.generic.ArrayObject):
        for child in node:
            struct_alts(child, found)
    elif isinstance(node, pypdf.generic.DictionaryObject):
        if "/Alt" in node:
            found.append(str(node["/Alt"]))
        if "/K" in node:
            struct_alts(node["/K"], found)
    return found


def test_pdf_is_tagged_with_its_language_and_has_everything_once_in_order(
        client: Any, token: str, consultation: dict[str, str]) -> None:
    data = download(client, token, "pdf", "fi")
    reader = pypdf.PdfReader(io.BytesIO(data))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "fi"
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert reader.metadata.title == "Vastineraportti: Kaava"
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert_in_order(text, expected("fi"))
    alts = struct_alts(root["/StructTreeRoot"], [])
    assert any(a.startswith("Yleiskartta: Kaava.") for a in alts)
    assert sum(a.startswith("Kartta mielipiteen") for a in alts) == len(PUBLISHED)
    # WeasyPrint may share one resource dictionary between pages: count distinct images
    images = {image.data for page in reader.pages for image in page.images}
    assert len(images) == 1 + len(PUBLISHED)
    if shutil.which("pdftotext"):
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data,
                             capture_output=True, check=True).stdout.decode()
        assert_in_order(out, expected("fi"))


def test_finnish_and_swedish_reports_differ(client: Any, token: str,
                                            consultation: dict[str, str]) -> None:
    fi = " ".join(pypdf.PdfReader(io.BytesIO(download(client, token, "pdf", "fi")))
                  .pages[0].extract_text().split())
    sv_data = download(client, token, "pdf", "sv")
    sv_reader = pypdf.PdfReader(io.BytesIO(sv_data))
    sv = " ".join(sv_reader.pages[0].extract_text().split())
    assert sv_reader.trailer["/Root"]["/Lang"] == "sv"
    assert "Vastineraportti: Kaava" in fi and "Yhteenveto" in fi and "Samrådstid" not in fi
    assert "Samrådsredogörelse: Plan" in sv and "Sammanfattning" in sv
    assert "Samrådstid: 2020-01-01 – 2099-12-31" in sv and "Vastineraportti" not in sv


@pytest.mark.parametrize(("query", "parameter"), [
    ("format=html", "format"), ("format=pdf&lang=de", "lang"), ("lang=", "lang"),
    ("format=pdf&colour=red", "colour")])
def test_bad_format_or_language_is_a_400(client: Any, token: str, plan: str, query: str,
                                        parameter: str) -> None:
    if query == "lang=":
        query = "lang=xx"
    response = client.get(f"/admin/api/maps/kaava/report?{query}", headers=auth(token))
    assert assert_problem(response, 400)["parameter"] == parameter


def test_the_report_needs_a_token_and_a_known_map(client: Any, token: str, plan: str) -> None:
    assert_problem(client.get("/admin/api/maps/kaava/report?format=pdf"), 401)
    assert_problem(client.get("/admin/api/maps/nothing/report?format=pdf",
                              headers=auth(token)), 404)


def test_a_map_without_comments_still_reports(client: Any, token: str, plan: str) -> None:
    response = client.get("/admin/api/maps/kaava/report?format=docx", headers=auth(token))
    assert response.status_code == 200
    body, document = docx_text(response.data)
    assert "Julkaistuja mielipiteitä ei ole." in body  # the map's first language: Finnish
    assert len(document.inline_shapes) == 1


def test_the_staff_responses_page_links_each_format_and_language(
        client: Any, token: str, consultation: dict[str, str]) -> None:
    sign_in(client, token)
    html = client.get("/admin/maps/kaava/responses").get_data(as_text=True)
    for lang in ("fi", "sv", "en"):
        for fmt in ("pdf", "docx", "odt"):
            assert f'href="/admin/maps/kaava/report?format={fmt}&amp;lang={lang}"' in html
    assert '<span lang="sv">samrådsredogörelse</span>' in html
    response = client.get("/admin/maps/kaava/report?format=odt&lang=en")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.oasis.opendocument.text"
    assert "Comment 1" in odt_text(response.data)


def test_the_cli_writes_the_report(app: Any, consultation: dict[str, str], tmp_path: Path,
                                   settings: Any) -> None:
    env = {env_name(name): str(getattr(settings, name) or "")
           for name in ("data_dir", "layers_dir", "database_url")}
    env[env_name("log_level")] = "WARNING"
    target = tmp_path / "out" / "raportti.docx"
    result = CliRunner().invoke(main, ["comments", "report", "kaava", "--format", "docx",
                                       "--lang", "sv", "--output", str(target)], env=env)
    assert result.exit_code == 0, result.output
    body, _ = docx_text(target.read_bytes())
    assert_in_order(body, expected("sv"))
    missing = CliRunner().invoke(main, ["comments", "report", "nothing", "--output",
                                        str(tmp_path / "x.pdf")], env=env)
    assert missing.exit_code == 2 and "nothing" in missing.output
    assert not (tmp_path / "x.pdf").exists()


def test_points_keep_their_place_in_words(client: Any, token: str, post: Poster,
                                          plan: str) -> None:
    posted = post(comment(text="Paikka-X", geometry=INSIDE), key=new_key())
    client.patch(f"/admin/api/comments/{posted.get_json()['id']}",
                 json={"status": "published"}, headers=auth(token))
    body, _ = docx_text(download(client, token, "docx", "fi"))
    assert "Paikka: piste 60.17000° P, 24.94000° I" in body


def test_dates_are_days_where_the_consultation_is(app: Any, client: Any, token: str,
                                                  plan: str) -> None:
    """22:30 UTC on 1 March is 2 March in Helsinki (the map's default time zone)."""
    from webmap.comments.service import Comment
    from webmap.services import services_of

    late = Comment(id="myohainen1", map_id="kaava", created="2026-03-01T22:30:00+00:00",
                   status="published", text="Myöhäinen-M: illalla kirjoitettu.",
                   language="sv", geometry='{"type":"Point","coordinates":[24.94,60.17]}',
                   feature_collection=None, feature_id=None, name="Yö Kirjoittaja",
                   email="yo@example.fi", idempotency_key=None)
    assert services_of(app).comments.storage.restore([late]) == 1
    body, document = docx_text(download(client, token, "docx", "fi"))
    assert "Saapunut: 2.3.2026" in body and "Yö Kirjoittaja" not in body
    # the Swedish comment keeps its own language inside the Finnish report
    text = next(p for p in document.paragraphs if p.text.startswith("Myöhäinen-M"))
    assert text.runs[0]._r.rPr.xpath("./w:lang/@w:val") == ["sv-SE"]
    sv, _ = docx_text(download(client, token, "docx", "sv"))
    assert "Inkom: 2026-03-02" in sv
    from webmap.report.pdf_file import report_html

    html = report_html(services_of(app).reports.build("kaava", "fi", maps=False))
    assert '<html lang="fi">' in html
    assert '<p class="text" lang="sv">Myöhäinen-M: illalla kirjoitettu.</p>' in html


def test_photos_are_embedded_with_their_descriptions(app: Any,
                                                     consultation: dict[str, str]) -> None:
    """Each writer embeds a comment's photos after its text, the description as alt text."""
    from dataclasses import replace

    from odf import svg

    from webmap.report.collect import ReportPhoto
    from webmap.report.formats import REPORT_FORMATS
    from webmap.services import services_of

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 60)).save(buffer, "JPEG")
    photo = ReportPhoto(buffer.getvalue(), "image/jpeg", (640, 480), "Kuva-K: ranta keväällä")
    built = services_of(app).reports.build("kaava", "fi", maps=False)
    first = replace(built.comments[0], photos=(photo,))
    report = replace(built, comments=(first, *built.comments[1:]))

    document = docx.Document(io.BytesIO(REPORT_FORMATS["docx"].write(report)))
    (shape,) = document.inline_shapes
    assert shape._inline.docPr.get("descr") == "Kuva-K: ranta keväällä"
    body = "\n".join(p.text for p in document.paragraphs)
    assert body.index("Mielipide-A") < body.index("Valokuvat") < body.index("Vastine-A")

    odt = REPORT_FORMATS["odt"].write(report)
    with zipfile.ZipFile(io.BytesIO(odt)) as archive:
        assert [n for n in archive.namelist() if n.startswith("Pictures/")] == \
            ["Pictures/image1.jpg"]
    titles = [teletype.extractText(t)
              for t in load_odt(io.BytesIO(odt)).getElementsByType(svg.Title)]
    assert titles == ["Kuva-K: ranta keväällä"]

    reader = pypdf.PdfReader(io.BytesIO(REPORT_FORMATS["pdf"].write(report)))
    assert "Kuva-K: ranta keväällä" in struct_alts(reader.trailer["/Root"]["/StructTreeRoot"],
                                                   [])
    assert len({image.data for page in reader.pages for image in page.images}) == 1
