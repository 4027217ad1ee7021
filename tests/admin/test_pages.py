"""The staff HTML pages: sign-in and its session, upload and report, preview, style choice,
map composition and comment moderation, through Flask's test client on both backends."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pyogrio
import pytest

from tests.builders import make_vector
from tests.conftest import assert_problem, open_app
from webmap.admin import wording
from webmap.services import services_of

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response: Any) -> str:
    """The CSRF token in a page's forms."""
    found = CSRF.search(response.get_data(as_text=True))
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: Any, token: str) -> str:
    """Sign ``client`` in with ``token``; the session's CSRF token."""
    form = client.get("/admin/")
    response = client.post("/admin/", data={"token": token, "csrf_token": csrf_of(form)})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return csrf_of(client.get("/admin/layers"))


def errors_of(response: Any) -> dict[str, str]:
    """Field id -> message of a page's error summary."""
    html = response.get_data(as_text=True)
    return dict(re.findall(r'<li><a href="#([^"]+)">(.*?)</a></li>', html))


def upload(path: Path, **form: str) -> dict[str, Any]:
    """A multipart upload form."""
    return {"file": (io.BytesIO(path.read_bytes()), path.name), **form}


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


# ---------- sign-in and the session ----------

def test_sign_in_sets_a_strict_http_only_cookie(client: Any, token: str) -> None:
    page = client.get("/admin/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="en">' in html
    assert 'for="f-token"' in html and 'type="password"' in html
    response = client.post("/admin/", data={"token": token, "csrf_token": csrf_of(page)})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/layers"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie and "Expires=" in cookie
    assert token not in cookie
    layers = client.get("/admin/layers")
    assert layers.status_code == 200 and "Signed in as <strong>anna</strong>" in layers.text


def test_cookie_is_secure_behind_an_https_proxy(tmp_path: Path) -> None:
    from webmap.settings import Settings

    app = open_app(Settings(data_dir=tmp_path / "data", proxy_hops=1))
    secret = services_of(app).tokens.create("anna")
    client = app.test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kartta.example.fi"}
    form = client.get("/admin/", headers=https)
    response = client.post("/admin/", headers={**https, "Origin": "https://kartta.example.fi"},
                           data={"token": secret, "csrf_token": csrf_of(form)})
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


def test_wrong_and_revoked_tokens_are_refused(app: Any, client: Any, token: str) -> None:
    records = services_of(app).tokens
    former = records.create("former")
    records.revoke("former")
    for wrong in ("nope", former, ""):
        form = client.get("/admin/")
        response = client.post("/admin/", data={"token": wrong, "csrf_token": csrf_of(form)})
        assert response.status_code == 401
        assert errors_of(response) == {"f-token": "That token is not valid or has been revoked. "
                                                  "Check it and try again."}
        assert 'aria-invalid="true"' in response.text
        assert client.get("/admin/layers").status_code == 303


def test_failed_sign_ins_are_limited_per_address(client: Any, token: str) -> None:
    form = csrf_of(client.get("/admin/"))
    for _ in range(10):
        assert client.post("/admin/", data={"token": "nope", "csrf_token": form}
                           ).status_code == 401
    blocked = client.post("/admin/", data={"token": "nope-again", "csrf_token": form})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Too many wrong tokens" in blocked.text
    other = client.post("/admin/", data={"token": "nope", "csrf_token": form},
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 401  # failures count per client address


def test_a_valid_token_is_never_locked_out_by_wrong_ones(client: Any, token: str) -> None:
    """Wrong tokens from the same address (a colleague behind the same NAT, or an attacker)
    only slow down wrong guesses: the right token still signs in."""
    form = csrf_of(client.get("/admin/"))
    for _ in range(12):
        assert client.post("/admin/", data={"token": "nope", "csrf_token": form}
                           ).status_code in {401, 429}
    assert client.post("/admin/", data={"token": "nope", "csrf_token": form}
                       ).status_code == 429
    signed_in = client.post("/admin/", data={"token": token, "csrf_token": form})
    assert signed_in.status_code == 303
    assert client.get("/admin/layers").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/admin/", "//evil.example/admin/",
                                    "/collections", "/admin/../collections", "\\\\evil"])
def test_sign_in_goes_only_to_staff_pages(client: Any, token: str, target: str) -> None:
    form = client.get("/admin/", query_string={"next": target})
    response = client.post("/admin/", data={"token": token, "csrf_token": csrf_of(form),
                                            "next": target})
    assert response.headers["Location"] == "/admin/layers"


