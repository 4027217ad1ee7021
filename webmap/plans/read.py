"""Read a plan file by its content: Ryhti plan JSON or an NGP detaljplan delivery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..problems import ImportFailed
from . import ngp, ryhti
from .model import Plan

MODELS = "Ryhti plan JSON (SpatialPlan) or an NGP detaljplan delivery (JSON)"


def load_document(path: Path) -> Any:
    """The JSON of ``path``; ImportFailed saying where it breaks."""
    if not path.is_file():
        raise ImportFailed(f"{path.name}: no such file")
    raw = path.read_bytes()
    if not raw.strip():
        raise ImportFailed(f"{path.name} is empty; webmap reads plans as {MODELS}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{path.name} is not UTF-8 text; plans are {MODELS}") from exc
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ImportFailed(f"{path.name} is not valid JSON (line {exc.lineno}, column "
                           f"{exc.colno}: {exc.msg})") from exc
    except RecursionError as exc:
        raise ImportFailed(f"{path.name} nests JSON too deeply to read") from exc


def _no_constant(name: str) -> Any:
    raise ImportFailed(f"the file holds {name}, which is not a JSON number; give numbers only")


def read_plan(path: Path, *, plan_id: str) -> Plan:
    """The plan in ``path``, its model recognised by content (never by the file name)."""
    document = load_document(Path(path))
    return read_document(document, plan_id=plan_id, name=Path(path).name)


def read_document(document: Any, *, plan_id: str, name: str = "the file") -> Plan:
    """The plan in an already parsed document."""
    if ngp.looks_like(document):
        return ngp.read_ngp(document, plan_id=plan_id)
    if ryhti.looks_like(document):
        return ryhti.read_ryhti(document, plan_id=plan_id)
    raise ImportFailed(f"{name} is JSON of no plan model webmap knows; it reads {MODELS}")
