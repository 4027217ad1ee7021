"""Photos attached to comments: check what a resident sent, keep only a clean JPEG.

An upload is opened by its content (never its name or declared type), refused when it is not
a JPEG, PNG or (where ``pillow-heif`` is installed) HEIC/HEIF image, when it is larger than the
byte limit, or when it claims more pixels than ``MAX_PIXELS`` (a decompression bomb says so in
its header, before anything is decoded). What is kept is re-encoded: turned upright by its EXIF
orientation, scaled to at most ``MAX_SIDE`` pixels, drawn onto a new image (no EXIF, GPS, XMP,
ICC, comments or thumbnails survive) and saved as a baseline JPEG.

No Flask here: the views hand in bytes and get ``Photo`` values or ``Unprocessable``.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from ..problems import Unprocessable

log = logging.getLogger("webmap.comments")

MAX_PIXELS = 50_000_000
"""Pixels an upload may declare: a 48 MP phone photo passes; a JPEG is decoded at a reduced
scale near ``MAX_SIDE`` (``draft``), so only a PNG or HEIC is ever decoded in full."""
MAX_SIDE = 2048
"""The longest side of a stored photo in pixels."""
MAX_ALT_CHARS = 300
"""A photo's description (its alt text) is short: one or two sentences."""
JPEG_QUALITY = 85
BASE_FORMATS = ("JPEG", "MPO", "PNG")
"""What Pillow may recognise an upload as (MPO: the multi-picture JPEG some cameras write)."""
MEDIA_TYPE = "image/jpeg"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

try:  # HEIC from iPhones, where the optional plug-in is installed
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found, unused-ignore]

    register_heif_opener()
    HEIF = True
except ImportError:
    HEIF = False
Image.init()  # every plug-in registered, so the formats below are all known
ACCEPTED_FORMATS = tuple(f for f in (*BASE_FORMATS, "HEIF") if f in Image.OPEN)


@dataclass(frozen=True)
class Photo:
    """A checked, re-encoded photo ready to store beside its comment."""

    alt: str
    data: bytes
    """A JPEG without metadata."""
    width: int
    height: int


@dataclass(frozen=True)
class PhotoInfo:
    """What a comment lists of a stored photo (the bytes are read only when served)."""

    n: int
    """1, 2 or 3: its place among the comment's photos."""
    alt: str
    width: int
    height: int
    size: int
    """Bytes of the stored JPEG."""

    def file_name(self, comment_id: str) -> str:
        """The photo's name in exports: ``<comment id>-<n>.jpg``."""
        return f"{comment_id}-{self.n}.jpg"


def accepted_formats() -> str:
    """The formats named in messages and in the widget's hint."""
    return "JPEG, PNG or HEIC" if HEIF else "JPEG or PNG"


def check_alt(value: object, n: int) -> str:
    """A photo's description: required, one line, at most ``MAX_ALT_CHARS`` characters."""
    field = f"photo_alt[{n}]"
    if not isinstance(value, str) or not value.strip():
        raise Unprocessable(field, f"describe photo {n} in a few words: the description is "
                                   "read to people who cannot see it")
    text = " ".join(value.split())
    if len(text) > MAX_ALT_CHARS:
        raise Unprocessable(field, f"the description of photo {n} has {len(text)} "
                                   f"characters; at most {MAX_ALT_CHARS} are accepted")
    if CONTROL.search(text):
        raise Unprocessable(field, f"the description of photo {n} contains control "
                                   "characters")
    return text


def clean_photo(data: bytes, *, alt: str, n: int, max_bytes: int) -> Photo:
    """Check one upload by its content and re-encode it, or raise ``Unprocessable``."""
    field = f"photo[{n}]"
    if not data:
        raise Unprocessable(field, f"photo {n} is empty")
    if len(data) > max_bytes:
        raise Unprocessable(field, f"photo {n} is {len(data) / 1048576:.1f} MiB; at most "
                                   f"{max_bytes // 1048576} MiB are accepted")
    not_image = Unprocessable(field, f"photo {n} is not a {accepted_formats()} image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
                _check_size(probe, field, n)
                probe.verify()  # checksums and structure, without decoding the pixels
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                _check_size(image, field, n)
                if image.format in ("JPEG", "MPO"):
                    image.draft("RGB", (MAX_SIDE, MAX_SIDE))
                image.load()
                cleaned = _reencode(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(field, n) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
                IndexError, TypeError, ZeroDivisionError):
            # Pillow's decoders raise any of these on broken or hostile input
            raise not_image from None
    return Photo(alt=alt, data=cleaned[0], width=cleaned[1], height=cleaned[2])


def _check_size(image: Image.Image, field: str, n: int) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise Unprocessable(field, f"photo {n} has no pixels")
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(field, n)


def _too_many_pixels(field: str, n: int) -> Unprocessable:
    return Unprocessable(field, f"photo {n} has more than {MAX_PIXELS // 1_000_000} million "
                                "pixels; send a smaller picture")


def _reencode(image: Image.Image) -> tuple[bytes, int, int]:
    """The picture upright, at most ``MAX_SIDE`` px, on a fresh image (no metadata), as JPEG."""
    upright = ImageOps.exif_transpose(image) or image
    if upright.mode.startswith("I"):  # 16-bit grey: scale to 8 bits rather than clip
        upright = upright.convert("I").point(lambda v: v / 256).convert("L")
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P"
                                                and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        upright = flat
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    fresh = Image.new("RGB", upright.size)
    fresh.paste(upright)  # only the pixels: the new image's info is empty
    out = io.BytesIO()
    fresh.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), fresh.width, fresh.height


def clean_photos(files: Sequence[bytes], alts: Sequence[object], *, allowed: int,
                 max_bytes: int) -> tuple[Photo, ...]:
    """Every upload checked and re-encoded, in order; the count, descriptions and content
    are checked before anything is stored."""
    if len(files) > allowed:
        if allowed == 0:
            raise Unprocessable("photo", "this consultation does not take photos")
        raise Unprocessable("photo", f"at most {allowed} photos per comment; "
                                     f"{len(files)} were sent")
    if len(alts) != len(files):
        raise Unprocessable("photo_alt", f"give one description (photo_alt) per photo: "
                                         f"{len(files)} photos, {len(alts)} descriptions")
    descriptions = [check_alt(alt, n) for n, alt in enumerate(alts, start=1)]
    return tuple(clean_photo(data, alt=alt, n=n, max_bytes=max_bytes)
                 for n, (data, alt) in enumerate(zip(files, descriptions, strict=True),
                                                 start=1))