def test_next_page_after_sign_in(client: Any, token: str) -> None:
    bounced = client.get("/admin/maps?x=1")
    assert bounced.status_code == 303
    assert bounced.headers["Location"] == "/admin/?next=/admin/maps?x%3D1"
    form = client.get(bounced.headers["Location"])
    response = client.post("/admin/", data={"token": token, "csrf_token": csrf_of(form),
                                            "next": "/admin/maps?x=1"})
    assert response.headers["Location"] == "/admin/maps?x=1"


def test_session_ends_when_old_or_when_the_token_is_revoked(app: Any, client: Any,
                                                            csrf: str) -> None:
    assert client.get("/admin/layers").status_code == 200
    hours = services_of(app).settings.staff_session_hours
    with client.session_transaction("/admin/") as session:
        session["signed_in"] = time.time() - hours * 3600 - 1
    assert client.get("/admin/layers").status_code == 303
    with client.session_transaction("/admin/") as session:
        session["signed_in"] = time.time()
    assert client.get("/admin/layers").status_code == 200
    services_of(app).tokens.revoke("anna")
    assert client.get("/admin/layers").status_code == 303


def test_sign_out(client: Any, csrf: str) -> None:
    response = client.post("/admin/sign-out", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert client.get("/admin/layers").status_code == 303
    assert "You have signed out." in client.get("/admin/").text


def test_sign_out_ends_the_session_on_the_server(app: Any, client: Any, csrf: str) -> None:
    copied = client.get_cookie("webmap_staff", path="/admin")
    assert copied is not None
    thief = app.test_client()
    thief.set_cookie("webmap_staff", copied.value, path="/admin")
    assert thief.get("/admin/layers").status_code == 200  # the copy works while signed in
    assert client.post("/admin/sign-out", data={"csrf_token": csrf}).status_code == 303
    assert thief.get("/admin/layers").status_code == 303  # and not after the sign-out
    other = app.test_client()  # a sign-in of its own is not affected by that sign-out
    sign_in(other, services_of(app).tokens.create("bertil"))
    assert other.get("/admin/layers").status_code == 200


def test_secret_key_is_made_once_and_private(app: Any, tmp_path: Path) -> None:
    settings = services_of(app).settings
    path = settings.data_dir / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    again = open_app(settings)
    assert again.secret_key == app.secret_key == path.read_text().strip()
    given = open_app(dataclasses.replace(settings, secret_key="k" * 40))
    assert given.secret_key == "k" * 40


def test_secret_key_setting_is_checked_and_never_echoed() -> None:
    from webmap.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="WEBMAP_SECRET_KEY") as caught:
        Settings.from_env({"WEBMAP_SECRET_KEY": "short-secret"})
    assert "short-secret" not in str(caught.value)
    assert "k" * 40 not in repr(Settings(secret_key="k" * 40))


# ---------- layers: upload, report, preview, removal ----------

