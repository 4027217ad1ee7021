"""Photos attached to comments (SPEC §6, §7), on both backends: the content is checked and
re-encoded without EXIF/GPS, only published comments' photos are public, and the purge and the
exports take them along."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image

from tests.admin.test_pages import sign_in
from tests.comments.conftest import MAPS, auth, comment, map_file, new_key, write_maps
from tests.conftest import assert_problem
from webmap.comments.photos import MAX_SIDE, accepted_formats, clean_photo
from webmap.problems import Unprocessable
from webmap.services import services_of

GPS = {ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (60.0, 10.0, 12.5),
       ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (24.0, 56.0, 3.25)}


@pytest.fixture
def layers_dir(tmp_path: Path) -> Path:
    """The shared test maps and one whose consultation takes no photos."""
    no_photos = map_file("ei-kuvia")
    no_photos["consultation"]["photos"] = 0
    return write_maps(tmp_path / "layers", {**MAPS, "ei-kuvia": no_photos})


def gps_jpeg(size: tuple[int, int] = (3000, 1500)) -> bytes:
    """A camera-like JPEG: EXIF with make, model, a time and GPS coordinates in Helsinki."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Kamera Oy"
    exif[ExifTags.Base.Model] = "K-1"
    exif[ExifTags.Base.DateTime] = "2026:05:04 12:00:00"
    exif[ExifTags.Base.GPSInfo] = GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, comment=b"home of Asa Oberg")
    return out.getvalue()


def png(size: tuple[int, int] = (40, 30), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 40, 40, 128) if mode == "RGBA" else 0).save(out, format="PNG")
    return out.getvalue()


def send(client: Any, body: dict[str, Any], photos: list[bytes], alts: list[str], *,
         map_id: str = "kaava", key: str | None = None) -> Any:
    """POST a multipart comment: its JSON in ``comment``, files ``photo``, ``photo_alt``s."""
    data: dict[str, Any] = {"comment": json.dumps(body),
                            "photo": [(io.BytesIO(p), f"kuva{i}.jpg")
                                      for i, p in enumerate(photos, start=1)],
                            "photo_alt": alts}
    headers = {"Idempotency-Key": key or new_key()}
    return client.post(f"/maps/{map_id}/comments", data=data, headers=headers,
                       content_type="multipart/form-data")


