"""Safe ZIP extraction: limits checked from the central directory, then again on the bytes."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ..problems import ImportFailed

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
CHUNK_BYTES = 1 << 20
RATIO_FLOOR_BYTES = 1 << 20
"""Members (and archives) smaller than this are not ratio-checked: tiny files compress well."""
SKIPPED_PREFIXES = ("__MACOSX/",)


def is_zip(head: bytes) -> bool:
    """True where the bytes open a ZIP archive (KMZ, XLSX and friends included)."""
    return head[:4] in ZIP_MAGIC


def extract_zip(path: Path, dest: Path, *, max_members: int = 1000,
                max_total_bytes: int = 2 * 1024**3, max_ratio: float = 100.0) -> list[Path]:
    """Extract ``path`` into the empty folder ``dest`` and return the files written.

    Refuses, before anything is expanded: more than ``max_members`` members, a declared
    uncompressed size above ``max_total_bytes``, a compression ratio above ``max_ratio``,
    absolute or ``..`` member paths, symbolic links and encrypted members. While extracting it
    counts the real bytes, and refuses nested archives. On refusal the partial output is removed.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = _checked_members(archive, max_members=max_members,
                                       max_total_bytes=max_total_bytes, max_ratio=max_ratio)
            written: list[Path] = []
            try:
                budget = max_total_bytes
                for info, relative in members:
                    target = dest.joinpath(*relative.parts)
                    _inside(dest, target, info.filename)
                    try:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        with target.open("xb") as sink:
                            written.append(target)
                            budget -= _copy_member(archive, info, sink, budget)
                    except (FileExistsError, NotADirectoryError) as exc:
                        raise ImportFailed(f"the ZIP archive lists {info.filename!r} twice "
                                           "or as both a file and a folder") from exc
            except BaseException:
                for file in written:
                    file.unlink(missing_ok=True)
                raise
    except zipfile.BadZipFile as exc:
        raise ImportFailed(f"the ZIP archive is damaged or incomplete ({_first_line(exc)}); "
                           "create it again and upload it once more") from exc
    except zipfile.LargeZipFile as exc:
        raise ImportFailed("the ZIP archive needs ZIP64 support that was disabled") from exc
    except NotImplementedError as exc:
        raise ImportFailed(f"the ZIP archive uses an unsupported compression method "
                           f"({_first_line(exc)}); use ordinary deflate compression") from exc
    return written


def _checked_members(archive: zipfile.ZipFile, *, max_members: int, max_total_bytes: int,
                     max_ratio: float) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Validate the central directory; return (member, safe relative path) for the files."""
    infos = archive.infolist()
    if len(infos) > max_members:
        raise ImportFailed(f"the ZIP archive has {len(infos)} members, more than the "
                           f"{max_members} allowed; upload only the data files")
    total = sum(info.file_size for info in infos)
    if total > max_total_bytes:
        raise ImportFailed(f"the ZIP archive would expand to {total / 1024**2:,.0f} MiB, more "
                           f"than the {max_total_bytes / 1024**2:,.0f} MiB allowed")
    packed = sum(info.compress_size for info in infos)
    if total > RATIO_FLOOR_BYTES and total > max_ratio * max(packed, 1):
        raise ImportFailed(f"the ZIP archive expands {total / max(packed, 1):,.0f}-fold, more "
                           f"than {max_ratio:g}:1 - refused as a possible compression bomb")
    members = []
    for info in infos:
        name = info.filename
        if _is_symlink(info):
            raise ImportFailed(f"the ZIP archive holds a symbolic link ({name!r}); "
                               "links are not extracted - zip the files themselves")
        relative = _safe_relative(name)
        if info.flag_bits & 0x1:
            raise ImportFailed(f"the ZIP member {name!r} is encrypted; upload it without a "
                               "password")
        if info.file_size > RATIO_FLOOR_BYTES and \
                info.file_size > max_ratio * max(info.compress_size, 1):
            raise ImportFailed(f"the ZIP member {name!r} expands "
                               f"{info.file_size / max(info.compress_size, 1):,.0f}-fold, more "
                               f"than {max_ratio:g}:1 - refused as a possible compression bomb")
        if info.is_dir() or name.startswith(SKIPPED_PREFIXES) or relative.name.startswith("._"):
            continue
        members.append((info, relative))
    return members


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    """Unix mode bits in the external attributes say symlink."""
    return stat.S_ISLNK(info.external_attr >> 16)


def _safe_relative(name: str) -> PurePosixPath:
    """The member path as a relative path, or ImportFailed for absolute and ``..`` paths."""
    text = name.replace("\\", "/")
    relative = PurePosixPath(text)
    if text.startswith("/") or (len(text) > 1 and text[1] == ":") or ".." in relative.parts \
            or "\x00" in text:
        raise ImportFailed(f"the ZIP member {name!r} points outside the archive folder "
                           "(absolute path or '..'); refused")
    parts = [part for part in relative.parts if part not in {"", "."}]
    if not parts:
        raise ImportFailed(f"the ZIP member {name!r} has no usable file name")
    return PurePosixPath(*parts)


def _inside(dest: Path, target: Path, name: str) -> None:
    """Second line of defence: the resolved target must stay under ``dest``."""
    if not target.resolve().is_relative_to(dest.resolve()):
        raise ImportFailed(f"the ZIP member {name!r} points outside the archive folder; refused")


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, sink: BinaryIO,
                 budget: int) -> int:
    """Stream one member into ``sink`` counting real bytes; return the bytes written."""
    written = 0
    with archive.open(info) as source:
        while chunk := source.read(CHUNK_BYTES):
            if written == 0 and is_zip(chunk):
                raise ImportFailed(f"the ZIP archive holds another archive ({info.filename!r});"
                                   " unzip it and upload the data files instead")
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise ImportFailed(f"the ZIP member {info.filename!r} expands beyond its "
                                   "declared size or the size limit; refused")
            sink.write(chunk)
    return written


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