def test_upload_report_and_preview(client: Any, csrf: str, plan_file: Path) -> None:
    response = client.post("/admin/layers/new", data=upload(
        plan_file, csrf_token=csrf, id="kaava", title="Kaava – Åbo", attribution="Kunta"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/layers/kaava/report"
    report = client.get("/admin/layers/kaava/report").text
    for sentence in ("30 polygons were imported.",
                     "Coordinate system detected: EPSG:3067 (ETRS89 / TM35FIN(E,N))",
                     "2 polygons were self-intersecting and were repaired.",
                     "No feature was left out."):
        assert sentence in report
    assert 'href="/admin/layers/kaava"' in report
    preview = client.get("/admin/layers/kaava")
    html = preview.text
    assert preview.status_code == 200 and 'id="wm-map"' in html
    assert "Kaava – Åbo" in html and "/collections/kaava" in html and "ogr2ogr" in html
    config = json.loads(re.search(r'id="staff-map-config">(.*?)</script>', html).group(1))
    assert config["items"] == "/collections/kaava/items" and len(config["bbox"]) == 4
    script = client.get(re.search(r'<script src="(/admin/layers/kaava/map\.js[^"]*)"',
                                  html).group(1).replace("&amp;", "&"))
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert "L.map(" in script.text and "/basemaps/" in script.text
    assert not re.search(r"""(src=|<link[^>]+href=)["']https?://""", html)  # nothing loaded
    listed = client.get("/admin/layers").text
    assert 'href="/admin/layers/kaava"' in listed and ">30<" in listed


def test_the_upload_page_makes_a_layer_editable(app: Any, client: Any, csrf: str,
                                                plan_file: Path) -> None:
    page = client.get("/admin/layers/new").text
    assert 'name="editable"' in page and 'aria-describedby="f-editable-hint"' in page
    response = client.post("/admin/layers/new", data=upload(
        plan_file, csrf_token=csrf, id="muokattava", editable="yes"))
    assert response.status_code == 303, response.text
    assert services_of(app).layers.layer("muokattava").editable
    client.post("/admin/layers/new", data=upload(plan_file, csrf_token=csrf, id="luku"))
    assert not services_of(app).layers.layer("luku").editable


def test_upload_errors_are_linked_to_their_fields(client: Any, csrf: str,
                                                  plan_file: Path, tmp_path: Path) -> None:
    response = client.post("/admin/layers/new", data={"csrf_token": csrf, "id": "Bad Id"})
    assert response.status_code == 422
    assert set(errors_of(response)) == {"f-id", "f-file"}
    html = response.text
    assert response.text.count('aria-invalid="true"') == 2
    assert 'aria-describedby="f-id-hint f-id-error"' in html and "<title>Error: " in html
    no_crs = make_vector(tmp_path / "lakes.shp", fmt="shp", n=5, prj="none")
    archive = tmp_path / "lakes.zip"
    import zipfile

    with zipfile.ZipFile(archive, "w") as zf:
        for part in no_crs.parent.glob("lakes.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)
    response = client.post("/admin/layers/new", data=upload(archive, csrf_token=csrf, id="lakes"))
    assert response.status_code == 422 and list(errors_of(response)) == ["f-crs"]
    assert client.post("/admin/layers/new", data=upload(
        archive, csrf_token=csrf, id="lakes", crs="EPSG:3067")).status_code == 303
    again = client.post("/admin/layers/new", data=upload(plan_file, csrf_token=csrf, id="lakes"))
    assert list(errors_of(again)) == ["f-id"] and "Replace" in errors_of(again)["f-id"]
    replaced = client.post("/admin/layers/new", data=upload(plan_file, csrf_token=csrf,
                                                            id="lakes", replace="yes"))
    assert replaced.status_code == 303
    assert client.get("/collections/lakes/items").get_json()["numberMatched"] == 30


def test_raster_preview_draws_its_own_tiles(client: Any, csrf: str, add_raster: Any) -> None:
    add_raster("ortho")
    html = client.get("/admin/layers/ortho").text
    config = json.loads(re.search(r'id="staff-map-config">(.*?)</script>', html).group(1))
    assert config["kind"] == "raster" and config["items"] is None
    script = client.get("/admin/layers/ortho/map.js").text
    assert "/collections/ortho/tiles/WebMercatorQuad/{z}/{y}/{x}" in script
    assert 'id="f-base"' not in html  # a raster is its own picture


def test_remove_asks_first(client: Any, csrf: str, add_layer: Any) -> None:
    add_layer("old-plan")
    confirm = client.get("/admin/layers/old-plan/remove")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    done = client.post("/admin/layers/old-plan/remove", data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["Location"] == "/admin/layers"
    assert "Layer old-plan was removed." in client.get("/admin/layers").text
    assert client.get("/collections/old-plan").status_code == 404
    assert client.get("/admin/layers/old-plan").status_code == 404


def test_style_choice_shows_the_verdict(app: Any, client: Any, csrf: str, add_layer: Any,
                                        tmp_path: Path) -> None:
    add_layer("plan")
    chooser = client.get("/admin/layers/plan/style")
    assert chooser.status_code == 200 and 'id="f-style"' in chooser.text
    passing = client.get("/admin/layers/plan/style?style=districts&base=finland").text
    assert "Passes: districts is readable over finland" in passing
    assert "/admin/maps/new?layer=plan&amp;style=districts" in passing
    assert "Does not pass" not in passing
    assert client.get("/admin/layers/plan/style?style=../secret").status_code == 400


def test_a_failing_style_is_explained(tmp_path: Path, settings: Any) -> None:
    styles = tmp_path / "styles"
    (styles / "basemaps").mkdir(parents=True)
    (styles / "basemaps" / "pale.json").write_text(json.dumps(
        {"id": "pale", "title": {"en": "Pale"}, "background": "#f2efe9", "layers": []}))
    legend = {"fi": "A", "sv": "A", "en": "A"}
    (styles / "faint.json").write_text(json.dumps({
        "id": "faint", "geometry": "polygon", "title": {"fi": "F", "sv": "F", "en": "Faint"},
        "property": "Luku", "classes": [
            {"id": "a", "values": ["1"], "fill": "#eeeeee", "stroke": "#dddddd", "legend": legend},
            {"id": "b", "fill": "#e0e0e0", "stroke": "#dddddd", "legend": legend}]}))
    app = open_app(dataclasses.replace(settings, styles_dir=styles))
    client = app.test_client()
    sign_in(client, services_of(app).tokens.create("anna"))
    from tests.conftest import make_buildings
    from webmap.types import ImportReport, LayerKind, NormalisedLayer

    frame = make_buildings(10)
    report = ImportReport(layer_id="plan", kind=LayerKind.VECTOR, title="plan", feature_count=10,
                          source_crs="EPSG:3067", geometry_type="Polygon",
                          bbox=tuple(float(v) for v in frame.total_bounds))  # type: ignore[arg-type]
    services_of(app).layers.import_layer(
        "plan", lambda _: NormalisedLayer(report=report, frame=frame))
    html = client.get("/admin/layers/plan/style?style=faint&base=pale").text
    assert "Does not pass: " in html
    assert "Too little contrast against the base map." in html
    assert "Classes differ by colour alone." in html
    assert "(needs 3:1)" in html
    close = getattr(services_of(app).layers, "close", None)
    if close:
        close()


# ---------- maps: composition ----------

def _compose_form(csrf: str, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "csrf_token": csrf, "id": "uusi-kaava", "title_fi": "Uusi kaava", "title_sv": "Ny plan",
        "title_en": "New plan", "layer": ["plan", "", ""], "style": ["districts", "", ""],
        "label": ["name", "", ""], "plan": ["0"], "base": "finland", "tms": "ETRS-TM35FIN",
        "languages": ["fi", "sv", "en"], "consult": "yes", "kinds": ["point", "feature"],
        "opens": "2026-01-01T09:00", "closes": "2030-01-31T16:00", "tz": "Europe/Helsinki",
        "origins": "https://asiointi.example.fi\n"}
    form.update(changes)
    return form


def test_compose_publish_edit_and_take_down(client: Any, csrf: str, add_layer: Any) -> None:
    add_layer("plan")
    new = client.get("/admin/maps/new?layer=plan&style=districts")
    assert new.status_code == 200 and '<option value="plan" selected>' in new.text
    response = client.post("/admin/maps/new", data=_compose_form(csrf))
    assert response.status_code == 303, errors_of(response)
    assert "Map uusi-kaava was published." in client.get("/admin/maps").text
    published = client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}).get_json()
    assert published["title"] == {"fi": "Uusi kaava", "sv": "Ny plan", "en": "New plan"}
    assert published["tileMatrixSet"] == "ETRS-TM35FIN"
    assert published["layers"][0] == {"layer": "plan", "style": "districts", "plan": True,
                                      "title": {}, "label": "name", "labels": {},
                                      "attributes": []}
    assert published["consultation"]["opens"] == "2026-01-01T09:00:00+02:00"
    assert published["origins"] == ["https://asiointi.example.fi"]
    extent = published["extent"]
    assert 24.9 < extent[0] < extent[2] < 25.0  # taken from the layer
    edit = client.get("/admin/maps/uusi-kaava/edit").text
    assert 'value="Ny plan"' in edit and 'value="2030-01-31T16:00"' in edit
    changed = client.post("/admin/maps/uusi-kaava/edit",
                          data=_compose_form(csrf, title_en="Plan, second draft", consult=""))
    assert changed.status_code == 303
    again = client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}).get_json()
    assert again["title"]["en"] == "Plan, second draft" and again["consultation"] is None
    assert client.get("/admin/maps/uusi-kaava/take-down").status_code == 200
    assert client.post("/admin/maps/uusi-kaava/take-down",
                       data={"csrf_token": csrf}).status_code == 303
    assert client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}
                      ).status_code == 404