def moderate(client: Any, token: str, comment_id: str, status: str) -> None:
    response = client.patch(f"/admin/api/comments/{comment_id}", json={"status": status},
                            headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


def stored(app: Any) -> int:
    return len(services_of(app).comments.for_staff("kaava"))


def test_gps_and_every_other_metadata_are_gone_from_what_is_served(
        client: Any, token: str) -> None:
    upload = gps_jpeg()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it is there
    response = send(client, comment(), [upload], ["Pysäköintialue puiston reunalla"])
    assert response.status_code == 201, response.get_json()
    comment_id = response.get_json()["id"]
    moderate(client, token, comment_id, "published")

    served = client.get(f"/maps/kaava/comments/{comment_id}/photos/1")
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert b"Kamera Oy" not in served.data and b"Asa Oberg" not in served.data
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "JPEG"
    exif = image.getexif()
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert len(exif) == 0
    assert not {"exif", "icc_profile", "xmp", "comment", "photoshop"} & set(image.info)
    assert image.size == (MAX_SIDE, MAX_SIDE // 2)  # 3000 × 1500 scaled to 2048 px

    listed = client.get("/maps/kaava/comments").get_json()["features"]
    (props,) = [f["properties"] for f in listed if f["id"] == comment_id]
    assert props["photos"] == [{
        "href": f"http://localhost/maps/kaava/comments/{comment_id}/photos/1",
        "alt": "Pysäköintialue puiston reunalla", "type": "image/jpeg",
        "width": MAX_SIDE, "height": MAX_SIDE // 2}]
    again = client.get(f"/maps/kaava/comments/{comment_id}/photos/1",
                       headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


def test_a_png_with_transparency_becomes_a_jpeg_on_white(client: Any, token: str) -> None:
    response = send(client, comment(), [png(), png(mode="L")], ["Punainen kyltti", "Musta"])
    assert response.status_code == 201, response.get_json()
    comment_id = response.get_json()["id"]
    moderate(client, token, comment_id, "published")
    first = Image.open(io.BytesIO(client.get(
        f"/maps/kaava/comments/{comment_id}/photos/1").data))
    assert first.format == "JPEG" and first.mode == "RGB" and first.size == (40, 30)
    red, green, _ = first.getpixel((20, 15))  # type: ignore[misc]
    assert red > 200 and 120 < green < 170  # half-transparent red over white, not over black
    assert client.get(f"/maps/kaava/comments/{comment_id}/photos/2").status_code == 200
    assert client.get(f"/maps/kaava/comments/{comment_id}/photos/3").status_code == 404


def test_pending_and_hidden_photos_are_not_public_but_staff_see_them(
        client: Any, token: str) -> None:
    response = send(client, comment(), [gps_jpeg((64, 48))], ["Katu"])
    comment_id = response.get_json()["id"]
    public = f"/maps/kaava/comments/{comment_id}/photos/1"
    staff = f"/admin/api/comments/{comment_id}/photos/1"
    assert_problem(client.get(public), 404)
    assert client.get(staff).status_code == 401
    seen = client.get(staff, headers=auth(token))
    assert seen.status_code == 200 and seen.mimetype == "image/jpeg"
    assert "no-store" in seen.headers["Cache-Control"]
    listed = client.get("/admin/api/maps/kaava/comments", headers=auth(token)).get_json()
    (props,) = [f["properties"] for f in listed["features"]]
    assert props["photos"][0]["alt"] == "Katu"
    assert props["photos"][0]["file"] == f"{comment_id}-1.jpg"
    moderate(client, token, comment_id, "published")
    assert client.get(public).status_code == 200
    assert_problem(client.get(f"/maps/vain-piste/comments/{comment_id}/photos/1"), 404)
    moderate(client, token, comment_id, "hidden")
    assert_problem(client.get(public), 404)
    assert_problem(client.get("/maps/kaava/comments/zzzz/photos/1"), 404)


@pytest.mark.parametrize(("photos", "alts", "field", "mentions"), [
    ([b"GIF89a not really"], ["Kuva"], "photo[1]", "not a JPEG"),
    ([b"<svg xmlns='http://www.w3.org/2000/svg'/>"], ["Kuva"], "photo[1]", "not a JPEG"),
    ([b""], ["Kuva"], "photo[1]", "empty"),
    ([png()[:60]], ["Kuva"], "photo[1]", "not a JPEG"),
    ([png(), b"%PDF-1.7"], ["Eka", "Toka"], "photo[2]", "not a JPEG"),
    ([png()] * 4, ["a", "b", "c", "d"], "photo", "at most 3"),
    ([png()], [], "photo_alt", "one description"),
    ([png()], ["   "], "photo_alt[1]", "describe photo 1"),
    ([png()], ["x" * 301], "photo_alt[1]", "at most 300"),
])
def test_bad_photos_are_refused_and_nothing_is_stored(
        app: Any, client: Any, photos: list[bytes], alts: list[str], field: str,
        mentions: str) -> None:
    body = assert_problem(send(client, comment(), photos, alts), 422, mentions=mentions)
    assert body["field"] == field
    assert stored(app) == 0


def test_a_decompression_bomb_is_refused_before_it_is_decoded(app: Any, client: Any) -> None:
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, format="PNG")  # 81 MP in a few kB
    bomb = out.getvalue()
    assert len(bomb) < 100_000
    body = assert_problem(send(client, comment(), [bomb], ["Pommi"]), 422,
                          mentions="million pixels")
    assert body["field"] == "photo[1]"
    assert stored(app) == 0


def test_the_byte_limit_is_a_setting_and_a_body_past_it_is_413(client: Any) -> None:
    with pytest.raises(Unprocessable, match="at most 1 MiB"):
        clean_photo(b"\xff\xd8" + b"\0" * (1024 * 1024), alt="Iso", n=1, max_bytes=1024 * 1024)
    huge = b"\xff\xd8" + b"\0" * (3 * 10 * 1024 * 1024 + 200 * 1024)
    assert_problem(send(client, comment(), [huge], ["Iso"]), 413, mentions="MiB")


def test_photos_need_a_map_that_takes_them_and_a_valid_comment(app: Any, client: Any) -> None:
    body = assert_problem(send(client, comment(), [png()], ["Kuva"], map_id="ei-kuvia"), 422,
                          mentions="does not take photos")
    assert body["field"] == "photo"
    body = assert_problem(send(client, comment(text=""), [png()], ["Kuva"]), 422)
    assert body["field"] == "text"
    response = client.post("/maps/kaava/comments", data={"comment": "{not json"},
                           content_type="multipart/form-data")
    assert assert_problem(response, 422)["field"] == "comment"
    response = client.post("/maps/kaava/comments", data={"comment": json.dumps(comment()),
                                                         "extra": "1"},
                           content_type="multipart/form-data")
    assert assert_problem(response, 422, mentions="'extra'")["field"] == "extra"
    assert stored(app) == 0


def test_a_multipart_comment_without_photos_and_a_retry_land_once(app: Any,
                                                                  client: Any) -> None:
    key = new_key()
    first = send(client, comment(), [], [], key=key)
    assert first.status_code == 201, first.get_json()
    again = send(client, comment(), [png()], ["Sama"], key=key)
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    assert stored(app) == 1
    assert services_of(app).comments.for_staff("kaava")[0].photos == ()


def test_the_purge_deletes_the_photos(app: Any, client: Any, token: str) -> None:
    response = send(client, comment(), [png(), gps_jpeg((80, 60))], ["Kyltti", "Katu"])
    comment_id = response.get_json()["id"]
    moderate(client, token, comment_id, "published")
    assert client.get(f"/maps/kaava/comments/{comment_id}/photos/2").status_code == 200
    report = services_of(app).comments.purge_personal_data("kaava", force=True)
    assert report.photos == 2 and report.names == 1
    assert_problem(client.get(f"/maps/kaava/comments/{comment_id}/photos/1"), 404)
    assert_problem(client.get(f"/admin/api/comments/{comment_id}/photos/2",
                              headers=auth(token)), 404)
    (left,) = services_of(app).comments.for_staff("kaava")
    assert left.photos == () and left.text == comment()["text"]


def test_the_exports_name_the_photos_and_the_zip_holds_them(app: Any, client: Any,
                                                            token: str) -> None:
    response = send(client, comment(), [png(), gps_jpeg((120, 90))], ["Kyltti", "Katu; ilta"])
    comment_id = response.get_json()["id"]
    assert send(client, comment(text="Ilman kuvaa"), [], []).status_code == 201
    export = "/admin/api/maps/kaava/comments"
    names = f"{comment_id}-1.jpg, {comment_id}-2.jpg"

    rows = list(csv.DictReader(io.StringIO(client.get(
        f"{export}?format=csv&delimiter=comma", headers=auth(token)).get_data(as_text=True)
        .lstrip("\ufeff"))))
    by_id = {row["id"]: row for row in rows}
    assert by_id[comment_id]["photos"] == names
    assert by_id[comment_id]["photo_descriptions"] == "Kyltti\nKatu; ilta"
    assert [row["photos"] for row in rows if row["id"] != comment_id] == [""]

    geojson = client.get(export, headers=auth(token)).get_json()
    (props,) = [f["properties"] for f in geojson["features"] if f["id"] == comment_id]
    assert [p["file"] for p in props["photos"]] == names.split(", ")

    download = client.get(f"{export}?format=zip", headers=auth(token))
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert "kaava-comments.zip" in download.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(download.data)) as archive:
        listed = set(archive.namelist())
        assert listed == {"kaava-comments.geojson", "kaava-comments.csv",
                          f"photos/{comment_id}-1.jpg", f"photos/{comment_id}-2.jpg"}
        second = Image.open(io.BytesIO(archive.read(f"photos/{comment_id}-2.jpg")))
        assert second.format == "JPEG" and second.size == (120, 90)
        assert not second.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        inner = json.loads(archive.read("kaava-comments.geojson"))
        assert len(inner["features"]) == 2

    gpkg = client.get(f"{export}?format=gpkg", headers=auth(token))
    assert gpkg.status_code == 200


def test_the_moderation_page_shows_the_photos_with_their_descriptions(
        client: Any, token: str) -> None:
    response = send(client, comment(), [png()], ['Kyltti "Pysäköinti" <kielletty>'])
    comment_id = response.get_json()["id"]
    sign_in(client, token)
    page = client.get("/admin/maps/kaava/comments?status=pending").get_data(as_text=True)
    src = f"/admin/maps/kaava/comments/{comment_id}/photos/1"
    assert f'src="{src}"' in page
    assert 'alt="Kyltti &#34;Pysäköinti&#34; &lt;kielletty&gt;"' in page
    shown = client.get(src)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert client.get(f"/admin/maps/vain-piste/comments/{comment_id}/photos/1"
                      ).status_code == 404


def test_a_backup_carries_the_photos(app: Any, client: Any, tmp_path: Path,
                                     make_services: Any) -> None:
    from webmap.backup import export_all, import_all
    from webmap.settings import Settings

    response = send(client, comment(), [png(), gps_jpeg((100, 80))], ["Kyltti", "Katu"])
    comment_id = response.get_json()["id"]
    assert send(client, comment(text="Ilman kuvaa"), [], []).status_code == 201
    source = services_of(app)
    manifest = export_all(source.layers, tmp_path / "backup", comments=source.comments.storage)
    assert [(e["map"], e["count"], e["photos"]) for e in manifest["comments"]] == [
        ("kaava", 2, 2)]

    other = make_services(Settings(data_dir=tmp_path / "other", layers_dir=tmp_path / "none"))
    import_all(other.layers, tmp_path / "backup", comments=other.comments.storage)
    restored = {c.id: c for c in other.comments.storage.list("kaava")}
    assert [(p.n, p.alt, p.width) for p in restored[comment_id].photos] == [
        (1, "Kyltti", 40), (2, "Katu", 100)]
    assert (other.comments.storage.photo(comment_id, 2)[1]
            == source.comments.storage.photo(comment_id, 2)[1])
    import_all(other.layers, tmp_path / "backup", comments=other.comments.storage)  # again
    assert len(other.comments.storage.list("kaava")[0].photos
               + other.comments.storage.list("kaava")[1].photos) == 2


@pytest.mark.parametrize("value", [4, -1, True, "3", 2.5])
def test_a_map_allows_0_to_3_photos(value: Any) -> None:
    from webmap.maps.schema import MapDefinitionError, parse_map

    definition = map_file("kuvat")
    definition["consultation"]["photos"] = value
    with pytest.raises(MapDefinitionError, match=r"consultation\.photos: give a whole number "
                                                 "from 0 to 3"):
        parse_map(definition)


def test_the_map_document_gives_the_photo_limits(client: Any) -> None:
    limits = client.get("/maps/kaava?f=json").get_json()["consultation"]["photos"]
    assert limits == {"max": 3, "maxMb": 10,
                      "formats": accepted_formats().replace(" or ", ", ")}
    none = client.get("/maps/ei-kuvia?f=json").get_json()["consultation"]["photos"]
    assert none["max"] == 0
    page = client.get("/embed/ei-kuvia").get_data(as_text=True)
    assert 'id="wm-photo-input"' not in page
    assert 'id="wm-photo-input"' in client.get("/embed/kaava").get_data(as_text=True)


def test_a_photo_is_turned_upright_and_16_bit_grey_is_scaled_not_clipped() -> None:
    image = Image.new("RGB", (60, 30), "#1565c0")
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # the camera was held on its side
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    upright = clean_photo(out.getvalue(), alt="Sivuttain", n=1, max_bytes=1024 * 1024)
    assert (upright.width, upright.height) == (30, 60)
    stored = Image.open(io.BytesIO(upright.data))
    assert stored.size == (30, 60) and len(stored.getexif()) == 0

    grey = io.BytesIO()
    Image.new("I;16", (20, 10), 30000).save(grey, format="PNG")
    scaled = clean_photo(grey.getvalue(), alt="Harmaa", n=1, max_bytes=1024 * 1024)
    red, _, _ = Image.open(io.BytesIO(scaled.data)).getpixel((5, 5))  # type: ignore[misc]
    assert 110 <= red <= 124  # 30000 / 65535 of white, not clipped to 255


def test_the_response_report_carries_the_stored_photos(app: Any, client: Any, token: str,
                                                       plan: str) -> None:
    """The report embeds a published comment's photos (the stored, cleaned JPEG) with the
    description the resident wrote."""
    import docx

    from webmap.report.formats import REPORT_FORMATS

    posted = send(client, comment(text="Ranta kuvassa"), [gps_jpeg((800, 600))],
                  ["Ranta keväällä"])
    assert posted.status_code == 201, posted.get_data(as_text=True)
    moderate(client, token, posted.get_json()["id"], "published")
    report = services_of(app).reports.build("kaava", "fi", maps=False)
    (row,) = report.comments
    (photo,) = row.photos
    assert photo.alt == "Ranta keväällä" and photo.size_px == (800, 600)
    assert Image.open(io.BytesIO(photo.data)).getexif().get(ExifTags.Base.GPSInfo) is None
    document = docx.Document(io.BytesIO(REPORT_FORMATS["docx"].write(report)))
    assert [s._inline.docPr.get("descr") for s in document.inline_shapes] == ["Ranta keväällä"]


def test_the_moderation_page_names_the_photos_in_the_staff_language(
        client: Any, token: str) -> None:
    send(client, comment(), [png()], ["Kyltti"])
    sign_in(client, token)
    page = client.get("/admin/maps/kaava/comments?status=pending&lang=sv").get_data(as_text=True)
    assert "<h4>Foton (1)</h4>" in page
    assert 'Foto 1, som invånaren beskrev det: <q lang="fi">Kyltti</q>' in page
    assert "Zip: GeoJSON, CSV och foton" in page