def test_compose_errors_are_shown_per_field(client: Any, csrf: str, add_layer: Any) -> None:
    add_layer("plan")
    response = client.post("/admin/maps/new", data=_compose_form(
        csrf, id="", title_fi="", title_sv="", title_en="", style=["", "", ""], west="x",
        kinds=[], languages=[], opens="soon"))
    assert response.status_code == 422
    assert set(errors_of(response)) == {"f-id", "f-title_fi", "f-style-0", "f-west", "f-south",
                                        "f-east", "f-north", "f-kind-point", "f-lang-fi",
                                        "f-opens"}
    assert 'value="x"' in response.text  # what was typed is kept
    bad_origin = client.post("/admin/maps/new", data=_compose_form(csrf, origins="ftp://x"))
    assert errors_of(bad_origin) == {
        "f-origins": "&#39;ftp://x&#39; is not an origin like https://e-service.example.fi."}
    missing = client.post("/admin/maps/new", data=_compose_form(csrf, layer=["nope", "", ""]))
    assert list(errors_of(missing)) == ["f-layer-0"]
    assert errors_of(missing)["f-layer-0"] == "There is no layer nope; upload it first."
    file_map = client.post("/admin/maps/new", data=_compose_form(csrf, id="paimio-asemakaava"))
    assert list(errors_of(file_map)) == ["f-id"]


def test_compose_sets_the_drawing_limits(client: Any, csrf: str, add_layer: Any) -> None:
    add_layer("plan")
    form = _compose_form(csrf, kinds=["line", "area"], max_points="40", min_zoom="15",
                         several="yes")
    assert client.post("/admin/maps/new", data=form).status_code == 303
    published = client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}).get_json()
    assert published["consultation"]["drawing"] == {"maxPoints": 40, "minZoom": 15,
                                                    "several": True}
    edit = client.get("/admin/maps/uusi-kaava/edit").text
    assert 'id="f-max_points" name="max_points" type="text" value="40"' in edit
    assert 'value="15"' in edit and 'id="f-several" name="several" value="yes" checked' in edit
    wrong = client.post("/admin/maps/uusi-kaava/edit",
                        data=_compose_form(csrf, max_points="2", min_zoom="far"))
    assert set(errors_of(wrong)) == {"f-max_points", "f-min_zoom"}
    plain = client.post("/admin/maps/uusi-kaava/edit", data=_compose_form(csrf))
    assert plain.status_code == 303
    again = client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}).get_json()
    assert again["consultation"]["drawing"] == {"maxPoints": 200, "minZoom": None,
                                                "several": False}


def test_compose_sets_how_many_photos_a_comment_may_have(client: Any, csrf: str,
                                                         add_layer: Any) -> None:
    add_layer("plan")
    assert client.post("/admin/maps/new", data=_compose_form(csrf, photos="1")).status_code == 303
    published = client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}).get_json()
    assert published["consultation"]["photos"]["max"] == 1
    edit = client.get("/admin/maps/uusi-kaava/edit").text
    assert 'id="f-photos" name="photos" type="text" value="1"' in edit
    for wrong in ("4", "-1", "kolme"):
        response = client.post("/admin/maps/uusi-kaava/edit",
                               data=_compose_form(csrf, photos=wrong))
        assert list(errors_of(response)) == ["f-photos"], wrong
    assert client.post("/admin/maps/uusi-kaava/edit",
                       data=_compose_form(csrf, photos="0")).status_code == 303
    again = client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}).get_json()
    assert again["consultation"]["photos"]["max"] == 0
    assert client.post("/admin/maps/uusi-kaava/edit", data=_compose_form(csrf)).status_code == 303
    default = client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}).get_json()
    assert default["consultation"]["photos"]["max"] == 3


def test_a_file_map_is_shown_not_edited(client: Any, csrf: str) -> None:
    page = client.get("/admin/maps/paimio-asemakaava/edit")
    assert page.status_code == 200 and "changed by editing that file" in page.text
    assert 'name="title_fi"' not in page.text


# ---------- comment moderation ----------

HOSTILE = "<script>alert(1)</script> <img src=x onerror=alert(1)>"


@pytest.fixture
def consultation(client: Any, csrf: str, add_layer: Any, app: Any) -> list[str]:
    """A published map with an open consultation and two comments (hostile text and name)."""
    add_layer("plan")
    assert client.post("/admin/maps/new", data=_compose_form(csrf)).status_code == 303
    service = services_of(app).comments
    ids = []
    for name in (HOSTILE, "Åsa Öberg"):
        receipt = service.submit("uusi-kaava", {
            "text": f"Puisto tähän. {HOSTILE}", "name": name, "email": "asa@example.fi",
            "language": "fi", "geometry": {"type": "Point", "coordinates": [24.95, 60.17]}})
        ids.append(receipt.id)
    return ids


def test_moderation_lists_escapes_and_moderates(client: Any, csrf: str, app: Any,
                                                consultation: list[str]) -> None:
    page = client.get("/admin/maps/uusi-kaava/comments")
    html = page.text
    assert page.status_code == 200 and "Pending (2)" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "Åsa Öberg" in html
    assert "asa@example.fi" in html and "Point at 60.17000° N, 24.95000° E" in html
    first = consultation[0]
    done = client.post(f"/admin/maps/uusi-kaava/comments/{first}",
                       data={"csrf_token": csrf, "status": "published", "back": "pending"})
    assert done.status_code == 303
    assert done.headers["Location"] == "/admin/maps/uusi-kaava/comments?status=pending"
    public = client.get("/maps/uusi-kaava/comments").get_json()["features"]
    assert [f["properties"]["id"] for f in public] == [first]
    assert "name" not in public[0]["properties"]
    hidden = client.post(f"/admin/maps/uusi-kaava/comments/{first}",
                         data={"csrf_token": csrf, "status": "hidden"})
    assert hidden.status_code == 303
    assert client.get("/maps/uusi-kaava/comments").get_json()["features"] == []
    listed = client.get("/admin/maps/uusi-kaava/comments?status=hidden").text
    assert f"Comment {first}" in listed and "Hidden (1)" in listed
    assert client.post("/admin/maps/paimio-asemakaava/comments/" + first,
                       data={"csrf_token": csrf, "status": "published"}).status_code == 404


@pytest.mark.parametrize(("fmt", "media_type"), [("geojson", "application/geo+json"),
                                                 ("csv", "text/csv"),
                                                 ("gpkg", "application/geopackage+sqlite3")])
def test_exports(client: Any, csrf: str, consultation: list[str], fmt: str,
                 media_type: str) -> None:
    response = client.get(f"/admin/maps/uusi-kaava/comments/export?format={fmt}")
    assert response.status_code == 200 and response.mimetype == media_type
    assert response.headers["Cache-Control"] == "no-store"
    if fmt == "geojson":
        names = {f["properties"]["name"] for f in response.get_json()["features"]}
        assert names == {HOSTILE, "Åsa Öberg"}


def test_staff_pages_are_never_cached_and_carry_the_csp(client: Any, csrf: str) -> None:
    for path in ("/admin/layers", "/admin/maps", "/admin/layers/new", "/admin/maps/new"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "<script>" not in response.text and "style=" not in response.text
    assert client.get("/admin/layers/nope").status_code == 404
    assert "There is no layer &#39;nope&#39;" in client.get("/admin/layers/nope").text


# ---------- plain language ----------

def test_report_sentences() -> None:
    report = {"kind": "vector", "geometry_type": "MultiLineString", "feature_count": 1,
              "repaired": 1, "dropped": 12, "source_crs": "EPSG:3879",
              "bbox": [24.5, 60.1, 25.25, 60.4]}
    assert wording.report_sentences(report) == [
        "1 line was imported.",
        "Coordinate system detected: EPSG:3879 (ETRS89 / GK25FIN); stored as longitude and "
        "latitude (CRS84).",
        "The layer covers 24.500° E to 25.250° E, 60.100° N to 60.400° N.",
        "1 line was invalid and was repaired.",
        "12 features without a usable geometry were left out."]
    assert wording.count(12345, "point", "points") == "12 345 points"
    assert wording.other_warnings({"warnings": ["3 invalid geometries were repaired",
                                                "GDAL: odd"]}) == ["GDAL: odd"]


def test_comment_places() -> None:
    assert wording.comment_place(None, {"collection": "kaava", "id": 3}) == \
        "Feature 3 of kaava"
    line = json.dumps({"type": "LineString", "coordinates": [[1, 2], [3, 4], [5, 6]]})
    assert wording.comment_place(line, None) == "A line of 3 points"
    assert wording.comment_place(None, None) == "No place"


def test_compose_chooses_attributes_from_the_layers_fields(client: Any, csrf: str,
                                                           add_layer: Any) -> None:
    add_layer("plan")
    page = client.get("/admin/maps/new?layer=plan&style=districts").text
    assert '<option value="floors">floors</option>' in page, "the label is a choice"
    assert 'name="attributes-0" value="area"' in page
    response = client.post("/admin/maps/new", data=_compose_form(
        csrf, **{"attributes-0": ["name", "floors"], "search": ["0"],
                 "layer_title_fi": ["Kaava-alueet", "", ""], "layer_title_sv": ["Planområden",
                                                                                "", ""],
                 "layer_title_en": ["", "", ""]}))
    assert response.status_code == 303, errors_of(response)
    published = client.get("/maps/uusi-kaava", headers={"Accept": "application/json"}).get_json()
    layer = published["layers"][0]
    assert layer["title"] == {"fi": "Kaava-alueet", "sv": "Planområden"}
    assert layer["attributes"] == ["name", "floors"] and layer["label"] == "name"
    stored = services_of(client.application).maps.get("uusi-kaava")
    assert [(s.layer, s.kind, s.name_fields) for s in stored.search] == [
        ("plan", "place", ("name",))]
    edit = client.get("/admin/maps/uusi-kaava/edit").text
    assert 'value="Planområden"' in edit
    assert 'id="f-search-0" name="search" value="0" checked' in edit


def test_compose_refuses_a_map_that_would_show_unnamed_features(client: Any, csrf: str,
                                                                add_layer: Any,
                                                                token: str) -> None:
    add_layer("plan")
    unknown = client.post("/admin/maps/new", data=_compose_form(csrf, label=["nimi", "", ""]))
    assert unknown.status_code == 422
    assert "has no attribute nimi" in errors_of(unknown)["f-label-0"]
    unlabelled = client.post("/admin/maps/new", data=_compose_form(csrf, label=["", "", ""]))
    assert "Choose the attribute that names" in errors_of(unlabelled)["f-label-0"]
    bad_attribute = client.post("/admin/maps/new", data=_compose_form(
        csrf, **{"attributes-0": ["kerrosala"]}))
    assert "no attribute kerrosala" in errors_of(bad_attribute)["f-attributes-0"]
    empty = client.post("/admin/maps/new", data=_compose_form(csrf, label=["note", "", ""]))
    assert empty.status_code == 422
    assert "72 features of" in errors_of(empty)["f-label-0"]
    # the staff API refuses the same maps
    document = {"title": {"fi": "K"}, "extent": [24.9, 60.1, 25.0, 60.2],
                "base": {"type": "rendered", "basemap": "finland"},
                "layers": [{"layer": "plan", "style": "districts", "plan": True,
                            "label": "nimi"}]}
    refused = client.put("/admin/api/maps/k", json=document,
                         headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(refused, 422, mentions="has no attribute 'nimi'")
    assert body["field"] == "layers[0].label"


def test_the_preview_links_the_features_as_geojson(client: Any, csrf: str,
                                                   add_layer: Any) -> None:
    add_layer("plan")
    html = client.get("/admin/layers/plan").text
    [href] = re.findall(r'href="([^"]+)"[^>]*>Its features as GeoJSON', html)
    assert "built-in method" not in html
    path = href.split("://", 1)[-1].split("/", 1)[1]
    response = client.get("/" + path)
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert len(response.get_json()["features"]) == 10


def test_moderation_names_the_plan_feature_and_uses_the_consultations_time_zone(
        client: Any, csrf: str, app: Any, add_layer: Any) -> None:
    add_layer("plan")
    form = _compose_form(csrf, tz="Europe/Stockholm")
    assert client.post("/admin/maps/new", data=form).status_code == 303
    service = services_of(app).comments
    receipt = service.submit("uusi-kaava", {"text": "Ei tähän", "language": "fi",
                                            "feature": {"collection": "plan", "id": 3}})
    created = service.storage.get(receipt.id).created
    html = client.get("/admin/maps/uusi-kaava/comments").text
    assert "“Töölönkatu 2” in plan" in html and "Feature 3 of" not in html
    from datetime import datetime
    from zoneinfo import ZoneInfo
    local = datetime.fromisoformat(created).astimezone(ZoneInfo("Europe/Stockholm"))
    assert f"{local:%Y-%m-%d %H:%M} (Europe/Stockholm)" in html and " UTC<" not in html
    edit = client.get("/admin/maps/uusi-kaava/edit").text
    assert "<option selected>Europe/Stockholm</option>" in edit


def test_upload_errors_speak_the_forms_words_and_keep_the_file(client: Any, csrf: str,
                                                               tmp_path: Path) -> None:
    two = tmp_path / "kaava.gpkg"
    make_vector(tmp_path / "a.gpkg", fmt="gpkg", n=8)
    for name, n in (("alueet", 4), ("rajat", 6)):
        frame = pyogrio.read_dataframe(tmp_path / "a.gpkg").head(n)
        pyogrio.write_dataframe(frame, two, layer=name, driver="GPKG")
    response = client.post("/admin/layers/new", data=upload(two, csrf_token=csrf, id="kaava"))
    assert response.status_code == 422
    message = errors_of(response)["f-layer"]
    assert "--layer" not in message and "“Layer in the file”" in message
    html = response.text
    assert '<select id="f-layer" name="layer"' in html
    assert "<option>alueet</option>" in html and "<option>rajat</option>" in html
    assert "Kept from your last try:</strong> kaava.gpkg" in html
    # the file is not chosen again: the kept one is imported
    chosen = client.post("/admin/layers/new", data={"csrf_token": csrf, "id": "kaava",
                                                     "layer": "rajat"})
    assert chosen.status_code == 303, errors_of(chosen)
    assert client.get("/collections/kaava/items").get_json()["numberMatched"] == 6
    assert "Kept from your last try" not in client.get("/admin/layers/new").text

    lone = make_vector(tmp_path / "talot.shp", fmt="shp", n=3)
    alone = client.post("/admin/layers/new", data=upload(lone, csrf_token=csrf, id="talot"))
    shp = errors_of(alone)["f-file"]
    assert ".shx and .dbf files are missing" in shp and "ZIP archive" in shp
    assert "Unable to open" not in shp

    table = tmp_path / "pisteet.csv"
    table.write_text("nimi;paikka_a;paikka_b\nTori;385000;6672000\n", "utf-8")
    no_xy = client.post("/admin/layers/new", data=upload(table, csrf_token=csrf, id="pisteet"))
    csv_error = " ".join(errors_of(no_xy).values())
    assert "“X column”" in csv_error and "x_column" not in csv_error and "--x" not in csv_error
    fixed = client.post("/admin/layers/new", data={
        "csrf_token": csrf, "id": "pisteet", "x_column": "paikka_a", "y_column": "paikka_b",
        "crs": "EPSG:3067"})
    assert fixed.status_code == 303, errors_of(fixed)


def test_staff_upload_a_national_model_plan_on_the_page(app: Any, client: Any, csrf: str,
                                                        tmp_path: Path) -> None:
    """The plan upload page imports an NGP detaljplan as `webmap plans import` does and
    links its layers; a bad file and a bad id are errors at their fields, in Swedish too."""
    from tests.plans.conftest import DP225, SHARED_DATA

    if not (SHARED_DATA / DP225).is_file():
        pytest.skip("the shared plan examples are not beside the checkout")
    form = client.get("/admin/plans/new").text
    assert 'name="file"' in form and 'href="/admin/plans/new"' in form
    with (SHARED_DATA / DP225).open("rb") as file:
        response = client.post("/admin/plans/new", data={
            "csrf_token": csrf, "id": "mora-dp225", "file": (file, "dp225.json")},
            content_type="multipart/form-data")
    assert response.status_code == 200, response.text
    assert "NGP detaljplan (Sweden)" in response.text
    assert 'href="/admin/layers/mora-dp225-areas"' in response.text
    assert 'href="/plans/mora-dp225"' in response.text
    assert services_of(app).plans.plan("mora-dp225").model == "ngp"

    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "Nothing"}', encoding="utf-8")
    with bad.open("rb") as file:
        refused = client.post("/admin/plans/new?lang=sv", data={
            "csrf_token": csrf, "id": "Fel id", "file": (file, "bad.json")},
            content_type="multipart/form-data")
    assert refused.status_code == 422
    assert 'id="f-id-error"' in refused.text and "Gemener, siffror" in refused.text
    with bad.open("rb") as file:
        unknown = client.post("/admin/plans/new", data={
            "csrf_token": csrf, "id": "huono", "file": (file, "bad.json")},
            content_type="multipart/form-data")
    assert unknown.status_code == 422 and 'id="f-file-error"' in unknown.text
    assert "huono" not in {p.id for p in services_of(app).plans.plans()}
